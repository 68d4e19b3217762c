use jaxpurify::prelude::*;

#[purify]
fn model() -> Tensor {
    let x = param!(3, nmae = "w");
    x.sin()
}

fn main() {}
