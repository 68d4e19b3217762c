//! The models of `benches/workloads.rs`, written as the README teaches: one
//! plain function with its markers, compiled for its value and gradient.
//! `scripts/bench_workloads_jax.py` writes the same models for the original
//! library on JAX.

use jaxpurify::log_density;
use jaxpurify::prelude::*;

/// `ln(2 pi)`.
const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// The log-likelihood of `n` points in `d` dimensions under a mixture of
/// `k` Gaussians. Component `c` has a mean and the lower-triangular factor
/// `L_c` of its precision (`P_c = L_c L_c^T`), whose diagonal is kept as
/// its logarithm so that it stays positive: `ln N(x; mu_c, P_c^-1) =
/// -|L_c^T (x - mu_c)|^2 / 2 + sum_i ln L_c,ii - d ln(2 pi) / 2`. The
/// weights are a softmax of learned logits.
#[purify]
pub fn mixture(d: usize, k: usize, n: usize) -> Tensor {
    let x = fixed!([n, d]);
    let means = param!([k, d]);
    let log_diag = param!([k, d]);
    let off_diag = param!([k, d, d]);
    let logits = param!(k);
    let strictly_lower = strictly_lower_ones(d);
    let factor = off_diag * strictly_lower + log_diag.exp().reshape([k, d, 1]) * Tensor::eye(d);
    let diff = x.reshape([1, n, d]) - means.reshape([k, 1, d]);
    let z = diff.matmul(&factor); // [k, n, d]: L_c^T (x - mu_c) as rows
    let log_norm = log_diag.sum_axes(&[1], false) + logits.log_softmax(0) - 0.5 * d as f64 * LN_2PI;
    let log_p = z.square().sum_axes(&[-1], false) * -0.5 + log_norm.reshape([k, 1]);
    log_p.logsumexp_axes(&[0], false).sum()
}

/// Ones strictly below the diagonal of a `d` by `d` matrix.
fn strictly_lower_ones(d: usize) -> Tensor {
    let values = (0..d * d).map(|i| f64::from(u8::from(i % d < i / d))).collect();
    Tensor::from_vec(values, [d, d]).expect("d * d values")
}

/// The log-likelihood of logistic regression on a `rows` by `cols` design
/// matrix: `y_i ~ Bernoulli(sigmoid(x_i . beta + b))`.
#[purify]
pub fn logistic_regression(rows: usize, cols: usize) -> Tensor {
    let x = fixed!([rows, cols]);
    let y = fixed!(rows);
    let beta = param!(cols);
    let intercept = param!(());
    let eta = x.matmul(&beta) + intercept;
    log_density::bernoulli_logit(&y, &eta).sum()
}

/// Eight schools, generalised to `groups` groups: each group's effect
/// `theta_j = mu + tau eta_j` (non-centred), observed with a known standard
/// error. `groups + 2` parameters.
#[purify]
pub fn hierarchical(groups: usize) -> Tensor {
    let mu = normal_variable!(mean = 0.0, sigma = 5.0);
    let tau = log_normal_variable!(mean = 5.0, sigma = 5.0);
    let eta = param!(groups);
    let theta = intermediate!(&mu + &tau * &eta);
    let y = fixed!(groups);
    let sigma = fixed!(groups);
    log_density::normal(&y, &theta, &sigma).sum()
}

/// `|k|` on the frequency grid of an array of shape `dims`, infinite at
/// `k = 0` (no power there).
pub fn frequency_magnitude(dims: &[usize]) -> Tensor {
    let mut k2 = Tensor::zeros(dims);
    for (axis, &n) in dims.iter().enumerate() {
        let mut shape = vec![1; dims.len()];
        shape[axis] = n;
        k2 = k2 + fftfreq(n, 1.0).square().reshape(shape.as_slice());
    }
    k2.sqrt().at(vec![0; dims.len()].as_slice()).set(f64::INFINITY)
}

/// A log-normal field on a grid of shape `dims` with power spectrum
/// `|k|^alpha`, observed with unit noise: the log-likelihood of the data.
#[purify]
pub fn lognormal_field(dims: &[usize]) -> Tensor {
    let k = frequency_magnitude(dims);
    let alpha = -log_normal_variable!(mean = 3.0, sigma = 0.1);
    let amplitude = k.pow(&alpha).sqrt();
    let xi = param!(dims);
    let field = intermediate!(ifftn(&(amplitude * &xi)).re().exp());
    let data = fixed!(dims);
    (field - data).square().sum() * -0.5
}
