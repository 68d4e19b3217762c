//! Whitened priors: maps from a standard normal `xi` to a variable with a
//! given distribution, as NIFTy and jaxpurify use them. A model keeps `xi` as
//! its parameter (standard normal a priori) and computes the physical value
//! with [`forward`](Normal::forward); [`inverse`](Normal::inverse) gives the
//! `xi` of a known value, e.g. for an initial guess.
//!
//! Each transform is the distribution's quantile function applied to the
//! normal cdf of `xi` (for the normal and log-normal, the affine shortcut),
//! written through whichever tail probability is the smaller so that both
//! tails keep their relative accuracy.
//!
//! | prior | parameters | value |
//! |---|---|---|
//! | [`Normal`] | mean, sigma | `mean + sigma xi` |
//! | [`LogNormal`] | mean, sigma of the value | `exp(mu + s xi)` |
//! | [`Uniform`] | low, high | `low + (high - low) Phi(xi)` |
//! | [`Laplace`] | loc, scale | Laplace quantile |
//! | [`Cauchy`] | loc, scale | `loc + scale tan(pi (Phi(xi) - 1/2))` |
//! | [`HalfCauchy`] | scale | `scale tan(pi Phi(xi) / 2)` |
//! | [`HalfNormal`] | scale | `scale Phi^{-1}((1 + Phi(xi)) / 2)` |
//! | [`HalfStudentT`] | dof, scale | half-t quantile (incomplete beta) |
//! | [`Gamma`] | shape, rate | gamma quantile (incomplete gamma) |
//! | [`InverseGamma`] | shape, scale | `scale / y`, `y ~ Gamma(shape, 1)` |
//! | [`Beta`] | alpha, beta | beta quantile (incomplete beta) |
//!
//! Any other transform is a type implementing [`Prior`](crate::Prior)
//! (or a closure `|xi: &Tensor| -> Tensor`), which the `variable!` marker
//! takes as it is.
//! Parameters are tensors broadcasting against `xi` and against each other;
//! the constructors check them (finite, positive where a scale, shapes that
//! broadcast) and return [`Error::InvalidArgument`] naming the argument and
//! its value. Forward maps are differentiable in `xi` and in the parameters
//! (except the inverse-gamma shape, a constant), to any order.
//!
//! ```
//! use jaxpurify_runtime::{priors::LogNormal, Tensor};
//! let prior = LogNormal::new(2.0, 0.5)?;
//! let value = prior.forward(&Tensor::from([-1.0, 0.0, 1.0]));
//! assert!(value.as_slice().iter().all(|&v| v > 0.0));
//! # Ok::<(), jaxpurify_runtime::Error>(())
//! ```

use crate::compile::check::check;
use crate::error::{Error, Result};
use crate::ops::arith::zip_constant;
use crate::ops::incomplete_gamma::{gamma_to_normal, normal_to_gamma};
use crate::shape::{Shape, broadcast_shapes};
use crate::tensor::Tensor;

mod heavy_tailed;
mod shape_families;

pub use heavy_tailed::{Cauchy, HalfCauchy, HalfNormal, HalfStudentT};
pub use shape_families::{Beta, Gamma};

/// Fails unless every element of `value` satisfies `ok`, naming the argument,
/// what it must be and the first offending value. A compiled program makes
/// the same check on every call (a hierarchical model's learned scale).
fn require(
    op: &'static str,
    name: &str,
    value: &Tensor,
    requirement: &str,
    ok: fn(f64) -> bool,
) -> Result<()> {
    let (name, requirement, many) = (name.to_string(), requirement.to_string(), value.numel() > 1);
    check(op, &[value], move |values| {
        let Some(i) = values[0].iter().position(|&v| !ok(v)) else {
            return Ok(());
        };
        let at = if many {
            format!(" at element {i}")
        } else {
            String::new()
        };
        Err(Error::InvalidArgument {
            op,
            message: format!("`{name}` must be {requirement}, got {}{at}", values[0][i]),
        })
    })
}

fn require_finite(op: &'static str, name: &str, value: &Tensor) -> Result<()> {
    require(op, name, value, "finite", f64::is_finite)
}

fn require_positive(op: &'static str, name: &str, value: &Tensor) -> Result<()> {
    require(op, name, value, "positive and finite", |v| {
        v > 0.0 && v.is_finite()
    })
}

/// The broadcast shape of two parameters, or an error naming both shapes.
fn require_broadcast(op: &'static str, (a, x): (&str, &Tensor), (b, y): (&str, &Tensor)) -> Result<Shape> {
    broadcast_shapes(x.shape(), y.shape()).ok_or_else(|| Error::InvalidArgument {
        op,
        message: format!(
            "`{a}` of shape {} and `{b}` of shape {} do not broadcast",
            x.shape(),
            y.shape()
        ),
    })
}

/// `-1` where `t < 0`, else `1`: the side of a symmetric quantile, constant
/// under differentiation.
fn side(t: &Tensor) -> Tensor {
    t.map_constant("side", |v| if v < 0.0 { -1.0 } else { 1.0 })
}

/// Normal prior: `value = mean + sigma xi`.
#[derive(Clone, Debug)]
pub struct Normal {
    mean: Tensor,
    sigma: Tensor,
}

impl Normal {
    /// A normal prior; `mean` must be finite and `sigma` positive.
    ///
    /// ```
    /// use jaxpurify_runtime::{priors::Normal, Tensor};
    /// let prior = Normal::new(1.0, 2.0)?;
    /// assert_eq!(prior.forward(&Tensor::scalar(0.5)).item(), 2.0);
    /// assert!(Normal::new(0.0, -1.0).is_err());
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn new(mean: impl Into<Tensor>, sigma: impl Into<Tensor>) -> Result<Normal> {
        const OP: &str = "priors::Normal::new";
        let (mean, sigma) = (mean.into(), sigma.into());
        require_finite(OP, "mean", &mean)?;
        require_positive(OP, "sigma", &sigma)?;
        require_broadcast(OP, ("mean", &mean), ("sigma", &sigma))?;
        Ok(Normal { mean, sigma })
    }

    /// `mean + sigma xi`.
    #[track_caller]
    pub fn forward(&self, xi: &Tensor) -> Tensor {
        &self.mean + &self.sigma * xi
    }

    /// `(value - mean) / sigma`.
    #[track_caller]
    pub fn inverse(&self, value: &Tensor) -> Tensor {
        (value - &self.mean) / &self.sigma
    }
}

/// Log-normal prior parametrised by the mean and standard deviation of the
/// variable itself (as in NIFTy): `value = exp(mu + s xi)` with
/// `s^2 = ln(1 + sigma^2 / mean^2)` and `mu = ln(mean) - s^2 / 2`, so that
/// `E[value] = mean` and `Var[value] = sigma^2`. Its median is
/// `mean / sqrt(1 + sigma^2 / mean^2)`.
#[derive(Clone, Debug)]
pub struct LogNormal {
    log_mean: Tensor,
    log_sigma: Tensor,
}

impl LogNormal {
    /// A log-normal prior with the given mean and standard deviation, both
    /// positive.
    ///
    /// ```
    /// use jaxpurify_runtime::{priors::LogNormal, Tensor};
    /// let prior = LogNormal::new(1.0, 1.0)?;
    /// // median = mean / sqrt(1 + sigma^2 / mean^2) = 1 / sqrt 2
    /// assert!((prior.forward(&Tensor::scalar(0.0)).item() - 0.5f64.sqrt()).abs() < 1e-15);
    /// assert!(LogNormal::new(-1.0, 1.0).is_err());
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn new(mean: impl Into<Tensor>, sigma: impl Into<Tensor>) -> Result<LogNormal> {
        const OP: &str = "priors::LogNormal::new";
        let (mean, sigma) = (mean.into(), sigma.into());
        require_positive(OP, "mean", &mean)?;
        require_positive(OP, "sigma", &sigma)?;
        require_broadcast(OP, ("mean", &mean), ("sigma", &sigma))?;
        if !mean.is_tracked() && !sigma.is_tracked() {
            // Constant hyperparameters, as `log_normal_variable!` declares
            // them on every call of a model: the same arithmetic per element
            // without a tensor op for each step (4k instructions a prior).
            // A constant op records nothing for untracked inputs, so its
            // missing derivative cannot matter.
            let log_variance = |m: f64, s: f64| ((s / m) * (s / m)).ln_1p();
            return Ok(LogNormal {
                log_mean: zip_constant(
                    "log_normal_mu",
                    &mean,
                    &sigma,
                    move |m, s| m.ln() - log_variance(m, s) * 0.5,
                    None,
                ),
                log_sigma: zip_constant(
                    "log_normal_s",
                    &mean,
                    &sigma,
                    move |m, s| (log_variance(m, s).ln() * 0.5).exp(),
                    None,
                ),
            });
        }
        let ratio = &sigma / &mean;
        let log_variance = (&ratio * &ratio).ln_1p();
        Ok(LogNormal {
            log_mean: mean.ln() - &log_variance * 0.5,
            log_sigma: (log_variance.ln() * 0.5).exp(),
        })
    }

    /// `exp(mu + s xi)`.
    #[track_caller]
    pub fn forward(&self, xi: &Tensor) -> Tensor {
        (&self.log_mean + &self.log_sigma * xi).exp()
    }

    /// `(ln value - mu) / s`.
    #[track_caller]
    pub fn inverse(&self, value: &Tensor) -> Tensor {
        (value.ln() - &self.log_mean) / &self.log_sigma
    }
}

/// Uniform prior on `(low, high)`: `value = low + (high - low) Phi(xi)`.
#[derive(Clone, Debug)]
pub struct Uniform {
    low: Tensor,
    width: Tensor,
}

impl Uniform {
    /// A uniform prior between finite `low < high`.
    ///
    /// ```
    /// use jaxpurify_runtime::{priors::Uniform, Tensor};
    /// let prior = Uniform::new(2.0, 4.0)?;
    /// assert_eq!(prior.forward(&Tensor::scalar(0.0)).item(), 3.0);
    /// assert!(Uniform::new(4.0, 2.0).is_err());
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn new(low: impl Into<Tensor>, high: impl Into<Tensor>) -> Result<Uniform> {
        const OP: &str = "priors::Uniform::new";
        let (low, high) = (low.into(), high.into());
        require_finite(OP, "low", &low)?;
        require_finite(OP, "high", &high)?;
        let shape = require_broadcast(OP, ("low", &low), ("high", &high))?;
        let (lows, highs) = (
            low.detach().broadcast_to(shape.clone()),
            high.detach().broadcast_to(shape),
        );
        check(OP, &[&lows, &highs], |values| {
            let below = |(l, h): (&f64, &f64)| l < h;
            match values[0].iter().zip(values[1]).position(|pair| !below(pair)) {
                None => Ok(()),
                Some(i) => Err(Error::InvalidArgument {
                    op: OP,
                    message: format!(
                        "`low` must be below `high`, got low = {} and high = {}",
                        values[0][i], values[1][i]
                    ),
                }),
            }
        })?;
        let width = &high - &low;
        Ok(Uniform { low, width })
    }

    /// `low + (high - low) Phi(xi)`.
    #[track_caller]
    pub fn forward(&self, xi: &Tensor) -> Tensor {
        &self.low + &self.width * xi.ndtr()
    }

    /// `Phi^{-1}((value - low) / (high - low))`.
    #[track_caller]
    pub fn inverse(&self, value: &Tensor) -> Tensor {
        ((value - &self.low) / &self.width).ndtri()
    }
}

/// Laplace prior with location and scale: the Laplace quantile of `Phi(xi)`,
/// `loc - sign(xi) scale ln(2 Phi(-|xi|))`, written through the smaller tail
/// probability so that both tails keep their accuracy. Finite for
/// `|xi| < 38` (beyond, `Phi` underflows).
#[derive(Clone, Debug)]
pub struct Laplace {
    loc: Tensor,
    scale: Tensor,
}

impl Laplace {
    /// A Laplace prior; `loc` finite, `scale` positive.
    ///
    /// ```
    /// use jaxpurify_runtime::{priors::Laplace, Tensor};
    /// let prior = Laplace::new(1.0, 2.0)?;
    /// assert_eq!(prior.forward(&Tensor::scalar(0.0)).item(), 1.0);
    /// assert!(Laplace::new(0.0, 0.0).is_err());
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn new(loc: impl Into<Tensor>, scale: impl Into<Tensor>) -> Result<Laplace> {
        const OP: &str = "priors::Laplace::new";
        let (loc, scale) = (loc.into(), scale.into());
        require_finite(OP, "loc", &loc)?;
        require_positive(OP, "scale", &scale)?;
        require_broadcast(OP, ("loc", &loc), ("scale", &scale))?;
        Ok(Laplace { loc, scale })
    }

    /// `loc - s scale ln(2 Phi(-s xi))` with `s = sign(xi)` (1 at 0, where
    /// both sides agree, so the map is smooth).
    #[track_caller]
    pub fn forward(&self, xi: &Tensor) -> Tensor {
        let s = side(xi);
        let tail = (-(&s * xi)).ndtr() * 2.0;
        &self.loc - &s * &self.scale * tail.ln()
    }

    /// With `z = (value - loc) / scale` and `s = sign(z)`:
    /// `xi = -s Phi^{-1}(exp(-s z) / 2)`.
    #[track_caller]
    pub fn inverse(&self, value: &Tensor) -> Tensor {
        let z = (value - &self.loc) / &self.scale;
        let s = side(&z);
        -(&s * ((-(&s * z)).exp() * 0.5).ndtri())
    }
}

/// Inverse-gamma prior with shape `a` and scale `b` (density proportional to
/// `x^(-a-1) exp(-b/x)`), as NIFTy's `InverseGammaOperator`:
/// `value = b / y` where `y ~ Gamma(a, 1)` has the cdf value `Phi(-xi)`.
///
/// The gamma quantile is computed by Newton's method on the regularised
/// incomplete gamma function in log space, to about 1e-14 relative for
/// shapes up to about 100; see `ops/incomplete_gamma.rs`. The shape is held
/// as a constant: no gradient flows into it.
#[derive(Clone, Debug)]
pub struct InverseGamma {
    shape: Tensor,
    scale: Tensor,
}

impl InverseGamma {
    /// An inverse-gamma prior; `shape` and `scale` positive.
    ///
    /// ```
    /// use jaxpurify_runtime::{priors::InverseGamma, Tensor};
    /// // shape 1: cdf exp(-b/x), median b / ln 2
    /// let prior = InverseGamma::new(1.0, 3.0)?;
    /// assert!((prior.forward(&Tensor::scalar(0.0)).item() - 3.0 / 2f64.ln()).abs() < 1e-14);
    /// assert!(InverseGamma::new(-1.0, 3.0).is_err());
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn new(shape: impl Into<Tensor>, scale: impl Into<Tensor>) -> Result<InverseGamma> {
        const OP: &str = "priors::InverseGamma::new";
        let (shape, scale) = (shape.into(), scale.into());
        require_positive(OP, "shape", &shape)?;
        require_positive(OP, "scale", &scale)?;
        require_broadcast(OP, ("shape", &shape), ("scale", &scale))?;
        Ok(InverseGamma {
            shape: shape.detach(),
            scale,
        })
    }

    /// `b / y` with `P(a, y) = Phi(-xi)`.
    #[track_caller]
    pub fn forward(&self, xi: &Tensor) -> Tensor {
        &self.scale / normal_to_gamma(&-xi, &self.shape)
    }

    /// `xi = -Phi^{-1}(P(a, b / value))`.
    #[track_caller]
    pub fn inverse(&self, value: &Tensor) -> Tensor {
        -gamma_to_normal(&(&self.scale / value), &self.shape)
    }
}

/// Every prior serves the `*_variable!` markers through [`crate::Prior`].
macro_rules! impl_prior {
    ($($ty:ident),*) => {
        $(impl crate::model::Prior for $ty {
            fn forward(&self, xi: &Tensor) -> Tensor {
                $ty::forward(self, xi)
            }
        })*
    };
}

impl_prior!(
    Normal,
    LogNormal,
    Uniform,
    Laplace,
    InverseGamma,
    Cauchy,
    HalfCauchy,
    HalfNormal,
    HalfStudentT,
    Gamma,
    Beta
);

/// A closure from the whitened value to the physical one is a prior too,
/// so that `variable!(|xi: &Tensor| xi.exp() * 2.0)` is one line.
impl<F: Fn(&Tensor) -> Tensor> crate::model::Prior for F {
    fn forward(&self, xi: &Tensor) -> Tensor {
        self(xi)
    }
}

/// What the `variable!` marker accepts: a [`Prior`](crate::Prior), or the
/// `Result` of a prior's constructor (its error is the model's).
#[doc(hidden)]
pub trait IntoPrior {
    /// The prior.
    type Prior: crate::model::Prior;

    /// The prior, or the error its constructor returned.
    fn into_prior(self) -> Result<Self::Prior>;
}

impl<P: crate::model::Prior> IntoPrior for P {
    type Prior = P;

    fn into_prior(self) -> Result<P> {
        Ok(self)
    }
}

impl<P: crate::model::Prior> IntoPrior for Result<P> {
    type Prior = P;

    fn into_prior(self) -> Result<P> {
        self
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod quantile_tests;
