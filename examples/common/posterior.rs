//! The Gaussian posterior of a model that is linear in its whitened
//! parameters, observed with independent Gaussian noise, without ever
//! forming a matrix.
//!
//! Include it with `#[path = "common/posterior.rs"] mod posterior;`.
//!
//! Data `y = R xi + eta` with prior `xi ~ N(0, I)` and noise
//! `eta ~ N(0, N)`, `N` diagonal, give the posterior `N(m, M^-1)` with
//! precision `M = R^T N^-1 R + I` and mean `m = M^-1 R^T N^-1 y`. As in the
//! original example, `R v` is the model itself evaluated at `v` (it is
//! linear) and `R^T` its transpose, the pullback (`vjp`) taken once. A model
//! whose output at zero is not zero is affine, not linear, and is refused.

use jaxpurify::model::ModelPullback;
use jaxpurify::optim::{CgResult, conjugate_gradient};
use jaxpurify::{Flat, Model, Result, Tensor, Tree};
use rand::Rng;

/// A linear model with Gaussian noise of known per-datum variance.
pub struct LinearGaussian<M: Model<Output = Tensor>> {
    flat: Flat<M>,
    fixed: M::Fixed,
    zeros: Vec<f64>,
    /// The transpose `R^T`, taken once: a linear model's pullback is the
    /// same at every point.
    pullback: ModelPullback<M>,
    noise_variance: Vec<f64>,
}

impl<M: Model<Output = Tensor>> LinearGaussian<M> {
    /// The posterior machinery for `model` with `fixed` data and noise
    /// variance `noise_variance[i]` on output `i`.
    ///
    /// # Panics
    /// When a variance is not positive and finite (`N^-1` would not exist) or
    /// their number differs from the model's output length.
    pub fn new(model: M, fixed: M::Fixed, noise_variance: Vec<f64>) -> Result<Self> {
        let flat = model.flat()?;
        let zeros = vec![0.0; flat.len()];
        let (output, pullback) = flat.model().vjp(&flat.unravel(&zeros)?, &fixed)?;
        assert_eq!(
            output.numel(),
            noise_variance.len(),
            "LinearGaussian: one noise variance per output"
        );
        assert!(
            noise_variance.iter().all(|v| *v > 0.0 && v.is_finite()),
            "LinearGaussian: noise variances must be positive and finite"
        );
        assert!(
            output.as_slice().iter().all(|v| *v == 0.0),
            "LinearGaussian: the model's output at zero parameters is not zero, so it is not linear"
        );
        Ok(LinearGaussian {
            flat,
            fixed,
            zeros,
            pullback,
            noise_variance,
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
        self.flat
            .apply(v, &self.fixed)
            .expect("parameters of the model's length")
            .into_vec()
    }

    /// `R^T d` for data-space `d`.
    pub fn adjoint(&self, d: &[f64]) -> Vec<f64> {
        let cotangent = Tensor::from(d).reshape(self.output_shape());
        self.pullback.apply(&cotangent).ravel()
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
        let mut mv = self.information(&self.forward(v));
        mv.iter_mut().zip(v).for_each(|(a, b)| *a += b);
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
