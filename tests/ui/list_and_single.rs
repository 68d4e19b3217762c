use jaxpurify::prelude::*;

#[purify]
fn model() -> Tensor {
    let mut x = param!(3, name = "w");
    for i in 0..2 {
        x = x * param!(3, name = w[i]);
    }
    x
}

fn main() {}
