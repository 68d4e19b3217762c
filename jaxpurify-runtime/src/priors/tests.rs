//! The priors' own tests: values, gradients, compiled forms and the
//! messages of bad parameters (the quantile functions' accuracy is in
//! `quantile_tests.rs`).

use super::*;
use crate::testing::{assert_compiles_exactly, check_grad};
use crate::{grad, value_and_grad};

type Map = Box<dyn Fn(&Tensor) -> Tensor>;

/// A prior's two maps and the moments its values must have.
struct Case {
    name: &'static str,
    forward: Map,
    inverse: Map,
    median: f64,
    mean: f64,
    variance: f64,
}

fn case<P: 'static>(
    name: &'static str,
    prior: P,
    forward: fn(&P, &Tensor) -> Tensor,
    inverse: fn(&P, &Tensor) -> Tensor,
    [median, mean, variance]: [f64; 3],
) -> Case {
    let prior = std::sync::Arc::new(prior);
    let other = prior.clone();
    Case {
        name,
        forward: Box::new(move |xi| forward(&prior, xi)),
        inverse: Box::new(move |v| inverse(&other, v)),
        median,
        mean,
        variance,
    }
}

fn cases() -> Vec<Case> {
    vec![
        case(
            "normal",
            Normal::new(1.5, 0.7).unwrap(),
            Normal::forward,
            Normal::inverse,
            [1.5, 1.5, 0.49],
        ),
        // median = mean / sqrt(1 + sigma^2 / mean^2)
        case(
            "log-normal",
            LogNormal::new(2.0, 0.8).unwrap(),
            LogNormal::forward,
            LogNormal::inverse,
            [2.0 / 1.16f64.sqrt(), 2.0, 0.64],
        ),
        // variance (high - low)^2 / 12
        case(
            "uniform",
            Uniform::new(-1.0, 3.0).unwrap(),
            Uniform::forward,
            Uniform::inverse,
            [1.0, 1.0, 16.0 / 12.0],
        ),
        // variance 2 scale^2
        case(
            "laplace",
            Laplace::new(0.5, 1.3).unwrap(),
            Laplace::forward,
            Laplace::inverse,
            [0.5, 0.5, 3.38],
        ),
        // mean b / (a - 1), variance b^2 / ((a - 1)^2 (a - 2)); median from mpmath
        case(
            "inverse-gamma",
            InverseGamma::new(6.0, 3.0).unwrap(),
            InverseGamma::forward,
            InverseGamma::inverse,
            [0.529_085_488_076_120_3, 0.6, 0.09],
        ),
    ]
}

#[test]
fn inverse_undoes_forward_and_zero_maps_to_the_median() {
    let xi = Tensor::linspace(-5.0, 5.0, 41);
    for c in cases() {
        let back = (c.inverse)(&(c.forward)(&xi));
        for (b, x) in back.as_slice().iter().zip(xi.as_slice()) {
            assert!((b - x).abs() < 1e-9, "{}: {b} vs {x}", c.name);
        }
        let median = (c.forward)(&Tensor::scalar(0.0)).item();
        assert!(
            (median - c.median).abs() < 1e-14 * c.median.abs().max(1.0),
            "{}: median {median}",
            c.name
        );
    }
}

#[test]
fn values_of_standard_normal_draws_have_the_stated_moments() {
    // Deterministic draws: the normal quantiles of the midpoints of n equal cells.
    let n = 200_000;
    let xi = Tensor::linspace(0.5 / n as f64, 1.0 - 0.5 / n as f64, n).ndtri();
    for c in cases() {
        let values = (c.forward)(&xi);
        let mean = values.mean().item();
        let centred = values - mean;
        let variance = (&centred * &centred).mean().item();
        assert!(
            (mean - c.mean).abs() < 1e-3 * c.mean.abs().max(1.0),
            "{}: mean {mean}",
            c.name
        );
        assert!(
            (variance / c.variance - 1.0).abs() < 2e-3,
            "{}: variance {variance}",
            c.name
        );
    }
}

#[test]
fn constant_log_normal_parameters_give_the_bits_of_tracked_ones() {
    let (mean, sigma) = (Tensor::from([0.5, 3.0, 10.0]), Tensor::scalar(0.7));
    let xi = Tensor::from([-1.2, 0.0, 2.1]);
    let constant = LogNormal::new(&mean, &sigma).unwrap().forward(&xi);
    let mut tracked = None;
    grad(
        |m: &Tensor| {
            let y = LogNormal::new(m, &sigma).unwrap().forward(&xi);
            tracked = Some(y.detach());
            y.sum()
        },
        &mean,
    );
    let bits = |t: &Tensor| t.as_slice().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&constant), bits(&tracked.unwrap()));
}

#[test]
fn forward_gradients_in_xi_and_parameters() {
    let xi = Tensor::from([-1.7, -0.2, 0.0, 0.6, 2.3]);
    let s = Tensor::scalar;
    check_grad(
        |v| Normal::new(&v[1], &v[2]).unwrap().forward(&v[0]),
        &[xi.clone(), s(0.3), s(1.4)],
    )
    .assert_ok_for("Normal");
    check_grad(
        |v| LogNormal::new(&v[1], &v[2]).unwrap().forward(&v[0]),
        &[xi.clone(), s(2.0), s(0.8)],
    )
    .assert_ok_for("LogNormal");
    check_grad(
        |v| Uniform::new(&v[1], &v[2]).unwrap().forward(&v[0]),
        &[xi.clone(), s(-1.0), s(3.0)],
    )
    .assert_ok_for("Uniform");
    check_grad(
        |v| Laplace::new(&v[1], &v[2]).unwrap().forward(&v[0]),
        &[xi.clone(), s(0.5), s(1.3)],
    )
    .assert_ok_for("Laplace");
    check_grad(
        |v| InverseGamma::new(6.0, &v[1]).unwrap().forward(&v[0]),
        &[xi, s(3.0)],
    )
    .assert_ok_for("InverseGamma");
}

#[test]
fn laplace_is_smooth_at_its_median() {
    // Both sides give d value / d xi = scale phi(0) / (1/2) = scale sqrt(2/pi) at 0.
    let prior = Laplace::new(0.0, 2.0).unwrap();
    let slope = crate::grad(|x: &Tensor| prior.forward(x).sum(), &Tensor::scalar(0.0)).item();
    assert!((slope - 2.0 * (2.0 / std::f64::consts::PI).sqrt()).abs() < 1e-15);
}

#[test]
fn maps_compile_with_their_gradients_on_both_sides_of_the_median() {
    // Traced at negative draws only; the points cross zero, where the
    // side of the Laplace quantile flips.
    for c in cases() {
        assert_maps_compile_across_zero(&c.forward, &c.inverse);
    }
}

/// Compiles a prior's forward map with its gradient, and the round trip
/// through its inverse, traced at negative draws only, and checks them at
/// points on both sides of zero (where a quantile's branch may flip).
pub(super) fn assert_maps_compile_across_zero(
    forward: &dyn Fn(&Tensor) -> Tensor,
    inverse: &dyn Fn(&Tensor) -> Tensor,
) {
    let w = Tensor::from([1.0, -0.5, 2.0, 0.3]);
    let f = |xi: &Tensor| {
        let (value, gradient) = value_and_grad(|xi: &Tensor| (forward(xi) * &w).sum(), xi);
        (value, gradient, inverse(&forward(xi)))
    };
    let points = [
        Tensor::from([0.7, -0.3, 0.0, 2.2]),
        Tensor::from([-0.0, 1.9, -2.5, 0.05]),
    ];
    assert_compiles_exactly(f, &Tensor::from([-1.5, -0.2, -0.9, -3.0]), &points);
}

#[test]
fn priors_with_traced_parameters_compile_and_repeat_their_checks() {
    // Each prior's two parameters traced, with its forward map and
    // gradient; the failing points break one requirement each.
    let xi = Tensor::from([-0.4, 1.3]);
    let through = |prior: Result<Tensor>| -> Result<(Tensor, Tensor)> {
        let value = prior?;
        Ok((value.clone(), value.sum()))
    };
    type Build = fn(&Tensor, &Tensor, &Tensor) -> Result<Tensor>;
    let builds: [(Build, [f64; 2], [[f64; 2]; 3]); 11] = [
        (
            |a, b, x| Ok(Normal::new(a, b)?.forward(x)),
            [0.5, 2.0],
            [[1.0, 0.5], [0.0, -1.0], [f64::NAN, 1.0]],
        ),
        (
            |a, b, x| Ok(LogNormal::new(a, b)?.forward(x)),
            [1.5, 0.5],
            [[2.0, 1.0], [-1.0, 1.0], [1.0, 0.0]],
        ),
        (
            |a, b, x| Ok(Uniform::new(a, b)?.forward(x)),
            [-1.0, 2.0],
            [[0.0, 5.0], [2.0, 1.0], [0.0, f64::INFINITY]],
        ),
        (
            |a, b, x| Ok(Laplace::new(a, b)?.forward(x)),
            [0.0, 1.5],
            [[1.0, 0.2], [0.0, 0.0], [f64::NAN, 1.0]],
        ),
        (
            |a, b, x| Ok(InverseGamma::new(a, b)?.forward(x)),
            [3.0, 2.0],
            [[4.0, 1.0], [-3.0, 1.0], [3.0, -2.0]],
        ),
        (
            |a, b, x| Ok(Cauchy::new(a, b)?.forward(x)),
            [0.5, 2.0],
            [[1.0, 0.5], [0.0, -1.0], [f64::INFINITY, 1.0]],
        ),
        (
            |_, b, x| Ok(HalfCauchy::new(b)?.forward(x)),
            [0.0, 5.0],
            [[0.0, 2.0], [0.0, -5.0], [0.0, 0.0]],
        ),
        (
            |_, b, x| Ok(HalfNormal::new(b)?.forward(x)),
            [0.0, 1.5],
            [[0.0, 0.2], [0.0, -1.0], [0.0, f64::NAN]],
        ),
        (
            |a, b, x| Ok(HalfStudentT::new(a, b)?.forward(x)),
            [3.0, 2.0],
            [[5.0, 1.0], [-3.0, 1.0], [3.0, 0.0]],
        ),
        (
            |a, b, x| Ok(Gamma::new(a, b)?.forward(x)),
            [2.0, 3.0],
            [[4.0, 0.5], [0.0, 1.0], [2.0, -1.0]],
        ),
        (
            |a, b, x| Ok(Beta::new(a, b)?.forward(x)),
            [2.0, 3.0],
            [[0.5, 4.0], [-2.0, 1.0], [2.0, f64::INFINITY]],
        ),
    ];
    for (build, at, points) in builds {
        let f = |p: &(Tensor, Tensor)| through(build(&p.0, &p.1, &xi));
        let pair = |[a, b]: [f64; 2]| (Tensor::scalar(a), Tensor::scalar(b));
        let points: Vec<_> = points.into_iter().map(pair).collect();
        crate::testing::assert_compiles_with_errors(f, &pair(at), &points);
    }
}

fn message(result: Result<impl std::fmt::Debug>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn invalid_arguments_are_named_with_their_values() {
    assert_eq!(
        message(LogNormal::new(-1.0, 1.0)),
        "priors::LogNormal::new: `mean` must be positive and finite, got -1"
    );
    assert_eq!(
        message(Normal::new(0.0, Tensor::from([1.0, f64::NAN]))),
        "priors::Normal::new: `sigma` must be positive and finite, got NaN at element 1"
    );
    assert_eq!(
        message(Uniform::new(Tensor::from([0.0, 2.0]), 1.0)),
        "priors::Uniform::new: `low` must be below `high`, got low = 2 and high = 1"
    );
    assert_eq!(
        message(Uniform::new(f64::INFINITY, 1.0)),
        "priors::Uniform::new: `low` must be finite, got inf"
    );
    assert_eq!(
        message(Laplace::new(Tensor::zeros([2]), Tensor::ones([3]))),
        "priors::Laplace::new: `loc` of shape [2] and `scale` of shape [3] do not broadcast"
    );
    assert_eq!(
        message(InverseGamma::new(2.0, 0.0)),
        "priors::InverseGamma::new: `scale` must be positive and finite, got 0"
    );
}
