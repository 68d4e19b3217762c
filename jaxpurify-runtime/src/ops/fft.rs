//! The discrete Fourier transform of complex tensors (`fft`, `ifft`, `fftn`,
//! `ifftn`), and the plan cache and lane walking the real transforms in
//! `fft_real.rs` share.
//!
//! Conventions are NumPy's: the forward transform is unnormalised,
//! `X_k = sum_j x_j e^{-2 pi i jk/n}`, and the inverse divides by `n`.
//!
//! # How a transform is recorded
//!
//! A recorded op has one real output, while a transform maps both parts of
//! its input to both parts of its output. So a [`Complex`] is first packed
//! into one real tensor of shape `[2, ...]` (real part first), the transform
//! is one recorded op from packed to packed, and the result is unpacked; pack
//! and unpack are themselves recorded ops (in `complex.rs`), so gradients
//! flow to both parts.
//!
//! # Derivatives
//!
//! For a complex-linear map `y = A x` and a real loss `L`, write the gradient
//! of a complex quantity as `dL/d re + i dL/d im`. Then `L` changes by
//! `Re <g_y, A dx> = Re <A^H g_y, dx>`, so `g_x = A^H g_y`: the conjugate
//! transpose. The DFT matrix `F` is symmetric, so `F^H = conj(F)`, which is
//! the unnormalised transform in the opposite direction. The derivative of
//! `scale * DFT` is therefore `scale * DFT` in the opposite direction, itself
//! a recorded op, so derivatives of any order are transforms again.
//!
//! # Plans
//!
//! Planning a length is costly, so one planner per kind (complex, real),
//! behind a mutex, serves the whole process; the planners keep every plan
//! they made, keyed by length and direction, and hand out shared
//! `Arc<dyn Fft>`s. The lock is held only while fetching a plan, never while
//! transforming. A plan's algorithm depends on the length and the CPU only, so
//! results do not depend on which thread asks first.

use crate::autodiff::graph::apply_op;
use crate::compile::kernel::Kernel;
use crate::ops::complex::Complex;
use crate::ops::fft_lanes::{LaneBlocks, halves};
use crate::ops::fft_real::packed_real_dft;
use crate::shape::{Shape, normalize_axis};
use crate::tensor::Tensor;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftDirection, FftPlanner};
use smallvec::smallvec;
use std::cell::RefCell;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

struct Planners {
    complex: FftPlanner<f64>,
    real: RealFftPlanner<f64>,
}

fn planners() -> MutexGuard<'static, Planners> {
    static PLANNERS: OnceLock<Mutex<Planners>> = OnceLock::new();
    PLANNERS
        .get_or_init(|| {
            Mutex::new(Planners {
                complex: FftPlanner::new(),
                real: RealFftPlanner::new(),
            })
        })
        .lock()
        // A panic while planning leaves at worst a plan missing from the
        // cache, never a wrong one, so the planners stay usable.
        .unwrap_or_else(PoisonError::into_inner)
}

fn complex_plan(len: usize, direction: FftDirection) -> Arc<dyn Fft<f64>> {
    planners().complex.plan_fft(len, direction)
}

pub(crate) fn real_forward_plan(len: usize) -> Arc<dyn RealToComplex<f64>> {
    planners().real.plan_fft_forward(len)
}

pub(crate) fn real_inverse_plan(len: usize) -> Arc<dyn ComplexToReal<f64>> {
    planners().real.plan_fft_inverse(len)
}

/// The 1-d lanes along one axis of a row-major array: `count` lanes of `len`
/// elements, `stride` apart. Lanes are numbered in row-major order of the
/// other axes, so two arrays that differ only in the axis' length number
/// their lanes alike.
pub(crate) struct Lanes {
    pub(crate) count: usize,
    pub(crate) len: usize,
    stride: usize,
}

impl Lanes {
    pub(crate) fn new(dims: &[usize], axis: usize) -> Lanes {
        let outer: usize = dims[..axis].iter().product();
        let stride: usize = dims[axis + 1..].iter().product();
        Lanes {
            count: outer * stride,
            len: dims[axis],
            stride,
        }
    }

    /// The offset of lane `lane`'s first element.
    fn start(&self, lane: usize) -> usize {
        let (outer, inner) = (lane / self.stride, lane % self.stride);
        outer * self.len * self.stride + inner
    }

    /// The offsets of lane `lane`'s elements, in order along the axis.
    pub(crate) fn offsets(&self, lane: usize) -> impl Iterator<Item = usize> + use<> {
        let (start, stride) = (self.start(lane), self.stride);
        (0..self.len).map(move |j| start + j * stride)
    }

    /// Copies lane `lane` of `data` into `out`, which holds `len` values.
    pub(crate) fn read(&self, data: &[f64], lane: usize, out: &mut [f64]) {
        let start = self.start(lane);
        if self.stride == 1 {
            out.copy_from_slice(&data[start..start + self.len]);
        } else {
            for (j, v) in out.iter_mut().enumerate() {
                *v = data[start + j * self.stride];
            }
        }
    }
}

/// Resolves `axis` of `dims` for transform `op`, requiring at least one
/// point along it (NumPy refuses empty transforms too).
#[track_caller]
pub(crate) fn transform_axis(dims: &[usize], axis: isize, op: &str) -> usize {
    let a = normalize_axis(axis, dims.len(), op);
    assert!(
        dims[a] > 0,
        "{op}: axis {axis} of shape {dims:?} has length 0; a transform needs at least one point"
    );
    a
}

/// Buffers shared by the transforms of one thread: rustfft's scratch and a
/// real transform's signal and half spectrum are only needed long enough,
/// never zeroed, so reusing them saves an allocation and a fill per
/// transform. Transforms needing more than this many values allocate their
/// own, so a thread never keeps a large buffer alive.
const KEPT_SCRATCH: usize = 1 << 16;

struct KeptBuffers {
    scratch: Vec<Complex64>,
    signal: Vec<f64>,
    spectrum: Vec<Complex64>,
}

thread_local! {
    static KEPT: RefCell<KeptBuffers> = const {
        RefCell::new(KeptBuffers { scratch: Vec::new(), signal: Vec::new(), spectrum: Vec::new() })
    };
}

/// The first `len` values of `buffer`, grown to that length if shorter.
fn prefix<T: Clone + Default>(buffer: &mut Vec<T>, len: usize) -> &mut [T] {
    if buffer.len() < len {
        buffer.resize(len, T::default());
    }
    &mut buffer[..len]
}

/// Calls `f` with a scratch buffer of `len` values (their contents are
/// arbitrary).
pub(crate) fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [Complex64]) -> R) -> R {
    if len > KEPT_SCRATCH {
        return f(&mut vec![Complex64::default(); len]);
    }
    KEPT.with(|kept| f(prefix(&mut kept.borrow_mut().scratch, len)))
}

/// Calls `f` with the buffers of a real transform, their contents arbitrary:
/// `real` signal values, `complex` half-spectrum values and `scratch`
/// values of scratch.
pub(crate) fn with_real_buffers<R>(
    real: usize,
    complex: usize,
    scratch: usize,
    f: impl FnOnce(&mut [f64], &mut [Complex64], &mut [Complex64]) -> R,
) -> R {
    if real.max(complex).max(scratch) > KEPT_SCRATCH {
        let zeros = |len| vec![Complex64::default(); len];
        return f(&mut vec![0.0; real], &mut zeros(complex), &mut zeros(scratch));
    }
    KEPT.with(|kept| {
        let kept = &mut *kept.borrow_mut();
        f(
            prefix(&mut kept.signal, real),
            prefix(&mut kept.spectrum, complex),
            prefix(&mut kept.scratch, scratch),
        )
    })
}

/// The lanes of `buffer`, `len` values each, transformed in place.
fn transform_in_place(buffer: &mut [Complex64], len: usize, direction: FftDirection) {
    if buffer.is_empty() {
        return;
    }
    let plan = complex_plan(len, direction);
    with_scratch(plan.get_inplace_scratch_len(), |scratch| {
        plan.process_with_scratch(buffer, scratch)
    });
}

/// The kernel of [`packed_dft`]: `scale` times the unnormalised DFT in
/// `direction` along `axis` of every lane of a packed complex array with
/// (unpacked) dimensions `dims`. All lanes are gathered into one buffer and
/// transformed in one call.
#[derive(Clone)]
struct PackedDft {
    dims: Shape,
    axis: usize,
    direction: FftDirection,
    scale: f64,
}

impl Kernel for PackedDft {
    fn name(&self) -> &'static str {
        "fft"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        // All lanes are gathered into one buffer, contiguous, transformed in
        // one call, and written back (lanes along another axis than the
        // last through tiled transposes, `fft_lanes.rs`).
        let numel = out.len() / 2;
        let (re, im) = inputs[0].split_at(numel);
        let (out_re, out_im) = out.split_at_mut(numel);
        let scale = self.scale;
        let lanes = LaneBlocks::new(&self.dims, self.axis);
        let mut buffer = lanes.gather(re, im);
        let len = self.dims[self.axis];
        match halves(&[numel / len, len], 1, numel) {
            // Half the lanes on each of two threads, each lane transformed
            // as alone.
            Some((_, _, cut)) => {
                let (first, second) = buffer.split_at_mut(cut);
                rayon::join(
                    || transform_in_place(first, len, self.direction),
                    || transform_in_place(second, len, self.direction),
                );
            }
            None => transform_in_place(&mut buffer, len, self.direction),
        }
        lanes.scatter(&buffer, scale, out_re, out_im);
    }
}

/// `scale` times the unnormalised DFT along `axis` of a packed `[2, ...]`
/// tensor, recorded.
pub(crate) fn packed_dft(packed: &Tensor, axis: usize, direction: FftDirection, scale: f64) -> Tensor {
    let kernel = PackedDft {
        dims: Shape::from(&packed.shape()[1..]),
        axis,
        direction,
        scale,
    };
    // (scale F)^H = scale conj(F): the same scale, the opposite direction.
    apply_op(&kernel, &[packed], packed.shape().clone(), move |c| {
        smallvec![Some(packed_dft(
            c.grad,
            axis,
            direction.opposite_direction(),
            scale
        ))]
    })
}

/// The transform of `z` along each of `axes` in turn; the inverse divides by
/// each axis' length. A real `z` (an imaginary part of constant zeros, as a
/// real tensor converts to) takes a real transform along the first axis.
fn transform(z: &Complex, axes: &[usize], direction: FftDirection) -> Complex {
    let Some((&first, rest)) = axes.split_first() else {
        return z.clone();
    };
    let scale = |axis: usize| match direction {
        FftDirection::Forward => 1.0,
        FftDirection::Inverse => 1.0 / z.shape()[axis] as f64,
    };
    let mut packed = if is_constant_zero(z.im()) {
        packed_real_dft(z.re(), first, direction, scale(first))
    } else {
        packed_dft(&z.pack(), first, direction, scale(first))
    };
    for &axis in rest {
        packed = packed_dft(&packed, axis, direction, scale(axis));
    }
    Complex::unpack(&packed)
}

/// Whether `t` is zero everywhere and needs no gradient, so that a transform
/// may treat it as absent.
fn is_constant_zero(t: &Tensor) -> bool {
    // A fold without early exit vectorizes; zeros are the case that matters.
    !t.is_tracked() && t.as_slice().iter().fold(true, |zero, &v| zero & (v == 0.0))
}

/// Every axis of `dims`, checked for transform `op`.
#[track_caller]
pub(crate) fn all_axes(dims: &[usize], op: &str) -> Vec<usize> {
    // A loop, not `map`: a closure would not pass on the caller's location.
    let mut axes = Vec::with_capacity(dims.len());
    for a in 0..dims.len() {
        axes.push(transform_axis(dims, a as isize, op));
    }
    axes
}

/// The discrete Fourier transform along the last axis,
/// `X_k = sum_j x_j e^{-2 pi i jk/n}` (unnormalised, as in NumPy). Accepts a
/// [`Complex`] or a real [`Tensor`].
///
/// ```
/// use jaxpurify_runtime::{fft, Tensor};
/// let f = fft(&Tensor::from([1.0, 2.0, 3.0, 4.0]));
/// assert_eq!(f.re().to_vec(), vec![10.0, -2.0, -2.0, -2.0]);
/// assert_eq!(f.im().to_vec(), vec![0.0, 2.0, 0.0, -2.0]);
/// ```
///
/// # Panics
/// On a scalar, or when the last axis has length 0.
#[track_caller]
pub fn fft(x: impl Into<Complex>) -> Complex {
    fft_axis(x, -1)
}

/// [`fft`] along `axis` (negative counts from the end).
///
/// ```
/// use jaxpurify_runtime::{fft_axis, Tensor};
/// let f = fft_axis(&Tensor::from([[1.0, 2.0], [3.0, 4.0]]), 0);
/// assert_eq!(f.re().to_vec(), vec![4.0, 6.0, -2.0, -2.0]);
/// ```
#[track_caller]
pub fn fft_axis(x: impl Into<Complex>, axis: isize) -> Complex {
    let z = x.into();
    let axis = transform_axis(z.shape(), axis, "fft");
    transform(&z, &[axis], FftDirection::Forward)
}

/// The inverse of [`fft`] along the last axis,
/// `x_j = (1/n) sum_k X_k e^{2 pi i jk/n}`.
///
/// ```
/// use jaxpurify_runtime::{fft, ifft, Tensor};
/// let x = Tensor::from([1.0, -2.0, 0.5]);
/// let back = ifft(fft(&x));
/// assert!(back.re().to_vec().iter().zip(x.as_slice()).all(|(a, b)| (a - b).abs() < 1e-15));
/// ```
///
/// # Panics
/// On a scalar, or when the last axis has length 0.
#[track_caller]
pub fn ifft(x: impl Into<Complex>) -> Complex {
    ifft_axis(x, -1)
}

/// [`ifft`] along `axis` (negative counts from the end).
///
/// ```
/// use jaxpurify_runtime::{Complex, ifft_axis};
/// let x = ifft_axis(Complex::new([[4.0, 6.0], [-2.0, -2.0]], 0.0), 0);
/// assert_eq!(x.re().to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
/// ```
#[track_caller]
pub fn ifft_axis(x: impl Into<Complex>, axis: isize) -> Complex {
    let z = x.into();
    let axis = transform_axis(z.shape(), axis, "ifft");
    transform(&z, &[axis], FftDirection::Inverse)
}

/// The n-dimensional DFT: [`fft`] along every axis.
///
/// ```
/// use jaxpurify_runtime::{fftn, Tensor};
/// // The DC bin of an n-d transform is the sum of all values.
/// let f = fftn(&Tensor::from([[1.0, 2.0], [3.0, 4.0]]));
/// assert_eq!(f.re().to_vec(), vec![10.0, -2.0, -4.0, 0.0]);
/// ```
///
/// # Panics
/// When an axis has length 0.
#[track_caller]
pub fn fftn(x: impl Into<Complex>) -> Complex {
    let z = x.into();
    transform(&z, &all_axes(z.shape(), "fftn"), FftDirection::Forward)
}

/// The inverse of [`fftn`]: [`ifft`] along every axis.
///
/// ```
/// use jaxpurify_runtime::{fftn, ifftn, Tensor};
/// let x = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
/// assert_eq!(ifftn(fftn(&x)).re().to_vec(), x.to_vec());
/// ```
///
/// # Panics
/// When an axis has length 0.
#[track_caller]
pub fn ifftn(x: impl Into<Complex>) -> Complex {
    let z = x.into();
    transform(&z, &all_axes(z.shape(), "ifftn"), FftDirection::Inverse)
}

/// Asserts that two value lists agree to `tolerance` (absolute), for the
/// tests of the FFT family.
#[cfg(test)]
#[track_caller]
pub(crate) fn assert_close(actual: &[f64], expected: &[f64], tolerance: f64) {
    assert_eq!(actual.len(), expected.len(), "lengths differ");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!((a - e).abs() <= tolerance, "element {i}: {a} vs {e}");
    }
}

/// Deterministic, irregular test values of a given shape.
#[cfg(test)]
pub(crate) fn test_signal(shape: &[usize], seed: f64) -> Tensor {
    let n: usize = shape.iter().product();
    let data = (0..n)
        .map(|i| (1.3 * i as f64 + seed).sin() + 0.4 * (0.7 * i as f64 * seed).cos())
        .collect();
    Tensor::from_vec(data, shape).expect("length matches")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_grad;
    use crate::{grad, jvp, vjp};
    use std::f64::consts::PI;

    #[test]
    fn transforms_of_known_signals() {
        // A delta at 0 has a flat spectrum; a constant c has all its weight
        // n c in bin 0; cos(2 pi k0 j / n) puts n/2 in bins k0 and n - k0.
        let delta = fft(Tensor::from([1.0, 0.0, 0.0, 0.0, 0.0]));
        assert_close(delta.re().as_slice(), &[1.0; 5], 1e-15);
        assert_close(delta.im().as_slice(), &[0.0; 5], 1e-15);
        let constant = fft(Tensor::full([6], 2.5));
        assert_close(constant.re().as_slice(), &[15.0, 0.0, 0.0, 0.0, 0.0, 0.0], 1e-14);
        let cosine = Tensor::from_vec(
            (0..8).map(|j| (2.0 * PI * 3.0 * j as f64 / 8.0).cos()).collect(),
            [8],
        )
        .unwrap();
        let f = fft(&cosine);
        assert_close(
            f.re().as_slice(),
            &[0.0, 0.0, 0.0, 4.0, 0.0, 4.0, 0.0, 0.0],
            1e-14,
        );
        assert_close(f.im().as_slice(), &[0.0; 8], 1e-14);
    }

    #[test]
    fn hand_derived_gradient_with_non_uniform_upstream() {
        // n = 4, w = [1, 2, 3, 4]. Re X_k = sum_j x_j cos(pi jk/2), so
        // d sum(w Re X)/dx_j = sum_k w_k cos(pi jk/2) = [10, -2, -2, -2].
        // Im X_k = -sum_j x_j sin(pi jk/2), so
        // d sum(w Im X)/dx_j = -sum_k w_k sin(pi jk/2) = [0, 2, 0, -2].
        let w = Tensor::from([1.0, 2.0, 3.0, 4.0]);
        let x = Tensor::from([0.3, -1.0, 2.0, 0.5]);
        let g_re = grad(|x: &Tensor| (fft(x).re() * &w).sum(), &x);
        let g_im = grad(|x: &Tensor| (fft(x).im() * &w).sum(), &x);
        assert_close(g_re.as_slice(), &[10.0, -2.0, -2.0, -2.0], 1e-14);
        assert_close(g_im.as_slice(), &[0.0, 2.0, 0.0, -2.0], 1e-14);
    }

    #[test]
    fn inverse_undoes_forward_for_even_odd_and_n_d() {
        for shape in [&[8][..], &[7], &[3, 4], &[2, 3, 5]] {
            let z = Complex::new(test_signal(shape, 0.2), test_signal(shape, 1.7));
            let (re, im) = (z.re().as_slice(), z.im().as_slice());
            for axis in 0..shape.len() as isize {
                let back = ifft_axis(fft_axis(&z, axis), axis);
                assert_close(back.re().as_slice(), re, 1e-14);
                assert_close(back.im().as_slice(), im, 1e-14);
            }
            let back = ifftn(fftn(&z));
            assert_close(back.re().as_slice(), re, 1e-14);
            assert_close(back.im().as_slice(), im, 1e-14);
        }
    }

    #[test]
    fn fftn_equals_transforms_along_each_axis() {
        let x = test_signal(&[3, 4], 0.9);
        let separate = fft_axis(fft_axis(&x, 0), 1);
        let joint = fftn(&x);
        assert_close(joint.re().as_slice(), separate.re().as_slice(), 1e-13);
        assert_close(joint.im().as_slice(), separate.im().as_slice(), 1e-13);
    }

    #[test]
    fn parseval_energy_is_preserved() {
        // sum |x|^2 = (1/n) sum |X|^2
        for n in [6, 9] {
            let z = Complex::new(test_signal(&[n], 0.5), test_signal(&[n], 2.5));
            let energy = z.abs2().sum().item();
            let spectral = fft(&z).abs2().sum().item() / n as f64;
            assert!((energy - spectral).abs() < 1e-12, "{energy} vs {spectral}");
        }
    }

    #[test]
    fn every_complex_transform_passes_the_gradient_check() {
        for shape in [&[3, 4][..], &[2, 5]] {
            let inputs = [test_signal(shape, 0.1), test_signal(shape, 1.2)];
            for (name, t) in TRANSFORMS {
                check_grad(|x| t(Complex::new(&x[0], &x[1])).pack(), &inputs).assert_ok_for(name);
            }
        }
    }

    #[test]
    fn second_order_through_the_power_spectrum() {
        // d/dx of grad_x sum(w |fft(x)|^2), a Hessian of a transform composite.
        let w = test_signal(&[6], 3.0);
        check_grad(
            |x| grad(|x: &Tensor| (fft(x).abs2() * &w).sum(), &x[0]),
            &[test_signal(&[6], 0.4)],
        )
        .assert_ok_for("gradient of the weighted power spectrum");
        check_grad(
            |x| grad(|x: &Tensor| (ifft(x).abs() * &w).sum(), &x[0]),
            &[test_signal(&[6], 0.4)],
        )
        .assert_ok_for("gradient of the weighted inverse modulus");
    }

    #[test]
    fn forward_mode_through_a_transform_is_the_transform() {
        // fft is linear, so its jvp along v is fft(v); jvp differentiates the
        // recorded backward pass, which is itself a transform.
        let (x, v) = (test_signal(&[2, 5], 0.3), test_signal(&[2, 5], 1.9));
        let (_, jv) = jvp(|x: &Tensor| fft(x).pack(), &x, &v);
        assert_close(jv.as_slice(), fft(&v).pack().as_slice(), 1e-13);
    }

    #[test]
    fn results_do_not_depend_on_threads() {
        let inputs: Vec<Tensor> = (0..8).map(|k| test_signal(&[4, 12 + k % 3], k as f64)).collect();
        let sequential: Vec<Tensor> = inputs.iter().map(|x| fftn(x).pack()).collect();
        let parallel: Vec<Tensor> = std::thread::scope(|s| {
            let handles: Vec<_> = inputs.iter().map(|x| s.spawn(move || fftn(x).pack())).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(sequential, parallel);
    }

    type Transform = fn(Complex) -> Complex;
    const TRANSFORMS: [(&str, Transform); 6] = [
        ("fft", |z| fft(z)),
        ("ifft", |z| ifft(z)),
        ("fft axis 0", |z| fft_axis(z, 0)),
        ("ifft axis 0", |z| ifft_axis(z, 0)),
        ("fftn", |z| fftn(z)),
        ("ifftn", |z| ifftn(z)),
    ];

    #[test]
    fn a_real_signal_takes_the_real_transform_with_the_same_spectrum() {
        for shape in [&[1][..], &[2], &[7], &[8], &[3, 4], &[2, 3, 5]] {
            let x = test_signal(shape, 0.6);
            for (name, t) in TRANSFORMS {
                // A tracked imaginary part, zero as well, keeps the complex
                // transform.
                let (complex_path, _) = vjp(|im: &Tensor| t(Complex::new(&x, im)).pack(), &x.zeros_like());
                let real_path = t(Complex::from(&x)).pack();
                assert_eq!(real_path.shape(), complex_path.shape(), "{name} {shape:?}");
                assert_close(real_path.as_slice(), complex_path.as_slice(), 1e-13);
            }
        }
    }

    #[test]
    fn real_signals_pass_the_gradient_check_to_second_order() {
        for shape in [&[3, 4][..], &[2, 5]] {
            let inputs = [test_signal(shape, 0.1)];
            for (name, t) in TRANSFORMS {
                check_grad(|x| t(Complex::from(&x[0])).pack(), &inputs).assert_ok_for(name);
                let w = test_signal(shape, 2.0);
                check_grad(
                    |x| grad(|x: &Tensor| (t(Complex::from(x)).abs2() * &w).sum(), &x[0]),
                    &inputs,
                )
                .assert_ok_for(name);
            }
        }
    }

    #[test]
    fn reused_scratch_never_changes_a_result() {
        // The thread's scratch holds whatever the previous transform left;
        // a transform must give the same bits before and after others,
        // including one too large for the kept scratch.
        let x = test_signal(&[2, 12], 0.7);
        let first = fft(&x).pack();
        let _ = fft(test_signal(&[1000], 1.1));
        // A real signal too long for the kept buffers takes buffers of its
        // own and still gives the complex transform's spectrum.
        let long = test_signal(&[70_001], 2.3);
        let real_path = ifft(&long).pack();
        let (complex_path, _) = vjp(
            |im: &Tensor| ifft(Complex::new(&long, im)).pack(),
            &long.zeros_like(),
        );
        assert_close(real_path.as_slice(), complex_path.as_slice(), 1e-12);
        assert_eq!(fft(&x).pack(), first);
    }

    #[test]
    fn a_scalar_is_its_own_n_d_transform() {
        let z = Complex::new(2.0, -1.0);
        assert_eq!(fftn(&z), z);
    }

    #[test]
    #[should_panic(expected = "fft: axis -1 of shape [2, 0] has length 0")]
    fn empty_axes_name_the_op() {
        let _ = fft(Tensor::zeros([2, 0]));
    }

    #[test]
    #[should_panic(expected = "ifft: axis 2 is out of range for a tensor with 2 dimensions")]
    fn axes_out_of_range_name_the_op() {
        let _ = ifft_axis(Tensor::zeros([2, 3]), 2);
    }

    #[test]
    fn compiled_transforms_and_their_derivatives_match_at_another_point() {
        // Complex and real input, along each axis and over both; abs2 makes
        // the second derivative a transform of the values again.
        let w = test_signal(&[2, 5], 2.0);
        let loss = |p: &(Tensor, Tensor)| {
            let z = Complex::new(&p.0, &p.1);
            let spectra = [
                fft(&z),
                ifft(&p.0),
                fft_axis(&p.1, 0),
                ifft_axis(&z, 0),
                fftn(&z),
                ifftn(&p.0),
            ];
            spectra.iter().map(|s| (s.abs2() * &w).sum()).sum::<Tensor>()
        };
        let direction = (test_signal(&[2, 5], 0.3), test_signal(&[2, 5], 0.9));
        let f = |p: &(Tensor, Tensor)| {
            let (value, gradient) = crate::value_and_grad(loss, p);
            (value, gradient, crate::hvp(loss, p, &direction))
        };
        let at = (test_signal(&[2, 5], 0.1), test_signal(&[2, 5], 0.5));
        let point = (test_signal(&[2, 5], 1.7), test_signal(&[2, 5], -0.4));
        crate::testing::assert_compiles_exactly(f, &at, &[point]);
    }
}
