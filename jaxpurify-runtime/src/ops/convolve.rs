//! 1-d convolution and cross-correlation with NumPy's modes
//! ([`convolve`], [`correlate`]).
//!
//! Both are windows of one primitive, the *valid* correlation
//! `y[i] = sum_j x[i + j] k[j]` of a signal with a shorter kernel: the other
//! modes pad the signal with zeros first, and convolution reverses the
//! kernel. That primitive's adjoints are again valid correlations (of the
//! padded gradient with the reversed kernel, and of the signal with the
//! gradient), so its derivative rule is written with itself, `pad` and
//! `flip`, and derivatives of every order follow.
//!
//! The primitive sums directly for short kernels and through real FFTs for
//! long ones (`convolve_fft.rs`), choosing per call from the two lengths; the
//! derivative's correlations choose again from theirs.

use super::convolve_fft::{ChooseSummation, Summation, correlate_valid_fft, faster_summation};
use crate::autodiff::graph::apply_op;
use crate::compile::kernel::Kernel;
use crate::shape::Shape;
use crate::simd::dispatch_avx2;
use crate::tensor::Tensor;
use smallvec::smallvec;

/// Which part of a full convolution or correlation to return (NumPy's
/// `mode`), for inputs of lengths `N` and `M`.
///
/// ```
/// use jaxpurify_runtime::{convolve, ConvMode, Tensor};
/// let (a, v) = (Tensor::zeros([5]), Tensor::zeros([3]));
/// let lengths = [ConvMode::Full, ConvMode::Same, ConvMode::Valid].map(|m| convolve(&a, &v, m).numel());
/// assert_eq!(lengths, [7, 5, 3]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvMode {
    /// Every overlap of the two inputs: length `N + M - 1`.
    Full,
    /// The middle of the full result, of length `max(N, M)`, centred as NumPy
    /// centres it (for an even shorter length the window starts one place
    /// later in `correlate` when the first input is the shorter one).
    Same,
    /// Only complete overlaps: length `max(N, M) - min(N, M) + 1`.
    Valid,
}

/// The discrete linear convolution of two 1-d tensors (NumPy's `convolve`):
/// `full[k] = sum_i a[i] v[k - i]`, windowed by `mode`. It is commutative
/// in every mode: as in NumPy, the shorter input slides along the longer.
///
/// Differentiable in both inputs: the gradient of each is the valid
/// correlation of the (zero-padded) output gradient with the other input.
/// Computed by direct summation, `O(N M)`, or through real FFTs,
/// `O(N log N)`, whichever is faster for the lengths.
///
/// ```
/// use jaxpurify_runtime::{convolve, ConvMode, Tensor};
/// let (a, v) = (Tensor::from([1.0, 2.0, 3.0]), Tensor::from([0.0, 1.0, 0.5]));
/// // np.convolve([1, 2, 3], [0, 1, 0.5], mode) for each mode
/// assert_eq!(convolve(&a, &v, ConvMode::Full).to_vec(), vec![0.0, 1.0, 2.5, 4.0, 1.5]);
/// assert_eq!(convolve(&a, &v, ConvMode::Same).to_vec(), vec![1.0, 2.5, 4.0]);
/// assert_eq!(convolve(&a, &v, ConvMode::Valid).to_vec(), vec![2.5]);
/// ```
///
/// # Panics
/// When an input is not 1-d or is empty.
#[track_caller]
pub fn convolve(a: &Tensor, v: &Tensor, mode: ConvMode) -> Tensor {
    convolve_by(a, v, mode, faster_summation)
}

/// [`convolve`] with every valid correlation, derivatives included, summed as
/// `choose` says.
#[track_caller]
fn convolve_by(a: &Tensor, v: &Tensor, mode: ConvMode, choose: ChooseSummation) -> Tensor {
    check_inputs("convolve", a, v);
    let (long, short) = if v.numel() > a.numel() { (v, a) } else { (a, v) };
    let (start, len) = window(mode, long.numel(), short.numel(), (short.numel() - 1) / 2);
    // Convolving is correlating with the kernel reversed.
    correlation_window(long, &short.flip(0), start, len, choose)
}

/// The cross-correlation of two 1-d tensors (NumPy's `correlate`, which for
/// real inputs does not reverse `v` and has nothing to conjugate):
/// `full[k] = sum_j a[j + k - (M - 1)] v[j]` for `k` in `0..N + M - 1`,
/// windowed by `mode`. Swapping the inputs reverses the full result.
///
/// Differentiable in both inputs, like [`convolve`]. Computed by direct
/// summation or through real FFTs, like [`convolve`].
///
/// ```
/// use jaxpurify_runtime::{correlate, ConvMode, Tensor};
/// let (a, v) = (Tensor::from([1.0, 2.0, 3.0]), Tensor::from([0.0, 1.0, 0.5]));
/// // np.correlate([1, 2, 3], [0, 1, 0.5], mode) for each mode
/// assert_eq!(correlate(&a, &v, ConvMode::Full).to_vec(), vec![0.5, 2.0, 3.5, 3.0, 0.0]);
/// assert_eq!(correlate(&a, &v, ConvMode::Same).to_vec(), vec![2.0, 3.5, 3.0]);
/// assert_eq!(correlate(&a, &v, ConvMode::Valid).to_vec(), vec![3.5]);
/// ```
///
/// # Panics
/// When an input is not 1-d or is empty.
#[track_caller]
pub fn correlate(a: &Tensor, v: &Tensor, mode: ConvMode) -> Tensor {
    correlate_by(a, v, mode, faster_summation)
}

/// [`correlate`] with every valid correlation, derivatives included, summed
/// as `choose` says.
#[track_caller]
fn correlate_by(a: &Tensor, v: &Tensor, mode: ConvMode, choose: ChooseSummation) -> Tensor {
    check_inputs("correlate", a, v);
    let (n, m) = (a.numel(), v.numel());
    // NumPy computes with the longer input first and reverses the result
    // when it swapped them, which moves an even-length Same window by one.
    let same_start = if n >= m { (m - 1) / 2 } else { n / 2 };
    let (start, len) = window(mode, n.max(m), n.min(m), same_start);
    correlation_window(a, v, start, len, choose)
}

#[track_caller]
fn check_inputs(op: &str, a: &Tensor, v: &Tensor) {
    assert!(
        a.ndim() == 1 && v.ndim() == 1,
        "{op}: inputs must be 1-d, got shapes {} and {}",
        a.shape(),
        v.shape()
    );
    assert!(
        !a.is_empty() && !v.is_empty(),
        "{op}: inputs must not be empty, got shapes {} and {}",
        a.shape(),
        v.shape()
    );
}

/// The start and length, in the full result, of a mode's window for inputs
/// of lengths `long >= short`; `same_start` is where Same begins.
fn window(mode: ConvMode, long: usize, short: usize, same_start: usize) -> (usize, usize) {
    match mode {
        ConvMode::Full => (0, long + short - 1),
        ConvMode::Same => (same_start, long),
        ConvMode::Valid => (short - 1, long - short + 1),
    }
}

/// Elements `start..start + len` of the full correlation
/// `full[k] = sum_j a[j + k - (M - 1)] v[j]`, computed as the valid
/// correlation of `a` zero-padded just enough for that window. The window
/// must lie within `M - 1 >= start` and `start + len >= N` (every mode's
/// does), so that both paddings are non-negative.
fn correlation_window(a: &Tensor, v: &Tensor, start: usize, len: usize, choose: ChooseSummation) -> Tensor {
    let (n, m) = (a.numel(), v.numel());
    if m > n {
        // Sliding the shorter input costs len * n instead of len * m; the
        // full correlation of (v, a) is that of (a, v) reversed.
        return correlation_window(v, a, n + m - 1 - start - len, len, choose).flip(0);
    }
    let padded = a.pad(&[(m - 1 - start, start + len - n)], 0.0);
    correlate_valid(&padded, v, choose)
}

/// `y[i] = sum_j x[i + j] k[j]` for `i` in `0..n - m + 1`, with `n >= m >= 1`,
/// summed as `choose` says for these lengths.
fn correlate_valid(x: &Tensor, kernel: &Tensor, choose: ChooseSummation) -> Tensor {
    let (n, m) = (x.numel(), kernel.numel());
    debug_assert!(n >= m && m >= 1, "correlate_valid: lengths {n} and {m}");
    // The rule below is written with `correlate_valid` itself, so the
    // derivative's correlations (of other lengths) choose their own kernels.
    let summation = ValidCorrelation(choose(n, m));
    // With L = <g, y>: dL/dx[p] = sum_i g[i] k[p - i], the full convolution
    // of g with k (the valid correlation of g padded by m - 1 on both sides
    // with k reversed); dL/dk[j] = sum_i g[i] x[i + j], the valid
    // correlation of x with g.
    apply_op(&summation, &[x, kernel], Shape::from(n - m + 1), move |c| {
        let [x, kernel] = [&c.inputs[0], &c.inputs[1]];
        smallvec![
            c.needs(0)
                .then(|| correlate_valid(&c.grad.pad(&[(m - 1, m - 1)], 0.0), &kernel.flip(0), choose)),
            c.needs(1).then(|| correlate_valid(x, c.grad, choose)),
        ]
    })
}

/// The kernel of [`correlate_valid`], summing as chosen for its lengths.
#[derive(Clone)]
struct ValidCorrelation(Summation);

impl Kernel for ValidCorrelation {
    fn name(&self) -> &'static str {
        "correlate_valid"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        match self.0 {
            Summation::Direct => correlate_valid_direct(inputs[0], inputs[1], out),
            Summation::Fft => out.copy_from_slice(&correlate_valid_fft(inputs[0], inputs[1])),
        }
    }
}

dispatch_avx2! {
    /// The valid correlation by direct summation, into `out` (see
    /// [`correlate_in_blocks`]).
    fn correlate_valid_direct(x: &[f64], kernel: &[f64], out: &mut [f64]) => correlate_in_blocks
}

/// The valid correlation by direct summation, into `out`. Each output sums
/// its taps in order from zero. Outputs are taken sixteen, then eight, then
/// four at a time, so that their sums stay in registers while the taps go
/// by and each tap's run of the signal is one vectorised loop; the last few
/// are summed one by one.
#[inline(always)]
fn correlate_in_blocks(x: &[f64], kernel: &[f64], out: &mut [f64]) {
    let mut done = correlate_blocks::<16>(x, kernel, out, 0);
    done = correlate_blocks::<8>(x, kernel, out, done);
    done = correlate_blocks::<4>(x, kernel, out, done);
    for (i, o) in out[done..].iter_mut().enumerate() {
        let window = &x[done + i..done + i + kernel.len()];
        *o = kernel.iter().zip(window).fold(0.0, |sum, (&k, &v)| sum + k * v);
    }
}

/// Outputs `from..` of [`correlate_valid_direct`] in blocks of `W`, as many
/// as fit; returns where they end.
#[inline(always)]
fn correlate_blocks<const W: usize>(x: &[f64], kernel: &[f64], out: &mut [f64], from: usize) -> usize {
    let mut start = from;
    for block in out[from..].chunks_exact_mut(W) {
        let mut sums = [0.0; W];
        // The runs of the signal each tap meets: W values, one step apart.
        let runs = x[start..start + kernel.len() + W - 1].windows(W);
        for (run, &k) in runs.zip(kernel) {
            for (sum, &v) in sums.iter_mut().zip(run) {
                *sum += k * v;
            }
        }
        block.copy_from_slice(&sums);
        start += W;
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grad;
    use crate::ops::layout::concatenate;
    use crate::testing::{check_grad, jvp_vjp_pair};
    use proptest::prelude::*;

    const MODES: [ConvMode; 3] = [ConvMode::Full, ConvMode::Same, ConvMode::Valid];

    type Conv = fn(&Tensor, &Tensor, ConvMode) -> Tensor;
    type ConvBy = fn(&Tensor, &Tensor, ConvMode, ChooseSummation) -> Tensor;
    const OPS: [(&str, ConvBy); 2] = [("convolve", convolve_by), ("correlate", correlate_by)];

    fn always_direct(_: usize, _: usize) -> Summation {
        Summation::Direct
    }

    fn always_fft(_: usize, _: usize) -> Summation {
        Summation::Fft
    }

    /// Every mode with each kernel, forced for every correlation including
    /// the derivatives'.
    fn modes_and_summations() -> impl Iterator<Item = (ConvMode, ChooseSummation)> {
        let summations: [ChooseSummation; 2] = [always_direct, always_fft];
        MODES
            .into_iter()
            .flat_map(move |mode| summations.map(|choose| (mode, choose)))
    }

    /// The largest difference relative to the largest magnitude: FFT
    /// rounding errors scale with the whole signal, not with each element,
    /// so elements near zero cannot be compared one by one.
    fn relative_difference(actual: &Tensor, expected: &Tensor) -> f64 {
        assert_eq!(actual.shape(), expected.shape());
        let scale = expected
            .as_slice()
            .iter()
            .fold(f64::MIN_POSITIVE, |m, v| m.max(v.abs()));
        let diff = actual.as_slice().iter().zip(expected.as_slice());
        diff.fold(0.0, |m: f64, (a, e)| m.max((a - e).abs())) / scale
    }

    fn assert_close(actual: &Tensor, expected: &[f64], what: &str) {
        assert_eq!(
            actual.to_vec().len(),
            expected.len(),
            "{what}: {actual:?} vs {expected:?}"
        );
        for (a, e) in actual.as_slice().iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{what}: {actual:?} vs {expected:?}");
        }
    }

    #[test]
    fn values_match_numpy_in_every_mode_and_order() {
        let a = Tensor::from([1.0, -2.0, 3.0, 0.5, 4.0]);
        let odd = Tensor::from([2.0, 1.0, -1.0]);
        let even = Tensor::from([1.0, 2.0]);
        // np.convolve(x, y, mode) and np.correlate(x, y, mode), mode = full, same, valid.
        #[rustfmt::skip]
        let cases: [(Conv, &Tensor, &Tensor, [&[f64]; 3]); 8] = [
            (convolve, &a, &odd, [&[2.0, -3.0, 3.0, 6.0, 5.5, 3.5, -4.0], &[-3.0, 3.0, 6.0, 5.5, 3.5], &[3.0, 6.0, 5.5]]),
            (convolve, &odd, &a, [&[2.0, -3.0, 3.0, 6.0, 5.5, 3.5, -4.0], &[-3.0, 3.0, 6.0, 5.5, 3.5], &[3.0, 6.0, 5.5]]),
            (convolve, &a, &even, [&[1.0, 0.0, -1.0, 6.5, 5.0, 8.0], &[1.0, 0.0, -1.0, 6.5, 5.0], &[0.0, -1.0, 6.5, 5.0]]),
            (convolve, &even, &a, [&[1.0, 0.0, -1.0, 6.5, 5.0, 8.0], &[1.0, 0.0, -1.0, 6.5, 5.0], &[0.0, -1.0, 6.5, 5.0]]),
            (correlate, &a, &odd, [&[-1.0, 3.0, -3.0, -1.5, 2.5, 5.0, 8.0], &[3.0, -3.0, -1.5, 2.5, 5.0], &[-3.0, -1.5, 2.5]]),
            (correlate, &odd, &a, [&[8.0, 5.0, 2.5, -1.5, -3.0, 3.0, -1.0], &[5.0, 2.5, -1.5, -3.0, 3.0], &[2.5, -1.5, -3.0]]),
            (correlate, &a, &even, [&[2.0, -3.0, 4.0, 4.0, 8.5, 4.0], &[2.0, -3.0, 4.0, 4.0, 8.5], &[-3.0, 4.0, 4.0, 8.5]]),
            (correlate, &even, &a, [&[4.0, 8.5, 4.0, 4.0, -3.0, 2.0], &[8.5, 4.0, 4.0, -3.0, 2.0], &[8.5, 4.0, 4.0, -3.0]]),
        ];
        for (k, (op, x, y, expected)) in cases.into_iter().enumerate() {
            for (mode, want) in MODES.into_iter().zip(expected) {
                let what = format!("case {k}, lengths {} and {}, {mode:?}", x.numel(), y.numel());
                assert_close(&op(x, y, mode), want, &what);
            }
        }
        // A one-element input scales the other in every mode: np.convolve([3], [1, 2], mode) = [3, 6].
        for mode in MODES {
            assert_close(
                &convolve(&Tensor::from([3.0]), &even, mode),
                &[3.0, 6.0],
                "scaling",
            );
        }
    }

    #[test]
    fn hand_derived_gradients() {
        // c = np.convolve([1, 2, 3], [0, 1, 0.5]) = [0, 1, 2.5, 4, 1.5]; L = sum(w c),
        // w = [1, 2, 3, 4, 5]. dL/da[i] = sum_j w[i + j] v[j]:
        // [2 + 1.5, 3 + 2, 4 + 2.5] = [3.5, 5, 6.5]; dL/dv[j] = sum_i w[i + j] a[i]:
        // [1 + 4 + 9, 2 + 6 + 12, 3 + 8 + 15] = [14, 20, 26].
        let w = Tensor::from([1.0, 2.0, 3.0, 4.0, 5.0]);
        let (ga, gv) = grad(
            |p: &(Tensor, Tensor)| (convolve(&p.0, &p.1, ConvMode::Full) * &w).sum(),
            &(Tensor::from([1.0, 2.0, 3.0]), Tensor::from([0.0, 1.0, 0.5])),
        );
        assert_close(&ga, &[3.5, 5.0, 6.5], "d/da");
        assert_close(&gv, &[14.0, 20.0, 26.0], "d/dv");
    }

    #[test]
    fn gradients_match_central_differences_for_every_mode_and_length_order() {
        let long = Tensor::from([0.3, -1.2, 2.0, 0.7, -0.4, 1.1]);
        let short = Tensor::from([1.5, -0.5, 0.25, 2.0]);
        let single = Tensor::from([-0.8]);
        let pairs = [
            (&long, &short),
            (&short, &long),
            (&short, &short),
            (&long, &single),
            (&single, &long),
        ];
        for (name, op) in OPS {
            for (mode, choose) in modes_and_summations() {
                for (a, v) in pairs {
                    let what = format!("{name} {mode:?} with lengths {} and {}", a.numel(), v.numel());
                    check_grad(|x| op(&x[0], &x[1], mode, choose), &[a.clone(), v.clone()])
                        .assert_ok_for(&what);
                }
            }
        }
    }

    #[test]
    fn second_derivatives_in_both_arguments() {
        // f = sum(w conv^2) is quadratic in each input and quartic overall,
        // so its gradient exercises the rule of every correlation it used.
        let (a, v) = (
            Tensor::from([0.3, -1.2, 2.0, 0.7, -0.4]),
            Tensor::from([1.5, -0.5, 0.25]),
        );
        for (name, op) in OPS {
            for (mode, choose) in modes_and_summations() {
                for (x, y) in [(&a, &v), (&v, &a)] {
                    let gradient = |p: &[Tensor]| {
                        let g = grad(
                            |q: &Vec<Tensor>| {
                                let c = op(&q[0], &q[1], mode, choose);
                                let w = Tensor::linspace(1.0, 2.0, c.numel());
                                (&c * &c * w).sum()
                            },
                            &p.to_vec(),
                        );
                        concatenate(&g, 0)
                    };
                    let what = format!("{name}'' {mode:?} with lengths {} and {}", x.numel(), y.numel());
                    check_grad(gradient, &[x.clone(), y.clone()]).assert_ok_for(&what);
                }
            }
        }
    }

    #[test]
    fn forward_mode_agrees_with_reverse_mode() {
        let point = (
            Tensor::from([0.3, -1.2, 2.0, 0.7]),
            Tensor::from([1.5, -0.5, 0.25, 1.0, 2.0]),
        );
        let tangent = (
            Tensor::from([1.0, 0.5, -0.3, 0.2]),
            Tensor::from([0.4, -1.0, 0.6, 0.1, 0.9]),
        );
        for (name, op) in OPS {
            for (mode, choose) in modes_and_summations() {
                let f = |p: &(Tensor, Tensor)| op(&p.0, &p.1, mode, choose);
                let (forward, reverse) = jvp_vjp_pair(f, &point, &tangent);
                assert!(
                    (forward - reverse).abs() < 1e-12,
                    "{name} {mode:?}: {forward} vs {reverse}"
                );
            }
        }
    }

    #[test]
    fn long_kernels_take_the_fft_path_which_matches_direct_summation() {
        // Lengths where the FFT path wins for the forward correlation and
        // for both correlations of its derivative (Full mode pads a to 499).
        let (n, m) = (300, 100);
        for (long, short) in [(499, m), (n, m), (n + m - 1, m), (n, n - m + 1)] {
            assert_eq!(faster_summation(long, short), Summation::Fft, "{long}, {short}");
        }
        let a = Tensor::linspace(0.0, 40.0, n).sin() + Tensor::linspace(-1.0, 2.0, n);
        let v = Tensor::linspace(0.0, 17.0, m).cos();
        for (name, op) in OPS {
            for mode in MODES {
                for (x, y) in [(&a, &v), (&v, &a)] {
                    let by_fft = op(x, y, mode, faster_summation);
                    let direct = op(x, y, mode, always_direct);
                    let error = relative_difference(&by_fft, &direct);
                    assert!(error < 1e-12, "{name} {mode:?}: relative error {error:e}");
                }
                let what = format!("{name} {mode:?} of lengths {n} and {m}");
                check_grad(
                    |p| op(&p[0], &p[1], mode, faster_summation),
                    &[a.clone(), v.clone()],
                )
                .assert_ok_for(&what);
            }
        }
    }

    #[test]
    fn the_direct_sum_for_this_cpu_gives_the_generic_copy_s_bits() {
        // Every block width and the remainder, on a CPU with AVX2 through
        // another copy of the loops, which must not change a bit.
        let x: Vec<f64> = (0..300)
            .map(|i| (i as f64 * 0.37).sin() * 1e3f64.powf((i % 5) as f64 - 2.0))
            .collect();
        for m in [1, 3, 15, 64, 263, 300] {
            let kernel: Vec<f64> = (0..m).map(|j| (j as f64 * 1.7).cos()).collect();
            let (mut dispatched, mut generic) = (vec![0.0; 301 - m], vec![0.0; 301 - m]);
            correlate_valid_direct(&x, &kernel, &mut dispatched);
            correlate_in_blocks(&x, &kernel, &mut generic);
            assert!(
                dispatched
                    .iter()
                    .zip(&generic)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{m} taps"
            );
        }
    }

    #[test]
    fn short_kernels_sum_directly() {
        for (n, m) in [(1, 1), (64, 16), (100_000, 3), (5000, 5000)] {
            assert_eq!(faster_summation(n, m), Summation::Direct, "{n}, {m}");
        }
    }

    fn signal(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<f64>> {
        proptest::collection::vec(-3.0f64..3.0, len)
    }

    proptest! {
        #[test]
        fn fft_summation_matches_direct_summation(a in signal(1..160), v in signal(1..160)) {
            // Random lengths: most are not 5-smooth, so the FFT length exceeds n.
            // Rounding in the transforms scales with |a| |v|, which bounds
            // every output value; a valid correlation can cancel to values far
            // below it, so the error is measured against that bound.
            let (a, v) = (Tensor::from(a), Tensor::from(v));
            let bound = (a.square().sum().sqrt() * v.square().sum().sqrt()).item().max(f64::MIN_POSITIVE);
            for (name, op) in OPS {
                for mode in MODES {
                    let (by_fft, direct) = (op(&a, &v, mode, always_fft), op(&a, &v, mode, always_direct));
                    let error = (by_fft - direct).abs().max().item() / bound;
                    prop_assert!(error < 1e-14, "{} {:?}: error {:e} of |a| |v|", name, mode, error);
                }
            }
        }

        #[test]
        fn convolve_is_commutative(a in signal(1..12), v in signal(1..12)) {
            let (a, v) = (Tensor::from(a), Tensor::from(v));
            for mode in MODES {
                let (av, va) = (convolve(&a, &v, mode), convolve(&v, &a, mode));
                prop_assert_eq!(av.shape(), va.shape());
                for (p, q) in av.as_slice().iter().zip(va.as_slice()) {
                    prop_assert!((p - q).abs() < 1e-12);
                }
            }
        }

        #[test]
        fn correlation_is_convolution_with_the_kernel_reversed(a in signal(1..12), v in signal(1..12)) {
            // Full mode: correlate(a, v) = convolve(a, v[::-1]) = correlate(v, a)[::-1].
            let (a, v) = (Tensor::from(a), Tensor::from(v));
            let direct = correlate(&a, &v, ConvMode::Full);
            let via_convolve = convolve(&a, &v.flip(0), ConvMode::Full);
            let swapped = correlate(&v, &a, ConvMode::Full).flip(0);
            for ((p, q), r) in direct.as_slice().iter().zip(via_convolve.as_slice()).zip(swapped.as_slice()) {
                prop_assert!((p - q).abs() < 1e-12 && (p - r).abs() < 1e-12);
            }
        }
    }

    #[test]
    #[should_panic(expected = "convolve: inputs must be 1-d, got shapes [2, 2] and [3]")]
    fn matrices_are_rejected() {
        let _ = convolve(&Tensor::zeros([2, 2]), &Tensor::zeros([3]), ConvMode::Full);
    }

    #[test]
    #[should_panic(expected = "correlate: inputs must not be empty, got shapes [3] and [0]")]
    fn empty_inputs_are_rejected() {
        let _ = correlate(&Tensor::zeros([3]), &Tensor::zeros([0]), ConvMode::Same);
    }

    #[test]
    fn compiled_convolutions_match_at_another_point_in_every_mode_and_summation() {
        // Inputs in both orders, so that the shorter one slides either way.
        let point = |shift: f64| {
            (
                Tensor::linspace(-1.0, 2.0, 7).sin() + shift,
                Tensor::from([0.5, -1.0, 2.0 * shift]),
            )
        };
        let direction = point(0.7);
        for (_, op) in OPS {
            for (mode, choose) in modes_and_summations() {
                let loss = |p: &(Tensor, Tensor)| {
                    (op(&p.0, &p.1, mode, choose).sin().sum() + op(&p.1, &p.0, mode, choose).square().sum())
                        * p.1.sum()
                };
                let f = |p: &(Tensor, Tensor)| {
                    let (value, gradient) = crate::value_and_grad(loss, p);
                    (value, gradient, crate::hvp(loss, p, &direction))
                };
                crate::testing::assert_compiles_exactly(f, &point(0.2), &[point(-1.3)]);
            }
        }
    }
}
