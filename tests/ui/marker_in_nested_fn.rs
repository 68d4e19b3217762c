use jaxpurify::prelude::*;

#[purify]
fn model() -> Tensor {
    fn helper() -> Tensor {
        let w = param!(3);
        w.sin()
    }
    helper()
}

fn main() {}
