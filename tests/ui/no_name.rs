use jaxpurify::prelude::*;

#[purify]
fn model() -> Tensor {
    param!(3).sin()
}

fn main() {}
