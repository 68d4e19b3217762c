//! The regularised incomplete gamma functions `P(a, y)` and `Q(a, y) = 1 - P`
//! and their inverse in `y`, and the two maps they give between a standard
//! normal and a `Gamma(a, 1)` variable with the same cdf value: the building
//! blocks of gamma-family whitened priors.
//!
//! Both maps are differentiable in the variable, to any order; the shape `a`
//! is a constant (the derivative in `a` has no closed form).
//!
//! Accuracy: `ln P` and `ln Q` are within about `1e-14` absolute for shapes up
//! to about 100 (the log prefactor `a ln y - y - lgamma(a)` cancels, so larger
//! shapes lose about `a` ulp). Each map uses whichever of `P` and `Q` is the
//! smaller, so both tails keep relative accuracy.

use crate::ops::arith::{Zip, record_zip};
use crate::ops::special::LN_SQRT_2PI;
use crate::ops::special_scalar::{ndtr, ndtri};
use crate::tensor::Tensor;
use smallvec::smallvec;

const MAX_ITERATIONS: usize = 100_000;
const TINY: f64 = 1e-300;

/// `(ln P(a, y), ln Q(a, y))` at `y = e^t`, given `t` so that the prefactor
/// `a ln y` stays exact when `y` under- or overflows.
///
/// Below `y = a + 1` the power series of `P` converges fast, above it
/// Lentz's continued fraction for `Q` (Numerical Recipes, 6.2); the other
/// one follows as `ln(1 - e^l)` through `ln_1p`.
pub(crate) fn log_gamma_cdfs(a: f64, t: f64) -> (f64, f64) {
    let y = t.exp();
    if y == 0.0 {
        // P ~ y^a / Gamma(a + 1)
        return (a * t - libm::lgamma(a + 1.0), 0.0);
    }
    if y == f64::INFINITY {
        return (0.0, f64::NEG_INFINITY);
    }
    let log_prefactor = a * t - y - libm::lgamma(a);
    if y < a + 1.0 {
        let (mut term, mut sum, mut denominator) = (1.0, 1.0, a);
        for _ in 0..MAX_ITERATIONS {
            denominator += 1.0;
            term *= y / denominator;
            sum += term;
            if term < sum * f64::EPSILON {
                break;
            }
        }
        let ln_p = log_prefactor - a.ln() + sum.ln();
        return (ln_p, (-ln_p.exp()).ln_1p());
    }
    let mut b = y + 1.0 - a;
    let (mut c, mut d) = (1.0 / TINY, 1.0 / b);
    let mut fraction = d;
    for i in 1..MAX_ITERATIONS {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        d = if d.abs() < TINY { TINY } else { d };
        c = b + an / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let change = d * c;
        fraction *= change;
        if (change - 1.0).abs() < f64::EPSILON {
            break;
        }
    }
    let ln_q = log_prefactor + fraction.ln();
    ((-ln_q.exp()).ln_1p(), ln_q)
}

/// `y` with `P(a, y) = p` where `q = 1 - p`; both are passed so that the
/// smaller one, accurate in relative terms, sets the target.
///
/// Newton's method in `t = ln y` on `ln P` (or `ln Q` in the upper tail):
/// both are concave in `t` (the log-gamma density `e^(a t - e^t)` is
/// log-concave), so from a start below the root Newton climbs monotonically
/// and from above it lands below in one step. The start `t0` solves the
/// small-`y` bound `P <= y^a / Gamma(a + 1)`, below the root; in the upper
/// tail it starts from the Wilson-Hilferty approximation, safeguarded by a
/// bisection bracket. Converges to a few ulp of `t`.
pub(crate) fn gamma_quantile(a: f64, p: f64, q: f64) -> f64 {
    if p.is_nan() || q.is_nan() || a.is_nan() || a <= 0.0 {
        return f64::NAN;
    }
    if p <= 0.0 {
        return 0.0;
    }
    if q <= 0.0 {
        return f64::INFINITY;
    }
    let lower_tail = p <= q;
    let target = if lower_tail { p.ln() } else { q.ln() };
    // f(t) increasing in t, and its slope
    let residual = |t: f64| {
        let (ln_p, ln_q) = log_gamma_cdfs(a, t);
        let log_y_density = a * t - t.exp() - libm::lgamma(a);
        if lower_tail {
            (ln_p - target, (log_y_density - ln_p).exp())
        } else {
            (target - ln_q, (log_y_density - ln_q).exp())
        }
    };
    let start = if lower_tail {
        (target + libm::lgamma(a + 1.0)) / a
    } else {
        wilson_hilferty_log(a, -ndtri(q))
    };
    let (mut low, mut high) = (f64::NEG_INFINITY, f64::INFINITY);
    let mut t = start;
    for _ in 0..200 {
        let (f, slope) = residual(t);
        if f == 0.0 {
            break;
        }
        if f < 0.0 {
            low = t
        } else {
            high = t
        }
        let mut next = t - f / slope;
        if !(next > low && next < high) {
            next = match (low.is_finite(), high.is_finite()) {
                (true, true) => 0.5 * (low + high),
                (true, false) => t + 1.0,
                _ => t - 1.0,
            };
        }
        let converged = (next - t).abs() <= 2.0 * f64::EPSILON * t.abs().max(1.0);
        t = next;
        if converged {
            break;
        }
    }
    t.exp()
}

/// `ln y` of the Wilson-Hilferty approximation
/// `y = a (1 - 1/(9a) + z / (3 sqrt a))^3` of the Gamma(a) quantile at the
/// normal quantile `z`, clamped to stay a positive number.
fn wilson_hilferty_log(a: f64, z: f64) -> f64 {
    let w = 1.0 - 1.0 / (9.0 * a) + z / (3.0 * a.sqrt());
    a.ln() + 3.0 * w.max(1e-3).ln()
}

/// The `Gamma(a, 1)` value `y` with `P(a, y) = Phi(xi)`, elementwise over the
/// broadcast of `xi` and the constant shape `a`.
pub(crate) fn normal_to_gamma(xi: &Tensor, a: &Tensor) -> Tensor {
    let a = a.detach();
    let kernel = Zip::new("normal_to_gamma", xi, &a, |x, a| {
        gamma_quantile(a, ndtr(x), ndtr(-x))
    });
    // dy/dxi = phi(xi) / gamma_density(y)
    //        = exp(-xi^2/2 - ln sqrt(2 pi) + lgamma(a) + y - (a - 1) ln y)
    record_zip(
        kernel,
        xi,
        &a,
        |c| {
            let (xi, a, y) = (&c.inputs[0], &c.inputs[1], c.output);
            let log_ratio = -(xi * xi) * 0.5 - LN_SQRT_2PI + a.lgamma() + y - (a - 1.0) * y.ln();
            smallvec![Some((c.grad * log_ratio.exp()).sum_to(xi.shape().clone())), None]
        },
        None,
    )
}

/// The standard normal `xi` with `Phi(xi) = P(a, y)`, the inverse of
/// [`normal_to_gamma`].
pub(crate) fn gamma_to_normal(y: &Tensor, a: &Tensor) -> Tensor {
    let a = a.detach();
    let kernel = Zip::new("gamma_to_normal", y, &a, |y, a| {
        let (ln_p, ln_q) = log_gamma_cdfs(a, y.ln());
        if ln_p <= ln_q {
            ndtri(ln_p.exp())
        } else {
            -ndtri(ln_q.exp())
        }
    });
    // dxi/dy = gamma_density(y) / phi(xi)
    record_zip(
        kernel,
        y,
        &a,
        |c| {
            let (y, a, xi) = (&c.inputs[0], &c.inputs[1], c.output);
            let log_ratio = xi * xi * 0.5 + LN_SQRT_2PI - a.lgamma() - y + (a - 1.0) * y.ln();
            smallvec![Some((c.grad * log_ratio.exp()).sum_to(y.shape().clone())), None]
        },
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_compiles_exactly, check_grad};
    use crate::{grad, value_and_grad};

    #[test]
    fn cdfs_match_closed_forms() {
        // a = 1: P = 1 - e^-y.  a = 2: Q = (1 + y) e^-y.
        for y in [1e-8, 0.3, 1.0, 2.5, 40.0, 700.0] {
            let (ln_p, ln_q) = log_gamma_cdfs(1.0, f64::ln(y));
            assert!(
                (ln_p - (-(-y).exp_m1()).ln()).abs() < 1e-14 * ln_p.abs().max(1.0),
                "P(1, {y})"
            );
            assert!((ln_q + y).abs() < 1e-14 * y.max(1.0), "Q(1, {y})");
            let (_, ln_q) = log_gamma_cdfs(2.0, f64::ln(y));
            assert!((ln_q - (y.ln_1p() - y)).abs() < 1e-14 * y.max(1.0), "Q(2, {y})");
        }
        // mpmath: gammainc(3.5, 0, 2, regularized=True)
        let (ln_p, _) = log_gamma_cdfs(3.5, 2f64.ln());
        assert!((ln_p.exp() - 0.220_222_591_524_284_08).abs() < 1e-15);
    }

    #[test]
    fn quantile_inverts_the_cdf_in_both_tails() {
        for a in [0.05, 0.5, 1.0, 3.7, 40.0] {
            for log10_p in [-300.0, -30.0, -3.0, -0.5, -0.301] {
                let p = 10f64.powf(log10_p);
                for (p, q) in [(p, 1.0 - p), (1.0 - p, p)] {
                    let y = gamma_quantile(a, p, q);
                    if y == 0.0 || y.is_infinite() {
                        continue; // beyond the range of f64
                    }
                    let (ln_p, ln_q) = log_gamma_cdfs(a, y.ln());
                    let (got, want) = if p <= q { (ln_p, p.ln()) } else { (ln_q, q.ln()) };
                    assert!(
                        (got - want).abs() < 1e-12 * want.abs().max(1.0),
                        "a = {a}, p = {p}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn maps_invert_each_other_and_differentiate() {
        let xi = Tensor::from([-6.0, -1.2, 0.0, 0.7, 4.0]);
        for a in [0.4, 2.5, 30.0] {
            let shape = Tensor::scalar(a);
            let back = gamma_to_normal(&normal_to_gamma(&xi, &shape), &shape);
            for (b, x) in back.as_slice().iter().zip(xi.as_slice()) {
                assert!((b - x).abs() < 1e-12, "a = {a}: {b} vs {x}");
            }
            check_grad(|v| normal_to_gamma(&v[0], &shape), std::slice::from_ref(&xi))
                .assert_ok_for("normal_to_gamma");
            // Away from y ~ 0, where central differences would step below zero.
            let y = normal_to_gamma(&Tensor::from([-1.2, 0.0, 0.7, 4.0]), &shape);
            check_grad(|v| gamma_to_normal(&v[0], &shape), &[y]).assert_ok_for("gamma_to_normal");
        }
        // Exponential (a = 1): y = -ln(1 - Phi(xi)) = -ln Phi(-xi), so
        // dy/dxi = phi(xi) / Phi(-xi) = 2 phi(0) = sqrt(2/pi) at xi = 0.
        let g = grad(
            |x: &Tensor| normal_to_gamma(x, &Tensor::scalar(1.0)).sum(),
            &Tensor::scalar(0.0),
        );
        assert!((g.item() - (2.0 / std::f64::consts::PI).sqrt()).abs() < 1e-14);
        let second = |v: &[Tensor]| grad(|x: &Tensor| normal_to_gamma(x, &Tensor::scalar(2.5)).sum(), &v[0]);
        check_grad(second, &[Tensor::from([-0.8, 0.3, 1.9])]).assert_ok_for("normal_to_gamma'");
    }

    #[test]
    fn both_maps_compile_with_their_gradients() {
        // The shape is traced too (a constant under differentiation); the
        // points move both maps from one tail (P or Q the smaller) to the
        // other and change which of series and continued fraction computes
        // the cdfs.
        let w = Tensor::from([1.0, -0.5, 2.0]);
        let f = |p: &(Tensor, Tensor)| {
            let a = &p.1;
            let (value, d_xi) = value_and_grad(|xi: &Tensor| (normal_to_gamma(xi, a) * &w).sum(), &p.0);
            let y = normal_to_gamma(&p.0, a).detach();
            let (back, d_y) = value_and_grad(|y: &Tensor| (gamma_to_normal(y, a) * &w).sum(), &y);
            (value, d_xi, back, d_y)
        };
        let at = (Tensor::from([-1.2, 0.3, 1.9]), Tensor::scalar(2.5));
        let points = [
            (Tensor::from([1.5, -0.4, -2.2]), Tensor::scalar(2.5)),
            (Tensor::from([0.1, 3.0, -5.0]), Tensor::scalar(0.4)),
        ];
        assert_compiles_exactly(f, &at, &points);
    }
}
