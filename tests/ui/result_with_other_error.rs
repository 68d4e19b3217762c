use jaxpurify::prelude::*;

#[purify]
fn fallible() -> std::result::Result<Tensor, String> {
    let x = param!(3);
    if x.numel() == 3 { Ok(x.sin()) } else { Err("no".to_string()) }
}

fn main() {}
