use jaxpurify::prelude::*;

#[purify]
fn model() -> Tensor {
    let sigma = half_student_t_variable!(scale = 2.0);
    let tau = half_cauchy_variable!();
    let f = beta_variable!(alpha = 2.0);
    sigma + tau + f
}

fn main() {}
