//! Pure, typed, differentiable models from plain functions.
//!
//! Write a model as one function, declare each learned array inline where it
//! is used, and get typed parameter structs, initialisers, flat vectors and
//! gradients. This crate re-exports the runtime (tensors, automatic
//! differentiation, operations) and the `#[purify]` macro.
//!
//! ```
//! use jaxpurify::prelude::*;
//!
//! #[purify]
//! fn model() -> Tensor {
//!     let x = param!(3);
//!     x.sin()
//! }
//!
//! fn main() -> Result<(), jaxpurify::Error> {
//!     let params = model::zeros()?;
//!     assert_eq!(model::apply(&params, &model::Fixed::default())?.to_vec(), vec![0.0; 3]);
//!     Ok(())
//! }
//! ```
//!
//! `#[purify]` functions live at module level (not inside another
//! function's body), because the module generated beside each one refers to
//! the items around it.

pub use jaxpurify_macros::{Tree, purify};
pub use jaxpurify_runtime::*;

mod markers;

/// The names most models need, for a glob import.
pub mod prelude {
    pub use crate::{
        fixed, intermediate, inverse_gamma_variable, laplace_variable, log_normal_variable, normal_variable,
        param, sub, uniform_variable,
    };
    pub use jaxpurify_macros::{Tree, purify};
    pub use jaxpurify_runtime::{
        Error, Model, Result, Shape, Tensor, Tree, TreeBuild, grad, hvp, jvp, value_and_grad, vjp,
    };
}
