use jaxpurify::prelude::*;

#[purify]
fn model(n: usize) -> Tensor {
    let w = param!(n);
    w.sum()
}

fn main() {
    let _ = model(3);
}
