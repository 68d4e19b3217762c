//! The multivariate normal log density from a Cholesky factor.

use crate::ops::linalg;
use crate::ops::special::LN_SQRT_2PI;
use crate::tensor::Tensor;

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
/// When `l` is not square or its size is not the last dimension of `x`, and
/// when `l` has a zero on its diagonal (the covariance is singular). A
/// compiled function checks the diagonal on every call, so it compiles
/// for a factor that depends on its inputs, and panics as this does.
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
    // One solve for every row: L Z^T = R^T with the rows of R as columns.
    let columns = residual.reshape([residual.numel() / n.max(1), n]).t();
    let z = linalg::solve_lower_or_panic("multivariate_normal_chol", l, &columns);
    -(&z * &z)
        .sum_axes(&[0], false)
        .reshape(&residual.shape()[..residual.ndim() - 1])
        * 0.5
        - linalg::diagonal(l).ln().sum()
        - LN_SQRT_2PI * n as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_compiles_exactly, check_grad};
    use crate::{compile, grad, log_density, value_and_grad};

    fn factor() -> Tensor {
        Tensor::from([[1.5, 0.0, 0.0], [0.4, 0.8, 0.0], [-0.3, 0.2, 1.1]])
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

    #[test]
    fn compiles_with_its_gradients_for_a_traced_factor() {
        let f = |p: &(Tensor, Tensor)| {
            value_and_grad(
                |p: &(Tensor, Tensor)| {
                    multivariate_normal_chol(&p.0, Tensor::from([0.1, 0.2, -0.3]), &p.1).sum()
                },
                p,
            )
        };
        let x = Tensor::from([[0.5, -1.0, 2.0], [1.5, 0.2, -0.7]]);
        let other = (
            Tensor::from([[-2.0, 0.3, 0.0], [0.0, 1.0, 4.0]]),
            Tensor::from([[0.5, 0.0, 0.0], [-1.0, 2.0, 0.0], [0.3, 0.7, 0.9]]),
        );
        assert_compiles_exactly(f, &(x, factor()), &[other]);
    }

    #[test]
    #[should_panic(expected = "multivariate_normal_chol: factor of shape [3, 3] has a zero on its diagonal")]
    fn a_compiled_density_checks_the_diagonal_on_every_call() {
        let x = Tensor::from([0.5, -1.0, 2.0]);
        let compiled = compile(|l: &Tensor| multivariate_normal_chol(&x, 0.0, l), &factor()).unwrap();
        let _ = compiled.call(&factor().at([1, 1]).set(0.0));
    }
}
