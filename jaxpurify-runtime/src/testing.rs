//! Checking derivatives against central differences, for the library's own
//! tests and for users' components.

use crate::autodiff::vjp;
use crate::compile::compile;
use crate::tensor::Tensor;
use crate::tree::Tree;
use std::fmt;

/// The largest disagreement [`check_grad`] found, with where it was.
#[derive(Clone, Debug)]
pub struct GradCheck {
    /// `|analytic - numeric| / max(1, |analytic|, |numeric|)` at the worst element.
    pub max_error: f64,
    /// Which input and which element (row-major) the worst error is at.
    pub worst: Option<(usize, usize)>,
    /// Reverse-mode gradient at the worst element.
    pub analytic: f64,
    /// Central-difference estimate at the worst element.
    pub numeric: f64,
}

/// Errors above this (relative to `max(1, |g|)`) fail [`GradCheck::assert_ok`].
pub const GRAD_TOLERANCE: f64 = 1e-6;

impl GradCheck {
    /// Panics with a report when the error exceeds [`GRAD_TOLERANCE`].
    #[track_caller]
    pub fn assert_ok(&self) {
        self.assert_ok_for("function");
    }

    /// Like [`assert_ok`](GradCheck::assert_ok), naming what was checked.
    #[track_caller]
    pub fn assert_ok_for(&self, name: &str) {
        assert!(
            self.max_error <= GRAD_TOLERANCE,
            "gradient check of {name} failed: {self}"
        );
    }
}

impl fmt::Display for GradCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.worst {
            Some((input, element)) => write!(
                f,
                "error {:.3e} at input {input}, element {element}: reverse mode {}, central difference {}",
                self.max_error, self.analytic, self.numeric
            ),
            None => write!(f, "no elements"),
        }
    }
}

/// Deterministic, non-uniform weights so that a wrong per-element rule cannot
/// hide behind a uniform upstream gradient.
fn upstream_weights(shape: &crate::Shape) -> Tensor {
    let n = shape.numel();
    let data = (0..n).map(|i| 1.0 + 0.5 * (1.7 * i as f64 + 0.3).sin()).collect();
    Tensor::from_vec(data, shape.clone()).expect("length matches")
}

/// Compares the reverse-mode gradient of `sum(w * f(inputs))` (for fixed,
/// non-uniform weights `w`) with central differences in f64, element by
/// element, and reports the worst disagreement.
///
/// ```
/// use jaxpurify_runtime::{testing::check_grad, Tensor};
/// check_grad(|x| (&x[0] * &x[1]).sin(), &[Tensor::from([0.5, 1.0]), Tensor::scalar(2.0)]).assert_ok();
/// ```
pub fn check_grad(f: impl Fn(&[Tensor]) -> Tensor, inputs: &[Tensor]) -> GradCheck {
    let inputs: Vec<Tensor> = inputs.iter().map(Tensor::detach).collect();
    let (y, pullback) = vjp(|x: &Vec<Tensor>| f(x), &inputs);
    let w = upstream_weights(y.shape());
    let analytic = pullback.apply(&w);
    let loss = |x: &[Tensor]| (f(x) * &w).sum().item();
    let mut report = GradCheck {
        max_error: 0.0,
        worst: None,
        analytic: 0.0,
        numeric: 0.0,
    };
    for (k, input) in inputs.iter().enumerate() {
        for i in 0..input.numel() {
            let base = input.as_slice()[i];
            let h = 1e-6 * base.abs().max(1.0);
            let shifted = |delta: f64| {
                let mut data = input.to_vec();
                data[i] = base + delta;
                let mut xs = inputs.clone();
                xs[k] = Tensor::from_vec(data, input.shape().clone()).expect("same shape");
                loss(&xs)
            };
            let numeric = (shifted(h) - shifted(-h)) / (2.0 * h);
            let a = analytic[k].as_slice()[i];
            let error = (a - numeric).abs() / 1f64.max(a.abs()).max(numeric.abs());
            if error > report.max_error || report.worst.is_none() || error.is_nan() {
                report = GradCheck {
                    max_error: if error.is_nan() { f64::INFINITY } else { error },
                    worst: Some((k, i)),
                    analytic: a,
                    numeric,
                };
            }
        }
    }
    report
}

/// Distinct, non-symmetric values of the given shape (a smooth quadratic in
/// the row-major position), so that a misplaced element shows in a test.
///
/// ```
/// use jaxpurify_runtime::testing::distinct_values;
/// assert_eq!(distinct_values([3]).to_vec(), vec![0.3, 0.95, 1.5]);
/// ```
pub fn distinct_values(shape: impl Into<crate::Shape>) -> Tensor {
    let shape = shape.into();
    let data = (0..shape.numel())
        .map(|i| 0.3 + 0.7 * i as f64 - 0.05 * (i * i) as f64)
        .collect();
    Tensor::from_vec(data, shape).expect("length matches the shape")
}

/// Forward and reverse mode at `x`, as two numbers that must agree: for the
/// tangent `v` and a fixed non-uniform cotangent `u` on the output,
/// `<u, J v>` (from [`jvp`](crate::jvp)) and `<J^T u, v>` (from [`vjp`]).
///
/// ```
/// use jaxpurify_runtime::{testing::jvp_vjp_pair, Tensor};
/// let (forward, reverse) = jvp_vjp_pair(|x: &Tensor| x.sin() * x, &Tensor::from([0.3, 1.2]), &Tensor::from([1.0, -2.0]));
/// assert!((forward - reverse).abs() < 1e-12);
/// ```
pub fn jvp_vjp_pair<T: Tree>(f: impl Fn(&T) -> Tensor, x: &T, v: &T) -> (f64, f64) {
    let (_, jv) = crate::jvp(&f, x, v);
    let (y, pullback) = vjp(&f, x);
    let u = Tensor::linspace(0.5, 2.0, y.numel()).reshape(y.shape().clone());
    let forward = (&u * &jv).sum().item();
    let gradient = pullback.apply(&u);
    let reverse = gradient
        .leaves()
        .iter()
        .zip(v.leaves())
        .map(|(g, t)| (*g * t).sum().item())
        .sum();
    (forward, reverse)
}

/// Compiles `f` at `at` and checks that the compiled program gives exactly
/// the bits of `f` itself at each of `points`: for a component of your own,
/// points where its branches, masks and pieces differ from those at `at`.
///
/// ```
/// use jaxpurify_runtime::testing::assert_compiles_exactly;
/// use jaxpurify_runtime::{grad, Tensor};
/// let f = |x: &Tensor| grad(|x: &Tensor| x.relu().square().sum(), x);
/// assert_compiles_exactly(f, &Tensor::from([1.0, -2.0]), &[Tensor::from([-3.0, 0.5])]);
/// ```
///
/// # Panics
/// When `f` does not compile, or a value or a shape differs, naming both.
#[track_caller]
pub fn assert_compiles_exactly<I: Tree, O: Tree>(f: impl Fn(&I) -> O, at: &I, points: &[I]) {
    let compiled = compile(&f, at).unwrap_or_else(|e| panic!("{e}"));
    for (k, point) in points.iter().enumerate() {
        let got = compiled.call(point).unwrap_or_else(|e| panic!("{e}"));
        assert_same_bits(k, &got, &f(point));
    }
}

/// [`assert_compiles_exactly`] for a function that can fail: at each of
/// `points`, the compiled program gives the bits of `f` where `f` succeeds,
/// and the error of `f` (the same message) where it fails, as a check that
/// the program repeats. `f` must succeed at `at`.
///
/// ```
/// use jaxpurify_runtime::testing::assert_compiles_with_errors;
/// use jaxpurify_runtime::{linalg, Tensor};
/// let f = |a: &Tensor| linalg::cholesky(a);
/// let not_positive_definite = Tensor::from([[1.0, 2.0], [2.0, 1.0]]);
/// assert_compiles_with_errors(f, &Tensor::eye(2), &[Tensor::eye(2) * 4.0, not_positive_definite]);
/// ```
///
/// # Panics
/// When `f` fails at `at` or does not compile, or when at some point the
/// two disagree in a value, a shape, or whether and how they fail.
#[track_caller]
pub fn assert_compiles_with_errors<I: Tree, O: Tree>(
    f: impl Fn(&I) -> crate::Result<O>,
    at: &I,
    points: &[I],
) {
    let compiled = compile(|x: &I| f(x).ok(), at).unwrap_or_else(|e| panic!("{e}"));
    for (k, point) in points.iter().enumerate() {
        match (compiled.call(point), f(point)) {
            (Ok(Some(got)), Ok(want)) => assert_same_bits(k, &got, &want),
            (Err(got), Err(want)) => assert_eq!(
                got.to_string(),
                want.to_string(),
                "point {k}: the compiled program fails otherwise than the function"
            ),
            (got, want) => panic!(
                "point {k}: the compiled program gives {:?} where the function gives {:?}",
                got.map(|o| o.is_some()),
                want.map(|_| "a value")
            ),
        }
    }
}

/// Panics unless `got` and `want` have the same shapes and bits.
#[track_caller]
fn assert_same_bits<O: Tree>(k: usize, got: &O, want: &O) {
    for (g, w) in got.leaves().iter().zip(want.leaves()) {
        let bits = |t: &Tensor| t.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            g.shape(),
            w.shape(),
            "point {k}: compiled and direct shapes differ"
        );
        assert!(
            bits(g) == bits(w),
            "point {k}: the compiled program gives {g:?} where the function gives {w:?}"
        );
    }
}
