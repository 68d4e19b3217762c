//! Fitting on flat `f64` vectors: a matrix-free conjugate-gradient solver for
//! symmetric positive-definite systems and the Adam optimizer.
//!
//! Both work on plain slices so that they compose with any model: flatten
//! parameters with [`Tree::ravel`](crate::Tree::ravel), compute gradients or
//! operator products with [`grad`](crate::grad), [`jvp`](crate::jvp) and
//! [`vjp`](crate::vjp), and rebuild with
//! [`Tree::unravel_like`](crate::Tree::unravel_like).

mod adam;
mod cg;

pub use adam::Adam;
pub use cg::{CgResult, conjugate_gradient};
