//! The Cholesky factorisation at n = 256 and 1024: the blocked kernel alone,
//! beside nalgebra's unblocked `Cholesky` on the same matrix (the input copy
//! into a `DMatrix` included, as a row-major tensor needs it), and the factor
//! with its gradient (`value_and_grad` of `sum(L * W)` for a fixed `W`), whose
//! backward pass is one product and two triangular solves with `n` right-hand
//! sides.
//!
//! Run with `cargo bench --bench linalg`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use jaxpurify::{Tensor, linalg, value_and_grad};
use std::hint::black_box;
use std::time::Duration;

/// `B B^T + n I` for deterministic `B` with entries in (-1, 1).
fn positive_definite(n: usize) -> Tensor {
    let data = (0..n * n)
        .map(|i| ((i * i) as f64 * 0.7311 + 0.3).sin())
        .collect();
    let b = Tensor::from_vec(data, [n, n]).expect("length matches shape");
    b.matmul(&b.t()) + Tensor::eye(n) * n as f64
}

fn cholesky(c: &mut Criterion) {
    let mut group = c.benchmark_group("cholesky");
    group.sample_size(10);
    for n in [256, 1024] {
        let a = positive_definite(n);
        let w = Tensor::linspace(-1.0, 1.0, n * n).reshape([n, n]);
        group.bench_with_input(BenchmarkId::new("forward", n), &a, |bench, a| {
            bench.iter(|| linalg::cholesky(black_box(a)).expect("positive definite"))
        });
        group.bench_with_input(BenchmarkId::new("nalgebra_forward", n), &a, |bench, a| {
            bench.iter(|| {
                let matrix = black_box(a).to_dmatrix().expect("a matrix");
                matrix.cholesky().expect("positive definite")
            })
        });
        group.bench_with_input(BenchmarkId::new("value_and_grad", n), &a, |bench, a| {
            bench.iter(|| {
                value_and_grad(
                    |a: &Tensor| (linalg::cholesky(a).expect("positive definite") * &w).sum(),
                    black_box(a),
                )
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = cholesky
}
criterion_main!(benches);
