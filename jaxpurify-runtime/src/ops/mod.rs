//! Operations on tensors, one file per family. Each op's forward rule and its
//! derivative sit side by side, with the family's tests at the bottom.

mod arith;
mod broadcast;
pub(crate) mod complex;
pub(crate) mod fft;
pub(crate) mod fft_freq;
pub(crate) mod fft_real;
mod unary;
