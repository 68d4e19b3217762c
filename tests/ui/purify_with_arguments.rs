use jaxpurify::prelude::*;

#[purify(name = "m")]
fn model() -> Tensor {
    let x = param!(3);
    x.sin()
}

fn main() {}
