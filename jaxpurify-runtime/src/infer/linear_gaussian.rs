//! The Gaussian posterior of a model that is linear in its whitened
//! parameters, observed with independent Gaussian noise, without ever
//! forming a matrix.
//!
//! Data `y = R xi + eta` with prior `xi ~ N(0, I)` and noise
//! `eta ~ N(0, N)`, `N` diagonal, give the posterior `N(m, M^-1)` with
//! precision `M = R^T N^-1 R + I` and mean `m = M^-1 R^T N^-1 y`. As in the
//! original example, `R v` is the model itself evaluated at `v` (it is
//! linear) and `R^T` its transpose, the pullback (`vjp`) taken once. A model
//! whose output at zero is not zero is affine, not linear, and is refused.
//!
//! The three operators a solve applies, `R`, `R^T N^-1` and `M`, are
//! compiled once (`compile`): a conjugate-gradient iteration then runs their
//! kernels only.

use crate::compile::{Compiled, compile};
use crate::error::{Error, Result};
use crate::model::{Flat, Model};
use crate::optim::{CgResult, conjugate_gradient};
use crate::tensor::Tensor;
use crate::tree::Tree;
use rand::Rng;

/// A linear model with Gaussian noise of known per-datum variance.
///
/// ```standalone_crate
/// # extern crate jaxpurify_runtime as jaxpurify;
/// use jaxpurify::infer::LinearGaussian;
/// use jaxpurify::{purify, Tensor};
///
/// /// Two standard-normal values, observed as their sum and difference.
/// #[purify]
/// fn sum_and_difference() -> Tensor {
///     let xi = param!(2);
///     jaxpurify::stack(&[xi.sum(), &xi.select(0, 0) - &xi.select(0, 1)], 0)
/// }
///
/// fn main() -> jaxpurify::Result<()> {
///     let fixed = sum_and_difference::Fixed::default();
///     let gp = LinearGaussian::new(sum_and_difference::new(), fixed, vec![1.0, 1.0])?;
///     // R = [[1, 1], [1, -1]]: M = R^T R + I = 3 I, so m = R^T y / 3.
///     let mean = gp.mean(&[3.0, 1.0], 1e-12, 10);
///     assert!((mean.x[0] - 4.0 / 3.0).abs() < 1e-12 && (mean.x[1] - 2.0 / 3.0).abs() < 1e-12);
///     Ok(())
/// }
/// ```
pub struct LinearGaussian<M: Model<Output = Tensor>> {
    flat: Flat<M>,
    fixed: M::Fixed,
    zeros: Vec<f64>,
    noise_variance: Vec<f64>,
    /// `v -> R v`.
    response: Compiled<M::Params, Tensor>,
    /// `d -> R^T d`, from the pullback taken once: a linear model's
    /// pullback is the same at every point.
    adjoint: Compiled<Tensor, M::Params>,
    /// `v -> M v = R^T N^-1 R v + v`.
    precision: Compiled<M::Params, M::Params>,
}

impl<M: Model<Output = Tensor>> LinearGaussian<M> {
    /// The posterior machinery for `model` with `fixed` data and noise
    /// variance `noise_variance[i]` on output `i`.
    ///
    /// # Errors
    /// [`Error::Length`] when the number of variances differs from the
    /// model's output length, [`Error::InvalidArgument`] when a variance is
    /// not positive and finite (`N^-1` would not exist) or the model's output
    /// at zero parameters is not zero (it is not linear), and the model's
    /// own errors.
    pub fn new(model: M, fixed: M::Fixed, noise_variance: Vec<f64>) -> Result<Self> {
        const OP: &str = "LinearGaussian::new";
        let flat = model.flat()?;
        let zeros = vec![0.0; flat.len()];
        let origin = flat.unravel(&zeros)?;
        let (output, pullback) = flat.model().vjp(&origin, &fixed)?;
        if output.numel() != noise_variance.len() {
            return Err(Error::Length {
                path: "noise variances (one per output)".into(),
                expected: output.numel(),
                actual: noise_variance.len(),
            });
        }
        if let Some(i) = noise_variance.iter().position(|v| !(*v > 0.0 && v.is_finite())) {
            return Err(Error::InvalidArgument {
                op: OP,
                message: format!(
                    "noise variances must be positive and finite, got {} at {i}",
                    noise_variance[i]
                ),
            });
        }
        if let Some(i) = output.as_slice().iter().position(|v| *v != 0.0) {
            return Err(Error::InvalidArgument {
                op: OP,
                message: format!(
                    "the model's output at zero parameters is {} at {i}, not zero: it is not linear",
                    output.as_slice()[i]
                ),
            });
        }
        let response = flat.model().compile_apply(&origin, &fixed)?;
        let adjoint = compile(|d: &Tensor| pullback.apply(d), &output)?;
        let variance = Tensor::from(noise_variance.as_slice());
        let precision = compile(
            |v: &M::Params| {
                let response = flat
                    .model()
                    .apply(v, &fixed)
                    .expect("parameters of the model's layout");
                let information = pullback.apply(&(response / &variance));
                information.zip_map(v, |a, b| a + b)
            },
            &origin,
        )?;
        Ok(LinearGaussian {
            flat,
            fixed,
            zeros,
            noise_variance,
            response,
            adjoint,
            precision,
        })
    }

    /// The number of parameters.
    pub fn dim(&self) -> usize {
        self.flat.len()
    }

    /// The flat model, to unravel parameter vectors or evaluate it.
    pub fn flat(&self) -> &Flat<M> {
        &self.flat
    }

    /// The fixed data the model is evaluated with.
    pub fn fixed(&self) -> &M::Fixed {
        &self.fixed
    }

    /// `R v`, the model's response to parameters `v`: for a linear model,
    /// its output at `v` (a forward pass, a third of the cost of a `jvp`).
    pub fn forward(&self, v: &[f64]) -> Vec<f64> {
        let mut response = vec![0.0; self.noise_variance.len()];
        self.response
            .call_flat(v, &mut response)
            .expect("parameters of the model's length");
        response
    }

    /// `R^T d` for data-space `d`.
    pub fn adjoint(&self, d: &[f64]) -> Vec<f64> {
        let mut transposed = vec![0.0; self.dim()];
        self.adjoint
            .call_flat(d, &mut transposed)
            .expect("one value per datum");
        transposed
    }

    fn output_shape(&self) -> [usize; 1] {
        [self.noise_variance.len()]
    }

    /// `R^T N^-1 d`: data weighted by their precision, in parameter space.
    pub fn information(&self, d: &[f64]) -> Vec<f64> {
        let weighted: Vec<f64> = d.iter().zip(&self.noise_variance).map(|(d, v)| d / v).collect();
        self.adjoint(&weighted)
    }

    /// `M v = R^T N^-1 R v + v`.
    pub fn precision_times(&self, v: &[f64]) -> Vec<f64> {
        let mut mv = vec![0.0; self.dim()];
        self.precision
            .call_flat(v, &mut mv)
            .expect("parameters of the model's length");
        mv
    }

    /// The posterior mean: `M m = R^T N^-1 y` solved by conjugate gradients
    /// from zero to `||r|| <= tol ||b||`.
    pub fn mean(&self, y: &[f64], tol: f64, max_iter: usize) -> CgResult {
        let b = self.information(y);
        conjugate_gradient(|v| self.precision_times(v), &b, &self.zeros, tol, max_iter)
    }

    /// One posterior sample by perturb-then-optimise, and its solve.
    ///
    /// Draw a prior sample `xi ~ N(0, I)` and a noise sample `eta ~ N(0, N)`,
    /// and let `x_hat = M^-1 R^T N^-1 (R xi + eta)` be the posterior mean
    /// for the simulated data `R xi + eta`. Then `m + (xi - x_hat)` is a
    /// posterior sample: its mean is `m` (both `xi` and `x_hat` have mean
    /// 0), and since `I - M^-1 R^T N^-1 R = M^-1 (M - R^T N^-1 R) = M^-1`,
    ///
    /// ```text
    /// xi - x_hat = M^-1 xi - M^-1 R^T N^-1 eta
    /// Cov = M^-1 (I + R^T N^-1 N N^-1 R) M^-1 = M^-1 M M^-1 = M^-1.
    /// ```
    ///
    /// By linearity `m - x_hat = M^-1 R^T N^-1 (y - R xi - eta)`, so the
    /// sample is `xi + s` with `M s = R^T N^-1 (y - R xi - eta)`: one solve,
    /// the same operator as the mean's. Its covariance is exact only as far
    /// as the solve converged.
    pub fn sample(&self, y: &[f64], rng: &mut impl Rng, tol: f64, max_iter: usize) -> (Vec<f64>, CgResult) {
        let xi = Tensor::randn([self.dim()], rng).into_vec();
        let eta = Tensor::randn(self.output_shape(), rng);
        let response = self.forward(&xi);
        let residual: Vec<f64> = y
            .iter()
            .zip(&response)
            .zip(eta.as_slice().iter().zip(&self.noise_variance))
            .map(|((y, r), (e, v))| y - r - e * v.sqrt())
            .collect();
        let b = self.information(&residual);
        let solve = conjugate_gradient(|v| self.precision_times(v), &b, &self.zeros, tol, max_iter);
        let sample = xi.iter().zip(&solve.x).map(|(a, b)| a + b).collect();
        (sample, solve)
    }
}
