use jaxpurify::prelude::*;

#[purify]
fn field(n: usize) -> Tensor {
    let xi = param!(n);
    xi.sin()
}

#[purify]
fn model() -> Tensor {
    let f = sub!(field);
    f.sum()
}

fn main() {}
