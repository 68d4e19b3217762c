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
mod tests {
    use super::*;
    use crate::testing::{assert_compiles_exactly, check_grad};
    use crate::{grad, value_and_grad};

    type Map = Box<dyn Fn(&Tensor) -> Tensor>;

    /// A prior's two maps and the moments its values must have.
    struct Case {
        name: &'static str,
        forward: Map,
        inverse: Map,
        median: f64,
        mean: f64,
        variance: f64,
    }

    fn case<P: 'static>(
        name: &'static str,
        prior: P,
        forward: fn(&P, &Tensor) -> Tensor,
        inverse: fn(&P, &Tensor) -> Tensor,
        [median, mean, variance]: [f64; 3],
    ) -> Case {
        let prior = std::sync::Arc::new(prior);
        let other = prior.clone();
        Case {
            name,
            forward: Box::new(move |xi| forward(&prior, xi)),
            inverse: Box::new(move |v| inverse(&other, v)),
            median,
            mean,
            variance,
        }
    }

    fn cases() -> Vec<Case> {
        vec![
            case(
                "normal",
                Normal::new(1.5, 0.7).unwrap(),
                Normal::forward,
                Normal::inverse,
                [1.5, 1.5, 0.49],
            ),
            // median = mean / sqrt(1 + sigma^2 / mean^2)
            case(
                "log-normal",
                LogNormal::new(2.0, 0.8).unwrap(),
                LogNormal::forward,
                LogNormal::inverse,
                [2.0 / 1.16f64.sqrt(), 2.0, 0.64],
            ),
            // variance (high - low)^2 / 12
            case(
                "uniform",
                Uniform::new(-1.0, 3.0).unwrap(),
                Uniform::forward,
                Uniform::inverse,
                [1.0, 1.0, 16.0 / 12.0],
            ),
            // variance 2 scale^2
            case(
                "laplace",
                Laplace::new(0.5, 1.3).unwrap(),
                Laplace::forward,
                Laplace::inverse,
                [0.5, 0.5, 3.38],
            ),
            // mean b / (a - 1), variance b^2 / ((a - 1)^2 (a - 2)); median from mpmath
            case(
                "inverse-gamma",
                InverseGamma::new(6.0, 3.0).unwrap(),
                InverseGamma::forward,
                InverseGamma::inverse,
                [0.529_085_488_076_120_3, 0.6, 0.09],
            ),
        ]
    }

    #[test]
    fn inverse_undoes_forward_and_zero_maps_to_the_median() {
        let xi = Tensor::linspace(-5.0, 5.0, 41);
        for c in cases() {
            let back = (c.inverse)(&(c.forward)(&xi));
            for (b, x) in back.as_slice().iter().zip(xi.as_slice()) {
                assert!((b - x).abs() < 1e-9, "{}: {b} vs {x}", c.name);
            }
            let median = (c.forward)(&Tensor::scalar(0.0)).item();
            assert!(
                (median - c.median).abs() < 1e-14 * c.median.abs().max(1.0),
                "{}: median {median}",
                c.name
            );
        }
    }

    #[test]
    fn values_of_standard_normal_draws_have_the_stated_moments() {
        // Deterministic draws: the normal quantiles of the midpoints of n equal cells.
        let n = 200_000;
        let xi = Tensor::linspace(0.5 / n as f64, 1.0 - 0.5 / n as f64, n).ndtri();
        for c in cases() {
            let values = (c.forward)(&xi);
            let mean = values.mean().item();
            let centred = values - mean;
            let variance = (&centred * &centred).mean().item();
            assert!(
                (mean - c.mean).abs() < 1e-3 * c.mean.abs().max(1.0),
                "{}: mean {mean}",
                c.name
            );
            assert!(
                (variance / c.variance - 1.0).abs() < 2e-3,
                "{}: variance {variance}",
                c.name
            );
        }
    }

    #[test]
    fn constant_log_normal_parameters_give_the_bits_of_tracked_ones() {
        let (mean, sigma) = (Tensor::from([0.5, 3.0, 10.0]), Tensor::scalar(0.7));
        let xi = Tensor::from([-1.2, 0.0, 2.1]);
        let constant = LogNormal::new(&mean, &sigma).unwrap().forward(&xi);
        let mut tracked = None;
        grad(
            |m: &Tensor| {
                let y = LogNormal::new(m, &sigma).unwrap().forward(&xi);
                tracked = Some(y.detach());
                y.sum()
            },
            &mean,
        );
        let bits = |t: &Tensor| t.as_slice().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&constant), bits(&tracked.unwrap()));
    }

    #[test]
    fn forward_gradients_in_xi_and_parameters() {
        let xi = Tensor::from([-1.7, -0.2, 0.0, 0.6, 2.3]);
        let s = Tensor::scalar;
        check_grad(
            |v| Normal::new(&v[1], &v[2]).unwrap().forward(&v[0]),
            &[xi.clone(), s(0.3), s(1.4)],
        )
        .assert_ok_for("Normal");
        check_grad(
            |v| LogNormal::new(&v[1], &v[2]).unwrap().forward(&v[0]),
            &[xi.clone(), s(2.0), s(0.8)],
        )
        .assert_ok_for("LogNormal");
        check_grad(
            |v| Uniform::new(&v[1], &v[2]).unwrap().forward(&v[0]),
            &[xi.clone(), s(-1.0), s(3.0)],
        )
        .assert_ok_for("Uniform");
        check_grad(
            |v| Laplace::new(&v[1], &v[2]).unwrap().forward(&v[0]),
            &[xi.clone(), s(0.5), s(1.3)],
        )
        .assert_ok_for("Laplace");
        check_grad(
            |v| InverseGamma::new(6.0, &v[1]).unwrap().forward(&v[0]),
            &[xi, s(3.0)],
        )
        .assert_ok_for("InverseGamma");
    }

    #[test]
    fn laplace_is_smooth_at_its_median() {
        // Both sides give d value / d xi = scale phi(0) / (1/2) = scale sqrt(2/pi) at 0.
        let prior = Laplace::new(0.0, 2.0).unwrap();
        let slope = crate::grad(|x: &Tensor| prior.forward(x).sum(), &Tensor::scalar(0.0)).item();
        assert!((slope - 2.0 * (2.0 / std::f64::consts::PI).sqrt()).abs() < 1e-15);
    }

    #[test]
    fn maps_compile_with_their_gradients_on_both_sides_of_the_median() {
        // Traced at negative draws only; the points cross zero, where the
        // side of the Laplace quantile flips.
        let w = Tensor::from([1.0, -0.5, 2.0, 0.3]);
        for c in cases() {
            let f = |xi: &Tensor| {
                let (value, gradient) = value_and_grad(|xi: &Tensor| ((c.forward)(xi) * &w).sum(), xi);
                (value, gradient, (c.inverse)(&(c.forward)(xi)))
            };
            let points = [
                Tensor::from([0.7, -0.3, 0.0, 2.2]),
                Tensor::from([-0.0, 1.9, -2.5, 0.05]),
            ];
            assert_compiles_exactly(f, &Tensor::from([-1.5, -0.2, -0.9, -3.0]), &points);
        }
    }

    #[test]
    fn priors_with_traced_parameters_compile_and_repeat_their_checks() {
        // Each prior's two parameters traced, with its forward map and
        // gradient; the failing points break one requirement each.
        let xi = Tensor::from([-0.4, 1.3]);
        let through = |prior: Result<Tensor>| -> Result<(Tensor, Tensor)> {
            let value = prior?;
            Ok((value.clone(), value.sum()))
        };
        type Build = fn(&Tensor, &Tensor, &Tensor) -> Result<Tensor>;
        let builds: [(Build, [f64; 2], [[f64; 2]; 3]); 11] = [
            (
                |a, b, x| Ok(Normal::new(a, b)?.forward(x)),
                [0.5, 2.0],
                [[1.0, 0.5], [0.0, -1.0], [f64::NAN, 1.0]],
            ),
            (
                |a, b, x| Ok(LogNormal::new(a, b)?.forward(x)),
                [1.5, 0.5],
                [[2.0, 1.0], [-1.0, 1.0], [1.0, 0.0]],
            ),
            (
                |a, b, x| Ok(Uniform::new(a, b)?.forward(x)),
                [-1.0, 2.0],
                [[0.0, 5.0], [2.0, 1.0], [0.0, f64::INFINITY]],
            ),
            (
                |a, b, x| Ok(Laplace::new(a, b)?.forward(x)),
                [0.0, 1.5],
                [[1.0, 0.2], [0.0, 0.0], [f64::NAN, 1.0]],
            ),
            (
                |a, b, x| Ok(InverseGamma::new(a, b)?.forward(x)),
                [3.0, 2.0],
                [[4.0, 1.0], [-3.0, 1.0], [3.0, -2.0]],
            ),
            (
                |a, b, x| Ok(Cauchy::new(a, b)?.forward(x)),
                [0.5, 2.0],
                [[1.0, 0.5], [0.0, -1.0], [f64::INFINITY, 1.0]],
            ),
            (
                |_, b, x| Ok(HalfCauchy::new(b)?.forward(x)),
                [0.0, 5.0],
                [[0.0, 2.0], [0.0, -5.0], [0.0, 0.0]],
            ),
            (
                |_, b, x| Ok(HalfNormal::new(b)?.forward(x)),
                [0.0, 1.5],
                [[0.0, 0.2], [0.0, -1.0], [0.0, f64::NAN]],
            ),
            (
                |a, b, x| Ok(HalfStudentT::new(a, b)?.forward(x)),
                [3.0, 2.0],
                [[5.0, 1.0], [-3.0, 1.0], [3.0, 0.0]],
            ),
            (
                |a, b, x| Ok(Gamma::new(a, b)?.forward(x)),
                [2.0, 3.0],
                [[4.0, 0.5], [0.0, 1.0], [2.0, -1.0]],
            ),
            (
                |a, b, x| Ok(Beta::new(a, b)?.forward(x)),
                [2.0, 3.0],
                [[0.5, 4.0], [-2.0, 1.0], [2.0, f64::INFINITY]],
            ),
        ];
        for (build, at, points) in builds {
            let f = |p: &(Tensor, Tensor)| through(build(&p.0, &p.1, &xi));
            let pair = |[a, b]: [f64; 2]| (Tensor::scalar(a), Tensor::scalar(b));
            let points: Vec<_> = points.into_iter().map(pair).collect();
            crate::testing::assert_compiles_with_errors(f, &pair(at), &points);
        }
    }

    fn message(result: Result<impl std::fmt::Debug>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn invalid_arguments_are_named_with_their_values() {
        assert_eq!(
            message(LogNormal::new(-1.0, 1.0)),
            "priors::LogNormal::new: `mean` must be positive and finite, got -1"
        );
        assert_eq!(
            message(Normal::new(0.0, Tensor::from([1.0, f64::NAN]))),
            "priors::Normal::new: `sigma` must be positive and finite, got NaN at element 1"
        );
        assert_eq!(
            message(Uniform::new(Tensor::from([0.0, 2.0]), 1.0)),
            "priors::Uniform::new: `low` must be below `high`, got low = 2 and high = 1"
        );
        assert_eq!(
            message(Uniform::new(f64::INFINITY, 1.0)),
            "priors::Uniform::new: `low` must be finite, got inf"
        );
        assert_eq!(
            message(Laplace::new(Tensor::zeros([2]), Tensor::ones([3]))),
            "priors::Laplace::new: `loc` of shape [2] and `scale` of shape [3] do not broadcast"
        );
        assert_eq!(
            message(InverseGamma::new(2.0, 0.0)),
            "priors::InverseGamma::new: `scale` must be positive and finite, got 0"
        );
    }
}

#[cfg(test)]
mod quantile_tests;
