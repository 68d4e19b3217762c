//! Special functions: the error function family, the log-gamma family and
//! the standard normal cdf and quantile.
//!
//! Each derivative is again one of these functions (or `exp`), so every op
//! here can be differentiated any number of times: `lgamma -> digamma ->
//! trigamma -> polygamma(2) -> polygamma(3) -> ...`. Scalar kernels and their
//! accuracy are documented in `special_scalar.rs`.

use crate::autodiff::graph::apply_op;
use crate::compile::kernel::Map;
use crate::ops::special_scalar;
use crate::tensor::Tensor;
use smallvec::smallvec;

/// `2 / sqrt(pi)`, the derivative of erf at 0.
const TWO_OVER_SQRT_PI: f64 = std::f64::consts::FRAC_2_SQRT_PI;
/// `ln(sqrt(2 pi))`, the log normaliser of the standard normal density.
pub(crate) const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// Applies `f`, named `name`, to every element and records
/// `rule(x, y, g) -> dx` as the derivative (input, output, upstream
/// gradient).
fn elementwise(
    x: &Tensor,
    name: &'static str,
    f: impl Fn(f64) -> f64 + Clone + Send + Sync + 'static,
    rule: impl Fn(&Tensor, &Tensor, &Tensor) -> Tensor + Clone + Send + Sync + 'static,
) -> Tensor {
    apply_op(&Map { name, f }, &[x], x.shape().clone(), move |c| {
        smallvec![Some(rule(&c.inputs[0], c.output, c.grad))]
    })
}

/// The standard normal density `exp(-x^2/2) / sqrt(2 pi)`, as tensor ops.
fn normal_density(x: &Tensor) -> Tensor {
    (-(x * x) * 0.5 - LN_SQRT_2PI).exp()
}

impl Tensor {
    /// The error function `erf(x) = 2/sqrt(pi) int_0^x exp(-t^2) dt` (libm,
    /// within 2 ulp).
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// assert!((Tensor::scalar(0.5).erf().item() - 0.520_499_877_813_046_5).abs() < 1e-16);
    /// ```
    pub fn erf(&self) -> Tensor {
        // erf'(x) = 2/sqrt(pi) exp(-x^2)
        elementwise(self, "erf", libm::erf, |x, _, g| {
            g * (-(x * x)).exp() * TWO_OVER_SQRT_PI
        })
    }

    /// The complementary error function `1 - erf(x)`, accurate in relative
    /// terms where it is tiny (`erfc(10) ~ 2e-45`).
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// assert!(Tensor::scalar(10.0).erfc().item() > 0.0);
    /// ```
    pub fn erfc(&self) -> Tensor {
        // erfc'(x) = -2/sqrt(pi) exp(-x^2)
        elementwise(self, "erfc", libm::erfc, |x, _, g| {
            g * (-(x * x)).exp() * -TWO_OVER_SQRT_PI
        })
    }

    /// The inverse error function on `[-1, 1]` (`special`, refined by Halley
    /// steps near the ends): `±inf` at `±1`, NaN outside.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let y = Tensor::from([-0.9, 0.3]).erfinv();
    /// assert!((y.erf().to_vec()[1] - 0.3).abs() < 1e-15);
    /// ```
    pub fn erfinv(&self) -> Tensor {
        // erfinv'(x) = 1 / erf'(y) = sqrt(pi)/2 exp(y^2), y = erfinv(x)
        elementwise(self, "erfinv", special::Error::inv_error, |_, y, g| {
            g * (y * y).exp() / TWO_OVER_SQRT_PI
        })
    }

    /// `ln|Gamma(x)|` (libm, within 2 ulp); `+inf` at the poles
    /// `0, -1, -2, ...`.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// // Gamma(5) = 4! = 24
    /// assert!((Tensor::scalar(5.0).lgamma().item() - 24f64.ln()).abs() < 1e-15);
    /// ```
    pub fn lgamma(&self) -> Tensor {
        // d/dx ln|Gamma(x)| = psi(x), also for negative non-integer x.
        elementwise(self, "lgamma", libm::lgamma, |x, _, g| g * x.digamma())
    }

    /// The digamma function `psi(x) = d/dx ln|Gamma(x)|`: `special` for
    /// `x > 0`, the reflection formula `psi(x) = psi(1 - x) - pi cot(pi x)` for
    /// `x < 0`; NaN at the poles `0, -1, -2, ...` (the one-sided limits differ).
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let euler_gamma = 0.577_215_664_901_532_9;
    /// assert!((Tensor::scalar(1.0).digamma().item() + euler_gamma).abs() < 1e-15);
    /// ```
    pub fn digamma(&self) -> Tensor {
        // psi'(x) = psi_1(x)
        elementwise(self, "digamma", special_scalar::digamma, |x, _, g| {
            g * x.trigamma()
        })
    }

    /// The trigamma function `psi_1(x) = psi'(x)`, the same as
    /// [`polygamma(1)`](Tensor::polygamma).
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// // psi_1(1) = pi^2 / 6
    /// let pi = std::f64::consts::PI;
    /// assert!((Tensor::scalar(1.0).trigamma().item() - pi * pi / 6.0).abs() < 1e-15);
    /// ```
    pub fn trigamma(&self) -> Tensor {
        self.polygamma(1)
    }

    /// The polygamma function `psi_n(x)`, the `n`-th derivative of
    /// [`digamma`](Tensor::digamma) (`n = 0` is digamma itself). NaN at the
    /// poles `0, -1, -2, ...`.
    ///
    /// For `x > 0` and `n >= 2`: the recurrence up to `x >= 20 + 2n`, then
    /// ten terms of the asymptotic series, within `1e-14` relative; negative
    /// `x` by reflection. Orders above about 100 overflow.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// // psi_2(1) = -2 zeta(3)
    /// let zeta3 = 1.202_056_903_159_594_3;
    /// assert!((Tensor::scalar(1.0).polygamma(2).item() + 2.0 * zeta3).abs() < 1e-14);
    /// ```
    pub fn polygamma(&self, n: u32) -> Tensor {
        if n == 0 {
            return self.digamma();
        }
        // psi_n'(x) = psi_(n+1)(x)
        elementwise(
            self,
            "polygamma",
            move |x| special_scalar::polygamma(n, x),
            move |x, _, g| g * x.polygamma(n + 1),
        )
    }

    /// The standard normal cdf `Phi(x) = erfc(-x / sqrt 2) / 2`, accurate in
    /// relative terms in the lower tail (`Phi(-30) ~ 4.9e-198`, relative
    /// error about `x^2` ulp from rounding `x / sqrt 2`).
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// assert_eq!(Tensor::scalar(0.0).ndtr().item(), 0.5);
    /// ```
    pub fn ndtr(&self) -> Tensor {
        // Phi'(x) = exp(-x^2/2) / sqrt(2 pi)
        elementwise(self, "ndtr", special_scalar::ndtr, |x, _, g| {
            g * normal_density(x)
        })
    }

    /// The standard normal quantile `Phi^{-1}(p)` (Wichura's AS 241, about
    /// 1e-16 relative): `-inf` at 0, `inf` at 1, NaN outside `[0, 1]`, and
    /// finite for every positive double (`ndtri(1e-300) = -37.047...`).
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// assert!((Tensor::scalar(0.975).ndtri().item() - 1.959_963_984_540_054).abs() < 1e-15);
    /// ```
    pub fn ndtri(&self) -> Tensor {
        // (Phi^{-1})'(p) = 1 / Phi'(y) = sqrt(2 pi) exp(y^2/2), y = Phi^{-1}(p)
        elementwise(self, "ndtri", special_scalar::ndtri, |_, y, g| {
            g * (y * y * 0.5 + LN_SQRT_2PI).exp()
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::check_grad;
    use crate::{Tensor, grad};
    use proptest::prelude::*;
    use std::f64::consts::PI;

    const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

    fn assert_close(actual: f64, expected: f64, relative: f64, what: &str) {
        let error = (actual - expected).abs() / expected.abs().max(f64::MIN_POSITIVE);
        assert!(
            error <= relative,
            "{what}: {actual} vs {expected} (relative error {error:.2e})"
        );
    }

    type Op = fn(&Tensor) -> Tensor;

    fn at(f: impl Fn(&Tensor) -> Tensor, x: f64) -> f64 {
        f(&Tensor::scalar(x)).item()
    }

    #[test]
    fn values_match_tabulated_references() {
        // References computed with mpmath at 40 digits.
        let cases: [(&str, Op, f64, f64); 15] = [
            ("erf", Tensor::erf, 0.5, 0.520_499_877_813_046_5),
            ("erfc", Tensor::erfc, 3.0, 2.209_049_699_858_544e-5),
            ("erfinv", Tensor::erfinv, 0.3, 0.272_462_714_726_754_4),
            ("erfinv", Tensor::erfinv, 0.999, 2.326_753_765_513_524_7),
            ("lgamma", Tensor::lgamma, 0.1, 2.252_712_651_734_206),
            ("lgamma", Tensor::lgamma, -0.5, 1.265_512_123_484_645_4),
            ("digamma", Tensor::digamma, 1.0, -EULER_GAMMA),
            ("digamma", Tensor::digamma, 0.3, -3.502_524_222_200_133),
            ("digamma", Tensor::digamma, 10.0, 2.251_752_589_066_721),
            ("digamma", Tensor::digamma, -0.3, 2.113_309_779_635_398_7),
            ("trigamma", Tensor::trigamma, 0.3, 12.245_364_546_107_73),
            ("polygamma(2)", |x| x.polygamma(2), 2.7, -0.197_005_835_579_135_76),
            ("polygamma(3)", |x| x.polygamma(3), -1.3, 768.720_657_199_043_1),
            ("ndtr", Tensor::ndtr, 1.3, 0.903_199_515_414_389_7),
            ("ndtri", Tensor::ndtri, 1e-300, -37.047_096_299_361_2),
        ];
        for (name, f, x, expected) in cases {
            assert_close(at(f, x), expected, 1e-14, &format!("{name}({x})"));
        }
        // Rounding -x/sqrt(2) moves erfc's exp(-z^2) by about 2 z^2 ulp (1e-13 at z = 21).
        assert_close(
            at(Tensor::ndtr, -30.0),
            4.906_713_927_148_187e-198,
            1e-13,
            "ndtr(-30)",
        );
    }

    #[test]
    fn lgamma_at_half_integers_matches_the_closed_form() {
        // Gamma(n + 1/2) = sqrt(pi) (2n)! / (4^n n!)
        let factorial = |k: u32| (1..=k).map(f64::from).product::<f64>();
        for n in 0..15u32 {
            let expected = (PI.sqrt() * factorial(2 * n) / (4f64.powi(n as i32) * factorial(n))).ln();
            let actual = at(Tensor::lgamma, f64::from(n) + 0.5);
            assert!(
                (actual - expected).abs() <= 4e-15 * expected.abs().max(1.0),
                "n = {n}"
            );
        }
    }

    #[test]
    fn hand_derived_gradients() {
        // L = sum(w * erf(x)), x = [0, 1], w = [1, 2]: dL/dx = w 2/sqrt(pi) exp(-x^2)
        let w = Tensor::from([1.0, 2.0]);
        let g = grad(|x: &Tensor| (x.erf() * &w).sum(), &Tensor::from([0.0, 1.0]));
        let two_over_sqrt_pi = 2.0 / PI.sqrt();
        assert_close(g.to_vec()[0], two_over_sqrt_pi, 1e-15, "erf'(0)");
        assert_close(
            g.to_vec()[1],
            2.0 * two_over_sqrt_pi / 1f64.exp(),
            1e-15,
            "2 erf'(1)",
        );
        // L = sum(w * lgamma(x)), x = [1, 2], w = [1, 3]: dL/dx = w psi(x) and
        // psi(1) = -gamma, psi(2) = psi(1) + 1 = 1 - gamma.
        let w = Tensor::from([1.0, 3.0]);
        let g = grad(|x: &Tensor| (x.lgamma() * &w).sum(), &Tensor::from([1.0, 2.0]));
        assert_close(g.to_vec()[0], -EULER_GAMMA, 1e-15, "psi(1)");
        assert_close(g.to_vec()[1], 3.0 * (1.0 - EULER_GAMMA), 1e-15, "3 psi(2)");
        // d/dp Phi^{-1}(p) at p = 1/2 is sqrt(2 pi).
        let g = grad(|p: &Tensor| p.ndtri().sum(), &Tensor::scalar(0.5));
        assert_close(g.item(), (2.0 * PI).sqrt(), 1e-15, "ndtri'(1/2)");
    }

    #[test]
    fn gradients_match_central_differences() {
        let reals = Tensor::from([-1.7, -0.4, 0.3, 1.1, 2.5]);
        let positive = Tensor::from([0.2, 0.9, 1.5, 3.7, 12.0]);
        let mixed = Tensor::from([-2.5, -0.6, 0.4, 2.2, 9.0]);
        let unit = Tensor::from([-0.95, -0.3, 0.1, 0.6, 0.99]);
        let probability = Tensor::from([0.02, 0.1, 0.4, 0.8, 0.97]);
        let cases: [(&str, Op, &Tensor); 10] = [
            ("erf", Tensor::erf, &reals),
            ("erfc", Tensor::erfc, &reals),
            ("erfinv", Tensor::erfinv, &unit),
            ("lgamma", Tensor::lgamma, &mixed),
            ("digamma", Tensor::digamma, &mixed),
            ("trigamma", Tensor::trigamma, &positive),
            ("polygamma(2)", |x| x.polygamma(2), &mixed),
            ("polygamma(3)", |x| x.polygamma(3), &positive),
            ("ndtr", Tensor::ndtr, &reals),
            ("ndtri", Tensor::ndtri, &probability),
        ];
        for (name, f, x) in cases {
            check_grad(|v| f(&v[0]), std::slice::from_ref(x)).assert_ok_for(name);
        }
    }

    /// The elementwise derivative of `f` at `x`, itself differentiable.
    fn derivative(f: impl Fn(&Tensor) -> Tensor, x: &Tensor) -> Tensor {
        grad(|x: &Tensor| f(x).sum(), x)
    }

    #[test]
    fn erf_second_derivative() {
        // erf''(x) = -2x erf'(x) = -4x/sqrt(pi) exp(-x^2)
        let x = Tensor::from([-1.3, 0.2, 0.8, 2.1]);
        let erf2 = derivative(|x| derivative(Tensor::erf, x), &x);
        for (&v, &d2) in x.as_slice().iter().zip(erf2.as_slice()) {
            assert_close(d2, -4.0 * v / PI.sqrt() * (-v * v).exp(), 1e-14, "erf''");
        }
        check_grad(|v| derivative(Tensor::erf, &v[0]), &[x]).assert_ok_for("erf'");
    }

    #[test]
    fn lgamma_second_and_third_derivatives_are_polygammas() {
        let x = Tensor::from([-1.6, -0.3, 0.4, 1.0, 4.5]);
        let lgamma2 = derivative(|x| derivative(Tensor::lgamma, x), &x);
        let lgamma3 = derivative(|x| derivative(|x| derivative(Tensor::lgamma, x), x), &x);
        for (i, &v) in x.as_slice().iter().enumerate() {
            assert_close(lgamma2.as_slice()[i], at(Tensor::trigamma, v), 1e-15, "lgamma''");
            assert_close(
                lgamma3.as_slice()[i],
                at(|x| x.polygamma(2), v),
                1e-15,
                "lgamma'''",
            );
        }
        check_grad(|v| derivative(Tensor::lgamma, &v[0]), &[x]).assert_ok_for("lgamma'");
    }

    #[test]
    fn inverse_function_second_derivatives() {
        let p = Tensor::from([0.01, 0.3, 0.7]);
        check_grad(|v| derivative(Tensor::ndtri, &v[0]), std::slice::from_ref(&p)).assert_ok_for("ndtri'");
        check_grad(|v| derivative(Tensor::erfinv, &v[0]), &[p * 2.0 - 1.0]).assert_ok_for("erfinv'");
    }

    proptest! {
        #[test]
        fn erf_inverts_erfinv(x in -0.999_999f64..0.999_999) {
            let back = at(Tensor::erf, at(Tensor::erfinv, x));
            prop_assert!((back - x).abs() <= 4.0 * f64::EPSILON, "erf(erfinv({})) = {}", x, back);
        }

        #[test]
        fn ndtr_inverts_ndtri(log10_p in -300f64..-0.31) {
            let p = 10f64.powf(log10_p);
            let x = at(Tensor::ndtri, p);
            let back = at(Tensor::ndtr, x);
            // A relative error e in x moves Phi(x) by about x^2 e relative.
            prop_assert!((back - p).abs() <= 1e-15 * (1.0 + x * x) * p, "ndtr(ndtri({})) = {}", p, back);
        }
    }

    #[test]
    fn compiled_special_functions_and_two_derivatives_match_at_other_points() {
        let w = Tensor::from([1.0, -2.0, 0.5]);
        let (probabilities, probabilities_moved) =
            (Tensor::from([0.1, 0.5, 0.975]), Tensor::from([0.7, 0.02, 0.3]));
        let (signed, signed_moved) = (Tensor::from([-0.9, 0.3, 0.6]), Tensor::from([0.8, -0.2, -0.99]));
        let (reals, reals_moved) = (Tensor::from([-2.5, 0.3, 4.0]), Tensor::from([1.5, -0.7, -6.0]));
        let (positive, positive_moved) = (Tensor::from([0.5, 1.0, 7.5]), Tensor::from([3.0, 0.1, 25.0]));
        for (f, at, point) in [
            (Tensor::erf as Op, &reals, &reals_moved),
            (Tensor::erfc, &reals, &reals_moved),
            (Tensor::erfinv, &signed, &signed_moved),
            (Tensor::lgamma, &positive, &positive_moved),
            (Tensor::digamma, &positive, &positive_moved),
            (Tensor::trigamma, &positive, &positive_moved),
            (|x| x.polygamma(3), &positive, &positive_moved),
            (Tensor::ndtr, &reals, &reals_moved),
            (Tensor::ndtri, &probabilities, &probabilities_moved),
        ] {
            let loss = |x: &Tensor| (f(x) * &w).sum();
            let derivatives = |x: &Tensor| {
                let (value, gradient) = crate::value_and_grad(loss, x);
                (value, gradient, crate::hvp(loss, x, &w))
            };
            crate::testing::assert_compiles_exactly(derivatives, at, std::slice::from_ref(point));
        }
    }
}
