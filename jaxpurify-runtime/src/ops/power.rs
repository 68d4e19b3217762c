//! Powers: `x^a` for a constant exponent (`powf`, `powi`) and for a tensor
//! exponent that is differentiated too (`pow`).
//!
//! `d(x^a)/dx = a x^(a-1)` and `d(x^a)/da = x^a ln x`. Written naively, both
//! produce `0 * inf = NaN` at points where the true derivative is finite;
//! the rules below pick the right value there (each choice is documented
//! beside it) and keep every higher derivative finite as well.

use super::arith::{Zip, zip_constant};
use super::compare::where_;
use super::power_kernel;
use crate::autodiff::graph::{apply_constant, apply_op};
use crate::compile::kernel::{Kernel, Map};
use crate::shape::Shape;
use crate::tensor::Tensor;
use smallvec::smallvec;

impl Tensor {
    /// `x^a` for a constant `a` (NaN for negative `x` unless `a` is an
    /// integer); derivative `a x^(a-1)`.
    ///
    /// For `a = 0` the derivative is 0 everywhere, also at `x = 0` where the
    /// formula would give `0 * inf`. For `a >= 1` it is finite at `x = 0`
    /// (`x^2` has slope 0 there).
    ///
    /// An integral exponent from -4 to 4 (a power spectrum's `|k|^-3`, a
    /// square) is computed by multiplication, several times faster than the
    /// general power; `x^1`, `x^2` and `x^-1` are then exact to the last
    /// bit, the others within 2 ulp.
    ///
    /// ```
    /// use jaxpurify_runtime::{grad, Tensor};
    /// let x = Tensor::from([4.0, 0.0]);
    /// assert_eq!(x.powf(1.5).to_vec(), vec![8.0, 0.0]);
    /// assert_eq!(x.powf(-3.0).to_vec(), vec![1.0 / 64.0, f64::INFINITY]);
    /// // d/dx x^1.5 = 1.5 sqrt(x)
    /// assert_eq!(grad(|x: &Tensor| x.powf(1.5).sum(), &x).to_vec(), vec![3.0, 0.0]);
    /// ```
    pub fn powf(&self, exponent: f64) -> Tensor {
        apply_op(&Powf { exponent }, &[self], self.shape().clone(), move |c| {
            let x = &c.inputs[0];
            if exponent == 0.0 {
                return smallvec![Some(x.zeros_like())];
            }
            smallvec![Some(c.grad * x.powf(exponent - 1.0) * exponent)]
        })
    }

    /// `x^n` for an integer `n` (by repeated multiplication, so defined for
    /// negative `x`); derivative `n x^(n-1)`, and 0 for `n = 0`, as for
    /// [`powf`](Tensor::powf).
    ///
    /// ```
    /// use jaxpurify_runtime::{grad, Tensor};
    /// let x = Tensor::from([-2.0, 0.0]);
    /// assert_eq!(x.powi(3).to_vec(), vec![-8.0, 0.0]);
    /// assert_eq!(grad(|x: &Tensor| x.powi(3).sum(), &x).to_vec(), vec![12.0, 0.0]);
    /// ```
    pub fn powi(&self, exponent: i32) -> Tensor {
        let kernel = Map {
            name: "powi",
            f: move |v: f64| v.powi(exponent),
        };
        apply_op(&kernel, &[self], self.shape().clone(), move |c| {
            let x = &c.inputs[0];
            if exponent == 0 {
                return smallvec![Some(x.zeros_like())];
            }
            smallvec![Some(c.grad * x.powi(exponent - 1) * f64::from(exponent))]
        })
    }

    /// `x^a` elementwise with broadcasting, differentiable in both the base
    /// and the exponent.
    ///
    /// Choices where the plain formulas give NaN:
    /// - `d/dx` where `x = 0` and `a = 0` is 0 (`x^0 = 1` is constant); for
    ///   `a >= 1` the slope at `x = 0` is the finite `a 0^(a-1)`.
    /// - `d/da` where `x^a = 0` (`x = 0` with `a > 0`, `x = inf` with
    ///   `a < 0`) is 0: the power stays 0 for every nearby exponent, so this
    ///   is the true derivative. It is 0 even when the gradient arriving
    ///   there is infinite, as `sqrt`'s is at 0: `sqrt(x^a)` is constant in
    ///   `a` there too. JAX gives NaN there (`0 * log(inf)`, `inf * 0`).
    /// - `d/da` for negative `x` is NaN: `x^a` is not real for nearby
    ///   non-integer exponents.
    ///
    /// ```
    /// use jaxpurify_runtime::{grad, Tensor};
    /// let x = Tensor::from([f64::INFINITY, 1.0, 2.0]);
    /// let a = Tensor::scalar(-1.0);
    /// assert_eq!(x.pow(&a).to_vec(), vec![0.0, 1.0, 0.5]);
    /// // d/da sum(x^a) = sum(x^a ln x) = 0 + 0 + ln(2) / 2
    /// let (_, ga) = grad(|p: &(Tensor, Tensor)| p.0.pow(&p.1).sum(), &(x, a));
    /// assert_eq!(ga.item(), 2f64.ln() / 2.0);
    /// ```
    ///
    /// # Panics
    /// When the shapes do not broadcast.
    #[track_caller]
    pub fn pow(&self, exponent: &Tensor) -> Tensor {
        let zip = Zip::new("pow", self, exponent, power_kernel::pow as fn(f64, f64) -> f64);
        let shape = zip.shape.clone();
        let rule = |c: &crate::autodiff::Ctx| {
            let [x, a] = [&c.inputs[0], &c.inputs[1]];
            let mut grads: crate::autodiff::Grads = smallvec![
                c.needs(0)
                    .then(|| (c.grad * pow_slope_in_base(x, a)).sum_to(x.shape())),
                c.needs(1).then(
                    || gradient_in_exponent(c.grad, &x.broadcast_to(c.output.shape()), c.output)
                        .sum_to(a.shape())
                ),
            ];
            grads.resize(c.inputs.len(), None);
            grads
        };
        let whole_or_single = |t: &Tensor| t.shape() == &shape || t.numel() == 1;
        if !(whole_or_single(self) && whole_or_single(exponent)) {
            return apply_op(&zip, &[self, exponent], shape, rule);
        }
        // The base's logarithm in two parts, a constant op: a compiled
        // program computes it once for a constant base (a power spectrum's
        // frequencies), and only the exponential on every call.
        let mut packed = Shape::from(2);
        self.shape().iter().for_each(|&d| packed.push(d));
        let logs = apply_constant(&LnParts, &[self], packed);
        let (ln_hi, ln_lo) = (logs.select(0, 0), logs.select(0, 1));
        apply_op(&PowFromLn, &[self, exponent, &ln_hi, &ln_lo], shape, rule)
    }
}

/// `exponent` as an integer when it is one from -4 to 4 other than 0.
fn small_integer(exponent: f64) -> Option<i32> {
    let n = exponent as i32;
    (f64::from(n) == exponent && n != 0 && n.abs() <= 4).then_some(n)
}

/// `v^n` for `0 < |n| <= 4` by multiplication. A negative power raises the
/// reciprocal, so that no intermediate overflows where the result does
/// not (`1 / v^3` would lose `v = 1e103`).
fn small_integer_power(v: f64, n: i32) -> f64 {
    let base = if n < 0 { 1.0 / v } else { v };
    match n.unsigned_abs() {
        1 => base,
        2 => base * base,
        3 => base * base * base,
        _ => {
            let square = base * base;
            square * square
        }
    }
}

/// The kernel of [`Tensor::pow`]'s logarithm of the base, as its values'
/// high parts then their low parts (`power_kernel.rs`).
#[derive(Clone)]
struct LnParts;

impl Kernel for LnParts {
    fn name(&self) -> &'static str {
        "ln_parts"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        power_kernel::ln_parts(inputs[0], out);
    }
}

/// The kernel of [`Tensor::pow`] where each operand is whole or a single
/// value: the power of each pair from the base, the exponent and the
/// base's logarithm in two parts. Where an operand is broadcast otherwise,
/// a `Zip` of [`power_kernel::pow`] gives the same bits.
#[derive(Clone)]
struct PowFromLn;

impl Kernel for PowFromLn {
    fn name(&self) -> &'static str {
        "pow"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        power_kernel::pow_from_ln(inputs[0], inputs[1], inputs[2], inputs[3], out);
    }

    fn elementwise(&self) -> bool {
        true
    }
}

/// The kernel of [`Tensor::powf`].
#[derive(Clone)]
struct Powf {
    exponent: f64,
}

impl Kernel for Powf {
    fn name(&self) -> &'static str {
        "powf"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let x = inputs[0];
        match small_integer(self.exponent) {
            Some(n) => small_integer_powers(x, n, out),
            None => power_kernel::pow_into(x, &[self.exponent], out),
        }
    }

    fn elementwise(&self) -> bool {
        true
    }
}

fn map_into(x: &[f64], out: &mut [f64], f: impl Fn(f64) -> f64) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = f(v);
    }
}

/// `x^n` elementwise for `0 < |n| <= 4`, one loop per exponent so that each
/// vectorises without a branch per element (a third of the instructions of
/// a loop that matches on `n` for every value).
fn small_integer_powers(x: &[f64], n: i32, out: &mut [f64]) {
    fn power<const N: i32>(v: f64) -> f64 {
        small_integer_power(v, N)
    }
    match n {
        -4 => map_into(x, out, power::<-4>),
        -3 => map_into(x, out, power::<-3>),
        -2 => map_into(x, out, power::<-2>),
        -1 => map_into(x, out, power::<-1>),
        1 => map_into(x, out, power::<1>),
        2 => map_into(x, out, power::<2>),
        3 => map_into(x, out, power::<3>),
        _ => map_into(x, out, power::<4>),
    }
}

/// `d(x^a)/dx = a x^(a-1)`, with the base replaced by 1 where `x = a = 0`:
/// there the value is `a * 1 = 0`, as it should be, and the derivatives of
/// this expression stay finite too (a plain select would still pass
/// `0 * inf` back through the discarded branch).
fn pow_slope_in_base(x: &Tensor, a: &Tensor) -> Tensor {
    let singular = zip_constant("pow_singular", x, a, |p, q| f64::from(p == 0.0 && q == 0.0), None);
    a * replace_where(&singular, 1.0, x).pow(&(a - 1.0))
}

/// `g x^a ln x` for an upstream gradient `g`, the power `x^a` and the base,
/// all of one shape: the gradient of `x^a` in `a` before summing over
/// broadcast axes, computed in one pass. Where `x^a = 0` the output is
/// constant in `a`, so it is 0 there, even for an infinite `g` (`0 * inf`
/// would be NaN) and where `ln x` is infinite.
///
/// Its derivatives are those of `mask g (x^a ln x_1)` with the constant
/// mask of `x^a != 0` and `x_1` the base with 1 where `x^a = 0`.
///
/// `ln x` is an input of its own (the rule differentiates through `x`
/// directly), so that for a constant base, as in a power spectrum
/// `|k|^alpha`, a compiled program takes it as a constant instead of
/// computing a logarithm per element on every call.
fn gradient_in_exponent(g: &Tensor, x: &Tensor, power: &Tensor) -> Tensor {
    let ln_x = Map {
        name: "ln",
        f: f64::ln,
    };
    let ln_x = apply_constant(&ln_x, &[x], x.shape().clone());
    let inputs = [g, x, power, &ln_x];
    apply_op(&ExponentGradient, &inputs, power.shape().clone(), |c| {
        let [g, x, power] = [&c.inputs[0], &c.inputs[1], &c.inputs[2]];
        let vanishes = power.eq(0.0);
        let base = replace_where(&vanishes, 1.0, x);
        let ln_base = base.ln();
        let masked_g = || replace_where(&vanishes, 0.0, g);
        smallvec![
            c.needs(0).then(|| c.grad * power * &ln_base),
            c.needs(1).then(|| c.grad * masked_g() * power / &base),
            c.needs(2).then(|| c.grad * masked_g() * &ln_base),
            None,
        ]
    })
}

/// The kernel of [`gradient_in_exponent`].
#[derive(Clone)]
struct ExponentGradient;

impl Kernel for ExponentGradient {
    fn name(&self) -> &'static str {
        "pow_exponent_gradient"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        // The inputs are g, x (only for the derivative), x^a and ln x.
        let (g, power, ln_x) = (inputs[0], inputs[2], inputs[3]);
        for (o, ((&g, &p), &ln_x)) in out.iter_mut().zip(g.iter().zip(power).zip(ln_x)) {
            *o = if p == 0.0 { 0.0 } else { g * (p * ln_x) };
        }
    }

    fn elementwise(&self) -> bool {
        true
    }
}

/// `t` with `value` wherever `mask` is set (broadcast to the mask's shape),
/// or `t` itself when the mask is a constant with nothing set, which keeps
/// the common case cheap. (A mask that depends on a traced function's
/// inputs could be set at other points, so it is always applied.)
fn replace_where(mask: &Tensor, value: f64, t: &Tensor) -> Tensor {
    if !mask.is_tracked() && mask.as_slice().iter().all(|&m| m == 0.0) {
        t.clone()
    } else {
        where_(mask, value, t)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::check_grad;
    use crate::{Tensor, grad};

    fn pair(x: &Tensor, a: &Tensor) -> (Tensor, Tensor) {
        (x.clone(), a.clone())
    }

    #[test]
    fn hand_derived_gradients_with_non_uniform_weights() {
        // L = sum(w * x^a), w = [1, 2], x = [2, 4], a = [3, 0.5]:
        // dL/dx = w a x^(a-1) = [1 * 3 * 4, 2 * 0.5 / 2] = [12, 0.5]
        // dL/da = w x^a ln x = [8 ln 2, 2 * 2 * ln 4] = [8 ln 2, 8 ln 2]
        let w = Tensor::from([1.0, 2.0]);
        let (x, a) = (Tensor::from([2.0, 4.0]), Tensor::from([3.0, 0.5]));
        let (gx, ga) = grad(|p: &(Tensor, Tensor)| (p.0.pow(&p.1) * &w).sum(), &pair(&x, &a));
        assert_eq!(gx.to_vec(), vec![12.0, 0.5]);
        assert_eq!(ga.to_vec(), vec![8.0 * 2f64.ln(); 2]);
        // powf and powi agree with pow for the same constant exponents.
        let dpowf = grad(|x: &Tensor| (x.powf(0.5) * &w).sum(), &x);
        let dpowi = grad(|x: &Tensor| (x.powi(3) * &w).sum(), &x);
        assert_eq!(dpowf.to_vec()[1], 0.5);
        assert_eq!(dpowi.to_vec()[0], 12.0);
    }

    #[test]
    fn exponent_gradient_is_zero_where_the_power_vanishes() {
        // k = [inf, 1, 2], a = -3: k^a = [0, 1, 1/8]; L = sum(w k^a) with
        // w = [1, 2, 4]: dL/da = sum(w k^a ln k) = 0 + 0 + 4/8 ln 2.
        let k = Tensor::from([f64::INFINITY, 1.0, 2.0]);
        let w = Tensor::from([1.0, 2.0, 4.0]);
        let (gk, ga) = grad(
            |p: &(Tensor, Tensor)| (p.0.pow(&p.1) * &w).sum(),
            &pair(&k, &Tensor::scalar(-3.0)),
        );
        assert_eq!(ga.item(), 0.5 * 2f64.ln());
        // dL/dk = w a k^(a-1) = [0, -6, 4 * -3 / 16]
        assert_eq!(gk.to_vec(), vec![-0.0, -6.0, -0.75]);
        // Second order in a stays finite and matches central differences.
        let at = |v: &[Tensor]| grad(|a: &Tensor| (k.pow(a) * &w).sum(), &v[0]);
        check_grad(at, &[Tensor::scalar(-3.0)]).assert_ok_for("d2/da2 pow at k = inf");
        // x = 0 with a > 0 is the other place where x^a = 0.
        let (_, ga) = grad(
            |p: &(Tensor, Tensor)| p.0.pow(&p.1).sum(),
            &pair(&Tensor::from([0.0, 0.0]), &Tensor::from([0.5, 2.0])),
        );
        assert_eq!(ga.to_vec(), vec![0.0, 0.0]);
    }

    #[test]
    fn exponent_gradient_stays_zero_under_an_infinite_upstream_gradient() {
        // sqrt(k^a) = k^(a/2) is 0 at k = inf for every a < 0, but sqrt's
        // slope there is infinite. With k = [inf, 1, 2], a = -3, w = [1, 2, 4]:
        // d/da sum(w sqrt(k^a)) = sum(w k^(a/2) ln(k) / 2) = 0 + 0 + 4 2^-1.5 ln(2) / 2.
        let k = Tensor::from([f64::INFINITY, 1.0, 2.0]);
        let w = Tensor::from([1.0, 2.0, 4.0]);
        let root_sum = |a: &Tensor| (k.pow(a).sqrt() * &w).sum();
        let ga = grad(root_sum, &Tensor::scalar(-3.0));
        assert!((ga.item() - 2f64.powf(-0.5) * 2f64.ln()).abs() < 1e-15, "{ga:?}");
        check_grad(|v| root_sum(&v[0]), &[Tensor::scalar(-3.0)]).assert_ok_for("sqrt(k^a) at k = inf");
        let second = |v: &[Tensor]| grad(root_sum, &v[0]);
        check_grad(second, &[Tensor::scalar(-3.0)]).assert_ok_for("d2/da2 sqrt(k^a) at k = inf");
        // The same at x = 0 with a > 0: d/da sum(sqrt([0, 3]^a)) at a = 2 is
        // 0 + 3^(a/2) ln(3) / 2 = 3 ln(3) / 2.
        let ga = grad(
            |a: &Tensor| Tensor::from([0.0, 3.0]).pow(a).sqrt().sum(),
            &Tensor::scalar(2.0),
        );
        assert!((ga.item() - 1.5 * 3f64.ln()).abs() < 1e-15, "{ga:?}");
    }

    #[test]
    fn exponent_gradient_passes_the_gradient_check_in_every_input() {
        // Differentiating the exponent's gradient runs the fused rule of
        // `gradient_in_exponent` in the upstream gradient (through w), the
        // base and the power, with a base broadcast to the exponent's shape
        // and one exponent broadcast back.
        let w = Tensor::from([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]]);
        let ga = |x: &Tensor, a: &Tensor| grad(|a: &Tensor| (x.pow(a) * &w).sum(), a);
        let (x, a) = (
            Tensor::from([0.7, 1.3, 2.2]),
            Tensor::from([[0.6, -1.2, 1.5], [2.0, 0.3, -0.8]]),
        );
        check_grad(|v| ga(&v[0], &v[1]), &[x.clone(), a.clone()]).assert_ok_for("d/dx and d/da of d/da");
        let third = |v: &[Tensor]| grad(|a: &Tensor| ga(&x, a).square().sum(), &v[0]);
        check_grad(third, &[a]).assert_ok_for("third order in a");
        let column = Tensor::from([[0.9], [-0.4]]);
        check_grad(|v| ga(&v[0], &v[1]), &[x, column]).assert_ok_for("exponent summed over a row");
    }

    #[test]
    fn small_integer_exponents_agree_with_the_general_power() {
        let values = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.3,
            -2.7,
            7.5,
            1e-103,
            3e102,
            1e200,
            1e-200,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
        ];
        let x = Tensor::from(values.to_vec());
        for n in [-4, -3, -2, -1, 1, 2, 3, 4] {
            let powers = x.powf(f64::from(n));
            for (&v, &p) in values.iter().zip(powers.as_slice()) {
                let exact = v.powf(f64::from(n));
                let ulps = (p - exact).abs() / (exact.abs() * f64::EPSILON);
                let agree = p == exact
                    || ulps <= 2.0
                    || (exact.abs() < f64::MIN_POSITIVE && (p - exact).abs() < 1e-320);
                assert!(agree, "{v}^{n}: {p} vs {exact}");
                if [-1, 1, 2].contains(&n) {
                    assert_eq!(p.to_bits(), exact.to_bits(), "{v}^{n} is exact");
                }
            }
        }
        assert!(Tensor::scalar(f64::NAN).powf(-3.0).item().is_nan());
        assert_eq!(Tensor::scalar(f64::NAN).powf(0.0).item(), 1.0);
    }

    #[test]
    fn base_gradient_is_finite_at_zero() {
        // d/dx x^a at x = 0: a 0^(a-1) = [0, 1, 0] for a = [2, 1, 2.5], and 0
        // for a = 0 (x^0 = 1), which the formula would make 0 * inf.
        let x = Tensor::zeros([4]);
        let a = Tensor::from([2.0, 1.0, 2.5, 0.0]);
        let gx = grad(|x: &Tensor| x.pow(&a).sum(), &x);
        assert_eq!(gx.to_vec(), vec![0.0, 1.0, 0.0, 0.0]);
        // Second derivative at 0: a (a-1) 0^(a-2) = [2, 0, 0, 0].
        let gxx = grad(|x: &Tensor| grad(|x: &Tensor| x.pow(&a).sum(), x).sum(), &x);
        assert_eq!(gxx.to_vec(), vec![2.0, 0.0, 0.0, 0.0]);
        let gf = grad(
            |x: &Tensor| (x.powf(2.0) + x.powf(0.0) + x.powi(1) + x.powi(0)).sum(),
            &x,
        );
        assert_eq!(gf.to_vec(), vec![1.0; 4]);
    }

    #[test]
    fn gradients_match_central_differences_to_second_order() {
        let x = Tensor::from([[0.4, 1.3, 2.2], [0.9, 1.7, 3.1]]);
        let a = Tensor::from([2.5, -1.5, 0.7]);
        check_grad(|v| v[0].pow(&v[1]), &[x.clone(), a.clone()]).assert_ok_for("pow");
        check_grad(|v| v[0].powf(-1.7), std::slice::from_ref(&x)).assert_ok_for("powf");
        check_grad(|v| v[0].powi(-3), &[Tensor::from([-1.4, 0.6, 2.0])]).assert_ok_for("powi");
        let slopes = |v: &[Tensor]| grad(|p: &(Tensor, Tensor)| p.0.pow(&p.1).sum(), &pair(&v[0], &v[1]));
        check_grad(|v| slopes(v).0, &[x.clone(), a.clone()]).assert_ok_for("pow d/dx second order");
        check_grad(|v| slopes(v).1, &[x.clone(), a]).assert_ok_for("pow d/da second order");
        let second = |v: &[Tensor]| grad(|x: &Tensor| x.powf(2.5).sum() + x.powi(-2).sum(), &v[0]);
        check_grad(second, &[x]).assert_ok_for("powf and powi second order");
    }

    #[test]
    fn third_derivative_in_the_base_matches_closed_form() {
        // d3/dx3 x^a = a (a-1) (a-2) x^(a-3)
        let x = Tensor::from([0.5, 1.3, 2.0, 0.0]);
        let a = Tensor::from([2.5, -1.5, 3.0, 2.0]);
        let d = |f: &dyn Fn(&Tensor) -> Tensor, x: &Tensor| grad(|x: &Tensor| f(x).sum(), x);
        let third = d(&|x| d(&|x| d(&|x| x.pow(&a), x), x), &x);
        for i in 0..4 {
            let (v, p) = (x.as_slice()[i], a.as_slice()[i]);
            // x^2 at 0: the third derivative is 0 everywhere, not 0 * 0^-1 = NaN.
            let coefficient = p * (p - 1.0) * (p - 2.0);
            let expected = if coefficient == 0.0 {
                0.0
            } else {
                coefficient * v.powf(p - 3.0)
            };
            let got = third.as_slice()[i];
            assert!(
                (got - expected).abs() <= 1e-13 * expected.abs().max(1.0),
                "{got} vs {expected}"
            );
        }
    }

    #[test]
    #[should_panic(expected = "pow: shapes [2] and [3] do not broadcast")]
    fn mismatched_shapes_name_the_op() {
        let _ = Tensor::ones([2]).pow(&Tensor::ones([3]));
    }

    #[test]
    fn compiled_constant_powers_match_at_another_point() {
        // Small integer exponents go by multiplication, the others by powf.
        let w = Tensor::from([1.0, -2.0, 0.5, 3.0]);
        let loss = |x: &Tensor| {
            let powers = x.powf(2.0) + x.powf(-3.0) + x.powf(0.5) + x.powf(1.7) + x.powf(0.0);
            ((powers + x.powi(3) + x.powi(-2) + x.powi(0)) * &w).sum()
        };
        let f = |x: &Tensor| {
            let (value, gradient) = crate::value_and_grad(loss, x);
            (value, gradient, crate::hvp(loss, x, &w))
        };
        let at = Tensor::from([0.5, 2.0, 1.5, 3.0]);
        crate::testing::assert_compiles_exactly(f, &at, &[Tensor::from([4.0, 0.25, 1.0, 7.5])]);
    }

    #[test]
    fn compiled_tensor_powers_match_at_the_singular_points() {
        let w = Tensor::from([1.0, -2.0, 0.5, 3.0, 1.5]);
        let loss = |p: &(Tensor, Tensor)| (p.0.pow(&p.1) * &w).sum();
        let f = |p: &(Tensor, Tensor)| {
            let (value, gradient) = crate::value_and_grad(loss, p);
            (value, gradient, crate::hvp(loss, p, &(w.clone(), w.clone())))
        };
        let at = pair(
            &Tensor::from([0.5, 2.0, 1.5, 3.0, 1.2]),
            &Tensor::from([2.0, 0.5, -1.0, 1.5, 3.0]),
        );
        // x = a = 0; x = 0 with a = 2 and with a = 1 (x^a = 0, so d/da is
        // 0); x = inf with a < 0 (x^a = 0 again); and a = 0 at x = 2.
        let singular = pair(
            &Tensor::from([0.0, 0.0, f64::INFINITY, 0.0, 2.0]),
            &Tensor::from([0.0, 2.0, -1.0, 1.0, 0.0]),
        );
        crate::testing::assert_compiles_exactly(f, &at, &[singular]);
    }
}
