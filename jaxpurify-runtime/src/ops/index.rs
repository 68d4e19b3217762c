//! Indexing: NumPy-style basic selection with positions, ranges and steps
//! (`index`, `slice`, `select`), gathering along an axis (`index_select`) and
//! its adjoint, `scatter_add`.
//!
//! Every selection becomes a list of flat offsets into the source. Two
//! mutually adjoint kernels move values through such a list:
//! [`gather_offsets`] reads `out[k] = x[offsets[k]]` and
//! [`scatter_add_offsets`] adds `out[offsets[k]] += v[k]` into zeros. Each is
//! the other's derivative rule, so every op built on them differentiates to
//! any order, and repeated offsets accumulate their gradients. Contiguous
//! selections (a row, a range with step 1) copy blocks instead
//! (`ops/blocks.rs`).

use crate::autodiff::graph::apply_op;
use crate::compile::kernel::Kernel;
use crate::ops::blocks::{select_row, slice_range};
use crate::shape::{Shape, normalize_axis};
use crate::tensor::Tensor;
use smallvec::smallvec;
use std::ops::{Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};
use std::sync::Arc;

/// A selection along one axis: one position, which drops the axis, or a
/// strided range, which keeps it.
///
/// ```
/// use jaxpurify_runtime::{AxisIndex, Tensor};
/// let x = Tensor::arange(0.0, 8.0, 1.0);
/// assert_eq!(x.index(AxisIndex::from(1..7).step(2)).to_vec(), vec![1.0, 3.0, 5.0]);
/// assert_eq!(x.index(AxisIndex::from(2)).shape(), &[]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AxisIndex {
    /// One position; the axis is dropped from the result.
    At(usize),
    /// Positions `start, start + step, ...` below `end`; the axis is kept.
    Range {
        /// First position.
        start: usize,
        /// One past the last position; `None` for the axis's size.
        end: Option<usize>,
        /// Distance between positions, at least 1. Reverse with
        /// [`flip`](Tensor::flip).
        step: usize,
    },
}

impl AxisIndex {
    /// The same range with another step: `1..7` with step 2 selects 1, 3, 5.
    ///
    /// # Panics
    /// When `step` is 0 or `self` is a single position.
    #[track_caller]
    pub fn step(self, step: usize) -> AxisIndex {
        assert!(step > 0, "AxisIndex::step: the step must be positive");
        match self {
            AxisIndex::Range { start, end, .. } => AxisIndex::Range { start, end, step },
            AxisIndex::At(i) => panic!("AxisIndex::step: position {i} is not a range"),
        }
    }

    fn range(start: usize, end: Option<usize>) -> AxisIndex {
        AxisIndex::Range { start, end, step: 1 }
    }
}

impl From<usize> for AxisIndex {
    fn from(i: usize) -> AxisIndex {
        AxisIndex::At(i)
    }
}

impl From<Range<usize>> for AxisIndex {
    fn from(r: Range<usize>) -> AxisIndex {
        AxisIndex::range(r.start, Some(r.end))
    }
}

impl From<RangeFrom<usize>> for AxisIndex {
    fn from(r: RangeFrom<usize>) -> AxisIndex {
        AxisIndex::range(r.start, None)
    }
}

impl From<RangeTo<usize>> for AxisIndex {
    fn from(r: RangeTo<usize>) -> AxisIndex {
        AxisIndex::range(0, Some(r.end))
    }
}

impl From<RangeInclusive<usize>> for AxisIndex {
    fn from(r: RangeInclusive<usize>) -> AxisIndex {
        AxisIndex::range(*r.start(), Some(*r.end() + 1))
    }
}

impl From<RangeToInclusive<usize>> for AxisIndex {
    fn from(r: RangeToInclusive<usize>) -> AxisIndex {
        AxisIndex::range(0, Some(r.end + 1))
    }
}

impl From<RangeFull> for AxisIndex {
    fn from(_: RangeFull) -> AxisIndex {
        AxisIndex::range(0, None)
    }
}

/// A selection of a tensor: one [`AxisIndex`] for each leading axis; the
/// axes after them are taken whole.
///
/// Built from a position `2` or a range `1..3` (both on the first axis), a
/// multi-index `[1, 2]` (one position per leading axis), or the [`s!`](crate::s)
/// macro for mixed and strided selections.
///
/// ```
/// use jaxpurify_runtime::{s, Tensor};
/// let x = Tensor::arange(0.0, 6.0, 1.0).reshape([2, 3]);
/// assert_eq!(x.index(1).to_vec(), vec![3.0, 4.0, 5.0]);
/// assert_eq!(x.index([1, 2]).item(), 5.0);
/// assert_eq!(x.index(s![.., 0..3;2]).to_vec(), vec![0.0, 2.0, 3.0, 5.0]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Index(Vec<AxisIndex>);

impl From<Vec<AxisIndex>> for Index {
    fn from(axes: Vec<AxisIndex>) -> Index {
        Index(axes)
    }
}

impl From<AxisIndex> for Index {
    fn from(axis: AxisIndex) -> Index {
        Index(vec![axis])
    }
}

impl From<&[usize]> for Index {
    /// A multi-index: one position per leading axis.
    fn from(positions: &[usize]) -> Index {
        Index(positions.iter().map(|&i| AxisIndex::At(i)).collect())
    }
}

impl<const N: usize> From<[usize; N]> for Index {
    /// A multi-index: one position per leading axis.
    fn from(positions: [usize; N]) -> Index {
        Index::from(&positions[..])
    }
}

macro_rules! first_axis_index {
    ($($t:ty),*) => {$(
        impl From<$t> for Index {
            /// A selection on the first axis.
            fn from(i: $t) -> Index {
                Index(vec![AxisIndex::from(i)])
            }
        }
    )*};
}

first_axis_index!(
    usize,
    Range<usize>,
    RangeFrom<usize>,
    RangeTo<usize>,
    RangeInclusive<usize>,
    RangeToInclusive<usize>,
    RangeFull
);

/// Builds an [`Index`]: comma-separated positions and ranges, one per leading
/// axis, each range optionally followed by `;step`.
///
/// ```
/// use jaxpurify_runtime::{s, Tensor};
/// let x = Tensor::arange(0.0, 12.0, 1.0).reshape([3, 4]);
/// // rows 0 and 2, every other column from 1
/// assert_eq!(x.index(s![..;2, 1..;2]).to_vec(), vec![1.0, 3.0, 9.0, 11.0]);
/// // row 1, a range of columns: the row axis is dropped
/// assert_eq!(x.index(s![1, 1..3]).to_vec(), vec![5.0, 6.0]);
/// ```
#[macro_export]
macro_rules! s {
    ($($axis:expr $(; $step:expr)?),* $(,)?) => {
        $crate::Index::from(::std::vec![$($crate::AxisIndex::from($axis)$(.step($step))?),*])
    };
}

/// The positions a selection reads along one axis, and whether the axis stays.
pub(crate) struct AxisPick {
    pub(crate) positions: Vec<usize>,
    pub(crate) keep: bool,
}

impl AxisPick {
    /// Every position of an axis of `size`, in order.
    pub(crate) fn whole(size: usize) -> AxisPick {
        AxisPick {
            positions: (0..size).collect(),
            keep: true,
        }
    }
}

/// The shape of a selection and the flat offsets (row-major, into the source)
/// of its elements.
pub(crate) struct Selection {
    pub(crate) shape: Shape,
    pub(crate) offsets: Arc<[usize]>,
}

/// The selection of one pick per axis of `shape`: the cartesian product of
/// the picks' positions, outer axes varying slowest.
pub(crate) fn select_offsets(shape: &Shape, picks: &[AxisPick]) -> Selection {
    debug_assert_eq!(picks.len(), shape.ndim());
    let mut offsets = vec![0usize];
    let mut out_shape = Shape::scalar();
    for (pick, stride) in picks.iter().zip(shape.strides()) {
        offsets = offsets
            .iter()
            .flat_map(|&o| pick.positions.iter().map(move |&p| o + p * stride))
            .collect();
        if pick.keep {
            out_shape.push(pick.positions.len());
        }
    }
    Selection {
        shape: out_shape,
        offsets: offsets.into(),
    }
}

/// Resolves `index` against `shape`, checking every position and range.
#[track_caller]
pub(crate) fn resolve_index(index: &Index, shape: &Shape, op: &str) -> Selection {
    assert!(
        index.0.len() <= shape.ndim(),
        "{op}: {} axes selected on a tensor of shape {shape}",
        index.0.len()
    );
    // A loop, not `map`: a closure would not pass on the caller's location
    // to the checks.
    let mut picks: Vec<AxisPick> = Vec::with_capacity(shape.ndim());
    for axis in 0..shape.ndim() {
        picks.push(match index.0.get(axis) {
            None => AxisPick::whole(shape[axis]),
            Some(&AxisIndex::At(i)) => AxisPick {
                positions: vec![checked_position(i, axis, shape, op)],
                keep: false,
            },
            Some(&AxisIndex::Range { start, end, step }) => AxisPick {
                positions: checked_range(start, end, step, axis, shape, op).collect(),
                keep: true,
            },
        });
    }
    select_offsets(shape, &picks)
}

#[track_caller]
fn checked_position(i: usize, axis: usize, shape: &Shape, op: &str) -> usize {
    assert!(
        i < shape[axis],
        "{op}: position {i} is out of range for axis {axis} of size {} (shape {shape})",
        shape[axis]
    );
    i
}

/// The positions of a range, which must lie within the axis (no clamping, so
/// that an off-by-one is caught where it is made).
#[track_caller]
fn checked_range(
    start: usize,
    end: Option<usize>,
    step: usize,
    axis: usize,
    shape: &Shape,
    op: &str,
) -> std::iter::StepBy<Range<usize>> {
    let size = shape[axis];
    let end = end.unwrap_or(size);
    assert!(step > 0, "{op}: step 0 on axis {axis} (shape {shape})");
    assert!(
        start <= end && end <= size,
        "{op}: range {start}..{end} is out of range for axis {axis} of size {size} (shape {shape})"
    );
    (start..end).step_by(step)
}

/// `out[k] = x[offsets[k]]`, with shape `shape`. Its derivative adds the
/// gradient back at the offsets it read (repeated offsets accumulate).
pub(crate) fn gather_offsets(x: &Tensor, offsets: Arc<[usize]>, shape: Shape) -> Tensor {
    debug_assert_eq!(offsets.len(), shape.numel());
    let kernel = Gather(offsets.clone());
    apply_op(&kernel, &[x], shape, move |c| {
        let dx = scatter_add_offsets(c.grad, offsets.clone(), c.inputs[0].shape().clone());
        smallvec![Some(dx)]
    })
}

/// Zeros of shape `shape` with `out[offsets[k]] += v[k]`. Its derivative
/// reads the gradient at the offsets, the adjoint of adding into them.
pub(crate) fn scatter_add_offsets(v: &Tensor, offsets: Arc<[usize]>, shape: Shape) -> Tensor {
    debug_assert_eq!(offsets.len(), v.numel());
    let kernel = ScatterAdd(offsets.clone());
    apply_op(&kernel, &[v], shape, move |c| {
        let dv = gather_offsets(c.grad, offsets.clone(), c.inputs[0].shape().clone());
        smallvec![Some(dv)]
    })
}

/// The kernel of [`gather_offsets`].
#[derive(Clone)]
struct Gather(Arc<[usize]>);

impl Kernel for Gather {
    fn name(&self) -> &'static str {
        "gather"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let src = inputs[0];
        for (o, &offset) in out.iter_mut().zip(self.0.iter()) {
            *o = src[offset];
        }
    }
}

/// The kernel of [`scatter_add_offsets`].
#[derive(Clone)]
struct ScatterAdd(Arc<[usize]>);

impl Kernel for ScatterAdd {
    fn name(&self) -> &'static str {
        "scatter_add"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        out.fill(0.0);
        for (&o, &value) in self.0.iter().zip(inputs[0]) {
            out[o] += value;
        }
    }
}

/// Gathers the selection of one pick per axis.
pub(crate) fn gather_picks(x: &Tensor, picks: &[AxisPick]) -> Tensor {
    let selection = select_offsets(x.shape(), picks);
    gather_offsets(x, selection.offsets, selection.shape)
}

impl Tensor {
    /// The elements an [`Index`] selects (NumPy's basic indexing `x[...]`): a
    /// position drops its axis, a range keeps it, unmentioned trailing axes
    /// are taken whole. A full multi-index gives a scalar tensor. The
    /// derivative adds the gradient back at the selected positions.
    ///
    /// ```
    /// use jaxpurify_runtime::{s, Tensor};
    /// let x = Tensor::from([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// assert_eq!(x.index([1, 0]).item(), 4.0);
    /// assert_eq!(x.index(s![.., 1..]).to_vec(), vec![2.0, 3.0, 5.0, 6.0]);
    /// ```
    ///
    /// # Panics
    /// When a position or range is out of bounds (ranges are not clamped),
    /// or more axes are selected than the tensor has.
    #[track_caller]
    pub fn index(&self, index: impl Into<Index>) -> Tensor {
        let selection = resolve_index(&index.into(), self.shape(), "index");
        gather_offsets(self, selection.offsets, selection.shape)
    }

    /// Positions `start, start + step, ...` below `end` along `axis`
    /// (negative counts from the end); the axis is kept.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let x = Tensor::arange(0.0, 6.0, 1.0).reshape([2, 3]);
    /// assert_eq!(x.slice(1, 0, 3, 2).to_vec(), vec![0.0, 2.0, 3.0, 5.0]);
    /// ```
    ///
    /// # Panics
    /// When `step` is 0 or the range leaves the axis (it is not clamped).
    #[track_caller]
    pub fn slice(&self, axis: isize, start: usize, end: usize, step: usize) -> Tensor {
        let axis = normalize_axis(axis, self.ndim(), "slice");
        let positions = checked_range(start, Some(end), step, axis, self.shape(), "slice");
        if step == 1 {
            return slice_range(self, axis, start, end);
        }
        let picks = self.picks_with(axis, || AxisPick {
            positions: positions.collect(),
            keep: true,
        });
        gather_picks(self, &picks)
    }

    /// The sub-tensor at `position` along `axis`, with that axis dropped
    /// (`select(0, i)` is row `i` of a matrix).
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let x = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(x.select(1, 0).to_vec(), vec![1.0, 3.0]);
    /// ```
    ///
    /// # Panics
    /// When `position` is out of range for the axis.
    #[track_caller]
    pub fn select(&self, axis: isize, position: usize) -> Tensor {
        let axis = normalize_axis(axis, self.ndim(), "select");
        if axis == 0 {
            checked_position(position, axis, self.shape(), "select");
            return select_row(self, position);
        }
        let picks = self.picks_with(axis, || AxisPick {
            positions: vec![checked_position(position, axis, self.shape(), "select")],
            keep: false,
        });
        gather_picks(self, &picks)
    }

    /// The sub-tensors at `indices` along `axis`, in that order, repeats
    /// allowed (NumPy's `take`, JAX's gather). The derivative is
    /// [`scatter_add`](Tensor::scatter_add): a repeated index collects the
    /// gradient of each of its copies.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let x = Tensor::from([10.0, 20.0, 30.0]);
    /// assert_eq!(x.index_select(0, &[2, 0, 2]).to_vec(), vec![30.0, 10.0, 30.0]);
    /// ```
    ///
    /// # Panics
    /// When an index is out of range for the axis.
    #[track_caller]
    pub fn index_select(&self, axis: isize, indices: &[usize]) -> Tensor {
        let axis = normalize_axis(axis, self.ndim(), "index_select");
        // Checked here, not in the closure, which would not pass on the
        // caller's location.
        let positions = checked_indices(indices, axis, self.shape(), "index_select");
        let picks = self.picks_with(axis, || AxisPick {
            positions,
            keep: true,
        });
        gather_picks(self, &picks)
    }

    /// Zeros whose `axis` has length `size`, with sub-tensor `k` of this
    /// tensor along `axis` added at position `indices[k]`: repeated indices
    /// accumulate. The adjoint of [`index_select`](Tensor::index_select),
    /// whose derivative it is, and vice versa.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let v = Tensor::from([1.0, 2.0, 3.0]);
    /// assert_eq!(v.scatter_add(0, &[2, 0, 2], 4).to_vec(), vec![2.0, 0.0, 4.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// When the number of indices differs from the length of `axis`, or an
    /// index is not below `size`.
    #[track_caller]
    pub fn scatter_add(&self, axis: isize, indices: &[usize], size: usize) -> Tensor {
        let axis = normalize_axis(axis, self.ndim(), "scatter_add");
        assert_eq!(
            indices.len(),
            self.shape()[axis],
            "scatter_add: {} indices for axis {axis} of length {} (shape {})",
            indices.len(),
            self.shape()[axis],
            self.shape()
        );
        let mut out_dims = self.shape().to_vec();
        out_dims[axis] = size;
        let out_shape = Shape::from(out_dims);
        let mut picks: Vec<AxisPick> = out_shape.iter().map(|&d| AxisPick::whole(d)).collect();
        picks[axis] = AxisPick {
            positions: checked_indices(indices, axis, &out_shape, "scatter_add"),
            keep: true,
        };
        let selection = select_offsets(&out_shape, &picks);
        scatter_add_offsets(self, selection.offsets, out_shape)
    }

    /// One pick per axis: `pick()` on `axis`, whole on every other.
    #[track_caller]
    pub(crate) fn picks_with(&self, axis: usize, pick: impl FnOnce() -> AxisPick) -> Vec<AxisPick> {
        let mut picks: Vec<AxisPick> = self.shape().iter().map(|&d| AxisPick::whole(d)).collect();
        picks[axis] = pick();
        picks
    }
}

#[track_caller]
fn checked_indices(indices: &[usize], axis: usize, shape: &Shape, op: &str) -> Vec<usize> {
    for &i in indices {
        checked_position(i, axis, shape, op);
    }
    indices.to_vec()
}

#[cfg(test)]
mod tests {
    use crate::testing::check_grad;
    use crate::{AxisIndex, Tensor, grad};

    fn sample(shape: &[usize]) -> Tensor {
        crate::testing::distinct_values(shape)
    }

    #[test]
    fn selecting_a_row_and_its_adjoint() {
        // x[1] of a [3, 2, 2] tensor is elements 4..8; L = sum(w * x[1])
        // puts w at those positions of dL/dx and zero elsewhere.
        let x = sample(&[3, 2, 2]);
        assert_eq!(x.select(0, 1).to_vec(), x.as_slice()[4..8].to_vec());
        assert_eq!(x.select(0, 1).shape(), &[2, 2]);
        let w = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
        let g = grad(|x: &Tensor| (x.select(0, 1) * &w).sum(), &x);
        let mut expected = vec![0.0; 12];
        expected[4..8].copy_from_slice(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(g.to_vec(), expected);
        check_grad(|v| v[0].select(0, 2).sin(), std::slice::from_ref(&x)).assert_ok_for("select row");
        // Second order goes through the adjoint pair (select, embed).
        check_grad(
            |v| {
                grad(
                    |x: &Tensor| x.select(0, 0).square().sum() * x.select(0, 0).sum(),
                    &v[0],
                )
            },
            &[x],
        )
        .assert_ok_for("gradient of select row");
    }

    #[test]
    fn strided_slice_values_and_gradient() {
        // y = x[1:8:3] = [x1, x4, x7]; L = sum(w * y), w = [1, 2, 3], so
        // dL/dx puts w at positions 1, 4, 7 and zero elsewhere.
        let x = Tensor::arange(0.0, 10.0, 1.0);
        assert_eq!(x.slice(0, 1, 8, 3).to_vec(), vec![1.0, 4.0, 7.0]);
        let w = Tensor::from([1.0, 2.0, 3.0]);
        let g = grad(|x: &Tensor| (x.slice(-1, 1, 8, 3) * &w).sum(), &x);
        assert_eq!(g.to_vec(), vec![0.0, 1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 3.0, 0.0, 0.0]);
        check_grad(|x| x[0].slice(1, 0, 4, 2), &[sample(&[3, 4, 2])]).assert_ok_for("slice");
        assert_eq!(x.slice(0, 3, 3, 1).shape(), &[0]);
    }

    #[test]
    fn index_mixes_positions_ranges_and_steps() {
        // x[r, c] = 4 r + c on a [3, 4] grid.
        let x = Tensor::arange(0.0, 12.0, 1.0).reshape([3, 4]);
        assert_eq!(x.index(s![1..3, 2]).to_vec(), vec![6.0, 10.0]);
        assert_eq!(x.index(s![..;2, 1..=2]).to_vec(), vec![1.0, 2.0, 9.0, 10.0]);
        assert_eq!(x.index(s![..=1, ..2]).shape(), &[2, 2]);
        assert_eq!(x.index(2..).to_vec(), vec![8.0, 9.0, 10.0, 11.0]);
        assert_eq!(x.index(s![]), x);
        assert_eq!(x.index(AxisIndex::from(..).step(2)).shape(), &[2, 4]);
        // A full multi-index gives a scalar; its gradient is one-hot, scaled
        // by the upstream 5.
        let i = [2, 1];
        assert_eq!(x.index(i).shape(), &[]);
        assert_eq!(x.index(&i[..]).item(), 9.0);
        let g = grad(|x: &Tensor| x.index([2, 1]) * 5.0, &x);
        assert_eq!(g.get(&[2, 1]), 5.0);
        assert_eq!(g.sum().item(), 5.0);
        let y = sample(&[3, 4, 2]);
        check_grad(|x| x[0].index(s![1.., 3, ..;2]), std::slice::from_ref(&y)).assert_ok_for("index");
        check_grad(|x| x[0].index([0, 2, 1]), &[y]).assert_ok_for("index to a scalar");
    }

    #[test]
    fn select_drops_the_axis() {
        // Column 1 of [[1, 2], [3, 4]] is [2, 4]; with L = 1*y0 + 3*y1 the
        // gradient is 1 at (0, 1), 3 at (1, 1).
        let x = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(x.select(-1, 1).to_vec(), vec![2.0, 4.0]);
        let w = Tensor::from([1.0, 3.0]);
        let g = grad(|x: &Tensor| (x.select(1, 1) * &w).sum(), &x);
        assert_eq!(g.to_vec(), vec![0.0, 1.0, 0.0, 3.0]);
        check_grad(|x| x[0].select(1, 2), &[sample(&[2, 3, 2])]).assert_ok_for("select");
    }

    #[test]
    fn index_select_accumulates_repeated_indices() {
        // y = x[[2, 0, 2]] = [30, 10, 30]; L = sum(w * y), w = [1, 2, 3]:
        // dL/dx0 = w1 = 2, dL/dx1 = 0, dL/dx2 = w0 + w2 = 4.
        let x = Tensor::from([10.0, 20.0, 30.0]);
        let w = Tensor::from([1.0, 2.0, 3.0]);
        let g = grad(|x: &Tensor| (x.index_select(0, &[2, 0, 2]) * &w).sum(), &x);
        assert_eq!(g.to_vec(), vec![2.0, 0.0, 4.0]);
        let rows = sample(&[3, 2]).index_select(1, &[1, 1, 0]);
        assert_eq!(rows.shape(), &[3, 3]);
        assert_eq!(rows.get(&[2, 0]), rows.get(&[2, 1]));
        check_grad(|x| x[0].index_select(1, &[1, 0, 1, 2]), &[sample(&[2, 3, 2])])
            .assert_ok_for("index_select");
        check_grad(|x| x[0].index_select(0, &[]), &[sample(&[2, 3])]).assert_ok_for("empty index_select");
    }

    #[test]
    fn scatter_add_is_the_adjoint_of_index_select() {
        // v = [[1, 2], [3, 4], [5, 6]] added at rows [2, 0, 2] of zeros [3, 2]:
        // row 0 = [3, 4], row 1 = 0, row 2 = [1 + 5, 2 + 6].
        let v = Tensor::from([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
        let out = v.scatter_add(0, &[2, 0, 2], 3);
        assert_eq!(out.to_vec(), vec![3.0, 4.0, 0.0, 0.0, 6.0, 8.0]);
        // <scatter_add(v), u> = <v, index_select(u)> for any u.
        let u = sample(&[3, 2]);
        let lhs = (&out * &u).sum().item();
        let rhs = (&v * &u.index_select(0, &[2, 0, 2])).sum().item();
        assert!((lhs - rhs).abs() < 1e-12);
        check_grad(|x| x[0].scatter_add(1, &[0, 2, 0], 4), &[sample(&[2, 3])]).assert_ok_for("scatter_add");
    }

    #[test]
    fn second_derivatives_through_gather_and_scatter() {
        // f(x) = sum(x[idx]^3) has gradient 3 x^2 per use, accumulated by
        // scatter_add; differentiating that again runs gather's rule again.
        let idx = [2, 0, 2, 1];
        let x = Tensor::from([0.4, -1.3, 0.9]);
        let d = |f: fn(&Tensor, &[usize]) -> Tensor| {
            move |x: &[Tensor]| grad(|y: &Tensor| (f(y, &idx) * f(y, &idx) * f(y, &idx)).sum(), &x[0])
        };
        check_grad(d(|y, i| y.index_select(0, i)), std::slice::from_ref(&x)).assert_ok_for("index_select''");
        check_grad(d(|y, i| y.scatter_add(0, &i[..3], 4)), std::slice::from_ref(&x))
            .assert_ok_for("scatter_add''");
        check_grad(d(|y, _| y.index(s![1..;1])), &[x]).assert_ok_for("index''");
    }

    #[test]
    #[should_panic(expected = "select: position 3 is out of range for axis 1 of size 3 (shape [2, 3])")]
    fn out_of_range_position_names_the_op_and_shape() {
        let _ = Tensor::zeros([2, 3]).select(1, 3);
    }

    #[test]
    #[should_panic(expected = "index: range 1..5 is out of range for axis 0 of size 4 (shape [4])")]
    fn ranges_are_not_clamped() {
        let _ = Tensor::zeros([4]).index(1..5);
    }

    #[test]
    #[should_panic(expected = "index: 3 axes selected on a tensor of shape [2, 2]")]
    fn too_many_axes_are_rejected() {
        let _ = Tensor::zeros([2, 2]).index([0, 0, 0]);
    }

    #[test]
    #[should_panic(expected = "index_select: position 3 is out of range for axis 0 of size 3 (shape [3])")]
    fn out_of_range_gather_index_is_rejected() {
        let _ = Tensor::zeros([3]).index_select(0, &[0, 3]);
    }

    #[test]
    #[should_panic(expected = "scatter_add: 2 indices for axis 0 of length 3 (shape [3])")]
    fn scatter_add_needs_one_index_per_slice() {
        let _ = Tensor::zeros([3]).scatter_add(0, &[0, 1], 3);
    }

    #[test]
    #[should_panic(expected = "slice: step 0 on axis 0 (shape [3])")]
    fn zero_step_is_rejected() {
        let _ = Tensor::zeros([3]).slice(0, 0, 3, 0);
    }

    #[test]
    fn compiled_gathers_and_scatters_match_at_another_point() {
        // index with positions, ranges and steps; index_select repeating a
        // row and a column (their gradients accumulate); scatter_add.
        let loss = |x: &Tensor| {
            let picked = x.index(s![..;2, 1..3]).sum() * x.index(s![1, 2]);
            let rows = x.index_select(0, &[2, 0, 2]).sin();
            let columns = x.index_select(-1, &[3, 3, 1]).scatter_add(1, &[0, 2, 0], 4);
            picked + (rows * columns.index_select(0, &[1, 2, 0])).sum()
        };
        let direction = sample(&[3, 4]).cos();
        let f = |x: &Tensor| {
            let (value, gradient) = crate::value_and_grad(loss, x);
            (value, gradient, crate::hvp(loss, x, &direction))
        };
        let at = sample(&[3, 4]);
        crate::testing::assert_compiles_exactly(f, &at, &[at.exp() - 2.0]);
    }
}
