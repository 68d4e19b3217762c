use jaxpurify::prelude::*;

#[purify]
fn model((n, m): (usize, usize)) -> Tensor {
    let x = param!([n, m]);
    x.sin()
}

fn main() {}
