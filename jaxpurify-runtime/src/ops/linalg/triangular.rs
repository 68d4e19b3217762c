//! Solving with a triangular matrix, as stored or transposed.

use super::dense::{
    TriangularRead, negated_triangle_product as negated_triangle_product_into, solve_triangular_in_place,
};
use super::{assert_system, triangle_mask};
use crate::autodiff::graph::apply_op;
use crate::compile::check::check;
use crate::compile::kernel::Kernel;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;
use smallvec::smallvec;

/// Which triangle of a matrix holds its values; the other one is ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Triangle {
    /// On and below the diagonal, as a Cholesky factor.
    Lower,
    /// On and above the diagonal.
    Upper,
}

/// Whether a solve uses the matrix as given or its transpose (for real
/// matrices, also its adjoint).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transpose {
    /// Solve `T x = b`.
    No,
    /// Solve `T^T x = b`.
    Yes,
}

/// The solution `x` of `T x = b`, or of `T^T x = b` with [`Transpose::Yes`],
/// for a triangular `t` (`[n, n]`) whose values are in `triangle` (the other
/// triangle is never read and gets gradient 0). `b` is a vector `[n]` or
/// holds `k` right-hand sides as the columns of `[n, k]`; `x` has its shape.
///
/// Differentiable in both arguments, to any order. The diagonal is not
/// required to be positive, only non-zero.
///
/// ```
/// use jaxpurify_runtime::{linalg::{self, Transpose, Triangle}, Tensor};
/// let l = Tensor::from([[2.0, 0.0], [1.0, 4.0]]);
/// // 2 x0 = 2, x0 + 4 x1 = 9  =>  x = [1, 2]
/// let x = linalg::solve_triangular(&l, &Tensor::from([2.0, 9.0]), Triangle::Lower, Transpose::No)?;
/// assert_eq!(x.to_vec(), vec![1.0, 2.0]);
/// // With L^T = [[2, 1], [0, 4]]: 4 x1 = 8, 2 x0 + x1 = 4  =>  x = [1, 2]
/// let y = linalg::solve_triangular(&l, &Tensor::from([4.0, 8.0]), Triangle::Lower, Transpose::Yes)?;
/// assert_eq!(y.to_vec(), vec![1.0, 2.0]);
/// # Ok::<(), jaxpurify_runtime::Error>(())
/// ```
///
/// # Errors
/// [`Error::Singular`] when a diagonal entry is zero, checked again by
/// every call of a [`compile`](crate::compile())d function.
///
/// # Panics
/// When `t` is not square or `b` does not have `n` rows.
#[track_caller]
pub fn solve_triangular(t: &Tensor, b: &Tensor, triangle: Triangle, transpose: Transpose) -> Result<Tensor> {
    assert_system("solve_triangular", t, b);
    check_diagonal("solve_triangular", t)?;
    Ok(triangular_solve(t, b, read_of(t.shape()[0], triangle, transpose)))
}

/// `Err(Singular)` naming `op` when the square `t` has a zero on its
/// diagonal; a compiled program repeats the check.
pub(super) fn check_diagonal(op: &'static str, t: &Tensor) -> Result<()> {
    let shape = t.shape().clone();
    check(op, &[t], move |values| {
        let (n, values) = (shape[0], values[0]);
        match (0..n).any(|i| values[i * n + i] == 0.0) {
            true => Err(Error::Singular {
                op,
                shape: shape.clone(),
            }),
            false => Ok(()),
        }
    })
}

/// How the kernel reads a matrix of size `n` stored with its values in
/// `triangle` and used as said by `transpose`.
pub(super) fn read_of(n: usize, triangle: Triangle, transpose: Transpose) -> TriangularRead {
    let transposed = transpose == Transpose::Yes;
    TriangularRead {
        n,
        transposed,
        lower_as_read: (triangle == Triangle::Lower) != transposed,
    }
}

/// The recorded solve `M^{-1} b` for `M` read from `t` as `read` says; the
/// diagonal is known to be non-zero.
pub(super) fn triangular_solve(t: &Tensor, b: &Tensor, read: TriangularRead) -> Tensor {
    solve_with(t, b, read, None)
}

/// `L^{-1} b` for the lower triangle of `l`, panicking with a message naming
/// `op` when `l` has a zero on its diagonal. The check is made by the kernel,
/// so a compiled program makes it on every run instead of refusing to
/// compile.
pub(crate) fn solve_lower_or_panic(op: &'static str, l: &Tensor, b: &Tensor) -> Tensor {
    let read = read_of(l.shape()[0], Triangle::Lower, Transpose::No);
    solve_with(l, b, read, Some(op))
}

/// [`triangular_solve`], with the diagonal checked by the kernel (naming
/// `checked_for` in its panic) when one is given.
fn solve_with(t: &Tensor, b: &Tensor, read: TriangularRead, checked_for: Option<&'static str>) -> Tensor {
    let kernel = TriangularSolve {
        read,
        k: if b.ndim() == 1 { 1 } else { b.shape()[1] },
        checked_for,
    };
    let stored_lower = read.lower_as_read != read.transposed;
    // X = M^{-1} B with M = T or T^T:  dB = M^{-T} G  and  dM = -dB X^T, so
    // dT = -dB X^T, or its transpose -X dB^T when M = T^T, restricted to the
    // stored triangle (the other one is not read).
    apply_op(&kernel, &[t, b], b.shape().clone(), move |c| {
        let flipped = TriangularRead {
            transposed: !read.transposed,
            lower_as_read: !read.lower_as_read,
            ..read
        };
        let db = triangular_solve(&c.inputs[0], c.grad, flipped);
        let dt = c.needs(0).then(|| match read.transposed {
            true => negated_triangle_product(c.output, &db, stored_lower),
            false => negated_triangle_product(&db, c.output, stored_lower),
        });
        smallvec![dt, c.needs(1).then_some(db)]
    })
}

/// `-tri(a b^T)` for two vectors or two matrices with as many columns: the
/// lower triangle of the product (the upper one unless `lower`), with
/// zeros in the other, as one op. The gradient of a triangular solve's
/// matrix, restricted to the triangle the solve reads.
fn negated_triangle_product(a: &Tensor, b: &Tensor, lower: bool) -> Tensor {
    let n = a.shape()[0];
    let k = if a.ndim() == 1 { 1 } else { a.shape()[1] };
    // C = -tri(A B^T):  dA = -tri(G) B  and  dB = -tri(G)^T A.
    apply_op(
        &TriangleProduct { n, k, lower },
        &[a, b],
        Shape::from([n, n]),
        move |c| {
            let (a, b, g) = (&c.inputs[0], &c.inputs[1], c.grad * triangle_mask(n, lower));
            smallvec![
                c.needs(0).then(|| -g.matmul(b)),
                c.needs(1).then(|| -g.t().matmul(a))
            ]
        },
    )
}

/// The kernel of [`negated_triangle_product`].
#[derive(Clone)]
struct TriangleProduct {
    n: usize,
    k: usize,
    lower: bool,
}

impl Kernel for TriangleProduct {
    fn name(&self) -> &'static str {
        "triangle_product"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        negated_triangle_product_into(inputs[0], inputs[1], (self.n, self.k), self.lower, out);
    }
}

/// The kernel of the triangular solves: `k` right-hand sides solved in place.
#[derive(Clone)]
struct TriangularSolve {
    read: TriangularRead,
    k: usize,
    /// The op to name in a panic on a zero diagonal entry, for a caller that
    /// panics on one; `None` where the caller has checked the diagonal.
    checked_for: Option<&'static str>,
}

impl Kernel for TriangularSolve {
    fn name(&self) -> &'static str {
        "solve_triangular"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let (t, n) = (inputs[0], self.read.n);
        if let Some(op) = self.checked_for {
            assert!(
                (0..n).all(|i| t[i * n + i] != 0.0),
                "{op}: factor of shape {} has a zero on its diagonal",
                Shape::from([n, n])
            );
        }
        out.copy_from_slice(inputs[1]);
        solve_triangular_in_place(t, self.read, out, self.k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_compiles_exactly, assert_compiles_with_errors, check_grad};
    use crate::{grad, value_and_grad};

    fn upper() -> Tensor {
        Tensor::from([[1.5, 0.4, -0.3], [0.0, 0.8, 0.2], [0.0, 0.0, -1.1]])
    }

    #[test]
    fn hand_derived_upper_solve_and_gradient() {
        // U = [[2, 1], [0, 4]], b = [4, 8]: back substitution gives x1 = 2,
        // x0 = (4 - 2) / 2 = 1. With upstream g = [1, 3]: db = U^{-T} g solves
        // 2 y0 = 1, y0 + 4 y1 = 3, so db = [0.5, 0.625]; dU = -db x^T on the
        // upper triangle: [[-0.5, -1], [0, -1.25]] (the lower entry is unread).
        // Garbage below the diagonal must not matter.
        let u = Tensor::from([[2.0, 1.0], [99.0, 4.0]]);
        let b = Tensor::from([4.0, 8.0]);
        let solve = |v: &[Tensor]| solve_triangular(&v[0], &v[1], Triangle::Upper, Transpose::No).unwrap();
        assert_eq!(solve(&[u.clone(), b.clone()]).to_vec(), vec![1.0, 2.0]);
        let weights = Tensor::from([1.0, 3.0]);
        let du = grad(|u: &Tensor| (solve(&[u.clone(), b.clone()]) * &weights).sum(), &u);
        assert_eq!(du.to_vec(), vec![-0.5, -1.0, 0.0, -1.25]);
        let db = grad(|b: &Tensor| (solve(&[u.clone(), b.clone()]) * &weights).sum(), &b);
        assert_eq!(db.to_vec(), vec![0.5, 0.625]);
    }

    #[test]
    fn gradients_for_every_triangle_and_orientation() {
        let vector = Tensor::from([1.0, -2.0, 0.5]);
        let matrix = Tensor::from([[1.0, -2.0], [0.3, 0.0], [0.5, 2.0]]);
        for t in [upper(), upper().t()] {
            let triangle = if t.get(&[1, 0]) == 0.0 {
                Triangle::Upper
            } else {
                Triangle::Lower
            };
            for transpose in [Transpose::No, Transpose::Yes] {
                for b in [&vector, &matrix] {
                    let solve = |v: &[Tensor]| solve_triangular(&v[0], &v[1], triangle, transpose).unwrap();
                    check_grad(solve, &[t.clone(), b.clone()]).assert_ok_for("solve_triangular");
                    let second =
                        |v: &[Tensor]| grad(|t: &Tensor| solve(&[t.clone(), v[1].clone()]).sum(), &v[0]);
                    check_grad(second, &[t.clone(), b.clone()]).assert_ok_for("d/dt solve_triangular");
                }
            }
        }
    }

    #[test]
    fn triangle_products_differentiate_and_compile_exactly() {
        // -tri(a b^T), vectors and matrices, both triangles: a gradient
        // check in both inputs, and a compiled value and gradient that
        // gives the direct call's bits.
        let vectors = [Tensor::from([1.0, -2.0, 0.5]), Tensor::from([0.3, 1.5, -1.0])];
        let matrices = [
            Tensor::from([[1.0, -2.0], [0.3, 0.0], [0.5, 2.0]]),
            Tensor::from([[0.2, 1.0], [-1.5, 0.7], [2.0, -0.4]]),
        ];
        let w = Tensor::from([[1.0, -0.5, 2.0], [0.3, 1.2, -1.0], [0.8, -2.0, 0.5]]);
        for inputs in [vectors, matrices] {
            for lower in [true, false] {
                let product = |v: &[Tensor]| negated_triangle_product(&v[0], &v[1], lower);
                check_grad(product, &inputs).assert_ok_for("triangle product");
                let weighted = |v: &[Tensor; 2]| value_and_grad(|v: &[Tensor; 2]| (product(v) * &w).sum(), v);
                let moved = [&inputs[0] * 2.0 - 1.0, &inputs[1] + 0.5];
                assert_compiles_exactly(weighted, &inputs, &[moved]);
            }
        }
    }

    #[test]
    fn a_zero_on_the_diagonal_is_an_error_naming_the_op() {
        let t = Tensor::from([[1.0, 0.0], [5.0, 0.0]]);
        let err =
            solve_triangular(&t, &Tensor::from([1.0, 1.0]), Triangle::Lower, Transpose::No).unwrap_err();
        assert!(matches!(
            err,
            Error::Singular {
                op: "solve_triangular",
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            "solve_triangular: matrix of shape [2, 2] is singular"
        );
    }

    #[test]
    #[should_panic(expected = "solve_triangular: matrix of shape [2, 2] and right-hand side of shape [3]")]
    fn misaligned_right_hand_side_panics() {
        let _ = solve_triangular(
            &Tensor::eye(2),
            &Tensor::ones([3]),
            Triangle::Lower,
            Transpose::No,
        );
    }

    #[test]
    fn solves_compile_for_constant_and_traced_matrices() {
        let w = Tensor::from([1.0, -2.0, 0.5]);
        for transpose in [Transpose::No, Transpose::Yes] {
            let solve = |b: &Tensor| solve_triangular(&upper(), b, Triangle::Upper, transpose).unwrap();
            let f = |b: &Tensor| value_and_grad(|b: &Tensor| (solve(b).square() * &w).sum(), b);
            let points = [Tensor::from([-3.0, 0.0, 2.5])];
            assert_compiles_exactly(f, &Tensor::from([1.0, 0.5, -0.2]), &points);
        }
        // A traced matrix compiles; a zero on its diagonal is the same error
        // from the program as from the function.
        let singular = upper().at([1, 1]).set(0.0);
        for transpose in [Transpose::No, Transpose::Yes] {
            let solve = |t: &Tensor| {
                let loss = |t: &Tensor| solve_triangular(t, &Tensor::ones([3]), Triangle::Upper, transpose);
                let x = loss(t)?;
                Ok((x, grad(|t: &Tensor| loss(t).map_or(t.sum(), |x| x.sum()), t)))
            };
            assert_compiles_with_errors(solve, &upper(), &[upper() * 2.0 + 0.5, singular.clone()]);
        }
    }
}
