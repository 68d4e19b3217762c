use jaxpurify::prelude::*;

#[purify]
fn model() -> Tensor {
    let a = normal_variable!(mean = 0.0);
    a.exp()
}

fn main() {}
