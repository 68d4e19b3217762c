//! From a model to a posterior: the log density of a purified model with
//! its whitened prior ([`Posterior`]), its maximum by L-BFGS ([`map`]), and
//! draws from it by NUTS.
//!
//! Everything here works on any [`LogDensity`] over a flat parameter
//! vector; [`Posterior`] is the one a purified model gives, compiled where
//! the model compiles.

pub mod map;
mod posterior;

pub use map::{MapFit, MapSettings, Termination};
pub use posterior::{Evaluation, LogDensity, Posterior};
