//! Log-sum-exp over all elements or over axes, and softmax and log-softmax
//! along an axis: all computed with the maximum subtracted, so that large
//! inputs give finite results.

use super::broadcast::reduced_shapes;
use super::reduce::{all_axes, fold_groups};
use crate::autodiff::graph::apply_op;
use crate::compile::kernel::Kernel;
use crate::shape::{Shape, for_each_grouped};
use crate::tensor::Tensor;
use smallvec::smallvec;

/// What a [`Shifted`] kernel computes from each group's shift `m` and
/// `sum(exp(x - m))`.
#[derive(Clone, Copy)]
enum ShiftedKind {
    /// `m + ln(sum)`, one value per group.
    LogSumExp,
    /// `exp(x - m) / sum`.
    Softmax,
    /// `x - m - ln(sum)`.
    LogSoftmax,
}

/// The kernel of the ops that subtract each group's maximum before
/// exponentiating: the groups are those of `kept`, the input's shape with
/// its reduced axes set to 1.
#[derive(Clone)]
struct Shifted {
    kind: ShiftedKind,
    shape: Shape,
    kept: Shape,
}

impl Kernel for Shifted {
    fn name(&self) -> &'static str {
        match self.kind {
            ShiftedKind::LogSumExp => "logsumexp",
            ShiftedKind::Softmax => "softmax",
            ShiftedKind::LogSoftmax => "log_softmax",
        }
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let src = inputs[0];
        match self.kind {
            ShiftedKind::LogSumExp => {
                // From the pool: a large buffer freed and allocated again on
                // every call was page-faulted in each time.
                let mut exps = crate::buffer_pool::for_overwrite(src.len());
                let (shifts, sums) = shifted_exp_sums(src, &self.shape, &self.kept, &mut exps);
                for ((o, m), s) in out.iter_mut().zip(&shifts).zip(&sums) {
                    *o = m + s.ln();
                }
                crate::buffer_pool::give_back(exps);
            }
            ShiftedKind::Softmax => {
                let (_, sums) = shifted_exp_sums(src, &self.shape, &self.kept, out);
                for_each_grouped(&self.shape, &self.kept, |i, o| out[i] /= sums[o]);
            }
            ShiftedKind::LogSoftmax => {
                let (shifts, sums) = shifted_exp_sums(src, &self.shape, &self.kept, out);
                let log_sums: Vec<f64> = sums.iter().map(|s| s.ln()).collect();
                for_each_grouped(&self.shape, &self.kept, |i, o| {
                    out[i] = src[i] - shifts[o] - log_sums[o]
                });
            }
        }
    }
}

impl Tensor {
    /// `ln(sum(exp(x)))` over all elements, as a scalar; see
    /// [`logsumexp_axes`](Tensor::logsumexp_axes).
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let t = Tensor::from([1000.0, 1000.0]);
    /// assert!((t.logsumexp().item() - (1000.0 + 2f64.ln())).abs() < 1e-12);
    /// ```
    pub fn logsumexp(&self) -> Tensor {
        self.logsumexp_axes(&all_axes(self.ndim()), false)
    }

    /// `ln(sum(exp(x)))` over `axes`, computed as `m + ln(sum(exp(x - m)))`
    /// with `m` the group's maximum, so large inputs do not overflow (a group
    /// whose maximum is infinite is not shifted). An empty group gives `-inf`.
    /// The gradient is the softmax of the group.
    ///
    /// ```
    /// use jaxpurify_runtime::{grad, Tensor};
    /// let t = Tensor::from([[0.0, 3f64.ln()], [1000.0, 1000.0]]);
    /// let lse = t.logsumexp_axes(&[-1], false).to_vec();
    /// assert!((lse[0] - 4f64.ln()).abs() < 1e-15 && (lse[1] - 1000.0 - 2f64.ln()).abs() < 1e-12);
    /// let g = grad(|x: &Tensor| x.logsumexp(), &Tensor::from([0.0, 3f64.ln()]));
    /// assert!((g.to_vec()[1] - 0.75).abs() < 1e-15);
    /// ```
    #[track_caller]
    pub fn logsumexp_axes(&self, axes: &[isize], keepdim: bool) -> Tensor {
        let (kept, dropped) = reduced_shapes(self.shape(), axes, "logsumexp_axes");
        let kernel = Shifted {
            kind: ShiftedKind::LogSumExp,
            shape: self.shape().clone(),
            kept: kept.clone(),
        };
        let shape = if keepdim { kept.clone() } else { dropped };
        // d lse / dx_i = exp(x_i - lse), the softmax of the group, computed
        // from shifted inputs: exp(x - lse) would lose digits when |x| is large.
        apply_op(&kernel, &[self], shape, move |c| {
            let softmax = softmax_over_groups(&c.inputs[0], kept.clone());
            smallvec![Some(c.grad.reshape(&kept) * softmax)]
        })
    }

    /// `exp(x - logsumexp(x))` along `axis`: non-negative values that sum to 1
    /// along it, computed as `exp(x - m) / sum(exp(x - m))` with `m` the
    /// maximum along the axis, so large inputs give finite results.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let p = Tensor::from([1000.0, 1000.0]).softmax(0);
    /// assert_eq!(p.to_vec(), vec![0.5, 0.5]);
    /// let rows = Tensor::from([[0.0, 3f64.ln()], [5.0, 5.0]]).softmax(-1).to_vec();
    /// assert!((rows[1] - 0.75).abs() < 1e-15 && (rows[2] - 0.5).abs() < 1e-15);
    /// ```
    ///
    /// # Panics
    /// When the axis is out of range.
    #[track_caller]
    pub fn softmax(&self, axis: isize) -> Tensor {
        let (kept, _) = reduced_shapes(self.shape(), &[axis], "softmax");
        softmax_over_groups(self, kept)
    }

    /// `x - logsumexp(x)` along `axis`, the logarithm of
    /// [`softmax`](Tensor::softmax) without its rounding to 0 for very
    /// unlikely entries.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let y = Tensor::from([0.0, 3f64.ln()]).log_softmax(0).to_vec();
    /// assert!((y[0] - 0.25f64.ln()).abs() < 1e-15 && (y[1] - 0.75f64.ln()).abs() < 1e-15);
    /// assert_eq!(Tensor::from([0.0, -2000.0]).log_softmax(0).to_vec(), vec![0.0, -2000.0]);
    /// ```
    ///
    /// # Panics
    /// When the axis is out of range.
    #[track_caller]
    pub fn log_softmax(&self, axis: isize) -> Tensor {
        let (kept, _) = reduced_shapes(self.shape(), &[axis], "log_softmax");
        let kernel = Shifted {
            kind: ShiftedKind::LogSoftmax,
            shape: self.shape().clone(),
            kept: kept.clone(),
        };
        // For y = log_softmax(x): dx = g - exp(y) * sum(g), summed along the axis.
        apply_op(&kernel, &[self], self.shape().clone(), move |c| {
            smallvec![Some(c.grad - c.output.exp() * c.grad.sum_to(&kept))]
        })
    }
}

/// The softmax over each group of `kept` (`x`'s shape with the reduced axes
/// set to 1).
fn softmax_over_groups(x: &Tensor, kept: Shape) -> Tensor {
    let kernel = Shifted {
        kind: ShiftedKind::Softmax,
        shape: x.shape().clone(),
        kept: kept.clone(),
    };
    // For y = softmax(x): dx = y * (g - sum(g * y)), summing over each group.
    apply_op(&kernel, &[x], x.shape().clone(), move |c| {
        let y = c.output;
        smallvec![Some(y * (c.grad - (c.grad * y).sum_to(&kept)))]
    })
}

/// For each group of `kept`: the shift `m` (the group's maximum, or 0 when
/// that is infinite) and `sum(exp(x - m))`, with each `exp(x - m)` left in
/// `exps`. With the maximum subtracted no exponent is positive, so large
/// inputs cannot overflow. Working with `x - m` rather than
/// `x - logsumexp` keeps full precision for large inputs. The exponentials
/// are computed for all values at once (`ops/elementary.rs`).
fn shifted_exp_sums(src: &[f64], shape: &Shape, kept: &Shape, exps: &mut [f64]) -> (Vec<f64>, Vec<f64>) {
    let shifts: Vec<f64> = fold_groups(src, shape, kept, f64::NEG_INFINITY, f64::max)
        .into_iter()
        .map(|m| if m.is_finite() { m } else { 0.0 })
        .collect();
    for_each_grouped(shape, kept, |i, o| exps[i] = src[i] - shifts[o]);
    super::elementary::exp_in_place(exps);
    let mut sums = vec![0.0; kept.numel()];
    for_each_grouped(shape, kept, |i, o| sums[o] += exps[i]);
    (shifts, sums)
}

#[cfg(test)]
mod tests {
    use super::super::reduce::tests::{check_second_derivatives, scrambled};
    use crate::testing::check_grad;
    use crate::{Tensor, grad, hvp};

    fn assert_close(actual: &Tensor, expected: &[f64]) {
        assert_eq!(actual.numel(), expected.len());
        for (a, e) in actual.as_slice().iter().zip(expected) {
            assert!((a - e).abs() <= 1e-15 * e.abs().max(1.0), "{a} vs {e}");
        }
    }

    #[test]
    fn logsumexp_by_hand_and_its_gradient_is_the_softmax() {
        // Rows [0, ln 3] and [ln 2, ln 2]: ln(1 + 3) = ln(2 + 2) = ln 4. The
        // gradient is the row's softmax times its weight: [1/4, 3/4] * 1 and
        // [1/2, 1/2] * 2.
        let x = Tensor::from([[0.0, 3f64.ln()], [2f64.ln(), 2f64.ln()]]);
        assert_close(&x.logsumexp_axes(&[1], false), &[4f64.ln(), 4f64.ln()]);
        let w = Tensor::from([1.0, 2.0]);
        let g = grad(|x: &Tensor| (x.logsumexp_axes(&[-1], false) * &w).sum(), &x);
        assert_close(&g, &[0.25, 0.75, 1.0, 1.0]);
        // The Hessian is diag(p) - p p^T; for p = [1/4, 3/4] its first column
        // is [1/4 - 1/16, -3/16] = [3/16, -3/16].
        let hv = hvp(
            |x: &Tensor| x.logsumexp(),
            &Tensor::from([0.0, 3f64.ln()]),
            &Tensor::from([1.0, 0.0]),
        );
        assert_close(&hv, &[3.0 / 16.0, -3.0 / 16.0]);
    }

    #[test]
    fn logsumexp_is_stable_for_large_and_infinite_inputs() {
        // ln(e^1000 + e^1001) = 1001 + ln(1 + 1/e); computed naively, e^1000 overflows.
        let x = Tensor::from([1000.0, 1001.0]);
        assert_close(&x.logsumexp(), &[1001.0 + (-1f64).exp().ln_1p()]);
        let g = grad(|x: &Tensor| x.logsumexp(), &x);
        let e = 1f64.exp();
        assert_close(&g, &[1.0 / (1.0 + e), e / (1.0 + e)]);
        let inf = f64::INFINITY;
        assert_eq!(Tensor::from([-inf, -inf]).logsumexp().item(), -inf);
        assert_eq!(Tensor::from([inf, 0.0]).logsumexp().item(), inf);
        assert_eq!(Tensor::zeros([0]).logsumexp().item(), -inf);
    }

    #[test]
    fn softmax_and_log_softmax_by_hand() {
        // softmax([0, ln 3]) = [1/4, 3/4]. For L = sum(w y) with w = [1, 5]:
        // dL/dx = y (w - sum(w y)) = y (w - 4) = [-3/4, 3/4].
        let x = Tensor::from([0.0, 3f64.ln()]);
        let w = Tensor::from([1.0, 5.0]);
        assert_close(&x.softmax(0), &[0.25, 0.75]);
        assert_close(&grad(|x: &Tensor| (x.softmax(0) * &w).sum(), &x), &[-0.75, 0.75]);
        // log_softmax = [ln 1/4, ln 3/4]; dL/dx = w - softmax * sum(w) = [1 - 6/4, 5 - 18/4].
        assert_close(&x.log_softmax(-1), &[0.25f64.ln(), 0.75f64.ln()]);
        assert_close(
            &grad(|x: &Tensor| (x.log_softmax(-1) * &w).sum(), &x),
            &[-0.5, 0.5],
        );
    }

    #[test]
    fn softmax_and_log_softmax_are_stable_for_large_inputs() {
        // softmax([1000, 1001]) = [1, e] / (1 + e); log_softmax = -ln(1 + e), -ln(1 + 1/e).
        let x = Tensor::from([[1000.0, 1001.0], [-1000.0, -1001.0]]);
        let e = 1f64.exp();
        let p = [1.0 / (1.0 + e), e / (1.0 + e)];
        assert_close(&x.softmax(1), &[p[0], p[1], p[1], p[0]]);
        let lp = [-e.ln_1p(), -(1.0 / e).ln_1p()];
        assert_close(&x.log_softmax(1), &[lp[0], lp[1], lp[1], lp[0]]);
        // Along axis 0 the gap is 2000: the small entry underflows to 0 in
        // softmax but stays exact in log_softmax.
        assert_eq!(x.softmax(0).to_vec(), vec![1.0, 1.0, 0.0, 0.0]);
        assert_eq!(x.log_softmax(0).to_vec(), vec![0.0, 0.0, -2000.0, -2002.0]);
        for g in [
            grad(|x: &Tensor| (x.softmax(1) * &x.detach()).sum(), &x),
            grad(|x: &Tensor| (x.log_softmax(0) * &x.detach()).sum(), &x),
        ] {
            assert!(g.as_slice().iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn softmax_sums_to_one_along_its_axis_and_gradients_match_central_differences() {
        let x = scrambled(&[2, 3, 4]);
        for axis in [0, 1, 2, -1, -3] {
            let sums = x.softmax(axis).sum_axes(&[axis], false);
            assert!(sums.as_slice().iter().all(|s| (s - 1.0).abs() < 1e-15));
            check_grad(|v| v[0].softmax(axis), std::slice::from_ref(&x)).assert_ok_for("softmax");
            check_grad(|v| v[0].log_softmax(axis), std::slice::from_ref(&x)).assert_ok_for("log_softmax");
        }
    }

    #[test]
    fn second_derivatives() {
        let x = scrambled(&[3, 4]);
        check_second_derivatives("logsumexp_axes", |x| x.logsumexp_axes(&[-1], true), &x);
        check_second_derivatives("logsumexp", |x| x.logsumexp(), &x);
        for axis in [0, -1] {
            check_second_derivatives("softmax", |x| x.softmax(axis), &x);
            check_second_derivatives("log_softmax", |x| x.log_softmax(axis), &x);
        }
    }

    #[test]
    #[should_panic(expected = "softmax: axis 1 is out of range for a tensor with 1 dimensions")]
    fn bad_axis_names_the_op() {
        let _ = Tensor::zeros([3]).softmax(1);
    }

    #[test]
    fn compiled_derivatives_match_where_the_maximum_moves() {
        let w = scrambled(&[2, 3]);
        let loss = |x: &Tensor| {
            let probabilities = x.softmax(-1) + x.log_softmax(0);
            (probabilities * &w).sum() + x.logsumexp() * x.logsumexp_axes(&[1], false).sum()
        };
        let f = |x: &Tensor| {
            let (value, gradient) = crate::value_and_grad(loss, x);
            (value, gradient, hvp(loss, x, &w))
        };
        let at = Tensor::from([[3.0, 1.0, -2.0], [0.5, 2.0, 1.0]]);
        // Each row's and each column's maximum, subtracted before
        // exponentiating, is at another element here.
        let moved = Tensor::from([[-1.0, 0.0, 4.0], [2.5, -3.0, 1.5]]);
        crate::testing::assert_compiles_exactly(f, &at, &[moved]);
    }
}
