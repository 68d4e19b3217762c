//! Pure, typed, differentiable models from plain functions.
//!
//! Write a model as one function, declare each learned array inline where it
//! is used, and get typed parameter structs, initialisers, flat vectors and
//! gradients. This crate re-exports the runtime (tensors, automatic
//! differentiation, operations) and the `#[purify]` macro.
//!
//! ```
//! use jaxpurify::prelude::*;
//!
//! /// `sin` of three learned values.
//! #[purify]
//! fn model() -> Tensor {
//!     let x = param!(3);
//!     x.sin()
//! }
//!
//! fn main() -> Result<(), jaxpurify::Error> {
//!     let params = model::zeros()?;                       // model::Params { x }
//!     let y = model::apply(&params, &model::Fixed::default())?;
//!     assert_eq!(y.to_vec(), vec![0.0; 3]);
//!     let (loss, grads) = model::value_and_grad(&params, &Default::default(), |y| y.sum())?;
//!     assert_eq!((loss.item(), grads.x.to_vec()), (0.0, vec![1.0; 3]));
//!     Ok(())
//! }
//! ```
//!
//! # Markers
//!
//! Inside a `#[purify]` function (closures inside it included):
//!
//! | marker | meaning | lands in |
//! |---|---|---|
//! | `param!(SHAPE)` | a learned array; zeros or normal draws at init | `Params` |
//! | `fixed!(SHAPE)` | data given at call time, never differentiated | `Fixed` |
//! | `intermediate!(EXPR)` | returns `EXPR` (a `Tensor`) unchanged; recorded on request | `Intermediates` |
//! | `sub!(f(args))`, `sub!(name = f(args))` | calls another `#[purify]` function as a component | nested `f::Params`/`Fixed`/`Intermediates` |
//! | `normal_variable!(mean =, sigma =)`, `log_normal_variable!(mean =, sigma =)`, `uniform_variable!(low =, high =)`, `laplace_variable!(loc =, scale =)`, `inverse_gamma_variable!(shape =, scale =)`, `cauchy_variable!(loc =, scale =)`, `half_cauchy_variable!(scale =)`, `half_normal_variable!(scale =)`, `half_student_t_variable!(dof =, scale =)`, `gamma_variable!(shape =, rate =)`, `beta_variable!(alpha =, beta =)` | a scalar whitened parameter, transformed (see [`priors`]) | both |
//! | `variable!(PRIOR)` | the same with any [`Prior`]: a prior's constructor (`priors::HalfCauchy::new(5.0)`), your own type, or a closure `\|xi: &Tensor\| ...` | both |
//!
//! * `SHAPE` is `()` or `[]` (a scalar), an integer expression (1-d),
//!   `[a, b]`, `(a, b)`, or anything that converts into a [`Shape`]. Shapes may
//!   depend on the arguments and on values computed in the body.
//! * Names come from `name = "..."` or `name = ident`, otherwise from the
//!   enclosing `let NAME = ...`, otherwise (for `sub!`) from the component.
//! * In loops, `param!(SHAPE, name = w[i])` and `sub!(layers[i] = f(..))`
//!   declare `Vec` fields, filled in order.
//! * A component's markers are nested under its field, so one component used
//!   twice under two names never clashes.
//! * Misuse is a compile error pointing at your code: duplicate names, no
//!   name to infer, a marker outside `#[purify]`, a marker inside another
//!   macro's arguments (bind it with `let` first), unknown keys.
//!
//! # What `#[purify]` generates
//!
//! Beside `fn NAME(args) -> Out`, a module `NAME` with:
//!
//! * `Params`, `Fixed`, `Intermediates`: one public field per marker, in
//!   declaration order, implementing [`Tree`] (paths, map, ravel/unravel,
//!   save/load).
//! * `Model`, the function bound to its arguments (`NAME::new(args)`),
//!   implementing [`Model`]: `shapes`, `fixed_shapes`, `zeros`, `normal`,
//!   `apply`, `intermediates`, `apply_and_intermediates`, `value_and_grad`,
//!   `grad`, `vjp`, `jvp`, [`flat`](Model::flat) for `&[f64]` vectors, and
//!   [`compile_apply`](Model::compile_apply) and
//!   [`compile_value_and_grad`](Model::compile_value_and_grad), which trace
//!   the model once into a [`Compiled`] program. A model whose output is the
//!   number to differentiate (a log density) needs no loss:
//!   [`output_and_grad`](Model::output_and_grad) and
//!   [`compile_output_and_grad`](Model::compile_output_and_grad). `Model`
//!   has a lifetime parameter only when an argument borrows (`&Tensor`,
//!   `&[usize]`).
//! * `Output`, the type the model computes: the return type, or `T` for a
//!   body returning `Result<T>`.
//! * Free functions with the same names taking the arguments last
//!   (`NAME::apply(&params, &fixed, args..)`).
//!
//! The function itself gains a first parameter, the model context. Without
//! the macro, the README model's `field` component would read:
//!
//! ```ignore
//! fn field(scope: &Scope<'_, field::Params, field::Fixed>, n: usize, alpha: &Tensor) -> Tensor {
//!     let k = fftfreq(n, 1.0).at(0).set(f64::INFINITY);
//!     let power = k.abs().pow(alpha);
//!     let xi = scope.param("xi", Shape::from(n), |p| &p.xi);  // checked against the given shape
//!     let f = fft(&(power.sqrt() * &xi));
//!     f.re() - f.im()
//! }
//! mod field {
//!     #[derive(Clone, Debug, PartialEq, Tree)]
//!     pub struct Params { pub xi: Tensor }
//!     #[derive(Clone, Debug, PartialEq, Tree, Default)]
//!     pub struct Fixed {}
//!     #[derive(Clone, Debug, PartialEq, Tree)]
//!     pub struct Intermediates {}
//!     pub struct Model<'a> { pub n: usize, pub alpha: &'a Tensor }
//!     impl jaxpurify::Model for Model<'_> {
//!         type Params = Params; type Fixed = Fixed;
//!         type Intermediates = Intermediates; type Output = Tensor;
//!         fn call(&self, scope: &Scope<'_, Params, Fixed>) -> Result<Tensor> {
//!             ModelOutput::into_result(super::field(scope, self.n, self.alpha))
//!         }
//!     }
//!     pub fn new<'a>(n: usize, alpha: &'a Tensor) -> Model<'a> { Model { n, alpha } }
//!     pub fn apply(params: &Params, fixed: &Fixed, n: usize, alpha: &Tensor) -> Result<Tensor> {
//!         new(n, alpha).apply(params, fixed)
//!     }
//!     // ... shapes, zeros, normal, intermediates, value_and_grad, grad
//! }
//! ```
//!
//! # Models that can fail
//!
//! A body may return `Result<T>` (any error convertible into [`Error`]) and
//! use `?` on fallible operations, such as a Cholesky factorisation of a
//! matrix built from parameters, or on components that return `Result`.
//! `Output` is then `T`, and every call of the model (`apply`,
//! `value_and_grad`, the flat forms, compiled programs) returns the error:
//!
//! ```
//! use jaxpurify::prelude::*;
//! use jaxpurify::linalg;
//!
//! /// `-ln det(S S^T)` of a learned 2 x 2 factor: fails when it is singular.
//! #[purify]
//! fn logdet_of_square() -> Result<Tensor> {
//!     let s = param!([2, 2]);
//!     Ok(-linalg::logdet(&s.matmul(&s.t()))?)
//! }
//!
//! fn main() -> Result<()> {
//!     let model = logdet_of_square::new();
//!     let fixed = logdet_of_square::Fixed::default();
//!     let good = logdet_of_square::Params { s: Tensor::eye(2) };
//!     assert_eq!(model.apply(&good, &fixed)?.item(), 0.0);
//!     let compiled = model.compile_output_and_grad(&good, &fixed)?;
//!     let singular = logdet_of_square::Params { s: Tensor::from([[1.0, 2.0], [0.5, 1.0]]) };
//!     let message = "logdet: matrix of shape [2, 2] is not positive definite";
//!     assert_eq!(model.apply(&singular, &fixed).unwrap_err().to_string(), message);
//!     assert_eq!(compiled.call(&singular).unwrap_err().to_string(), message);
//!     Ok(())
//! }
//! ```
//!
//! The generated `Model::call` wraps the body's return value through
//! [`ModelOutput`]: `Ok` for a plain tree, the value itself for a `Result`.
//! A compiled program repeats every check the operations make (a
//! factorisation failed, a prior's learned scale is not positive, knots are
//! not sorted) and returns the same error; see [`compile()`].
//!
//! Each evaluation makes a fresh context: values are checked where a marker
//! reads them (so a misshapen value never reaches an operation, and no second
//! pass over the body is needed), intermediates are recorded only when asked
//! for, and nothing is global, so models run on many threads at once.
//!
//! `#[purify]` functions live at module level (not inside another
//! function's body), because the module generated beside each one refers to
//! the items around it.

pub use jaxpurify_macros::{Tree, purify};
pub use jaxpurify_runtime::*;

mod markers;

/// The README's code blocks, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The names most models need, for a glob import.
pub mod prelude {
    pub use crate::{
        beta_variable, cauchy_variable, fixed, gamma_variable, half_cauchy_variable, half_normal_variable,
        half_student_t_variable, intermediate, inverse_gamma_variable, laplace_variable, log_normal_variable,
        normal_variable, param, sub, uniform_variable, variable,
    };
    pub use jaxpurify_runtime::{
        Compiled, CompiledGradient, Error, Flat, Model, Result, Shape, Tensor, Tree, TreeBuild, compile,
        grad, hvp, jvp, purify, value_and_grad, vjp,
    };
    // The scientific operations models call as free functions.
    pub use jaxpurify_runtime::{
        Complex, ConvMode, concatenate, convolve, correlate, fft, fftfreq, fftn, fftshift, ifft, ifftn,
        ifftshift, interp, irfft, rfft, rfftfreq, stack, where_,
    };
}
