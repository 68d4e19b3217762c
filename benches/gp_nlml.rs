//! The negative log marginal likelihood of a Gaussian process, with its
//! gradient in the three kernel hyperparameters, at n = 100, 500 and 1000:
//! the model a scientist fits most often that is bound by dense linear
//! algebra (one Cholesky factorisation and its derivative per call).
//!
//! `K = a^2 exp(-|x_i - x_j|^2 / (2 l^2)) + s^2 I` on `n` fixed 1-d inputs,
//! `0.5 y^T K^-1 y + 0.5 ln det K + n/2 ln 2 pi`, with `a`, `l` and `s`
//! learned through their logs (three scalar `param!`s). It is written in the
//! two ways the library's docs suggest, which users write both:
//!
//! * `cho_solve`: `alpha = cho_solve(L, y)`, then `y . alpha / 2`;
//! * `triangular`: the whitened residual `z = L^-1 y` from
//!   `solve_triangular`, then `|z|^2 / 2`;
//!
//! both with `ln det K / 2 = sum ln diag L`. `scripts/bench_gp_nlml_jax.py`
//! times the same functions on the same data with `jax.jit`, and
//! `scripts/compare_with_jax.sh` runs both, on the machine's default threads
//! and pinned to one core.
//!
//! The model returns `Result<Tensor>` and uses `?` on the factorisation and
//! the solve, as a model that can meet a matrix that is not positive
//! definite should. Benchmark ids are `gp_nlml/measurement/n=N idiom`, with
//! the JAX script's measurement names: `d_jit_value_and_grad` the compiled
//! value and gradient (`compile_output_and_grad`), `d_eager_value_and_grad`
//! the direct one (`output_and_grad`).
//!
//! Run with `cargo bench --bench gp_nlml`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use jaxpurify::Model;
use jaxpurify::linalg::{self, Transpose, Triangle};
use jaxpurify::prelude::*;
use std::hint::black_box;
use std::time::Duration;

/// `a^2 exp(-|x_i - x_j|^2 / (2 l^2)) + s^2 I` from the logs of `a`, `l`, `s`.
fn squared_exponential(
    x: &Tensor,
    log_amplitude: &Tensor,
    log_length: &Tensor,
    log_noise: &Tensor,
) -> Tensor {
    let n = x.len();
    let distance = x.reshape([n, 1]) - x.reshape([1, n]);
    let two_length_squared = (log_length * 2.0).exp() * 2.0;
    let k = (log_amplitude * 2.0).exp() * (-distance.square() / two_length_squared).exp();
    k + Tensor::eye(n) * (log_noise * 2.0).exp()
}

/// `n/2 ln 2 pi`.
fn normalisation(n: usize) -> f64 {
    0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln()
}

/// The negative log marginal likelihood through `cho_solve`.
#[purify]
fn gp_cho_solve(n: usize) -> Result<Tensor> {
    let x = fixed!(n);
    let y = fixed!(n);
    let log_amplitude = param!(());
    let log_length = param!(());
    let log_noise = param!(());
    let k = squared_exponential(&x, &log_amplitude, &log_length, &log_noise);
    let l = linalg::cholesky(&k)?;
    let alpha = linalg::cho_solve(&l, &y)?;
    Ok(y.dot(&alpha) * 0.5 + linalg::diagonal(&l).ln().sum() + normalisation(n))
}

/// The negative log marginal likelihood through the whitened residual.
#[purify]
fn gp_triangular(n: usize) -> Result<Tensor> {
    let x = fixed!(n);
    let y = fixed!(n);
    let log_amplitude = param!(());
    let log_length = param!(());
    let log_noise = param!(());
    let k = squared_exponential(&x, &log_amplitude, &log_length, &log_noise);
    let l = linalg::cholesky(&k)?;
    let z = linalg::solve_triangular(&l, &y, Triangle::Lower, Transpose::No)?;
    Ok(z.square().sum() * 0.5 + linalg::diagonal(&l).ln().sum() + normalisation(n))
}

/// The data, from formulas the JAX script repeats (no generator to match):
/// inputs spread over [0, 10] with an irregular jitter, a smooth signal
/// plus deterministic noise.
fn data(n: usize) -> (Tensor, Tensor) {
    let x: Vec<f64> = (0..n)
        .map(|i| 10.0 * (i as f64 + 0.5 + 0.4 * (1.7 * i as f64).sin()) / n as f64)
        .collect();
    let y = x
        .iter()
        .enumerate()
        .map(|(i, &x)| x.sin() + 0.3 * (3.0 * x).cos() + 0.1 * ((i * i) as f64 * 0.7311 + 0.3).sin())
        .collect::<Vec<_>>();
    (Tensor::from(x), Tensor::from(y))
}

/// The hyperparameters the gradient is taken at: `a = e^0.1`, `l = e^-0.5`,
/// `s = e^-1.5` (noise variance 0.05).
const LOG_AMPLITUDE: f64 = 0.1;
const LOG_LENGTH: f64 = -0.5;
const LOG_NOISE: f64 = -1.5;

/// Compiled and direct value and gradient of `model` at the hyperparameters
/// above.
fn suite<M: Model<Output = Tensor>>(
    c: &mut Criterion,
    size: &str,
    model: &M,
    params: &M::Params,
    fixed: &M::Fixed,
) {
    let mut g = c.benchmark_group("gp_nlml");
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(3));
    g.sample_size(20);
    let compiled = model
        .compile_output_and_grad(params, fixed)
        .expect("the model compiles");
    g.bench_function(BenchmarkId::new("d_jit_value_and_grad", size), |b| {
        b.iter(|| compiled.call(black_box(params)).unwrap())
    });
    g.bench_function(BenchmarkId::new("d_eager_value_and_grad", size), |b| {
        b.iter(|| model.output_and_grad(black_box(params), fixed).unwrap())
    });
    g.finish();
}

fn bench_gp_nlml(c: &mut Criterion) {
    for n in [100, 500, 1000] {
        let (x, y) = data(n);
        let scalar = Tensor::scalar;
        let model = gp_cho_solve::new(n);
        let params = gp_cho_solve::Params {
            log_amplitude: scalar(LOG_AMPLITUDE),
            log_length: scalar(LOG_LENGTH),
            log_noise: scalar(LOG_NOISE),
        };
        let fixed = gp_cho_solve::Fixed {
            x: x.clone(),
            y: y.clone(),
        };
        let (value, grads) = model.output_and_grad(&params, &fixed).unwrap();
        eprintln!(
            "gp_nlml n={n}: value {:.12e}, gradient [{:.12e}, {:.12e}, {:.12e}]",
            value.item(),
            grads.log_amplitude.item(),
            grads.log_length.item(),
            grads.log_noise.item()
        );
        suite(c, &format!("n={n} cho_solve"), &model, &params, &fixed);
        let model = gp_triangular::new(n);
        let params = gp_triangular::Params {
            log_amplitude: scalar(LOG_AMPLITUDE),
            log_length: scalar(LOG_LENGTH),
            log_noise: scalar(LOG_NOISE),
        };
        let fixed = gp_triangular::Fixed { x, y };
        suite(c, &format!("n={n} triangular"), &model, &params, &fixed);
    }
}

criterion_group!(benches, bench_gp_nlml);
criterion_main!(benches);
