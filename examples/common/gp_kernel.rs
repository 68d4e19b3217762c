//! The Gaussian process of the `gp_hyperparameters` example and of the
//! inference benchmark: a squared-exponential kernel whose amplitude,
//! length scale and noise are learned, and data drawn from it.
//!
//! Include it with `#[path = "common/gp_kernel.rs"] mod gp_kernel;`.

use jaxpurify::linalg::{self, Transpose, Triangle};
use jaxpurify::prelude::*;
use rand_xoshiro::Xoshiro256PlusPlus;

/// The number of data points of the example.
pub const N: usize = 60;
pub const X_MAX: f64 = 10.0;
pub const SEED: u64 = 7;
/// The hyperparameters the data are drawn with.
pub const TRUE_AMPLITUDE: f64 = 1.5;
pub const TRUE_LENGTH: f64 = 1.2;
pub const TRUE_NOISE: f64 = 0.3;

/// `a^2 exp(-(x_i - x'_j)^2 / (2 l^2))` between two sets of points.
pub fn squared_exponential(x: &Tensor, x2: &Tensor, amplitude: &Tensor, length: &Tensor) -> Tensor {
    let d = x.reshape([x.numel(), 1]) - x2.reshape([1, x2.numel()]);
    amplitude.square() * (-(d.square()) / (length.square() * 2.0)).exp()
}

/// The log marginal likelihood of `y` at `x` under a GP with learned
/// squared-exponential kernel and noise:
/// `-y^T K^-1 y / 2 - ln det K / 2 - n ln(2 pi) / 2`.
#[purify]
pub fn gp_marginal(n: usize) -> Result<Tensor> {
    let amplitude = log_normal_variable!(mean = 1.0, sigma = 1.0);
    let length = log_normal_variable!(mean = 2.0, sigma = 1.5);
    let noise = log_normal_variable!(mean = 0.5, sigma = 0.5);
    let x = fixed!(n);
    let y = fixed!(n);
    let k = squared_exponential(&x, &x, &amplitude, &length) + Tensor::eye(n) * noise.square();
    let l = linalg::cholesky(&k)?;
    let z = linalg::solve_triangular(&l, &y, Triangle::Lower, Transpose::No)?;
    let half_log_det = linalg::diagonal(&l).ln().sum();
    Ok(-(z.square().sum() * 0.5) - half_log_det - n as f64 * 0.5 * (2.0 * std::f64::consts::PI).ln())
}

/// `n` points drawn from the GP with the true hyperparameters, with the
/// true function on a grid of 200 points.
pub fn simulate(n: usize, rng: &mut Xoshiro256PlusPlus) -> Result<(gp_marginal::Fixed, Tensor, Tensor)> {
    let x = Tensor::rand_uniform([n], 0.0, X_MAX, rng);
    let grid = Tensor::linspace(0.0, X_MAX, 200);
    let both = concatenate(&[x.clone(), grid.clone()], 0);
    let (a, l) = (Tensor::scalar(TRUE_AMPLITUDE), Tensor::scalar(TRUE_LENGTH));
    let k = squared_exponential(&both, &both, &a, &l) + Tensor::eye(n + 200) * 1e-8;
    let f = linalg::cholesky(&k)?.matmul(&Tensor::randn([n + 200], rng));
    let y = f.slice(0, 0, n, 1) + Tensor::randn([n], rng) * TRUE_NOISE;
    Ok((gp_marginal::Fixed { x, y }, grid, f.slice(0, n, n + 200, 1)))
}
