use jaxpurify::prelude::*;

fn plain(n: usize) -> Tensor {
    Tensor::zeros([n])
}

#[purify]
fn model() -> Tensor {
    let y = sub!(plain(3));
    y.sum()
}

fn main() {}
