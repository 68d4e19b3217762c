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
