//! Max and min over all elements or over axes, whose gradient goes to the
//! extreme element, and the index-valued arg-max and arg-min.

use super::broadcast::reduced_shapes;
use super::reduce::{all_axes, fold_groups, split_at_axis};
use crate::autodiff::graph::{apply_constant, apply_op};
use crate::compile::kernel::Kernel;
use crate::shape::{Shape, for_each_grouped, normalize_axis};
use crate::tensor::Tensor;
use smallvec::smallvec;

impl Tensor {
    /// The largest element, as a scalar; see [`max_axes`](Tensor::max_axes).
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// assert_eq!(Tensor::from([1.0, 5.0, 2.0]).max().item(), 5.0);
    /// ```
    ///
    /// # Panics
    /// When the tensor has no elements.
    #[track_caller]
    pub fn max(&self) -> Tensor {
        extremum(
            self,
            &all_axes(self.ndim()),
            false,
            "max",
            beats_for_max,
            f64::NEG_INFINITY,
        )
    }

    /// The largest element over `axes`. A NaN anywhere in a group makes its
    /// maximum NaN, as in NumPy.
    ///
    /// The gradient goes to the element that is the maximum. When several
    /// elements tie, each gets an equal share (`1/k` of the gradient for `k`
    /// tied elements), so the gradient is the average of the one-sided
    /// choices and still sums to the upstream gradient.
    ///
    /// ```
    /// use jaxpurify_runtime::{grad, Tensor};
    /// let t = Tensor::from([[1.0, 5.0], [4.0, 2.0]]);
    /// assert_eq!(t.max_axes(&[-1], false).to_vec(), vec![5.0, 4.0]);
    /// let g = grad(|x: &Tensor| x.max(), &Tensor::from([3.0, 1.0, 3.0]));
    /// assert_eq!(g.to_vec(), vec![0.5, 0.0, 0.5]);
    /// ```
    ///
    /// # Panics
    /// When a reduced axis has length 0 (the maximum of nothing is undefined).
    #[track_caller]
    pub fn max_axes(&self, axes: &[isize], keepdim: bool) -> Tensor {
        extremum(self, axes, keepdim, "max_axes", beats_for_max, f64::NEG_INFINITY)
    }

    /// The smallest element, as a scalar; see [`min_axes`](Tensor::min_axes).
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// assert_eq!(Tensor::from([1.0, -5.0, 2.0]).min().item(), -5.0);
    /// ```
    ///
    /// # Panics
    /// When the tensor has no elements.
    #[track_caller]
    pub fn min(&self) -> Tensor {
        extremum(
            self,
            &all_axes(self.ndim()),
            false,
            "min",
            beats_for_min,
            f64::INFINITY,
        )
    }

    /// The smallest element over `axes`; NaN propagates and tied elements
    /// share the gradient equally, as for [`max_axes`](Tensor::max_axes).
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let t = Tensor::from([[1.0, 5.0], [4.0, 2.0]]);
    /// assert_eq!(t.min_axes(&[0], true).to_vec(), vec![1.0, 2.0]);
    /// ```
    ///
    /// # Panics
    /// When a reduced axis has length 0.
    #[track_caller]
    pub fn min_axes(&self, axes: &[isize], keepdim: bool) -> Tensor {
        extremum(self, axes, keepdim, "min_axes", beats_for_min, f64::INFINITY)
    }

    /// The row-major index of the largest element, as an `f64` scalar. The
    /// first of tied elements wins, and a NaN counts as largest, as in
    /// NumPy. Not differentiable: the result carries no gradient.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// assert_eq!(Tensor::from([[1.0, 7.0], [7.0, 2.0]]).argmax().item(), 1.0);
    /// ```
    ///
    /// # Panics
    /// When the tensor has no elements.
    #[track_caller]
    pub fn argmax(&self) -> Tensor {
        arg_extremum(&self.flattened(), 0, false, "argmax", beats_for_max)
    }

    /// The index along `axis` of the largest element, as `f64`; ties and NaN
    /// as for [`argmax`](Tensor::argmax). Not differentiable.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let t = Tensor::from([[1.0, 7.0], [9.0, 2.0]]);
    /// assert_eq!(t.argmax_axis(-1, false).to_vec(), vec![1.0, 0.0]);
    /// assert_eq!(t.argmax_axis(0, true).to_vec(), vec![1.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// When the axis is out of range or has length 0.
    #[track_caller]
    pub fn argmax_axis(&self, axis: isize, keepdim: bool) -> Tensor {
        arg_extremum(self, axis, keepdim, "argmax_axis", beats_for_max)
    }

    /// The row-major index of the smallest element, as an `f64` scalar; the
    /// first of tied elements wins and a NaN counts as smallest. Not
    /// differentiable.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// assert_eq!(Tensor::from([3.0, -1.0, -1.0]).argmin().item(), 1.0);
    /// ```
    ///
    /// # Panics
    /// When the tensor has no elements.
    #[track_caller]
    pub fn argmin(&self) -> Tensor {
        arg_extremum(&self.flattened(), 0, false, "argmin", beats_for_min)
    }

    /// The index along `axis` of the smallest element, as `f64`. Not
    /// differentiable.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let t = Tensor::from([[1.0, 7.0], [9.0, 2.0]]);
    /// assert_eq!(t.argmin_axis(1, false).to_vec(), vec![0.0, 1.0]);
    /// ```
    ///
    /// # Panics
    /// When the axis is out of range or has length 0.
    #[track_caller]
    pub fn argmin_axis(&self, axis: isize, keepdim: bool) -> Tensor {
        arg_extremum(self, axis, keepdim, "argmin_axis", beats_for_min)
    }

    /// The values as a 1-d tensor (for the index-valued ops).
    fn flattened(&self) -> Tensor {
        self.with_shape(Shape::from(self.numel()))
    }
}

/// Whether `candidate` replaces `best` as the maximum: NaN beats any
/// number, and among equals the first stays.
fn beats_for_max(candidate: f64, best: f64) -> bool {
    candidate > best || (candidate.is_nan() && !best.is_nan())
}

/// Whether `candidate` replaces `best` as the minimum (NaN beats any number).
fn beats_for_min(candidate: f64, best: f64) -> bool {
    candidate < best || (candidate.is_nan() && !best.is_nan())
}

/// Max or min over `axes` (by `beats`, starting from `identity`), with the
/// gradient shared equally among the elements equal to the result.
#[track_caller]
fn extremum(
    x: &Tensor,
    axes: &[isize],
    keepdim: bool,
    op: &'static str,
    beats: fn(f64, f64) -> bool,
    identity: f64,
) -> Tensor {
    let (kept, dropped) = reduced_shapes(x.shape(), axes, op);
    assert!(
        x.numel() > 0 || kept.numel() == 0,
        "{op}: cannot reduce an axis of length 0 in shape {}",
        x.shape()
    );
    let kernel = Extremum {
        name: op,
        shape: x.shape().clone(),
        kept: kept.clone(),
        beats,
        identity,
    };
    let shape = if keepdim { kept.clone() } else { dropped };
    // d max / dx_i = 1/k for each of the k elements equal to the max, else 0.
    apply_op(&kernel, &[x], shape, move |c| {
        let ties = TieShares {
            shape: c.inputs[0].shape().clone(),
            kept: kept.clone(),
        };
        let shares = apply_constant(&ties, &[&c.inputs[0], c.output], c.inputs[0].shape().clone());
        smallvec![Some(c.grad.reshape(&kept) * shares)]
    })
}

/// The kernel of max and min over the groups of `kept`: the value that
/// `beats` every other of its group, starting from `identity`.
#[derive(Clone)]
struct Extremum {
    name: &'static str,
    shape: Shape,
    kept: Shape,
    beats: fn(f64, f64) -> bool,
    identity: f64,
}

impl Kernel for Extremum {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let beats = self.beats;
        let values = fold_groups(inputs[0], &self.shape, &self.kept, self.identity, |best, v| {
            if beats(v, best) { v } else { best }
        });
        out.copy_from_slice(&values);
    }
}

/// The kernel of the gradient's constant shares: given the input and each
/// group's extreme value, `1/k` where an element equals its group's extreme
/// (NaN matching NaN), `k` being how many do, and 0 elsewhere.
#[derive(Clone)]
struct TieShares {
    shape: Shape,
    kept: Shape,
}

impl Kernel for TieShares {
    fn name(&self) -> &'static str {
        "tie_shares"
    }

    fn run(&self, inputs: &[&[f64]], shares: &mut [f64]) {
        let (src, extreme) = (inputs[0], inputs[1]);
        let is_extreme = |v: f64, e: f64| v == e || (v.is_nan() && e.is_nan());
        let mut ties = vec![0.0; self.kept.numel()];
        for_each_grouped(&self.shape, &self.kept, |i, o| {
            if is_extreme(src[i], extreme[o]) {
                ties[o] += 1.0;
            }
        });
        shares.fill(0.0);
        for_each_grouped(&self.shape, &self.kept, |i, o| {
            if is_extreme(src[i], extreme[o]) {
                shares[i] = 1.0 / ties[o];
            }
        });
    }
}

/// The index along `axis` of the first element that no later one `beats`,
/// for every position of the other axes, as values that carry no gradient.
#[track_caller]
fn arg_extremum(
    x: &Tensor,
    axis: isize,
    keepdim: bool,
    op: &'static str,
    beats: fn(f64, f64) -> bool,
) -> Tensor {
    let (kept, dropped) = reduced_shapes(x.shape(), &[axis], op);
    let (before, n, after) = split_at_axis(x.shape(), normalize_axis(axis, x.ndim(), op));
    assert!(
        n > 0 || kept.numel() == 0,
        "{op}: cannot reduce an axis of length 0 in shape {}",
        x.shape()
    );
    let kernel = ArgExtremum {
        name: op,
        before,
        n,
        after,
        beats,
    };
    apply_constant(&kernel, &[x], if keepdim { kept } else { dropped })
}

/// The kernel of arg-max and arg-min along the middle axis of a
/// `before x n x after` array.
#[derive(Clone)]
struct ArgExtremum {
    name: &'static str,
    before: usize,
    n: usize,
    after: usize,
    beats: fn(f64, f64) -> bool,
}

impl Kernel for ArgExtremum {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let (src, n, after) = (inputs[0], self.n, self.after);
        let mut indices = out.iter_mut();
        for b in 0..self.before {
            for a in 0..after {
                let at = |k: usize| src[(b * n + k) * after + a];
                let best = (1..n).fold(0, |best, k| if (self.beats)(at(k), at(best)) { k } else { best });
                if let Some(slot) = indices.next() {
                    *slot = best as f64;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Tensor, grad, hvp};

    #[test]
    fn gradient_goes_to_the_extreme_element_and_ties_share_it() {
        // Row maxima of [[1, 5, 5], [4, 2, 0]] are [5, 4]; with L = 2 m0 + 3 m1
        // the two tied 5s get 2/2 each and the 4 gets 3.
        let x = Tensor::from([[1.0, 5.0, 5.0], [4.0, 2.0, 0.0]]);
        assert_eq!(x.max_axes(&[-1], false).to_vec(), vec![5.0, 4.0]);
        let w = Tensor::from([2.0, 3.0]);
        let g = grad(|x: &Tensor| (x.max_axes(&[-1], false) * &w).sum(), &x);
        assert_eq!(g.to_vec(), vec![0.0, 1.0, 1.0, 3.0, 0.0, 0.0]);
        // Column minima, kept as [1, 3]: [[1, 2, 0]]; with weights [[1, 2, 3]]
        // each weight lands on its column's minimum.
        let w = Tensor::from([[1.0, 2.0, 3.0]]);
        assert_eq!(x.min_axes(&[0], true).to_vec(), vec![1.0, 2.0, 0.0]);
        let g = grad(|x: &Tensor| (x.min_axes(&[0], true) * &w).sum(), &x);
        assert_eq!(g.to_vec(), vec![1.0, 0.0, 0.0, 0.0, 2.0, 3.0]);
        // Over all elements the two 5s tie: half each.
        let g = grad(|x: &Tensor| x.max(), &x);
        assert_eq!(g.to_vec(), vec![0.0, 0.5, 0.5, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn max_is_piecewise_linear_so_its_second_derivative_is_zero() {
        let x = Tensor::from([[0.3, -1.0], [2.0, 1.5]]);
        let hv = hvp(
            |x: &Tensor| x.max_axes(&[0], false).sum(),
            &x,
            &Tensor::ones([2, 2]),
        );
        assert_eq!(hv.to_vec(), vec![0.0; 4]);
    }

    #[test]
    fn nan_propagates_and_takes_the_gradient() {
        let x = Tensor::from([1.0, f64::NAN, 3.0]);
        assert!(x.max().item().is_nan() && x.min().item().is_nan());
        let g = grad(|x: &Tensor| x.max(), &x);
        assert_eq!(g.to_vec(), vec![0.0, 1.0, 0.0]);
        assert_eq!((x.argmax().item(), x.argmin().item()), (1.0, 1.0));
    }

    #[test]
    fn arg_extrema_pick_the_first_of_ties_and_carry_no_gradient() {
        let x = Tensor::from([[2.0, 9.0, 9.0], [-4.0, 1.0, -4.0]]);
        assert_eq!(x.argmax().item(), 1.0);
        assert_eq!(x.argmin().item(), 3.0);
        assert_eq!(x.argmax_axis(-1, false).to_vec(), vec![1.0, 1.0]);
        assert_eq!(x.argmin_axis(1, true).shape(), &[2, 1]);
        assert_eq!(x.argmin_axis(1, true).to_vec(), vec![0.0, 0.0]);
        assert_eq!(x.argmax_axis(0, false).to_vec(), vec![0.0, 0.0, 0.0]);
        assert_eq!(Tensor::scalar(4.0).argmax().shape(), &[]);
        let g = grad(
            |x: &Tensor| {
                assert!(!x.argmax().is_tracked());
                (x * x.argmax_axis(0, false)).sum()
            },
            &x,
        );
        assert_eq!(g.to_vec(), vec![0.0; 6]);
    }

    #[test]
    #[should_panic(expected = "max_axes: cannot reduce an axis of length 0 in shape [2, 0]")]
    fn max_of_nothing_is_refused() {
        let _ = Tensor::zeros([2, 0]).max_axes(&[1], false);
    }

    #[test]
    #[should_panic(expected = "argmin_axis: axis -3 is out of range for a tensor with 2 dimensions")]
    fn arg_extrema_name_the_op_for_bad_axes() {
        let _ = Tensor::zeros([2, 2]).argmin_axis(-3, false);
    }

    #[test]
    fn compiled_extrema_follow_a_new_maximum_and_ties() {
        let w = Tensor::from([2.0, -1.0]);
        let loss = |x: &Tensor| {
            let rows = (x.max_axes(&[-1], false) * &w).sum() + x.min_axes(&[0], true).sum();
            rows * x.sum() + x.max() * x.min()
        };
        let direction = Tensor::from([[1.0, 0.5, -1.0], [2.0, -0.25, 1.5]]);
        let f = |x: &Tensor| {
            let (value, gradient) = crate::value_and_grad(loss, x);
            let indices = [
                x.argmax(),
                x.argmin(),
                x.argmax_axis(0, false),
                x.argmin_axis(-1, true),
            ];
            (value, gradient, hvp(loss, x, &direction), indices)
        };
        let at = Tensor::from([[1.0, 5.0, 2.0], [4.0, -2.0, 3.0]]);
        // Every maximum and minimum is elsewhere, and some are tied: the
        // overall maximum 5 and minimum -1 twice each, and each row's maximum.
        let tied = Tensor::from([[5.0, -1.0, 5.0], [-1.0, 4.0, 4.0]]);
        crate::testing::assert_compiles_exactly(f, &at, &[tied]);
    }
}
