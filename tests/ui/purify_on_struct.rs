use jaxpurify::prelude::*;

#[purify]
struct Model {
    x: Tensor,
}

fn main() {}
