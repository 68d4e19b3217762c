//! Diagonals and the trace, as gathers and scatters of the indexing family
//! (whose derivatives are each other), so they need no rule of their own.

use crate::tensor::Tensor;

/// The main diagonal of each matrix in the last two dimensions: `[..., m, n]`
/// gives `[..., min(m, n)]` (NumPy's `diagonal(a, axis1=-2, axis2=-1)`).
///
/// ```
/// use jaxpurify_runtime::{linalg, Tensor};
/// let a = Tensor::from([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
/// assert_eq!(linalg::diagonal(&a).to_vec(), vec![1.0, 5.0]);
/// ```
///
/// # Panics
/// When `a` has fewer than two dimensions.
#[track_caller]
pub fn diagonal(a: &Tensor) -> Tensor {
    assert!(
        a.ndim() >= 2,
        "diagonal: needs at least 2 dimensions, got shape {}",
        a.shape()
    );
    let dims = a.shape().dims();
    let (batch, (m, n)) = (
        &dims[..dims.len() - 2],
        (dims[dims.len() - 2], dims[dims.len() - 1]),
    );
    let positions: Vec<usize> = (0..m.min(n)).map(|i| i * n + i).collect();
    let flat: Vec<usize> = batch.iter().copied().chain([m * n]).collect();
    a.reshape(flat).index_select(-1, &positions)
}

/// NumPy's `diag`: a vector `[n]` gives the `[n, n]` matrix with it on the
/// diagonal and zeros elsewhere; a matrix gives its [`diagonal`].
///
/// ```
/// use jaxpurify_runtime::{linalg, Tensor};
/// let d = linalg::diag(&Tensor::from([1.0, 2.0]));
/// assert_eq!(d.to_vec(), vec![1.0, 0.0, 0.0, 2.0]);
/// assert_eq!(linalg::diag(&d).to_vec(), vec![1.0, 2.0]);
/// ```
///
/// # Panics
/// When `x` is neither a vector nor a matrix.
#[track_caller]
pub fn diag(x: &Tensor) -> Tensor {
    match x.ndim() {
        1 => {
            let n = x.numel();
            let positions: Vec<usize> = (0..n).map(|i| i * n + i).collect();
            x.scatter_add(0, &positions, n * n).reshape([n, n])
        }
        2 => diagonal(x),
        _ => panic!("diag: expected a vector or a matrix, got shape {}", x.shape()),
    }
}

/// The sum of the main diagonal of each matrix in the last two dimensions:
/// `[..., m, n]` gives `[...]`.
///
/// ```
/// use jaxpurify_runtime::{linalg, Tensor};
/// assert_eq!(linalg::trace(&Tensor::from([[1.0, 2.0], [3.0, 4.0]])).item(), 5.0);
/// ```
///
/// # Panics
/// When `a` has fewer than two dimensions.
#[track_caller]
pub fn trace(a: &Tensor) -> Tensor {
    assert!(
        a.ndim() >= 2,
        "trace: needs at least 2 dimensions, got shape {}",
        a.shape()
    );
    diagonal(a).sum_axes(&[-1], false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grad;
    use crate::testing::check_grad;

    #[test]
    fn hand_derived_values_and_gradients() {
        // diagonal of a [2, 2, 3] batch: [[0, 4], [6, 10]] (row-major offsets
        // 0, 4 in each 6-element matrix). With upstream [[1, 2], [3, 4]] the
        // gradient puts those weights at the diagonal positions, 0 elsewhere.
        let a = Tensor::arange(0.0, 12.0, 1.0).reshape([2, 2, 3]);
        assert_eq!(diagonal(&a).to_vec(), vec![0.0, 4.0, 6.0, 10.0]);
        let upstream = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
        let g = grad(|a: &Tensor| (diagonal(a) * &upstream).sum(), &a);
        let expected = [1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 3.0, 0.0, 0.0, 0.0, 4.0, 0.0];
        assert_eq!(g.to_vec(), expected);
        // trace: 0 + 4 and 6 + 10; d trace / dA = I in each matrix.
        assert_eq!(trace(&a).to_vec(), vec![4.0, 16.0]);
        // diag of [1, 2] under upstream [[1, 5], [7, 3]]: d/dv_i = upstream_ii = [1, 3].
        let dv = grad(
            |v: &Tensor| (diag(v) * Tensor::from([[1.0, 5.0], [7.0, 3.0]])).sum(),
            &Tensor::from([1.0, 2.0]),
        );
        assert_eq!(dv.to_vec(), vec![1.0, 3.0]);
    }

    #[test]
    fn gradients_match_central_differences() {
        let a = Tensor::linspace(-1.0, 2.0, 12).reshape([3, 4]);
        check_grad(|v| diagonal(&v[0]), std::slice::from_ref(&a)).assert_ok_for("diagonal");
        check_grad(|v| trace(&v[0]), std::slice::from_ref(&a)).assert_ok_for("trace");
        check_grad(|v| diag(&v[0]), &[Tensor::from([0.5, -1.0, 2.0])]).assert_ok_for("diag");
    }

    #[test]
    #[should_panic(expected = "diag: expected a vector or a matrix, got shape [2, 2, 2]")]
    fn diag_of_a_batch_panics() {
        diag(&Tensor::zeros([2, 2, 2]));
    }
}
