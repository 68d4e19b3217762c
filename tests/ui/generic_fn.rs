use jaxpurify::prelude::*;

#[purify]
fn model<T: Into<Shape>>(shape: T) -> Tensor {
    let x = param!(shape);
    x.sin()
}

fn main() {}
