//! The discrete Hartley transform, real to real, from the half spectrum of
//! a real transform (`fft_real.rs`).

use crate::autodiff::graph::apply_op;
use crate::compile::kernel::Kernel;
use crate::ops::fft::{Lanes, transform_axis};
use crate::ops::fft_real::for_each_half_spectrum;
use crate::shape::Shape;
use crate::tensor::Tensor;
use smallvec::smallvec;

/// The discrete Hartley transform along `axis`, real to real:
/// `H_k = sum_j x_j (cos + sin)(2 pi jk/n) = Re X_k - Im X_k` for the DFT `X`.
fn hartley_op(x: &Tensor, axis: usize) -> Tensor {
    let kernel = Hartley {
        dims: x.shape().clone(),
        axis,
    };
    // The Hartley matrix cas(2 pi jk/n) is symmetric, so it is its own adjoint.
    apply_op(&kernel, &[x], x.shape().clone(), move |c| {
        smallvec![Some(hartley_op(c.grad, axis))]
    })
}

/// The kernel of [`hartley_op`] for an input of shape `dims`.
#[derive(Clone)]
struct Hartley {
    dims: Shape,
    axis: usize,
}

impl Kernel for Hartley {
    fn name(&self) -> &'static str {
        "hartley"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let n = self.dims[self.axis];
        let lanes = Lanes::new(&self.dims, self.axis);
        for_each_half_spectrum(inputs[0], &self.dims, self.axis, |lane, half| {
            for (k, o) in lanes.offsets(lane).enumerate() {
                // The upper bins mirror the lower ones: X_k = conj(X_{n-k}).
                let f = if k < half.len() {
                    half[k]
                } else {
                    half[n - k].conj()
                };
                out[o] = f.re - f.im;
            }
        });
    }
}

/// The discrete Hartley transform along the last axis, real to real:
/// `H = Re(fft(x)) - Im(fft(x))`. Applying it twice gives `n` times the input.
///
/// ```
/// use jaxpurify_runtime::{hartley, Tensor};
/// let h = hartley(&Tensor::from([1.0, 2.0, 3.0, 4.0]));
/// assert_eq!(h.to_vec(), vec![10.0, -4.0, -2.0, 0.0]);
/// ```
///
/// # Panics
/// On a scalar, or when the last axis has length 0.
#[track_caller]
pub fn hartley(x: &Tensor) -> Tensor {
    hartley_axis(x, -1)
}

/// [`hartley`] along `axis` (negative counts from the end).
///
/// ```
/// use jaxpurify_runtime::{hartley_axis, Tensor};
/// let h = hartley_axis(&Tensor::from([[1.0, 2.0], [3.0, 4.0]]), 0);
/// assert_eq!(h.to_vec(), vec![4.0, 6.0, -2.0, -2.0]);
/// ```
#[track_caller]
pub fn hartley_axis(x: &Tensor, axis: isize) -> Tensor {
    let axis = transform_axis(x.shape(), axis, "hartley");
    hartley_op(x, axis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fft;
    use crate::ops::fft::{assert_close, test_signal};

    #[test]
    fn hartley_is_its_own_inverse_up_to_n_and_matches_the_dft() {
        for shape in [&[8][..], &[9], &[3, 4]] {
            let x = test_signal(shape, 1.4);
            let n = shape[shape.len() - 1] as f64;
            let twice = hartley(&hartley(&x)) / n;
            assert_close(twice.as_slice(), x.as_slice(), 1e-13);
            let f = fft(&x);
            assert_close(hartley(&x).as_slice(), (f.re() - f.im()).as_slice(), 1e-13);
        }
    }
}
