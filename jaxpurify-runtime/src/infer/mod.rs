//! Inference: what a sampler or a fit needs around a model, one file per
//! concern.
//!
//! * [`diagnostics`]: split R-hat, bulk and tail ESS, quantiles and MCSE
//!   of the draws of one scalar, as ArviZ computes them.

pub mod diagnostics;

pub use diagnostics::{Chains, Diagnostics};
