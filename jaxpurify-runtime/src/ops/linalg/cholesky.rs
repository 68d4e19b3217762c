//! The Cholesky factorisation and what is built on it: solves and the
//! log-determinant of positive-definite matrices.

use super::dense;
use super::diag::diagonal;
use super::triangular::{Transpose, Triangle, check_diagonal, read_of, triangular_solve};
use super::{assert_square, assert_system, triangle_mask};
use crate::autodiff::graph::apply_op;
use crate::compile::check::check;
use crate::compile::kernel::Kernel;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;
use smallvec::smallvec;

/// The lower-triangular `L` with a positive diagonal and `L L^T = A`, for a
/// symmetric positive-definite `a` (`[n, n]`).
///
/// `a` is read as `(A + A^T) / 2`, as JAX does: a matrix that is symmetric
/// up to rounding is taken as the symmetric matrix it stands for, and the
/// gradient is symmetric (perturbing `A_ij` and `A_ji` is one perturbation).
/// The derivative is Murray's (2016) `Abar = sym(L^{-T} Phi(L^T Lbar) L^{-1})`,
/// computed by his blocked algorithm at about twice the cost of the
/// factorisation; its own derivative is written with differentiable ops, so
/// higher orders work.
///
/// ```
/// use jaxpurify_runtime::{linalg, Tensor};
/// let l = linalg::cholesky(&Tensor::from([[4.0, 2.0], [2.0, 10.0]]))?;
/// assert_eq!(l.to_vec(), vec![2.0, 0.0, 1.0, 3.0]);
/// assert!(linalg::cholesky(&Tensor::from([[1.0, 2.0], [2.0, 1.0]])).is_err());
/// # Ok::<(), jaxpurify_runtime::Error>(())
/// ```
///
/// # Errors
/// [`Error::NotPositiveDefinite`] when a pivot is not positive and finite
/// (also for NaN or infinite entries): the factor never holds NaN. A
/// [`compile`](crate::compile())d function makes the same check on every
/// call and returns the same error.
///
/// # Panics
/// When `a` is not a square matrix.
#[track_caller]
pub fn cholesky(a: &Tensor) -> Result<Tensor> {
    cholesky_for("cholesky", a)
}

/// [`cholesky`] with errors and panics naming `op`.
#[track_caller]
fn cholesky_for(op: &'static str, a: &Tensor) -> Result<Tensor> {
    let n = assert_square(op, a);
    let l = apply_op(&Cholesky { n }, &[a], a.shape().clone(), |c| {
        smallvec![Some(cholesky_adjoint(c.output, c.grad))]
    });
    // The kernel fills a failed factor with NaN; a compiled program repeats
    // this check on every call.
    let shape = a.shape().clone();
    check(op, &[&l], move |factor| {
        match factor[0].first().is_some_and(|v| v.is_nan()) {
            true => Err(Error::NotPositiveDefinite {
                op,
                shape: shape.clone(),
            }),
            false => Ok(()),
        }
    })?;
    Ok(l)
}

/// The kernel of [`cholesky`]: the factor of the symmetrised input, or NaN
/// everywhere when it is not positive definite (a factor that succeeds
/// has a positive diagonal).
#[derive(Clone)]
struct Cholesky {
    n: usize,
}

impl Kernel for Cholesky {
    fn name(&self) -> &'static str {
        "cholesky"
    }

    fn run(&self, inputs: &[&[f64]], lower: &mut [f64]) {
        if !dense::cholesky(inputs[0], self.n, lower) {
            lower.fill(f64::NAN);
        }
    }
}

/// The gradient of the symmetric input of [`cholesky`] from its factor `l`
/// and the factor's gradient `l_bar`: Murray's (2016) reverse mode, whose
/// symbolic form is `Abar = sym(L^{-T} Phi(L^T Lbar) L^{-1})`, where `Phi`
/// keeps the lower triangle and halves the diagonal. Computed by the
/// blocked kernel of `dense.rs`; only the lower triangles of `l` and
/// `l_bar` are read.
fn cholesky_adjoint(l: &Tensor, l_bar: &Tensor) -> Tensor {
    let n = l.shape()[0];
    apply_op(&CholeskyAdjoint { n }, &[l, l_bar], l.shape().clone(), |c| {
        let (l, l_bar, f) = (&c.inputs[0], &c.inputs[1], c.output);
        let (d_l, d_l_bar) = cholesky_adjoint_adjoint(l, l_bar, f, c.grad);
        smallvec![c.needs(0).then_some(d_l), c.needs(1).then_some(d_l_bar)]
    })
}

/// The derivative of [`cholesky_adjoint`] (second and higher orders), with
/// differentiable ops. With `F = sym(S)`, `S = L^{-T} P L^{-1}`,
/// `P = Phi(L^T Lbar)` and a symmetrised upstream `G`: perturbing `L`
/// gives `dS = -L^{-T} dL^T S - S dL L^{-1} + L^{-T} Phi(dL^T Lbar) L^{-1}`
/// and perturbing `Lbar` gives `L^{-T} Phi(L^T dLbar) L^{-1}`. With
/// `Q = L^{-1} G L^{-T}` (symmetric), the pairings with `G` give
/// `Lbar Phi(Q)^T - 2 F G L^{-T}` for `L` (its lower triangle, the one
/// read) and `L Phi(Q)` for `Lbar` (lower already).
fn cholesky_adjoint_adjoint(l: &Tensor, l_bar: &Tensor, f: &Tensor, g: &Tensor) -> (Tensor, Tensor) {
    let n = l.shape()[0];
    let g = (g + &g.t()) * 0.5;
    let lower = read_of(n, Triangle::Lower, Transpose::No);
    let q = triangular_solve(l, &triangular_solve(l, &g, lower).t(), lower);
    let phi_q = q * phi_mask(n);
    // F G L^{-T} = (L^{-1} G F)^T, F and G being symmetric.
    let f_g_l = triangular_solve(l, &g.matmul(f), lower).t();
    let d_l = (l_bar.matmul(&phi_q.t()) - f_g_l * 2.0) * triangle_mask(n, true);
    (d_l, l.matmul(&phi_q))
}

/// The kernel of [`cholesky_adjoint`].
#[derive(Clone)]
struct CholeskyAdjoint {
    n: usize,
}

impl Kernel for CholeskyAdjoint {
    fn name(&self) -> &'static str {
        "cholesky_adjoint"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        dense::cholesky_adjoint(inputs[0], inputs[1], self.n, out);
    }
}

/// `Phi` as a mask: 1 below the diagonal, 1/2 on it, 0 above.
fn phi_mask(n: usize) -> Tensor {
    let data = (0..n * n)
        .map(|k| match (k % n).cmp(&(k / n)) {
            std::cmp::Ordering::Less => 1.0,
            std::cmp::Ordering::Equal => 0.5,
            std::cmp::Ordering::Greater => 0.0,
        })
        .collect();
    Tensor::from_parts(data, Shape::from([n, n]))
}

/// The solution `x` of `L L^T x = b` from the Cholesky factor `l` of `A`
/// (only its lower triangle is read): two triangular solves, `O(n^2)` per
/// right-hand side. `b` is `[n]` or `[n, k]`. Differentiable in both.
///
/// ```
/// use jaxpurify_runtime::{linalg, Tensor};
/// let a = Tensor::from([[4.0, 2.0], [2.0, 10.0]]);
/// let x = linalg::cho_solve(&linalg::cholesky(&a)?, &Tensor::from([6.0, 12.0]))?;
/// assert!((x - Tensor::from([1.0, 1.0])).abs().max().item() < 1e-15);
/// # Ok::<(), jaxpurify_runtime::Error>(())
/// ```
///
/// # Errors
/// [`Error::Singular`] when `l` has a zero on its diagonal, checked again
/// by every call of a [`compile`](crate::compile())d function.
///
/// # Panics
/// When `l` is not square or `b` does not have `n` rows.
#[track_caller]
pub fn cho_solve(l: &Tensor, b: &Tensor) -> Result<Tensor> {
    assert_system("cho_solve", l, b);
    check_diagonal("cho_solve", l)?;
    let n = l.shape()[0];
    let y = triangular_solve(l, b, read_of(n, Triangle::Lower, Transpose::No));
    Ok(triangular_solve(
        l,
        &y,
        read_of(n, Triangle::Lower, Transpose::Yes),
    ))
}

/// `ln det A` of a symmetric positive-definite `a`, as `2 sum ln L_ii` from
/// its Cholesky factor: cheaper and more stable than [`slogdet`](super::slogdet)
/// when `A` is known to be positive definite, and an error when it is not.
/// Reads `(A + A^T) / 2` like [`cholesky`]; the gradient is `A^{-1}`.
///
/// ```
/// use jaxpurify_runtime::{linalg, Tensor};
/// // det [[4, 2], [2, 10]] = 36
/// let ld = linalg::logdet(&Tensor::from([[4.0, 2.0], [2.0, 10.0]]))?;
/// assert!((ld.item() - 36f64.ln()).abs() < 1e-14);
/// # Ok::<(), jaxpurify_runtime::Error>(())
/// ```
///
/// # Errors
/// [`Error::NotPositiveDefinite`] naming `logdet`, checked again by every
/// call of a compiled function, as for [`cholesky`].
///
/// # Panics
/// When `a` is not a square matrix.
#[track_caller]
pub fn logdet(a: &Tensor) -> Result<Tensor> {
    Ok(diagonal(&cholesky_for("logdet", a)?).ln().sum() * 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::linalg::properties::spd;
    use crate::testing::{assert_compiles_exactly, assert_compiles_with_errors, check_grad};
    use crate::{grad, value_and_grad};

    #[test]
    fn hand_derived_two_by_two_factor_and_gradient() {
        // A = [[4, 2], [2, 10]]: L00 = sqrt(4) = 2, L10 = 2 / L00 = 1,
        // L11 = sqrt(10 - L10^2) = 3.
        // Gradient of f = L00 + 2 L10 + 3 L11 (upstream [[1, 0], [2, 3]]):
        // L00 = sqrt(a00), L10 = a10 / sqrt(a00), L11 = sqrt(a11 - a10^2 / a00), so
        // df/da00 = 1/(2 L00) - 2 a10 / (2 a00^1.5) + 3 a10^2 / (2 a00^2 L11)
        //         = 1/4 - 1/4 + 3 * 4 / (2 * 16 * 3) = 1/8,
        // df/da10 = 2 / L00 - 3 a10 / (a00 L11) = 1 - 1/2 = 1/2,
        // df/da11 = 3 / (2 L11) = 1/2.
        // The input is read symmetrised, so a10 and a01 each get half of 1/2.
        let a = Tensor::from([[4.0, 2.0], [2.0, 10.0]]);
        assert_eq!(cholesky(&a).unwrap().to_vec(), vec![2.0, 0.0, 1.0, 3.0]);
        let upstream = Tensor::from([[1.0, 0.0], [2.0, 3.0]]);
        let g = grad(|a: &Tensor| (cholesky(a).unwrap() * &upstream).sum(), &a);
        let expected = [0.125, 0.25, 0.25, 0.5];
        for (got, want) in g.to_vec().iter().zip(expected) {
            assert!((got - want).abs() < 1e-15, "{g:?}");
        }
    }

    #[test]
    fn first_and_second_derivatives_match_central_differences() {
        for n in [1, 3, 5] {
            let a = spd(n, 0.4);
            check_grad(|v| cholesky(&v[0]).unwrap(), std::slice::from_ref(&a)).assert_ok_for("cholesky");
            let w = spd(n, 1.7);
            let second = |v: &[Tensor]| grad(|a: &Tensor| (cholesky(a).unwrap() * &w).sum(), &v[0]);
            check_grad(second, std::slice::from_ref(&a)).assert_ok_for("d/da cholesky");
        }
    }

    #[test]
    fn the_reverse_mode_has_derivatives_of_its_own() {
        // The adjoint op in both of its inputs (the factor and the factor's
        // gradient, with values above the diagonal that it must not read),
        // then once more: a third derivative of the factorisation. Sizes
        // past the kernel's base block, so that its recursion runs.
        for n in [4, 20] {
            let l = cholesky(&spd(n, 0.4)).unwrap();
            let l_bar = spd(n, 1.3) - Tensor::eye(n) * n as f64;
            let inputs = [l.clone(), l_bar.clone()];
            check_grad(|v| cholesky_adjoint(&v[0], &v[1]), &inputs).assert_ok_for("cholesky_adjoint");
            let w = spd(n, 2.1);
            let second = |v: &[Tensor]| {
                let weighted = |v: &[Tensor; 2]| (cholesky_adjoint(&v[0], &v[1]) * &w).sum();
                let g = grad(weighted, &[v[0].clone(), v[1].clone()]);
                &g[0] + &g[1]
            };
            check_grad(second, &inputs).assert_ok_for("d/dl cholesky_adjoint");
        }
        // The second derivative where the factor's gradient depends on the
        // matrix too, as in a likelihood.
        let a = spd(20, 0.9);
        let second = |v: &[Tensor]| grad(|a: &Tensor| cholesky(a).unwrap().square().sum(), &v[0]);
        check_grad(second, std::slice::from_ref(&a)).assert_ok_for("d/da cholesky squared");
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        // A likelihood's value and gradient at n = 300, where the gradient's
        // products (the full ones of `l^T` times a matrix) are large enough
        // to be split over threads: one thread against three, bit for bit.
        let (a, b) = (spd(300, 0.4), Tensor::linspace(-1.0, 1.0, 300));
        let likelihood = |a: &Tensor| {
            let l = cholesky(a).unwrap();
            (cho_solve(&l, &b).unwrap() * &b).sum() + logdet(a).unwrap() + l.t().matmul(&l).sum()
        };
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| value_and_grad(likelihood, &a))
        };
        let (one, three) = (run(1), run(3));
        assert_eq!(one.0.as_slice(), three.0.as_slice());
        assert_eq!(one.1.as_slice(), three.1.as_slice());
    }

    #[test]
    fn large_factorisations_and_their_gradients_compile_exactly() {
        // Past the base block of the reverse mode and the 64-wide leaves of
        // the factorisation, so that every kernel path runs.
        let w = spd(150, 2.1);
        let f = |a: &Tensor| value_and_grad(|a: &Tensor| (cholesky(a).unwrap() * &w).sum(), a);
        assert_compiles_exactly(f, &spd(150, 0.4), &[spd(150, 1.1)]);
    }

    #[test]
    fn cho_solve_and_logdet_gradients() {
        let (a, b) = (
            spd(4, 0.9),
            Tensor::from([[1.0, -0.5], [0.2, 2.0], [0.0, 1.0], [-1.0, 0.3]]),
        );
        let l = cholesky(&a).unwrap();
        check_grad(|v| cho_solve(&v[0], &v[1]).unwrap(), &[l, b.clone()]).assert_ok_for("cho_solve");
        check_grad(
            |v| cho_solve(&cholesky(&v[0]).unwrap(), &v[1]).unwrap(),
            &[a.clone(), b],
        )
        .assert_ok_for("cho_solve of cholesky");
        check_grad(|v| logdet(&v[0]).unwrap(), std::slice::from_ref(&a)).assert_ok_for("logdet");
        let second = |v: &[Tensor]| grad(|a: &Tensor| logdet(a).unwrap(), &v[0]);
        check_grad(second, std::slice::from_ref(&a)).assert_ok_for("d/da logdet");
    }

    #[test]
    fn logdet_gradient_is_the_inverse() {
        // d ln det A / dA = A^{-T} = A^{-1} for symmetric A.
        // [[4, 2], [2, 10]]^{-1} = [[10, -2], [-2, 4]] / 36.
        let g = grad(
            |a: &Tensor| logdet(a).unwrap(),
            &Tensor::from([[4.0, 2.0], [2.0, 10.0]]),
        );
        let expected = [10.0 / 36.0, -2.0 / 36.0, -2.0 / 36.0, 4.0 / 36.0];
        for (got, want) in g.to_vec().iter().zip(expected) {
            assert!((got - want).abs() < 1e-15);
        }
    }

    #[test]
    fn errors_name_the_op_and_shape() {
        let indefinite = Tensor::from([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);
        let err = cholesky(&indefinite).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cholesky: matrix of shape [3, 3] is not positive definite"
        );
        let err = logdet(&indefinite).unwrap_err();
        assert!(matches!(err, Error::NotPositiveDefinite { op: "logdet", .. }));
        let with_nan = Tensor::from([[1.0, f64::NAN], [f64::NAN, 1.0]]);
        assert!(cholesky(&with_nan).is_err());
        let zero_pivot = Tensor::from([[2.0, 0.0], [1.0, 0.0]]);
        assert!(matches!(
            cho_solve(&zero_pivot, &Tensor::ones([2])),
            Err(Error::Singular { op: "cho_solve", .. })
        ));
    }

    #[test]
    #[should_panic(expected = "cholesky: expected a square matrix, got shape [2, 3]")]
    fn non_square_panics() {
        let _ = cholesky(&Tensor::zeros([2, 3]));
    }

    #[test]
    fn solves_with_a_constant_factor_compile_with_their_gradients() {
        let l = cholesky(&spd(3, 0.4)).unwrap();
        let w = Tensor::from([[1.0, -2.0], [0.5, 3.0], [-1.5, 0.25]]);
        let f = |b: &Tensor| value_and_grad(|b: &Tensor| (cho_solve(&l, b).unwrap() * &w).sum(), b);
        let b = Tensor::from([[1.0, -0.5], [0.2, 2.0], [0.0, 1.0]]);
        assert_compiles_exactly(f, &b, &[-&b * 3.0 + 1.0]);
    }

    #[test]
    fn factorisations_of_traced_matrices_compile_and_repeat_their_checks() {
        // Each function at a positive-definite point and at two that fail:
        // a matrix that is not positive definite, and one holding NaN.
        let indefinite = Tensor::from([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);
        let with_nan = spd(3, 0.4).at([1, 1]).set(f64::NAN);
        let points = [spd(3, 0.9), indefinite, with_nan];
        let b = Tensor::from([1.0, -2.0, 0.5]);
        assert_compiles_with_errors(cholesky, &spd(3, 0.4), &points);
        assert_compiles_with_errors(logdet, &spd(3, 0.4), &points);
        let solve = |a: &Tensor| cho_solve(&cholesky(a)?, &b);
        assert_compiles_with_errors(solve, &spd(3, 0.4), &points);
        // Gradients too: the shape of a GP's negative log likelihood.
        let gradient = |a: &Tensor| {
            cholesky(a)?;
            Ok(value_and_grad(
                |a: &Tensor| {
                    let l = cholesky(a).unwrap();
                    let alpha = cho_solve(&l, &b).unwrap();
                    (&alpha * &b).sum() * 0.5 + diagonal(&l).ln().sum()
                },
                a,
            ))
        };
        assert_compiles_with_errors(gradient, &spd(3, 0.4), &points);
        // A factor with a zero on its diagonal, traced.
        let singular_factor = Tensor::from([[1.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 1.0, 3.0]]);
        let factor_solve = |l: &Tensor| cho_solve(l, &b);
        assert_compiles_with_errors(
            factor_solve,
            &Tensor::eye(3),
            &[Tensor::eye(3) * 2.0, singular_factor],
        );
    }
}
