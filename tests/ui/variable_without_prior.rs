use jaxpurify::prelude::*;

#[purify]
fn model() -> Tensor {
    let tau = variable!();
    let s = variable!(name = "s");
    tau + s
}

fn main() {}
