//! Conjugate gradients for `A x = b` with `A` symmetric positive definite and
//! known only through its product with a vector.

// Dot products over four partial sums: a single running sum waits on each
// addition in turn (7 % of the GP example's solve).
use crate::ops::gemm::dot;

/// What [`conjugate_gradient`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct CgResult {
    /// The last iterate, the approximate solution.
    pub x: Vec<f64>,
    /// Conjugate-gradient steps taken: one product with `A` each, besides
    /// the one for the initial residual.
    pub iterations: usize,
    /// `||r||` of the last iterate, with the residual `r = b - A x` updated
    /// by the recurrence rather than recomputed (as in JAX), so it may drift
    /// from the true residual by rounding once it is near `tol * ||b||`.
    pub residual_norm: f64,
    /// Whether `residual_norm <= tol * ||b||` was reached.
    pub converged: bool,
}

/// Solves `A x = b` by conjugate gradients from the starting point `x0`,
/// where `apply(v)` returns `A v` for a symmetric positive-definite `A`.
///
/// The operator need never be stored: for example `M = R^T N^-1 R + I` for a
/// model's response `R` is `v -> vjp(N^-1 jvp(v)) + v`. Iteration stops when
/// `||r|| <= tol * ||b||`, JAX's `cg` criterion `||r|| <= max(tol * ||b||,
/// atol)` with its default `atol = 0` (so `b = 0` with `x0 = 0` takes no step),
/// or after `max_iter` steps (JAX's default is `10 * n`). It also stops, not
/// converged, when a search direction `p` has `p . A p <= 0` (or NaN): then
/// `A` is not positive definite and the method's step is meaningless.
///
/// ```
/// use jaxpurify_runtime::optim::conjugate_gradient;
/// // [[4, 1], [1, 3]] x = [1, 2] has the solution x = [1/11, 7/11]; in exact
/// // arithmetic CG finds it in n = 2 steps.
/// let apply = |v: &[f64]| vec![4.0 * v[0] + v[1], v[0] + 3.0 * v[1]];
/// let result = conjugate_gradient(apply, &[1.0, 2.0], &[2.0, 1.0], 1e-12, 10);
/// assert!(result.converged && result.iterations == 2);
/// assert!((result.x[0] - 1.0 / 11.0).abs() < 1e-15 && (result.x[1] - 7.0 / 11.0).abs() < 1e-15);
/// ```
///
/// # Panics
/// When `b` and `x0` differ in length, `apply` returns a vector of another
/// length, or `tol` is negative or NaN.
#[track_caller]
pub fn conjugate_gradient(
    mut apply: impl FnMut(&[f64]) -> Vec<f64>,
    b: &[f64],
    x0: &[f64],
    tol: f64,
    max_iter: usize,
) -> CgResult {
    assert!(
        b.len() == x0.len(),
        "conjugate_gradient: b has length {} but x0 has length {}",
        b.len(),
        x0.len()
    );
    assert!(
        tol >= 0.0,
        "conjugate_gradient: tol must be non-negative, got {tol}"
    );
    let threshold = tol * norm(b);
    let mut x = x0.to_vec();
    let mut r: Vec<f64> = b
        .iter()
        .zip(apply_checked(&mut apply, &x))
        .map(|(bi, ai)| bi - ai)
        .collect();
    let mut p = r.clone();
    let mut r_squared = dot(&r, &r);
    let mut iterations = 0;
    // `>` is false for NaN, so a NaN residual stops the loop, not converged.
    while r_squared.sqrt() > threshold && iterations < max_iter {
        let ap = apply_checked(&mut apply, &p);
        let curvature = dot(&p, &ap);
        // A NaN curvature has no ordering, so it stops the loop too.
        if curvature.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            break;
        }
        let alpha = r_squared / curvature;
        add_scaled(&mut x, alpha, &p);
        add_scaled(&mut r, -alpha, &ap);
        let next_r_squared = dot(&r, &r);
        let beta = next_r_squared / r_squared;
        for (pi, ri) in p.iter_mut().zip(&r) {
            *pi = ri + beta * *pi;
        }
        r_squared = next_r_squared;
        iterations += 1;
    }
    let residual_norm = r_squared.sqrt();
    CgResult {
        x,
        iterations,
        residual_norm,
        converged: residual_norm <= threshold,
    }
}

/// `apply(v)`, which must keep the length. A function rather than a closure
/// so that the panic names the caller's line.
#[track_caller]
fn apply_checked(apply: &mut impl FnMut(&[f64]) -> Vec<f64>, v: &[f64]) -> Vec<f64> {
    let av = apply(v);
    assert!(
        av.len() == v.len(),
        "conjugate_gradient: apply returned {} values for a vector of length {}",
        av.len(),
        v.len()
    );
    av
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// `y += a * x`.
fn add_scaled(y: &mut [f64], a: f64, x: &[f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

#[cfg(test)]
mod tests {
    use super::{conjugate_gradient, norm};
    use crate::{Tensor, jvp, vjp};
    use nalgebra::{DMatrix, DVector};

    fn apply_dense(a: &DMatrix<f64>) -> impl FnMut(&[f64]) -> Vec<f64> + '_ {
        move |v| (a * DVector::from_column_slice(v)).as_slice().to_vec()
    }

    /// `Q^T Q + I` for a fixed, non-symmetric `Q`: symmetric positive definite.
    fn spd_matrix(n: usize) -> DMatrix<f64> {
        let q = DMatrix::from_fn(n, n, |i, j| (1.3 * i as f64 + 0.7 * j as f64 + 0.1).sin() * 2.0);
        q.transpose() * &q + DMatrix::identity(n, n)
    }

    #[test]
    fn first_step_and_solution_by_hand() {
        // A = [[4, 1], [1, 3]], b = [1, 2], x0 = [2, 1]:
        // r0 = b - A x0 = [1 - 9, 2 - 5] = [-8, -3] = p0, r0.r0 = 73,
        // A p0 = [-35, -17], p0.A p0 = 280 + 51 = 331, alpha0 = 73 / 331,
        // x1 = x0 + alpha0 p0 = [2 - 584/331, 1 - 219/331].
        let a = DMatrix::from_row_slice(2, 2, &[4.0, 1.0, 1.0, 3.0]);
        let one = conjugate_gradient(apply_dense(&a), &[1.0, 2.0], &[2.0, 1.0], 1e-12, 1);
        assert_eq!(one.iterations, 1);
        assert!(!one.converged);
        assert!((one.x[0] - (2.0 - 584.0 / 331.0)).abs() < 1e-15);
        assert!((one.x[1] - (1.0 - 219.0 / 331.0)).abs() < 1e-15);
        // r1 = r0 - alpha0 A p0 = [-8 + 35 * 73/331, -3 + 17 * 73/331].
        let r1 = [-8.0 + 35.0 * 73.0 / 331.0, -3.0 + 17.0 * 73.0 / 331.0];
        assert!((one.residual_norm - norm(&r1)).abs() < 1e-14);
        // The second step lands on x = A^-1 b = [1/11, 7/11].
        let two = conjugate_gradient(apply_dense(&a), &[1.0, 2.0], &[2.0, 1.0], 1e-12, 10);
        assert_eq!(two.iterations, 2);
        assert!(two.converged && two.residual_norm <= 1e-12 * 5f64.sqrt());
        assert!((two.x[0] - 1.0 / 11.0).abs() < 1e-15 && (two.x[1] - 7.0 / 11.0).abs() < 1e-15);
    }

    #[test]
    fn matches_a_direct_solve_matrix_free() {
        let n = 30;
        let a = spd_matrix(n);
        let b: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).cos()).collect();
        let tol = 1e-10;
        let result = conjugate_gradient(apply_dense(&a), &b, &vec![0.0; n], tol, 10 * n);
        assert!(result.converged, "{result:?}");
        let exact = a
            .clone()
            .cholesky()
            .unwrap()
            .solve(&DVector::from_column_slice(&b));
        let error = (DVector::from_column_slice(&result.x) - &exact).norm() / exact.norm();
        assert!(error < 1e-8, "relative error {error}");
        // The reported residual is the recurrence's; it agrees with the true
        // one to rounding, and meets the criterion.
        let true_residual =
            (DVector::from_column_slice(&b) - &a * DVector::from_column_slice(&result.x)).norm();
        assert!(result.residual_norm <= tol * norm(&b));
        assert!(
            true_residual <= 2.0 * tol * norm(&b),
            "true residual {true_residual}"
        );
    }

    #[test]
    fn operator_from_jvp_and_vjp() {
        // M = J^T J + I for the Jacobian J of g(t) = sin(W t) at t0, applied
        // as v -> vjp(jvp(v)) + v without forming J; compare with M built
        // column by column from jvp and solved directly.
        let w = Tensor::from([
            [1.0, 0.5, -0.3],
            [0.2, -1.1, 0.8],
            [0.9, 0.4, 0.6],
            [-0.5, 0.3, 1.2],
        ]);
        let g = |t: &Tensor| (&w * t).sum_axes(&[1], false).sin();
        let t0 = Tensor::from([0.3, -0.2, 0.5]);
        let (_, pullback) = vjp(g, &t0);
        let apply = |v: &[f64]| {
            let (_, jv) = jvp(g, &t0, &Tensor::from(v));
            let jtjv = pullback.apply(&jv);
            jtjv.as_slice().iter().zip(v).map(|(a, b)| a + b).collect()
        };
        let b = [1.0, -2.0, 0.5];
        let result = conjugate_gradient(apply, &b, &[0.0; 3], 1e-13, 30);
        assert!(result.converged && result.iterations <= 4, "{result:?}");
        let columns: Vec<f64> = (0..3)
            .flat_map(|k| {
                let mut e = [0.0; 3];
                e[k] = 1.0;
                jvp(g, &t0, &Tensor::from(e)).1.to_vec()
            })
            .collect();
        let jacobian = DMatrix::from_column_slice(4, 3, &columns);
        let m = jacobian.transpose() * &jacobian + DMatrix::identity(3, 3);
        let exact = m.cholesky().unwrap().solve(&DVector::from_column_slice(&b));
        for (x, e) in result.x.iter().zip(exact.iter()) {
            assert!((x - e).abs() < 1e-12, "{x} vs {e}");
        }
    }

    #[test]
    fn stopping_rules() {
        let a = spd_matrix(8);
        let b: Vec<f64> = (0..8).map(|i| i as f64 - 3.5).collect();
        // Starting at the solution takes no step.
        let exact = a
            .clone()
            .cholesky()
            .unwrap()
            .solve(&DVector::from_column_slice(&b));
        let at_solution = conjugate_gradient(apply_dense(&a), &b, exact.as_slice(), 1e-6, 50);
        assert!(at_solution.converged && at_solution.iterations == 0);
        // b = 0 from x0 = 0: the criterion ||r|| <= tol * 0 holds at once.
        let zero = conjugate_gradient(apply_dense(&a), &[0.0; 8], &[0.0; 8], 1e-6, 50);
        assert!(zero.converged && zero.iterations == 0 && zero.x == vec![0.0; 8]);
        // Running out of steps is reported, not hidden.
        let short = conjugate_gradient(apply_dense(&a), &b, &[0.0; 8], 1e-14, 2);
        assert!(!short.converged && short.iterations == 2);
        assert!(short.residual_norm > 1e-14 * norm(&b));
    }

    #[test]
    fn an_indefinite_operator_stops_unconverged() {
        // A = diag(1, -1), p0 = r0 = b = [1, 1]: p0 . A p0 = 0, no step exists.
        let apply = |v: &[f64]| vec![v[0], -v[1]];
        let result = conjugate_gradient(apply, &[1.0, 1.0], &[0.0, 0.0], 1e-8, 10);
        assert!(!result.converged && result.iterations == 0);
        assert_eq!(result.x, vec![0.0, 0.0]);
    }

    #[test]
    #[should_panic(expected = "conjugate_gradient: apply returned 1 values for a vector of length 2")]
    fn operator_of_the_wrong_size_is_rejected() {
        let _ = conjugate_gradient(|v| vec![v[0]], &[1.0, 1.0], &[0.0, 0.0], 1e-8, 10);
    }

    #[test]
    #[should_panic(expected = "conjugate_gradient: b has length 2 but x0 has length 3")]
    fn mismatched_start_is_rejected() {
        let _ = conjugate_gradient(|v| v.to_vec(), &[1.0, 1.0], &[0.0; 3], 1e-8, 10);
    }
}
