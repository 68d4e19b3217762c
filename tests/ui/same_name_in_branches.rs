use jaxpurify::prelude::*;

#[purify]
fn model(wide: bool) -> Tensor {
    if wide {
        let w = param!(5);
        w.sum()
    } else {
        let w = param!(3);
        w.sum()
    }
}

fn main() {}
