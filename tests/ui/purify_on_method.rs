use jaxpurify::prelude::*;

struct Layer {
    n: usize,
}

impl Layer {
    #[purify]
    fn apply(&self) -> Tensor {
        let w = param!(self.n);
        w.sum()
    }
}

fn main() {}
