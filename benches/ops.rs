//! What one op costs, with and without differentiation, from one element to
//! a 512 x 512 matrix product.
//!
//! Each group sets an op on an untracked input (plain arithmetic: `record`
//! returns at once) beside the same op under `value_and_grad` (recording, the
//! reverse sweep and the derivative's own arithmetic), and where it helps a
//! baseline without this library: a plain `Vec<f64>` map for elementwise ops,
//! nalgebra's dgemm-backed product for matmul. On a scalar, `sum` returns its
//! input, so `scalar/value_and_grad_sum` is the machinery of one
//! differentiation with no op recorded and differences against it isolate the
//! cost of recording and differentiating one op; on three elements it is the
//! same with the `sum` op.
//!
//! Run with `cargo bench --bench ops`.

use criterion::{Criterion, criterion_group, criterion_main};
use jaxpurify::{Tensor, value_and_grad};
use std::hint::black_box;
use std::time::Duration;

/// Deterministic values in (0.5, 1.5), so `exp` stays finite and nothing is
/// special-cased.
fn sample(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let data = (0..n).map(|i| 1.0 + 0.5 * (i as f64 * 0.37).sin()).collect();
    Tensor::from_vec(data, shape).expect("length matches shape")
}

/// One op on a small tensor: alone, and recorded and differentiated.
fn small_tensor(c: &mut Criterion, name: &str, shape: &[usize]) {
    let x = sample(shape);
    let mut group = c.benchmark_group(name);
    group.bench_function("exp_untracked", |b| b.iter(|| black_box(&x).exp()));
    group.bench_function("mul_untracked", |b| b.iter(|| black_box(&x) * black_box(&x)));
    group.bench_function("value_and_grad_sum", |b| {
        b.iter(|| value_and_grad(|x: &Tensor| x.sum(), black_box(&x)))
    });
    group.bench_function("value_and_grad_exp_sum", |b| {
        b.iter(|| value_and_grad(|x: &Tensor| x.exp().sum(), black_box(&x)))
    });
    group.bench_function("value_and_grad_square_sum", |b| {
        b.iter(|| value_and_grad(|x: &Tensor| (x * x).sum(), black_box(&x)))
    });
    group.finish();
}

fn scalar(c: &mut Criterion) {
    // The sum of a scalar is the scalar itself: only the named op is recorded.
    small_tensor(c, "scalar", &[]);
}

fn three_elements(c: &mut Criterion) {
    small_tensor(c, "vec3", &[3]);
}

fn elementwise_million(c: &mut Criterion) {
    let x = sample(&[1_000_000]);
    let raw = x.to_vec();
    let mut group = c.benchmark_group("elementwise_1e6");
    group.sample_size(30);
    group.bench_function("raw_vec_exp", |b| {
        b.iter(|| black_box(&raw).iter().map(|v| v.exp()).collect::<Vec<f64>>())
    });
    group.bench_function("exp_untracked", |b| b.iter(|| black_box(&x).exp()));
    group.bench_function("raw_vec_mul", |b| {
        b.iter(|| black_box(&raw).iter().map(|v| v * v).collect::<Vec<f64>>())
    });
    group.bench_function("mul_untracked", |b| b.iter(|| black_box(&x) * black_box(&x)));
    group.bench_function("value_and_grad_exp_sum", |b| {
        b.iter(|| value_and_grad(|x: &Tensor| x.exp().sum(), black_box(&x)))
    });
    group.bench_function("value_and_grad_square_sum", |b| {
        b.iter(|| value_and_grad(|x: &Tensor| (x * x).sum(), black_box(&x)))
    });
    group.finish();
}

fn matmul_512(c: &mut Criterion) {
    let (a, b) = (sample(&[512, 512]), sample(&[512, 512]).exp());
    let (a_nalgebra, b_nalgebra) = (
        a.to_dmatrix().expect("a matrix"),
        b.to_dmatrix().expect("a matrix"),
    );
    let mut group = c.benchmark_group("matmul_512");
    group.sample_size(10);
    group.bench_function("nalgebra_product", |bench| {
        bench.iter(|| black_box(&a_nalgebra) * black_box(&b_nalgebra))
    });
    group.bench_function("untracked", |bench| {
        bench.iter(|| black_box(&a).matmul(black_box(&b)))
    });
    // Both operands need gradients: one product forward, two backward.
    group.bench_function("value_and_grad_sum", |bench| {
        bench.iter(|| {
            value_and_grad(
                |ab: &(Tensor, Tensor)| ab.0.matmul(&ab.1).sum(),
                &(black_box(&a).clone(), black_box(&b).clone()),
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
    targets = scalar, three_elements, elementwise_million, matmul_512
}
criterion_main!(benches);
