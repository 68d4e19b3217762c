//! General square systems through an LU factorisation with partial pivoting:
//! solve, inverse and determinants.

use super::dense::Lu;
use super::{assert_square, assert_system, times_transpose};
use crate::autodiff::graph::{apply_constant, apply_op};
use crate::compile::check::check;
use crate::compile::kernel::Kernel;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;
use smallvec::smallvec;

/// The solution `x` of `A x = b` for a square, invertible `a` (`[n, n]`);
/// `b` is a vector `[n]` or holds `k` right-hand sides as the columns of
/// `[n, k]`, and `x` has its shape. Differentiable in both, to any order:
/// `bbar = A^{-T} xbar` (a solve with the same factorisation, transposed)
/// and `Abar = -bbar x^T`. For a positive-definite `A`, [`cholesky`](super::cholesky)
/// with [`cho_solve`](super::cho_solve) is about twice as fast.
///
/// ```
/// use jaxpurify_runtime::{linalg, Tensor};
/// // 2 x0 + x1 = 5, x0 + 3 x1 = 10  =>  x = [1, 3]
/// let x = linalg::solve(&Tensor::from([[2.0, 1.0], [1.0, 3.0]]), &Tensor::from([5.0, 10.0]))?;
/// assert!((x - Tensor::from([1.0, 3.0])).abs().max().item() < 1e-15);
/// # Ok::<(), jaxpurify_runtime::Error>(())
/// ```
///
/// # Errors
/// [`Error::Singular`] when a pivot of the factorisation is exactly zero. A
/// nearly singular matrix is not detected and gives large values, as in NumPy.
/// A [`compile`](crate::compile())d function makes the same check on every
/// call and returns the same error.
///
/// # Panics
/// When `a` is not square or `b` does not have `n` rows.
#[track_caller]
pub fn solve(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    assert_system("solve", a, b);
    Ok(lu_solve(&factor("solve", a)?, a, b, false))
}

/// The inverse of a square, invertible `a`; the gradient is
/// `-A^{-T} Xbar A^{-T}`. Prefer [`solve`] to multiplying by the inverse.
///
/// ```
/// use jaxpurify_runtime::{linalg, Tensor};
/// let inverse = linalg::inv(&Tensor::from([[2.0, 0.0], [0.0, 4.0]]))?;
/// assert_eq!(inverse.to_vec(), vec![0.5, 0.0, 0.0, 0.25]);
/// # Ok::<(), jaxpurify_runtime::Error>(())
/// ```
///
/// # Errors
/// [`Error::Singular`] when a pivot is exactly zero, checked again by every
/// call of a compiled function, as for [`solve`].
///
/// # Panics
/// When `a` is not square.
#[track_caller]
pub fn inv(a: &Tensor) -> Result<Tensor> {
    let n = assert_square("inv", a);
    Ok(lu_solve(&factor("inv", a)?, a, &Tensor::eye(n), false))
}

/// The sign (-1, 0 or 1) and the natural log of th/// The sign (-1, 0 or 1) and the natural log of the absolute value of the
/// determinant of a square `a`, as two scalars (NumPy's `slogdet`); a
/// singular matrix gives sign 0 and `-inf`. Only the log is differentiable
/// (the sign is piecewise constant): its gradient is `A^{-T}`.
///
/// ```
/// use jaxpurify_runtime::{linalg, Tensor};
/// let (sign, logabsdet) = linalg::slogdet(&Tensor::from([[1.0, 2.0], [3.0, 4.0]]));
/// assert_eq!(sign.item(), -1.0);
/// assert!((logabsdet.item() - 2f64.ln()).abs() < 1e-15);
/// ```
///
/// # Panics
/// When `a` is not square, and when differentiating at a singular matrix,
/// where the log has no derivative.
#[track_caller]
pub fn slogdet(a: &Tensor) -> (Tensor, Tensor) {
    let n = assert_square("slogdet", a);
    let lu = lu_factors(a);
    let sign = apply_constant(&DeterminantSign { n }, &[&lu], Shape::scalar());
    // d ln|det A| = tr(A^{-1} dA), so Abar = g A^{-T}: a transposed solve
    // against the identity, with the forward pass's factorisation.
    let logabsdet = apply_op(&LogAbsDet { n }, &[a, &lu], Shape::scalar(), move |c| {
        let inverse_transposed = lu_solve(&c.inputs[1], &c.inputs[0], &Tensor::eye(n), true);
        smallvec![Some(inverse_transposed * c.grad), None]
    });
    (sign, logabsdet)
}

/// The determinant of a square `a`, as `sign * exp(logabsdet)` from
/// [`slogdet`]; its gradient is `det(A) A^{-T}`. For large matrices the
/// determinant overflows long before its log does: prefer `slogdet`.
///
/// ```
/// use jaxpurify_runtime::{linalg, Tensor};
/// let d = linalg::det(&Tensor::from([[1.0, 2.0], [3.0, 4.0]]));
/// assert!((d.item() + 2.0).abs() < 1e-14);
/// ```
///
/// # Panics
/// When `a` is not square, and when differentiating at a singular matrix
/// (the gradient is computed through the inverse).
#[track_caller]
pub fn det(a: &Tensor) -> Tensor {
    let (sign, logabsdet) = slogdet(a);
    logabsdet.exp() * sign
}

/// The packed LU factorisation of the square `a` (see [`Lu`]): an op with
/// zero derivative, so that a compiled program factorises once per call
/// and every solve with `a`, forward and backward, reads the same factors.
fn lu_factors(a: &Tensor) -> Tensor {
    let n = a.shape()[0];
    apply_constant(&LuFactor { n }, &[a], Shape::from([Lu::packed_len(n)]))
}

/// The factorisation of `a`, or `Singular` naming `op`; a compiled program
/// repeats the check.
fn factor(op: &'static str, a: &Tensor) -> Result<Tensor> {
    let (n, shape) = (a.shape()[0], a.shape().clone());
    let lu = lu_factors(a);
    check(op, &[&lu], move |packed| {
        match Lu::unpack(packed[0], n).is_singular() {
            true => Err(Error::Singular {
                op,
                shape: shape.clone(),
            }),
            false => Ok(()),
        }
    })?;
    Ok(lu)
}

/// The kernel of [`lu_factors`].
#[derive(Clone)]
struct LuFactor {
    n: usize,
}

impl Kernel for LuFactor {
    fn name(&self) -> &'static str {
        "lu_factor"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        Lu::factorise(inputs[0], self.n, out);
    }
}

/// The kernel of the sign of [`slogdet`]: the packed factorisation.
#[derive(Clone)]
struct DeterminantSign {
    n: usize,
}

impl Kernel for DeterminantSign {
    fn name(&self) -> &'static str {
        "determinant_sign"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let lu = Lu::unpack(inputs[0], self.n);
        out[0] = lu.determinant_sign();
    }
}

/// The kernel of the log of [`slogdet`]: the matrix (for the derivative
/// only), then its packed factorisation.
#[derive(Clone)]
struct LogAbsDet {
    n: usize,
}

impl Kernel for LogAbsDet {
    fn name(&self) -> &'static str {
        "log_abs_determinant"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        out[0] = Lu::unpack(inputs[1], self.n).log_abs_determinant();
    }
}

/// The recorded solve `op(A)^{-1} b`, `op(A) = A^T` when `transposed`, with
/// `lu` the packed factorisation of `a`.
fn lu_solve(lu: &Tensor, a: &Tensor, b: &Tensor, transposed: bool) -> Tensor {
    let kernel = LuSolve {
        n: a.shape()[0],
        k: if b.ndim() == 1 { 1 } else { b.shape()[1] },
        transposed,
    };
    // X = op(A)^{-1} B:  dB = op(A)^{-T} G  and  d op(A) = -dB X^T, so
    // dA = -dB X^T, or -X dB^T when op(A) = A^T. The factors themselves get
    // no gradient: the dependence on A is all in these two.
    apply_op(&kernel, &[a, b, lu], b.shape().clone(), move |c| {
        let db = lu_solve(&c.inputs[2], &c.inputs[0], c.grad, !transposed);
        let da = c.needs(0).then(|| {
            if transposed {
                -times_transpose(c.output, &db)
            } else {
                -times_transpose(&db, c.output)
            }
        });
        smallvec![da, c.needs(1).then_some(db), None]
    })
}

/// The kernel of [`lu_solve`]: the matrix (for the derivative only), the
/// right-hand sides, the packed factorisation.
#[derive(Clone)]
struct LuSolve {
    n: usize,
    k: usize,
    transposed: bool,
}

impl Kernel for LuSolve {
    fn name(&self) -> &'static str {
        "lu_solve"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let lu = Lu::unpack(inputs[2], self.n);
        // `solve` and `inv` return an error for a singular matrix before
        // solving, so only the derivative of `slogdet` meets one here, in a
        // compiled program as well as directly.
        assert!(
            !lu.is_singular(),
            "slogdet: the log-determinant of the singular matrix of shape {} has no derivative",
            Shape::from([self.n, self.n])
        );
        lu.solve(inputs[1], self.k, self.transposed, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_compiles_exactly, assert_compiles_with_errors, check_grad};
    use crate::{compile, grad, value_and_grad};

    fn general() -> Tensor {
        // Needs row exchanges: the first pivot is zero.
        Tensor::from([[0.0, 2.0, 1.0], [1.0, 1.0, 0.0], [3.0, -1.0, 2.0]])
    }

    #[test]
    fn hand_derived_solve_and_gradients() {
        // A = [[2, 1], [1, 3]], det 5, A^{-1} = [[3, -1], [-1, 2]] / 5.
        // b = [5, 10]: x = A^{-1} b = [5, 15] / 5 = [1, 3].
        // Upstream g = [1, 2]: bbar = A^{-T} g = [1, 3] / 5 = [0.2, 0.6];
        // Abar = -bbar x^T = -[[0.2, 0.6], [0.6, 1.8]].
        let a = Tensor::from([[2.0, 1.0], [1.0, 3.0]]);
        let b = Tensor::from([5.0, 10.0]);
        let g = Tensor::from([1.0, 2.0]);
        let close = |t: Tensor, want: &[f64]| {
            assert!(
                t.to_vec().iter().zip(want).all(|(x, y)| (x - y).abs() < 1e-14),
                "{t:?}"
            );
        };
        close(solve(&a, &b).unwrap(), &[1.0, 3.0]);
        close(
            grad(|b: &Tensor| (solve(&a, b).unwrap() * &g).sum(), &b),
            &[0.2, 0.6],
        );
        close(
            grad(|a: &Tensor| (solve(a, &b).unwrap() * &g).sum(), &a),
            &[-0.2, -0.6, -0.6, -1.8],
        );
    }

    #[test]
    fn solve_gradients_of_first_and_second_order() {
        let vector = Tensor::from([1.0, -2.0, 0.5]);
        let matrix = Tensor::from([[1.0, -2.0], [0.3, 0.0], [0.5, 2.0]]);
        for b in [vector, matrix] {
            check_grad(|v| solve(&v[0], &v[1]).unwrap(), &[general(), b.clone()]).assert_ok_for("solve");
            let second = |v: &[Tensor]| grad(|a: &Tensor| solve(a, &v[1]).unwrap().sum(), &v[0]);
            check_grad(second, &[general(), b.clone()]).assert_ok_for("d/da solve");
        }
    }

    #[test]
    fn inverse_and_determinants() {
        // det of the general matrix along its first column:
        // -1 * (2*2 - 1*(-1)) + 3 * (2*0 - 1*1) = -5 - 3 = -8.
        let (sign, logabsdet) = slogdet(&general());
        assert_eq!(sign.item(), -1.0);
        assert!((logabsdet.item() - 8f64.ln()).abs() < 1e-14);
        assert!((det(&general()).item() + 8.0).abs() < 1e-13);
        check_grad(|v| inv(&v[0]).unwrap(), &[general()]).assert_ok_for("inv");
        check_grad(|v| slogdet(&v[0]).1, &[general()]).assert_ok_for("slogdet");
        check_grad(|v| det(&v[0]), &[general()]).assert_ok_for("det");
        let second = |v: &[Tensor]| grad(|a: &Tensor| slogdet(a).1, &v[0]);
        check_grad(second, &[general()]).assert_ok_for("d/da slogdet");
    }

    #[test]
    fn singular_matrices() {
        let singular = Tensor::from([[1.0, 2.0], [2.0, 4.0]]);
        let err = solve(&singular, &Tensor::ones([2])).unwrap_err();
        assert_eq!(err.to_string(), "solve: matrix of shape [2, 2] is singular");
        assert!(matches!(inv(&singular), Err(Error::Singular { op: "inv", .. })));
        let (sign, logabsdet) = slogdet(&singular);
        assert_eq!((sign.item(), logabsdet.item()), (0.0, f64::NEG_INFINITY));
        assert_eq!(det(&singular).item(), 0.0);
    }

    #[test]
    #[should_panic(
        expected = "slogdet: the log-determinant of the singular matrix of shape [2, 2] has no derivative"
    )]
    fn gradient_at_a_singular_matrix_panics() {
        grad(|a: &Tensor| slogdet(a).1, &Tensor::from([[1.0, 2.0], [2.0, 4.0]]));
    }

    #[test]
    fn determinants_compile_with_their_gradients_for_any_matrix() {
        // The points change the pivot rows, the sign of the determinant and
        // whether a row exchange is needed at all.
        let f = |a: &Tensor| {
            let (sign, logabsdet) = slogdet(a);
            let (value, gradient) = value_and_grad(|a: &Tensor| det(a) + slogdet(a).1, a);
            (sign, logabsdet, value, gradient)
        };
        let points = [
            general().t(),
            Tensor::from([[3.0, 0.5, 0.0], [0.2, -2.0, 1.0], [1.0, 1.0, 4.0]]),
        ];
        assert_compiles_exactly(f, &general(), &points);
    }

    #[test]
    fn solves_compile_for_constant_and_traced_matrices() {
        let w = Tensor::from([[1.0, -2.0], [0.5, 3.0], [-1.5, 0.25]]);
        let f = |b: &Tensor| {
            let loss =
                |b: &Tensor| (solve(&general(), b).unwrap() * &w).sum() + inv(&general()).unwrap().sum();
            value_and_grad(loss, b)
        };
        let b = Tensor::from([[1.0, -2.0], [0.3, 0.0], [0.5, 2.0]]);
        assert_compiles_exactly(f, &b, &[-&b * 2.0 + 0.5]);
        // A traced matrix: the points change the pivot rows; the singular
        // one is the same error from the program as from the function.
        let traced = |a: &Tensor| {
            let x = solve(a, &b)?;
            let inverse = inv(a)?;
            let (value, gradient) = value_and_grad(|a: &Tensor| (solve(a, &b).unwrap() * &w).sum(), a);
            Ok((x, inverse, value, gradient))
        };
        let singular = Tensor::from([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]]);
        let points = [general().t(), general() * -0.5, singular];
        assert_compiles_with_errors(traced, &general(), &points);
    }

    #[test]
    fn a_compiled_solve_and_its_gradient_factorise_once() {
        let b = Tensor::from([1.0, 2.0, 3.0]);
        let f = |a: &Tensor| value_and_grad(|a: &Tensor| solve(a, &b).unwrap().square().sum(), a);
        let compiled = compile(f, &general()).unwrap();
        let factorisations = compiled
            .step_counts()
            .into_iter()
            .find(|(name, _)| *name == "lu_factor");
        assert_eq!(factorisations, Some(("lu_factor", 1)));
    }

    #[test]
    #[should_panic(
        expected = "slogdet: the log-determinant of the singular matrix of shape [2, 2] has no derivative"
    )]
    fn a_compiled_gradient_at_a_singular_matrix_panics() {
        let f = |a: &Tensor| grad(|a: &Tensor| slogdet(a).1, a);
        let compiled = compile(f, &Tensor::from([[1.0, 2.0], [3.0, 4.0]])).unwrap();
        let _ = compiled.call(&Tensor::from([[1.0, 2.0], [2.0, 4.0]]));
    }
}
