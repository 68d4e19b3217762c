//! Rearranging elements without changing their values: axis permutations,
//! adding and removing size-1 axes, reversal, padding, and joining tensors.
//! Every op here is linear, so each derivative is the adjoint rearrangement.

use super::blocks::pad_axis;
use super::index::{AxisPick, gather_picks};
use crate::autodiff::Grads;
use crate::autodiff::graph::apply_op;
use crate::compile::kernel::Kernel;
use crate::shape::{Shape, for_each_offset, normalize_axis};
use crate::tensor::Tensor;
use smallvec::{SmallVec, smallvec};
use std::borrow::Borrow;

/// Whether `axes` keeps every axis but swaps the last two (a transpose of
/// each matrix in a batch).
fn swaps_last_two(axes: &[usize]) -> bool {
    let n = axes.len();
    n >= 2
        && axes[..n - 2].iter().enumerate().all(|(k, &a)| k == a)
        && axes[n - 2] == n - 1
        && axes[n - 1] == n - 2
}

/// Every matrix (last two dimensions of `shape`) of `src` transposed into
/// `out`, in square tiles so that both the reads and the writes stay in
/// cache (a plain loop strides through one of them a whole row apart each
/// step). Tiles are 8 x 8: wider ones write more lines a power of two
/// apart than a cache set holds, and a 512 x 512 transpose took 3 ns a
/// value with 32 x 32 tiles.
pub(crate) fn transpose_matrices(src: &[f64], shape: &Shape, out: &mut [f64]) {
    const TILE: usize = 8;
    let (rows, cols) = (shape[shape.ndim() - 2], shape[shape.ndim() - 1]);
    if src.is_empty() {
        return;
    }
    for (from, to) in src
        .chunks_exact(rows * cols)
        .zip(out.chunks_exact_mut(rows * cols))
    {
        for i0 in (0..rows).step_by(TILE) {
            for j0 in (0..cols).step_by(TILE) {
                if i0 + TILE <= rows && j0 + TILE <= cols {
                    // Two rows at a time, each column's pair written
                    // together: loads and stores of two values at once.
                    for r in (0..TILE).step_by(2) {
                        let top = &from[(i0 + r) * cols + j0..][..TILE];
                        let bottom = &from[(i0 + r + 1) * cols + j0..][..TILE];
                        for (c, (&t, &b)) in top.iter().zip(bottom).enumerate() {
                            let pair = &mut to[(j0 + c) * rows + i0 + r..][..2];
                            (pair[0], pair[1]) = (t, b);
                        }
                    }
                    continue;
                }
                for i in i0..(i0 + TILE).min(rows) {
                    for j in j0..(j0 + TILE).min(cols) {
                        to[j * rows + i] = from[i * cols + j];
                    }
                }
            }
        }
    }
}

/// The kernel of [`Tensor::permute`]: the input's axes reordered by `axes`.
#[derive(Clone)]
struct Permute {
    source: Shape,
    axes: SmallVec<[usize; 4]>,
    shape: Shape,
}

impl Kernel for Permute {
    fn name(&self) -> &'static str {
        "permute"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let src = inputs[0];
        if swaps_last_two(&self.axes) {
            transpose_matrices(src, &self.source, out);
            return;
        }
        let in_strides = self.source.strides();
        let strides: SmallVec<[usize; 4]> = self.axes.iter().map(|&a| in_strides[a]).collect();
        for_each_offset(&self.shape, &strides, |i, o| out[i] = src[o]);
    }
}

impl Tensor {
    /// The tensor with its axes reordered: axis `k` of the result is axis
    /// `axes[k]` of this one (NumPy's `transpose(axes)`). The derivative
    /// permutes the gradient back with the inverse permutation.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let x = Tensor::zeros([2, 3, 4]).permute(&[2, 0, 1]);
    /// assert_eq!(x.shape(), &[4, 2, 3]);
    /// ```
    ///
    /// # Panics
    /// When `axes` is not a permutation of `0..ndim`.
    #[track_caller]
    pub fn permute(&self, axes: &[usize]) -> Tensor {
        let mut inverse = vec![usize::MAX; self.ndim()];
        for (k, &a) in axes.iter().enumerate() {
            if a < inverse.len() && inverse[a] == usize::MAX {
                inverse[a] = k;
            }
        }
        assert!(
            axes.len() == self.ndim() && !inverse.contains(&usize::MAX),
            "permute: {axes:?} is not a permutation of the {} axes of shape {}",
            self.ndim(),
            self.shape()
        );
        if axes.iter().enumerate().all(|(k, &a)| k == a) {
            return self.clone();
        }
        let shape = Shape::from(axes.iter().map(|&a| self.shape()[a]).collect::<Vec<_>>());
        let kernel = Permute {
            source: self.shape().clone(),
            axes: SmallVec::from_slice(axes),
            shape: shape.clone(),
        };
        apply_op(&kernel, &[self], shape, move |c| {
            smallvec![Some(c.grad.permute(&inverse))]
        })
    }

    /// The tensor with two axes swapped (negative counts from the end).
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let x = Tensor::zeros([2, 3, 4]).transpose(0, -1);
    /// assert_eq!(x.shape(), &[4, 3, 2]);
    /// ```
    #[track_caller]
    pub fn transpose(&self, axis1: isize, axis2: isize) -> Tensor {
        let a = normalize_axis(axis1, self.ndim(), "transpose");
        let b = normalize_axis(axis2, self.ndim(), "transpose");
        let mut axes: Vec<usize> = (0..self.ndim()).collect();
        axes.swap(a, b);
        self.permute(&axes)
    }

    /// The last two axes swapped: the transpose of a matrix, or of each
    /// matrix in a batch. It is a copy: for a dense layer's `x w^T`, write
    /// `x.inner(&w)`, which reads `w` in place, forward and in the gradient.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let a = Tensor::from([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// assert_eq!(a.t().to_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    /// ```
    ///
    /// # Panics
    /// When the tensor has fewer than two axes. Unlike NumPy's `.T`, a 1-d
    /// tensor is not silently returned as is: a vector has no orientation to
    /// swap, and asking for one is usually a bug.
    #[track_caller]
    pub fn t(&self) -> Tensor {
        assert!(
            self.ndim() >= 2,
            "t: needs at least 2 axes, got shape {}",
            self.shape()
        );
        self.transpose(-2, -1)
    }

    /// The tensor without `axis` (negative counts from the end), which must
    /// have size 1.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// assert_eq!(Tensor::zeros([2, 1, 3]).squeeze(1).shape(), &[2, 3]);
    /// ```
    ///
    /// # Panics
    /// When the axis does not have size 1.
    #[track_caller]
    pub fn squeeze(&self, axis: isize) -> Tensor {
        let axis = normalize_axis(axis, self.ndim(), "squeeze");
        assert!(
            self.shape()[axis] == 1,
            "squeeze: axis {axis} has size {}, not 1 (shape {})",
            self.shape()[axis],
            self.shape()
        );
        let mut dims = self.shape().to_vec();
        dims.remove(axis);
        self.reshape(dims)
    }

    /// The tensor without any of its size-1 axes.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// assert_eq!(Tensor::zeros([1, 2, 1]).squeeze_all().shape(), &[2]);
    /// ```
    pub fn squeeze_all(&self) -> Tensor {
        let dims: Vec<usize> = self.shape().iter().copied().filter(|&d| d != 1).collect();
        self.reshape(dims)
    }

    /// The tensor with a new size-1 axis at position `axis` of the result
    /// (`-1` appends one), NumPy's `expand_dims`.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let x = Tensor::zeros([2, 3]);
    /// assert_eq!(x.expand_dims(0).shape(), &[1, 2, 3]);
    /// assert_eq!(x.expand_dims(-1).shape(), &[2, 3, 1]);
    /// ```
    #[track_caller]
    pub fn expand_dims(&self, axis: isize) -> Tensor {
        let axis = normalize_axis(axis, self.ndim() + 1, "expand_dims");
        let mut dims = self.shape().to_vec();
        dims.insert(axis, 1);
        self.reshape(dims)
    }

    /// The elements in reverse order along `axis` (negative counts from the
    /// end). Its derivative flips the gradient back.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let x = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(x.flip(1).to_vec(), vec![2.0, 1.0, 4.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn flip(&self, axis: isize) -> Tensor {
        let axis = normalize_axis(axis, self.ndim(), "flip");
        let picks = self.picks_with(axis, || AxisPick {
            positions: (0..self.shape()[axis]).rev().collect(),
            keep: true,
        });
        gather_picks(self, &picks)
    }

    /// The tensor surrounded by `value`: `widths[k] = (before, after)` adds
    /// that many elements on each side of axis `k`. The derivative is the
    /// gradient read back from the original region (the padding is constant).
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let x = Tensor::from([1.0, 2.0]).pad(&[(1, 2)], 0.0);
    /// assert_eq!(x.to_vec(), vec![0.0, 1.0, 2.0, 0.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// When there is not exactly one pair per axis.
    #[track_caller]
    pub fn pad(&self, widths: &[(usize, usize)], value: f64) -> Tensor {
        assert!(
            widths.len() == self.ndim(),
            "pad: {} (before, after) pairs for a tensor of shape {}",
            widths.len(),
            self.shape()
        );
        // One block copy per padded axis; a corner is filled by the last.
        let mut padded = self.clone();
        for (axis, &(before, after)) in widths.iter().enumerate() {
            if before + after > 0 {
                padded = pad_axis(&padded, axis, before, after, value);
            }
        }
        padded
    }
}

/// The tensors joined along an existing `axis` (negative counts from the
/// end); they must agree on every other axis. Each input's gradient is its
/// slice of the output gradient.
///
/// ```
/// use jaxpurify_runtime::{Tensor, concatenate};
/// let a = Tensor::from([[1.0, 2.0]]);
/// let b = Tensor::from([[3.0, 4.0], [5.0, 6.0]]);
/// assert_eq!(concatenate(&[&a, &b], 0).shape(), &[3, 2]);
/// assert_eq!(concatenate(&[&a, &a], 1).to_vec(), vec![1.0, 2.0, 1.0, 2.0]);
/// ```
///
/// # Panics
/// When no tensors are given or their shapes differ outside `axis`.
#[track_caller]
pub fn concatenate<T: Borrow<Tensor>>(tensors: &[T], axis: isize) -> Tensor {
    let inputs: Vec<&Tensor> = tensors.iter().map(Borrow::borrow).collect();
    assert!(!inputs.is_empty(), "concatenate: no tensors given");
    let first = inputs[0].shape();
    let axis = normalize_axis(axis, first.ndim(), "concatenate");
    for t in &inputs[1..] {
        let agree =
            t.ndim() == first.ndim() && (0..first.ndim()).all(|a| a == axis || t.shape()[a] == first[a]);
        assert!(
            agree,
            "concatenate: shapes {first} and {} differ outside axis {axis}",
            t.shape()
        );
    }
    if inputs.len() == 1 {
        return inputs[0].clone();
    }
    // Where each input lies along the joined axis; its gradient is that slice.
    let mut bounds = Vec::with_capacity(inputs.len());
    let mut joined_length = 0;
    for t in &inputs {
        bounds.push((joined_length, joined_length + t.shape()[axis]));
        joined_length += t.shape()[axis];
    }
    let mut dims = first.to_vec();
    dims[axis] = joined_length;
    let kernel = Concatenate {
        outer: first[..axis].iter().product(),
        blocks: inputs
            .iter()
            .map(|t| t.shape()[axis..].iter().product())
            .collect(),
    };
    apply_op(&kernel, &inputs, Shape::from(dims), move |c| {
        bounds
            .iter()
            .enumerate()
            .map(|(i, &(start, end))| c.needs(i).then(|| c.grad.slice(axis as isize, start, end, 1)))
            .collect::<Grads>()
    })
}

/// The kernel of [`concatenate`]: for each of `outer` positions of the
/// axes before the joined one, one contiguous block from each input in
/// turn, of the input's size in `blocks`.
#[derive(Clone)]
struct Concatenate {
    outer: usize,
    blocks: SmallVec<[usize; 4]>,
}

impl Kernel for Concatenate {
    fn name(&self) -> &'static str {
        "concatenate"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let mut rest = out;
        for o in 0..self.outer {
            for (t, &block) in inputs.iter().zip(&self.blocks) {
                let (head, tail) = rest.split_at_mut(block);
                head.copy_from_slice(&t[o * block..(o + 1) * block]);
                rest = tail;
            }
        }
    }
}

/// The tensors, which must share one shape, joined along a new `axis` of the
/// result (`-1` makes it the last axis).
///
/// ```
/// use jaxpurify_runtime::{Tensor, stack};
/// let a = Tensor::from([1.0, 2.0]);
/// let b = Tensor::from([3.0, 4.0]);
/// assert_eq!(stack(&[&a, &b], 0).to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
/// assert_eq!(stack(&[&a, &b], -1).to_vec(), vec![1.0, 3.0, 2.0, 4.0]);
/// ```
///
/// # Panics
/// When no tensors are given or their shapes differ.
#[track_caller]
pub fn stack<T: Borrow<Tensor>>(tensors: &[T], axis: isize) -> Tensor {
    let inputs: Vec<&Tensor> = tensors.iter().map(Borrow::borrow).collect();
    assert!(!inputs.is_empty(), "stack: no tensors given");
    let first = inputs[0].shape();
    for t in &inputs[1..] {
        assert!(
            t.shape() == first,
            "stack: shapes {first} and {} differ",
            t.shape()
        );
    }
    let axis = normalize_axis(axis, first.ndim() + 1, "stack") as isize;
    let expanded: Vec<Tensor> = inputs.iter().map(|t| t.expand_dims(axis)).collect();
    concatenate(&expanded, axis)
}

#[cfg(test)]
mod tests {
    use super::{concatenate, stack};
    use crate::testing::check_grad;
    use crate::{Tensor, grad};

    fn sample(shape: &[usize]) -> Tensor {
        crate::testing::distinct_values(shape)
    }

    #[test]
    fn tiled_transposes_move_every_element() {
        // Sizes that end mid-tile, a batch, and a one-row matrix.
        for shape in [[1, 33, 70], [2, 3, 5], [3, 40, 1], [1, 1, 9]] {
            let x = sample(&shape);
            let y = x.transpose(1, 2);
            assert_eq!(y.shape(), &[shape[0], shape[2], shape[1]]);
            for b in 0..shape[0] {
                for i in 0..shape[1] {
                    for j in 0..shape[2] {
                        assert_eq!(y.get(&[b, j, i]), x.get(&[b, i, j]), "{shape:?} at {b},{i},{j}");
                    }
                }
            }
        }
        let w = sample(&[2, 3]) + 1.0;
        check_grad(|v| v[0].t() * &w, &[sample(&[3, 2])]).assert_ok_for("tiled transpose");
    }

    #[test]
    fn permutations_move_values_and_gradients() {
        // x[i, j, k] = 100 i + 10 j + k on [2, 3, 4]; y = permute(x, [2, 0, 1])
        // has y[k, i, j] = x[i, j, k].
        let data = (0..24)
            .map(|n| (100 * (n / 12) + 10 * (n / 4 % 3) + n % 4) as f64)
            .collect();
        let x = Tensor::from_vec(data, [2, 3, 4]).unwrap();
        let y = x.permute(&[2, 0, 1]);
        assert_eq!(y.shape(), &[4, 2, 3]);
        assert_eq!(y.get(&[3, 1, 2]), 123.0);
        assert_eq!(x.transpose(0, 2).get(&[3, 1, 0]), 13.0);
        // L = sum(w * a^T), w = [[1, 2], [3, 4], [5, 6]]: dL/da = w^T.
        let w = Tensor::from([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
        let g = grad(|a: &Tensor| (a.t() * &w).sum(), &Tensor::zeros([2, 3]));
        assert_eq!(g.to_vec(), vec![1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
        check_grad(|x| x[0].permute(&[1, 2, 0]), &[sample(&[2, 3, 4])]).assert_ok_for("permute");
        check_grad(|x| x[0].t(), &[sample(&[2, 3, 2])]).assert_ok_for("t");
    }

    #[test]
    fn size_one_axes_come_and_go() {
        let x = sample(&[2, 1, 3]);
        assert_eq!(x.squeeze(-2).shape(), &[2, 3]);
        assert_eq!(x.squeeze(1).to_vec(), x.to_vec());
        assert_eq!(Tensor::zeros([1, 1]).squeeze_all().shape(), &[]);
        assert_eq!(x.expand_dims(3).shape(), &[2, 1, 3, 1]);
        assert_eq!(x.expand_dims(-4).shape(), &[1, 2, 1, 3]);
        check_grad(|x| x[0].squeeze(1).expand_dims(0), std::slice::from_ref(&x)).assert_ok_for("squeeze");
        check_grad(|x| x[0].squeeze_all(), &[x]).assert_ok_for("squeeze_all");
    }

    #[test]
    fn flip_reverses_one_axis() {
        // flip([[1, 2, 3], [4, 5, 6]], 0) swaps the rows; with L = sum(w * y)
        // the gradient is w with its rows swapped back.
        let x = Tensor::from([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
        assert_eq!(x.flip(0).to_vec(), vec![4.0, 5.0, 6.0, 1.0, 2.0, 3.0]);
        let w = Tensor::from([[1.0, 2.0, 3.0], [7.0, 8.0, 9.0]]);
        let g = grad(|x: &Tensor| (x.flip(0) * &w).sum(), &x);
        assert_eq!(g.to_vec(), vec![7.0, 8.0, 9.0, 1.0, 2.0, 3.0]);
        check_grad(|x| x[0].flip(-1), &[sample(&[2, 3, 4])]).assert_ok_for("flip");
    }

    #[test]
    fn pad_surrounds_with_a_constant() {
        // pad([[1, 2]], ((1, 0), (0, 2)), 9) = [[9, 9, 9, 9], [1, 2, 9, 9]];
        // the gradient is w read at the original block: [w10, w11].
        let x = Tensor::from([[1.0, 2.0]]);
        let y = x.pad(&[(1, 0), (0, 2)], 9.0);
        assert_eq!(y.shape(), &[2, 4]);
        assert_eq!(y.to_vec(), vec![9.0, 9.0, 9.0, 9.0, 1.0, 2.0, 9.0, 9.0]);
        let w = Tensor::arange(1.0, 9.0, 1.0).reshape([2, 4]);
        let g = grad(|x: &Tensor| (x.pad(&[(1, 0), (0, 2)], 9.0) * &w).sum(), &x);
        assert_eq!(g.to_vec(), vec![5.0, 6.0]);
        check_grad(
            |x| x[0].pad(&[(2, 1), (0, 0), (1, 3)], -1.5),
            &[sample(&[2, 3, 2])],
        )
        .assert_ok_for("pad");
    }

    #[test]
    fn concatenate_and_stack_split_the_gradient() {
        // concatenate([[1], [2]], [[3, 4], [5, 6]]) along axis 1 gives
        // [[1, 3, 4], [2, 5, 6]]; with L = sum(w * y), w = [[1, 2, 3], [4, 5, 6]],
        // dL/da = [[1], [4]] and dL/db = [[2, 3], [5, 6]].
        let a = Tensor::from([[1.0], [2.0]]);
        let b = Tensor::from([[3.0, 4.0], [5.0, 6.0]]);
        assert_eq!(
            concatenate(&[&a, &b], 1).to_vec(),
            vec![1.0, 3.0, 4.0, 2.0, 5.0, 6.0]
        );
        let w = Tensor::from([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
        let (ga, gb) = grad(
            |ab: &(Tensor, Tensor)| (concatenate(&[&ab.0, &ab.1], -1) * &w).sum(),
            &(a, b),
        );
        assert_eq!(ga.to_vec(), vec![1.0, 4.0]);
        assert_eq!(gb.to_vec(), vec![2.0, 3.0, 5.0, 6.0]);
        let parts = [sample(&[2, 1, 3]), sample(&[2, 4, 3]), sample(&[2, 2, 3])];
        check_grad(|x| concatenate(x, 1), &parts).assert_ok_for("concatenate");
        // stack(p, q) along the last axis interleaves them.
        let (p, q) = (Tensor::from([1.0, 2.0]), Tensor::from([3.0, 4.0]));
        assert_eq!(stack(&[&p, &q], 1).to_vec(), vec![1.0, 3.0, 2.0, 4.0]);
        let same = [sample(&[2, 3]), sample(&[2, 3]) * 2.0, sample(&[2, 3]) - 1.0];
        check_grad(|x| stack(x, 1), &same).assert_ok_for("stack");
    }

    #[test]
    fn second_derivatives_through_rearrangements() {
        // Every op here is linear; a cubic around them makes the second
        // derivative run each rule's own rule.
        let cube_sum = |y: Tensor| (&y * &y * &y).sum();
        let x = sample(&[2, 3]);
        let f = |x: &Tensor| {
            let joined = concatenate(&[x.t().flip(0), x.pad(&[(0, 0), (1, 0)], 0.5).t()], 0);
            let stacked = stack(&[&joined, &joined.flip(1)], 0).permute(&[2, 0, 1]);
            cube_sum(stacked.expand_dims(1).squeeze(1))
        };
        check_grad(|x| grad(f, &x[0]), &[x]).assert_ok_for("layout''");
    }

    #[test]
    #[should_panic(expected = "concatenate: shapes [2, 3] and [3, 3] differ outside axis 1")]
    fn mismatched_concatenate_names_both_shapes() {
        let _ = concatenate(&[Tensor::zeros([2, 3]), Tensor::zeros([3, 3])], 1);
    }

    #[test]
    #[should_panic(expected = "stack: shapes [2] and [3] differ")]
    fn stack_needs_equal_shapes() {
        let _ = stack(&[Tensor::zeros([2]), Tensor::zeros([3])], 0);
    }

    #[test]
    #[should_panic(expected = "permute: [0, 0] is not a permutation of the 2 axes of shape [2, 3]")]
    fn permute_rejects_repeated_axes() {
        let _ = Tensor::zeros([2, 3]).permute(&[0, 0]);
    }

    #[test]
    #[should_panic(expected = "squeeze: axis 0 has size 2, not 1 (shape [2, 1])")]
    fn squeeze_rejects_longer_axes() {
        let _ = Tensor::zeros([2, 1]).squeeze(0);
    }

    #[test]
    #[should_panic(expected = "pad: 1 (before, after) pairs for a tensor of shape [2, 3]")]
    fn pad_needs_one_pair_per_axis() {
        let _ = Tensor::zeros([2, 3]).pad(&[(1, 1)], 0.0);
    }

    #[test]
    #[should_panic(expected = "t: needs at least 2 axes, got shape [3]")]
    fn t_rejects_vectors() {
        let _ = Tensor::zeros([3]).t();
    }

    #[test]
    fn compiled_rearrangements_match_at_another_point() {
        // permute, a transpose of the last two axes, concatenate, stack,
        // flip, expand_dims and squeeze, under sin so that second
        // derivatives move values through them again.
        let loss = |x: &Tensor| {
            let moved = x.permute(&[2, 0, 1]).transpose(-1, -2);
            let joined = concatenate(&[x.flip(1), x.square()], 1);
            let stacked = stack(
                &[x.transpose(-1, -2), x.expand_dims(0).squeeze(0).transpose(1, 2)],
                0,
            );
            (moved.sin() * moved.flip(0)).sum() + joined.sin().sum() * stacked.cos().sum()
        };
        let direction = sample(&[2, 3, 4]).cos();
        let f = |x: &Tensor| {
            let (value, gradient) = crate::value_and_grad(loss, x);
            (value, gradient, crate::hvp(loss, x, &direction))
        };
        let at = sample(&[2, 3, 4]);
        crate::testing::assert_compiles_exactly(f, &at, &[at.sin() * 2.0]);
    }
}
