//! Binary search in sorted data ([`searchsorted`]), with NumPy's semantics:
//! `q` values in an array of `n` cost `O(q log n)` plus one `O(n)` pass
//! that checks the array is sorted.

use crate::autodiff::graph::apply_constant;
use crate::compile::check::check;
use crate::compile::kernel::Kernel;
use crate::error::Error;
use crate::tensor::Tensor;

/// Which end of a run of equal entries [`searchsorted`] reports (NumPy's
/// `side`).
///
/// ```
/// use jaxpurify_runtime::{searchsorted, Side, Tensor};
/// let sorted = Tensor::from([0.0, 1.0, 1.0, 1.0, 2.0]);
/// let one = Tensor::scalar(1.0);
/// assert_eq!(searchsorted(&sorted, &one, Side::Left).item(), 1.0);
/// assert_eq!(searchsorted(&sorted, &one, Side::Right).item(), 4.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The first index `i` where the value could be inserted keeping the
    /// order: `sorted[i - 1] < value <= sorted[i]`.
    Left,
    /// The last such index: `sorted[i - 1] <= value < sorted[i]`.
    Right,
}

/// For each element of `values`, the index at which inserting it into the
/// 1-d, non-decreasing `sorted` keeps the order (NumPy's `searchsorted`), as
/// an `f64` tensor of `values`' shape.
///
/// NaN sorts after every number, as in NumPy: a NaN value is placed after
/// the numbers, and NaN entries of `sorted` may only sit at its end. The
/// result is an index, piecewise constant in its inputs, so it carries no
/// graph: gradients through it are zero.
///
/// ```
/// use jaxpurify_runtime::{searchsorted, Side, Tensor};
/// let sorted = Tensor::from([1.0, 2.0, 2.0, 3.0]);
/// let values = Tensor::from([2.0, 0.0, 9.0]);
/// assert_eq!(searchsorted(&sorted, &values, Side::Left).to_vec(), vec![1.0, 0.0, 4.0]);
/// assert_eq!(searchsorted(&sorted, &values, Side::Right).to_vec(), vec![3.0, 0.0, 4.0]);
/// ```
///
/// Both arguments may depend on a [`compile`](crate::compile())d
/// function's inputs: the program searches again on every call, and checks
/// that `sorted` is sorted, returning that error where the direct call
/// panics.
///
/// # Panics
/// When `sorted` is not 1-d or not sorted.
#[track_caller]
pub fn searchsorted(sorted: &Tensor, values: &Tensor, side: Side) -> Tensor {
    assert!(
        sorted.ndim() == 1,
        "searchsorted: the sorted array must be 1-d, got shape {}",
        sorted.shape()
    );
    let shape = sorted.shape().clone();
    let sortedness = check("searchsorted", &[sorted], move |values| {
        let s = values[0];
        match (1..s.len()).find(|&i| nan_last_less(s[i], s[i - 1])) {
            None => Ok(()),
            Some(i) => Err(Error::InvalidArgument {
                op: "searchsorted",
                message: format!(
                    "the array is not sorted: element {i} = {} follows {} (shape {shape})",
                    s[i],
                    s[i - 1]
                ),
            }),
        }
    });
    if let Err(e) = sortedness {
        panic!("{e}");
    }
    apply_constant(&Search { side }, &[sorted, values], values.shape().clone())
}

/// The kernel of [`searchsorted`]: the sorted array, then the values.
#[derive(Clone)]
struct Search {
    side: Side,
}

impl Kernel for Search {
    fn name(&self) -> &'static str {
        "searchsorted"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let s = inputs[0];
        for (o, &v) in out.iter_mut().zip(inputs[1]) {
            let index = match self.side {
                Side::Left => s.partition_point(|&x| nan_last_less(x, v)),
                Side::Right => s.partition_point(|&x| !nan_last_less(v, x)),
            };
            *o = index as f64;
        }
    }
}

/// `a < b` in NumPy's sort order, where NaN comes after every number.
fn nan_last_less(a: f64, b: f64) -> bool {
    a < b || (b.is_nan() && !a.is_nan())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grad;

    #[test]
    fn searchsorted_matches_numpy_on_ties_and_nan() {
        let sorted = Tensor::from([1.0, 2.0, 2.0, 3.0, f64::NAN]);
        let values = Tensor::from([[2.0, 2.5, f64::NAN], [f64::NEG_INFINITY, 3.0, 0.0]]);
        // np.searchsorted([1, 2, 2, 3, nan], [2, 2.5, nan, -inf, 3, 0], side='left' / 'right')
        let left = searchsorted(&sorted, &values, Side::Left);
        assert_eq!(left.shape(), &[2, 3]);
        assert_eq!(left.to_vec(), vec![1.0, 3.0, 4.0, 0.0, 3.0, 0.0]);
        let right = searchsorted(&sorted, &values, Side::Right);
        assert_eq!(right.to_vec(), vec![3.0, 3.0, 5.0, 0.0, 4.0, 0.0]);
    }

    #[test]
    fn searchsorted_passes_no_gradient() {
        let sorted = Tensor::from([0.0, 1.0, 2.0]);
        let g = grad(
            |v: &Tensor| searchsorted(&sorted, v, Side::Left).sum() + v.sum(),
            &Tensor::from([0.5, 1.5]),
        );
        assert_eq!(g.to_vec(), vec![1.0, 1.0]);
    }

    #[test]
    #[should_panic(expected = "searchsorted: the array is not sorted: element 2 = 1 follows NaN (shape [3])")]
    fn searchsorted_rejects_unsorted_input() {
        let _ = searchsorted(
            &Tensor::from([0.0, f64::NAN, 1.0]),
            &Tensor::scalar(0.0),
            Side::Right,
        );
    }

    #[test]
    fn compiled_searches_follow_traced_values_to_other_slots() {
        // The second point moves each value to another slot, two onto knots.
        let sorted = Tensor::from([0.0, 1.0, 3.0, 4.5]);
        let search = |v: &Tensor| {
            (
                searchsorted(&sorted, v, Side::Left),
                searchsorted(&sorted, v, Side::Right),
            )
        };
        let moved = Tensor::from([3.0, -1.0, 1.0, 0.2]);
        crate::testing::assert_compiles_exactly(search, &Tensor::from([0.5, 2.0, 4.0, 5.0]), &[moved]);
    }

    #[test]
    fn a_traced_sorted_array_compiles_and_is_checked_on_every_call() {
        let values = Tensor::from([0.5, 2.0, 4.0]);
        let search = |s: &Tensor| searchsorted(s, &values, Side::Left);
        let compiled = crate::compile(search, &Tensor::from([0.0, 1.0, 3.0, 4.5])).unwrap();
        let other = Tensor::from([1.0, 2.0, 2.5, 3.0]);
        assert_eq!(compiled.call(&other).unwrap(), search(&other));
        // Where the direct call panics, the program returns the error.
        let err = compiled.call(&Tensor::from([0.0, 3.0, 1.0, 4.5])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "searchsorted: the array is not sorted: element 2 = 1 follows 3 (shape [4])"
        );
    }
}
