//! `x^a` for whole slices: `exp(a ln x)` with `ln x` carried to about 60
//! bits as an unevaluated sum, so that the product `a ln x` keeps the bits
//! the exponential needs, computed for every element without a branch so
//! that the loops vectorise (with AVX2 copies, `simd.rs`).
//!
//! glibc's `pow` runs one element at a time; in a power spectrum
//! `|k|^alpha` with a learned `alpha` it was half of the README field's
//! compiled gradient. Results stay within 2 ulp of glibc's, which is
//! correctly rounded in nearly every case (tested below). Where the result
//! is not a plain positive power (`x <= 0`, infinite or NaN operands) or
//! `|a ln x| >= 32` (results beyond `e^32`, where 60 bits of `ln x` are not
//! enough), glibc's `pow` decides, as before.

use super::elementary::{LN2_HI, LN2_LO, exp_with_tail};
use crate::simd::dispatch_avx2;

/// Beyond this `|a ln x|` the power is left to libm.
const FAST_LIMIT: f64 = 32.0;

/// `2^27 + 1`, Veltkamp's constant: splits a double into two halves of 26
/// bits whose products are exact.
const SPLIT: f64 = 134_217_729.0;

/// `1/3, 1/5, ..., 1/23`: `atanh(s) = s + s^3/3 + s^5/5 + ...`, truncated
/// where `|s| <= 0.172` leaves less than `2^-65` of the sum.
const ATANH_SERIES: [f64; 11] = [
    1.0 / 3.0,
    1.0 / 5.0,
    1.0 / 7.0,
    1.0 / 9.0,
    1.0 / 11.0,
    1.0 / 13.0,
    1.0 / 15.0,
    1.0 / 17.0,
    1.0 / 19.0,
    1.0 / 21.0,
    1.0 / 23.0,
];

/// `a b` exactly, as the rounded product and its error (Dekker's product,
/// with no fused multiply-add, which rounds differently between machines).
#[inline(always)]
fn two_product(a: f64, b: f64) -> (f64, f64) {
    let split = |v: f64| {
        let c = SPLIT * v;
        let hi = c - (c - v);
        (hi, v - hi)
    };
    let p = a * b;
    let ((ah, al), (bh, bl)) = (split(a), split(b));
    (p, ((ah * bh - p) + ah * bl + al * bh) + al * bl)
}

/// `a + b` exactly, as the rounded sum and its error.
#[inline(always)]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let v = s - a;
    (s, (a - (s - v)) + (b - v))
}

/// `ln x` for a finite `x > 0` as `hi + lo`: `x = 2^e m` with `m` in
/// `[sqrt(1/2), sqrt 2)`, `ln m = 2 atanh(s)` with `s = (m - 1)/(m + 1)`
/// carried as a sum of two doubles, and `e ln 2` from the two parts of
/// `ln 2` (the first exact in any product with `e`).
#[inline(always)]
fn ln_two_parts(x: f64) -> (f64, f64) {
    let subnormal = x < f64::MIN_POSITIVE;
    let scaled = if subnormal {
        x * 18_014_398_509_481_984.0
    } else {
        x
    };
    let bits = scaled.to_bits();
    // The biased exponent as a double, through the bits of 2^52 + e: a
    // conversion from an integer has no vector instruction before AVX-512.
    let biased = f64::from_bits(0x4330_0000_0000_0000 | ((bits >> 52) & 0x7ff)) - 4_503_599_627_370_496.0;
    let exponent = biased - if subnormal { 1077.0 } else { 1023.0 };
    let mantissa = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let above = mantissa > std::f64::consts::SQRT_2;
    let (m, e) = if above {
        (mantissa * 0.5, exponent + 1.0)
    } else {
        (mantissa, exponent)
    };
    // f = m - 1 is exact; s = f / (2 + f) with the divisor and the quotient
    // each carried to double the precision.
    let f = m - 1.0;
    let d = 2.0 + f;
    let d_lo = f - (d - 2.0);
    let s = f / d;
    let (p, p_lo) = two_product(s, d);
    let s_lo = (((f - p) - p_lo) - s * d_lo) / d;
    let z = s * s;
    let series = ATANH_SERIES[..10]
        .iter()
        .rev()
        .fold(ATANH_SERIES[10], |acc, &c| acc * z + c);
    let tail = 2.0 * s * z * series;
    let (hi, lo) = two_sum(e * LN2_HI, 2.0 * s);
    let lo = lo + (2.0 * s_lo + tail + e * LN2_LO);
    let sum = hi + lo;
    (sum, lo - (sum - hi))
}

/// `x^a` where it is a plain positive power within the fast range, NaN
/// elsewhere (for libm to decide).
#[inline(always)]
fn pow_or_nan(x: f64, a: f64) -> f64 {
    let (ln_hi, ln_lo) = ln_two_parts(x);
    pow_from_ln_or_nan(x, a, ln_hi, ln_lo)
}

/// [`pow_or_nan`] given `ln x` as `ln_hi + ln_lo`.
#[inline(always)]
fn pow_from_ln_or_nan(x: f64, a: f64, ln_hi: f64, ln_lo: f64) -> f64 {
    let (t, t_error) = two_product(a, ln_hi);
    let tail = t_error + a * ln_lo;
    let fast = x > 0.0 && x < f64::INFINITY && t.abs() < FAST_LIMIT;
    if fast { exp_with_tail(t, tail) } else { f64::NAN }
}

#[inline(always)]
fn ln_parts_each(x: &[f64], out: &mut [f64]) {
    let (hi, lo) = out.split_at_mut(x.len());
    for ((h, l), &v) in hi.iter_mut().zip(lo.iter_mut()).zip(x) {
        (*h, *l) = ln_two_parts(v);
    }
}

dispatch_avx2! {
    /// `ln x` of every element of `x` (the part [`pow_from_ln`] needs of a
    /// base), as the values' high parts and then their low parts, into
    /// `out` of twice the length. Meaningless where `x` is not a finite
    /// positive value, which [`pow_from_ln`] leaves to libm.
    pub(crate) fn ln_parts(x: &[f64], out: &mut [f64]) => ln_parts_each
}

/// `x^a` elementwise as [`pow_into`] computes it, from `ln x` given in two
/// parts ([`ln_parts`]), so that a constant base's logarithm is computed
/// once: every slice holds as many values as `out` or a single one, and the
/// logarithm's parts as many as `x`.
#[inline(always)]
fn pow_from_ln_each(x: &[f64], a: &[f64], ln_hi: &[f64], ln_lo: &[f64], out: &mut [f64]) {
    let at = |v: &[f64], i: usize| if v.len() == 1 { v[0] } else { v[i] };
    for (i, o) in out.iter_mut().enumerate() {
        *o = pow_from_ln_or_nan(at(x, i), at(a, i), at(ln_hi, i), at(ln_lo, i));
    }
    libm_where_nan(out, |i| at(x, i), |i| at(a, i));
}

#[inline(always)]
fn pow_from_ln_bases(x: &[f64], a: &[f64], ln_hi: &[f64], ln_lo: &[f64], out: &mut [f64]) {
    // The usual case, a power spectrum: one exponent, so that the loop has
    // no selection per element.
    let a0 = a[0];
    for (((o, &x), &h), &l) in out.iter_mut().zip(x).zip(ln_hi).zip(ln_lo) {
        *o = pow_from_ln_or_nan(x, a0, h, l);
    }
    libm_where_nan(out, |i| x[i], |_| a0);
}

#[inline(always)]
fn pow_from_ln_any(x: &[f64], a: &[f64], ln_hi: &[f64], ln_lo: &[f64], out: &mut [f64]) {
    match (x.len() == out.len(), a.len() == 1) {
        (true, true) => pow_from_ln_bases(x, a, ln_hi, ln_lo, out),
        _ => pow_from_ln_each(x, a, ln_hi, ln_lo, out),
    }
}

dispatch_avx2! {
    /// See [`pow_from_ln_each`].
    pub(crate) fn pow_from_ln(x: &[f64], a: &[f64], ln_hi: &[f64], ln_lo: &[f64], out: &mut [f64]) => pow_from_ln_any
}

/// libm's `pow` wherever [`pow_or_nan`] gave NaN (none, usually).
#[inline(always)]
fn libm_where_nan(out: &mut [f64], x: impl Fn(usize) -> f64, a: impl Fn(usize) -> f64) {
    if out.iter().any(|v| v.is_nan()) {
        for (i, o) in out.iter_mut().enumerate() {
            if o.is_nan() {
                *o = x(i).powf(a(i));
            }
        }
    }
}

#[inline(always)]
fn pow_each(x: &[f64], a: &[f64], out: &mut [f64]) {
    for ((o, &x), &a) in out.iter_mut().zip(x).zip(a) {
        *o = pow_or_nan(x, a);
    }
    libm_where_nan(out, |i| x[i], |i| a[i]);
}

#[inline(always)]
fn pow_each_base(x: &[f64], a: &[f64], out: &mut [f64]) {
    for (o, &x) in out.iter_mut().zip(x) {
        *o = pow_or_nan(x, a[0]);
    }
    libm_where_nan(out, |i| x[i], |_| a[0]);
}

#[inline(always)]
fn pow_each_exponent(x: &[f64], a: &[f64], out: &mut [f64]) {
    for (o, &a) in out.iter_mut().zip(a) {
        *o = pow_or_nan(x[0], a);
    }
    libm_where_nan(out, |_| x[0], |i| a[i]);
}

dispatch_avx2! {
    /// `x_i^(a_i)` for slices of one length.
    fn pow_pairs(x: &[f64], a: &[f64], out: &mut [f64]) => pow_each
}

dispatch_avx2! {
    /// `x_i^a` for one exponent `a[0]`.
    fn pow_bases(x: &[f64], a: &[f64], out: &mut [f64]) => pow_each_base
}

dispatch_avx2! {
    /// `x^(a_i)` for one base `x[0]`.
    fn pow_exponents(x: &[f64], a: &[f64], out: &mut [f64]) => pow_each_exponent
}

/// `x^a` elementwise into `out`, where `x` and `a` each hold as many
/// values as `out` or a single one.
pub(crate) fn pow_into(x: &[f64], a: &[f64], out: &mut [f64]) {
    match (x.len() == out.len(), a.len() == out.len()) {
        (true, true) => pow_pairs(x, a, out),
        (true, false) => pow_bases(x, a, out),
        (false, true) => pow_exponents(x, a, out),
        (false, false) => out.fill(pow(x[0], a[0])),
    }
}

/// `x^a` for one pair, with the bits of [`pow_into`].
pub(crate) fn pow(x: f64, a: f64) -> f64 {
    let fast = pow_or_nan(x, a);
    if fast.is_nan() { x.powf(a) } else { fast }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64) -> u64 {
        let key = |v: f64| {
            let bits = v.to_bits() as i64;
            if bits < 0 { i64::MIN - bits } else { bits }
        };
        key(a).abs_diff(key(b))
    }

    #[test]
    fn powers_stay_within_two_ulp_of_libm() {
        // Bases from subnormal to huge, exponents of both signs, including
        // power spectra's |k|^-3 over the frequencies of a grid.
        let mut bases: Vec<f64> = (1..4000).map(|i| 1e-300 * 1.19f64.powi(i)).collect();
        bases.extend((1..5000).map(|i| i as f64 / 5000.0));
        bases.extend([
            5e-324,
            f64::MIN_POSITIVE,
            0.5,
            1.0,
            2.0,
            std::f64::consts::SQRT_2,
            1.0 - 1e-16,
        ]);
        let exponents = [
            -3.0, -2.9, -1.5, -0.5, 0.0, 1e-9, 0.25, 1.0, 2.0, 3.7, 11.0, -11.3,
        ];
        let (mut worst, mut ours) = (0, vec![0.0; bases.len()]);
        for a in exponents {
            pow_into(&bases, &[a], &mut ours);
            for (&x, &y) in bases.iter().zip(&ours) {
                let expected = x.powf(a);
                assert!(
                    ulps(y, expected) <= 2,
                    "{x:e}^{a} = {y:e}, libm gives {expected:e}"
                );
                assert_eq!(y.to_bits(), pow(x, a).to_bits(), "one pair at a time");
                worst = worst.max(ulps(y, expected));
            }
        }
        assert!(worst >= 1, "the test reaches the fast path");
    }

    #[test]
    fn powers_from_a_logarithm_given_in_parts_have_the_same_bits() {
        let x: Vec<f64> = (0..777)
            .map(|i| (i as f64 * 0.37).sin() * 10f64.powi(i % 9 - 4))
            .collect();
        let a: Vec<f64> = (0..777).map(|i| (i as f64 * 0.11).cos() * 4.0).collect();
        let mut logs = vec![0.0; 2 * x.len()];
        ln_parts(&x, &mut logs);
        let (hi, lo) = logs.split_at(x.len());
        for (a, alone) in [(&a[..1], &[a[0]][..]), (&a[..], &a[..])] {
            let (mut direct, mut from_logs) = (vec![0.0; x.len()], vec![0.0; x.len()]);
            pow_into(&x, alone, &mut direct);
            pow_from_ln(&x, a, hi, lo, &mut from_logs);
            assert!(
                direct
                    .iter()
                    .zip(&from_logs)
                    .all(|(p, q)| p.to_bits() == q.to_bits())
            );
        }
    }

    #[test]
    fn special_operands_are_libm_s() {
        let specials = [
            0.0,
            -0.0,
            -2.0,
            -0.5,
            1.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1e300,
            1e-300,
        ];
        for x in specials {
            for a in specials.iter().chain(&[3.0, -3.0, 0.5, 1e10, -1e10]) {
                let (ours, libm) = (pow(x, *a), x.powf(*a));
                let same = ours.to_bits() == libm.to_bits() || (ours.is_nan() && libm.is_nan());
                assert!(
                    same || ulps(ours, libm) <= 2,
                    "{x:e}^{a:e} = {ours:e}, libm gives {libm:e}"
                );
            }
        }
        // The README field's k = inf with a negative exponent: exactly 0.
        assert_eq!(pow(f64::INFINITY, -2.9).to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn the_copies_for_this_cpu_give_the_generic_bits() {
        let x: Vec<f64> = (0..1001)
            .map(|i| (i as f64 * 0.37).sin().abs() * 10f64.powi(i % 7 - 3))
            .collect();
        let a: Vec<f64> = (0..1001).map(|i| (i as f64 * 0.11).cos() * 4.0).collect();
        let (mut dispatched, mut generic) = (vec![0.0; 1001], vec![0.0; 1001]);
        pow_pairs(&x, &a, &mut dispatched);
        pow_each(&x, &a, &mut generic);
        assert!(
            dispatched
                .iter()
                .zip(&generic)
                .all(|(p, q)| p.to_bits() == q.to_bits())
        );
        pow_bases(&x, &a[..1], &mut dispatched);
        pow_each_base(&x, &a[..1], &mut generic);
        assert!(
            dispatched
                .iter()
                .zip(&generic)
                .all(|(p, q)| p.to_bits() == q.to_bits())
        );
    }
}
