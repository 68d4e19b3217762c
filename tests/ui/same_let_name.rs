use jaxpurify::prelude::*;

#[purify]
fn model() -> Tensor {
    let x = param!(3) * param!(3);
    x.sum()
}

fn main() {}
