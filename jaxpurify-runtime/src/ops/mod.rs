//! Operations on tensors, one file per family. Each op's forward rule and its
//! derivative sit side by side, with the family's tests at the bottom.

mod activation;
mod arith;
pub(crate) mod at;
mod broadcast;
pub(crate) mod compare;
pub(crate) mod convolve;
mod cumulative;
mod extrema;
pub(crate) mod index;
pub(crate) mod interp;
pub(crate) mod layout;
mod power;
mod reduce;
mod softmax;
mod unary;
