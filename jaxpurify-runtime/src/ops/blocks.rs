//! Selections that are contiguous blocks of their source: a row along the
//! first axis (the per-element step of `vmap`) and a range with step 1 along
//! any axis (one block per index of the axes before it). They copy blocks
//! instead of building the offset lists of general indexing
//! (`ops/index.rs`), and each has a zero-padding adjoint whose derivative
//! is the selection again, so both differentiate to any order.

use crate::autodiff::record;
use crate::buffer_pool;
use crate::shape::Shape;
use crate::tensor::Tensor;
use smallvec::smallvec;

/// Sub-tensor `k` along the first axis, a contiguous block: the per-slice
/// step of `vmap`, without the general gather's index lists.
pub(crate) fn select_row(x: &Tensor, k: usize) -> Tensor {
    let (rows, row_shape) = (x.shape()[0], Shape::from(&x.shape()[1..]));
    let size = row_shape.numel();
    let values = x.as_slice()[k * size..(k + 1) * size].iter().copied();
    let out = Tensor::collect_parts(values, row_shape);
    // The adjoint of taking row k puts the gradient back at row k.
    record(out, &[x], move |c| smallvec![Some(embed_row(c.grad, k, rows))])
}

/// Zeros of `rows` rows of `row`'s shape with `row` at position `k`; the
/// adjoint of [`select_row`], whose derivative it is, and vice versa.
fn embed_row(row: &Tensor, k: usize, rows: usize) -> Tensor {
    let size = row.numel();
    let mut shape = Shape::from(rows);
    for &d in row.shape().iter() {
        shape.push(d);
    }
    let values = (0..rows * size).map(|i| match i / size == k {
        true => row.as_slice()[i - k * size],
        false => 0.0,
    });
    let out = Tensor::collect_parts(values, shape);
    record(out, &[row], move |c| smallvec![Some(select_row(c.grad, k))])
}

/// The number of values per position of `axis` of `shape` (the product of
/// the dimensions after it).
fn inner_size(shape: &Shape, axis: usize) -> usize {
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

/// Positions `start..end` of `axis`: one contiguous block per index of the
/// axes before it, copied without index lists.
pub(crate) fn slice_range(x: &Tensor, axis: usize, start: usize, end: usize) -> Tensor {
    let (inner, len) = (inner_size(x.shape(), axis), x.shape()[axis]);
    let shape = with_axis_size(x.shape(), axis, end - start);
    let mut data = buffer_pool::with_capacity(shape.numel());
    if len * inner > 0 {
        for outer in x.as_slice().chunks_exact(len * inner) {
            data.extend_from_slice(&outer[start * inner..end * inner]);
        }
    }
    let out = Tensor::from_parts(data, shape);
    // The adjoint puts the gradient back at those positions, zeros elsewhere.
    record(out, &[x], move |c| {
        smallvec![Some(pad_range(c.grad, axis, start, len))]
    })
}

/// Zeros whose `axis` has length `len`, with `x` at positions `start..` of
/// it: the adjoint of [`slice_range`], whose derivative it is, and vice versa.
fn pad_range(x: &Tensor, axis: usize, start: usize, len: usize) -> Tensor {
    let (inner, width) = (inner_size(x.shape(), axis), x.shape()[axis]);
    let shape = with_axis_size(x.shape(), axis, len);
    let mut data = buffer_pool::with_capacity(shape.numel());
    if width * inner > 0 {
        let after = (len - start - width) * inner;
        for block in x.as_slice().chunks_exact(width * inner) {
            data.extend(std::iter::repeat_n(0.0, start * inner));
            data.extend_from_slice(block);
            data.extend(std::iter::repeat_n(0.0, after));
        }
    } else {
        data.resize(shape.numel(), 0.0);
    }
    let out = Tensor::from_parts(data, shape);
    record(out, &[x], move |c| {
        smallvec![Some(slice_range(c.grad, axis, start, start + width))]
    })
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
}
