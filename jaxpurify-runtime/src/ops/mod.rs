//! Operations on tensors, one file per family. Each op's forward rule and its
//! derivative sit side by side, with the family's tests at the bottom.

mod arith;
mod broadcast;
pub(crate) mod incomplete_gamma;
pub mod log_density;
mod mvn;
mod special;
mod special_scalar;
mod unary;
