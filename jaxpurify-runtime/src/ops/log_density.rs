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
    record_zip(kernel, t, inside, |c| {
        let (t, inside) = (&c.inputs[0], &c.inputs[1]);
        smallvec![Some((c.grad * inside).sum_to(t.shape())), None]
    })
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
}
