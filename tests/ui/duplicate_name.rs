use jaxpurify::prelude::*;

#[purify]
fn model() -> Tensor {
    let a = param!(3, name = "w");
    let b = param!(3, name = "w");
    a + b
}

fn main() {}
