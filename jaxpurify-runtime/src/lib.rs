//! The runtime of `jaxpurify`: an n-dimensional `f64` [`Tensor`] with
//! reverse-mode automatic differentiation to any order, the operations
//! scientific models need, and [`Tree`]s of tensors.
//!
//! Use it through the `jaxpurify` crate, which adds the `#[purify]` macro.
//!
//! ```
//! use jaxpurify_runtime::{grad, Tensor};
//! // d/dx sum(sin(x)) = cos(x)
//! let g = grad(|x: &Tensor| x.sin().sum(), &Tensor::from([0.0, 1.0]));
//! assert_eq!(g.to_vec(), vec![1.0, 1f64.cos()]);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod autodiff;
mod convert;
mod display;
mod error;
mod ops;
pub mod priors;
mod shape;
mod tensor;
pub mod testing;
mod tree;

pub use autodiff::{Ctx, Grads, Rule, Vjp, custom_vjp, grad, hvp, jvp, record, value_and_grad, vjp};
pub use error::{Error, Result};
pub use ops::log_density;
pub use shape::{Shape, broadcast_shapes};
pub use tensor::Tensor;
pub use tree::{Path, PathSegment, Tree};
