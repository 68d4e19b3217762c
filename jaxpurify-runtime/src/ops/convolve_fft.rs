//! The FFT kernel of the valid correlation in `convolve.rs`, and the cost
//! model that chooses between it and direct summation.
//!
//! `y[i] = sum_j x[i + j] k[j]` for `i < n - m + 1` is the start of the
//! circular correlation of `x` and `k` (zero-padded) over any length
//! `L >= n`: for those `i`, `i + j <= n - 1` never wraps. The circular
//! correlation is `irfft(rfft(x) conj(rfft(k)))`, since for real `k`
//! `sum_i sum_j k[j] x[i + j] w^{-fi} = conj(K_f) X_f`. So the kernel costs
//! three real FFTs of length `L`, `O(L log L)`, against `O((n - m + 1) m)`
//! for the direct sum.

use crate::ops::fft::{real_forward_plan, real_inverse_plan};
use rustfft::num_complex::Complex64;

/// Which kernel computes a valid correlation's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Summation {
    Direct,
    Fft,
}

/// A choice of [`Summation`] from the lengths `n >= m` of signal and kernel.
pub(super) type ChooseSummation = fn(usize, usize) -> Summation;

/// Times of one valid correlation, in microseconds (release build, best of
/// 7 loops on a 2-core AMD EPYC shared with other jobs; the direct sum with
/// its outputs in register blocks, the FFT path at the smallest 5-smooth
/// length `L >= n`, allocations included):
///
/// | n | m | direct | FFT | | n | m | direct | FFT |
/// |---|---|---|---|---|---|---|---|---|
/// | 64 | 16 | 0.13 | 0.51 | | 4096 | 64 | 38.5 | 27.9 |
/// | 128 | 32 | 0.51 | 0.74 | | 8192 | 32 | 38.5 | 106 |
/// | 256 | 16 | 0.66 | 1.57 | | 8192 | 64 | 68.3 | 112 |
/// | 256 | 64 | 2.10 | 1.49 | | 16384 | 64 | 153 | 301 |
/// | 1024 | 16 | 2.70 | 6.76 | | 16384 | 128 | 314 | 298 |
/// | 1024 | 64 | 9.15 | 6.67 | | 65536 | 64 | 615 | 1739 |
/// | 1024 | 512 | 35.2 | 6.55 | | 65536 | 128 | 1233 | 1617 |
/// | 4096 | 16 | 8.87 | 30.0 | | | | | |
///
/// The direct sum costs 0.13 to 0.16 ns per product at every size. The FFT
/// path costs about 0.3 us plus, per unit of `L log2 L`, about 0.6 ns up to
/// `L = 4096` and more beyond, up to 1.6 ns at `L = 2^16`, as its buffers
/// outgrow the caches. In products: a fixed 2000, and the unit costs of
/// [`fft_unit_cost`]. The choice matters most near the crossover, where the
/// two differ little; far from it the right kernel wins by a wide margin.
const FFT_OVERHEAD_IN_PRODUCTS: f64 = 2000.0;

/// The cost of one unit of `L log2 L` of the FFT path, in direct products,
/// read off the table above.
fn fft_unit_cost(len: usize) -> f64 {
    match len {
        0..=4096 => 4.0,
        4097..=8192 => 6.0,
        8193..=65536 => 9.0,
        _ => 11.0,
    }
}

/// The faster kernel for a signal of length `n` and a kernel of length
/// `m <= n`, by the measurements above: the FFT when the direct sum's
/// `(n - m + 1) m` products cost more than the FFT path.
pub(super) fn faster_summation(n: usize, m: usize) -> Summation {
    let products = ((n - m + 1) * m) as f64;
    let len = fft_length(n);
    let fft_units = len as f64 * (len as f64).log2();
    if products > FFT_OVERHEAD_IN_PRODUCTS + fft_unit_cost(len) * fft_units {
        Summation::Fft
    } else {
        Summation::Direct
    }
}

/// The smallest `L >= n` with no prime factor above 5, for which rustfft's
/// mixed-radix algorithms are fast (a large prime length would fall back to
/// Bluestein's algorithm, several times slower).
fn fft_length(n: usize) -> usize {
    let is_5_smooth = |mut l: usize| {
        for p in [2, 3, 5] {
            while l % p == 0 {
                l /= p;
            }
        }
        l == 1
    };
    (n.max(1)..)
        .find(|&l| is_5_smooth(l))
        .expect("5-smooth numbers are unbounded")
}

/// The valid correlation of `x` with `kernel` (`x.len() >= kernel.len() >=
/// 1`) through real FFTs of a common length `L >= x.len()`.
pub(super) fn correlate_valid_fft(x: &[f64], kernel: &[f64]) -> Vec<f64> {
    let (n, m) = (x.len(), kernel.len());
    let len = fft_length(n);
    let (forward, inverse) = (real_forward_plan(len), real_inverse_plan(len));
    let scratch_len = forward.get_scratch_len().max(inverse.get_scratch_len());
    let mut scratch = vec![Complex64::default(); scratch_len];
    // One real buffer holds each input in turn and finally the result.
    let mut signal = forward.make_input_vec();
    let mut spectrum_of = |values: &[f64], signal: &mut Vec<f64>| {
        signal[..values.len()].copy_from_slice(values);
        signal[values.len()..].fill(0.0);
        let mut spectrum = forward.make_output_vec();
        forward
            .process_with_scratch(signal, &mut spectrum, &mut scratch)
            .expect("buffers are sized by the plan");
        spectrum
    };
    let mut product = spectrum_of(x, &mut signal);
    let kernel_spectrum = spectrum_of(kernel, &mut signal);
    // The inverse is unnormalised: fold the 1/L into the product.
    let scale = 1.0 / len as f64;
    for (p, k) in product.iter_mut().zip(&kernel_spectrum) {
        *p *= k.conj() * scale;
    }
    // realfft wants exactly zero imaginary parts at bin 0 and the Nyquist
    // bin; they are products of real numbers, so zero, but set them rather
    // than rely on that surviving the arithmetic.
    let last = product.len() - 1;
    product[0].im = 0.0;
    if len % 2 == 0 {
        product[last].im = 0.0;
    }
    inverse
        .process_with_scratch(&mut product, &mut signal, &mut scratch)
        .expect("buffers are sized by the plan and the edge bins are real");
    signal.truncate(n - m + 1);
    signal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fft_lengths_are_the_next_5_smooth_numbers() {
        let lengths = [1, 7, 97, 101, 1000, 16385].map(fft_length);
        assert_eq!(lengths, [1, 8, 100, 108, 1000, 16875]);
    }

    #[test]
    fn a_one_point_correlation_is_a_product() {
        assert_eq!(correlate_valid_fft(&[3.0], &[-2.0]), vec![-6.0]);
    }
}
