use jaxpurify::prelude::*;

#[purify]
fn model() -> Tensor {
    let w = param!(3);
    let n = intermediate!(w.len());
    w * n as f64
}

fn main() {}
