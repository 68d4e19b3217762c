//! Log densities of common distributions, elementwise.
//!
//! Every function takes the point `x` and the parameters as anything that
//! converts into a [`Tensor`] (`f64`, `&Tensor`, `Tensor`), broadcasts them
//! against each other by NumPy's rule and returns the log density of each
//! element; sum the result for a joint log density of independent values.
//! All are differentiable in every argument, to any order.
//!
//! Outside a distribution's support the log density is `-inf` and the
//! gradient there is 0: the formula is evaluated at a point inside the support
//! instead, so that no NaN from it leaks into the gradients of the
//! parameters. Parameters are not checked (this is model code): a
//! non-positive scale gives NaN. NaN in `x` gives NaN.
//!
//! ```
//! use jaxpurify_runtime::{log_density, Tensor};
//! let x = Tensor::from([0.5, -1.0, 2.0]);
//! let total = log_density::normal(&x, 0.0, 1.5).sum();
//! assert!(total.item() < 0.0);
//! ```

use crate::autodiff::graph::apply_constant;
use crate::compile::kernel::Map;
use crate::ops::arith::{Zip, record_zip};
use crate::ops::special::LN_SQRT_2PI;
use crate::shape::{Shape, broadcast_shapes};
use crate::tensor::Tensor;
use smallvec::smallvec;

pub use crate::ops::mvn::multivariate_normal_chol;

/// `ln(pi)`, for the Student-t normaliser.
const LN_PI: f64 = 1.144_729_885_849_400_2;

/// 1 where `x` lies in the support and 0 where `outside(x)`, or `None` for
/// a constant `x` entirely inside. (Where `x` depends on a traced
/// function's inputs it could lie outside at other points, so the mask is
/// always kept.)
fn support(x: &Tensor, outside: fn(f64) -> bool) -> Option<Tensor> {
    let kernel = Map {
        name: "support",
        f: move |v| if outside(v) { 0.0 } else { 1.0 },
    };
    let inside = apply_constant(&kernel, &[x], x.shape().clone());
    (inside.is_tracked() || inside.as_slice().contains(&0.0)).then_some(inside)
}

/// `t` where `inside` is 1 and `fill` where it is 0, with the gradient
/// flowing only through the kept elements (`inside` is a constant mask).
fn keep_inside(t: &Tensor, inside: &Tensor, fill: f64) -> Tensor {
    let kernel = Zip::new(
        "keep_inside",
        t,
        inside,
        move |v, m| if m == 1.0 { v } else { fill },
    );
    // d/dt = inside (0 or 1)
    record_zip(
        kernel,
        t,
        inside,
        |c| {
            let (t, inside) = (&c.inputs[0], &c.inputs[1]);
            smallvec![Some((c.grad * inside).sum_to(t.shape())), None]
        },
        None,
    )
}

/// Panics, naming `op` and the caller's line, when the shapes of a
/// density's arguments do not broadcast together. Densities with a support
/// compute in a closure, which would not pass on the caller's location to
/// the arithmetic's own check.
#[track_caller]
fn check_broadcast(op: &str, args: &[&Tensor]) {
    let mut shape = Shape::scalar();
    for arg in args {
        let Some(joint) = broadcast_shapes(&shape, arg.shape()) else {
            let shapes: Vec<String> = args.iter().map(|t| t.shape().to_string()).collect();
            panic!("{op}: shapes {} do not broadcast", shapes.join(", "));
        };
        shape = joint;
    }
}

/// Evaluates `log_density` at `x` moved to `safe` where `outside(x)`, and
/// gives `-inf` there.
fn with_support(
    x: Tensor,
    outside: fn(f64) -> bool,
    safe: f64,
    log_density: impl FnOnce(&Tensor) -> Tensor,
) -> Tensor {
    match support(&x, outside) {
        None => log_density(&x),
        Some(inside) => {
            let logp = log_density(&keep_inside(&x, &inside, safe));
            keep_inside(&logp, &inside, f64::NEG_INFINITY)
        }
    }
}

/// Normal log density
/// `-((x - mean)/sigma)^2 / 2 - ln(sigma) - ln(sqrt(2 pi))`.
///
/// ```
/// use jaxpurify_runtime::log_density;
/// let lp = log_density::normal(1.0, 1.0, 1.0).item();
/// assert!((lp + 0.5 * (2.0 * std::f64::consts::PI).ln()).abs() < 1e-15);
/// ```
#[track_caller]
pub fn normal(x: impl Into<Tensor>, mean: impl Into<Tensor>, sigma: impl Into<Tensor>) -> Tensor {
    let sigma = sigma.into();
    let z = (x.into() - mean.into()) / &sigma;
    -(&z * &z) * 0.5 - sigma.ln() - LN_SQRT_2PI
}

/// Log-normal log density: `ln x ~ Normal(loc, scale)`, so
/// `normal(ln x; loc, scale) - ln x` for `x > 0` and `-inf` for `x <= 0`.
/// (`loc` and `scale` are those of `ln x`; the whitened prior
/// [`priors::LogNormal`](crate::priors::LogNormal) takes the mean and standard
/// deviation of `x` itself.)
///
/// ```
/// use jaxpurify_runtime::log_density;
/// // At x = 1 with loc 0 the log-normal and normal densities agree.
/// assert_eq!(log_density::log_normal(1.0, 0.0, 2.0).item(), log_density::normal(0.0, 0.0, 2.0).item());
/// ```
#[track_caller]
pub fn log_normal(x: impl Into<Tensor>, loc: impl Into<Tensor>, scale: impl Into<Tensor>) -> Tensor {
    let (x, loc, scale) = (x.into(), loc.into(), scale.into());
    check_broadcast("log_normal", &[&x, &loc, &scale]);
    with_support(
        x,
        |v| v <= 0.0,
        1.0,
        |x| {
            let ln_x = x.ln();
            normal(&ln_x, loc, scale) - ln_x
        },
    )
}

/// Student-t log density with `nu` degrees of freedom, location and scale:
/// `lgamma((nu+1)/2) - lgamma(nu/2) - ln(nu pi)/2 - ln(scale)
///  - (nu+1)/2 ln(1 + z^2/nu)`, `z = (x - loc)/scale`.
///
/// ```
/// use jaxpurify_runtime::log_density;
/// // nu = 1 is the Cauchy distribution: density 1/pi at the centre.
/// let lp = log_density::student_t(0.0, 1.0, 0.0, 1.0).item();
/// assert!((lp + std::f64::consts::PI.ln()).abs() < 1e-15);
/// ```
#[track_caller]
pub fn student_t(
    x: impl Into<Tensor>,
    nu: impl Into<Tensor>,
    loc: impl Into<Tensor>,
    scale: impl Into<Tensor>,
) -> Tensor {
    let (nu, scale) = (nu.into(), scale.into());
    let z = (x.into() - loc.into()) / &scale;
    let half_nu_plus_1 = (&nu + 1.0) * 0.5;
    let normaliser = half_nu_plus_1.lgamma() - (&nu * 0.5).lgamma() - (nu.ln() + LN_PI) * 0.5 - scale.ln();
    normaliser - half_nu_plus_1 * (&z * &z / &nu).ln_1p()
}

/// Gamma log density with shape `a` and rate `b`:
/// `a ln b + (a - 1) ln x - b x - lgamma(a)` for `x > 0`, `-inf` for
/// `x <= 0` (the boundary `x = 0`, of probability zero, counts as outside).
///
/// ```
/// use jaxpurify_runtime::log_density;
/// // shape 1 is the exponential distribution.
/// assert!((log_density::gamma(0.7, 1.0, 2.0).item() - log_density::exponential(0.7, 2.0).item()).abs() < 1e-15);
/// ```
#[track_caller]
pub fn gamma(x: impl Into<Tensor>, shape: impl Into<Tensor>, rate: impl Into<Tensor>) -> Tensor {
    let (x, shape, rate) = (x.into(), shape.into(), rate.into());
    check_broadcast("gamma", &[&x, &shape, &rate]);
    with_support(
        x,
        |v| v <= 0.0,
        1.0,
        |x| &shape * rate.ln() + (&shape - 1.0) * x.ln() - &rate * x - shape.lgamma(),
    )
}

/// Exponential log density `ln(rate) - rate x` for `x >= 0`, `-inf` for
/// `x < 0`.
///
/// ```
/// use jaxpurify_runtime::log_density;
/// assert_eq!(log_density::exponential(0.0, 1.0).item(), 0.0);
/// assert_eq!(log_density::exponential(-1.0, 1.0).item(), f64::NEG_INFINITY);
/// ```
#[track_caller]
pub fn exponential(x: impl Into<Tensor>, rate: impl Into<Tensor>) -> Tensor {
    let (x, rate) = (x.into(), rate.into());
    check_broadcast("exponential", &[&x, &rate]);
    with_support(x, |v| v < 0.0, 0.0, |x| rate.ln() - &rate * x)
}

/// Poisson log probability of the counts `k` (non-negative integers held as
/// f64): `k ln(rate) - rate - lgamma(k + 1)`; `-inf` for negative or
/// fractional `k`. Meant to be differentiated in `rate` (> 0); the gradient in
/// `k` is that of the formula's continuous extension.
///
/// ```
/// use jaxpurify_runtime::log_density;
/// // P(k = 0) = exp(-rate)
/// assert_eq!(log_density::poisson(0.0, 2.5).item(), -2.5);
/// ```
#[track_caller]
pub fn poisson(k: impl Into<Tensor>, rate: impl Into<Tensor>) -> Tensor {
    let (k, rate) = (k.into(), rate.into());
    check_broadcast("poisson", &[&k, &rate]);
    let not_a_count = |v: f64| v < 0.0 || (v.is_finite() && v.fract() != 0.0) || v.is_infinite();
    with_support(k, not_a_count, 0.0, |k| {
        k * rate.ln() - &rate - (k + 1.0).lgamma()
    })
}

/// `ln 2`, the normaliser of a density folded onto `x >= 0`.
const LN_2: f64 = std::f64::consts::LN_2;

/// Poisson log probability of the counts `k` given the log-rate `eta`:
/// `k eta - exp(eta) - lgamma(k + 1)`, `-inf` for negative or fractional
/// `k`. The same distribution as [`poisson`] with `rate = exp(eta)`,
/// written without `ln(exp(eta))` so that it stays finite wherever
/// `exp(eta)` does.
///
/// ```
/// use jaxpurify_runtime::log_density;
/// assert!((log_density::poisson_log_rate(3.0, 2f64.ln()).item() - log_density::poisson(3.0, 2.0).item()).abs() < 1e-15);
/// ```
#[track_caller]
pub fn poisson_log_rate(k: impl Into<Tensor>, log_rate: impl Into<Tensor>) -> Tensor {
    let log_rate = log_rate.into();
    let not_a_count = |v: f64| v < 0.0 || (v.is_finite() && v.fract() != 0.0) || v.is_infinite();
    with_support(k.into(), not_a_count, 0.0, |k| {
        k * &log_rate - log_rate.exp() - (k + 1.0).lgamma()
    })
}

/// Bernoulli log probability of the outcomes `y` (0 or 1) given logits
/// `eta` (`P(y = 1) = sigmoid(eta)`): `y eta - softplus(eta)`, exact in
/// both tails (`softplus(eta) = max(eta, 0) + ln(1 + exp(-|eta|))`);
/// `-inf` for `y` other than 0 and 1.
///
/// ```
/// use jaxpurify_runtime::log_density;
/// // P(y = 1 | eta = 0) = 1/2; far logits give the log of a tiny probability.
/// assert_eq!(log_density::bernoulli_logit(1.0, 0.0).item(), -(2f64.ln()));
/// assert_eq!(log_density::bernoulli_logit(0.0, 800.0).item(), -800.0);
/// ```
#[track_caller]
pub fn bernoulli_logit(y: impl Into<Tensor>, logits: impl Into<Tensor>) -> Tensor {
    let logits = logits.into();
    with_support(
        y.into(),
        |v| v != 0.0 && v != 1.0 && !v.is_nan(),
        0.0,
        |y| y * &logits - logits.softplus(),
    )
}

/// Cauchy log density `-ln(pi scale) - ln(1 + z^2)`, `z = (x - loc)/scale`.
///
/// ```
/// use jaxpurify_runtime::log_density;
/// // Density 1/(2 pi) at one scale from the centre.
/// let lp = log_density::cauchy(3.0, 1.0, 2.0).item();
/// assert!((lp + (4.0 * std::f64::consts::PI).ln()).abs() < 1e-15);
/// ```
#[track_caller]
pub fn cauchy(x: impl Into<Tensor>, loc: impl Into<Tensor>, scale: impl Into<Tensor>) -> Tensor {
    let scale = scale.into();
    let z = (x.into() - loc.into()) / &scale;
    -(&z * &z).ln_1p() - scale.ln() - LN_PI
}

/// Half-Cauchy log density `ln 2 - ln(pi scale) - ln(1 + (x/scale)^2)` for
/// `x >= 0`, `-inf` below.
///
/// ```
/// use jaxpurify_runtime::log_density;
/// assert_eq!(log_density::half_cauchy(-1.0, 5.0).item(), f64::NEG_INFINITY);
/// ```
#[track_caller]
pub fn half_cauchy(x: impl Into<Tensor>, scale: impl Into<Tensor>) -> Tensor {
    let scale = scale.into();
    with_support(x.into(), |v| v < 0.0, 0.0, |x| cauchy(x, 0.0, scale) + LN_2)
}

/// Half-normal log density `ln 2 + normal(x; 0, scale)` for `x >= 0`,
/// `-inf` below.
///
/// ```
/// use jaxpurify_runtime::log_density;
/// // 2 phi(0) = sqrt(2 / pi) at 0 for scale 1.
/// let lp = log_density::half_normal(0.0, 1.0).item();
/// assert!((lp - (2.0 / std::f64::consts::PI).sqrt().ln()).abs() < 1e-15);
/// ```
#[track_caller]
pub fn half_normal(x: impl Into<Tensor>, scale: impl Into<Tensor>) -> Tensor {
    let scale = scale.into();
    with_support(x.into(), |v| v < 0.0, 0.0, |x| normal(x, 0.0, scale) + LN_2)
}

/// Half-Student-t log density `ln 2 + student_t(x; nu, 0, scale)` for
/// `x >= 0`, `-inf` below.
///
/// ```
/// use jaxpurify_runtime::log_density;
/// // nu = 1 is the half-Cauchy distribution.
/// let (t, c) = (log_density::half_student_t(0.7, 1.0, 2.0), log_density::half_cauchy(0.7, 2.0));
/// assert!((t.item() - c.item()).abs() < 1e-15);
/// ```
#[track_caller]
pub fn half_student_t(x: impl Into<Tensor>, nu: impl Into<Tensor>, scale: impl Into<Tensor>) -> Tensor {
    let (nu, scale) = (nu.into(), scale.into());
    with_support(
        x.into(),
        |v| v < 0.0,
        0.0,
        |x| student_t(x, nu, 0.0, scale) + LN_2,
    )
}

/// Beta log density `(a - 1) ln x + (b - 1) ln(1 - x) - ln B(a, b)` for
/// `0 < x < 1`, `-inf` elsewhere (the end points, of probability zero,
/// count as outside).
///
/// ```
/// use jaxpurify_runtime::log_density;
/// // Beta(1, 1) is uniform on (0, 1).
/// assert_eq!(log_density::beta(0.3, 1.0, 1.0).item(), 0.0);
/// assert_eq!(log_density::beta(1.0, 2.0, 2.0).item(), f64::NEG_INFINITY);
/// ```
#[track_caller]
pub fn beta(x: impl Into<Tensor>, a: impl Into<Tensor>, b: impl Into<Tensor>) -> Tensor {
    let (a, b) = (a.into(), b.into());
    with_support(
        x.into(),
        |v| v <= 0.0 || v >= 1.0,
        0.5,
        |x| {
            let log_beta = a.lgamma() + b.lgamma() - (&a + &b).lgamma();
            (&a - 1.0) * x.ln() + (&b - 1.0) * (-x).ln_1p() - log_beta
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_compiles_exactly, check_grad};
    use crate::{grad, value_and_grad};
    use std::f64::consts::PI;

    fn assert_close(actual: f64, expected: f64, tolerance: f64, what: &str) {
        assert!(
            (actual - expected).abs() <= tolerance * expected.abs().max(1.0),
            "{what}: {actual} vs {expected}"
        );
    }

    /// Trapezoid rule for `int exp(log_density(x(u))) x'(u) du` over a
    /// uniform grid in `u` on `[a, b]`, with `x(u)` and `x'(u)` given as
    /// tensors of the grid.
    fn integral(
        u: (f64, f64),
        n: usize,
        to_x: impl Fn(&Tensor) -> (Tensor, Tensor),
        logp: impl Fn(&Tensor) -> Tensor,
    ) -> f64 {
        let grid = Tensor::linspace(u.0, u.1, n);
        let (x, dx_du) = to_x(&grid);
        let f = (logp(&x).exp() * dx_du).to_vec();
        let h = (u.1 - u.0) / (n - 1) as f64;
        h * (f.iter().sum::<f64>() - 0.5 * (f[0] + f[n - 1]))
    }

    fn identity(u: &Tensor) -> (Tensor, Tensor) {
        (u.clone(), u.ones_like())
    }

    /// `x = e^u`: covers `(0, inf)` with resolution at every scale.
    fn exp_map(u: &Tensor) -> (Tensor, Tensor) {
        let x = u.exp();
        (x.clone(), x)
    }

    #[test]
    fn densities_integrate_to_one() {
        let normal_mass = integral((-12.0, 14.0), 20_001, identity, |x| normal(x, 1.0, 1.1));
        assert_close(normal_mass, 1.0, 1e-10, "normal");
        let log_normal_mass = integral((-15.0, 15.0), 20_001, exp_map, |x| log_normal(x, 0.3, 1.4));
        assert_close(log_normal_mass, 1.0, 1e-10, "log-normal");
        // x = tan(u) maps (-pi/2, pi/2) onto the line; the heavy tails of nu = 2.5
        // leave the integrand finite at the ends.
        let tan_map = |u: &Tensor| {
            let x = u.sin() / u.cos();
            (x.clone(), &x * &x + 1.0)
        };
        let edge = PI / 2.0 - 1e-9;
        let t_mass = integral((-edge, edge), 200_001, tan_map, |x| student_t(x, 2.5, -0.5, 0.8));
        assert_close(t_mass, 1.0, 1e-6, "student-t");
        let gamma_mass = integral((-40.0, 6.0), 40_001, exp_map, |x| gamma(x, 2.7, 1.9));
        assert_close(gamma_mass, 1.0, 1e-10, "gamma");
        let exponential_mass = integral((0.0, 30.0), 30_001, identity, |x| exponential(x, 1.7));
        assert_close(exponential_mass, 1.0, 1e-6, "exponential");
        let counts = Tensor::arange(0.0, 200.0, 1.0);
        let poisson_mass = poisson(&counts, 7.3).exp().sum().item();
        assert_close(poisson_mass, 1.0, 1e-14, "poisson");
    }

    #[test]
    fn values_match_closed_forms() {
        // normal(2; 1, 2) = -(1/2)^2/2 - ln 2 - ln sqrt(2 pi)
        let expected = -0.125 - 2f64.ln() - 0.5 * (2.0 * PI).ln();
        assert_close(normal(2.0, 1.0, 2.0).item(), expected, 1e-15, "normal");
        // log_normal(e; 0, 1) = normal(1; 0, 1) - 1
        assert_close(
            log_normal(1f64.exp(), 0.0, 1.0).item(),
            -0.5 - 0.5 * (2.0 * PI).ln() - 1.0,
            1e-15,
            "log-normal",
        );
        // student_t(1; nu = 3, 0, 1): Gamma(2) / (Gamma(3/2) sqrt(3 pi)) (4/3)^-2,
        // Gamma(3/2) = sqrt(pi)/2
        let expected = (2.0 / (PI.sqrt() * (3.0 * PI).sqrt()) * (9.0 / 16.0)).ln();
        assert_close(student_t(1.0, 3.0, 0.0, 1.0).item(), expected, 1e-15, "student-t");
        // gamma(2; shape 3, rate 0.5) = 0.5^3 2^2 e^-1 / 2! = e^-1 / 4
        assert_close(gamma(2.0, 3.0, 0.5).item(), -1.0 - 4f64.ln(), 1e-15, "gamma");
        // exponential(3; 2) = ln 2 - 6
        assert_close(
            exponential(3.0, 2.0).item(),
            2f64.ln() - 6.0,
            1e-15,
            "exponential",
        );
        // poisson(3; 2) = ln(2^3 e^-2 / 3!)
        assert_close(
            poisson(3.0, 2.0).item(),
            (8.0 / 6.0f64).ln() - 2.0,
            1e-15,
            "poisson",
        );
    }

    #[test]
    fn outside_the_support_is_minus_infinity_with_finite_gradients() {
        assert_eq!(
            log_normal(Tensor::from([-1.0, 0.0]), 0.0, 1.0).to_vec(),
            vec![f64::NEG_INFINITY; 2]
        );
        assert_eq!(gamma(-2.0, 2.0, 1.0).item(), f64::NEG_INFINITY);
        assert_eq!(
            poisson(Tensor::from([-1.0, 2.5]), 1.0).to_vec(),
            vec![f64::NEG_INFINITY; 2]
        );
        assert!(normal(f64::NAN, 0.0, 1.0).item().is_nan() && gamma(f64::NAN, 2.0, 1.0).item().is_nan());
        // Only the element inside the support contributes: d/da [(a-1) ln 2 - lgamma(a)]
        // at a = 2 is ln 2 - psi(2) = ln 2 - (1 - euler_gamma).
        let x = Tensor::from([-1.0, 2.0]);
        let g = grad(
            |a: &Tensor| (gamma(&x, a, 1.0) * Tensor::from([0.0, 1.0])).sum(),
            &Tensor::scalar(2.0),
        );
        assert_close(
            g.item(),
            2f64.ln() - (1.0 - 0.577_215_664_901_532_9),
            1e-15,
            "masked gradient",
        );
    }

    #[test]
    fn hand_derived_gradient_with_broadcast_parameters() {
        // L = sum(w * normal(x; mean, sigma)) with a scalar mean and sigma:
        // dL/dmean = sum(w (x - mean)) / sigma^2; x = [0, 2], w = [1, 3], mean 1, sigma 2
        // gives (1 (-1) + 3 (1)) / 4 = 0.5.
        let x = Tensor::from([0.0, 2.0]);
        let w = Tensor::from([1.0, 3.0]);
        let g = grad(|m: &Tensor| (normal(&x, m, 2.0) * &w).sum(), &Tensor::scalar(1.0));
        assert_close(g.item(), 0.5, 1e-15, "d/dmean");
    }

    #[test]
    fn gradients_match_central_differences_in_every_argument() {
        let x = Tensor::from([0.4, 1.3, 2.2]);
        let counts = Tensor::from([0.0, 2.0, 5.0]);
        let check = |name: &str, f: &dyn Fn(&[Tensor]) -> Tensor, inputs: &[Tensor]| {
            check_grad(f, inputs).assert_ok_for(name);
        };
        let s = |v: f64| Tensor::scalar(v);
        check(
            "normal",
            &|v| normal(&v[0], &v[1], &v[2]),
            &[x.clone(), s(0.7), Tensor::from([0.5, 1.0, 2.0])],
        );
        check(
            "log_normal",
            &|v| log_normal(&v[0], &v[1], &v[2]),
            &[x.clone(), s(-0.2), s(0.9)],
        );
        check(
            "student_t",
            &|v| student_t(&v[0], &v[1], &v[2], &v[3]),
            &[x.clone(), s(3.5), s(1.0), s(0.6)],
        );
        check(
            "gamma",
            &|v| gamma(&v[0], &v[1], &v[2]),
            &[x.clone(), Tensor::from([0.8, 2.0, 3.5]), s(1.4)],
        );
        check(
            "exponential",
            &|v| exponential(&v[0], &v[1]),
            &[x.clone(), s(0.9)],
        );
        check(
            "poisson",
            &|v| poisson(&counts, &v[0]),
            &[Tensor::from([0.5, 2.0, 4.5])],
        );
    }

    #[test]
    fn second_derivatives_of_the_gamma_density_in_its_shape() {
        // d^2/da^2 gamma(x; a, b) = -psi_1(a)
        let d2 = grad(
            |a: &Tensor| grad(|a: &Tensor| gamma(1.5, a, 2.0).sum(), a).sum(),
            &Tensor::scalar(2.3),
        );
        assert_close(d2.item(), -Tensor::scalar(2.3).trigamma().item(), 1e-14, "d2/da2");
        check_grad(
            |v| grad(|t: &Tensor| student_t(0.7, t, 0.0, 1.0).sum(), &v[0]),
            &[Tensor::scalar(4.0)],
        )
        .assert_ok_for("d/dnu student_t");
    }

    #[test]
    fn densities_with_a_support_compile_with_their_gradients_outside_it() {
        // Traced with every point inside the supports; the points put some
        // outside (negative, zero, fractional counts), where the value is
        // -inf and the gradient 0.
        let w = Tensor::from([1.0, 2.0, -0.5]);
        let f = |p: &(Tensor, Tensor)| {
            let logp = |p: &(Tensor, Tensor)| {
                let (x, rate) = (&p.0, &p.1);
                gamma(x, 2.5, rate) + log_normal(x, 0.2, rate) + exponential(x, rate) + poisson(x, rate)
            };
            value_and_grad(|p: &(Tensor, Tensor)| (logp(p) * &w).sum(), p)
        };
        let at = (Tensor::from([1.0, 2.0, 4.0]), Tensor::scalar(1.3));
        let points = [
            (Tensor::from([-1.0, 0.0, 3.0]), Tensor::scalar(0.7)),
            (Tensor::from([2.5, 5.0, -0.25]), Tensor::scalar(2.0)),
        ];
        assert_compiles_exactly(f, &at, &points);
    }

    #[test]
    fn prior_and_likelihood_densities_match_scipy() {
        // scipy 1.17.1: stats.cauchy.logpdf(1.7, loc=-0.3, scale=1.5), halfcauchy.logpdf(2.2,
        // scale=5), halfnorm.logpdf(1.3, scale=0.8), log(2) + t.logpdf(1.1, df=3.5, scale=2),
        // beta.logpdf(0.3, 2.5, 1.5), poisson.logpmf(4, exp(1.2)),
        // bernoulli.logpmf(1, 1 / (1 + exp(-0.7))).
        let cases = [
            ("cauchy", cauchy(1.7, -0.3, 1.5), -2.571_846_241_489_545_5),
            ("half_cauchy", half_cauchy(2.2, 5.0), -2.237_994_568_190_914_4),
            ("half_normal", half_normal(1.3, 0.8), -1.322_960_301_330_517_8),
            (
                "half_student_t",
                half_student_t(1.1, 3.5, 2.0),
                -1.175_989_088_735_373_2,
            ),
            ("beta", beta(0.3, 2.5, 1.5), -0.356_437_842_067_889_3),
            (
                "poisson_log_rate",
                poisson_log_rate(4.0, 1.2),
                -1.698_170_753_084_493_2,
            ),
            (
                "bernoulli_logit",
                bernoulli_logit(1.0, 0.7),
                -0.403_186_048_885_457_84,
            ),
        ];
        for (name, lp, expected) in cases {
            assert_close(lp.item(), expected, 1e-14, name);
        }
        // Bernoulli by hand: P(y = 0 | eta) = 1 - sigmoid(eta) = sigmoid(-eta),
        // so ln P = -softplus(eta) = -ln(1 + e^eta); at eta = -30 that is -ln(1 + e^-30).
        assert_close(
            bernoulli_logit(0.0, -30.0).item(),
            -(-30f64).exp().ln_1p(),
            1e-15,
            "y = 0",
        );
        assert_eq!(
            bernoulli_logit(Tensor::from([0.5, 2.0]), 0.0).to_vec(),
            vec![f64::NEG_INFINITY; 2]
        );
        assert_eq!(poisson_log_rate(-1.0, 0.0).item(), f64::NEG_INFINITY);
        // A rate that overflows gives -inf rather than NaN; a vanishing one stays exact.
        assert_eq!(poisson_log_rate(0.0, 800.0).item(), f64::NEG_INFINITY);
        assert_eq!(poisson_log_rate(2.0, -800.0).item(), -1600.0 - 2f64.ln());
    }

    #[test]
    fn new_densities_integrate_to_one() {
        let edge = PI / 2.0 - 1e-9;
        let tan_map = |u: &Tensor| {
            let x = u.sin() / u.cos();
            (x.clone(), &x * &x + 1.0)
        };
        let cauchy_mass = integral((-edge, edge), 200_001, tan_map, |x| cauchy(x, 0.4, 1.7));
        assert_close(cauchy_mass, 1.0, 1e-8, "cauchy");
        let half = |u: &Tensor| {
            let (x, dx) = tan_map(u);
            (x * 3.0, dx * 3.0)
        };
        let half_t = integral((0.0, edge), 200_001, half, |x| half_student_t(x, 2.5, 0.8));
        assert_close(half_t, 1.0, 1e-6, "half_student_t");
        let half_c = integral((0.0, edge), 200_001, half, |x| half_cauchy(x, 2.0));
        assert_close(half_c, 1.0, 1e-6, "half_cauchy");
        let half_n = integral((0.0, 12.0), 20_001, identity, |x| half_normal(x, 1.3));
        assert_close(half_n, 1.0, 1e-8, "half_normal");
        // x = sigmoid(u) covers (0, 1), dx/du = x (1 - x).
        let logistic = |u: &Tensor| {
            let x = u.sigmoid();
            (x.clone(), &x * (-&x + 1.0))
        };
        let beta_mass = integral((-40.0, 40.0), 40_001, logistic, |x| beta(x, 0.7, 2.5));
        assert_close(beta_mass, 1.0, 1e-9, "beta");
    }

    /// A log density of its arguments, for a table of checks.
    type Density = dyn Fn(&[Tensor]) -> Tensor;

    #[test]
    fn new_densities_differentiate_in_every_argument() {
        let x = Tensor::from([0.2, 0.55, 0.9]);
        let s = Tensor::scalar;
        let cases: [(&str, &Density, Vec<Tensor>); 7] = [
            (
                "cauchy",
                &|v| cauchy(&v[0], &v[1], &v[2]),
                vec![x.clone(), s(0.3), s(1.2)],
            ),
            (
                "half_cauchy",
                &|v| half_cauchy(&v[0], &v[1]),
                vec![x.clone(), s(2.0)],
            ),
            (
                "half_normal",
                &|v| half_normal(&v[0], &v[1]),
                vec![x.clone(), s(0.7)],
            ),
            (
                "half_student_t",
                &|v| half_student_t(&v[0], &v[1], &v[2]),
                vec![x.clone(), s(3.0), s(1.5)],
            ),
            (
                "beta",
                &|v| beta(&v[0], &v[1], &v[2]),
                vec![x.clone(), s(2.5), s(0.8)],
            ),
            (
                "poisson_log_rate",
                &|v| poisson_log_rate(Tensor::from([0.0, 3.0, 7.0]), &v[0]),
                vec![x.clone()],
            ),
            (
                "bernoulli_logit",
                &|v| bernoulli_logit(Tensor::from([0.0, 1.0, 1.0]), &v[0]),
                vec![x * 4.0 - 2.0],
            ),
        ];
        for (name, f, inputs) in cases {
            check_grad(f, &inputs).assert_ok_for(name);
        }
        // d/dx half_normal(x; 0, s) = -x / s^2: -0.5 at x = 2, s = 2.
        let g = grad(|x: &Tensor| half_normal(x, 2.0).sum(), &Tensor::scalar(2.0));
        assert_close(g.item(), -0.5, 1e-15, "d/dx half_normal");
        // Outside the support the gradient is zero.
        let g = grad(|x: &Tensor| half_cauchy(x, 1.0).sum(), &Tensor::scalar(-1.0));
        assert_eq!(g.item(), 0.0);
    }
}
