//! Operations on tensors, one file per family. Each op's forward rule and its
//! derivative sit side by side, with the family's tests at the bottom.

mod arith;
pub(crate) mod at;
mod broadcast;
pub(crate) mod index;
pub(crate) mod layout;
mod unary;
