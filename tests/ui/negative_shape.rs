use jaxpurify::prelude::*;

#[purify]
fn model() -> Tensor {
    let w = param!(-3);
    w.sum()
}

fn main() {}
