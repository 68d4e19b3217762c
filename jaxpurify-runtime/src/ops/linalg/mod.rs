//! Linear algebra: Cholesky, triangular and general solves, inverse,
//! determinants, trace and diagonals, all differentiable to any order.
//!
//! Matrices are 2-d tensors and right-hand sides are a vector `[n]` or a
//! matrix `[n, k]` of `k` columns; batches of matrices are not taken (map
//! over them with [`vmap`](crate::vmap)), except by [`diagonal`] and
//! [`trace`], which work on the last two dimensions.
//!
//! Errors: shapes that do not fit are programmer errors and panic naming the
//! op and the shapes. A matrix that a factorisation cannot handle (not
//! positive definite for [`cholesky`], singular for [`solve`]) is a property
//! of the values, so those functions return a [`Result`](crate::Result)
//! whose error names the op and the shape; they never return NaN for it.
//! Whether they fail is decided on the values, which a compiled program
//! could not repeat: inside a function being [`compile`](crate::compile())d,
//! the matrix they check must not depend on the function's inputs (a
//! constant matrix with traced right-hand sides compiles), or compiling
//! fails naming the call. [`slogdet`] and [`det`] have no error and compile
//! for any matrix.
//!
//! ```
//! use jaxpurify_runtime::{linalg, Tensor};
//! let a = Tensor::from([[4.0, 2.0], [2.0, 3.0]]);
//! let l = linalg::cholesky(&a)?;
//! let x = linalg::cho_solve(&l, &Tensor::from([2.0, 1.0]))?;
//! assert!((a.matmul(&x) - Tensor::from([2.0, 1.0])).abs().max().item() < 1e-15);
//! # Ok::<(), jaxpurify_runtime::Error>(())
//! ```

mod cholesky;
mod dense;
mod diag;
#[cfg(test)]
mod properties;
mod solve;
mod triangular;

pub use cholesky::{cho_solve, cholesky, logdet};
pub use diag::{diag, diagonal, trace};
pub use solve::{det, inv, slogdet, solve};
pub(crate) use triangular::solve_lower_or_panic;
pub use triangular::{Transpose, Triangle, solve_triangular};

use crate::shape::Shape;
use crate::tensor::Tensor;

/// Panics unless `a` is a square matrix; returns its size.
#[track_caller]
fn assert_square(op: &str, a: &Tensor) -> usize {
    assert!(
        a.ndim() == 2 && a.shape()[0] == a.shape()[1],
        "{op}: expected a square matrix, got shape {}",
        a.shape()
    );
    a.shape()[0]
}

/// Panics unless `a` is a square matrix and `b` a vector or matrix with as
/// many rows; returns the number of right-hand sides `b` holds.
#[track_caller]
fn assert_system(op: &str, a: &Tensor, b: &Tensor) -> usize {
    let square = a.ndim() == 2 && a.shape()[0] == a.shape()[1];
    let fits = matches!(b.ndim(), 1 | 2) && square && b.shape()[0] == a.shape()[0];
    assert!(
        fits,
        "{op}: matrix of shape {} and right-hand side of shape {} do not align \
         (expected [n, n] with [n] or [n, k])",
        a.shape(),
        b.shape()
    );
    if b.ndim() == 1 { 1 } else { b.shape()[1] }
}

/// `x y^T` for two vectors (an outer product) or two matrices with as many
/// columns: the shape of a matrix's gradient in a solve with vector or
/// matrix right-hand sides.
fn times_transpose(x: &Tensor, y: &Tensor) -> Tensor {
    if x.ndim() == 1 {
        x.outer(y)
    } else {
        x.matmul(&y.t())
    }
}

/// Ones on and below (`lower`) or on and above the diagonal of an `n` by `n`
/// matrix, zeros elsewhere; plain data.
fn triangle_mask(n: usize, lower: bool) -> Tensor {
    let data = (0..n * n)
        .map(|k| {
            let (i, j) = (k / n, k % n);
            if (lower && j <= i) || (!lower && j >= i) {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    Tensor::from_parts(data, Shape::from([n, n]))
}
