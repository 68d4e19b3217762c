//! Priors whose quantile needs Newton's method on a regularised incomplete
//! function: gamma (through `ops/incomplete_gamma.rs`) and beta (through
//! `ops/incomplete_beta.rs`). Their shape parameters are constants: no
//! gradient flows into them (the derivative of a quantile in its shape has
//! no closed form); a gamma's rate is differentiable.

use super::{require_broadcast, require_positive};
use crate::error::Result;
use crate::ops::incomplete_beta::{beta_to_normal, normal_to_beta};
use crate::ops::incomplete_gamma::{gamma_to_normal, normal_to_gamma};
use crate::tensor::Tensor;

/// Gamma prior with shape `a` and **rate** `b` (density proportional to
/// `x^(a-1) exp(-b x)`, mean `a / b`, as
/// [`log_density::gamma`](crate::log_density::gamma)): `value = y / b`
/// with `y ~ Gamma(a, 1)` at the cdf value `Phi(xi)`.
#[derive(Clone, Debug)]
pub struct Gamma {
    shape: Tensor,
    rate: Tensor,
}

impl Gamma {
    /// A gamma prior; `shape` and `rate` positive.
    ///
    /// ```
    /// use jaxpurify_runtime::{priors::Gamma, Tensor};
    /// // shape 1 is the exponential distribution: median ln 2 / rate.
    /// let median = Gamma::new(1.0, 2.0)?.forward(&Tensor::scalar(0.0)).item();
    /// assert!((median - 2f64.ln() / 2.0).abs() < 1e-15);
    /// assert!(Gamma::new(0.0, 1.0).is_err());
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn new(shape: impl Into<Tensor>, rate: impl Into<Tensor>) -> Result<Gamma> {
        const OP: &str = "priors::Gamma::new";
        let (shape, rate) = (shape.into(), rate.into());
        require_positive(OP, "shape", &shape)?;
        require_positive(OP, "rate", &rate)?;
        require_broadcast(OP, ("shape", &shape), ("rate", &rate))?;
        Ok(Gamma {
            shape: shape.detach(),
            rate,
        })
    }

    /// `y / rate` with `P(a, y) = Phi(xi)`.
    #[track_caller]
    pub fn forward(&self, xi: &Tensor) -> Tensor {
        normal_to_gamma(xi, &self.shape) / &self.rate
    }

    /// `Phi^{-1}(P(a, rate value))`.
    #[track_caller]
    pub fn inverse(&self, value: &Tensor) -> Tensor {
        gamma_to_normal(&(value * &self.rate), &self.shape)
    }
}

/// Beta prior on `(0, 1)` with shapes `alpha` and `beta` (density
/// proportional to `x^(alpha-1) (1-x)^(beta-1)`): the `x` with
/// `I_x(alpha, beta) = Phi(xi)`, accurate near both ends.
#[derive(Clone, Debug)]
pub struct Beta {
    alpha: Tensor,
    beta: Tensor,
}

impl Beta {
    /// A beta prior; `alpha` and `beta` positive.
    ///
    /// ```
    /// use jaxpurify_runtime::{priors::Beta, Tensor};
    /// // Symmetric shapes: the median is 1/2.
    /// let median = Beta::new(3.0, 3.0)?.forward(&Tensor::scalar(0.0)).item();
    /// assert!((median - 0.5).abs() < 1e-15);
    /// assert!(Beta::new(1.0, f64::NAN).is_err());
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn new(alpha: impl Into<Tensor>, beta: impl Into<Tensor>) -> Result<Beta> {
        const OP: &str = "priors::Beta::new";
        let (alpha, beta) = (alpha.into(), beta.into());
        require_positive(OP, "alpha", &alpha)?;
        require_positive(OP, "beta", &beta)?;
        require_broadcast(OP, ("alpha", &alpha), ("beta", &beta))?;
        Ok(Beta {
            alpha: alpha.detach(),
            beta: beta.detach(),
        })
    }

    /// The `x` with `I_x(alpha, beta) = Phi(xi)`.
    #[track_caller]
    pub fn forward(&self, xi: &Tensor) -> Tensor {
        normal_to_beta(xi, &self.alpha, &self.beta)
    }

    /// `Phi^{-1}(I_value(alpha, beta))`.
    #[track_caller]
    pub fn inverse(&self, value: &Tensor) -> Tensor {
        beta_to_normal(value, &self.alpha, &self.beta)
    }
}
