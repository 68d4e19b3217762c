use jaxpurify::prelude::*;

#[purify]
fn field(n: usize) -> Tensor {
    let xi = param!(n);
    xi.sin()
}

#[purify]
fn model() -> Tensor {
    let a = sub!(field(3));
    let b = sub!(field(3));
    a + b
}

fn main() {}
