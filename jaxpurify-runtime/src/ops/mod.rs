//! Operations on tensors, one file per family. Each op's forward rule and its
//! derivative sit side by side, with the family's tests at the bottom.

mod arith;
mod broadcast;
mod matmul;
mod unary;
