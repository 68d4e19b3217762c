//! The multivariate normal log density from a Cholesky factor, with the
//! triangular solve it needs.
//!
//! The solve is private to this file: the linear-algebra family owns the
//! public triangular solve, and this one can be replaced by it.

use crate::autodiff::record;
use crate::ops::special::LN_SQRT_2PI;
use crate::shape::Shape;
use crate::tensor::Tensor;
use smallvec::smallvec;

/// Solves `L z = b` (or `L^T z = b` when `transposed`) for every row `b` of
/// `rhs` (shape `[..., n]`), reading only the lower triangle of `l`.
fn solve_lower(l: &Tensor, rhs: &Tensor, transposed: bool) -> Tensor {
    let n = l.shape()[0];
    let (lv, mut z) = (l.as_slice(), rhs.to_vec());
    for row in z.chunks_mut(n) {
        if transposed {
            // Back substitution with L^T: (L^T)_ij = L_ji, upper triangular.
            for i in (0..n).rev() {
                let tail: f64 = (i + 1..n).map(|j| lv[j * n + i] * row[j]).sum();
                row[i] = (row[i] - tail) / lv[i * n + i];
            }
        } else {
            for i in 0..n {
                let head: f64 = (0..i).map(|j| lv[i * n + j] * row[j]).sum();
                row[i] = (row[i] - head) / lv[i * n + i];
            }
        }
    }
    let out = Tensor::from_parts(z, rhs.shape().clone());
    let lower = lower_triangle_mask(n);
    // With A = L (or L^T) and z = A^{-1} b: db = A^{-T} g and dA = -db z^T,
    // summed over rows; dL keeps the lower triangle (dA^T for A = L^T).
    record(out, &[l, rhs], move |c| {
        let (l, z) = (&c.inputs[0], c.output);
        let db = solve_lower(l, c.grad, !transposed);
        let dl = c.needs(0).then(|| {
            let outer = if transposed {
                rows_outer(z, &db)
            } else {
                rows_outer(&db, z)
            };
            -(outer.sum_to(l.shape().clone()) * &lower)
        });
        smallvec![dl, c.needs(1).then_some(db)]
    })
}

/// `sum over rows of a_r b_r^T` as `[..., n, n]`, before summing: the
/// broadcast product of `a` as columns and `b` as rows.
fn rows_outer(a: &Tensor, b: &Tensor) -> Tensor {
    let with_axis = |t: &Tensor, at_end: bool| {
        let mut dims: Vec<usize> = t.shape().iter().copied().collect();
        dims.insert(if at_end { dims.len() } else { dims.len() - 1 }, 1);
        t.reshape(Shape::from(dims))
    };
    with_axis(a, true) * with_axis(b, false)
}

/// Ones on and below the diagonal of an `n` by `n` matrix.
fn lower_triangle_mask(n: usize) -> Tensor {
    let data = (0..n * n)
        .map(|k| if k % n <= k / n { 1.0 } else { 0.0 })
        .collect();
    Tensor::from_parts(data, Shape::from([n, n]))
}

/// Log density of the multivariate normal `N(mean, L L^T)` at each row of
/// `x` (shape `[..., n]`, giving shape `[...]`), from the lower-triangular
/// Cholesky factor `l` (`[n, n]`, positive diagonal; its upper triangle is
/// ignored and gets gradient 0). `mean` broadcasts against `x`.
///
/// `-|z|^2 / 2 - sum_i ln L_ii - n ln(sqrt(2 pi))` with `L z = x - mean`.
///
/// ```
/// use jaxpurify_runtime::{log_density, Tensor};
/// // A diagonal factor gives a sum of independent normal log densities.
/// let l = Tensor::from([[2.0, 0.0], [0.0, 0.5]]);
/// let x = Tensor::from([1.0, -1.0]);
/// let joint = log_density::multivariate_normal_chol(&x, 0.0, &l).item();
/// let independent = log_density::normal(&x, 0.0, Tensor::from([2.0, 0.5])).sum().item();
/// assert!((joint - independent).abs() < 1e-14);
/// ```
///
/// # Panics
/// When `l` is not square or its size is not the last dimension of `x`.
#[track_caller]
pub fn multivariate_normal_chol(x: impl Into<Tensor>, mean: impl Into<Tensor>, l: &Tensor) -> Tensor {
    let x = x.into();
    let residual = &x - mean.into();
    let square = l.ndim() == 2 && l.shape()[0] == l.shape()[1];
    assert!(
        square && residual.ndim() >= 1 && residual.shape()[residual.ndim() - 1] == l.shape()[0],
        "multivariate_normal_chol: x of shape {} and factor of shape {} do not align",
        x.shape(),
        l.shape()
    );
    let n = l.shape()[0];
    let z = solve_lower(l, &residual, false);
    let diagonal = (l * Tensor::eye(n)).sum_axes(&[-1], false);
    -(&z * &z).sum_axes(&[-1], false) * 0.5 - diagonal.ln().sum() - LN_SQRT_2PI * n as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_grad;
    use crate::{grad, log_density};

    fn factor() -> Tensor {
        Tensor::from([[1.5, 0.0, 0.0], [0.4, 0.8, 0.0], [-0.3, 0.2, 1.1]])
    }

    #[test]
    fn solve_inverts_both_triangular_systems() {
        let l = factor();
        let b = Tensor::from([[1.0, -2.0, 0.5], [0.3, 0.0, 2.0]]);
        for transposed in [false, true] {
            let z = solve_lower(&l, &b, transposed);
            for r in 0..2 {
                for i in 0..3 {
                    let back: f64 = (0..3)
                        .map(|j| if transposed { l.get(&[j, i]) } else { l.get(&[i, j]) } * z.get(&[r, j]))
                        .sum();
                    assert!((back - b.get(&[r, i])).abs() < 1e-14);
                }
            }
        }
        for transposed in [false, true] {
            check_grad(|v| solve_lower(&v[0], &v[1], transposed), &[l.clone(), b.clone()])
                .assert_ok_for("solve");
        }
    }

    #[test]
    fn value_matches_the_closed_form_in_two_dimensions() {
        // L = [[2, 0], [1, 1]], x - mean = [2, 3]: z = [1, 2], |z|^2 = 5,
        // ln det L = ln 2, so log p = -5/2 - ln 2 - ln(2 pi).
        let l = Tensor::from([[2.0, 0.0], [1.0, 1.0]]);
        let lp = multivariate_normal_chol(Tensor::from([3.0, 4.0]), Tensor::from([1.0, 1.0]), &l).item();
        let expected = -2.5 - 2f64.ln() - (2.0 * std::f64::consts::PI).ln();
        assert!((lp - expected).abs() < 1e-15);
    }

    #[test]
    fn density_integrates_to_one_on_a_grid() {
        // 2-d trapezoid rule over +-10 standard deviations, as one batch.
        let l = Tensor::from([[1.2, 0.0], [0.7, 0.5]]);
        let (m, half_width) = (401, 10.0);
        let axis = Tensor::linspace(-half_width, half_width, m).to_vec();
        let points: Vec<f64> = axis
            .iter()
            .flat_map(|&a| axis.iter().flat_map(move |&b| [a, b]))
            .collect();
        let x = Tensor::from_vec(points, [m * m, 2]).unwrap();
        let density = multivariate_normal_chol(&x, Tensor::from([0.3, -0.2]), &l)
            .exp()
            .to_vec();
        let h = 2.0 * half_width / (m - 1) as f64;
        let edge_weight = |i: usize| if i == 0 || i == m - 1 { 0.5 } else { 1.0 };
        let mass: f64 = (0..m * m)
            .map(|k| density[k] * edge_weight(k / m) * edge_weight(k % m))
            .sum();
        assert!((mass * h * h - 1.0).abs() < 1e-6, "mass {}", mass * h * h);
    }

    #[test]
    fn gradients_in_every_argument() {
        let x = Tensor::from([[0.5, -1.0, 2.0], [1.5, 0.2, -0.7]]);
        let mean = Tensor::from([0.1, 0.2, -0.3]);
        check_grad(
            |v| multivariate_normal_chol(&v[0], &v[1], &v[2]),
            &[x.clone(), mean.clone(), factor()],
        )
        .assert_ok_for("multivariate_normal_chol");
        // The gradient in the factor is lower triangular: the upper triangle is unused.
        let g = grad(
            |l: &Tensor| multivariate_normal_chol(&x, &mean, l).sum(),
            &factor(),
        );
        assert_eq!([g.get(&[0, 1]), g.get(&[0, 2]), g.get(&[1, 2])], [0.0; 3]);
        // Second derivatives through the solve: d/dL of the gradient in x.
        check_grad(
            |v| {
                grad(
                    |x: &Tensor| log_density::multivariate_normal_chol(x, &mean, &v[0]).sum(),
                    &x,
                )
            },
            &[factor()],
        )
        .assert_ok_for("d/dL of d/dx");
    }
}
