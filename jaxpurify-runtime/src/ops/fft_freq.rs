//! The helpers around the transforms, as in NumPy's `fft` module: sample
//! frequencies (`fftfreq`, `rfftfreq`) and moving the zero frequency to the
//! centre (`fftshift`, `ifftshift`).

use crate::autodiff::graph::apply_op;
use crate::compile::kernel::Kernel;
use crate::ops::fft::Lanes;
use crate::shape::{Shape, normalize_axis};
use crate::tensor::Tensor;
use smallvec::smallvec;

/// The sample frequencies of the bins of an `n`-point [`fft`](crate::fft)
/// with sample spacing `d`: `[0, 1, ..., (n-1)/2, -(n/2), ..., -1] / (n d)`.
/// The values equal NumPy's bit for bit (each is an integer times `1/(n d)`).
///
/// ```
/// use jaxpurify_runtime::fftfreq;
/// assert_eq!(fftfreq(4, 0.5).to_vec(), vec![0.0, 0.5, -1.0, -0.5]);
/// ```
///
/// # Panics
/// When `n` is 0.
#[track_caller]
pub fn fftfreq(n: usize, d: f64) -> Tensor {
    assert!(n > 0, "fftfreq: needs at least one point, got n = 0");
    let step = 1.0 / (n as f64 * d);
    let positive = (n - 1) / 2 + 1;
    let bins = (0..positive as i64).chain(-((n / 2) as i64)..0);
    Tensor::from(bins.map(|k| k as f64 * step).collect::<Vec<f64>>())
}

/// The sample frequencies of the bins of an `n`-point
/// [`rfft`](crate::rfft): `[0, 1, ..., n/2] / (n d)`, as NumPy's.
///
/// ```
/// use jaxpurify_runtime::rfftfreq;
/// assert_eq!(rfftfreq(4, 0.5).to_vec(), vec![0.0, 0.5, 1.0]);
/// ```
///
/// # Panics
/// When `n` is 0.
#[track_caller]
pub fn rfftfreq(n: usize, d: f64) -> Tensor {
    assert!(n > 0, "rfftfreq: needs at least one point, got n = 0");
    let step = 1.0 / (n as f64 * d);
    Tensor::from((0..=n / 2).map(|k| k as f64 * step).collect::<Vec<f64>>())
}

/// The values moved `shift` places forward (cyclically) along `axis`, for
/// `0 < shift < len`.
fn roll(x: &Tensor, axis: usize, shift: usize) -> Tensor {
    let kernel = Roll {
        shape: x.shape().clone(),
        axis,
        shift,
    };
    // A permutation's adjoint is its inverse: the roll back.
    let back = x.shape()[axis] - shift;
    apply_op(&kernel, &[x], x.shape().clone(), move |c| {
        smallvec![Some(roll(c.grad, axis, back))]
    })
}

/// The kernel of [`roll`].
#[derive(Clone)]
struct Roll {
    shape: Shape,
    axis: usize,
    shift: usize,
}

impl Kernel for Roll {
    fn name(&self) -> &'static str {
        "roll"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let (src, lanes) = (inputs[0], Lanes::new(&self.shape, self.axis));
        for lane in 0..lanes.count {
            let offsets: Vec<usize> = lanes.offsets(lane).collect();
            for (j, &o) in offsets.iter().enumerate() {
                out[offsets[(j + self.shift) % lanes.len]] = src[o];
            }
        }
    }
}

/// Rolls each of `axes` (every axis when `None`) by the shift `shift_of`
/// gives its length.
#[track_caller]
fn roll_axes(x: &Tensor, axes: Option<&[isize]>, shift_of: fn(usize) -> usize, op: &str) -> Tensor {
    let axes: Vec<usize> = match axes {
        Some(axes) => {
            let mut normalized = Vec::with_capacity(axes.len());
            // A loop, not `map`: a closure would not pass on the caller's location.
            for &a in axes {
                normalized.push(normalize_axis(a, x.ndim(), op));
            }
            normalized
        }
        None => (0..x.ndim()).collect(),
    };
    let dims: Shape = x.shape().clone();
    axes.iter().fold(x.clone(), |y, &axis| {
        match shift_of(dims[axis]).checked_rem(dims[axis]) {
            None | Some(0) => y,
            Some(shift) => roll(&y, axis, shift),
        }
    })
}

/// Moves the zero-frequency bin to the centre of every axis (NumPy's
/// `fftshift`): each axis of length `n` is rolled forward by `n/2`. For a
/// [`Complex`](crate::Complex) spectrum use `z.map(fftshift)`.
///
/// ```
/// use jaxpurify_runtime::{fftfreq, fftshift};
/// assert_eq!(fftshift(&fftfreq(5, 1.0)).to_vec(), vec![-0.4, -0.2, 0.0, 0.2, 0.4]);
/// ```
pub fn fftshift(x: &Tensor) -> Tensor {
    roll_axes(x, None, |n| n / 2, "fftshift")
}

/// [`fftshift`] along `axes` only (negative counts from the end).
///
/// ```
/// use jaxpurify_runtime::{fftshift_axes, Tensor};
/// let x = Tensor::from([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]);
/// assert_eq!(fftshift_axes(&x, &[-1]).to_vec(), vec![2.0, 0.0, 1.0, 5.0, 3.0, 4.0]);
/// ```
///
/// # Panics
/// When an axis is out of range.
#[track_caller]
pub fn fftshift_axes(x: &Tensor, axes: &[isize]) -> Tensor {
    roll_axes(x, Some(axes), |n| n / 2, "fftshift")
}

/// The inverse of [`fftshift`] (they differ for odd lengths): each axis of
/// length `n` is rolled back by `n/2`.
///
/// ```
/// use jaxpurify_runtime::{fftfreq, fftshift, ifftshift};
/// let k = fftfreq(5, 1.0);
/// assert_eq!(ifftshift(&fftshift(&k)), k);
/// ```
pub fn ifftshift(x: &Tensor) -> Tensor {
    roll_axes(x, None, |n| n - n / 2, "ifftshift")
}

/// [`ifftshift`] along `axes` only (negative counts from the end).
///
/// ```
/// use jaxpurify_runtime::{ifftshift_axes, Tensor};
/// let x = Tensor::from([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]);
/// assert_eq!(ifftshift_axes(&x, &[1]).to_vec(), vec![1.0, 2.0, 0.0, 4.0, 5.0, 3.0]);
/// ```
///
/// # Panics
/// When an axis is out of range.
#[track_caller]
pub fn ifftshift_axes(x: &Tensor, axes: &[isize]) -> Tensor {
    roll_axes(x, Some(axes), |n| n - n / 2, "ifftshift")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::fft::test_signal;
    use crate::testing::{assert_compiles_exactly, check_grad};
    use crate::{Complex, fft, grad, value_and_grad};

    #[test]
    fn frequencies_equal_numpys_values() {
        // Printed by NumPy's formula (integer bins times 1/(n d)); note
        // 3 * (1/2.1) = 1.4285714285714284, one ulp below 3/2.1.
        assert_eq!(
            fftfreq(8, 0.1).to_vec(),
            vec![0.0, 1.25, 2.5, 3.75, -5.0, -3.75, -2.5, -1.25]
        );
        let sevenths = [
            0.0,
            0.14285714285714285,
            0.2857142857142857,
            0.42857142857142855,
            -0.42857142857142855,
            -0.2857142857142857,
            -0.14285714285714285,
        ];
        assert_eq!(fftfreq(7, 1.0).to_vec(), sevenths);
        assert_eq!(
            fftfreq(5, 0.3).to_vec(),
            vec![
                0.0,
                0.6666666666666666,
                1.3333333333333333,
                -1.3333333333333333,
                -0.6666666666666666
            ]
        );
        assert_eq!(rfftfreq(8, 0.1).to_vec(), vec![0.0, 1.25, 2.5, 3.75, 5.0]);
        assert_eq!(
            rfftfreq(7, 0.3).to_vec(),
            vec![0.0, 0.47619047619047616, 0.9523809523809523, 1.4285714285714284]
        );
        assert_eq!(fftfreq(1, 1.0).to_vec(), vec![0.0]);
    }

    #[test]
    fn frequencies_label_the_bins_of_the_transform() {
        // A cosine at 3 cycles per unit on 10 points spaced 0.1 peaks where
        // fftfreq(10, 0.1) = +-3.
        let t = Tensor::arange(0.0, 10.0, 1.0) * 0.1;
        let f = fft((t * (2.0 * std::f64::consts::PI * 3.0)).cos());
        let freqs = fftfreq(10, 0.1);
        for (k, &v) in f.re().as_slice().iter().enumerate() {
            let peak = (freqs.as_slice()[k].abs() - 3.0).abs() < 1e-12;
            assert!((v - if peak { 5.0 } else { 0.0 }).abs() < 1e-12, "bin {k}: {v}");
        }
    }

    #[test]
    fn shifts_match_numpy_for_even_and_odd_lengths() {
        let seven = Tensor::arange(0.0, 7.0, 1.0);
        assert_eq!(fftshift(&seven).to_vec(), vec![4.0, 5.0, 6.0, 0.0, 1.0, 2.0, 3.0]);
        assert_eq!(
            ifftshift(&seven).to_vec(),
            vec![3.0, 4.0, 5.0, 6.0, 0.0, 1.0, 2.0]
        );
        assert_eq!(fftshift(&fftfreq(4, 1.0)).to_vec(), vec![-0.5, -0.25, 0.0, 0.25]);
        let grid = Tensor::arange(0.0, 6.0, 1.0).reshape([2, 3]);
        assert_eq!(fftshift(&grid).to_vec(), vec![5.0, 3.0, 4.0, 2.0, 0.0, 1.0]);
        assert_eq!(ifftshift(&fftshift(&grid)), grid);
        let z = Complex::new(&grid, -&grid).map(fftshift);
        assert_eq!(z.im().to_vec(), vec![-5.0, -3.0, -4.0, -2.0, -0.0, -1.0]);
    }

    #[test]
    fn shift_gradients_roll_back() {
        // L = sum(w fftshift(x)), w = [1, 2, 3]: fftshift puts x = [a, b, c]
        // at [c, a, b], so dL/dx = [2, 3, 1].
        let w = Tensor::from([1.0, 2.0, 3.0]);
        let g = grad(|x: &Tensor| (fftshift(x) * &w).sum(), &Tensor::zeros([3]));
        assert_eq!(g.to_vec(), vec![2.0, 3.0, 1.0]);
        let x = test_signal(&[3, 4], 0.2);
        check_grad(|x| fftshift(&x[0]), std::slice::from_ref(&x)).assert_ok_for("fftshift");
        check_grad(|x| ifftshift_axes(&x[0], &[0]), std::slice::from_ref(&x)).assert_ok_for("ifftshift");
    }

    #[test]
    fn shifts_compile_with_their_gradients() {
        let w = test_signal(&[3, 4], 0.7);
        let f = |x: &Tensor| {
            value_and_grad(
                |x: &Tensor| ((fftshift(x) + ifftshift_axes(x, &[0])) * &w).sum(),
                x,
            )
        };
        let points = [test_signal(&[3, 4], -1.3), Tensor::ones([3, 4])];
        assert_compiles_exactly(f, &test_signal(&[3, 4], 0.2), &points);
    }

    #[test]
    #[should_panic(expected = "fftshift: axis 3 is out of range for a tensor with 1 dimensions")]
    fn shift_axes_out_of_range_name_the_op() {
        let _ = fftshift_axes(&Tensor::zeros([2]), &[3]);
    }
}
