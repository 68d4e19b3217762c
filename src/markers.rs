//! The markers. `#[purify]` rewrites them before they expand; used anywhere
//! else they expand to an error saying so.

/// Declares a learned parameter of the given shape inside a `#[purify]`
/// function: `let xi = param!(n);`, `param!([2, 3], name = "w")`,
/// `param!(n, name = w[i])` in a loop.
#[macro_export]
macro_rules! param {
    ($($t:tt)*) => {
        ::core::compile_error!("`param!` can only be used inside a `#[purify]` function")
    };
}

/// Declares data given at call time inside a `#[purify]` function:
/// `let x_obs = fixed!(3);`.
#[macro_export]
macro_rules! fixed {
    ($($t:tt)*) => {
        ::core::compile_error!("`fixed!` can only be used inside a `#[purify]` function")
    };
}

/// Returns its value unchanged and records it as a named intermediate inside
/// a `#[purify]` function: `let f = intermediate!(field);`.
#[macro_export]
macro_rules! intermediate {
    ($($t:tt)*) => {
        ::core::compile_error!("`intermediate!` can only be used inside a `#[purify]` function")
    };
}

/// Calls another `#[purify]` function as a component, with its parameters
/// nested under its name: `sub!(field(n, &alpha))`, `sub!(f2 = field(n, &a))`,
/// `sub!(layers[i] = linear(d_in, d_out, &h))`.
#[macro_export]
macro_rules! sub {
    ($($t:tt)*) => {
        ::core::compile_error!("`sub!` can only be used inside a `#[purify]` function")
    };
}

/// A scalar whitened parameter mapped to a normal variable:
/// `let a = normal_variable!(mean = 0.0, sigma = 1.0);`.
#[macro_export]
macro_rules! normal_variable {
    ($($t:tt)*) => {
        ::core::compile_error!("`normal_variable!` can only be used inside a `#[purify]` function")
    };
}

/// A scalar whitened parameter mapped to a log-normal variable with the given
/// mean and standard deviation: `let alpha = log_normal_variable!(mean = 3.0, sigma = 0.1);`.
#[macro_export]
macro_rules! log_normal_variable {
    ($($t:tt)*) => {
        ::core::compile_error!("`log_normal_variable!` can only be used inside a `#[purify]` function")
    };
}

/// A scalar whitened parameter mapped to a uniform variable:
/// `let u = uniform_variable!(low = 0.0, high = 1.0);`.
#[macro_export]
macro_rules! uniform_variable {
    ($($t:tt)*) => {
        ::core::compile_error!("`uniform_variable!` can only be used inside a `#[purify]` function")
    };
}

/// A scalar whitened parameter mapped to a Laplace variable:
/// `let b = laplace_variable!(loc = 0.0, scale = 1.0);`.
#[macro_export]
macro_rules! laplace_variable {
    ($($t:tt)*) => {
        ::core::compile_error!("`laplace_variable!` can only be used inside a `#[purify]` function")
    };
}

/// A scalar whitened parameter mapped to an inverse-gamma variable:
/// `let v = inverse_gamma_variable!(shape = 2.0, scale = 1.0);`.
#[macro_export]
macro_rules! inverse_gamma_variable {
    ($($t:tt)*) => {
        ::core::compile_error!("`inverse_gamma_variable!` can only be used inside a `#[purify]` function")
    };
}

/// A scalar whitened parameter mapped to a Cauchy variable:
/// `let b = cauchy_variable!(loc = 0.0, scale = 2.5);` (see
/// [`priors::Cauchy`](crate::priors::Cauchy)).
#[macro_export]
macro_rules! cauchy_variable {
    ($($t:tt)*) => {
        ::core::compile_error!("`cauchy_variable!` can only be used inside a `#[purify]` function")
    };
}

/// A scalar whitened parameter mapped to a half-Cauchy variable, a scale
/// prior with median `scale`: eight schools' `tau ~ HalfCauchy(5)` is
/// `let tau = half_cauchy_variable!(scale = 5.0);` (see
/// [`priors::HalfCauchy`](crate::priors::HalfCauchy)).
#[macro_export]
macro_rules! half_cauchy_variable {
    ($($t:tt)*) => {
        ::core::compile_error!("`half_cauchy_variable!` can only be used inside a `#[purify]` function")
    };
}

/// A scalar whitened parameter mapped to a half-normal variable `|N(0, scale^2)|`:
/// `let sigma = half_normal_variable!(scale = 1.0);` (see
/// [`priors::HalfNormal`](crate::priors::HalfNormal)).
#[macro_export]
macro_rules! half_normal_variable {
    ($($t:tt)*) => {
        ::core::compile_error!("`half_normal_variable!` can only be used inside a `#[purify]` function")
    };
}

/// A scalar whitened parameter mapped to a half-Student-t variable
/// `|t_dof(0, scale)|`: `let sigma = half_student_t_variable!(dof = 3.0, scale = 2.5);`
/// (see [`priors::HalfStudentT`](crate::priors::HalfStudentT)).
#[macro_export]
macro_rules! half_student_t_variable {
    ($($t:tt)*) => {
        ::core::compile_error!("`half_student_t_variable!` can only be used inside a `#[purify]` function")
    };
}

/// A scalar whitened parameter mapped to a gamma variable with shape and
/// **rate** (mean `shape / rate`): `let k = gamma_variable!(shape = 2.0, rate = 0.5);`
/// (see [`priors::Gamma`](crate::priors::Gamma)).
#[macro_export]
macro_rules! gamma_variable {
    ($($t:tt)*) => {
        ::core::compile_error!("`gamma_variable!` can only be used inside a `#[purify]` function")
    };
}

/// A scalar whitened parameter mapped to a beta variable on `(0, 1)`:
/// `let f = beta_variable!(alpha = 2.0, beta = 5.0);` (see
/// [`priors::Beta`](crate::priors::Beta)).
#[macro_export]
macro_rules! beta_variable {
    ($($t:tt)*) => {
        ::core::compile_error!("`beta_variable!` can only be used inside a `#[purify]` function")
    };
}

/// A scalar whitened parameter mapped by any prior: a value implementing
/// [`Prior`](crate::Prior), the `Result` of a prior's constructor, or a
/// closure `|xi: &Tensor| -> Tensor`. Like the other variables it is a
/// parameter (the whitened value) and an intermediate (the physical one):
/// `let tau = variable!(priors::HalfCauchy::new(5.0));`,
/// `let s = variable!(|xi: &Tensor| (xi * 0.3).exp(), name = "s");`.
#[macro_export]
macro_rules! variable {
    ($($t:tt)*) => {
        ::core::compile_error!("`variable!` can only be used inside a `#[purify]` function")
    };
}
