//! Broadcasting, summing back to a shape, reshaping and summation: the ops
//! every other derivative rule leans on.

use crate::autodiff::graph::{apply_op_batched, record_op_batched};
use crate::compile::kernel::{Copy, Kernel};
use crate::shape::{
    Shape, broadcast_strides, broadcasts_to, for_each_grouped, for_each_offset, normalize_axis, tiles_into,
};
use crate::storage::tile_into;
use crate::tensor::Tensor;
use smallvec::smallvec;

/// The kernel of [`Tensor::broadcast_to`].
#[derive(Clone)]
struct BroadcastTo {
    from: Shape,
    to: Shape,
}

impl Kernel for BroadcastTo {
    fn name(&self) -> &'static str {
        "broadcast_to"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        broadcast_into(inputs[0], &self.from, &self.to, out);
    }

    /// A single value spread, or a copy.
    fn elementwise(&self) -> bool {
        self.from == self.to || (self.from.numel() == 1 && tiles_into(&self.from, &self.to))
    }
}

/// Writes `src`, of shape `from`, broadcast to shape `to` into `out`.
pub(crate) fn broadcast_into(src: &[f64], from: &[usize], to: &[usize], out: &mut [f64]) {
    if from == to {
        out.copy_from_slice(src);
    } else if tiles_into(from, to) {
        // Whole copies of the values one after another (a scalar repeated,
        // a bias over a batch): no index arithmetic.
        tile_into(src, out);
    } else if let Some(blocks) = super::blocked::Blocked::spread(from, to) {
        blocks.spread_into(src, out);
    } else {
        let strides = broadcast_strides(from, to);
        for_each_offset(to, &strides, |i, o| out[i] = src[o]);
    }
}

/// The values a full sum adds in four interleaved running sums before
/// adding the result to the previous parts' (a multiple of 4). Summing in
/// parts of a fixed size, whatever the number of threads, lets a compiled
/// program share a large sum between threads with the same bits as one
/// thread and the direct call.
pub(crate) const SUM_CHUNK: usize = 1 << 13;

/// A sum in four interleaved running sums, added pairwise at the end, then
/// the last few values: so that additions do not wait for each other (a
/// single running sum over 10^4 values is a chain of 10^4 dependent
/// additions), which also halves the rounding error's growth. Values may be
/// fed in parts, each but the last a multiple of 4 long.
#[derive(Clone, Copy, Default)]
pub(crate) struct LaneSum {
    lanes: [f64; 4],
    tail: f64,
}

impl LaneSum {
    /// Adds the next part of the values.
    pub(crate) fn feed(&mut self, values: &[f64]) {
        let blocks = values.chunks_exact(4);
        self.tail = blocks.remainder().iter().sum();
        for block in blocks {
            for (lane, v) in self.lanes.iter_mut().zip(block) {
                *lane += v;
            }
        }
    }

    /// The sum of the values fed.
    pub(crate) fn finish(&self) -> f64 {
        let lanes = &self.lanes;
        (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + self.tail
    }
}

/// The sum of `values` as `sum` computes it: a [`LaneSum`] of each part of
/// [`SUM_CHUNK`] values, the parts' sums added in order.
pub(crate) fn full_sum(values: &[f64]) -> f64 {
    let part = |chunk: &[f64]| {
        let mut sum = LaneSum::default();
        sum.feed(chunk);
        sum.finish()
    };
    let mut chunks = values.chunks(SUM_CHUNK);
    let first = part(chunks.next().unwrap_or(&[]));
    chunks.fold(first, |total, chunk| total + part(chunk))
}

/// When summing `from` to `to` adds up contiguous runs of values, one per
/// output (`to` is `from` with its last axes made 1, or dropped on the
/// left): the length of a run.
fn trailing_run(from: &Shape, to: &Shape) -> Option<usize> {
    let (from, to) = (from.dims(), to.dims());
    let skip = from.len().checked_sub(to.len())?;
    // Axes `to` lacks on the left count as 1; `kept` axes match, then only 1s.
    let padded = |i: usize| if i < skip { 1 } else { to[i - skip] };
    let kept = (0..from.len()).take_while(|&i| padded(i) == from[i]).count();
    let rest_is_summed = (kept..from.len()).all(|i| padded(i) == 1);
    let leading_ones = (0..kept).all(|i| i >= skip || from[i] == 1);
    let run: usize = from[kept..].iter().product();
    (rest_is_summed && leading_ones && kept > 0 && run > 1).then_some(run)
}

/// The kernel of [`Tensor::sum_to`].
#[derive(Clone)]
struct SumTo {
    from: Shape,
    to: Shape,
    /// The length of the contiguous run each output sums, when it sums one
    /// ([`trailing_run`]).
    run: Option<usize>,
}

impl Kernel for SumTo {
    fn name(&self) -> &'static str {
        "sum_to"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let src = inputs[0];
        if out.len() == 1 {
            out[0] = full_sum(src);
            return;
        }
        if let Some(run) = self.run {
            // Each output sums a contiguous run (a sum along the last axes,
            // as of each slice of a batch): as the sum of the run alone.
            for (o, run) in out.iter_mut().zip(src.chunks_exact(run)) {
                *o = full_sum(run);
            }
            return;
        }
        out.fill(0.0);
        if tiles_into(&self.to, &self.from) {
            // Summing blocks onto one (a bias's gradient over a batch), in
            // the same order as the general loop below.
            for block in src.chunks_exact(out.len()) {
                for (d, v) in out.iter_mut().zip(block) {
                    *d += v;
                }
            }
        } else {
            for_each_grouped(&self.from, &self.to, |i, o| out[o] += src[i]);
        }
    }

    fn full_sum(&self) -> bool {
        self.to.numel() == 1
    }
}

impl Tensor {
    /// The tensor repeated along stretched dimensions to `shape`, by NumPy's
    /// broadcasting rule.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let t = Tensor::from([1.0, 2.0]).broadcast_to([2, 2]);
    /// assert_eq!(t.to_vec(), vec![1.0, 2.0, 1.0, 2.0]);
    /// ```
    ///
    /// # Panics
    /// When the shape cannot be reached by broadcasting.
    #[track_caller]
    pub fn broadcast_to(&self, shape: impl Into<Shape>) -> Tensor {
        let shape = shape.into();
        if self.shape() == &shape {
            return self.clone();
        }
        assert!(
            broadcasts_to(self.shape(), &shape),
            "broadcast_to: shape {} cannot be broadcast to {}",
            self.shape(),
            shape
        );
        let kernel = BroadcastTo {
            from: self.shape().clone(),
            to: shape.clone(),
        };
        // d/dx broadcast_to(x) sums the gradient back over stretched dimensions.
        apply_op_batched(
            &kernel,
            &[self],
            shape,
            |c| smallvec![Some(c.grad.sum_to(c.inputs[0].shape()))],
            crate::batching::broadcast_to,
        )
    }

    /// Sums over the dimensions that broadcasting stretched, giving `shape`:
    /// the adjoint of [`broadcast_to`](Tensor::broadcast_to), used by every
    /// binary op's derivative.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let t = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(t.sum_to([2]).to_vec(), vec![4.0, 6.0]);
    /// assert_eq!(t.sum_to([2, 1]).to_vec(), vec![3.0, 7.0]);
    /// ```
    ///
    /// # Panics
    /// When this tensor's shape is not a broadcast of `shape`.
    #[track_caller]
    pub fn sum_to(&self, shape: impl Into<Shape>) -> Tensor {
        let shape = shape.into();
        if self.shape() == &shape {
            return self.clone();
        }
        assert!(
            broadcasts_to(&shape, self.shape()),
            "sum_to: shape {} is not a broadcast of {}",
            self.shape(),
            shape
        );
        let kernel = SumTo {
            from: self.shape().clone(),
            to: shape.clone(),
            run: trailing_run(self.shape(), &shape),
        };
        apply_op_batched(
            &kernel,
            &[self],
            shape,
            |c| smallvec![Some(c.grad.broadcast_to(c.inputs[0].shape()))],
            crate::batching::sum_to,
        )
    }

    /// The same values with another shape of equal size.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let t = Tensor::arange(0.0, 6.0, 1.0).reshape([2, 3]);
    /// assert_eq!(t.get(&[1, 0]), 3.0);
    /// ```
    ///
    /// # Panics
    /// When the sizes differ.
    #[track_caller]
    pub fn reshape(&self, shape: impl Into<Shape>) -> Tensor {
        let shape = shape.into();
        assert_eq!(
            shape.numel(),
            self.numel(),
            "reshape: cannot reshape {} ({} elements) to {} ({} elements)",
            self.shape(),
            self.numel(),
            shape,
            shape.numel()
        );
        if self.shape() == &shape {
            return self.clone();
        }
        let out = self.with_shape(shape);
        record_op_batched(
            out,
            &[self],
            &Copy,
            |c| smallvec![Some(c.grad.reshape(c.inputs[0].shape()))],
            crate::batching::reshape,
        )
    }

    /// All elements as a 1-d tensor, in row-major order (NumPy's `flatten`
    /// and `ravel`); a scalar becomes one element. The gradient is the
    /// upstream gradient reshaped back, as for [`reshape`](Tensor::reshape).
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let t = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(t.flatten().to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
    /// assert_eq!(t.flatten().shape(), &[4]);
    /// assert_eq!(Tensor::scalar(5.0).flatten().shape(), &[1]);
    /// ```
    pub fn flatten(&self) -> Tensor {
        self.reshape(self.numel())
    }

    /// The sum of all elements, as a scalar.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// assert_eq!(Tensor::from([1.0, 2.0, 3.0]).sum().item(), 6.0);
    /// ```
    pub fn sum(&self) -> Tensor {
        self.sum_to(Shape::scalar())
    }

    /// Sums over `axes` (negative counts from the end), keeping them as size-1
    /// dimensions when `keepdim`.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let t = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(t.sum_axes(&[0], false).to_vec(), vec![4.0, 6.0]);
    /// assert_eq!(t.sum_axes(&[-1], true).shape(), &[2, 1]);
    /// ```
    #[track_caller]
    pub fn sum_axes(&self, axes: &[isize], keepdim: bool) -> Tensor {
        let (kept, dropped) = reduced_shapes(self.shape(), axes, "sum_axes");
        let summed = self.sum_to(kept);
        if keepdim { summed } else { summed.reshape(dropped) }
    }

    /// The mean of all elements, as a scalar.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// assert_eq!(Tensor::from([1.0, 2.0, 6.0]).mean().item(), 3.0);
    /// ```
    pub fn mean(&self) -> Tensor {
        self.sum() / self.numel() as f64
    }
}

/// The shapes of a reduction over `axes`: with the axes kept as 1, and
/// with them removed.
#[track_caller]
pub(crate) fn reduced_shapes(shape: &Shape, axes: &[isize], op: &str) -> (Shape, Shape) {
    let mut reduce = vec![false; shape.ndim()];
    for &a in axes {
        let a = normalize_axis(a, shape.ndim(), op);
        assert!(!reduce[a], "{op}: axis {a} given twice");
        reduce[a] = true;
    }
    let mut kept = Shape::scalar();
    let mut dropped = Shape::scalar();
    for (&d, &r) in shape.iter().zip(&reduce) {
        kept.push(if r { 1 } else { d });
        if !r {
            dropped.push(d);
        }
    }
    (kept, dropped)
}

#[cfg(test)]
mod tests {
    use crate::testing::check_grad;
    use crate::{Tensor, grad};

    #[test]
    fn tiled_broadcasts_match_elementwise_indexing() {
        // A [2, 3, 4] tensor against trailing parts [3, 4], [1, 4], [1, 1, 4]
        // (the bias-over-a-batch case, which skips index arithmetic): every
        // element is checked against its index, x[i, j, k] op b[.., j?, k].
        let x = crate::testing::distinct_values([2, 3, 4]);
        for small in [vec![3, 4], vec![1, 4], vec![1, 1, 4], vec![4]] {
            let b = crate::testing::distinct_values(&small) + 10.0;
            let at_b = |j: usize, k: usize| match small.len() {
                2 if small[0] == 3 => b.get(&[j, k]),
                2 => b.get(&[0, k]),
                3 => b.get(&[0, 0, k]),
                _ => b.get(&[k]),
            };
            let (sum, diff, spread) = (&x + &b, &b - &x, b.broadcast_to([2, 3, 4]));
            for (i, j, k) in (0..24).map(|n| (n / 12, n / 4 % 3, n % 4)) {
                let v = x.get(&[i, j, k]);
                assert_eq!(sum.get(&[i, j, k]), v + at_b(j, k), "{small:?} at {i},{j},{k}");
                assert_eq!(diff.get(&[i, j, k]), at_b(j, k) - v, "{small:?} at {i},{j},{k}");
                assert_eq!(spread.get(&[i, j, k]), at_b(j, k));
            }
            // The sum back onto `small` adds the blocks in order.
            let back = x.sum_to(small.as_slice());
            for (n, &v) in back.as_slice().iter().enumerate() {
                let expected: f64 = (0..24)
                    .filter(|m| match small.as_slice() {
                        [3, 4] => m % 12 == n,
                        _ => m % 4 == n,
                    })
                    .map(|m| x.as_slice()[m])
                    .sum();
                assert!((v - expected).abs() < 1e-12, "{small:?}: {v} vs {expected}");
            }
        }
    }

    #[test]
    fn tiling_fills_every_length_with_whole_copies() {
        // Copies are doubled until the last step, which copies what is left:
        // 1 -> 2 -> 4 -> 7 values, 3 -> 6 -> 12 -> 15; three values stay inline.
        let row = Tensor::from([1.0, 2.0, 3.0]);
        for (src, shape) in [
            (Tensor::scalar(4.0), vec![7]),
            (Tensor::scalar(4.0), vec![3]),
            (row, vec![5, 3]),
        ] {
            let spread = src.broadcast_to(shape.as_slice());
            let expected: Vec<f64> = src
                .as_slice()
                .iter()
                .copied()
                .cycle()
                .take(spread.numel())
                .collect();
            assert_eq!(spread.to_vec(), expected, "{shape:?}");
        }
    }

    #[test]
    fn broadcast_to_gradient_sums_back() {
        // y = broadcast_to(x, [3, 2]); L = sum(y * w) so dL/dx_j = sum_i w_ij.
        let w = Tensor::from([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
        let g = grad(
            |x: &Tensor| (x.broadcast_to([3, 2]) * &w).sum(),
            &Tensor::from([0.0, 0.0]),
        );
        assert_eq!(g.to_vec(), vec![9.0, 12.0]);
        check_grad(|x| x[0].broadcast_to([4, 2, 3]), &[Tensor::from([[1.0], [2.0]])]).assert_ok();
    }

    #[test]
    fn sum_to_and_reshape_gradients() {
        check_grad(
            |x| x[0].sum_to([3, 1]),
            &[Tensor::linspace(-1.0, 2.0, 6).reshape([2, 3, 1])],
        )
        .assert_ok();
        check_grad(|x| x[0].reshape([3, 2]), &[Tensor::linspace(-1.0, 2.0, 6)]).assert_ok();
        check_grad(
            |x| x[0].sum_axes(&[0, 2], false),
            &[Tensor::linspace(-1.0, 2.0, 12).reshape([2, 3, 2])],
        )
        .assert_ok();
    }

    #[test]
    fn flatten_keeps_row_major_order_and_reshapes_its_gradient_back() {
        // y = flatten(x) for x = [[1, 2], [3, 4]]; L = sum(w * y) with
        // w = [1, 10, 100, 1000], so dL/dx = w laid out as x: [[1, 10], [100, 1000]].
        let x = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(x.flatten().to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
        let w = Tensor::from([1.0, 10.0, 100.0, 1000.0]);
        let g = grad(|x: &Tensor| (x.flatten() * &w).sum(), &x);
        assert_eq!(g.shape(), &[2, 2]);
        assert_eq!(g.to_vec(), vec![1.0, 10.0, 100.0, 1000.0]);
        check_grad(
            |x| x[0].flatten(),
            &[Tensor::linspace(-1.0, 2.0, 12).reshape([2, 3, 2])],
        )
        .assert_ok();
        assert_eq!(Tensor::scalar(2.0).flatten().to_vec(), vec![2.0]);
    }

    #[test]
    fn mean_gradient_is_uniform() {
        // d mean(x) / dx_i = 1/n
        let g = grad(|x: &Tensor| x.mean(), &Tensor::zeros([4]));
        assert_eq!(g.to_vec(), vec![0.25; 4]);
    }

    #[test]
    fn compiled_reshapes_and_reductions_match_at_another_point() {
        // broadcast_to, sum_to (full, onto tiles and onto stretched axes),
        // reshape and sum_axes, with sin making the second derivative depend
        // on the values.
        let scale = crate::testing::distinct_values([2, 2, 3]);
        let loss = |x: &Tensor| {
            let spread = x.broadcast_to([2, 2, 3]) * &scale;
            let rows = spread.sum_to([2, 1, 3]).reshape([2, 3]).sum_axes(&[0], false);
            let tiles = spread.sum_to([2, 3]).flatten();
            (rows.sin().sum() + tiles.sin().mean()) * x.sum()
        };
        let direction = Tensor::from([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]]);
        let f = |x: &Tensor| {
            let (value, gradient) = crate::value_and_grad(loss, x);
            (value, gradient, crate::hvp(loss, x, &direction))
        };
        let at = Tensor::from([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]);
        crate::testing::assert_compiles_exactly(
            f,
            &at,
            &[Tensor::from([[-2.0, 0.3, 1.1], [0.0, 4.0, -0.6]])],
        );
    }
}
