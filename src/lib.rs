//! Pure, typed, differentiable models from plain functions.
//!
//! Write a model as one function, declare each learned array inline where it
//! is used, and get typed parameter structs, initialisers, flat vectors and
//! gradients. This crate re-exports the runtime (tensors, automatic
//! differentiation, operations) and the `#[purify]` macro.
//!
//! ```
//! use jaxpurify::prelude::*;
//! let g = grad(|x: &Tensor| (x * x).sum(), &Tensor::from([1.0, 2.0]));
//! assert_eq!(g.to_vec(), vec![2.0, 4.0]);
//! ```

pub use jaxpurify_runtime::*;

/// The names most models need, for a glob import.
pub mod prelude {
    pub use jaxpurify_runtime::{Error, Result, Shape, Tensor, Tree, grad, hvp, jvp, value_and_grad, vjp};
}
