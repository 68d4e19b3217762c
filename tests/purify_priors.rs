//! The prior markers added for inference: eight schools' half-Cauchy scale,
//! the other named priors, and `variable!` with a user's own transform.

use jaxpurify::prelude::*;
use jaxpurify::{Prior, priors};

/// Eight schools, non-centred: `theta = mu + tau theta_tilde`.
#[purify]
fn eight_schools() -> Tensor {
    let mu = normal_variable!(mean = 0.0, sigma = 5.0);
    let tau = half_cauchy_variable!(scale = 5.0);
    let theta_tilde = param!(8);
    intermediate!(&mu + &tau * &theta_tilde, name = "theta")
}

#[test]
fn eight_schools_has_its_parameters_and_records_its_intermediates() {
    let shapes = eight_schools::shapes().unwrap();
    assert_eq!(shapes.to_string(), "mu: []\ntau: []\ntheta_tilde: [8]");
    let mut params = eight_schools::zeros().unwrap();
    params.theta_tilde = Tensor::ones([8]);
    let fixed = eight_schools::Fixed {};
    let inter = eight_schools::intermediates(&params, &fixed).unwrap();
    // At xi = 0 the half-Cauchy sits at its median, the scale: theta = 0 + 5 * 1.
    assert!((inter.tau.item() - 5.0).abs() < 1e-14);
    assert_eq!(inter.mu.item(), 0.0);
    assert!(inter.theta.as_slice().iter().all(|&t| (t - 5.0).abs() < 1e-13));
    // d sum(theta) / d xi_tau = 8 d tau / d xi, and tau = 5 z with the standard
    // half-Cauchy z = tan(pi Phi(xi) / 2): dz/dxi = phi(xi) pi (1 + z^2) / 2,
    // at xi = 0 (z = 1) pi phi(0).
    let g = eight_schools::grad(&params, &fixed, |y| y.sum()).unwrap();
    let slope = 5.0 * std::f64::consts::PI / (2.0 * std::f64::consts::PI).sqrt();
    assert!((g.tau.item() - 8.0 * slope).abs() < 1e-12, "{}", g.tau.item());
}

/// `exp(xi)`, a user's own transform.
struct Exponentiated;

impl Prior for Exponentiated {
    fn forward(&self, xi: &Tensor) -> Tensor {
        xi.exp()
    }
}

#[purify]
fn own_priors() -> Tensor {
    let from_constructor = variable!(priors::HalfStudentT::new(3.0, 2.0));
    let own = variable!(Exponentiated);
    let closure = variable!(|xi: &Tensor| xi * 3.0 + 1.0, name = "shifted");
    let c = cauchy_variable!(loc = 1.0, scale = 2.0);
    let h = half_normal_variable!(scale = 1.0);
    let t = half_student_t_variable!(dof = 4.0, scale = 1.0);
    let g = gamma_variable!(shape = 1.0, rate = 2.0);
    let b = beta_variable!(alpha = 3.0, beta = 3.0);
    from_constructor + own + closure + c + h + t + g + b
}

#[test]
fn variable_takes_constructors_types_and_closures() {
    let shapes = own_priors::shapes().unwrap();
    let names: Vec<&str> = shapes.iter().map(|(p, _)| p).collect();
    assert_eq!(
        names,
        ["from_constructor", "own", "shifted", "c", "h", "t", "g", "b"]
    );
    let mut params = own_priors::zeros().unwrap();
    params.own = Tensor::scalar(1.0);
    params.shifted = Tensor::scalar(2.0);
    let inter = own_priors::intermediates(&params, &own_priors::Fixed {}).unwrap();
    assert_eq!(inter.own.item(), 1f64.exp());
    assert_eq!(inter.shifted.item(), 7.0);
    // Medians at xi = 0: Cauchy loc, exponential ln 2 / rate, symmetric beta 1/2,
    // half-normal Phi^{-1}(3/4).
    assert_eq!(inter.c.item(), 1.0);
    assert!((inter.g.item() - 2f64.ln() / 2.0).abs() < 1e-15);
    assert!((inter.b.item() - 0.5).abs() < 1e-15);
    assert!((inter.h.item() - 0.674_489_750_196_081_7).abs() < 1e-15);
    // The constructor's prior is the one the runtime builds.
    let expected = priors::HalfStudentT::new(3.0, 2.0)
        .unwrap()
        .forward(&Tensor::scalar(0.0));
    assert_eq!(inter.from_constructor, expected);
}

#[purify]
fn invalid_given_prior() -> Tensor {
    variable!(priors::HalfCauchy::new(-5.0), name = "tau")
}

#[test]
fn a_prior_constructor_that_fails_is_the_models_error() {
    let error = invalid_given_prior::zeros().unwrap_err().to_string();
    assert_eq!(
        error,
        "`tau`: priors::HalfCauchy::new: `scale` must be positive and finite, got -5"
    );
}
