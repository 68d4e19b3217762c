//! Workloads beyond the reference set: Gaussian mixtures, a generalised
//! linear model on a large design matrix, small hierarchical models and
//! log-normal fields through 2-D and 3-D FFTs, each at two or three sizes.
//!
//! Each model (`workloads/models.rs`) is compiled for its value
//! (`c_jit_forward`) and its value and gradient (`d_jit_value_and_grad`),
//! which `scripts/bench_workloads_jax.py` times for the same models on JAX
//! under the same ids (`model/measurement/size`). `z_hand_value_and_grad`
//! times the same formula written by hand (`workloads/hand.rs`), checked
//! against the compiled gradient before anything is timed.
//!
//! Run with `cargo bench --bench workloads`; `scripts/compare_with_jax.sh`
//! runs it beside JAX, on both cores and pinned to one. For profiling,
//! `WORKLOADS_ONLY=mixture,glm` sets up only those models (criterion's
//! filter skips timing, not the compiling before it), `WORKLOADS_STEPS=1`
//! prints what each program's steps are, `WORKLOADS_SIZE="d=5 k=20 n=10000"`
//! times only the measurements of that size, and `WORKLOADS_BEST_OF=7` prints
//! the best of seven timed loops of each measurement instead of running
//! criterion (steadier than a median on a busy machine, for A/B runs).

#[path = "workloads/hand.rs"]
mod hand;
#[path = "workloads/models.rs"]
mod models;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use jaxpurify::prelude::*;
use models::{hierarchical, logistic_regression, lognormal_field, mixture};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::hint::black_box;
use std::time::Duration;

fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// Whether `WORKLOADS_ONLY` (a comma-separated list) names `model`, or is unset.
fn wanted(model: &str) -> bool {
    std::env::var("WORKLOADS_ONLY").map_or(true, |only| only.split(',').any(|m| m == model))
}

fn group<'a>(c: &'a mut Criterion, model: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(model);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    g.sample_size(20);
    g
}

/// Times the compiled value, the compiled value and gradient, and the
/// hand-written value and gradient of `model` at `params`, after checking
/// that the hand-written code computes what the model does.
fn suite<M: Model<Output = Tensor>>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    size: &str,
    model: &M,
    params: &M::Params,
    fixed: &M::Fixed,
    mut hand: impl FnMut(&[f64], &mut [f64]) -> f64,
) {
    if std::env::var("WORKLOADS_SIZE").is_ok_and(|only| only != size) {
        return;
    }
    let theta = params.ravel();
    let forward = model.compile_apply(params, fixed).unwrap();
    let value_and_grad = model.compile_output_and_grad(params, fixed).unwrap();
    let (mut gradient, mut value) = (vec![0.0; theta.len()], [0.0]);
    let mut by_hand = vec![0.0; theta.len()];
    if std::env::var("WORKLOADS_STEPS").is_ok() {
        println!(
            "{size}: forward {} steps {:?}",
            forward.num_steps(),
            forward.step_counts()
        );
        println!(
            "{size}: value and grad {} steps {:?}",
            value_and_grad.num_steps(),
            value_and_grad.step_counts()
        );
    }
    let expected = value_and_grad.value_and_grad_flat(&theta, &mut gradient).unwrap();
    assert_agrees(size, expected, &gradient, hand(&theta, &mut by_hand), &by_hand);
    if let Some(loops) = std::env::var("WORKLOADS_BEST_OF")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        best_of(loops, &format!("{size} c_jit_forward"), || {
            forward.call_flat(black_box(&theta), &mut value).unwrap()
        });
        best_of(loops, &format!("{size} d_jit_value_and_grad"), || {
            value_and_grad
                .value_and_grad_flat(black_box(&theta), &mut gradient)
                .unwrap()
        });
        best_of(loops, &format!("{size} z_hand_value_and_grad"), || {
            hand(black_box(&theta), &mut by_hand)
        });
        return;
    }
    let id = |measurement| BenchmarkId::new(measurement, size);
    g.bench_function(id("c_jit_forward"), |b| {
        b.iter(|| forward.call_flat(black_box(&theta), &mut value).unwrap())
    });
    g.bench_function(id("d_jit_value_and_grad"), |b| {
        b.iter(|| {
            value_and_grad
                .value_and_grad_flat(black_box(&theta), &mut gradient)
                .unwrap()
        })
    });
    g.bench_function(id("z_hand_value_and_grad"), |b| {
        b.iter(|| hand(black_box(&theta), &mut by_hand))
    });
}

/// Prints the best time per call of `loops` loops of `f`, each about 0.1 s:
/// wall-clock time, and the time this thread spent on a core, which a busy
/// machine disturbs less (`/proc/thread-self/schedstat`; for runs on one
/// thread).
fn best_of<R>(loops: usize, what: &str, mut f: impl FnMut() -> R) {
    let on_cpu = || {
        let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
        stat.split_whitespace()
            .next()
            .and_then(|t| t.parse::<f64>().ok())
            .unwrap_or(0.0)
            * 1e-9
    };
    let start = std::time::Instant::now();
    black_box(f());
    let once = start.elapsed().as_secs_f64().max(1e-9);
    let calls = ((0.1 / once) as usize).max(1);
    let (mut wall, mut cpu) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..loops {
        let (start, cpu_start) = (std::time::Instant::now(), on_cpu());
        for _ in 0..calls {
            black_box(f());
        }
        wall = wall.min(start.elapsed().as_secs_f64() / calls as f64);
        cpu = cpu.min((on_cpu() - cpu_start) / calls as f64);
    }
    println!(
        "{what:<44} {:>12.3} us wall {:>12.3} us on cpu",
        wall * 1e6,
        cpu * 1e6
    );
}

/// Panics unless the hand-written value and gradient agree with the
/// compiled ones to rounding.
fn assert_agrees(size: &str, value: f64, gradient: &[f64], hand_value: f64, hand_gradient: &[f64]) {
    let close = |a: f64, b: f64, scale: f64| (a - b).abs() <= 1e-9 * scale.max(a.abs()).max(1.0);
    assert!(
        close(value, hand_value, value.abs()),
        "{size}: value {value} by hand {hand_value}"
    );
    let scale = gradient.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    for (i, (a, b)) in gradient.iter().zip(hand_gradient).enumerate() {
        assert!(close(*a, *b, scale), "{size}: gradient {i} is {a}, by hand {b}");
    }
}

fn bench_mixture(c: &mut Criterion) {
    if !wanted("mixture") {
        return;
    }
    let mut g = group(c, "mixture");
    for (d, k, n) in [(2, 5, 1000), (5, 20, 10_000), (20, 50, 10_000)] {
        let x = Tensor::randn([n, d], &mut rng(1)) * 2.0;
        let model = mixture::new(d, k, n);
        let params = model.normal(&mut rng(2)).unwrap();
        let data = hand::Mixture {
            d,
            k,
            n,
            x: x.to_vec(),
        };
        let fixed = mixture::Fixed { x };
        let size = format!("d={d} k={k} n={n}");
        suite(&mut g, &size, &model, &params, &fixed, |p, out| {
            data.value_and_grad(p, out)
        });
    }
    g.finish();
}

fn bench_glm(c: &mut Criterion) {
    if !wanted("glm") {
        return;
    }
    let mut g = group(c, "glm");
    for (rows, cols) in [(10_000, 10), (100_000, 50), (1_000_000, 10)] {
        let x = Tensor::randn([rows, cols], &mut rng(3)) / (cols as f64).sqrt();
        let uniform = Tensor::rand_uniform([rows], 0.0, 1.0, &mut rng(4));
        let y = Tensor::from(
            uniform
                .as_slice()
                .iter()
                .map(|&u| f64::from(u8::from(u < 0.5)))
                .collect::<Vec<_>>(),
        );
        let model = logistic_regression::new(rows, cols);
        let params = model.normal(&mut rng(5)).unwrap();
        let data = hand::Logistic {
            cols,
            x: x.to_vec(),
            y: y.to_vec(),
        };
        let fixed = logistic_regression::Fixed { x, y };
        let size = format!("rows={rows} cols={cols}");
        suite(&mut g, &size, &model, &params, &fixed, |p, out| {
            data.value_and_grad(p, out)
        });
    }
    g.finish();
}

fn bench_hierarchical(c: &mut Criterion) {
    if !wanted("hierarchical") {
        return;
    }
    let mut g = group(c, "hierarchical");
    for groups in [8, 48, 98] {
        let y = Tensor::randn([groups], &mut rng(6)) * 10.0;
        let sigma = Tensor::rand_uniform([groups], 5.0, 15.0, &mut rng(7));
        let model = hierarchical::new(groups);
        let params = model.normal(&mut rng(8)).unwrap();
        let data = hand::Hierarchical::new(y.to_vec(), sigma.as_slice());
        let fixed = hierarchical::Fixed { y, sigma };
        let size = format!("params={}", groups + 2);
        suite(&mut g, &size, &model, &params, &fixed, |p, out| {
            data.value_and_grad(p, out)
        });
    }
    g.finish();
}

fn bench_field(c: &mut Criterion) {
    if !wanted("lognormal_field") {
        return;
    }
    let mut g = group(c, "lognormal_field");
    let grids: [&[usize]; 3] = [&[128, 128], &[512, 512], &[64, 64, 64]];
    for dims in grids {
        let data = Tensor::randn(dims, &mut rng(9)) * 0.5 + 1.0;
        let model = lognormal_field::new(dims);
        let params = model.normal(&mut rng(10)).unwrap();
        let k = models::frequency_magnitude(dims);
        let by_hand = hand::Field::new(dims, k.as_slice(), data.to_vec());
        let fixed = lognormal_field::Fixed { data };
        let size = dims.iter().map(usize::to_string).collect::<Vec<_>>().join("x");
        suite(&mut g, &size, &model, &params, &fixed, |p, out| {
            by_hand.value_and_grad(p, out)
        });
    }
    g.finish();
}

criterion_group!(benches, bench_mixture, bench_glm, bench_hierarchical, bench_field);
criterion_main!(benches);
