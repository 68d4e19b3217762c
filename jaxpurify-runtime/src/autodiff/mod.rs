//! Reverse-mode automatic differentiation, define-by-run, to any order.

mod api;
pub(crate) mod graph;

pub use api::{Vjp, custom_vjp, grad, hvp, jvp, stop_gradient, value_and_grad, vjp};
pub use graph::{Ctx, Grads, Rule, record};
