//! Models that can fail: bodies returning `Result`, and compiled programs
//! returning the same errors as the direct calls.

use jaxpurify::linalg::{self, Transpose, Triangle};
use jaxpurify::prelude::*;

/// The negative log marginal likelihood of a Gaussian process with a
/// squared-exponential kernel whose amplitude, length scale and noise are
/// learned (log-parametrised): fails where `K` is not positive definite.
#[purify]
fn gp_nlml(n: usize) -> Result<Tensor> {
    let x = fixed!(n);
    let y = fixed!(n);
    let log_amplitude = param!(());
    let log_length = param!(());
    let log_noise = param!(());
    let d = x.reshape([n, 1]) - x.reshape([1, n]);
    let k = (log_amplitude * 2.0).exp() * (-(d.square()) / ((log_length * 2.0).exp() * 2.0)).exp();
    let k = k + Tensor::eye(n) * (log_noise * 2.0).exp();
    let l = linalg::cholesky(&k)?;
    let z = linalg::solve_triangular(&l, &y, Triangle::Lower, Transpose::No)?;
    let half_log_det = linalg::diagonal(&l).ln().sum();
    Ok(z.square().sum() * 0.5 + half_log_det + n as f64 * 0.5 * (2.0 * std::f64::consts::PI).ln())
}

fn data(n: usize) -> gp_nlml::Fixed {
    let x = Tensor::linspace(0.0, 5.0, n);
    let y = (&x * 1.3).sin() + (&x * 0.7).cos() * 0.3;
    gp_nlml::Fixed { x, y }
}

fn params(amplitude: f64, length: f64, noise: f64) -> gp_nlml::Params {
    gp_nlml::Params {
        log_amplitude: Tensor::scalar(amplitude.ln()),
        log_length: Tensor::scalar(length.ln()),
        log_noise: Tensor::scalar(noise.ln()),
    }
}

/// A long length scale and no noise: `K` is numerically singular, the
/// factorisation fails.
fn not_positive_definite() -> gp_nlml::Params {
    params(1.0, 1e3, 1e-30)
}

const NOT_PD: &str = "cholesky: matrix of shape [20, 20] is not positive definite";

#[test]
fn a_body_returning_result_gives_its_error_from_every_call() {
    let (model, fixed) = (gp_nlml::new(20), data(20));
    let good = params(1.0, 0.8, 0.1);
    assert!(model.apply(&good, &fixed).unwrap().item().is_finite());
    let bad = not_positive_definite();
    assert_eq!(model.apply(&bad, &fixed).unwrap_err().to_string(), NOT_PD);
    assert_eq!(gp_nlml::apply(&bad, &fixed, 20).unwrap_err().to_string(), NOT_PD);
    assert_eq!(
        model.output_and_grad(&bad, &fixed).unwrap_err().to_string(),
        NOT_PD
    );
    assert_eq!(model.intermediates(&bad, &fixed).unwrap_err().to_string(), NOT_PD);
    assert!(model.vjp(&bad, &fixed).is_err());
    assert!(model.jvp(&bad, &fixed, &good).is_err());
    let flat = gp_nlml::new(20).flat().unwrap();
    let mut grad = vec![0.0; 3];
    let err = flat.output_and_grad(&bad.ravel(), &fixed, &mut grad).unwrap_err();
    assert_eq!(err.to_string(), NOT_PD);
    // Its layout is known without data: the body's failure at zero
    // parameters (a valid matrix here) does not matter for declaring.
    assert_eq!(gp_nlml::shapes(20).unwrap().len(), 3);
}

#[test]
fn the_compiled_gp_matches_the_direct_call_and_fails_where_it_fails() {
    let (model, fixed) = (gp_nlml::new(20), data(20));
    let at = params(1.0, 0.8, 0.1);
    let compiled = model.compile_output_and_grad(&at, &fixed).unwrap();
    for p in [params(2.0, 0.3, 0.5), params(0.5, 2.0, 0.01)] {
        assert_eq!(
            compiled.call(&p).unwrap(),
            model.output_and_grad(&p, &fixed).unwrap()
        );
    }
    let bad = not_positive_definite();
    assert_eq!(compiled.call(&bad).unwrap_err().to_string(), NOT_PD);
    let mut grad = vec![0.0; 3];
    let err = compiled.value_and_grad_flat(&bad.ravel(), &mut grad).unwrap_err();
    assert_eq!(err.to_string(), NOT_PD);
    // The flat model compiles the same program.
    let flat = gp_nlml::new(20).flat().unwrap();
    let from_flat = flat.compile_output_and_grad(&at.ravel(), &fixed).unwrap();
    let p = params(2.0, 0.3, 0.5).ravel();
    let (mut a, mut b) = (vec![0.0; 3], vec![0.0; 3]);
    let value = from_flat.value_and_grad_flat(&p, &mut a).unwrap();
    assert_eq!(value, flat.output_and_grad(&p, &fixed, &mut b).unwrap());
    assert_eq!(a, b);
}

#[test]
fn compiling_where_the_model_fails_returns_its_error() {
    let (model, fixed) = (gp_nlml::new(20), data(20));
    let err = model
        .compile_output_and_grad(&not_positive_definite(), &fixed)
        .err()
        .unwrap();
    assert_eq!(err.to_string(), NOT_PD);
}

/// A hierarchical model whose group scale is learned: the priors of the
/// groups' effects check their traced scales.
#[purify]
fn hierarchical() -> Tensor {
    let mu = normal_variable!(mean = 0.0, sigma = 5.0);
    let tau = log_normal_variable!(mean = 1.0, sigma = 1.0);
    let spread = param!(());
    let first = normal_variable!(mean = &mu, sigma = &tau * &spread);
    let second = normal_variable!(mean = &mu, sigma = &tau);
    let y = fixed!(2);
    (jaxpurify::stack(&[first, second], 0) - y).square().sum() * -0.5
}

#[test]
fn learned_prior_scales_compile_and_their_checks_name_the_variable() {
    let model = hierarchical::new();
    let fixed = hierarchical::Fixed {
        y: Tensor::from([1.5, -0.5]),
    };
    let at = hierarchical::Params {
        mu: Tensor::scalar(0.3),
        tau: Tensor::scalar(-0.2),
        spread: Tensor::scalar(0.8),
        first: Tensor::scalar(1.1),
        second: Tensor::scalar(-0.4),
    };
    let compiled = model.compile_output_and_grad(&at, &fixed).unwrap();
    let elsewhere = hierarchical::Params {
        spread: Tensor::scalar(2.5),
        tau: Tensor::scalar(0.7),
        ..at.clone()
    };
    assert_eq!(
        compiled.call(&elsewhere).unwrap(),
        model.output_and_grad(&elsewhere, &fixed).unwrap()
    );
    // A negative scale: the same error, naming the variable, either way.
    let negative = hierarchical::Params {
        spread: Tensor::scalar(-1.0),
        ..at
    };
    let direct = model.apply(&negative, &fixed).unwrap_err().to_string();
    assert!(
        direct.starts_with("`first`: priors::Normal::new: `sigma` must be positive"),
        "{direct}"
    );
    assert_eq!(compiled.call(&negative).unwrap_err().to_string(), direct);
}

/// The log density of `y` under a normal with a learned covariance factor:
/// a component that can fail, used with `?`.
#[purify]
fn correlated(n: usize) -> Result<Tensor> {
    let factor = param!([n, n]);
    let covariance = factor.matmul(&factor.t());
    let y = fixed!(n);
    let l = linalg::cholesky(&covariance)?;
    Ok(jaxpurify::log_density::multivariate_normal_chol(
        &y,
        Tensor::zeros([n]),
        &l,
    ))
}

#[purify]
fn two_groups(n: usize) -> Result<Tensor> {
    let a = sub!(a = correlated(n))?;
    let b = sub!(b = correlated(n))?;
    Ok(a + b)
}

#[test]
fn a_failing_component_passes_its_error_through_question_marks() {
    let model = two_groups::new(2);
    let fixed = two_groups::Fixed {
        a: correlated::Fixed {
            y: Tensor::from([0.5, -1.0]),
        },
        b: correlated::Fixed {
            y: Tensor::from([1.0, 2.0]),
        },
    };
    let good = two_groups::Params {
        a: correlated::Params {
            factor: Tensor::from([[1.0, 0.0], [0.5, 2.0]]),
        },
        b: correlated::Params {
            factor: Tensor::eye(2),
        },
    };
    let value = model.apply(&good, &fixed).unwrap();
    assert!(value.item().is_finite());
    // A rank-one factor in the second group: its covariance is singular.
    let bad = two_groups::Params {
        b: correlated::Params {
            factor: Tensor::from([[1.0, 0.0], [1.0, 0.0]]),
        },
        ..good.clone()
    };
    let err = model.apply(&bad, &fixed).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cholesky: matrix of shape [2, 2] is not positive definite"
    );
    let compiled = model.compile_output_and_grad(&good, &fixed).unwrap();
    assert_eq!(compiled.call(&bad).unwrap_err().to_string(), err.to_string());
    assert_eq!(compiled.call(&good).unwrap().0, value);
}

/// A model that states its own test of validity: the lower edge of a
/// learned interval must stay below its upper edge.
#[purify]
fn interval_width() -> Result<Tensor> {
    let lower = param!(());
    let upper = param!(());
    jaxpurify::check("ordered_edges", &[&lower, &upper], |v| match v[0][0] < v[1][0] {
        true => Ok(()),
        false => Err(Error::InvalidArgument {
            op: "interval_width",
            message: format!("lower edge {} is not below upper edge {}", v[0][0], v[1][0]),
        }),
    })?;
    Ok((upper - lower).ln())
}

fn edges(lower: f64, upper: f64) -> interval_width::Params {
    interval_width::Params {
        lower: Tensor::scalar(lower),
        upper: Tensor::scalar(upper),
    }
}

#[test]
fn a_check_in_model_code_is_repeated_by_its_compiled_program() {
    let (model, fixed) = (interval_width::new(), interval_width::Fixed {});
    let compiled = model.compile_output_and_grad(&edges(0.0, 1.0), &fixed).unwrap();
    let good = edges(1.0, 3.0);
    assert_eq!(
        compiled.call(&good).unwrap(),
        model.output_and_grad(&good, &fixed).unwrap()
    );
    let bad = edges(2.0, -1.5);
    let message = "interval_width: lower edge 2 is not below upper edge -1.5";
    assert_eq!(model.apply(&bad, &fixed).unwrap_err().to_string(), message);
    assert_eq!(compiled.call(&bad).unwrap_err().to_string(), message);
    let apply = model.compile_apply(&good, &fixed).unwrap();
    assert_eq!(apply.call(&bad).unwrap_err().to_string(), message);
    assert_eq!(apply.call(&good).unwrap(), model.apply(&good, &fixed).unwrap());
}
