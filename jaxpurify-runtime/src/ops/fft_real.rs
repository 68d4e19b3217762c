//! Transforms of real signals: `rfft`/`irfft` (the half spectrum of a real
//! signal and back) and their n-d forms.
//!
//! A real signal of length `n` has a Hermitian spectrum, `X_{n-k} =
//! conj(X_k)`, so only the `m = n/2 + 1` bins `0..m` are kept. Bin 0 and, for
//! even `n`, bin `n/2` (the Nyquist bin) are their own mirror images; the
//! other ("inner") bins each stand for two bins of the full spectrum. That
//! asymmetry is what the weights in the derivative rules below account for.
//!
//! Write `c2r(H)` for the unnormalised inverse of a half spectrum, the real
//! signal `sum_{k<n} H_k e^{2 pi i jk/n}` over the Hermitian extension of
//! `H`: `c2r(H)_j = Re H_0 + 2 sum_{inner k} Re(H_k e^{2 pi i jk/n})
//! [+ Re H_{n/2} (-1)^j]`, which ignores `Im H_0` and `Im H_{n/2}`.

use crate::autodiff::graph::apply_op;
use crate::compile::kernel::Kernel;
use crate::ops::complex::Complex;
use crate::ops::fft::{
    Lanes, all_axes, packed_dft, real_forward_plan, real_inverse_plan, transform_axis, with_real_buffers,
};
use crate::ops::fft_lanes::{axis_last, halves, lanes_are_contiguous, with_axis_last};
use crate::shape::{Shape, normalize_axis};
use crate::tensor::Tensor;
use rustfft::FftDirection;
use rustfft::num_complex::Complex64;
use smallvec::smallvec;

/// Weights per half-spectrum bin for a packed `[2, ...]` tensor with `ndim`
/// unpacked dimensions, varying along `axis` only: real parts get `edge` at
/// bin 0 and the Nyquist bin and `inner` elsewhere; imaginary parts get 0 at
/// those two bins (no transform of a real signal depends on them) and
/// `inner` elsewhere.
fn bin_weights(n: usize, axis: usize, ndim: usize, edge: f64, inner: f64) -> Tensor {
    let m = n / 2 + 1;
    let is_edge = |k: usize| k == 0 || (n % 2 == 0 && k == n / 2);
    let re = (0..m).map(|k| if is_edge(k) { edge } else { inner });
    let im = (0..m).map(|k| if is_edge(k) { 0.0 } else { inner });
    let mut shape = Shape::from(2);
    for a in 0..ndim {
        shape.push(if a == axis { m } else { 1 });
    }
    Tensor::from_parts(re.chain(im).collect(), shape)
}

/// The shape of a packed `[2, ...]` tensor with `dims`, whose `axis` has
/// length `len`.
fn packed_shape(dims: &[usize], axis: usize, len: usize) -> Shape {
    let mut shape = Shape::from(2);
    for (a, &d) in dims.iter().enumerate() {
        shape.push(if a == axis { len } else { d });
    }
    shape
}

/// Calls `visit(lane, half_spectrum)` for every lane along `axis` of a real
/// array, reusing one plan and one set of buffers for all lanes.
pub(crate) fn for_each_half_spectrum(
    x: &[f64],
    dims: &[usize],
    axis: usize,
    mut visit: impl FnMut(usize, &[Complex64]),
) {
    let lanes = Lanes::new(dims, axis);
    if lanes.count == 0 {
        return;
    }
    let plan = real_forward_plan(lanes.len);
    let (n, m) = (lanes.len, lanes.len / 2 + 1);
    with_real_buffers(n, m, plan.get_scratch_len(), |signal, spectrum, scratch| {
        for lane in 0..lanes.count {
            lanes.read(x, lane, signal);
            plan.process_with_scratch(signal, spectrum, scratch)
                .expect("buffers are sized by the plan");
            visit(lane, spectrum);
        }
    });
}

/// The unnormalised half spectrum along `axis` of a real tensor, packed as
/// `[2, ...]` with `n/2 + 1` bins on `axis`, recorded.
fn packed_rdft(x: &Tensor, axis: usize) -> Tensor {
    let n = x.shape()[axis];
    let kernel = HalfSpectrum {
        dims: x.shape().clone(),
        axis,
    };
    let shape = packed_shape(x.shape(), axis, n / 2 + 1);
    // X_k = sum_j x_j e^{-2 pi i jk/n} for k < m, so for a gradient G on the
    // kept bins, dL/dx_j = Re sum_{k<m} G_k e^{2 pi i jk/n}. Comparing with
    // c2r above, which counts each inner bin twice: dL/dx = c2r(W G) with
    // W = 1 at the edge bins and 1/2 at inner ones (Im G at the edges is
    // dropped either way).
    let halve_inner_bins = bin_weights(n, axis, x.ndim(), 1.0, 0.5);
    apply_op(&kernel, &[x], shape, move |c| {
        smallvec![Some(packed_irdft(&(c.grad * &halve_inner_bins), axis, n, 1.0))]
    })
}

/// The kernel of [`packed_rdft`] for a real input of shape `dims`.
#[derive(Clone)]
struct HalfSpectrum {
    dims: Shape,
    axis: usize,
}

impl Kernel for HalfSpectrum {
    fn name(&self) -> &'static str {
        "rfft"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let n = self.dims[self.axis];
        if !lanes_are_contiguous(&self.dims, self.axis) {
            let moved = HalfSpectrum {
                dims: axis_last(&self.dims, self.axis),
                axis: self.dims.len() - 1,
            };
            let dims_out = &packed_shape(&self.dims, self.axis, n / 2 + 1)[1..];
            let run = |input: &[f64], out: &mut [f64]| moved.run(&[input], out);
            return with_axis_last(&self.dims, dims_out, self.axis, [1, 2], inputs[0], out, run);
        }
        let out_lanes = Lanes::new(&packed_shape(&self.dims, self.axis, n / 2 + 1)[1..], self.axis);
        let numel = out.len() / 2;
        for_each_half_spectrum(inputs[0], &self.dims, self.axis, |lane, spectrum| {
            for (o, v) in out_lanes.offsets(lane).zip(spectrum) {
                out[o] = v.re;
                out[numel + o] = v.im;
            }
        });
    }
}

/// `scale * c2r` along `axis` of a packed half spectrum, giving `n` real
/// points on `axis`, recorded.
fn packed_irdft(packed: &Tensor, axis: usize, n: usize, scale: f64) -> Tensor {
    let dims = Shape::from(&packed.shape()[1..]);
    let out_shape = Shape::from(&packed_shape(&dims, axis, n)[1..]);
    // x_j = scale c2r(H)_j. A term c Re(H_k e^{i t}) has gradient c e^{-i t}
    // in H_k, so for an upstream g, dL/dH_k = scale c_k sum_j g_j
    // e^{-2 pi i jk/n} = scale c_k rfft(g)_k, with c = 1 at the edge bins and
    // 2 at inner ones, and no gradient for the ignored Im H at the edges.
    let double_inner_bins = bin_weights(n, axis, dims.len(), scale, 2.0 * scale);
    let kernel = HalfSpectrumInverse { dims, axis, n, scale };
    apply_op(&kernel, &[packed], out_shape, move |c| {
        smallvec![Some(packed_rdft(c.grad, axis) * &double_inner_bins)]
    })
}

/// The kernel of [`packed_irdft`] for a packed input with unpacked
/// dimensions `dims`.
#[derive(Clone)]
struct HalfSpectrumInverse {
    dims: Shape,
    axis: usize,
    n: usize,
    scale: f64,
}

impl Kernel for HalfSpectrumInverse {
    fn name(&self) -> &'static str {
        "irfft"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let (n, scale) = (self.n, self.scale);
        if !lanes_are_contiguous(&self.dims, self.axis) {
            let moved = HalfSpectrumInverse {
                dims: axis_last(&self.dims, self.axis),
                axis: self.dims.len() - 1,
                ..self.clone()
            };
            let dims_out = &packed_shape(&self.dims, self.axis, n)[1..];
            let run = |input: &[f64], out: &mut [f64]| moved.run(&[input], out);
            return with_axis_last(&self.dims, dims_out, self.axis, [2, 1], inputs[0], out, run);
        }
        let (re, im) = inputs[0].split_at(inputs[0].len() / 2);
        let in_lanes = Lanes::new(&self.dims, self.axis);
        let out_lanes = Lanes::new(&packed_shape(&self.dims, self.axis, n)[1..], self.axis);
        if in_lanes.count == 0 {
            out.fill(0.0);
            return;
        }
        let plan = real_inverse_plan(n);
        with_real_buffers(
            n,
            n / 2 + 1,
            plan.get_scratch_len(),
            |signal, spectrum, scratch| {
                for lane in 0..in_lanes.count {
                    for (s, o) in spectrum.iter_mut().zip(in_lanes.offsets(lane)) {
                        *s = Complex64::new(re[o], im[o]);
                    }
                    // c2r ignores these parts; realfft only asks that they be zero.
                    spectrum[0].im = 0.0;
                    if n % 2 == 0 {
                        spectrum[n / 2].im = 0.0;
                    }
                    plan.process_with_scratch(spectrum, signal, scratch)
                        .expect("buffers are sized by the plan and the ignored parts are zero");
                    for (o, v) in out_lanes.offsets(lane).zip(signal.iter()) {
                        out[o] = v * scale;
                    }
                }
            },
        );
    }
}

/// `scale` times the full `n`-bin spectrum in `direction` along `axis` of a
/// real tensor, packed as `[2, ...]`, recorded: what [`packed_dft`] gives for
/// a zero imaginary part, from a real transform (about half the work) whose
/// half spectrum is mirrored, `X_{n-k} = conj(X_k)`. The inverse direction's
/// spectrum of a real signal is the conjugate of the forward one.
pub(crate) fn packed_real_dft(x: &Tensor, axis: usize, direction: FftDirection, scale: f64) -> Tensor {
    let kernel = RealDft {
        dims: x.shape().clone(),
        axis,
        direction,
        scale,
        adjoint: false,
    };
    let shape = packed_shape(x.shape(), axis, x.shape()[axis]);
    apply_op(&kernel, &[x], shape, move |c| {
        smallvec![Some(packed_real_dft_adjoint(c.grad, axis, direction, scale))]
    })
}

/// The kernel of [`packed_real_dft`] for a real input of shape `dims`, and,
/// when `adjoint`, of [`packed_real_dft_adjoint`] for a packed input with
/// unpacked dimensions `dims`.
#[derive(Clone)]
struct RealDft {
    dims: Shape,
    axis: usize,
    direction: FftDirection,
    scale: f64,
    adjoint: bool,
}

impl Kernel for RealDft {
    fn name(&self) -> &'static str {
        if self.adjoint {
            "real_fft_adjoint"
        } else {
            "real_fft"
        }
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        if !lanes_are_contiguous(&self.dims, self.axis) {
            let moved = RealDft {
                dims: axis_last(&self.dims, self.axis),
                axis: self.dims.len() - 1,
                ..self.clone()
            };
            let parts = if self.adjoint { [2, 1] } else { [1, 2] };
            let run = |input: &[f64], out: &mut [f64]| moved.run(&[input], out);
            return with_axis_last(&self.dims, &self.dims, self.axis, parts, inputs[0], out, run);
        }
        match self.adjoint {
            false => self.forward(inputs[0], out),
            true => self.backward(inputs[0], out),
        }
    }
}

impl RealDft {
    /// The transform along the last axis (see `run`), each lane written in
    /// place.
    fn forward(&self, x: &[f64], out: &mut [f64]) {
        let (re, im) = out.split_at_mut(out.len() / 2);
        self.forward_lanes(x, re, im);
    }

    /// [`forward`](RealDft::forward) into the two parts of the output,
    /// half the lanes on each of two threads for a long array.
    fn forward_lanes(&self, x: &[f64], re: &mut [f64], im: &mut [f64]) {
        let n = self.dims[self.axis];
        if let Some((first, second, cut)) = halves(&self.dims, self.axis, x.len()) {
            let ((x1, x2), (re1, re2), (im1, im2)) =
                (x.split_at(cut), re.split_at_mut(cut), im.split_at_mut(cut));
            let part = |dims| RealDft {
                dims,
                axis: 1,
                ..self.clone()
            };
            let (a, b) = (part(first), part(second));
            rayon::join(|| a.forward_lanes(x1, re1, im1), || b.forward_lanes(x2, re2, im2));
            return;
        }
        let scale = self.scale;
        let im_scale = match self.direction {
            FftDirection::Forward => scale,
            FftDirection::Inverse => -scale,
        };
        for_each_half_spectrum(x, &self.dims, self.axis, |lane, half| {
            let (lane_re, lane_im) = (
                &mut re[lane * n..(lane + 1) * n],
                &mut im[lane * n..(lane + 1) * n],
            );
            let m = half.len();
            let (lower_re, upper_re) = lane_re.split_at_mut(m);
            let (lower_im, upper_im) = lane_im.split_at_mut(m);
            for ((r, i), v) in lower_re.iter_mut().zip(lower_im.iter_mut()).zip(half) {
                (*r, *i) = (v.re * scale, v.im * im_scale);
            }
            // Bins m..n mirror bins n-m..1.
            for (r, mirror) in upper_re.iter_mut().zip(lower_re[1..n + 1 - m].iter().rev()) {
                *r = *mirror;
            }
            for (i, mirror) in upper_im.iter_mut().zip(lower_im[1..n + 1 - m].iter().rev()) {
                *i = -*mirror;
            }
        });
    }
}

/// The adjoint of [`packed_real_dft`], real-valued: `scale Re(conj(F) G)`
/// along `axis` of a packed `[2, ...]` tensor `G`, with `F` the DFT in
/// `direction`.
///
/// With `y = conj(F) G` (the transform in the opposite direction) and the
/// Hermitian part `H_k = (G_k + conj(G_{n-k})) / 2` of `G`, the transform of
/// `H` in that direction is `(y + conj(y)) / 2 = Re y`, and a Hermitian
/// spectrum's transform is the real `c2r` of its first `n/2 + 1` bins (the
/// inverse direction), or of their conjugates (the forward direction).
fn packed_real_dft_adjoint(packed: &Tensor, axis: usize, direction: FftDirection, scale: f64) -> Tensor {
    let dims = Shape::from(&packed.shape()[1..]);
    let kernel = RealDft {
        dims: dims.clone(),
        axis,
        direction,
        scale,
        adjoint: true,
    };
    apply_op(&kernel, &[packed], dims, move |c| {
        smallvec![Some(packed_real_dft(c.grad, axis, direction, scale))]
    })
}

impl RealDft {
    /// The adjoint along the last axis (see `run`), each lane read and
    /// written in place.
    fn backward(&self, packed: &[f64], out: &mut [f64]) {
        let (re, im) = packed.split_at(packed.len() / 2);
        self.backward_lanes(re, im, out);
    }

    /// [`backward`](RealDft::backward) from the two parts of the input,
    /// half the lanes on each of two threads for a long array.
    fn backward_lanes(&self, re: &[f64], im: &[f64], out: &mut [f64]) {
        let (n, scale) = (self.dims[self.axis], self.scale);
        if let Some((first, second, cut)) = halves(&self.dims, self.axis, out.len()) {
            let ((re1, re2), (im1, im2), (out1, out2)) =
                (re.split_at(cut), im.split_at(cut), out.split_at_mut(cut));
            let part = |dims| RealDft {
                dims,
                axis: 1,
                ..self.clone()
            };
            let (a, b) = (part(first), part(second));
            rayon::join(
                || a.backward_lanes(re1, im1, out1),
                || b.backward_lanes(re2, im2, out2),
            );
            return;
        }
        let conjugate = match self.direction {
            FftDirection::Forward => 0.5,
            FftDirection::Inverse => -0.5,
        };
        if out.is_empty() {
            return;
        }
        let plan = real_inverse_plan(n);
        with_real_buffers(n, n / 2 + 1, plan.get_scratch_len(), |_, half, scratch| {
            for (lane, lane_out) in out.chunks_exact_mut(n).enumerate() {
                let (g_re, g_im) = (&re[lane * n..(lane + 1) * n], &im[lane * n..(lane + 1) * n]);
                // Bin 0 pairs with itself, and so does the Nyquist bin: their
                // Hermitian parts are real, as c2r requires.
                half[0] = Complex64::new(g_re[0], 0.0);
                let m = half.len();
                // Bins 1..m pair with bins n-1..n-m+1.
                let lower = g_re[1..m].iter().zip(&g_im[1..m]);
                let upper = g_re[n + 1 - m..].iter().rev().zip(g_im[n + 1 - m..].iter().rev());
                for (h, ((r, i), (mirror_r, mirror_i))) in half[1..].iter_mut().zip(lower.zip(upper)) {
                    *h = Complex64::new(0.5 * (r + mirror_r), conjugate * (i - mirror_i));
                }
                plan.process_with_scratch(half, lane_out, scratch)
                    .expect("buffers are sized by the plan and the edge bins are real");
                lane_out.iter_mut().for_each(|v| *v *= scale);
            }
        });
    }
}

/// Checks that `axis` of `dims` holds the `n/2 + 1` bins of a real signal of
/// length `n`.
#[track_caller]
fn check_half_spectrum(dims: &[usize], axis: isize, n: usize, op: &str) -> usize {
    let a = normalize_axis(axis, dims.len(), op);
    assert!(
        n > 0 && dims[a] == n / 2 + 1,
        "{op}: {n} output points need {} frequency bins along axis {axis}, got shape {dims:?}",
        n / 2 + 1
    );
    a
}

/// The half spectrum of a real signal along the last axis: bins `0..=n/2` of
/// [`fft`](crate::fft), as NumPy's `rfft`.
///
/// ```
/// use jaxpurify_runtime::{rfft, Tensor};
/// let f = rfft(&Tensor::from([1.0, 2.0, 3.0, 4.0]));
/// assert_eq!(f.re().to_vec(), vec![10.0, -2.0, -2.0]);
/// assert_eq!(f.im().to_vec(), vec![0.0, 2.0, 0.0]);
/// ```
///
/// # Panics
/// On a scalar, or when the last axis has length 0.
#[track_caller]
pub fn rfft(x: &Tensor) -> Complex {
    rfft_axis(x, -1)
}

/// [`rfft`] along `axis` (negative counts from the end).
///
/// ```
/// use jaxpurify_runtime::{rfft_axis, Tensor};
/// assert_eq!(rfft_axis(&Tensor::zeros([4, 3]), 0).shape(), &[3, 3]);
/// ```
#[track_caller]
pub fn rfft_axis(x: &Tensor, axis: isize) -> Complex {
    let axis = transform_axis(x.shape(), axis, "rfft");
    Complex::unpack(&packed_rdft(x, axis))
}

/// The real signal of length `n` whose [`rfft`] is `x`, along the last axis,
/// as NumPy's `irfft(x, n)`. The last axis must hold exactly `n/2 + 1` bins;
/// the imaginary parts of bin 0 and (for even `n`) bin `n/2` are ignored and
/// get no gradient.
///
/// ```
/// use jaxpurify_runtime::{irfft, rfft, Tensor};
/// let x = Tensor::from([1.0, 2.0, 3.0, 4.0, 5.0]);
/// let back = irfft(rfft(&x), 5);
/// assert!(back.as_slice().iter().zip(x.as_slice()).all(|(a, b)| (a - b).abs() < 1e-14));
/// ```
///
/// # Panics
/// On a scalar, when `n` is 0, or when the last axis does not hold `n/2 + 1`
/// bins.
#[track_caller]
pub fn irfft(x: impl Into<Complex>, n: usize) -> Tensor {
    irfft_axis(x, n, -1)
}

/// [`irfft`] along `axis` (negative counts from the end).
///
/// ```
/// use jaxpurify_runtime::{irfft_axis, Complex, Tensor};
/// let x = irfft_axis(Complex::new(Tensor::ones([2, 3]), 0.0), 3, 0);
/// assert_eq!(x.shape(), &[3, 3]);
/// ```
#[track_caller]
pub fn irfft_axis(x: impl Into<Complex>, n: usize, axis: isize) -> Tensor {
    let z = x.into();
    let axis = check_half_spectrum(z.shape(), axis, n, "irfft");
    packed_irdft(&z.pack(), axis, n, 1.0 / n as f64)
}

/// The n-dimensional transform of a real tensor: [`rfft`] along the last
/// axis, then [`fft`](crate::fft) along the others (NumPy's `rfftn`).
///
/// ```
/// use jaxpurify_runtime::{rfftn, Tensor};
/// let f = rfftn(&Tensor::from([[1.0, 2.0], [3.0, 4.0]]));
/// assert_eq!(f.re().to_vec(), vec![10.0, -2.0, -4.0, 0.0]);
/// ```
///
/// # Panics
/// On a scalar, or when an axis has length 0.
#[track_caller]
pub fn rfftn(x: &Tensor) -> Complex {
    let axes = all_axes(x.shape(), "rfftn");
    let last = transform_axis(x.shape(), -1, "rfftn");
    let mut packed = packed_rdft(x, last);
    for &axis in &axes[..last] {
        packed = packed_dft(&packed, axis, FftDirection::Forward, 1.0);
    }
    Complex::unpack(&packed)
}

/// The inverse of [`rfftn`]: [`ifft`](crate::ifft) along every axis but the
/// last, then [`irfft`] with `n` points along the last.
///
/// ```
/// use jaxpurify_runtime::{irfftn, rfftn, Tensor};
/// let x = Tensor::from([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
/// let back = irfftn(rfftn(&x), 3);
/// assert!(back.as_slice().iter().zip(x.as_slice()).all(|(a, b)| (a - b).abs() < 1e-14));
/// ```
///
/// # Panics
/// On a scalar, when an axis has length 0, or when the last axis does not
/// hold `n/2 + 1` bins.
#[track_caller]
pub fn irfftn(x: impl Into<Complex>, n: usize) -> Tensor {
    let z = x.into();
    let axes = all_axes(z.shape(), "irfftn");
    let last = check_half_spectrum(z.shape(), -1, n, "irfftn");
    let mut packed = z.pack();
    for &axis in &axes[..last] {
        let scale = 1.0 / z.shape()[axis] as f64;
        packed = packed_dft(&packed, axis, FftDirection::Inverse, scale);
    }
    packed_irdft(&packed, last, n, 1.0 / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::fft::{assert_close, test_signal};
    use crate::testing::check_grad;
    use crate::{fft_axis, fftn, grad, hartley, hartley_axis};

    #[test]
    fn half_spectra_are_the_first_bins_of_full_ones() {
        type Pair = fn(&Tensor, isize) -> (Complex, Complex);
        let one_axis: Pair = |x, axis| (rfft_axis(x, axis), fft_axis(x, axis));
        let all_axes: Pair = |x, _| (rfftn(x), fftn(x));
        let cases = [
            (&[8][..], 0, one_axis),
            (&[7][..], 0, one_axis),
            (&[5, 3][..], 0, one_axis),
            (&[2, 6][..], 1, one_axis),
            (&[3, 4][..], 1, all_axes),
            (&[2, 3, 5][..], 2, all_axes),
        ];
        for (shape, axis, transforms) in cases {
            let x = test_signal(shape, 0.6);
            let (half, full) = transforms(&x, axis as isize);
            let m = shape[axis] / 2 + 1;
            let lanes = Lanes::new(shape, axis);
            let half_lanes = Lanes::new(half.shape(), axis);
            for lane in 0..lanes.count {
                for (h, f) in half_lanes.offsets(lane).zip(lanes.offsets(lane).take(m)) {
                    assert!((half.re().as_slice()[h] - full.re().as_slice()[f]).abs() < 1e-13);
                    assert!((half.im().as_slice()[h] - full.im().as_slice()[f]).abs() < 1e-13);
                }
            }
        }
    }

    #[test]
    fn inverse_undoes_forward_for_even_odd_and_axes() {
        for (shape, axis) in [(&[8][..], -1), (&[7][..], -1), (&[6, 3][..], 0), (&[3, 5][..], 1)] {
            let x = test_signal(shape, 1.1);
            let n = shape[normalize_axis(axis, shape.len(), "test")];
            let back = irfft_axis(rfft_axis(&x, axis), n, axis);
            assert_close(back.as_slice(), x.as_slice(), 1e-14);
        }
        for shape in [&[3, 4][..], &[2, 3, 5], &[4, 1]] {
            let x = test_signal(shape, 0.3);
            let back = irfftn(rfftn(&x), shape[shape.len() - 1]);
            assert_close(back.as_slice(), x.as_slice(), 1e-14);
        }
    }

    #[test]
    fn hand_derived_gradients_with_non_uniform_upstream() {
        // L = sum(w irfft(H, 4)), w = [1, 2, 3, 4], rfft(w) = [10, -2 + 2i, -2]:
        // dL/dH_k = c_k rfft(w)_k / 4 with c = [1, 2, 1], so
        // d/d Re H = [2.5, -1, -0.5] and d/d Im H = [0, 1, 0].
        let w = Tensor::from([1.0, 2.0, 3.0, 4.0]);
        let (g_re, g_im) = grad(
            |h: &(Tensor, Tensor)| (irfft(Complex::new(&h.0, &h.1), 4) * &w).sum(),
            &(Tensor::from([0.5, 1.0, -2.0]), Tensor::from([0.3, 0.7, 0.1])),
        );
        assert_close(g_re.as_slice(), &[2.5, -1.0, -0.5], 1e-15);
        assert_close(g_im.as_slice(), &[0.0, 1.0, 0.0], 1e-15);
        // L = sum(v Re rfft(x) + u Im rfft(x)), n = 4, v = [1, 2, 3],
        // u = [7, 5, 9]: dL/dx_j = sum_k v_k cos(pi jk/2) - u_k sin(pi jk/2)
        // = [6, -7, 2, 3]; u_0 and u_2 multiply sin(0) and sin(pi j) = 0.
        let (v, u) = (Tensor::from([1.0, 2.0, 3.0]), Tensor::from([7.0, 5.0, 9.0]));
        let g = grad(
            |x: &Tensor| {
                let f = rfft(x);
                (f.re() * &v + f.im() * &u).sum()
            },
            &Tensor::from([0.2, -0.4, 1.5, 0.9]),
        );
        assert_close(g.as_slice(), &[6.0, -7.0, 2.0, 3.0], 1e-14);
    }

    #[test]
    fn every_real_transform_passes_the_gradient_check() {
        let signal = |shape: &[usize]| vec![test_signal(shape, 0.8)];
        // Spectra with non-zero imaginary parts at the edge bins, which the
        // inverse ignores: their gradient must be zero.
        let spectrum = |shape: &[usize]| vec![test_signal(shape, 0.4), test_signal(shape, 2.2)];
        type Case = (&'static str, Vec<Tensor>, Box<dyn Fn(&[Tensor]) -> Tensor>);
        let cases: Vec<Case> = vec![
            ("rfft even", signal(&[6]), Box::new(|x| rfft(&x[0]).pack())),
            ("rfft odd", signal(&[7]), Box::new(|x| rfft(&x[0]).pack())),
            (
                "rfft axis 0",
                signal(&[5, 2]),
                Box::new(|x| rfft_axis(&x[0], 0).pack()),
            ),
            ("rfftn", signal(&[3, 4]), Box::new(|x| rfftn(&x[0]).pack())),
            (
                "irfft even",
                spectrum(&[4]),
                Box::new(|x| irfft(Complex::new(&x[0], &x[1]), 6)),
            ),
            (
                "irfft odd",
                spectrum(&[4]),
                Box::new(|x| irfft(Complex::new(&x[0], &x[1]), 7)),
            ),
            (
                "irfft axis 0",
                spectrum(&[3, 2]),
                Box::new(|x| irfft_axis(Complex::new(&x[0], &x[1]), 5, 0)),
            ),
            (
                "irfftn even",
                spectrum(&[3, 3]),
                Box::new(|x| irfftn(Complex::new(&x[0], &x[1]), 4)),
            ),
            (
                "irfftn odd",
                spectrum(&[2, 3]),
                Box::new(|x| irfftn(Complex::new(&x[0], &x[1]), 5)),
            ),
            ("hartley even", signal(&[8]), Box::new(|x| hartley(&x[0]))),
            ("hartley odd", signal(&[5]), Box::new(|x| hartley(&x[0]))),
            (
                "hartley axis 0",
                signal(&[3, 4]),
                Box::new(|x| hartley_axis(&x[0], 0)),
            ),
        ];
        for (name, inputs, f) in cases {
            check_grad(f, &inputs).assert_ok_for(name);
        }
    }

    #[test]
    fn second_order_through_a_circular_convolution() {
        // y = irfft(rfft(x)^2): x convolved with itself; check d(grad)/dx.
        let w = test_signal(&[7], 2.0);
        check_grad(
            |x| {
                grad(
                    |x: &Tensor| {
                        let f = rfft(x);
                        let y = irfft(&f * &f, 7);
                        (&y * &y * &w).sum()
                    },
                    &x[0],
                )
            },
            &[test_signal(&[7], 0.5)],
        )
        .assert_ok_for("gradient of a squared self-convolution");
    }

    #[test]
    #[should_panic(expected = "irfft: 6 output points need 4 frequency bins along axis -1, got shape [3]")]
    fn wrong_bin_counts_name_the_op() {
        let _ = irfft(Complex::new(Tensor::zeros([3]), 0.0), 6);
    }

    #[test]
    fn compiled_real_transforms_and_their_derivatives_match_at_another_point() {
        // Even and odd lengths for rfft/irfft (the last bin is real only for
        // even n), the n-d pair on a [2, 6] signal, and hartley along each axis.
        let loss = |x: &Tensor| {
            let half = rfft(x);
            let back =
                irfft(&half * &half, 6) + irfft(rfft_axis(&x.slice(1, 0, 5, 1), 1), 5).sum_axes(&[1], true);
            let n_dim = irfftn(rfftn(x).map(|t| t.sin()), 6);
            let cas = hartley(x) * hartley_axis(x, 0);
            (back.sin() + n_dim + cas).sum() + half.abs2().sum()
        };
        let direction = test_signal(&[2, 6], 0.8);
        let f = |x: &Tensor| {
            let (value, gradient) = crate::value_and_grad(loss, x);
            (value, gradient, crate::hvp(loss, x, &direction))
        };
        let at = test_signal(&[2, 6], 0.2);
        crate::testing::assert_compiles_exactly(f, &at, &[test_signal(&[2, 6], 1.9)]);
    }
}
