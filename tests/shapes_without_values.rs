//! Shapes need no values: asking a model with a 10^8-element parameter for
//! its shapes makes no parameter-sized buffer (a counting allocator
//! watches), while a body that does read a value still gets the true one.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::largest_allocation;
use jaxpurify::prelude::*;

const HUGE: usize = 100_000_000;

/// Elementwise work and a reduction over 10^8 values.
#[purify]
fn huge() -> Tensor {
    let w = param!(HUGE);
    let x = fixed!(HUGE);
    (&w * &x).sin().sum() + param!((), name = "offset")
}

/// A shape decided by a value the body computes, along a long chain of ops.
#[purify]
fn decided() -> Tensor {
    let w = param!(4);
    let mut total = w.exp();
    for _ in 0..20_000 {
        total = &total * 1.0;
    }
    let n = total.sum().item() as usize;
    let v = param!(n);
    v.sum() + w.sum()
}

#[test]
fn the_shapes_of_a_huge_model_allocate_no_values() {
    let (shapes, largest) = largest_allocation(|| huge::shapes().unwrap());
    assert_eq!(shapes.to_string(), "w: [100000000]\noffset: []");
    assert!(largest < 1 << 16, "one allocation of {largest} bytes");
    let (shapes, largest) = largest_allocation(|| huge::fixed_shapes().unwrap());
    assert_eq!(shapes.to_string(), "x: [100000000]");
    assert!(largest < 1 << 16, "one allocation of {largest} bytes");
}

#[test]
fn a_value_the_body_reads_while_declaring_is_the_true_value() {
    // exp(0) = 1 on each of the four elements of `w`.
    assert_eq!(decided::shapes().unwrap().to_string(), "w: [4]\nv: [4]");
    assert_eq!(decided::zeros().unwrap().v.shape().dims(), &[4]);
}
