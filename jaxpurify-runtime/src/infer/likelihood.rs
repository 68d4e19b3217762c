//! Likelihoods of observed data given a model's prediction.
//!
//! Each likelihood holds its data, checked once by its constructor (shapes,
//! positivity, counts), and computes `ln p(data | prediction)` as a scalar
//! [`Tensor`] from tensor ops, so it differentiates (to any order) and
//! compiles with the model. Every value includes its normalising constant,
//! so likelihoods of different kinds compare and add.
//!
//! [`FisherMetric`] adds what MGVI and geoVI need: the expected Fisher
//! metric of the likelihood in the prediction, `M = E[-d^2 ln p / dy^2]`,
//! applied to a tangent, and a square root of it (`S S^T = M`) applied to
//! white noise.
//!
//! ```
//! use jaxpurify_runtime::infer::{Gaussian, Likelihood};
//! use jaxpurify_runtime::Tensor;
//! let likelihood = Gaussian::new(Tensor::from([1.0, 2.0]), 0.5)?;
//! let lp = likelihood.log_likelihood(&Tensor::from([1.0, 2.0]));
//! // At the data: -n (ln sigma + ln sqrt(2 pi))
//! let expected = -2.0 * (0.5f64.ln() + 0.5 * (2.0 * std::f64::consts::PI).ln());
//! assert!((lp.item() - expected).abs() < 1e-14);
//! # Ok::<(), jaxpurify_runtime::Error>(())
//! ```

use crate::compile::check::check;
use crate::error::{Error, Result};
use crate::ops::linalg::{self, Transpose, Triangle};
use crate::ops::log_density;
use crate::shape::{Shape, broadcast_shapes};
use crate::tensor::Tensor;

/// `ln p(data | prediction)` for data held by the likelihood.
pub trait Likelihood {
    /// The shape a prediction must have: the data's.
    fn data_shape(&self) -> &Shape;

    /// The log-likelihood of `prediction`, a single value including its
    /// normalising constant, differentiable in `prediction`.
    ///
    /// # Panics
    /// When `prediction` does not have [`data_shape`](Likelihood::data_shape)
    /// (a programmer error inside model code), naming both shapes.
    fn log_likelihood(&self, prediction: &Tensor) -> Tensor;
}

/// The Fisher metric of a likelihood in its prediction, for MGVI and
/// geoVI.
pub trait FisherMetric: Likelihood {
    /// `M tangent`, with `M = E[-d^2 ln p / dy^2]` at `prediction`.
    ///
    /// # Panics
    /// When a shape differs from the data's.
    fn metric(&self, prediction: &Tensor, tangent: &Tensor) -> Tensor;

    /// `S white` for a square root `S S^T = M` at `prediction`: applied to
    /// standard normal noise it draws from `N(0, M)`.
    ///
    /// # Panics
    /// When a shape differs from the data's.
    fn sqrt_metric(&self, prediction: &Tensor, white: &Tensor) -> Tensor;
}

/// Panics unless `prediction` has the data's shape.
#[track_caller]
fn check_prediction(op: &str, data: &Shape, prediction: &Tensor) {
    assert!(
        prediction.shape() == data,
        "{op}: prediction of shape {} for data of shape {data}",
        prediction.shape()
    );
}

/// Fails unless every element is finite and satisfies `ok`; a compiled
/// program repeats the check (a learned noise scale, say).
fn require(op: &'static str, name: &str, value: &Tensor, what: &str, ok: fn(f64) -> bool) -> Result<()> {
    let (name, what) = (name.to_string(), what.to_string());
    check(op, &[value], move |values| {
        match values[0].iter().position(|&v| !(v.is_finite() && ok(v))) {
            None => Ok(()),
            Some(i) => Err(Error::InvalidArgument {
                op,
                message: format!("`{name}` must be {what}, got {} at element {i}", values[0][i]),
            }),
        }
    })
}

/// Fails unless `parameter` broadcasts to the data's shape (a scalar, or a
/// shape the data's extends).
fn require_fits(op: &'static str, name: &str, parameter: &Tensor, data: &Tensor) -> Result<()> {
    match broadcast_shapes(parameter.shape(), data.shape()) {
        Some(shape) if &shape == data.shape() => Ok(()),
        _ => Err(Error::InvalidArgument {
            op,
            message: format!(
                "`{name}` of shape {} does not broadcast to the data's shape {}",
                parameter.shape(),
                data.shape()
            ),
        }),
    }
}

/// Independent normal data with a standard deviation per datum (or one for
/// all): `y_i ~ N(prediction_i, sigma_i)`.
#[derive(Clone, Debug)]
pub struct Gaussian {
    y: Tensor,
    sigma: Tensor,
}

impl Gaussian {
    /// Data `y` (finite) and its standard deviation `sigma`, positive and
    /// broadcasting to `y`'s shape.
    ///
    /// ```
    /// use jaxpurify_runtime::{infer::Gaussian, Tensor};
    /// assert!(Gaussian::new(Tensor::zeros([3]), Tensor::from([1.0, 2.0, 0.5])).is_ok());
    /// assert!(Gaussian::new(Tensor::zeros([3]), Tensor::ones([2])).is_err());
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the argument.
    pub fn new(y: impl Into<Tensor>, sigma: impl Into<Tensor>) -> Result<Gaussian> {
        const OP: &str = "infer::Gaussian::new";
        let (y, sigma) = (y.into().detach(), sigma.into().detach());
        require(OP, "y", &y, "finite", |_| true)?;
        require(OP, "sigma", &sigma, "positive and finite", |v| v > 0.0)?;
        require_fits(OP, "sigma", &sigma, &y)?;
        Ok(Gaussian { y, sigma })
    }
}

impl Likelihood for Gaussian {
    fn data_shape(&self) -> &Shape {
        self.y.shape()
    }

    /// `sum_i normal(y_i; prediction_i, sigma_i)`.
    #[track_caller]
    fn log_likelihood(&self, prediction: &Tensor) -> Tensor {
        check_prediction("Gaussian::log_likelihood", self.y.shape(), prediction);
        log_density::normal(&self.y, prediction, &self.sigma).sum()
    }
}

impl FisherMetric for Gaussian {
    /// `tangent / sigma^2`.
    #[track_caller]
    fn metric(&self, prediction: &Tensor, tangent: &Tensor) -> Tensor {
        check_prediction("Gaussian::metric", self.y.shape(), prediction);
        check_prediction("Gaussian::metric", self.y.shape(), tangent);
        tangent / (&self.sigma * &self.sigma)
    }

    /// `white / sigma`.
    #[track_caller]
    fn sqrt_metric(&self, prediction: &Tensor, white: &Tensor) -> Tensor {
        check_prediction("Gaussian::sqrt_metric", self.y.shape(), prediction);
        check_prediction("Gaussian::sqrt_metric", self.y.shape(), white);
        white / &self.sigma
    }
}

/// Correlated normal data, `y ~ N(prediction, L L^T)` with `L` the lower
/// Cholesky factor of the noise covariance; data of shape `[..., n]` are
/// independent vectors sharing it.
#[derive(Clone, Debug)]
pub struct GaussianCholesky {
    y: Tensor,
    factor: Tensor,
}

impl GaussianCholesky {
    /// Data `y` (finite, last dimension `n`) and the `[n, n]` lower factor
    /// `l` of its covariance (positive diagonal; the upper triangle must be
    /// zero).
    ///
    /// ```
    /// use jaxpurify_runtime::{infer::GaussianCholesky, linalg, Tensor};
    /// let l = linalg::cholesky(&Tensor::from([[2.0, 0.5], [0.5, 1.0]]))?;
    /// assert!(GaussianCholesky::new(Tensor::from([0.3, -0.1]), l.clone()).is_ok());
    /// assert!(GaussianCholesky::new(Tensor::zeros([3]), l).is_err());
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the argument and the shapes.
    pub fn new(y: impl Into<Tensor>, l: impl Into<Tensor>) -> Result<GaussianCholesky> {
        const OP: &str = "infer::GaussianCholesky::new";
        let (y, factor) = (y.into().detach(), l.into().detach());
        require(OP, "y", &y, "finite", |_| true)?;
        require(OP, "l", &factor, "finite", |_| true)?;
        let square = factor.ndim() == 2 && factor.shape()[0] == factor.shape()[1];
        if !square || y.ndim() == 0 || y.shape()[y.ndim() - 1] != factor.shape()[0] {
            return Err(Error::InvalidArgument {
                op: OP,
                message: format!(
                    "`l` of shape {} must be [n, n] with n the last dimension of `y`, of shape {}",
                    factor.shape(),
                    y.shape()
                ),
            });
        }
        let n = factor.shape()[0];
        check(OP, &[&factor], move |values| {
            let misplaced = values[0].iter().enumerate().find(|&(k, &v)| {
                let (i, j) = (k / n, k % n);
                (j > i && v != 0.0) || (i == j && v <= 0.0)
            });
            match misplaced {
                None => Ok(()),
                Some((k, v)) => Err(Error::InvalidArgument {
                    op: OP,
                    message: format!(
                        "`l` must be lower triangular with a positive diagonal, got {v} at [{}, {}]",
                        k / n,
                        k % n
                    ),
                }),
            }
        })?;
        Ok(GaussianCholesky { y, factor })
    }

    /// `L^{-1} v` (`transpose: No`) or `L^{-T} v` for each row of `v`.
    fn solve_rows(&self, v: &Tensor, transpose: Transpose) -> Tensor {
        let n = self.factor.shape()[0];
        let columns = v.reshape([v.numel() / n, n]).t();
        let solved = linalg::solve_triangular(&self.factor, &columns, Triangle::Lower, transpose)
            .expect("the factor's diagonal was checked to be positive");
        solved.t().reshape(v.shape().clone())
    }
}

impl Likelihood for GaussianCholesky {
    fn data_shape(&self) -> &Shape {
        self.y.shape()
    }

    /// `sum multivariate_normal_chol(y; prediction, L)`.
    #[track_caller]
    fn log_likelihood(&self, prediction: &Tensor) -> Tensor {
        check_prediction("GaussianCholesky::log_likelihood", self.y.shape(), prediction);
        log_density::multivariate_normal_chol(&self.y, prediction, &self.factor).sum()
    }
}

impl FisherMetric for GaussianCholesky {
    /// `(L L^T)^{-1} tangent = L^{-T} L^{-1} tangent`.
    #[track_caller]
    fn metric(&self, prediction: &Tensor, tangent: &Tensor) -> Tensor {
        check_prediction("GaussianCholesky::metric", self.y.shape(), prediction);
        check_prediction("GaussianCholesky::metric", self.y.shape(), tangent);
        self.solve_rows(&self.solve_rows(tangent, Transpose::No), Transpose::Yes)
    }

    /// `L^{-T} white`: `L^{-T} L^{-1}` is the metric.
    #[track_caller]
    fn sqrt_metric(&self, prediction: &Tensor, white: &Tensor) -> Tensor {
        check_prediction("GaussianCholesky::sqrt_metric", self.y.shape(), prediction);
        check_prediction("GaussianCholesky::sqrt_metric", self.y.shape(), white);
        self.solve_rows(white, Transpose::Yes)
    }
}

/// Independent Student-t data, `y_i ~ t_dof(prediction_i, scale_i)`: a
/// Gaussian with heavier tails, robust to outliers.
#[derive(Clone, Debug)]
pub struct StudentT {
    y: Tensor,
    dof: Tensor,
    scale: Tensor,
}

impl StudentT {
    /// Data `y` (finite), degrees of freedom `dof` and `scale`, both
    /// positive and broadcasting to `y`'s shape.
    ///
    /// ```
    /// use jaxpurify_runtime::{infer::StudentT, Tensor};
    /// assert!(StudentT::new(Tensor::zeros([2]), 4.0, 1.5).is_ok());
    /// assert!(StudentT::new(Tensor::zeros([2]), 0.0, 1.5).is_err());
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the argument.
    pub fn new(y: impl Into<Tensor>, dof: impl Into<Tensor>, scale: impl Into<Tensor>) -> Result<StudentT> {
        const OP: &str = "infer::StudentT::new";
        let (y, dof, scale) = (y.into().detach(), dof.into().detach(), scale.into().detach());
        require(OP, "y", &y, "finite", |_| true)?;
        require(OP, "dof", &dof, "positive and finite", |v| v > 0.0)?;
        require(OP, "scale", &scale, "positive and finite", |v| v > 0.0)?;
        require_fits(OP, "dof", &dof, &y)?;
        require_fits(OP, "scale", &scale, &y)?;
        Ok(StudentT { y, dof, scale })
    }

    /// The Fisher information of the location, `(dof + 1) / ((dof + 3) scale^2)`.
    fn information(&self) -> Tensor {
        (&self.dof + 1.0) / ((&self.dof + 3.0) * &self.scale * &self.scale)
    }
}

impl Likelihood for StudentT {
    fn data_shape(&self) -> &Shape {
        self.y.shape()
    }

    /// `sum_i student_t(y_i; dof_i, prediction_i, scale_i)`.
    #[track_caller]
    fn log_likelihood(&self, prediction: &Tensor) -> Tensor {
        check_prediction("StudentT::log_likelihood", self.y.shape(), prediction);
        log_density::student_t(&self.y, &self.dof, prediction, &self.scale).sum()
    }
}

impl FisherMetric for StudentT {
    /// `tangent (dof + 1) / ((dof + 3) scale^2)`.
    #[track_caller]
    fn metric(&self, prediction: &Tensor, tangent: &Tensor) -> Tensor {
        check_prediction("StudentT::metric", self.y.shape(), prediction);
        check_prediction("StudentT::metric", self.y.shape(), tangent);
        tangent * self.information()
    }

    /// `white sqrt((dof + 1) / (dof + 3)) / scale`.
    #[track_caller]
    fn sqrt_metric(&self, prediction: &Tensor, white: &Tensor) -> Tensor {
        check_prediction("StudentT::sqrt_metric", self.y.shape(), prediction);
        check_prediction("StudentT::sqrt_metric", self.y.shape(), white);
        white * self.information().sqrt()
    }
}

/// Fails unless every element is a count (a non-negative whole number),
/// or, with `binary`, 0 or 1.
fn require_counts(op: &'static str, name: &str, value: &Tensor, binary: bool) -> Result<()> {
    let (what, ok): (&str, fn(f64) -> bool) = match binary {
        true => ("0 or 1", |v| v == 0.0 || v == 1.0),
        false => ("a non-negative whole number", |v| v >= 0.0 && v.fract() == 0.0),
    };
    require(op, name, value, what, ok)
}

/// Independent counts, `k_i ~ Poisson(exp(prediction_i))`: the prediction
/// is the **log-rate**, unconstrained, so that a model needs no positivity
/// constraint and the log-likelihood `k eta - exp(eta) - ln k!` stays exact
/// for small and large rates.
#[derive(Clone, Debug)]
pub struct Poisson {
    counts: Tensor,
}

impl Poisson {
    /// The observed counts (non-negative whole numbers).
    ///
    /// ```
    /// use jaxpurify_runtime::{infer::Poisson, Tensor};
    /// assert!(Poisson::new(Tensor::from([0.0, 3.0, 12.0])).is_ok());
    /// assert!(Poisson::new(Tensor::from([1.5])).is_err());
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the first value that is not a count.
    pub fn new(counts: impl Into<Tensor>) -> Result<Poisson> {
        let counts = counts.into().detach();
        require_counts("infer::Poisson::new", "counts", &counts, false)?;
        Ok(Poisson { counts })
    }
}

impl Likelihood for Poisson {
    fn data_shape(&self) -> &Shape {
        self.counts.shape()
    }

    /// `sum_i poisson_log_rate(k_i; prediction_i)`.
    #[track_caller]
    fn log_likelihood(&self, prediction: &Tensor) -> Tensor {
        check_prediction("Poisson::log_likelihood", self.counts.shape(), prediction);
        log_density::poisson_log_rate(&self.counts, prediction).sum()
    }
}

impl FisherMetric for Poisson {
    /// `tangent exp(prediction)`: the rate is the information of the
    /// log-rate.
    #[track_caller]
    fn metric(&self, prediction: &Tensor, tangent: &Tensor) -> Tensor {
        check_prediction("Poisson::metric", self.counts.shape(), prediction);
        check_prediction("Poisson::metric", self.counts.shape(), tangent);
        tangent * prediction.exp()
    }

    /// `white exp(prediction / 2)`.
    #[track_caller]
    fn sqrt_metric(&self, prediction: &Tensor, white: &Tensor) -> Tensor {
        check_prediction("Poisson::sqrt_metric", self.counts.shape(), prediction);
        check_prediction("Poisson::sqrt_metric", self.counts.shape(), white);
        white * (prediction * 0.5).exp()
    }
}

/// Independent binary outcomes, `y_i ~ Bernoulli(sigmoid(prediction_i))`:
/// the prediction is the logit, and `y eta - softplus(eta)` is exact in
/// both tails.
#[derive(Clone, Debug)]
pub struct Bernoulli {
    outcomes: Tensor,
}

impl Bernoulli {
    /// The observed outcomes, each 0 or 1.
    ///
    /// ```
    /// use jaxpurify_runtime::{infer::Bernoulli, Tensor};
    /// assert!(Bernoulli::new(Tensor::from([0.0, 1.0, 1.0])).is_ok());
    /// assert!(Bernoulli::new(Tensor::from([2.0])).is_err());
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the first value that is neither.
    pub fn new(outcomes: impl Into<Tensor>) -> Result<Bernoulli> {
        let outcomes = outcomes.into().detach();
        require_counts("infer::Bernoulli::new", "outcomes", &outcomes, true)?;
        Ok(Bernoulli { outcomes })
    }
}

impl Likelihood for Bernoulli {
    fn data_shape(&self) -> &Shape {
        self.outcomes.shape()
    }

    /// `sum_i bernoulli_logit(y_i; prediction_i)`.
    #[track_caller]
    fn log_likelihood(&self, prediction: &Tensor) -> Tensor {
        check_prediction("Bernoulli::log_likelihood", self.outcomes.shape(), prediction);
        log_density::bernoulli_logit(&self.outcomes, prediction).sum()
    }
}

impl FisherMetric for Bernoulli {
    /// `tangent p (1 - p)` with `p = sigmoid(prediction)`.
    #[track_caller]
    fn metric(&self, prediction: &Tensor, tangent: &Tensor) -> Tensor {
        check_prediction("Bernoulli::metric", self.outcomes.shape(), prediction);
        check_prediction("Bernoulli::metric", self.outcomes.shape(), tangent);
        tangent * prediction.sigmoid() * (-prediction).sigmoid()
    }

    /// `white sqrt(p (1 - p))`.
    #[track_caller]
    fn sqrt_metric(&self, prediction: &Tensor, white: &Tensor) -> Tensor {
        check_prediction("Bernoulli::sqrt_metric", self.outcomes.shape(), prediction);
        check_prediction("Bernoulli::sqrt_metric", self.outcomes.shape(), white);
        white * (prediction.sigmoid() * (-prediction).sigmoid()).sqrt()
    }
}

#[cfg(test)]
#[path = "likelihood_tests.rs"]
mod tests;
