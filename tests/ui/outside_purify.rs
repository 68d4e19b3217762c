use jaxpurify::prelude::*;

fn model() -> Tensor {
    let x = param!(3);
    x.sin()
}

fn main() {}
