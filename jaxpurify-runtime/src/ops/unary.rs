//! Elementwise math: each op's value and its derivative side by side.
//!
//! Derivatives are written with tensor ops so that they can be differentiated
//! again. Where a derivative reuses the output (`exp`, `sqrt`, `tanh`) the
//! rule reads it from the context instead of recomputing it.

use crate::autodiff::record;
use crate::tensor::Tensor;
use smallvec::smallvec;

/// Declares a unary op from its value function and a derivative rule
/// `|x, y, g| -> dx` (input, output, upstream gradient).
macro_rules! unary_op {
    ($(#[$doc:meta])* $name:ident, $f:expr, |$x:ident, $y:ident, $g:ident| $df:expr) => {
        $(#[$doc])*
        pub fn $name(&self) -> Tensor {
            let out = self.map_values($f);
            record(out, &[self], |c| {
                let ($x, $y, $g) = (&c.inputs[0], c.output, c.grad);
                let _ = (&$x, &$y);
                smallvec![Some($df)]
            })
        }
    };
}

impl Tensor {
    unary_op!(
        /// `e^x`; derivative `e^x`, read from the output.
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// assert_eq!(Tensor::scalar(0.0).exp().item(), 1.0);
        /// ```
        exp, f64::exp, |x, y, g| g * y
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
        /// Sine; derivative `cos x`.
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// assert_eq!(Tensor::scalar(0.0).sin().item(), 0.0);
        /// ```
        sin, f64::sin, |x, y, g| g * x.cos()
    );
    unary_op!(
        /// Cosine; derivative `-sin x`.
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// assert_eq!(Tensor::scalar(0.0).cos().item(), 1.0);
        /// ```
        cos, f64::cos, |x, y, g| -(g * x.sin())
    );
}

#[cfg(test)]
mod tests {
    use crate::testing::check_grad;
    use crate::{Tensor, grad};

    #[test]
    fn exp_and_log_gradients() {
        // L = mean(exp(x)) over [0, 1]: dL/dx = exp(x)/2
        let g = grad(|x: &Tensor| x.exp().mean(), &Tensor::from([0.0, 1.0]));
        assert_eq!(g.to_vec(), vec![0.5, 1f64.exp() / 2.0]);
        let x = Tensor::from([0.3, 1.7, 2.9]);
        for (name, f) in [
            ("exp", Tensor::exp as fn(&Tensor) -> Tensor),
            ("ln", Tensor::ln),
            ("ln_1p", Tensor::ln_1p),
            ("exp_m1", Tensor::exp_m1),
            ("sin", Tensor::sin),
            ("cos", Tensor::cos),
        ] {
            check_grad(|v| f(&v[0]), std::slice::from_ref(&x)).assert_ok_for(name);
        }
    }
}
