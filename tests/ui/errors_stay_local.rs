//! A model with an error still has its function and module, so code using
//! them reports nothing more: only the errors in the models, not even a
//! warning about what the stubs left unused.
#![deny(warnings)]
use jaxpurify::prelude::*;

#[purify]
fn field(n: usize) -> Tensor {
    let xi = param!(n, nmae = "xi");
    let shifted = intermediate!(&xi + 1.0);
    shifted.sin()
}

#[purify]
fn pair((n, m): (usize, usize)) -> Tensor {
    let w = param!([n, m]);
    w.sum()
}

#[purify]
fn model() -> Tensor {
    let f = sub!(field(3));
    let p = sub!(pair((2, 3)));
    let xs = vec![param!(2, name = "x")];
    f.sum() + p + &xs[0]
}

fn main() {
    let params = field::zeros(3).unwrap();
    let _ = field::apply(&params, &field::Fixed::default(), 3);
    let _ = pair::Params {};
}
