//! Operations on tensors, one file per family. Each op's forward rule and its
//! derivative sit side by side, with the family's tests at the bottom.

mod activation;
pub(crate) mod arith;
pub(crate) mod at;
mod blocked;
mod blocks;
pub(crate) mod broadcast;
pub(crate) mod compare;
pub(crate) mod complex;
pub(crate) mod convolve;
mod convolve_fft;
mod cumulative;
mod elementary;
mod extrema;
pub(crate) mod fft;
pub(crate) mod fft_freq;
pub(crate) mod fft_real;
pub(crate) mod gemm;
mod gemm_narrow;
pub(crate) mod hartley;
pub(crate) mod incomplete_beta;
pub(crate) mod incomplete_gamma;
pub(crate) mod index;
pub(crate) mod interp;
pub(crate) mod layout;
pub mod linalg;
pub mod log_density;
mod matmul;
mod mvn;
mod power;
mod reduce;
pub(crate) mod search;
mod softmax;
pub(crate) mod special;
pub(crate) mod special_scalar;
pub(crate) mod take;
mod unary;
