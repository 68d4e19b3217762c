//! Cumulative ops along an axis: `cumsum`, `cumprod` and `diff`.
//!
//! `cumsum` and `cumprod` are both the first-order linear recurrence
//! `h[i] = a[i] h[i - 1] + b[i]` (with `a = 1, b = x` for the sum, and
//! `a = x`, `b = x[0]` then zeros for the product). The adjoint of that
//! recurrence is the same recurrence run from the other end, and its
//! derivative in `a` needs only `h` shifted by one, so one kernel and one
//! shift are closed under differentiation: derivatives of every order are
//! exact, and `cumprod`'s never divide by `x`, so zeros are no special case.

use super::reduce::split_at_axis;
use crate::autodiff::graph::apply_op;
use crate::compile::kernel::Kernel;
use crate::shape::normalize_axis;
use crate::tensor::Tensor;
use smallvec::smallvec;

impl Tensor {
    /// The running sum along `axis` (negative counts from the end), NumPy's
    /// `cumsum` with an axis. The derivative sums the gradient from the end:
    /// `dx[j] = sum over i >= j of g[i]`.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let x = Tensor::from([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// assert_eq!(x.cumsum(1).to_vec(), vec![1.0, 3.0, 6.0, 4.0, 9.0, 15.0]);
    /// assert_eq!(x.cumsum(0).to_vec(), vec![1.0, 2.0, 3.0, 5.0, 7.0, 9.0]);
    /// ```
    ///
    /// # Panics
    /// When `axis` is out of range (a scalar has no axis).
    #[track_caller]
    pub fn cumsum(&self, axis: isize) -> Tensor {
        let axis = normalize_axis(axis, self.ndim(), "cumsum");
        running_sum(self, axis, false)
    }

    /// The running product along `axis` (negative counts from the end),
    /// NumPy's `cumprod` with an axis.
    ///
    /// The derivative `dx[j] = y[j - 1] sum over i >= j of g[i] x[j+1] ... x[i]`
    /// is computed by the reverse recurrence, never as `y / x`, so it is exact
    /// where elements are zero, and so are the derivatives of higher order.
    ///
    /// ```
    /// use jaxpurify_runtime::{grad, Tensor};
    /// let x = Tensor::from([2.0, 0.0, 3.0]);
    /// assert_eq!(x.cumprod(0).to_vec(), vec![2.0, 0.0, 0.0]);
    /// // d/dx (2 + 0 + 0) where y = [x0, x0 x1, x0 x1 x2]: [1 + x1 + x1 x2, x0 + x0 x2, x0 x1]
    /// assert_eq!(grad(|x: &Tensor| x.cumprod(0).sum(), &x).to_vec(), vec![1.0, 8.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// When `axis` is out of range (a scalar has no axis).
    #[track_caller]
    pub fn cumprod(&self, axis: isize) -> Tensor {
        let axis = normalize_axis(axis, self.ndim(), "cumprod");
        let first = first_along(self, axis);
        linear_recurrence(self, &first, axis, false)
    }

    /// The `n`-th discrete difference along `axis` (NumPy's `diff`):
    /// `x[1:] - x[:-1]`, applied `n` times, so the axis shrinks by `n` (to
    /// zero at most, as in NumPy); `n = 0` returns the tensor unchanged.
    /// Built from slices and a subtraction, so it is differentiable to any
    /// order.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let x = Tensor::from([1.0, 4.0, 9.0, 16.0, 25.0]);
    /// assert_eq!(x.diff(0, 1).to_vec(), vec![3.0, 5.0, 7.0, 9.0]);
    /// assert_eq!(x.diff(-1, 2).to_vec(), vec![2.0, 2.0, 2.0]);
    /// assert_eq!(x.diff(0, 7).shape(), &[0]);
    /// ```
    ///
    /// # Panics
    /// When `axis` is out of range (a scalar has no axis).
    #[track_caller]
    pub fn diff(&self, axis: isize, n: usize) -> Tensor {
        let axis = normalize_axis(axis, self.ndim(), "diff") as isize;
        let mut x = self.clone();
        for _ in 0..n {
            let len = x.shape()[axis as usize];
            if len == 0 {
                break;
            }
            x = x.slice(axis, 1, len, 1) - x.slice(axis, 0, len - 1, 1);
        }
        x
    }
}

/// `h[i] = a[i] h[i - 1] + b[i]` along `axis`, starting from `h[0] = b[0]`
/// (`a[0]` is not used); with `reverse`, `h[i] = a[i] h[i + 1] + b[i]` from
/// the last position. `a` and `b` have one shape.
fn linear_recurrence(a: &Tensor, b: &Tensor, axis: usize, reverse: bool) -> Tensor {
    debug_assert_eq!(a.shape(), b.shape());
    let kernel = Recurrence {
        split: split_at_axis(b.shape(), axis),
        reverse,
        unit: false,
    };
    // With L = <g, h>: lambda = dL/db solves the recurrence run the other way
    // with the coefficients shifted one step (lambda[i] = g[i] + a[i + 1]
    // lambda[i + 1] going forward), and dL/da[i] = lambda[i] h[i - 1].
    apply_op(&kernel, &[a, b], b.shape().clone(), move |c| {
        let [a, h] = [&c.inputs[0], c.output];
        let step = if reverse { -1 } else { 1 };
        let lambda = linear_recurrence(&shifted(a, axis, -step), c.grad, axis, !reverse);
        let da = c.needs(0).then(|| &lambda * shifted(h, axis, step));
        smallvec![da, Some(lambda)]
    })
}

/// `h[i] = h[i - 1] + b[i]` along `axis` (from the last position with
/// `reverse`): the recurrence with unit coefficients, which needs neither
/// them nor a multiplication (`1 h = h` exactly, so the values are those of
/// [`linear_recurrence`] with ones). Its adjoint is the running sum the other
/// way.
fn running_sum(b: &Tensor, axis: usize, reverse: bool) -> Tensor {
    let kernel = Recurrence {
        split: split_at_axis(b.shape(), axis),
        reverse,
        unit: true,
    };
    apply_op(&kernel, &[b], b.shape().clone(), move |c| {
        smallvec![Some(running_sum(c.grad, axis, !reverse))]
    })
}

/// The kernel of [`linear_recurrence`] along the middle axis of a
/// `before x n x after` array, and of [`running_sum`] when `unit` (then the
/// only input is `b`). The innermost loop runs over the contiguous elements
/// after the axis.
#[derive(Clone)]
struct Recurrence {
    split: (usize, usize, usize),
    reverse: bool,
    unit: bool,
}

impl Kernel for Recurrence {
    fn name(&self) -> &'static str {
        if self.unit {
            "running_sum"
        } else {
            "linear_recurrence"
        }
    }

    fn run(&self, inputs: &[&[f64]], h: &mut [f64]) {
        match self.unit {
            true => self.scan(h, inputs[0], |_, previous| previous),
            false => {
                let a = inputs[0];
                self.scan(h, inputs[1], |i, previous| a[i] * previous);
            }
        }
    }
}

impl Recurrence {
    /// `h[i] = carried(i, h[i - 1]) + b[i]` along the axis, in order.
    fn scan(&self, h: &mut [f64], b: &[f64], carried: impl Fn(usize, f64) -> f64) {
        let (before, n, after) = self.split;
        h.copy_from_slice(b);
        if after == 1 {
            // Along the last axis each block is one contiguous lane: a plain
            // scan, the running value kept in a register rather than read
            // back from the element just written.
            for base in (0..before).map(|block| block * n) {
                let mut running = |i: usize, value: &mut f64| {
                    *value = carried(i, *value) + b[i];
                    h[i] = *value;
                };
                if self.reverse && n > 0 {
                    let mut value = b[base + n - 1];
                    (base..base + n - 1).rev().for_each(|i| running(i, &mut value));
                } else if n > 0 {
                    let mut value = b[base];
                    (base + 1..base + n).for_each(|i| running(i, &mut value));
                }
            }
            return;
        }
        for block in 0..before {
            for step in 1..n {
                let (i, previous) = if self.reverse {
                    (n - 1 - step, n - step)
                } else {
                    (step, step - 1)
                };
                let (row, prev_row) = ((block * n + i) * after, (block * n + previous) * after);
                for k in 0..after {
                    h[row + k] = carried(row + k, h[prev_row + k]) + b[row + k];
                }
            }
        }
    }
}

/// `x` at position 0 along `axis` and zeros elsewhere; a projection, so its
/// own adjoint. (Zeros are written, not multiplied in by a mask, so an
/// infinite `x` does not turn into NaN.)
fn first_along(x: &Tensor, axis: usize) -> Tensor {
    let kernel = FirstAlong {
        split: split_at_axis(x.shape(), axis),
    };
    apply_op(&kernel, &[x], x.shape().clone(), move |c| {
        smallvec![Some(first_along(c.grad, axis))]
    })
}

/// The kernel of [`first_along`] on a `before x n x after` array.
#[derive(Clone)]
struct FirstAlong {
    split: (usize, usize, usize),
}

impl Kernel for FirstAlong {
    fn name(&self) -> &'static str {
        "first_along"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let (before, n, after) = self.split;
        let src = inputs[0];
        out.fill(0.0);
        let blocks = if n == 0 { 0 } else { before };
        for block in 0..blocks {
            let start = block * n * after;
            out[start..start + after].copy_from_slice(&src[start..start + after]);
        }
    }
}

/// `out[i] = x[i - by]` along `axis`, zero where `i - by` falls outside:
/// the elements move `by` places towards the end (towards the start when
/// negative). Its adjoint is the shift by `-by`.
fn shifted(x: &Tensor, axis: usize, by: isize) -> Tensor {
    let kernel = Shift {
        split: split_at_axis(x.shape(), axis),
        by,
    };
    apply_op(&kernel, &[x], x.shape().clone(), move |c| {
        smallvec![Some(shifted(c.grad, axis, -by))]
    })
}

/// The kernel of [`shifted`] on a `before x n x after` array.
#[derive(Clone)]
struct Shift {
    split: (usize, usize, usize),
    by: isize,
}

impl Kernel for Shift {
    fn name(&self) -> &'static str {
        "shift"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let ((before, n, after), by) = (self.split, self.by);
        let src = inputs[0];
        out.fill(0.0);
        let moved = n.saturating_sub(by.unsigned_abs());
        let (from, to) = if by >= 0 { (0, n - moved) } else { (n - moved, 0) };
        for block in 0..before {
            let base = block * n * after;
            let (src_start, dst_start) = (base + from * after, base + to * after);
            out[dst_start..dst_start + moved * after]
                .copy_from_slice(&src[src_start..src_start + moved * after]);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::reduce::tests::{check_second_derivatives, scrambled};
    use crate::testing::{check_grad, jvp_vjp_pair};
    use crate::{Tensor, grad, hvp};
    use proptest::prelude::*;

    #[test]
    fn contiguous_lanes_scan_as_the_strided_loop_does() {
        // Along the last axis each lane is scanned directly; along the first
        // the general loop runs. Transposed, both see the same lanes, and
        // must give the same bits forwards and in reverse (the gradient).
        let x = Tensor::from([
            [0.3, -1.7, 2.9, 0.11],
            [1.3, 0.7, -0.2, 5.5],
            [0.9, 3.1, -4.2, 1.01],
        ]);
        let w = Tensor::from([
            [1.0, 0.5, -2.0, 3.0],
            [0.25, -1.0, 4.0, 2.0],
            [1.5, 2.5, -0.5, 1.0],
        ]);
        assert_eq!(x.cumprod(1), x.t().cumprod(0).t());
        let along_rows = grad(|x: &Tensor| (x.cumprod(1) * &w).sum(), &x);
        let along_columns = grad(|x: &Tensor| (x.t().cumprod(0).t() * &w).sum(), &x);
        assert_eq!(along_rows, along_columns);
    }

    #[test]
    fn cumsum_values_and_reverse_summed_gradient() {
        // np.cumsum([[1, 2, 3], [4, 5, 6]], axis=-1) = [[1, 3, 6], [4, 9, 15]]
        let x = Tensor::from([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
        assert_eq!(x.cumsum(-1).to_vec(), vec![1.0, 3.0, 6.0, 4.0, 9.0, 15.0]);
        // L = sum(w cumsum(x)) along the rows, w = [[1, 2, 3], [4, 5, 6]]:
        // dL/dx[j] = sum over i >= j of w[i] = [6, 5, 3] and [15, 11, 6].
        let g = grad(|v: &Tensor| (v.cumsum(1) * &x).sum(), &x);
        assert_eq!(g.to_vec(), vec![6.0, 5.0, 3.0, 15.0, 11.0, 6.0]);
        assert_eq!(Tensor::zeros([2, 0]).cumsum(1).shape(), &[2, 0]);
        assert_eq!(Tensor::zeros([2, 0, 3]).cumprod(1).shape(), &[2, 0, 3]);
    }

    #[test]
    fn cumprod_gradient_is_exact_at_zeros() {
        // np.cumprod([2, 0, 3, 4]) = [2, 0, 0, 0]. With L = sum(w y), w = [1, 2, 3, 4],
        // dL/dx[j] = sum over i >= j of w[i] prod_{k <= i, k != j} x[k]:
        // dx0 = 1 + 2 x1 + 3 x1 x2 + 4 x1 x2 x3 = 1,
        // dx1 = 2 x0 + 3 x0 x2 + 4 x0 x2 x3 = 4 + 18 + 96 = 118,
        // dx2 = 3 x0 x1 + 4 x0 x1 x3 = 0, dx3 = 4 x0 x1 x2 = 0 (y / x would give NaN at x1).
        let x = Tensor::from([2.0, 0.0, 3.0, 4.0]);
        assert_eq!(x.cumprod(0).to_vec(), vec![2.0, 0.0, 0.0, 0.0]);
        let w = Tensor::from([1.0, 2.0, 3.0, 4.0]);
        let g = grad(|x: &Tensor| (x.cumprod(0) * &w).sum(), &x);
        assert_eq!(g.to_vec(), vec![1.0, 118.0, 0.0, 0.0]);
        // At x = [0, 0, 3] the gradient of x0 + x0 x1 + x0 x1 x2 is [1, 0, 0],
        // but its Hessian is not zero: d2/dx0 dx1 = 1 + x2 = 4, d2/dx0 dx2 = x1 = 0,
        // so H [1, 0, 0] = [0, 4, 0].
        let two_zeros = Tensor::from([0.0, 0.0, 3.0]);
        assert_eq!(
            grad(|x: &Tensor| x.cumprod(0).sum(), &two_zeros).to_vec(),
            vec![1.0, 0.0, 0.0]
        );
        let hv = hvp(
            |x: &Tensor| x.cumprod(0).sum(),
            &two_zeros,
            &Tensor::from([1.0, 0.0, 0.0]),
        );
        assert_eq!(hv.to_vec(), vec![0.0, 4.0, 0.0]);
        // An infinite element stays infinite rather than becoming NaN.
        assert_eq!(
            Tensor::from([2.0, f64::INFINITY]).cumprod(0).to_vec(),
            vec![2.0, f64::INFINITY]
        );
    }

    #[test]
    fn cumulative_ops_match_central_differences_along_every_axis() {
        let x = scrambled(&[2, 3, 4]);
        for axis in [0, 1, 2, -1] {
            check_grad(|v| v[0].cumsum(axis), std::slice::from_ref(&x)).assert_ok_for("cumsum");
            check_grad(|v| v[0].cumprod(axis), std::slice::from_ref(&x)).assert_ok_for("cumprod");
            for n in 0..4 {
                check_grad(|v| v[0].diff(axis, n), std::slice::from_ref(&x)).assert_ok_for("diff");
            }
        }
        let with_zeros = Tensor::from([[0.0, 1.5, 0.0, 2.0], [2.0, 0.0, -1.0, 0.5]]);
        check_grad(|v| v[0].cumprod(1), &[with_zeros]).assert_ok_for("cumprod with zeros");
    }

    #[test]
    fn second_and_third_derivatives_including_zeros() {
        let x = scrambled(&[3, 4]);
        check_second_derivatives("cumsum''", |x| x.cumsum(1).powi(2), &x);
        check_second_derivatives("cumprod''", |x| x.cumprod(1), &x);
        check_second_derivatives("cumprod'' along axis 0", |x| x.cumprod(0), &x);
        check_second_derivatives("diff''", |x| x.diff(1, 2).powi(3), &x);
        let with_zeros = Tensor::from([[0.0, 1.5, 0.0, 2.0], [2.0, 0.0, 0.0, 0.5]]);
        check_second_derivatives("cumprod'' with zeros", |x| x.cumprod(-1), &with_zeros);
        // Third order: the gradient of a function of the gradient of a function
        // of cumprod, so the recurrence's rule is differentiated twice.
        let inner = |x: &Tensor| grad(|y: &Tensor| y.cumprod(0).powi(2).sum(), x);
        check_grad(
            |v| grad(|x: &Tensor| inner(x).powi(2).sum(), &v[0]),
            &[Tensor::from([0.5, -1.2, 0.0, 2.0])],
        )
        .assert_ok_for("cumprod third order");
    }

    #[test]
    fn forward_mode_agrees_with_reverse_mode() {
        let x = scrambled(&[3, 4]);
        let v = Tensor::linspace(-1.0, 1.3, 12).reshape([3, 4]);
        type Op = fn(&Tensor) -> Tensor;
        let ops: [(&str, Op); 3] = [
            ("cumsum", |x| x.cumsum(0)),
            ("cumprod", |x| x.cumprod(-1)),
            ("diff", |x| x.diff(1, 2)),
        ];
        for (name, f) in ops {
            let (forward, reverse) = jvp_vjp_pair(f, &x, &v);
            assert!(
                (forward - reverse).abs() < 1e-12,
                "{name}: {forward} vs {reverse}"
            );
        }
    }

    #[test]
    fn diff_by_hand() {
        // np.diff([[1, 4, 9], [2, 2, 7]], axis=0) = [[1, -2, -2]];
        // np.diff([[1, 4, 9], [2, 2, 7]], n=2) = [[2], [5]].
        let x = Tensor::from([[1.0, 4.0, 9.0], [2.0, 2.0, 7.0]]);
        assert_eq!(x.diff(0, 1).to_vec(), vec![1.0, -2.0, -2.0]);
        assert_eq!(x.diff(1, 2).to_vec(), vec![2.0, 5.0]);
        assert_eq!(x.diff(1, 0), x);
        // L = sum(w diff(x)) for 1-d x: dL/dx = [-w0, w0 - w1, w1 - w2, w2].
        let w = Tensor::from([1.0, 3.0, 7.0]);
        let g = grad(
            |x: &Tensor| (x.diff(0, 1) * &w).sum(),
            &Tensor::from([1.0, 4.0, 9.0, 16.0]),
        );
        assert_eq!(g.to_vec(), vec![-1.0, -2.0, -4.0, 7.0]);
    }

    proptest! {
        #[test]
        fn diff_undoes_cumsum(values in proptest::collection::vec(-10.0f64..10.0, 1..30)) {
            let recovered = Tensor::from(values.clone()).cumsum(0).diff(0, 1);
            for (r, v) in recovered.as_slice().iter().zip(&values[1..]) {
                prop_assert!((r - v).abs() < 1e-12);
            }
        }

        #[test]
        fn cumprod_of_positives_is_exp_of_cumsum_of_logs(
            values in proptest::collection::vec(0.1f64..3.0, 1..30),
        ) {
            let x = Tensor::from(values);
            let via_logs = x.ln().cumsum(0).exp();
            for (a, b) in x.cumprod(0).as_slice().iter().zip(via_logs.as_slice()) {
                prop_assert!((a - b).abs() <= 1e-10 * a.abs());
            }
        }
    }

    #[test]
    #[should_panic(expected = "cumsum: axis 0 is out of range for a tensor with 0 dimensions")]
    fn a_scalar_has_no_axis_to_accumulate() {
        let _ = Tensor::scalar(1.0).cumsum(0);
    }

    #[test]
    fn compiled_cumulative_ops_match_with_zeros_in_the_products() {
        let w = scrambled(&[2, 4]);
        let loss = |x: &Tensor| {
            let running = x.cumsum(1) * x.cumprod(-1) + x.cumprod(0);
            (running * &w).sum() + x.diff(1, 2).square().sum() + x.diff(0, 1).sin().sum()
        };
        let f = |x: &Tensor| {
            let (value, gradient) = crate::value_and_grad(loss, x);
            (value, gradient, hvp(loss, x, &w))
        };
        let at = Tensor::from([[1.5, -0.5, 2.0, 0.75], [0.25, 3.0, -1.0, 1.25]]);
        // Zeros first, inside and last in a row, and two in one column.
        let zeros = Tensor::from([[0.0, 2.0, 0.0, -1.5], [0.0, 0.5, 1.5, 0.0]]);
        crate::testing::assert_compiles_exactly(f, &at, &[zeros]);
    }
}
