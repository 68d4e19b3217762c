//! The dense kernels of the linear-algebra family, through the public ops,
//! at n = 100 to 2000 (`docs/performance.md` has the results):
//!
//! * `cholesky/forward`: the factorisation, beside `nalgebra_forward`,
//!   nalgebra's own `Cholesky` on the same matrix (the copy into a
//!   `DMatrix` included, as a row-major tensor needs it);
//! * `cholesky/value_and_grad`: with its reverse mode, for `sum(L * W)` at
//!   a fixed `W`;
//! * `logdet/value_and_grad`: `ln det A` and its gradient `A^{-1}`;
//! * `solve_triangular/{vector,matrix}`: `L x = b` for one right-hand side
//!   and for `n`, and `solve_triangular/inverse`, `L^{-1}` as the solve of
//!   the identity;
//! * `solve_triangular/value_and_grad`: a solve and its gradient in both
//!   the factor and one right-hand side, as a likelihood takes it;
//! * `lu/{solve,inv,slogdet}`: the general solve with its gradient in the
//!   matrix and one right-hand side, the inverse, and `ln |det A|` with its
//!   gradient, all through the LU factorisation.
//!
//! Run with `cargo bench --bench linalg`; `-- cholesky/forward/1000` picks
//! one row.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use jaxpurify::linalg::{self, Transpose, Triangle};
use jaxpurify::{Tensor, value_and_grad};
use std::hint::black_box;
use std::time::Duration;

const SIZES: [usize; 5] = [100, 250, 500, 1000, 2000];

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
    for n in SIZES {
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
    let mut group = c.benchmark_group("logdet");
    for n in SIZES {
        let a = positive_definite(n);
        group.bench_with_input(BenchmarkId::new("value_and_grad", n), &a, |bench, a| {
            bench.iter(|| {
                value_and_grad(
                    |a: &Tensor| linalg::logdet(a).expect("positive definite"),
                    black_box(a),
                )
            })
        });
    }
    group.finish();
}

fn solve_triangular(c: &mut Criterion) {
    let mut group = c.benchmark_group("solve_triangular");
    for n in SIZES {
        let l = linalg::cholesky(&positive_definite(n)).expect("positive definite");
        let vector = Tensor::linspace(-1.0, 1.0, n);
        let matrix = Tensor::linspace(-1.0, 1.0, n * n).reshape([n, n]);
        let solve =
            |b: &Tensor| linalg::solve_triangular(&l, b, Triangle::Lower, Transpose::No).expect("regular");
        group.bench_with_input(BenchmarkId::new("vector", n), &vector, |bench, b| {
            bench.iter(|| solve(black_box(b)))
        });
        group.bench_with_input(BenchmarkId::new("matrix", n), &matrix, |bench, b| {
            bench.iter(|| solve(black_box(b)))
        });
        let identity = Tensor::eye(n);
        group.bench_with_input(BenchmarkId::new("inverse", n), &identity, |bench, b| {
            bench.iter(|| solve(black_box(b)))
        });
        group.bench_with_input(BenchmarkId::new("value_and_grad", n), &l, |bench, l| {
            bench.iter(|| {
                let loss = |v: &[Tensor; 2]| {
                    let z = linalg::solve_triangular(&v[0], &v[1], Triangle::Lower, Transpose::No);
                    z.expect("regular").square().sum()
                };
                value_and_grad(loss, &[black_box(l).clone(), vector.clone()])
            })
        });
    }
    group.finish();
}

fn lu(c: &mut Criterion) {
    let mut group = c.benchmark_group("lu");
    for n in SIZES {
        // Not symmetric, so that the factorisation exchanges rows.
        let a = positive_definite(n) + Tensor::linspace(-1.0, 1.0, n * n).reshape([n, n]);
        let b = Tensor::linspace(-1.0, 1.0, n);
        group.bench_with_input(BenchmarkId::new("solve", n), &a, |bench, a| {
            bench.iter(|| {
                let loss = |v: &[Tensor; 2]| linalg::solve(&v[0], &v[1]).expect("regular").square().sum();
                value_and_grad(loss, &[black_box(a).clone(), b.clone()])
            })
        });
        group.bench_with_input(BenchmarkId::new("inv", n), &a, |bench, a| {
            bench.iter(|| linalg::inv(black_box(a)).expect("regular"))
        });
        group.bench_with_input(BenchmarkId::new("slogdet", n), &a, |bench, a| {
            bench.iter(|| value_and_grad(|a: &Tensor| linalg::slogdet(a).1, black_box(a)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = cholesky, solve_triangular, lu
}
criterion_main!(benches);
