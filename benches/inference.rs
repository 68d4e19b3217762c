//! Inference end to end, beside numpyro and scipy
//! (`scripts/compare_with_numpyro.sh` runs both sides):
//!
//! * eight schools, non-centred: NUTS with 4 chains of 1000 warm-up and
//!   1000 kept draws, the whole run (posterior built and compiled, then
//!   sampled); the bulk ESS of `mu` and `tau` of one run at the benchmark's
//!   seed is written to `target/inference_ess.json` for ESS per second;
//! * the GP of the `gp_hyperparameters` example at n = 60 and 200: MAP by
//!   L-BFGS from zero, the posterior built and compiled inside the timing
//!   (scipy's side includes `jax.jit`'s compile). The data are written to
//!   `target/gp_map_data_N.json` for the scipy side to fit the same points.

#[path = "../examples/common/gp_kernel.rs"]
mod gp_kernel;

use criterion::{Criterion, criterion_group, criterion_main};
use gp_kernel::gp_marginal;
use jaxpurify::infer::{Gaussian, LogDensity, MapSettings, NutsSettings, Posterior};
use jaxpurify::prelude::*;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::hint::black_box;

const Y: [f64; 8] = [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0];
const SIGMA: [f64; 8] = [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0];
const SEED: u64 = 2026;

#[purify]
fn eight_schools() -> Tensor {
    let mu = normal_variable!(mean = 0.0, sigma = 5.0);
    let tau = half_cauchy_variable!(scale = 5.0);
    let xi = param!(8);
    intermediate!(&mu + &tau * &xi, name = "theta")
}

fn eight_schools_posterior() -> Posterior<eight_schools::Model> {
    let likelihood = Gaussian::new(Tensor::from(Y), Tensor::from(SIGMA)).expect("valid data");
    Posterior::new(eight_schools::new(), eight_schools::Fixed::default(), likelihood).expect("a posterior")
}

fn quiet_nuts() -> NutsSettings {
    NutsSettings {
        progress: false,
        ..NutsSettings::default()
    }
}

/// The bulk ESS of `mu` and `tau` at the benchmark's seed, for ESS per
/// second, written beside criterion's results.
fn write_ess() {
    let run = eight_schools_posterior()
        .nuts(4, &quiet_nuts(), SEED)
        .expect("a run");
    let summary = run.summary().expect("draws in memory");
    let ess = |name: &str| summary.get(name).expect("a variable").ess_bulk;
    let json = format!(
        "{{\"mu_ess_bulk\": {}, \"tau_ess_bulk\": {}, \"divergences\": {}, \"gradients\": {}}}\n",
        ess("mu"),
        ess("tau"),
        run.divergences(),
        run.chains().iter().map(|c| c.gradient_evaluations).sum::<u64>()
    );
    std::fs::create_dir_all("target").expect("a target directory");
    std::fs::write("target/inference_ess.json", json).expect("a writable target directory");
}

fn eight_schools_nuts(c: &mut Criterion) {
    write_ess();
    let mut group = c.benchmark_group("eight_schools");
    group.sample_size(20);
    group.bench_function("nuts_4x1000", |b| {
        b.iter(|| {
            black_box(
                eight_schools_posterior()
                    .nuts(4, &quiet_nuts(), SEED)
                    .expect("a run"),
            )
        })
    });
    let posterior = eight_schools_posterior();
    let mut grad = vec![0.0; posterior.dim()];
    let x: Vec<f64> = (0..posterior.dim()).map(|i| 0.1 * i as f64 - 0.4).collect();
    group.bench_function("log_density_and_grad", |b| {
        b.iter(|| {
            black_box(
                posterior
                    .log_density_and_grad(black_box(&x), &mut grad)
                    .expect("finite"),
            )
        })
    });
    group.finish();
}

/// The GP's data with `n` points, from the example's generator, written
/// for the scipy side.
fn gp_data(n: usize) -> gp_marginal::Fixed {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(gp_kernel::SEED);
    let (fixed, _, _) = gp_kernel::simulate(n, &mut rng).expect("a positive-definite kernel");
    let json = format!(
        "{{\"x\": {:?}, \"y\": {:?}}}\n",
        fixed.x.to_vec(),
        fixed.y.to_vec()
    );
    std::fs::create_dir_all("target").expect("a target directory");
    std::fs::write(format!("target/gp_map_data_{n}.json"), json).expect("a writable target directory");
    fixed
}

fn gp_map(c: &mut Criterion) {
    let mut group = c.benchmark_group("gp_map");
    group.sample_size(20);
    let settings = MapSettings {
        progress: false,
        ..MapSettings::default()
    };
    for n in [gp_kernel::N, 200] {
        let fixed = gp_data(n);
        group.bench_function(format!("lbfgs_with_compile/{n}"), |b| {
            b.iter(|| {
                let posterior =
                    Posterior::from_log_likelihood(gp_marginal::new(n), fixed.clone()).expect("a posterior");
                let fit = posterior.map_lbfgs(&settings).expect("a fit");
                assert!(fit.termination.converged, "{}", fit.termination);
                black_box(fit)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, eight_schools_nuts, gp_map);
criterion_main!(benches);
