//! What the scientific operations cost, forward and forward plus reverse:
//! the FFT at 1024 and 2^16 points, interpolation of 100 points on a grid of
//! 10^4, and a long convolution, which goes through FFTs, beside the direct
//! sum it replaces.
//!
//! Run with `cargo bench --bench scientific`.

use criterion::{Criterion, criterion_group, criterion_main};
use jaxpurify::{ConvMode, Tensor, convolve, fft, interp, value_and_grad};
use std::hint::black_box;
use std::time::Duration;

/// Deterministic, non-periodic values in (-1.5, 1.5).
fn signal(n: usize, seed: f64) -> Tensor {
    let values: Vec<f64> = (0..n)
        .map(|i| (i as f64 * 0.37 + seed).sin() + 0.5 * (i as f64 * 0.011 * seed).cos())
        .collect();
    Tensor::from(values)
}

/// The FFT of a real signal, and the reverse sweep of a weighted power
/// spectrum `sum(w |fft(x)|^2)` (one transform forward, one back).
fn fft_at(c: &mut Criterion, n: usize) {
    let (x, w) = (signal(n, 1.0), signal(n, 2.0).exp());
    let mut group = c.benchmark_group(format!("fft_{n}"));
    group.bench_function("forward", |b| b.iter(|| fft(black_box(&x))));
    group.bench_function("value_and_grad_weighted_power", |b| {
        b.iter(|| value_and_grad(|x: &Tensor| (fft(x).abs2() * &w).sum(), black_box(&x)))
    });
    group.finish();
}

fn fft_1024(c: &mut Criterion) {
    fft_at(c, 1024);
}

fn fft_65536(c: &mut Criterion) {
    fft_at(c, 1 << 16);
}

/// 100 query points spread over a grid of 10^4 knots; the reverse sweep
/// differentiates both the query points and the values on the grid.
fn interp_100_on_10k(c: &mut Criterion) {
    let xp = Tensor::linspace(0.0, 10.0, 10_000);
    let fp = signal(10_000, 3.0);
    let x = Tensor::linspace(0.05, 9.95, 100) + signal(100, 4.0) * 0.01;
    let w = signal(100, 5.0);
    let mut group = c.benchmark_group("interp_100_on_10k");
    group.bench_function("forward", |b| {
        b.iter(|| interp(black_box(&x), black_box(&xp), black_box(&fp)))
    });
    group.bench_function("value_and_grad_points_and_values", |b| {
        b.iter(|| {
            value_and_grad(
                |p: &(Tensor, Tensor)| (interp(&p.0, &xp, &p.1) * &w).sum(),
                &(black_box(&x).clone(), black_box(&fp).clone()),
            )
        })
    });
    group.finish();
}

/// The full convolution by direct summation over plain slices, with the
/// four-lane dot product the library's direct path uses: the cost the FFT
/// path replaces.
fn convolve_full_direct(a: &[f64], v: &[f64]) -> Vec<f64> {
    let reversed: Vec<f64> = v.iter().rev().copied().collect();
    let pad = vec![0.0; v.len() - 1];
    let padded: Vec<f64> = pad.iter().chain(a).chain(&pad).copied().collect();
    padded
        .windows(v.len())
        .map(|window| dot(window, &reversed))
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [0.0; 4];
    for (p, q) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        for ((lane, x), y) in lanes.iter_mut().zip(p).zip(q) {
            *lane += x * y;
        }
    }
    let tail = a.len() - a.len() % 4;
    let rest: f64 = a[tail..].iter().zip(&b[tail..]).map(|(p, q)| p * q).sum();
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + rest
}

/// A signal of 2^14 points with a kernel of 1000, in full mode: 1.6 * 10^7
/// products summed directly, or three real FFTs of 18432 points (the
/// signal padded by 999 on each side, rounded up to a 5-smooth length).
fn convolve_16k_by_1k(c: &mut Criterion) {
    let (a, v) = (signal(1 << 14, 6.0), signal(1000, 7.0));
    let (a_raw, v_raw) = (a.to_vec(), v.to_vec());
    let w = signal((1 << 14) + 999, 8.0);
    let (direct, by_fft) = (
        convolve_full_direct(&a_raw, &v_raw),
        convolve(&a, &v, ConvMode::Full),
    );
    let scale = direct.iter().fold(0.0f64, |m, d| m.max(d.abs()));
    let agree = direct
        .iter()
        .zip(by_fft.as_slice())
        .all(|(d, f)| (d - f).abs() <= 1e-12 * scale);
    assert!(agree, "the direct baseline computes the same convolution");
    let mut group = c.benchmark_group("convolve_16384_by_1000_full");
    group.sample_size(20);
    group.bench_function("direct_sum_plain_slices", |b| {
        b.iter(|| convolve_full_direct(black_box(&a_raw), black_box(&v_raw)))
    });
    group.bench_function("fft_forward", |b| {
        b.iter(|| convolve(black_box(&a), black_box(&v), ConvMode::Full))
    });
    group.bench_function("fft_value_and_grad", |b| {
        b.iter(|| {
            value_and_grad(
                |p: &(Tensor, Tensor)| (convolve(&p.0, &p.1, ConvMode::Full) * &w).sum(),
                &(black_box(&a).clone(), black_box(&v).clone()),
            )
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = fft_1024, fft_65536, interp_100_on_10k, convolve_16k_by_1k
}
criterion_main!(benches);
