//! Scalar kernels behind the special-function ops: the gamma family's
//! derivatives (digamma, trigamma, polygamma) with care at negative arguments,
//! and the standard normal quantile.
//!
//! erf, erfc and lgamma come from `libm` (within 2 ulp); erfinv, digamma and
//! trigamma on the positive axis from `special`. What neither crate covers
//! well is here: reflection for negative arguments (the `special` recursions
//! lose accuracy there and recurse without bound at `-inf`), polygamma of any
//! order (so that lgamma can be differentiated any number of times), and a
//! normal quantile that stays finite and accurate down to `p = 1e-300`.

use std::f64::consts::PI;

/// Whether `x` is a pole of the gamma function and its derivatives.
fn is_gamma_pole(x: f64) -> bool {
    x <= 0.0 && x == x.floor()
}

/// `cot(pi x)`, reduced to `|r| <= 1/2` first so that large `|x|` keeps the
/// accuracy of `x` itself (cot has period 1 in `x`).
fn cot_pi(x: f64) -> f64 {
    let r = x - x.round();
    1.0 / (PI * r).tan()
}

/// `psi(x)`, the derivative of `ln|Gamma(x)|`; NaN at the poles
/// `0, -1, -2, ...` (where the two one-sided limits differ) and at `-inf`.
pub(crate) fn digamma(x: f64) -> f64 {
    if x.is_nan() || is_gamma_pole(x) {
        return f64::NAN;
    }
    if x < 0.0 {
        // psi(1 - x) - psi(x) = pi cot(pi x)
        return digamma(1.0 - x) - PI * cot_pi(x);
    }
    special::Gamma::digamma(x)
}

/// Coefficients (lowest power first) of the polynomial `P_n` with
/// `d^n/dy^n cot(y) = P_n(cot y)`, from `P_0(c) = c` and
/// `P_{n+1}(c) = -(1 + c^2) P_n'(c)`.
fn cot_derivative_polynomial(n: u32) -> Vec<f64> {
    let mut p = vec![0.0, 1.0];
    for _ in 0..n {
        let derivative: Vec<f64> = (1..p.len()).map(|k| k as f64 * p[k]).collect();
        let mut next = vec![0.0; derivative.len() + 2];
        for (k, &d) in derivative.iter().enumerate() {
            next[k] -= d;
            next[k + 2] -= d;
        }
        p = next;
    }
    p
}

/// `B_2k / (2k)!` for `k = 1..=10`: the coefficients of the asymptotic series
/// of the polygamma functions.
const BERNOULLI_OVER_FACTORIAL: [f64; 10] = [
    1.0 / 6.0 / 2.0,
    -1.0 / 30.0 / 24.0,
    1.0 / 42.0 / 720.0,
    -1.0 / 30.0 / 40_320.0,
    5.0 / 66.0 / 3_628_800.0,
    -691.0 / 2730.0 / 479_001_600.0,
    7.0 / 6.0 / 87_178_291_200.0,
    -3617.0 / 510.0 / 20_922_789_888_000.0,
    43_867.0 / 798.0 / 6_402_373_705_728_000.0,
    -174_611.0 / 330.0 / 2_432_902_008_176_640_000.0,
];

/// The polygamma function `psi^(n)(x)` for `n >= 1`: the `n`-th derivative of
/// digamma. NaN at the poles `0, -1, -2, ...`.
///
/// For `x > 0` the argument is shifted up with the recurrence
/// `psi^(n)(x) = psi^(n)(x + 1) + (-1)^(n+1) n! / x^(n+1)` until it reaches
/// `20 + 2n`, where ten terms of the asymptotic series leave a truncation
/// error below `1e-17` relative; every term has the same sign, so the
/// result is accurate to a few ulp (measured within `1e-14` relative
/// against tabulated values). Negative `x` goes through the reflection
/// formula, accurate relative to the larger of its two terms. `n!` and
/// `x^n` are formed in f64, so orders above about 100 overflow.
pub(crate) fn polygamma(n: u32, x: f64) -> f64 {
    debug_assert!(n >= 1);
    if x.is_nan() || is_gamma_pole(x) || x == f64::NEG_INFINITY {
        return f64::NAN;
    }
    if x < 0.0 {
        // Differentiating psi(1 - x) - psi(x) = pi cot(pi x) n times:
        // psi^(n)(x) = (-1)^n psi^(n)(1 - x) - pi^(n+1) P_n(cot(pi x)).
        let c = cot_pi(x);
        let poly = cot_derivative_polynomial(n);
        let p_n = poly.iter().rev().fold(0.0, |acc, &k| acc * c + k);
        let sign = if n % 2 == 0 { 1.0 } else { -1.0 };
        return sign * polygamma(n, 1.0 - x) - PI.powi(n as i32 + 1) * p_n;
    }
    if n == 1 {
        return special::Gamma::trigamma(&x);
    }
    let sign = if n % 2 == 1 { 1.0 } else { -1.0 };
    let n_factorial: f64 = (1..=n).map(f64::from).product();
    let start = 20.0 + 2.0 * f64::from(n);
    let (mut z, mut shifted) = (x, 0.0);
    while z < start {
        shifted += z.powi(-(n as i32 + 1));
        z += 1.0;
    }
    sign * (n_factorial * shifted + polygamma_asymptotic(n, z))
}

/// `|psi^(n)(z)|` for large `z`:
/// `(n-1)!/z^n [1 + n/(2z) + sum_k B_2k/(2k)! (n)_(2k) / z^(2k)]`,
/// with the rising factorial `(n)_(2k) = n (n+1) ... (n+2k-1)`.
fn polygamma_asymptotic(n: u32, z: f64) -> f64 {
    let n = f64::from(n);
    let n_minus_1_factorial: f64 = (1..n as u32).map(f64::from).product();
    let inv_z2 = 1.0 / (z * z);
    let mut rising = 1.0;
    let mut series = 1.0 + n / (2.0 * z);
    for (k, coefficient) in (1..).zip(BERNOULLI_OVER_FACTORIAL) {
        let k = f64::from(k);
        rising *= (n + 2.0 * k - 2.0) * (n + 2.0 * k - 1.0) * inv_z2;
        series += coefficient * rising;
    }
    n_minus_1_factorial / z.powf(n) * series
}

/// Coefficients of Wichura's algorithm AS 241 (PPND16, Applied Statistics
/// 37(3), 1988): rational approximations of the normal quantile in
/// `|p - 1/2| <= 0.425` (`CENTRAL`, in `0.180625 - (p - 1/2)^2`), and in the
/// tails in `r = sqrt(-ln(min(p, 1 - p)))` for `r <= 5` (`INTERMEDIATE`, in
/// `r - 1.6`) and `r > 5` (`FAR_TAIL`, in `r - 5`). Numerator and denominator,
/// lowest power first; the denominators' constant term is 1. The digits are
/// those published, so that the transcription can be checked against them.
#[allow(clippy::excessive_precision)]
const CENTRAL: ([f64; 8], [f64; 8]) = (
    [
        3.387_132_872_796_366_608,
        133.141_667_891_784_377_45,
        1_971.590_950_306_551_442_7,
        13_731.693_765_509_461_125,
        45_921.953_931_549_871_457,
        67_265.770_927_008_700_853,
        33_430.575_583_588_128_105,
        2_509.080_928_730_122_672_7,
    ],
    [
        1.0,
        42.313_330_701_600_911_252,
        687.187_007_492_057_908_3,
        5_394.196_021_424_751_107_7,
        21_213.794_301_586_595_867,
        39_307.895_800_092_710_61,
        28_729.085_735_721_942_674,
        5_226.495_278_852_854_561,
    ],
);
#[allow(clippy::excessive_precision)]
const INTERMEDIATE: ([f64; 8], [f64; 8]) = (
    [
        1.423_437_110_749_683_577_34,
        4.630_337_846_156_545_295_9,
        5.769_497_221_460_691_405_5,
        3.647_848_324_763_204_605_04,
        1.270_458_252_452_368_382_58,
        0.241_780_725_177_450_611_77,
        0.022_723_844_989_269_184_583_3,
        7.745_450_142_783_414_076_4e-4,
    ],
    [
        1.0,
        2.053_191_626_637_758_821_87,
        1.676_384_830_183_803_849_4,
        0.689_767_334_985_100_004_55,
        0.148_103_976_427_480_074_59,
        0.015_198_666_563_616_457_196_6,
        5.475_938_084_995_344_946e-4,
        1.050_750_071_644_416_843_24e-9,
    ],
);
#[allow(clippy::excessive_precision)]
const FAR_TAIL: ([f64; 8], [f64; 8]) = (
    [
        6.657_904_643_501_103_777_2,
        5.463_784_911_164_114_369_9,
        1.784_826_539_917_291_335_8,
        0.296_560_571_828_504_891_23,
        0.026_532_189_526_576_123_093,
        0.001_242_660_947_388_078_438_6,
        2.711_555_568_743_487_578_15e-5,
        2.010_334_399_292_288_132_65e-7,
    ],
    [
        1.0,
        0.599_832_206_555_887_937_69,
        0.136_929_880_922_735_805_31,
        0.014_875_361_290_850_614_852_5,
        7.868_691_311_456_132_591e-4,
        1.846_318_317_510_054_681_8e-5,
        1.421_511_758_316_445_888_7e-7,
        2.044_263_103_389_939_785_64e-15,
    ],
);

fn rational(coefficients: &([f64; 8], [f64; 8]), t: f64) -> f64 {
    let horner = |c: &[f64; 8]| c.iter().rev().fold(0.0, |acc, &k| acc * t + k);
    horner(&coefficients.0) / horner(&coefficients.1)
}

/// The standard normal quantile `Phi^{-1}(p)`: `-inf` at 0, `inf` at 1, NaN
/// outside `[0, 1]`. AS 241 is accurate to about 1e-16 relative over the whole
/// range of positive doubles; in the tails it works from `min(p, 1 - p)`, so
/// `ndtri(1e-300)` is `-37.047...` rather than `-inf`.
pub(crate) fn ndtri(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        return q * rational(&CENTRAL, 0.180_625 - q * q);
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    if tail == 0.0 {
        return if q < 0.0 { f64::NEG_INFINITY } else { f64::INFINITY };
    }
    let r = (-tail.ln()).sqrt();
    let magnitude = if r <= 5.0 {
        rational(&INTERMEDIATE, r - 1.6)
    } else {
        rational(&FAR_TAIL, r - 5.0)
    };
    if q < 0.0 { -magnitude } else { magnitude }
}

/// The standard normal cdf `Phi(x) = erfc(-x / sqrt 2) / 2`: through erfc
/// so that the lower tail keeps its relative accuracy (`Phi(-30) ~ 5e-198`).
pub(crate) fn ndtr(x: f64) -> f64 {
    0.5 * libm::erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(actual: f64, expected: f64, relative: f64, what: &str) {
        let error = (actual - expected).abs() / expected.abs().max(f64::MIN_POSITIVE);
        assert!(
            error <= relative,
            "{what}: {actual} vs {expected} (relative error {error:.2e})"
        );
    }

    #[test]
    fn polygamma_matches_zeta_values() {
        // psi^(n)(1) = (-1)^(n+1) n! zeta(n+1); psi^(n)(1/2) = (2^(n+1) - 1) psi^(n)(1)
        let zeta3 = 1.202_056_903_159_594_3;
        let zeta4 = PI.powi(4) / 90.0;
        let zeta5 = 1.036_927_755_143_37;
        assert_close(polygamma(1, 1.0), PI * PI / 6.0, 1e-15, "psi1(1)");
        assert_close(polygamma(2, 1.0), -2.0 * zeta3, 1e-14, "psi2(1)");
        assert_close(polygamma(2, 0.5), -14.0 * zeta3, 1e-14, "psi2(1/2)");
        assert_close(polygamma(3, 1.0), 6.0 * zeta4, 1e-14, "psi3(1)");
        assert_close(polygamma(4, 1.0), -24.0 * zeta5, 1e-14, "psi4(1)");
        assert_close(polygamma(4, 0.5), -24.0 * 31.0 * zeta5, 1e-14, "psi4(1/2)");
    }

    #[test]
    fn reflection_agrees_with_the_recurrence_at_negative_arguments() {
        // psi^(n)(x) = psi^(n)(x + 1) + (-1)^(n+1) n! / x^(n+1) crosses from
        // the reflected branch (x < 0) to the direct one (x + 1 > 0).
        for x in [-0.3, -0.75, -2.6, -1e3 - 0.4] {
            let expected = digamma(x + 1.0) - 1.0 / x;
            assert_close(digamma(x), expected, 1e-11, "digamma");
            for n in 1..=4u32 {
                let n_factorial: f64 = (1..=n).map(f64::from).product();
                let sign = if n % 2 == 1 { 1.0 } else { -1.0 };
                let expected = polygamma(n, x + 1.0) + sign * n_factorial / x.powi(n as i32 + 1);
                assert_close(polygamma(n, x), expected, 1e-11, "polygamma");
            }
        }
        assert!(digamma(-3.0).is_nan() && polygamma(1, 0.0).is_nan() && digamma(f64::NEG_INFINITY).is_nan());
    }

    #[test]
    fn ndtri_inverts_ndtr_down_to_the_smallest_probabilities() {
        assert_eq!(ndtri(0.5), 0.0);
        assert_close(ndtri(0.975), 1.959_963_984_540_054, 1e-15, "ndtri(0.975)");
        assert_close(ndtri(1e-300), -37.047_096_299_361_2, 1e-15, "ndtri(1e-300)");
        // A relative error e in x moves Phi(x) by about x^2 e relative.
        for k in 1..=300 {
            let p = 10f64.powi(-k);
            let x = ndtri(p);
            assert_close(ndtr(x), p, 1e-15 * (1.0 + x * x), "ndtr(ndtri(p))");
        }
        for p in [0.01, 0.1, 0.3] {
            assert_close(ndtri(1.0 - p), -ndtri(p), 1e-14, "symmetry");
        }
        assert_eq!(ndtri(0.0), f64::NEG_INFINITY);
        assert_eq!(ndtri(1.0), f64::INFINITY);
        assert!(ndtri(1.5).is_nan() && ndtri(f64::NAN).is_nan());
    }
}
