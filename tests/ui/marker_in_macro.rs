use jaxpurify::prelude::*;

#[purify]
fn model() -> Tensor {
    let xs = vec![param!(3)];
    xs[0].sum()
}

fn main() {}
