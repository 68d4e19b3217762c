//! Location and scale priors: Cauchy, and the half-Cauchy, half-normal and
//! half-Student-t priors on scales (`tau ~ HalfCauchy(5)` in eight
//! schools).
//!
//! Each standard quantile is one op whose derivative follows from
//! `F(z) = Phi(xi)`: `dz/dxi = phi(xi) / f(z)`, written with tensor ops so
//! that it differentiates again. Each picks the smaller tail probability
//! (`Phi(-|xi|)`, computed through `erfc`) or, near the centre, the
//! distance from it (`erf`), so that values keep their relative accuracy
//! in both tails and at 0.

use super::{require_broadcast, require_finite, require_positive};
use crate::autodiff::graph::apply_op;
use crate::compile::kernel::Map;
use crate::error::Result;
use crate::ops::incomplete_beta::{half_t_to_normal, normal_to_half_t};
use crate::ops::special::LN_SQRT_2PI;
use crate::ops::special_scalar::{ndtr, ndtri};
use crate::tensor::Tensor;
use smallvec::smallvec;
use std::f64::consts::{FRAC_1_SQRT_2, PI, SQRT_2};

/// `f` elementwise, recorded with `dy/dx = slope(x, y)`.
fn elementwise(
    x: &Tensor,
    name: &'static str,
    f: fn(f64) -> f64,
    slope: fn(&Tensor, &Tensor) -> Tensor,
) -> Tensor {
    apply_op(&Map { name, f }, &[x], x.shape().clone(), move |c| {
        smallvec![Some(c.grad * slope(&c.inputs[0], c.output))]
    })
}

/// `phi(xi)`, as tensor ops.
fn normal_density(xi: &Tensor) -> Tensor {
    (-(xi * xi) * 0.5 - LN_SQRT_2PI).exp()
}

/// The standard Cauchy quantile of `Phi(xi)`: `tan(pi (Phi(xi) - 1/2))`,
/// as `cot(pi q)` with `q = Phi(-|xi|)` in the tails and `tan(pi d)` with
/// `d = erf(|xi| / sqrt 2) / 2` near the centre.
fn standard_cauchy(xi: f64) -> f64 {
    let q = ndtr(-xi.abs());
    let magnitude = match q < 0.25 {
        true => (PI * q).cos() / (PI * q).sin(),
        false => (PI * 0.5 * libm::erf(xi.abs() * FRAC_1_SQRT_2)).tan(),
    };
    magnitude.copysign(xi)
}

/// The `xi` of a standard Cauchy `z`: the tail probability
/// `atan(1 / |z|) / pi` beyond `|z| = 1`, `erfinv` of the central
/// probability `2 atan(|z|) / pi` within.
fn cauchy_to_normal(z: f64) -> f64 {
    let magnitude = match z.abs() > 1.0 {
        true => -ndtri((1.0 / z.abs()).atan() / PI),
        false => SQRT_2 * special::Error::inv_error(2.0 * z.abs().atan() / PI),
    };
    magnitude.copysign(z)
}

/// The standard half-Cauchy quantile `tan(pi Phi(xi) / 2)`, as
/// `cot(pi Phi(-xi) / 2)` above the median.
fn standard_half_cauchy(xi: f64) -> f64 {
    match xi > 0.0 {
        true => {
            let half_angle = 0.5 * PI * ndtr(-xi);
            half_angle.cos() / half_angle.sin()
        }
        false => (0.5 * PI * ndtr(xi)).tan(),
    }
}

/// The `xi` of a standard half-Cauchy `z >= 0`, from `P(Z <= z) = 2 atan(z) / pi`
/// below the median and `P(Z > z) = 2 atan(1 / z) / pi` above.
fn half_cauchy_to_normal(z: f64) -> f64 {
    match z > 1.0 {
        true => -ndtri(2.0 * (1.0 / z).atan() / PI),
        false => ndtri(2.0 * z.atan() / PI),
    }
}

/// The standard half-normal quantile `Phi^{-1}((1 + Phi(xi)) / 2)`: as
/// `sqrt 2 erfinv(Phi(xi))` below the median (accurate for tiny values)
/// and `-Phi^{-1}(Phi(-xi) / 2)` above.
fn standard_half_normal(xi: f64) -> f64 {
    match xi > 0.0 {
        true => -ndtri(0.5 * ndtr(-xi)),
        false => SQRT_2 * special::Error::inv_error(ndtr(xi)),
    }
}

/// The `xi` of a standard half-normal `z >= 0`, from `P(Z <= z) =
/// erf(z / sqrt 2)` below 1 and `P(Z > z) = erfc(z / sqrt 2)` above.
fn half_normal_to_normal(z: f64) -> f64 {
    match z > 1.0 {
        true => -ndtri(libm::erfc(z * FRAC_1_SQRT_2)),
        false => ndtri(libm::erf(z * FRAC_1_SQRT_2)),
    }
}

/// Cauchy prior with location and scale: `loc + scale tan(pi (Phi(xi) - 1/2))`.
#[derive(Clone, Debug)]
pub struct Cauchy {
    loc: Tensor,
    scale: Tensor,
}

impl Cauchy {
    /// A Cauchy prior; `loc` finite, `scale` positive.
    ///
    /// ```
    /// use jaxpurify_runtime::{priors::Cauchy, Tensor};
    /// let prior = Cauchy::new(1.0, 2.0)?;
    /// assert_eq!(prior.forward(&Tensor::scalar(0.0)).item(), 1.0);
    /// assert!(Cauchy::new(0.0, -1.0).is_err());
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn new(loc: impl Into<Tensor>, scale: impl Into<Tensor>) -> Result<Cauchy> {
        const OP: &str = "priors::Cauchy::new";
        let (loc, scale) = (loc.into(), scale.into());
        require_finite(OP, "loc", &loc)?;
        require_positive(OP, "scale", &scale)?;
        require_broadcast(OP, ("loc", &loc), ("scale", &scale))?;
        Ok(Cauchy { loc, scale })
    }

    /// `loc + scale tan(pi (Phi(xi) - 1/2))`.
    #[track_caller]
    pub fn forward(&self, xi: &Tensor) -> Tensor {
        // dz/dxi = phi(xi) / f(z) = phi(xi) pi (1 + z^2)
        let z = elementwise(xi, "standard_cauchy", standard_cauchy, |xi, z| {
            normal_density(xi) * (z * z + 1.0) * PI
        });
        &self.loc + &self.scale * z
    }

    /// `Phi^{-1}(1/2 + atan((value - loc) / scale) / pi)`.
    #[track_caller]
    pub fn inverse(&self, value: &Tensor) -> Tensor {
        let z = (value - &self.loc) / &self.scale;
        // dxi/dz = f(z) / phi(xi) = 1 / (pi (1 + z^2) phi(xi))
        elementwise(&z, "cauchy_to_normal", cauchy_to_normal, |z, xi| {
            ((z * z + 1.0) * normal_density(xi) * PI).recip()
        })
    }
}

/// Half-Cauchy prior on a scale: `scale tan(pi Phi(xi) / 2)`, the
/// Cauchy(0, scale) folded onto the positive half-line.
#[derive(Clone, Debug)]
pub struct HalfCauchy {
    scale: Tensor,
}

impl HalfCauchy {
    /// A half-Cauchy prior; `scale` positive (and the median).
    ///
    /// ```
    /// use jaxpurify_runtime::{priors::HalfCauchy, Tensor};
    /// let prior = HalfCauchy::new(5.0)?;
    /// assert!((prior.forward(&Tensor::scalar(0.0)).item() - 5.0).abs() < 1e-14);
    /// assert!(HalfCauchy::new(0.0).is_err());
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn new(scale: impl Into<Tensor>) -> Result<HalfCauchy> {
        let scale = scale.into();
        require_positive("priors::HalfCauchy::new", "scale", &scale)?;
        Ok(HalfCauchy { scale })
    }

    /// `scale tan(pi Phi(xi) / 2)`.
    #[track_caller]
    pub fn forward(&self, xi: &Tensor) -> Tensor {
        // dz/dxi = phi(xi) / f(z), f(z) = 2 / (pi (1 + z^2))
        let z = elementwise(xi, "standard_half_cauchy", standard_half_cauchy, |xi, z| {
            normal_density(xi) * (z * z + 1.0) * (PI / 2.0)
        });
        &self.scale * z
    }

    /// `Phi^{-1}(2 atan(value / scale) / pi)`.
    #[track_caller]
    pub fn inverse(&self, value: &Tensor) -> Tensor {
        // dxi/dz = f(z) / phi(xi) = 2 / (pi (1 + z^2) phi(xi))
        elementwise(
            &(value / &self.scale),
            "half_cauchy_to_normal",
            half_cauchy_to_normal,
            |z, xi| ((z * z + 1.0) * normal_density(xi) * (PI / 2.0)).recip(),
        )
    }
}

/// Half-normal prior on a scale: `|N(0, scale^2)|`, the value
/// `scale Phi^{-1}((1 + Phi(xi)) / 2)`.
#[derive(Clone, Debug)]
pub struct HalfNormal {
    scale: Tensor,
}

impl HalfNormal {
    /// A half-normal prior; `scale` positive.
    ///
    /// ```
    /// use jaxpurify_runtime::{priors::HalfNormal, Tensor};
    /// // The median of |N(0, 1)| is Phi^{-1}(3/4).
    /// let median = HalfNormal::new(1.0)?.forward(&Tensor::scalar(0.0)).item();
    /// assert!((median - 0.674_489_750_196_081_7).abs() < 1e-15);
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn new(scale: impl Into<Tensor>) -> Result<HalfNormal> {
        let scale = scale.into();
        require_positive("priors::HalfNormal::new", "scale", &scale)?;
        Ok(HalfNormal { scale })
    }

    /// `scale Phi^{-1}((1 + Phi(xi)) / 2)`.
    #[track_caller]
    pub fn forward(&self, xi: &Tensor) -> Tensor {
        // dz/dxi = phi(xi) / (2 phi(z)) = exp((z^2 - xi^2) / 2) / 2
        let z = elementwise(xi, "standard_half_normal", standard_half_normal, |xi, z| {
            ((z * z - xi * xi) * 0.5).exp() * 0.5
        });
        &self.scale * z
    }

    /// `Phi^{-1}(erf(value / (scale sqrt 2)))`.
    #[track_caller]
    pub fn inverse(&self, value: &Tensor) -> Tensor {
        // dxi/dz = 2 phi(z) / phi(xi) = 2 exp((xi^2 - z^2) / 2)
        elementwise(
            &(value / &self.scale),
            "half_normal_to_normal",
            half_normal_to_normal,
            |z, xi| ((xi * xi - z * z) * 0.5).exp() * 2.0,
        )
    }
}

/// Half-Student-t prior on a scale: `|t_dof(0, scale)|`, through the
/// inverse of the regularised incomplete beta function (see
/// `ops/incomplete_beta.rs`). `dof = 1` is the half-Cauchy. The degrees of
/// freedom are a constant: no gradient flows into them.
#[derive(Clone, Debug)]
pub struct HalfStudentT {
    dof: Tensor,
    scale: Tensor,
}

impl HalfStudentT {
    /// A half-Student-t prior; `dof` and `scale` positive.
    ///
    /// ```
    /// use jaxpurify_runtime::{priors::{HalfCauchy, HalfStudentT}, Tensor};
    /// let xi = Tensor::from([-1.0, 0.5]);
    /// let t = HalfStudentT::new(1.0, 2.0)?.forward(&xi);
    /// let c = HalfCauchy::new(2.0)?.forward(&xi);
    /// assert!((t - c).abs().max().item() < 1e-13);
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn new(dof: impl Into<Tensor>, scale: impl Into<Tensor>) -> Result<HalfStudentT> {
        const OP: &str = "priors::HalfStudentT::new";
        let (dof, scale) = (dof.into(), scale.into());
        require_positive(OP, "dof", &dof)?;
        require_positive(OP, "scale", &scale)?;
        require_broadcast(OP, ("dof", &dof), ("scale", &scale))?;
        Ok(HalfStudentT {
            dof: dof.detach(),
            scale,
        })
    }

    /// `scale z` with `P(|T| <= z) = Phi(xi)`.
    #[track_caller]
    pub fn forward(&self, xi: &Tensor) -> Tensor {
        &self.scale * normal_to_half_t(xi, &self.dof)
    }

    /// `Phi^{-1}(P(|T| <= value / scale))`.
    #[track_caller]
    pub fn inverse(&self, value: &Tensor) -> Tensor {
        half_t_to_normal(&(value / &self.scale), &self.dof)
    }
}
