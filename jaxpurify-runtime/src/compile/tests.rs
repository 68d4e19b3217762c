//! Compiled functions against the functions they were traced from.

use super::*;
use crate::testing::assert_compiles_exactly;
use crate::{grad, value_and_grad};

#[test]
fn a_gradient_compiles_and_runs_at_other_points() {
    let f = |x: &Tensor| value_and_grad(|x: &Tensor| (x.square() * 3.0 - x).sum(), x);
    let points = [Tensor::from([1.0, -2.0, 0.5]), Tensor::from([0.0, 7.0, -3.25])];
    assert_compiles_exactly(f, &Tensor::from([0.5, 1.0, 1.5]), &points);
}

#[test]
fn the_program_keeps_only_what_the_outputs_need() {
    // The gradient of sum(x^2) needs no sin, nor the value itself.
    let compiled = compile(
        |x: &Tensor| {
            let _unused = x.sin();
            grad(|x: &Tensor| x.square().sum(), x)
        },
        &Tensor::from([1.0, 2.0]),
    )
    .unwrap();
    assert!(compiled.step_counts().iter().all(|(name, _)| *name != "sin"));
    assert_eq!(
        compiled.call(&Tensor::from([3.0, -1.0])).unwrap().to_vec(),
        vec![6.0, -2.0]
    );
}

#[test]
fn reading_a_traced_value_fails_to_compile_and_names_the_place() {
    let err = compile(
        |x: &Tensor| if x.sum().item() > 0.0 { x.exp() } else { x.clone() },
        &Tensor::from([1.0]),
    )
    .err()
    .expect("a value read");
    let message = err.to_string();
    assert!(message.contains("`item` read the value"), "{message}");
    assert!(message.contains("`where_`"), "{message}");
    assert!(message.contains(file!()), "{message}");
}

#[test]
fn an_op_without_a_kernel_fails_to_compile_only_when_needed() {
    let custom = |x: &Tensor| {
        crate::record(x.detach().without_tracks(), &[x], |c| {
            smallvec::smallvec![Some(c.grad.clone())]
        })
    };
    let unused = compile(
        |x: &Tensor| {
            let _ = custom(x);
            x * 2.0
        },
        &Tensor::from([1.0]),
    );
    assert!(unused.is_ok());
    let err = compile(|x: &Tensor| custom(x) * 2.0, &Tensor::from([1.0]))
        .err()
        .expect("no kernel");
    assert!(err.to_string().contains("has no compiled form"), "{err}");
}

#[test]
fn calls_check_shapes_and_flat_lengths() {
    let compiled = compile(
        |p: &(Tensor, Tensor)| &p.0 * &p.1,
        &(Tensor::from([1.0, 2.0]), Tensor::scalar(3.0)),
    )
    .unwrap();
    let err = compiled
        .call(&(Tensor::from([1.0, 2.0]), Tensor::from([3.0])))
        .unwrap_err();
    assert_eq!(err.to_string(), "`1`: expected shape [], got [1]");
    let mut out = [0.0; 2];
    compiled.call_flat(&[1.0, 2.0, 4.0], &mut out).unwrap();
    assert_eq!(out, [4.0, 8.0]);
    let err = compiled.call_flat(&[1.0, 2.0], &mut out).unwrap_err();
    assert_eq!(err.to_string(), "`flat input`: expected length 3, got 2");
}

#[test]
fn a_second_derivative_compiles_and_runs_at_other_points() {
    // The gradient of sum(grad(L)) for L = sum(x^2 tanh(x) relu(x)): the
    // relu mask of both rules has to follow the input.
    let inner = |x: &Tensor| (x.square() * x.tanh() * x.relu()).sum();
    let f = |x: &Tensor| {
        let second = grad(|x: &Tensor| grad(inner, x).sum(), x);
        (grad(inner, x), second)
    };
    let points = [Tensor::from([-1.0, 2.0, 0.25]), Tensor::from([3.0, 0.0, -0.5])];
    assert_compiles_exactly(f, &Tensor::from([0.5, -1.0, 1.5]), &points);
}

#[test]
fn forward_and_reverse_products_compile_inside_the_function() {
    // J v by jvp and u^T J by vjp, for a function of a pair with a kink.
    let g = |p: &(Tensor, Tensor)| (&p.0 * p.1.sin()).maximum(&p.1) + p.0.exp();
    let tangent = (Tensor::from([1.0, -0.5, 2.0]), Tensor::from([0.25, 1.0, -1.0]));
    let cotangent = Tensor::from([2.0, -1.0, 0.5]);
    let f = |p: &(Tensor, Tensor)| {
        let (value, derivative) = crate::jvp(g, p, &tangent);
        let (_, pullback) = crate::vjp(g, p);
        (value, derivative, pullback.apply(&cotangent))
    };
    let at = (Tensor::from([3.0, 2.0, -1.0]), Tensor::from([0.5, -1.0, 3.0]));
    // The maximum's winner changes in every element.
    let point = (Tensor::from([-2.0, -3.0, 4.0]), Tensor::from([1.5, -1.0, 2.0]));
    assert_compiles_exactly(f, &at, &[point]);
}

#[test]
fn views_are_read_in_place_and_outputs_may_be_views_of_inputs() {
    // A reshape, a row and the real part of a packed complex value are runs
    // of their input: no kernel copies them.
    let f = |x: &Tensor| {
        let rows = x.reshape([2, 3]);
        let spectrum = crate::fft(rows.select(0, 1));
        (rows.select(0, 0), spectrum.re().clone() * 2.0)
    };
    let compiled = compile(f, &Tensor::from([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])).unwrap();
    let kernels: Vec<&str> = compiled.step_counts().iter().map(|(name, _)| *name).collect();
    assert!(
        kernels.iter().all(|k| !["copy", "slice", "unpack"].contains(k)),
        "{kernels:?}"
    );
    assert_compiles_exactly(
        f,
        &Tensor::from([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        &[Tensor::from([-1.0, 0.5, 2.0, 8.0, -3.0, 0.0])],
    );
}
