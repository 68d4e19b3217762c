//! Selections that are contiguous blocks of their source: a row along the
//! first axis (the per-element step of `vmap`) and a range with step 1 along
//! any axis (one block per index of the axes before it). They copy blocks
//! instead of building the offset lists of general indexing
//! (`ops/index.rs`), and each has a zero-padding adjoint whose derivative
//! is the selection again, so both differentiate to any order. Padding with
//! any constant is that adjoint with another fill.

use crate::autodiff::graph::apply_op;
use crate::compile::kernel::Kernel;
use crate::shape::Shape;
use crate::tensor::Tensor;
use smallvec::smallvec;
use std::ops::Range;

/// Sub-tensor `k` along the first axis, with that axis dropped: the
/// per-slice step of `vmap`.
pub(crate) fn select_row(x: &Tensor, k: usize) -> Tensor {
    take_range(x, 0, k..k + 1, Shape::from(&x.shape()[1..]))
}

/// Positions `start..end` of `axis`, which keeps its (shorter) length.
pub(crate) fn slice_range(x: &Tensor, axis: usize, start: usize, end: usize) -> Tensor {
    take_range(x, axis, start..end, with_axis_size(x.shape(), axis, end - start))
}

/// `x` with `before` and `after` positions of `value` added around `axis`.
pub(crate) fn pad_axis(x: &Tensor, axis: usize, before: usize, after: usize, value: f64) -> Tensor {
    let len = x.shape()[axis];
    let shape = with_axis_size(x.shape(), axis, before + len + after);
    put_range(x, axis, before..before + len, shape, value)
}

/// The number of values per position of `axis` of `shape` (the product of
/// the dimensions after it).
fn inner_size(shape: &[usize], axis: usize) -> usize {
    shape[axis + 1..].iter().product()
}

/// `shape` with `axis` resized to `size`.
fn with_axis_size(shape: &Shape, axis: usize, size: usize) -> Shape {
    let mut resized = Shape::scalar();
    for (k, &d) in shape.iter().enumerate() {
        resized.push(if k == axis { size } else { d });
    }
    resized
}

/// Positions `range` of `axis` of `x`, one contiguous block per index of the
/// axes before it, as a tensor of `shape` (the blocks' own shape, or that
/// with a single position's axis dropped).
fn take_range(x: &Tensor, axis: usize, range: Range<usize>, shape: Shape) -> Tensor {
    let kernel = TakeRange {
        inner: inner_size(x.shape(), axis),
        len: x.shape()[axis],
        range: range.clone(),
    };
    // The adjoint puts the gradient back at those positions, zeros elsewhere.
    let source = x.shape().clone();
    apply_op(&kernel, &[x], shape, move |c| {
        smallvec![Some(put_range(c.grad, axis, range.clone(), source.clone(), 0.0))]
    })
}

/// The kernel of [`take_range`]: positions `range` of an axis of `len`
/// positions of `inner` values each.
#[derive(Clone)]
struct TakeRange {
    inner: usize,
    len: usize,
    range: Range<usize>,
}

impl Kernel for TakeRange {
    fn name(&self) -> &'static str {
        "slice"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let (inner, len, range) = (self.inner, self.len, &self.range);
        let block = range.len() * inner;
        if len * inner == 0 || block == 0 {
            return;
        }
        for (o, outer) in out
            .chunks_exact_mut(block)
            .zip(inputs[0].chunks_exact(len * inner))
        {
            o.copy_from_slice(&outer[range.start * inner..range.end * inner]);
        }
    }

    fn view(&self, input_len: usize) -> Option<Range<usize>> {
        // One block, when no axis comes before the sliced one (a row).
        (input_len == self.len * self.inner)
            .then(|| self.range.start * self.inner..self.range.end * self.inner)
    }
}

/// `fill` everywhere in `shape` but the values of `x` at positions `range`
/// of `axis`; with zeros, the adjoint of [`take_range`], which is its
/// derivative.
fn put_range(x: &Tensor, axis: usize, range: Range<usize>, shape: Shape, fill: f64) -> Tensor {
    let kernel = PutRange {
        inner: inner_size(&shape, axis),
        len: shape[axis],
        range: range.clone(),
        fill,
    };
    let taken = x.shape().clone();
    apply_op(&kernel, &[x], shape, move |c| {
        smallvec![Some(take_range(c.grad, axis, range.clone(), taken.clone()))]
    })
}

/// The kernel of [`put_range`].
#[derive(Clone)]
struct PutRange {
    inner: usize,
    len: usize,
    range: Range<usize>,
    fill: f64,
}

impl Kernel for PutRange {
    fn name(&self) -> &'static str {
        "pad"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let (inner, range) = (self.inner, &self.range);
        let block = range.len() * inner;
        if block == 0 {
            out.fill(self.fill);
            return;
        }
        let (before, after) = (range.start * inner, (self.len - range.end) * inner);
        for (o, values) in out
            .chunks_exact_mut(before + block + after)
            .zip(inputs[0].chunks_exact(block))
        {
            o[..before].fill(self.fill);
            o[before..before + block].copy_from_slice(values);
            o[before + block..].fill(self.fill);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;
    use crate::grad;
    use crate::testing::{check_grad, distinct_values as sample};

    #[test]
    fn contiguous_slices_and_their_adjoint() {
        // x[r, c, d] = 8 r + 2 c + d on [2, 4, 2]; x[:, 1:3, :] keeps, per r,
        // the block of values 8 r + 2..8 r + 6.
        let x = Tensor::arange(0.0, 16.0, 1.0).reshape([2, 4, 2]);
        let y = x.slice(1, 1, 3, 1);
        assert_eq!(y.shape(), &[2, 2, 2]);
        assert_eq!(y.to_vec(), vec![2.0, 3.0, 4.0, 5.0, 10.0, 11.0, 12.0, 13.0]);
        // L = sum(w * y) puts w back at the sliced positions, zero elsewhere.
        let w = Tensor::arange(1.0, 9.0, 1.0).reshape([2, 2, 2]);
        let g = grad(|x: &Tensor| (x.slice(1, 1, 3, 1) * &w).sum(), &x);
        let expected = [0., 0., 1., 2., 3., 4., 0., 0., 0., 0., 5., 6., 7., 8., 0., 0.];
        assert_eq!(g.to_vec(), expected.to_vec());
        let z = sample([3, 5, 2]);
        check_grad(|x| x[0].slice(1, 2, 5, 1), std::slice::from_ref(&z)).assert_ok_for("slice of an axis");
        check_grad(|x| x[0].slice(0, 1, 2, 1), std::slice::from_ref(&z)).assert_ok_for("slice of rows");
        check_grad(|x| x[0].slice(-1, 1, 2, 1).square(), std::slice::from_ref(&z))
            .assert_ok_for("slice of the last axis");
        // The adjoint is itself differentiable: second derivatives through it.
        check_grad(
            |v| grad(|x: &Tensor| x.slice(0, 1, 3, 1).powi(3).sum(), &v[0]),
            &[sample([4])],
        )
        .assert_ok_for("gradient of a slice");
        assert_eq!(x.slice(1, 2, 2, 1).shape(), &[2, 0, 2]);
        let empty = Tensor::zeros([0, 3]);
        assert_eq!(empty.slice(1, 1, 3, 1).shape(), &[0, 2]);
        assert_eq!(
            grad(|x: &Tensor| x.slice(1, 1, 3, 1).sum(), &empty).shape(),
            &[0, 3]
        );
    }

    #[test]
    fn compiled_slices_and_pads_match_at_another_point() {
        // Contiguous slices, a row, a strided slice and padding with a
        // constant, whose adjoints are each other.
        let loss = |x: &Tensor| {
            let inner = x.slice(1, 1, 3, 1) * x.slice(0, 1, 2, 1).select(0, 0).sum();
            let padded = x.slice(2, 0, 2, 1).pad(&[(1, 0), (0, 2), (1, 1)], 0.5);
            inner.square().sum()
                + (padded.sin() * padded.slice(0, 0, 2, 1).sum()).sum()
                + x.slice(1, 0, 4, 3).sum()
        };
        let direction = sample([2, 4, 3]).sin();
        let f = |x: &Tensor| {
            let (value, gradient) = crate::value_and_grad(loss, x);
            (value, gradient, crate::hvp(loss, x, &direction))
        };
        let at = sample([2, 4, 3]);
        crate::testing::assert_compiles_exactly(f, &at, &[at.cos() * 3.0]);
    }
}
