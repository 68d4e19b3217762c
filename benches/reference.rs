//! The reference models of `../shared/bench-reference/bench_jax.py`, timed
//! the way that script times the original library on JAX, so that the two
//! can be set side by side (`scripts/compare_with_jax.sh`).
//!
//! Benchmark ids are `model/measurement/size` with the script's names, e.g.
//! `gp_readme/d_jit_value_and_grad/n=1000 n_obs=100`;
//! `scripts/criterion_to_json.py` turns criterion's output into the
//! script's JSON layout. Rows without a JAX counterpart (`map_batch` over
//! parameter sets) get measurement names of their own.
//!
//! Data are drawn with seeded generators of this crate, so they are not the
//! script's numbers, only the same shapes and distributions.
//!
//! The script's `*_jit_*` rows time functions JAX compiled beforehand; ours
//! are the same functions compiled with `compile` (traced once, replayed as
//! kernels), also outside the timed loop. The `*0_jit_*_first` rows time
//! compiling and the first call, as the script's cold rows do, and the
//! `*_eager_*` rows the same work evaluated op by op, define-by-run.

#[path = "../examples/common/gp_data.rs"]
mod gp_data;
#[path = "../examples/common/gp_model.rs"]
mod gp_model;
// Only the posterior mean is timed here.
#[allow(dead_code)]
#[path = "../examples/common/readme_field.rs"]
mod readme_field;
#[path = "../examples/common/soup_model.rs"]
mod soup_model;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use jaxpurify::infer::LinearGaussian;
use jaxpurify::prelude::*;
use jaxpurify::{Model, compile, map_batch, vmap};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use readme_field::field;
use soup_model::dinner;
use std::hint::black_box;
use std::time::Duration;

fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// One criterion group per model; its benchmarks are `measurement/size`.
fn group<'a>(
    c: &'a mut Criterion,
    model: &str,
    slow: bool,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(model);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(if slow { 4 } else { 2 }));
    g.sample_size(if slow { 10 } else { 50 });
    g
}

fn id(measurement: &str, size: &str) -> BenchmarkId {
    BenchmarkId::new(measurement, size)
}

/// The steady-state measurements JAX's script takes of every model:
/// `normal` initialisation, forward, value and gradient of `loss`, and
/// intermediates, each compiled; then compiling with the first call, and
/// the same three evaluated define-by-run.
fn model_suite<M: Model>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    size: &str,
    model: &M,
    params: &M::Params,
    fixed: &M::Fixed,
    loss: impl Fn(&M::Output) -> Tensor,
) {
    g.bench_function(id("b_normal_init", size), |b| {
        let mut r = rng(0);
        b.iter(|| model.normal(&mut r).unwrap())
    });
    let forward = model.compile_apply(params, fixed).unwrap();
    g.bench_function(id("c_jit_forward", size), |b| {
        b.iter(|| forward.call(black_box(params)).unwrap())
    });
    let value_and_grad = model.compile_value_and_grad(params, fixed, &loss).unwrap();
    g.bench_function(id("d_jit_value_and_grad", size), |b| {
        b.iter(|| value_and_grad.call(black_box(params)).unwrap())
    });
    let intermediates = compile(|p: &M::Params| model.intermediates(p, fixed).unwrap(), params).unwrap();
    g.bench_function(id("e_jit_intermediates", size), |b| {
        b.iter(|| intermediates.call(black_box(params)).unwrap())
    });
    g.bench_function(id("d0_jit_vg_first", size), |b| {
        b.iter(|| {
            let compiled = model.compile_value_and_grad(params, fixed, &loss).unwrap();
            compiled.call(black_box(params)).unwrap()
        })
    });
    g.bench_function(id("c_eager_forward", size), |b| {
        b.iter(|| model.apply(black_box(params), fixed).unwrap())
    });
    g.bench_function(id("d_eager_value_and_grad", size), |b| {
        b.iter(|| model.value_and_grad(black_box(params), fixed, &loss).unwrap())
    });
    g.bench_function(id("e_eager_intermediates", size), |b| {
        b.iter(|| model.intermediates(black_box(params), fixed).unwrap())
    });
}

// ---------------------------------------------------------------- tiny

#[purify]
fn tiny() -> Tensor {
    let x = param!(3);
    let y = intermediate!(x.square());
    y.sum()
}

fn bench_tiny(c: &mut Criterion) {
    let model = tiny::new();
    let params = model.normal(&mut rng(0)).unwrap();
    let mut g = group(c, "tiny", false);
    model_suite(&mut g, "x:(3,)", &model, &params, &tiny::Fixed {}, |y| y.clone());
    g.finish();
}

// ---------------------------------------------------------------- gp_readme

/// The README model on an `n`-point grid read out at `n_obs` points.
#[purify]
fn readme_model(n: usize, n_obs: usize) -> Tensor {
    let x = Tensor::linspace(0.0, 5.0, n);
    let alpha = -log_normal_variable!(mean = 3.0, sigma = 0.1);
    let f = intermediate!(sub!(field(x.len(), &alpha)));
    let x_obs = fixed!(n_obs);
    interp(&x_obs, &x, &f)
}

fn bench_gp_readme(c: &mut Criterion) {
    let mut g = group(c, "gp_readme", false);
    for (n, n_obs) in [(100, 3), (1000, 100), (10000, 100)] {
        let size = format!("n={n} n_obs={n_obs}");
        let x_obs = if n_obs == 3 {
            Tensor::from([1.0, 2.0, 3.0])
        } else {
            Tensor::rand_uniform([n_obs], 0.0, 5.0, &mut rng(1))
        };
        let model = readme_model::new(n, n_obs);
        let fixed = readme_model::Fixed {
            x_obs,
            ..Default::default()
        };
        let params = model.normal(&mut rng(137)).unwrap();
        model_suite(&mut g, &size, &model, &params, &fixed, |y| y.square().sum());
    }
    g.finish();
}

// ---------------------------------------------------------------- gp_example

const GP_N: usize = 1000;
const GP_N_OBS: usize = 100;
const GP_PAD: usize = 10;

/// The Gaussian-process example's data: noisy `sin` at uniform points.
struct GpData {
    fixed: gp_model::observed_field::Fixed,
    y_obs: Vec<f64>,
    noise_variance: Vec<f64>,
}

fn gp_data() -> GpData {
    let data = gp_data::Observations::simulate(GP_N_OBS, 20.0, &mut rng(42));
    GpData {
        fixed: gp_model::observed_field::Fixed {
            x: Tensor::linspace(0.0, 20.0, GP_N),
            x_obs: Tensor::from(data.x_obs),
            ..Default::default()
        },
        y_obs: data.y_obs,
        noise_variance: data.noise_std.iter().map(|s| s * s).collect(),
    }
}

/// The posterior machinery, with its operators compiled (JAX's solve is
/// one jitted function, compiled before it is timed).
fn gp_posterior(data: &GpData) -> LinearGaussian<gp_model::observed_field::Model> {
    let model = gp_model::observed_field::new(GP_N, GP_N_OBS, GP_PAD);
    LinearGaussian::new(model, data.fixed.clone(), data.noise_variance.clone()).unwrap()
}

fn bench_gp_example(c: &mut Criterion) {
    let size = format!("n={GP_N} pad={GP_PAD} n_obs={GP_N_OBS} ravel");
    let data = gp_data();
    let fixed = &data.fixed;
    let model = gp_model::observed_field::new(GP_N, GP_N_OBS, GP_PAD);
    let flat = gp_model::observed_field::new(GP_N, GP_N_OBS, GP_PAD)
        .flat()
        .unwrap();
    let params = model.normal(&mut rng(3)).unwrap();
    let theta = params.ravel();
    let mut gradient = vec![0.0; flat.len()];
    let mut output = vec![0.0; GP_N_OBS];
    let loss = |y: &Tensor| y.square().sum();
    let forward = model.compile_apply(&params, fixed).unwrap();
    let value_and_grad = model.compile_value_and_grad(&params, fixed, loss).unwrap();
    let intermediates = compile(|p: &_| model.intermediates(p, fixed).unwrap(), &params).unwrap();
    let gp = gp_posterior(&data);
    let solved = gp.mean(&data.y_obs, 1e-5, 100);
    println!(
        "gp_example CG: {} iterations to tol=1e-5 (maxiter=100), converged: {}",
        solved.iterations, solved.converged
    );
    let mut g = group(c, "gp_example", false);
    g.bench_function(id("b_normal_init", &size), |b| {
        let mut r = rng(0);
        b.iter(|| model.normal(&mut r).unwrap().ravel())
    });
    // `ravel=True`: the parameters and gradient are flat vectors.
    g.bench_function(id("c_jit_forward", &size), |b| {
        b.iter(|| forward.call_flat(black_box(&theta), &mut output).unwrap())
    });
    g.bench_function(id("d_jit_value_and_grad", &size), |b| {
        b.iter(|| {
            value_and_grad
                .value_and_grad_flat(black_box(&theta), &mut gradient)
                .unwrap()
        })
    });
    g.bench_function(id("e_jit_intermediates", &size), |b| {
        b.iter(|| intermediates.call(black_box(&params)).unwrap())
    });
    g.bench_function(id("c_eager_forward", &size), |b| {
        b.iter(|| flat.apply(black_box(&theta), fixed).unwrap())
    });
    g.bench_function(id("d_eager_value_and_grad", &size), |b| {
        b.iter(|| {
            flat.value_and_grad(black_box(&theta), fixed, loss, &mut gradient)
                .unwrap()
        })
    });
    g.bench_function(id("g_jit_cg_solve", &size), |b| {
        b.iter(|| gp.mean(black_box(&data.y_obs), 1e-5, 100))
    });
    g.bench_function(id("g_jit_cg_solve_100it", &size), |b| {
        b.iter(|| gp.mean(black_box(&data.y_obs), 0.0, 100))
    });
    g.bench_function(id("g0_jit_cg_first", &size), |b| {
        b.iter(|| gp_posterior(black_box(&data)).mean(&data.y_obs, 1e-5, 100))
    });
    g.finish();
}

// ---------------------------------------------------------------- mlp

/// The reference's dense layer on a batch of rows, `x w^T + b`, unscaled.
/// `inner` contracts the last dimensions of `x` and `w`, which is `x w^T`
/// read in place (as XLA's `dot_general` does for `x @ w.T`), where
/// `x.matmul(&w.t())` would copy the transpose forward and back.
#[purify]
fn linear_batched(n_in: usize, n_out: usize, x: &Tensor) -> Tensor {
    let w = param!([n_out, n_in]);
    let b = param!(n_out);
    x.inner(&w) + b
}

/// The reference's dense layer on one vector, `w x + b`.
#[purify]
fn linear(n_in: usize, n_out: usize, x: &Tensor) -> Tensor {
    let w = param!([n_out, n_in]);
    let b = param!(n_out);
    w.matmul(x) + b
}

/// Logits of a dense network on a batch of `batch` rows, relu outputs
/// recorded as intermediates `h`.
#[purify]
fn mlp_matmul(dims: &[usize], batch: usize) -> Tensor {
    let mut h = fixed!([batch, dims[0]], name = "x");
    for i in 0..dims.len() - 1 {
        if i > 0 {
            h = intermediate!(h.relu(), name = h[i - 1]);
        }
        h = sub!(layers[i] = linear_batched(dims[i], dims[i + 1], &h));
    }
    h
}

/// The same network on one vector; with `batch` rows it maps over them
/// with `vmap`, as the reference's vmap variant does.
#[purify]
fn mlp_vector(dims: &[usize]) -> Tensor {
    let mut h = fixed!(dims[0], name = "x");
    for i in 0..dims.len() - 1 {
        if i > 0 {
            h = intermediate!(h.relu(), name = h[i - 1]);
        }
        h = sub!(layers[i] = linear(dims[i], dims[i + 1], &h));
    }
    h
}

/// Mean softmax cross-entropy of logits rows against one-hot labels.
fn softmax_ce(logits: &Tensor, one_hot: &Tensor) -> Tensor {
    let rows = if logits.ndim() == 1 { 1 } else { logits.shape()[0] };
    -(logits.log_softmax(-1) * one_hot).sum() / rows as f64
}

fn one_hot(labels: &[usize], classes: usize) -> Vec<f64> {
    let mut data = vec![0.0; labels.len() * classes];
    for (row, &label) in labels.iter().enumerate() {
        data[row * classes + label] = 1.0;
    }
    data
}

fn random_labels(n: usize, classes: usize, seed: u64) -> Vec<usize> {
    let u = Tensor::rand_uniform([n], 0.0, classes as f64, &mut rng(seed));
    u.as_slice()
        .iter()
        .map(|v| (*v as usize).min(classes - 1))
        .collect()
}

fn bench_mlp_small(c: &mut Criterion) {
    let dims = [16, 8, 4];
    let size = "16-8-4 single vector";
    let model = mlp_vector::new(&dims);
    let fixed = mlp_vector::Fixed {
        x: Tensor::randn([16], &mut rng(42)),
        ..Default::default()
    };
    let targets = Tensor::from(one_hot(&random_labels(1, 4, 43), 4));
    let params = model.normal(&mut rng(0)).unwrap();
    let mut g = group(c, "mlp", false);
    model_suite(&mut g, size, &model, &params, &fixed, |y| softmax_ce(y, &targets));
    g.finish();
}

fn bench_mlp_large(c: &mut Criterion) {
    let (dims, batch) = ([784, 512, 512, 10], 256);
    let size = "784-512-512-10 batch256 matmul";
    let model = mlp_matmul::new(&dims, batch);
    let x = Tensor::randn([batch, 784], &mut rng(42));
    let fixed = mlp_matmul::Fixed {
        x: x.clone(),
        ..Default::default()
    };
    let targets = Tensor::from_vec(one_hot(&random_labels(batch, 10, 43), 10), [batch, 10]).unwrap();
    let params = model.normal(&mut rng(0)).unwrap();
    let mut g = group(c, "mlp", true);
    model_suite(&mut g, size, &model, &params, &fixed, |y| softmax_ce(y, &targets));
    g.finish();
}

// ---------------------------------------------------------------- soup

fn bench_soup(c: &mut Criterion) {
    let model = dinner::new();
    let params = model.normal(&mut rng(0)).unwrap();
    let mut g = group(c, "soup", false);
    model_suite(
        &mut g,
        "dinner",
        &model,
        &params,
        &dinner::Fixed::default(),
        |y| y.clone(),
    );
    g.finish();
}

fn bench_soup_many(c: &mut Criterion) {
    let model = dinner::new();
    let fixed = dinner::Fixed::default();
    let first = model.normal(&mut rng(0)).unwrap();
    let compiled = model
        .compile_value_and_grad(&first, &fixed, |y| y.clone())
        .unwrap();
    let gradient = |p: &dinner::Params| compiled.call(p).unwrap().1;
    let eager_gradient = |p: &dinner::Params| model.grad(p, &fixed, |y| y.clone()).unwrap();
    let mut g = group(c, "soup", true);
    for n in [10u64, 1000] {
        let size = format!("vmap over {n} param sets");
        let sets: Vec<dinner::Params> = (0..n)
            .map(|seed| dinner::normal(&mut rng(seed)).unwrap())
            .collect();
        g.bench_function(id("h_jit_laxmap_grad", &size), |b| {
            b.iter(|| black_box(&sets).iter().map(gradient).collect::<Vec<_>>())
        });
        g.bench_function(id("h_map_batch_grad", &size), |b| {
            b.iter(|| map_batch(black_box(&sets), gradient))
        });
        g.bench_function(id("h_eager_map_batch_grad", &size), |b| {
            b.iter(|| map_batch(black_box(&sets), eager_gradient))
        });
    }
    g.finish();
}

/// The 784-512-512-10 network with `vmap` over the batch inside the model
/// (the reference's first variant); its parameters are the vector
/// network's, applied row by row.
#[purify]
fn mlp_vmapped(dims: &[usize], batch: usize) -> Tensor {
    let x = fixed!([batch, dims[0]], name = "x");
    let layers: Vec<(Tensor, Tensor)> = (0..dims.len() - 1)
        .map(|i| {
            let w = param!([dims[i + 1], dims[i]], name = w[i]);
            let b = param!(dims[i + 1], name = b[i]);
            (w, b)
        })
        .collect();
    vmap(&x, 0, |row| {
        let mut h = row.clone();
        for (i, (w, b)) in layers.iter().enumerate() {
            if i > 0 {
                h = h.relu();
            }
            h = w.matmul(&h) + b;
        }
        h
    })
}

fn bench_mlp_vmap(c: &mut Criterion) {
    let (dims, batch) = ([784, 512, 512, 10], 256);
    let size = "784-512-512-10 batch256 vmap";
    let model = mlp_vmapped::new(&dims, batch);
    let fixed = mlp_vmapped::Fixed {
        x: Tensor::randn([batch, 784], &mut rng(42)),
    };
    let targets = Tensor::from_vec(one_hot(&random_labels(batch, 10, 43), 10), [batch, 10]).unwrap();
    let params = model.normal(&mut rng(0)).unwrap();
    let loss = |y: &Tensor| softmax_ce(y, &targets);
    let mut g = group(c, "mlp", true);
    // Compiled as the JAX rows are jitted: the program runs the batched
    // body (one product per layer for the 256 rows).
    let forward = model.compile_apply(&params, &fixed).unwrap();
    g.bench_function(id("c_jit_forward", size), |b| {
        b.iter(|| forward.call(black_box(&params)).unwrap())
    });
    let value_and_grad = model.compile_value_and_grad(&params, &fixed, loss).unwrap();
    g.bench_function(id("d_jit_value_and_grad", size), |b| {
        b.iter(|| value_and_grad.call(black_box(&params)).unwrap())
    });
    // Directly: the body runs once on the first row, then batched.
    g.bench_function(id("c_eager_forward", size), |b| {
        b.iter(|| model.apply(black_box(&params), &fixed).unwrap())
    });
    g.bench_function(id("d_eager_value_and_grad", size), |b| {
        b.iter(|| model.value_and_grad(black_box(&params), &fixed, loss).unwrap())
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_tiny,
    bench_gp_readme,
    bench_gp_example,
    bench_mlp_small,
    bench_mlp_large,
    bench_mlp_vmap,
    bench_soup,
    bench_soup_many
);
criterion_main!(benches);
