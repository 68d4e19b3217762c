//! The Gaussian-process example's model, shared with its test
//! (`tests/gp_posterior.rs`), which checks it against dense linear algebra,
//! and with the reference benchmarks.

use jaxpurify::prelude::*;
use jaxpurify::{fft, fftfreq, interp};

/// A smooth periodic random field with power spectrum `|k|^-3` on `n`
/// points, generated on `n + 2 pad` points and cropped, so that the field's
/// two ends are not forced to meet.
///
/// `xi` is white noise; the field is the Hartley transform (`re - im` of
/// the Fourier transform, real for real input) of `sqrt(power) xi`, so its
/// covariance is the stationary one with that power spectrum. The constant
/// mode has no power.
#[purify]
pub fn field(n: usize, pad: usize) -> Tensor {
    let size = n + 2 * pad;
    // Frequencies in cycles per `n` grid points.
    let k = fftfreq(size, 1.0 / n as f64);
    let power = k.abs().powf(-3.0).at(0).set(0.0);
    let xi = param!(size);
    let f = fft(&(power.sqrt() * &xi));
    (f.re() - f.im()).slice(0, pad, pad + n, 1)
}

/// The field on the grid `x` read out at the points `x_obs`.
#[purify]
pub fn observed_field(n: usize, n_obs: usize, pad: usize) -> Tensor {
    let x = fixed!(n);
    let signal = intermediate!(sub!(field(n, pad)));
    let x_obs = fixed!(n_obs);
    interp(&x_obs, &x, &signal)
}
