//! Every public op that panics on a programmer error (shapes that do not
//! fit, an axis out of range) reports the caller's line, not one inside the
//! library: the panic message is only half of the help, the other half is
//! where to look.

use jaxpurify_runtime::linalg::{self, Transpose, Triangle};
use jaxpurify_runtime::log_density;
use jaxpurify_runtime::optim::{Adam, conjugate_gradient};
use jaxpurify_runtime::{
    Complex, ConvMode, Side, Tensor, Tree, concatenate, convolve, correlate, fft_axis, fftn, fftshift_axes,
    grad, hartley_axis, ifft_axis, interp, irfft, irfft_axis, irfftn, jvp, rfft_axis, rfftn, s, searchsorted,
    stack, vjp, vmap, vmap_many, where_,
};
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Whether this thread is running an op expected to panic. Tests run on
    /// threads of their own, so each sees only its own panics.
    static EXPECTING: Cell<bool> = const { Cell::new(false) };
    /// Where the expected panic was raised.
    static LAST_PANIC: Cell<Option<(&'static str, u32)>> = const { Cell::new(None) };
    /// The ops of the running test that did not panic at their call.
    static WRONG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Records the location of expected panics instead of printing them (they
/// would fill the output); every other panic, a failed assertion included,
/// is reported as usual.
fn record_panic_locations() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let report = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !EXPECTING.with(Cell::get) {
                return report(info);
            }
            let location = info.location().map(|l| {
                let file: &'static str = Box::leak(l.file().to_string().into_boxed_str());
                (file, l.line())
            });
            LAST_PANIC.with(|p| p.set(location));
        }));
    });
}

/// Notes whether `$op` panics at the line of this invocation in this file;
/// [`all_panicked_at_their_call`] then reports every op that did not.
macro_rules! panics_here {
    ($op:expr) => {{
        record_panic_locations();
        LAST_PANIC.with(|p| p.set(None));
        EXPECTING.with(|e| e.set(true));
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            let _ = $op;
        }));
        EXPECTING.with(|e| e.set(false));
        let location = LAST_PANIC.with(|p| p.get());
        let wrong = match (result.is_err(), location) {
            (false, _) => Some(format!("`{}` did not panic", stringify!($op))),
            (true, Some(here)) if here == (file!(), line!()) => None,
            (true, at) => Some(format!("`{}` panicked at {at:?}", stringify!($op))),
        };
        WRONG.with(|w| w.borrow_mut().extend(wrong));
    }};
}

fn all_panicked_at_their_call() {
    let wrong = WRONG.with(|w| w.take());
    assert!(
        wrong.is_empty(),
        "not at the caller's line:\n{}",
        wrong.join("\n")
    );
}

fn v(n: usize) -> Tensor {
    Tensor::arange(0.0, n as f64, 1.0)
}

#[test]
fn arithmetic_and_comparisons() {
    let (a, b) = (v(2), v(3));
    panics_here!(&a + &b);
    panics_here!(&a - &b);
    panics_here!(&a * &b);
    panics_here!(&a / &b);
    panics_here!(a.clone() + b.clone());
    panics_here!(a.clone() - &b);
    panics_here!(&a * b.clone());
    panics_here!(a.clone() / b.clone());
    panics_here!(a.pow(&b));
    panics_here!(a.maximum(&b));
    panics_here!(a.minimum(&b));
    panics_here!(a.lt(&b));
    panics_here!(a.le(&b));
    panics_here!(a.gt(&b));
    panics_here!(a.ge(&b));
    panics_here!(a.eq(&b));
    panics_here!(a.ne(&b));
    panics_here!(where_(&a.gt(0.0), &a, &b));
    panics_here!(a.clamp(1.0, 0.0));
    all_panicked_at_their_call();
}

#[test]
fn complex_values() {
    let (a, b) = (v(2), v(3));
    let (z, w) = (Complex::new(&a, &a), Complex::new(&b, &b));
    panics_here!(Complex::new(&a, &b));
    panics_here!(Complex::from_polar(&a, &b));
    panics_here!(&z + &w);
    panics_here!(&z - &w);
    panics_here!(&z * &w);
    panics_here!(&z / &w);
    panics_here!(&z + &b);
    panics_here!(&b * &z);
    panics_here!(&z / &b);
    panics_here!(&b - &z);
    all_panicked_at_their_call();
}

#[test]
fn shapes_and_layout() {
    let (a, m) = (v(3), v(6).reshape([2, 3]));
    panics_here!(a.broadcast_to([2]));
    panics_here!(m.sum_to([2]));
    panics_here!(a.reshape([2, 2]));
    panics_here!(m.permute(&[0]));
    panics_here!(m.transpose(0, 2));
    panics_here!(a.t());
    panics_here!(m.squeeze(0));
    panics_here!(m.expand_dims(4));
    panics_here!(m.flip(2));
    panics_here!(m.pad(&[(1, 1)], 0.0));
    panics_here!(concatenate(&[&a, &m], 0));
    panics_here!(stack(&[&a, &v(2)], 0));
    panics_here!(m.sum_axes(&[2], false));
    panics_here!(m.mean_axes(&[0, 0], false));
    panics_here!(m.prod_axes(&[3], false));
    panics_here!(m.var_axes(&[2], false));
    panics_here!(m.std_axes(&[2], false));
    panics_here!(m.max_axes(&[2], false));
    panics_here!(m.min_axes(&[2], false));
    panics_here!(m.argmax_axis(2, false));
    panics_here!(m.argmin_axis(2, false));
    panics_here!(m.logsumexp_axes(&[2], false));
    panics_here!(m.softmax(2));
    panics_here!(m.log_softmax(2));
    panics_here!(m.cumsum(2));
    panics_here!(m.cumprod(2));
    panics_here!(m.diff(2, 1));
    panics_here!(Tensor::zeros([0]).max());
    panics_here!(Tensor::zeros([0]).argmin());
    all_panicked_at_their_call();
}

#[test]
fn indexing_and_updates() {
    let (a, m) = (v(3), v(6).reshape([2, 3]));
    panics_here!(m.index([2, 0]));
    panics_here!(m.index(s![.., 4..]));
    panics_here!(m.slice(1, 0, 4, 1));
    panics_here!(m.select(0, 2));
    panics_here!(m.index_select(1, &[3]));
    panics_here!(a.scatter_add(0, &[0, 1], 3));
    panics_here!(a.at(5).set(1.0));
    panics_here!(a.at(0..2).set(v(3)));
    panics_here!(a.at(0..2).add(v(3)));
    panics_here!(a.item());
    panics_here!(a.get(&[3]));
    panics_here!(Tensor::scalar(1.0).len());
    all_panicked_at_their_call();
}

#[test]
fn products_and_linear_algebra() {
    let (a, m) = (v(3), v(6).reshape([2, 3]));
    panics_here!(m.matmul(&m));
    panics_here!(Tensor::zeros([2, 2, 2]).matmul(&Tensor::zeros([3, 2, 2])));
    panics_here!(a.dot(&v(2)));
    panics_here!(m.outer(&a));
    panics_here!(m.inner(&v(2)));
    panics_here!(m.vecdot(&v(2)));
    panics_here!(linalg::cholesky(&m));
    panics_here!(linalg::logdet(&m));
    panics_here!(linalg::cho_solve(&Tensor::eye(2), &a));
    panics_here!(linalg::solve(&Tensor::eye(2), &a));
    panics_here!(linalg::solve(&m, &a));
    panics_here!(linalg::inv(&m));
    panics_here!(linalg::slogdet(&m));
    panics_here!(linalg::det(&m));
    panics_here!(linalg::solve_triangular(
        &Tensor::eye(2),
        &a,
        Triangle::Lower,
        Transpose::No
    ));
    panics_here!(linalg::diagonal(&a));
    panics_here!(linalg::diag(&Tensor::zeros([2, 2, 2])));
    panics_here!(linalg::trace(&a));
    all_panicked_at_their_call();
}

#[test]
fn transforms_and_scientific_ops() {
    let (a, m) = (v(3), v(6).reshape([2, 3]));
    panics_here!(fft_axis(&m, 2));
    panics_here!(fftn(Tensor::zeros([2, 0])));
    panics_here!(irfft(&m, 0));
    panics_here!(fftshift_axes(&m, &[2]));
    panics_here!(convolve(&m, &a, ConvMode::Full));
    panics_here!(correlate(&a, &Tensor::zeros([0]), ConvMode::Same));
    panics_here!(interp(&a, &a, &v(2)));
    panics_here!(interp(&a, &Tensor::from([0.0, 2.0, 1.0]), &a));
    panics_here!(searchsorted(&m, &a, Side::Left));
    panics_here!(searchsorted(&Tensor::from([1.0, 0.0]), &a, Side::Left));
    panics_here!(log_density::normal(&a, v(2), 1.0));
    panics_here!(log_density::multivariate_normal_chol(&a, &a, &Tensor::eye(2)));
    panics_here!(vmap(&a, 1, |x| x.clone()));
    panics_here!(vmap_many(&[&a, &v(2)], 0, |x| x[0].clone()));
    panics_here!(vmap(&a, 0, |x| if x.item() > 0.0 { v(2) } else { v(1) }));
    panics_here!(Tensor::arange(0.0, 1.0, 0.0));
    all_panicked_at_their_call();
}

#[test]
fn more_transforms_and_densities() {
    let (a, m) = (v(3), v(6).reshape([2, 3]));
    panics_here!(ifft_axis(&m, 2));
    panics_here!(rfft_axis(&m, -3));
    panics_here!(irfft_axis(&m, 4, 2));
    panics_here!(hartley_axis(&m, 2));
    panics_here!(rfftn(&Tensor::zeros([0])));
    panics_here!(irfftn(Tensor::zeros([0]), 0));
    panics_here!(log_density::log_normal(&a, v(2), 1.0));
    panics_here!(log_density::student_t(&a, 3.0, v(2), 1.0));
    panics_here!(log_density::gamma(&a, v(2), 1.0));
    panics_here!(log_density::exponential(&a, v(2)));
    panics_here!(log_density::poisson(&a, v(2)));
    all_panicked_at_their_call();
}

#[test]
fn trees_differentiation_and_optimisers() {
    let (a, b) = (v(2), v(3));
    panics_here!((a.clone(), a.clone()).with_leaves([a.clone()]));
    panics_here!(vec![a.clone()].with_leaves([a.clone(), a.clone()]));
    panics_here!(vec![a.clone()].zip_map(&vec![a.clone(), b.clone()], |x, _| x.clone()));
    panics_here!(vec![a.clone(), a.clone()].zip_map(&vec![a.clone()], |x, _| x.clone()));
    panics_here!(vjp(|x: &Tensor| x * 2.0, &a).1.apply(&b));
    panics_here!(jvp(|x: &Tensor| x * 2.0, &a, &b));
    panics_here!(grad(|x: &Tensor| x * 2.0, &a));
    panics_here!(Adam::new(0.1).step(&mut [0.0; 2], &[0.0; 3]));
    panics_here!(conjugate_gradient(|x| x.to_vec(), &[1.0], &[0.0, 0.0], 0.0, 1));
    panics_here!(conjugate_gradient(
        |_| vec![1.0],
        &[1.0, 1.0],
        &[0.0, 0.0],
        0.0,
        1
    ));
    all_panicked_at_their_call();
}
