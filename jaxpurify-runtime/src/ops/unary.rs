//! Elementwise math: each op's value and its derivative side by side.
//!
//! Derivatives are written with tensor ops so that they can be differentiated
//! again. Where a derivative reuses the output (`exp`, `sqrt`, `tanh`) the
//! rule reads it from the context instead of recomputing it.

use crate::autodiff::graph::apply_constant;
use crate::tensor::Tensor;
use smallvec::smallvec;

/// Declares a unary op from its value function and a derivative rule
/// `|x, y, g| -> dx` (input, output, upstream gradient). `slice f` names a
/// function computing a whole slice at once (`ops/elementary.rs`).
macro_rules! unary_op {
    ($(#[$doc:meta])* $name:ident, slice $f:path, |$x:ident, $y:ident, $g:ident| $df:expr) => {
        unary_op!(@op $(#[$doc])* $name,
            $crate::compile::kernel::SliceMap { name: stringify!($name), f: $f }, |$x, $y, $g| $df);
    };
    ($(#[$doc:meta])* $name:ident, $f:expr, |$x:ident, $y:ident, $g:ident| $df:expr) => {
        unary_op!(@op $(#[$doc])* $name,
            $crate::compile::kernel::Map { name: stringify!($name), f: $f }, |$x, $y, $g| $df);
    };
    (@op $(#[$doc:meta])* $name:ident, $kernel:expr, |$x:ident, $y:ident, $g:ident| $df:expr) => {
        $(#[$doc])*
        pub fn $name(&self) -> Tensor {
            $crate::autodiff::graph::apply_op_batched(
                &$kernel,
                &[self],
                self.shape().clone(),
                |c| {
                    let ($x, $y, $g) = (&c.inputs[0], c.output, c.grad);
                    let _ = (&$x, &$y);
                    smallvec![Some($df)]
                },
                |batch| $crate::batching::elementwise(batch, Tensor::$name),
            )
        }
    };
}
pub(super) use unary_op;

impl Tensor {
    unary_op!(
        /// `e^x`; derivative `e^x`, read from the output. Within 1 ulp,
        /// computed for many elements at once.
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// assert_eq!(Tensor::scalar(0.0).exp().item(), 1.0);
        /// ```
        exp, slice super::elementary::exp_into, |x, y, g| g * y
    );
    unary_op!(
        /// Natural logarithm; derivative `1/x`.
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// assert_eq!(Tensor::scalar(1.0).ln().item(), 0.0);
        /// ```
        ln, f64::ln, |x, y, g| g / x
    );
    unary_op!(
        /// `ln(1 + x)`, accurate near 0; derivative `1/(1 + x)`.
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// assert_eq!(Tensor::scalar(1e-20).ln_1p().item(), 1e-20);
        /// ```
        ln_1p, f64::ln_1p, |x, y, g| g / (x + 1.0)
    );
    unary_op!(
        /// `e^x - 1`, accurate near 0; derivative `e^x = y + 1`.
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// assert_eq!(Tensor::scalar(1e-20).exp_m1().item(), 1e-20);
        /// ```
        exp_m1, f64::exp_m1, |x, y, g| g * (y + 1.0)
    );
    unary_op!(
        /// Sine; derivative `cos x`. Within 1 ulp, computed for many
        /// elements at once (see `ops/elementary.rs`).
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// assert_eq!(Tensor::scalar(0.0).sin().item(), 0.0);
        /// ```
        sin, slice super::elementary::sin_into, |x, y, g| g * x.cos()
    );
    unary_op!(
        /// Cosine; derivative `-sin x`. Within 1 ulp, computed for many
        /// elements at once.
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// assert_eq!(Tensor::scalar(0.0).cos().item(), 1.0);
        /// ```
        cos, slice super::elementary::cos_into, |x, y, g| -(g * x.sin())
    );
    unary_op!(
        /// Tangent; derivative `1 + tan^2 x`, read from the output.
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// assert_eq!(Tensor::scalar(0.0).tan().item(), 0.0);
        /// ```
        tan, f64::tan, |x, y, g| g * (y * y + 1.0)
    );
    unary_op!(
        /// Hyperbolic tangent; derivative `1 - tanh^2 x`, read from the output.
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// assert_eq!(Tensor::from([0.0, 1e3]).tanh().to_vec(), vec![0.0, 1.0]);
        /// ```
        tanh, f64::tanh, |x, y, g| g * (1.0 - y * y)
    );
    unary_op!(
        /// Hyperbolic sine; derivative `cosh x`.
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// assert_eq!(Tensor::scalar(0.0).sinh().item(), 0.0);
        /// ```
        sinh, f64::sinh, |x, y, g| g * x.cosh()
    );
    unary_op!(
        /// Hyperbolic cosine; derivative `sinh x`.
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// assert_eq!(Tensor::scalar(0.0).cosh().item(), 1.0);
        /// ```
        cosh, f64::cosh, |x, y, g| g * x.sinh()
    );
    unary_op!(
        /// Square root (NaN below 0); derivative `1 / (2 sqrt x)`, read from
        /// the output, so infinite at 0.
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// assert_eq!(Tensor::from([4.0, 0.0]).sqrt().to_vec(), vec![2.0, 0.0]);
        /// ```
        sqrt, f64::sqrt, |x, y, g| g * 0.5 / y
    );
    unary_op!(
        /// `x^2`; derivative `2x`.
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// assert_eq!(Tensor::from([-3.0, 0.5]).square().to_vec(), vec![9.0, 0.25]);
        /// ```
        square, |v| v * v, |x, y, g| g * x * 2.0
    );
    unary_op!(
        /// Absolute value; derivative `sign x`.
        ///
        /// At the kink `x = 0` we take the subgradient 0 (as JAX does): it
        /// lies in `[-1, 1]`, and a value already at the minimum of `|x|` is
        /// not pushed away from it.
        ///
        /// ```
        /// use jaxpurify_runtime::{grad, Tensor};
        /// let x = Tensor::from([-2.0, 0.0, 3.0]);
        /// assert_eq!(x.abs().to_vec(), vec![2.0, 0.0, 3.0]);
        /// assert_eq!(grad(|x: &Tensor| x.abs().sum(), &x).to_vec(), vec![-1.0, 0.0, 1.0]);
        /// ```
        abs, f64::abs, |x, y, g| g * &x.map_constant("sign", sign_with_zero)
    );
    unary_op!(
        /// `1/x`; derivative `-1/x^2 = -y^2`, read from the output.
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// assert_eq!(Tensor::from([2.0, -0.5]).recip().to_vec(), vec![0.5, -2.0]);
        /// ```
        recip, f64::recip, |x, y, g| -(g * y * y)
    );
}

impl Tensor {
    /// `f` elementwise, for a function whose derivative is zero wherever it
    /// exists (a sign, a mask): not differentiated, but recorded for traces.
    pub(crate) fn map_constant(&self, name: &'static str, f: fn(f64) -> f64) -> Tensor {
        apply_constant(
            &crate::compile::kernel::Map { name, f },
            &[self],
            self.shape().clone(),
        )
    }
}

/// The sign of `v`, 0 at ±0 (`f64::signum` gives ±1 there) and NaN for NaN.
fn sign_with_zero(v: f64) -> f64 {
    if v == 0.0 { 0.0 } else { v.signum() }
}

#[cfg(test)]
mod tests {
    use crate::testing::check_grad;
    use crate::{Tensor, grad};

    type UnaryOp = fn(&Tensor) -> Tensor;

    #[test]
    fn mean_of_exp_gradient_by_hand() {
        // L = mean(exp(x)) over [0, 1, -2]: dL/dx = exp(x)/3, with
        // e^-2 = 0.1353352832366126919 (within 1 ulp, as exp itself).
        let g = grad(|x: &Tensor| x.exp().mean(), &Tensor::from([0.0, 1.0, -2.0]));
        let expected = [
            1.0 / 3.0,
            std::f64::consts::E / 3.0,
            0.135_335_283_236_612_7 / 3.0,
        ];
        for (got, want) in g.to_vec().iter().zip(expected) {
            assert!((got - want).abs() <= f64::EPSILON * want, "{got} vs {want}");
        }
    }

    #[test]
    fn hand_derived_gradients_of_the_algebraic_ops() {
        // L = sum(w * f(x)), w = [1, 3], x = [0.25, 4]:
        // square: 2 w x = [0.5, 24]; recip: -w / x^2 = [-16, -0.1875];
        // sqrt: w / (2 sqrt x) = [1, 0.75]
        let (x, w) = (Tensor::from([0.25, 4.0]), Tensor::from([1.0, 3.0]));
        let d = |f: UnaryOp| grad(|x: &Tensor| (f(x) * &w).sum(), &x).to_vec();
        assert_eq!(d(Tensor::square), vec![0.5, 24.0]);
        assert_eq!(d(Tensor::recip), vec![-16.0, -0.1875]);
        assert_eq!(d(Tensor::sqrt), vec![1.0, 0.75]);
    }

    #[test]
    fn hand_derived_gradients_of_the_hyperbolic_ops() {
        // At x = ln 2: e^x = 2, so sinh = 3/4, cosh = 5/4, tanh = 3/5.
        // L = sum(w * f(x)), w = [2]: tanh' = 1 - 9/25 -> 2 * 16/25 = 1.28,
        // sinh' = cosh -> 2.5, cosh' = sinh -> 1.5.
        let (x, w) = (Tensor::from([2f64.ln()]), Tensor::from([2.0]));
        let d = |f: UnaryOp| grad(|x: &Tensor| (f(x) * &w).sum(), &x).item();
        for (name, f, expected) in [
            ("tanh", Tensor::tanh as UnaryOp, 1.28),
            ("sinh", Tensor::sinh, 2.5),
            ("cosh", Tensor::cosh, 1.5),
        ] {
            assert!((d(f) - expected).abs() < 1e-15, "{name}: {} vs {expected}", d(f));
        }
    }

    #[test]
    fn abs_has_subgradient_zero_at_zero() {
        // L = sum(w * |x|), w = [1, 2, 3, 4]: dL/dx = w sign(x), sign(0) = 0.
        let w = Tensor::from([1.0, 2.0, 3.0, 4.0]);
        let g = grad(
            |x: &Tensor| (x.abs() * &w).sum(),
            &Tensor::from([-1.5, 0.0, -0.0, 2.0]),
        );
        assert_eq!(g.to_vec(), vec![-1.0, 0.0, 0.0, 4.0]);
    }

    #[test]
    fn gradients_match_central_differences() {
        let x = Tensor::from([0.3, 1.7, 2.9, -0.8]);
        let positive = Tensor::from([0.3, 1.7, 2.9, 0.8]);
        for (name, f, at) in [
            ("exp", Tensor::exp as UnaryOp, &x),
            ("ln", Tensor::ln, &positive),
            ("ln_1p", Tensor::ln_1p, &positive),
            ("exp_m1", Tensor::exp_m1, &x),
            ("sin", Tensor::sin, &x),
            ("cos", Tensor::cos, &x),
            ("tan", Tensor::tan, &Tensor::from([0.3, -1.2, 1.4, 0.9])),
            ("tanh", Tensor::tanh, &x),
            ("sinh", Tensor::sinh, &x),
            ("cosh", Tensor::cosh, &x),
            ("sqrt", Tensor::sqrt, &positive),
            ("square", Tensor::square, &x),
            ("abs", Tensor::abs, &x),
            ("recip", Tensor::recip, &x),
        ] {
            check_grad(|v| f(&v[0]), std::slice::from_ref(at)).assert_ok_for(name);
        }
    }

    #[test]
    fn second_derivatives_match_central_differences() {
        let x = Tensor::from([0.3, 1.7, 2.9, 0.8]);
        for (name, f) in [
            ("tanh", Tensor::tanh as UnaryOp),
            ("sqrt", Tensor::sqrt),
            ("tan", Tensor::tan),
            ("recip", Tensor::recip),
            ("abs", Tensor::abs),
        ] {
            check_grad(|v| grad(|x: &Tensor| f(x).sum(), &v[0]), std::slice::from_ref(&x))
                .assert_ok_for(name);
        }
    }

    #[test]
    fn compiled_values_and_two_derivatives_match_at_other_points() {
        let w = Tensor::from([1.0, -2.0, 0.5, 3.0]);
        let x = Tensor::from([0.3, 1.7, 2.9, -0.8]);
        let moved = Tensor::from([-1.1, 0.4, 2.2, 1.3]);
        let (positive, positive_moved) = (x.abs(), moved.abs());
        let (in_tan, in_tan_moved) = (
            Tensor::from([0.3, -1.2, 1.4, 0.9]),
            Tensor::from([-0.5, 1.1, 0.2, -1.4]),
        );
        // abs: the second point flips two signs and moves 0 and -0 onto the kink.
        let (signs, flipped) = (
            Tensor::from([1.0, -1.0, 2.0, -0.5]),
            Tensor::from([-1.0, 0.0, -0.0, 0.5]),
        );
        for (f, at, point) in [
            (Tensor::exp as UnaryOp, &x, &moved),
            (Tensor::ln, &positive, &positive_moved),
            (Tensor::ln_1p, &positive, &positive_moved),
            (Tensor::exp_m1, &x, &moved),
            (Tensor::sin, &x, &moved),
            (Tensor::cos, &x, &moved),
            (Tensor::tan, &in_tan, &in_tan_moved),
            (Tensor::tanh, &x, &moved),
            (Tensor::sinh, &x, &moved),
            (Tensor::cosh, &x, &moved),
            (Tensor::sqrt, &positive, &positive_moved),
            (Tensor::square, &x, &moved),
            (Tensor::abs, &signs, &flipped),
            (Tensor::recip, &x, &moved),
        ] {
            let loss = |x: &Tensor| (f(x) * &w).sum();
            let derivatives = |x: &Tensor| {
                let (value, gradient) = crate::value_and_grad(loss, x);
                (value, gradient, crate::hvp(loss, x, &w))
            };
            crate::testing::assert_compiles_exactly(derivatives, at, std::slice::from_ref(point));
        }
    }

    #[test]
    fn third_derivative_of_tanh_matches_closed_form() {
        // d3/dx3 tanh x = -2 (1 - t^2)(1 - 3 t^2) with t = tanh x
        let x = Tensor::from([-1.1, 0.2, 0.9]);
        let d = |f: &dyn Fn(&Tensor) -> Tensor, x: &Tensor| grad(|x: &Tensor| f(x).sum(), x);
        let third = d(&|x| d(&|x| d(&|x| x.tanh(), x), x), &x);
        for (v, got) in x.as_slice().iter().zip(third.as_slice()) {
            let t = v.tanh();
            let expected = -2.0 * (1.0 - t * t) * (1.0 - 3.0 * t * t);
            assert!((got - expected).abs() < 1e-14, "{got} vs {expected}");
        }
    }
}
