use jaxpurify::prelude::*;

#[purify]
fn model() -> Tensor {
    let x = param!();
    x.sin()
}

fn main() {}
