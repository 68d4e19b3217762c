use super::*;
use crate::testing::{assert_compiles_exactly, check_grad};
use crate::{hvp, value_and_grad};
use std::f64::consts::PI;

const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

fn assert_close(actual: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= tolerance * expected.abs().max(1.0),
        "{what}: {actual} vs {expected}"
    );
}

fn covariance_factor() -> Tensor {
    Tensor::from([[1.5, 0.0, 0.0], [0.4, 0.8, 0.0], [-0.3, 0.2, 1.1]])
}

/// Every likelihood on three data, with a prediction where each is smooth.
fn likelihoods() -> Vec<(&'static str, Box<dyn FisherMetric>)> {
    let y = Tensor::from([0.5, -1.0, 2.0]);
    vec![
        (
            "gaussian",
            Box::new(Gaussian::new(&y, Tensor::from([0.5, 1.0, 2.0])).unwrap()),
        ),
        (
            "gaussian_cholesky",
            Box::new(GaussianCholesky::new(&y, covariance_factor()).unwrap()),
        ),
        ("student_t", Box::new(StudentT::new(&y, 3.5, 0.7).unwrap())),
        (
            "poisson",
            Box::new(Poisson::new(Tensor::from([0.0, 3.0, 7.0])).unwrap()),
        ),
        (
            "bernoulli",
            Box::new(Bernoulli::new(Tensor::from([0.0, 1.0, 1.0])).unwrap()),
        ),
    ]
}

fn prediction() -> Tensor {
    Tensor::from([0.3, -0.4, 1.2])
}

#[test]
fn values_match_hand_computed_sums() {
    // y = [1, 2], prediction [0, 2], sigma [1, 2]:
    // -(1/1)^2/2 - ln 1 - ln sqrt(2 pi)  +  -0 - ln 2 - ln sqrt(2 pi)
    let g = Gaussian::new(Tensor::from([1.0, 2.0]), Tensor::from([1.0, 2.0])).unwrap();
    let lp = g.log_likelihood(&Tensor::from([0.0, 2.0])).item();
    assert_close(lp, -0.5 - 2f64.ln() - 2.0 * LN_SQRT_2PI, 1e-15, "gaussian");
    // Poisson with log-rate ln 2 and counts [0, 3]: -2 + (3 ln 2 - 2 - ln 6)
    let p = Poisson::new(Tensor::from([0.0, 3.0])).unwrap();
    let lp = p.log_likelihood(&Tensor::full([2], 2f64.ln())).item();
    assert_close(lp, -4.0 + 3.0 * 2f64.ln() - 6f64.ln(), 1e-15, "poisson");
    // Bernoulli: outcomes [1, 0] at logits [0, ln 3]: ln(1/2) + ln(1/4)
    let b = Bernoulli::new(Tensor::from([1.0, 0.0])).unwrap();
    let lp = b.log_likelihood(&Tensor::from([0.0, 3f64.ln()])).item();
    assert_close(lp, -(8f64.ln()), 1e-15, "bernoulli");
    // Student-t with dof 1 (Cauchy), scale 1, at its centre: -ln pi per datum.
    let t = StudentT::new(Tensor::from([0.0, 1.0]), 1.0, 1.0).unwrap();
    assert_close(
        t.log_likelihood(&Tensor::from([0.0, 1.0])).item(),
        -2.0 * PI.ln(),
        1e-15,
        "student_t",
    );
}

#[test]
fn a_diagonal_factor_is_the_per_datum_gaussian() {
    // Two data vectors of length 2 sharing the factor diag(0.5, 2).
    let y = Tensor::from([[1.0, -1.0], [0.2, 0.4]]);
    let prediction = Tensor::from([[0.5, 0.0], [0.0, 1.0]]);
    let correlated = GaussianCholesky::new(&y, Tensor::from([[0.5, 0.0], [0.0, 2.0]])).unwrap();
    let independent = Gaussian::new(&y, Tensor::from([0.5, 2.0])).unwrap();
    let (a, b) = (
        correlated.log_likelihood(&prediction),
        independent.log_likelihood(&prediction),
    );
    assert_close(a.item(), b.item(), 1e-14, "log-likelihood");
    let t = Tensor::from([[1.0, 2.0], [-3.0, 0.5]]);
    let (a, b) = (
        correlated.metric(&prediction, &t),
        independent.metric(&prediction, &t),
    );
    assert!((a - b).abs().max().item() < 1e-14);
}

#[test]
fn log_likelihoods_differentiate_and_compile() {
    for (name, likelihood) in likelihoods() {
        check_grad(|v| likelihood.log_likelihood(&v[0]), &[prediction()]).assert_ok_for(name);
        let f = |p: &Tensor| value_and_grad(|p: &Tensor| likelihood.log_likelihood(p), p);
        assert_compiles_exactly(f, &prediction(), &[Tensor::from([-2.0, 0.1, 3.0])]);
    }
}

#[test]
fn the_metric_is_the_negative_hessian_where_that_does_not_depend_on_the_data() {
    // Gaussians, Poisson on log-rates and Bernoulli on logits have an
    // observed information free of the data, equal to the expected one.
    let tangent = Tensor::from([1.0, -2.0, 0.5]);
    for (name, likelihood) in likelihoods() {
        if name == "student_t" {
            continue;
        }
        let observed = -hvp(|p: &Tensor| likelihood.log_likelihood(p), &prediction(), &tangent);
        let metric = likelihood.metric(&prediction(), &tangent);
        assert!((observed - metric).abs().max().item() < 1e-13, "{name}");
    }
}

#[test]
fn the_student_t_metric_is_the_expected_squared_score() {
    // E[(d ln p / d mu)^2] with d ln p / d mu = (nu + 1) z / (scale (nu + z^2)),
    // z = (y - mu) / scale, integrated over y = mu + scale tan(u).
    let (nu, scale) = (3.5, 0.7);
    let n = 400_001;
    let edge = PI / 2.0 - 1e-7;
    let h = 2.0 * edge / (n - 1) as f64;
    // The standard Student-t density's normaliser, as in `log_density::student_t`.
    let normaliser = libm::lgamma((nu + 1.0) / 2.0) - libm::lgamma(nu / 2.0) - 0.5 * (nu * PI).ln();
    let expected: f64 = (0..n)
        .map(|i| {
            let z = (-edge + i as f64 * h).tan();
            let density = (normaliser - (nu + 1.0) / 2.0 * (z * z / nu).ln_1p()).exp() / scale;
            let score = (nu + 1.0) * z / (scale * (nu + z * z));
            let weight = if i == 0 || i == n - 1 { 0.5 } else { 1.0 };
            weight * density * score * score * scale * (1.0 + z * z) * h
        })
        .sum();
    let likelihood = StudentT::new(Tensor::scalar(0.0), nu, scale).unwrap();
    let metric = likelihood
        .metric(&Tensor::scalar(0.0), &Tensor::scalar(1.0))
        .item();
    assert_close(metric, expected, 1e-6, "student-t information");
}

/// The dense matrix of a linear map of 3-vectors, column by column.
fn dense(map: impl Fn(&Tensor) -> Tensor) -> Vec<[f64; 3]> {
    (0..3)
        .map(|j| {
            let column = map(&Tensor::zeros([3]).at(j).set(1.0)).to_vec();
            [column[0], column[1], column[2]]
        })
        .collect()
}

#[test]
fn the_square_root_times_its_transpose_is_the_metric() {
    for (name, likelihood) in likelihoods() {
        let s = dense(|w| likelihood.sqrt_metric(&prediction(), w)); // s[j] = column j of S
        let m = dense(|t| likelihood.metric(&prediction(), t));
        for i in 0..3 {
            for j in 0..3 {
                let product: f64 = (0..3).map(|k| s[k][i] * s[k][j]).sum();
                assert!((product - m[j][i]).abs() < 1e-13, "{name} at [{i}, {j}]");
            }
        }
    }
}

fn message<T: std::fmt::Debug>(result: Result<T>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn constructors_name_the_argument_and_the_shapes() {
    assert_eq!(
        message(Gaussian::new(Tensor::zeros([3]), Tensor::ones([2]))),
        "infer::Gaussian::new: `sigma` of shape [2] does not broadcast to the data's shape [3]"
    );
    assert_eq!(
        message(Gaussian::new(Tensor::zeros([2]), Tensor::from([1.0, -1.0]))),
        "infer::Gaussian::new: `sigma` must be positive and finite, got -1 at element 1"
    );
    assert_eq!(
        message(Gaussian::new(Tensor::from([f64::NAN]), 1.0)),
        "infer::Gaussian::new: `y` must be finite, got NaN at element 0"
    );
    assert_eq!(
        message(GaussianCholesky::new(Tensor::zeros([2]), covariance_factor())),
        "infer::GaussianCholesky::new: `l` of shape [3, 3] must be [n, n] with n the last dimension of `y`, of shape [2]"
    );
    assert_eq!(
        message(GaussianCholesky::new(Tensor::zeros([3]), covariance_factor().t())),
        "infer::GaussianCholesky::new: `l` must be lower triangular with a positive diagonal, got 0.4 at [0, 1]"
    );
    assert_eq!(
        message(StudentT::new(Tensor::zeros([2]), Tensor::ones([3]), 1.0)),
        "infer::StudentT::new: `dof` of shape [3] does not broadcast to the data's shape [2]"
    );
    assert_eq!(
        message(Poisson::new(Tensor::from([1.0, -2.0]))),
        "infer::Poisson::new: `counts` must be a non-negative whole number, got -2 at element 1"
    );
    assert_eq!(
        message(Bernoulli::new(Tensor::from([0.0, 0.5]))),
        "infer::Bernoulli::new: `outcomes` must be 0 or 1, got 0.5 at element 1"
    );
}

#[test]
#[should_panic(expected = "Gaussian::log_likelihood: prediction of shape [2] for data of shape [3]")]
fn a_prediction_of_the_wrong_shape_panics_naming_both() {
    let g = Gaussian::new(Tensor::zeros([3]), 1.0).unwrap();
    let _ = g.log_likelihood(&Tensor::zeros([2]));
}
