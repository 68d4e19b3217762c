use super::*;
use crate::testing::{assert_compiles_exactly, check_grad};
use crate::{grad, value_and_grad};
use std::f64::consts::PI;

fn assert_close(actual: f64, expected: f64, relative: f64, what: &str) {
    let error = (actual - expected).abs() / expected.abs().max(f64::MIN_POSITIVE);
    assert!(
        error <= relative,
        "{what}: {actual} vs {expected} (relative error {error:.2e})"
    );
}

fn cdfs(a: f64, b: f64, x: f64) -> (f64, f64) {
    log_beta_cdfs(a, b, x.ln(), (-x).ln_1p())
}

#[test]
fn cdfs_match_closed_forms_and_scipy() {
    // I_x(a, 1) = x^a and 1 - I_x(1, b) = (1 - x)^b.
    for x in [1e-12, 0.1, 0.5, 0.9, 0.999_999] {
        let (ln_p, _) = cdfs(2.5, 1.0, x);
        assert_close(ln_p, 2.5 * x.ln(), 1e-13, "I_x(2.5, 1)");
        let (_, ln_q) = cdfs(1.0, 3.0, x);
        assert_close(ln_q, 3.0 * (-x).ln_1p(), 1e-13, "1 - I_x(1, 3)");
    }
    // scipy 1.17.1: special.betainc(2.5, 0.7, 0.3), betainc(0.3, 4.0, 1e-5)
    assert_close(
        cdfs(2.5, 0.7, 0.3).0.exp(),
        0.029_814_024_845_250_465,
        1e-13,
        "betainc",
    );
    assert_close(
        cdfs(0.3, 4.0, 1e-5).0.exp(),
        0.052_003_296_098_192_32,
        1e-13,
        "betainc",
    );
}

#[test]
fn the_quantile_inverts_the_cdf_in_both_tails() {
    for (a, b) in [(0.05, 0.5), (0.5, 0.5), (1.0, 3.0), (2.5, 0.7), (40.0, 60.0)] {
        for log10_p in [-300.0, -30.0, -3.0, -0.5, -0.302] {
            let p = 10f64.powf(log10_p);
            for (p, q) in [(p, 1.0 - p), (1.0 - p, p)] {
                let t = beta_quantile_logit(a, b, p, q);
                assert!(t.is_finite(), "a = {a}, b = {b}, p = {p}: t = {t}");
                let (ln_p, ln_q) = log_beta_cdfs(a, b, -softplus(-t), -softplus(t));
                let (got, want) = if p <= q { (ln_p, p.ln()) } else { (ln_q, q.ln()) };
                assert!(
                    (got - want).abs() < 1e-11 * want.abs().max(1.0),
                    "a = {a}, b = {b}, p = {p}: {got} vs {want}"
                );
            }
        }
    }
}

#[test]
fn maps_match_scipy_and_closed_forms() {
    let s = Tensor::scalar;
    // scipy 1.17.1: stats.beta.ppf(stats.norm.cdf(1.3), 2.5, 0.7), ppf(norm.cdf(-7), 0.4, 3)
    assert_close(
        normal_to_beta(&s(1.3), &s(2.5), &s(0.7)).item(),
        0.986_688_609_065_980_5,
        1e-13,
        "beta",
    );
    assert_close(
        normal_to_beta(&s(-7.0), &s(0.4), &s(3.0)).item(),
        5.065_154_558_549_655e-31,
        1e-12,
        "beta tail",
    );
    // Beta(1, 1) is uniform: x = Phi(xi).
    assert_close(
        normal_to_beta(&s(0.4), &s(1.0), &s(1.0)).item(),
        ndtr(0.4),
        1e-14,
        "uniform",
    );
    // scipy: stats.t.ppf((1 + norm.cdf(0.8)) / 2, 3.5), t.isf(norm.sf(9) / 2, 2)
    assert_close(
        normal_to_half_t(&s(0.8), &s(3.5)).item(),
        1.524_864_057_570_702_2,
        1e-13,
        "half-t",
    );
    assert_close(
        normal_to_half_t(&s(9.0), &s(2.0)).item(),
        2_976_680_399.548_084,
        1e-11,
        "half-t tail",
    );
    // nu = 1 is the half-Cauchy: x = tan(pi Phi(xi) / 2).
    let xi = -1.1;
    assert_close(
        normal_to_half_t(&s(xi), &s(1.0)).item(),
        (PI * ndtr(xi) / 2.0).tan(),
        1e-13,
        "half-Cauchy",
    );
}

#[test]
fn maps_invert_each_other_and_differentiate() {
    let xi = Tensor::from([-6.0, -1.2, 0.0, 0.7, 4.0]);
    for (a, b) in [(0.4, 3.0), (2.5, 0.7), (30.0, 30.0)] {
        let (a, b) = (Tensor::scalar(a), Tensor::scalar(b));
        let back = beta_to_normal(&normal_to_beta(&xi, &a, &b), &a, &b);
        assert!((back - &xi).abs().max().item() < 1e-10, "beta round trip");
        check_grad(|v| normal_to_beta(&v[0], &a, &b), std::slice::from_ref(&xi))
            .assert_ok_for("normal_to_beta");
        let x = normal_to_beta(&Tensor::from([-1.2, 0.0, 0.7]), &a, &b);
        check_grad(|v| beta_to_normal(&v[0], &a, &b), &[x]).assert_ok_for("beta_to_normal");
    }
    for nu in [1.0, 3.5, 30.0] {
        let nu = Tensor::scalar(nu);
        let back = half_t_to_normal(&normal_to_half_t(&xi, &nu), &nu);
        assert!((back - &xi).abs().max().item() < 1e-10, "half-t round trip");
        check_grad(|v| normal_to_half_t(&v[0], &nu), std::slice::from_ref(&xi))
            .assert_ok_for("normal_to_half_t");
        let x = normal_to_half_t(&Tensor::from([-1.2, 0.0, 0.7]), &nu);
        check_grad(|v| half_t_to_normal(&v[0], &nu), &[x]).assert_ok_for("half_t_to_normal");
    }
    // Beta(1, 1): x = Phi(xi), so dx/dxi = phi(0) = 1 / sqrt(2 pi) at 0.
    let one = Tensor::scalar(1.0);
    let g = grad(
        |x: &Tensor| normal_to_beta(x, &one, &one).sum(),
        &Tensor::scalar(0.0),
    );
    assert_close(g.item(), 1.0 / (2.0 * PI).sqrt(), 1e-14, "d/dxi at 0");
    let second = |v: &[Tensor]| {
        grad(
            |x: &Tensor| normal_to_beta(x, &Tensor::scalar(2.5), &Tensor::scalar(0.7)).sum(),
            &v[0],
        )
    };
    check_grad(second, &[Tensor::from([-0.8, 0.3, 1.9])]).assert_ok_for("normal_to_beta'");
}

#[test]
fn shapes_broadcast_against_the_variable() {
    let xi = Tensor::from([[-1.0, 0.0, 1.0], [0.5, 0.5, 0.5]]);
    let a = Tensor::from([1.0, 2.0, 3.0]);
    let x = normal_to_beta(&xi, &a, &Tensor::scalar(2.0));
    assert_eq!(x.shape().dims(), &[2, 3]);
    let row = normal_to_beta(&Tensor::scalar(0.5), &Tensor::scalar(2.0), &Tensor::scalar(2.0)).item();
    assert_eq!(x.get(&[1, 1]), row);
    let g = grad(
        |xi: &Tensor| normal_to_beta(xi, &a, &Tensor::scalar(2.0)).sum(),
        &Tensor::scalar(0.3),
    );
    assert_eq!(g.shape().dims(), &[] as &[usize]);
}

#[test]
fn maps_compile_with_their_gradients() {
    let w = Tensor::from([1.0, -0.5, 2.0]);
    let f = |xi: &Tensor| {
        let (a, b, nu) = (Tensor::scalar(2.5), Tensor::scalar(0.7), Tensor::scalar(3.0));
        let (beta, d_beta) = value_and_grad(|xi: &Tensor| (normal_to_beta(xi, &a, &b) * &w).sum(), xi);
        let (half_t, d_half_t) = value_and_grad(|xi: &Tensor| (normal_to_half_t(xi, &nu) * &w).sum(), xi);
        (beta, d_beta, half_t, d_half_t)
    };
    let points = [Tensor::from([1.5, -0.4, -2.2]), Tensor::from([0.1, 3.0, -5.0])];
    assert_compiles_exactly(f, &Tensor::from([-1.2, 0.3, 1.9]), &points);
}
