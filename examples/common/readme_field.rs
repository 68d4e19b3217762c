//! The README's random field, shared by its end-to-end test
//! (`tests/readme_field.rs`) and the reference benchmark
//! (`benches/reference.rs`), which reads it out at other sizes.

use jaxpurify::prelude::*;

/// A Gaussian random field on `n` points with spectral index `alpha`.
#[purify]
pub fn field(n: usize, alpha: &Tensor) -> Tensor {
    let k = fftfreq(n, 1.0).at(0).set(f64::INFINITY); // no power at k = 0
    let power = k.abs().pow(alpha); // broadcasts the scalar exponent
    let xi = param!(n);
    let f = fft(&(power.sqrt() * &xi));
    f.re() - f.im()
}
