use jaxpurify::prelude::*;

#[purify]
fn count() -> usize {
    let x = param!(3);
    x.numel()
}

fn main() {}
