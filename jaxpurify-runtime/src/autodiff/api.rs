//! The public transformations: `grad`, `value_and_grad`, `vjp`, `jvp`, `hvp`
//! and user-defined derivative rules.

use super::graph::{Ctx, Grads, Level, Tape, backward, record};
use crate::tensor::Tensor;
use crate::tree::Tree;
use smallvec::SmallVec;
use std::sync::Arc;

/// Makes every leaf of `x` a variable of `tape`'s level.
fn track_leaves<T: Tree>(x: &T, tape: &Arc<Tape>) -> T {
    x.map(|t| t.track_as_leaf(tape))
}

/// The value of `f(x)` and its pullback: a [`Vjp`] that maps a cotangent of
/// the output to the gradient with respect to `x` (same tree type as `x`).
///
/// ```
/// use jaxpurify_runtime::{vjp, Tensor};
/// let (y, pullback) = vjp(|x: &Tensor| x * x, &Tensor::from([1.0, 2.0]));
/// assert_eq!(y.to_vec(), vec![1.0, 4.0]);
/// // d(x*x)/dx = 2x, weighted by the cotangent [1, 10]
/// assert_eq!(pullback.apply(&Tensor::from([1.0, 10.0])).to_vec(), vec![2.0, 40.0]);
/// ```
pub fn vjp<T: Tree, O: Tree>(f: impl FnOnce(&T) -> O, x: &T) -> (O, Vjp<T, O>) {
    let tape = Tape::open();
    let level = tape.level();
    let inputs = track_leaves(x, &tape);
    let output = f(&inputs);
    let value = output.map(|t| t.strip_from(level));
    (
        value,
        Vjp {
            level,
            inputs,
            output,
        },
    )
}

/// The pullback of a function at a point, from [`vjp`]; apply it to as many
/// cotangents as needed.
pub struct Vjp<T, O> {
    level: Level,
    inputs: T,
    output: O,
}

impl<T: Tree, O: Tree> Vjp<T, O> {
    /// The gradient of `<cotangent, f(x)>` with respect to `x`.
    ///
    /// # Panics
    /// When the cotangent's leaves do not have the output's shapes.
    #[track_caller]
    pub fn apply(&self, cotangent: &O) -> T {
        let outputs = leaves_of(&self.output);
        let seeds = leaves_of(cotangent);
        assert_eq!(
            outputs.len(),
            seeds.len(),
            "vjp: the cotangent has a different number of leaves than the output"
        );
        for (o, s) in outputs.iter().zip(&seeds) {
            assert_eq!(
                o.shape(),
                s.shape(),
                "vjp: cotangent shape {} does not match output shape {}",
                s.shape(),
                o.shape()
            );
        }
        let leaves = leaves_of(&self.inputs);
        let grads = backward(&outputs, &seeds, self.level, &leaves);
        self.inputs.with_leaves(grads)
    }
}

/// Panics, at the caller's line, when a tangent does not match its point
/// leaf by leaf (the mismatch would otherwise surface inside a derivative
/// rule).
#[track_caller]
fn check_tangent(x: &[&Tensor], tangent: &[&Tensor]) {
    assert_eq!(
        x.len(),
        tangent.len(),
        "jvp: the tangent has a different number of leaves than the input"
    );
    for (x, t) in x.iter().zip(tangent) {
        assert_eq!(
            x.shape(),
            t.shape(),
            "jvp: tangent shape {} does not match input shape {}",
            t.shape(),
            x.shape()
        );
    }
}

/// A tree's leaves without allocating for the common few.
fn leaves_of<T: Tree>(tree: &T) -> SmallVec<[&Tensor; 4]> {
    let mut out = SmallVec::new();
    tree.visit(&mut crate::tree::Path::root(), &mut |_, t| out.push(t));
    out
}

/// The value of a scalar function and its gradient with respect to `x`.
///
/// ```
/// use jaxpurify_runtime::{value_and_grad, Tensor};
/// let (v, g) = value_and_grad(|x: &Tensor| x.sin().sum(), &Tensor::from([0.0, 1.0]));
/// assert!((v.item() - 1f64.sin()).abs() < 1e-15);
/// assert_eq!(g.to_vec(), vec![1.0, 1f64.cos()]);
/// ```
///
/// # Panics
/// When `f` does not return a one-element tensor.
#[track_caller]
pub fn value_and_grad<T: Tree>(f: impl FnOnce(&T) -> Tensor, x: &T) -> (Tensor, T) {
    let (value, pullback) = vjp(f, x);
    assert_eq!(
        value.numel(),
        1,
        "grad: the function must return a single value, got shape {}",
        value.shape()
    );
    let seed = value.ones_like();
    let g = pullback.apply(&seed);
    (value, g)
}

/// The gradient of a scalar function with respect to `x`.
///
/// Gradients of gradients work, and nested differentiation keeps its levels
/// apart: here `d/dx [x * d/dy (x + y)] = 1`.
///
/// ```
/// use jaxpurify_runtime::{grad, Tensor};
/// let outer = grad(
///     |x: &Tensor| {
///         let inner = grad(|y: &Tensor| (x + y).sum(), &Tensor::scalar(1.0));
///         (x * &inner).sum()
///     },
///     &Tensor::scalar(1.0),
/// );
/// assert_eq!(outer.item(), 1.0);
/// ```
#[track_caller]
pub fn grad<T: Tree>(f: impl FnOnce(&T) -> Tensor, x: &T) -> T {
    value_and_grad(f, x).1
}

/// The value of `f(x)` and its directional derivative along `tangent`
/// (forward mode, computed as the transpose of the pullback).
///
/// ```
/// use jaxpurify_runtime::{jvp, Tensor};
/// let x = Tensor::from([1.0, 2.0]);
/// let (y, dy) = jvp(|x: &Tensor| x * x, &x, &Tensor::from([1.0, 0.5]));
/// assert_eq!(y.to_vec(), vec![1.0, 4.0]);
/// assert_eq!(dy.to_vec(), vec![2.0, 2.0]);
/// ```
///
/// # Panics
/// When the tangent's leaves do not have the shapes of `x`'s.
#[track_caller]
pub fn jvp<T: Tree, O: Tree>(f: impl FnOnce(&T) -> O, x: &T, tangent: &T) -> (O, O) {
    check_tangent(&leaves_of(x), &leaves_of(tangent));
    let (value, pullback) = vjp(f, x);
    // The pullback is linear in its cotangent `u`; differentiating
    // `u -> <pullback(u), tangent>` with respect to `u` gives J * tangent.
    let cotangent_tape = Tape::open();
    let cotangent_level = cotangent_tape.level();
    let u = track_leaves(&value.map(Tensor::zeros_like), &cotangent_tape);
    let g = pullback.apply(&u);
    let du = backward(&g.leaves(), &tangent.leaves(), cotangent_level, &u.leaves());
    (value, u.with_leaves(du))
}

/// The Hessian of a scalar function at `x` applied to `v`, by differentiating
/// the gradient's projection on `v`.
///
/// ```
/// use jaxpurify_runtime::{hvp, Tensor};
/// // f = sum(x^3): Hessian diag(6x)
/// let hv = hvp(|x: &Tensor| (x * x * x).sum(), &Tensor::from([1.0, 2.0]), &Tensor::from([1.0, 1.0]));
/// assert_eq!(hv.to_vec(), vec![6.0, 12.0]);
/// ```
pub fn hvp<T: Tree>(f: impl Fn(&T) -> Tensor, x: &T, v: &T) -> T {
    grad(
        |x: &T| {
            let g = grad(&f, x);
            let terms = g.leaves().into_iter().zip(v.leaves()).map(|(a, b)| (a * b).sum());
            terms.fold(Tensor::scalar(0.0), |acc, t| acc + t)
        },
        x,
    )
}

/// The same values with no recorded graph: gradients of every level stop
/// here (JAX's `stop_gradient`; the same as [`Tensor::detach`]).
///
/// ```
/// use jaxpurify_runtime::{grad, stop_gradient, Tensor};
/// // d/dx [x * stop_gradient(x)] = stop_gradient(x) = 3
/// let g = grad(|x: &Tensor| (x * &stop_gradient(x)).sum(), &Tensor::scalar(3.0));
/// assert_eq!(g.item(), 3.0);
/// ```
pub fn stop_gradient(x: &Tensor) -> Tensor {
    x.detach()
}

/// An op with a derivative rule of the user's choosing.
///
/// `forward` computes the output from the inputs' values (nothing inside it is
/// recorded); `rule` gives the input gradients from [`Ctx`](super::Ctx). Write
/// the rule with tensor ops so that higher derivatives still work.
///
/// ```
/// use jaxpurify_runtime::{custom_vjp, grad, Grads, Tensor};
/// // A clipped gradient: identity forward, gradient scaled by 0.5.
/// let half_grad = |x: &Tensor| custom_vjp(&[x], |v| v[0].clone(), |c| Grads::from_iter([Some(c.grad * 0.5)]));
/// assert_eq!(grad(|x: &Tensor| half_grad(x).sum(), &Tensor::scalar(2.0)).item(), 0.5);
/// ```
pub fn custom_vjp(
    inputs: &[&Tensor],
    forward: impl FnOnce(&[Tensor]) -> Tensor,
    rule: impl Fn(&Ctx) -> Grads + Clone + Send + Sync + 'static,
) -> Tensor {
    let values: Vec<Tensor> = inputs.iter().map(|t| t.detach()).collect();
    let output = forward(&values).detach();
    record(output, inputs, rule)
}
