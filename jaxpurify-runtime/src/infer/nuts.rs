//! The No-U-Turn sampler (nuts-rs's, with its diagonal mass-matrix and
//! step-size adaptation) on any [`LogDensity`], several chains in parallel
//! on rayon's threads.
//!
//! Each chain's random numbers come from the run's seed and the chain's
//! number alone, and a chain runs on one thread from start to end, so the
//! same seed gives the same draws whatever the number of threads. A point
//! where the log density fails (an error, NaN) ends its trajectory as a
//! divergence, as nuts-rs treats a recoverable error; it never panics.

use super::draws::{ChainDraws, Draws, Layout, SamplerStats};
use super::posterior::LogDensity;
use crate::error::{Error, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use nuts_rs::{
    Chain, CpuLogpFunc, CpuMath, CpuMathError, DiagNutsSettings, HasDims, LogpError, Settings, Storable,
    Value,
};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// Settings of a NUTS run, with Stan's and numpyro's defaults.
#[derive(Clone, Debug)]
pub struct NutsSettings {
    /// Warm-up iterations per chain, which adapt the step size and the
    /// diagonal mass matrix and are not kept.
    pub warmup: u64,
    /// Draws kept per chain.
    pub draws: u64,
    /// The largest tree depth: at most `2^max_depth - 1` leapfrog steps.
    pub max_depth: u64,
    /// The mean acceptance probability the step size adapts to.
    pub target_accept: f64,
    /// An energy error above this ends a trajectory as a divergence.
    pub max_energy_error: f64,
    /// Each coordinate of a chain's starting point is drawn uniformly from
    /// `(-init_radius, init_radius)` (Stan's default is 2), redrawn until
    /// the log density is finite there.
    pub init_radius: f64,
    /// Show one progress bar per chain (only on a terminal).
    pub progress: bool,
}

impl Default for NutsSettings {
    fn default() -> NutsSettings {
        NutsSettings {
            warmup: 1000,
            draws: 1000,
            max_depth: 10,
            target_accept: 0.8,
            max_energy_error: 1000.0,
            init_radius: 2.0,
            progress: true,
        }
    }
}

/// How many starting points a chain tries before giving up.
const INIT_ATTEMPTS: usize = 100;

/// What a chain did, besides its draws.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainInfo {
    /// The chain's number, from 0.
    pub chain: usize,
    /// The kept draws that diverged, by index.
    pub divergent_draws: Vec<usize>,
    /// Divergences during warm-up.
    pub warmup_divergences: usize,
    /// The adapted step size.
    pub step_size: f64,
    /// Gradient evaluations, warm-up included.
    pub gradient_evaluations: u64,
    /// Seconds of warm-up and of sampling.
    pub seconds: (f64, f64),
}

/// Where a chain's kept draws go, one at a time, on the chain's thread.
pub trait DrawSink: Send {
    /// Takes the position of one kept draw and its statistics.
    ///
    /// # Errors
    /// Whatever keeping it failed with (a file, a model evaluation); the
    /// run then stops with that error.
    fn draw(&mut self, position: &[f64], stats: SamplerStats) -> Result<()>;
}

impl DrawSink for ChainDraws {
    fn draw(&mut self, position: &[f64], stats: SamplerStats) -> Result<()> {
        self.push_with_stats(position, stats)
    }
}

/// Draws of `density`'s flat vector, as the leaf `x` of shape `[dim]`, from
/// `chains` chains (see [`sample`]).
///
/// ```
/// use jaxpurify_runtime::infer::{nuts, LogDensity, NutsSettings};
/// /// A normal with mean 3 and standard deviation 2.
/// struct Shifted;
/// impl LogDensity for Shifted {
///     fn dim(&self) -> usize { 1 }
///     fn log_density_and_grad(&self, x: &[f64], g: &mut [f64]) -> jaxpurify_runtime::Result<f64> {
///         g[0] = -(x[0] - 3.0) / 4.0;
///         Ok(-(x[0] - 3.0).powi(2) / 8.0)
///     }
/// }
/// let settings = NutsSettings { warmup: 300, draws: 500, progress: false, ..NutsSettings::default() };
/// let (draws, chains) = nuts::sample_flat(&Shifted, 2, &settings, 7)?;
/// let x = draws.element("x[0]")?;
/// assert!((x.mean() - 3.0).abs() < 0.5 && (x.sd() - 2.0).abs() < 0.5);
/// assert_eq!(chains.len(), 2);
/// # Ok::<(), jaxpurify_runtime::Error>(())
/// ```
///
/// # Errors
/// As [`sample`].
pub fn sample_flat(
    density: &impl LogDensity,
    chains: usize,
    settings: &NutsSettings,
    seed: u64,
) -> Result<(Draws, Vec<ChainInfo>)> {
    let layout = Arc::new(Layout::new([("x", vec![density.dim()])])?);
    let capacity = settings.draws as usize;
    let runs = sample(density, chains, settings, seed, |_| {
        Ok(ChainDraws::with_capacity(layout.clone(), capacity))
    })?;
    let (sinks, infos) = runs.into_iter().unzip();
    Ok((Draws::new(sinks)?, infos))
}

/// Runs `chains` chains of NUTS on `density` with `settings`, reproducibly
/// from `seed`, giving each chain's kept draws to the sink `sink_for(chain)`
/// makes, and returns the sinks with what each chain did.
///
/// # Errors
/// When no starting point with a finite log density is found, when the
/// settings are invalid, and what a sink fails with.
pub fn sample<D: LogDensity, S: DrawSink>(
    density: &D,
    chains: usize,
    settings: &NutsSettings,
    seed: u64,
    sink_for: impl Fn(usize) -> Result<S> + Sync,
) -> Result<Vec<(S, ChainInfo)>> {
    let bars = MultiProgress::new();
    if !settings.progress {
        bars.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let total = settings.warmup + settings.draws;
    let results: Vec<Result<(S, ChainInfo)>> = (0..chains)
        .into_par_iter()
        .map(|chain| {
            let bar = bars.add(chain_bar(chain, total));
            let result = run_chain(density, chain, settings, seed, sink_for(chain)?, &bar);
            bar.finish_and_clear();
            result
        })
        .collect();
    results.into_iter().collect()
}

fn chain_bar(chain: usize, total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let style =
        ProgressStyle::with_template("chain {prefix} {bar:30} {pos}/{len} {msg}").expect("a valid template");
    bar.set_style(style);
    bar.set_prefix(chain.to_string());
    bar
}

/// The generator of chain `chain` of a run seeded with `seed`.
fn chain_rng(seed: u64, chain: usize) -> Xoshiro256PlusPlus {
    // A splitmix64 step apart per chain, so that nearby seeds and chain
    // numbers give unrelated streams.
    let mut z = seed ^ (chain as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    Xoshiro256PlusPlus::seed_from_u64(z ^ (z >> 31))
}

fn run_chain<D: LogDensity, S: DrawSink>(
    density: &D,
    chain: usize,
    settings: &NutsSettings,
    seed: u64,
    mut sink: S,
    bar: &ProgressBar,
) -> Result<(S, ChainInfo)> {
    let mut rng = chain_rng(seed, chain);
    let init = starting_point(density, settings.init_radius, &mut rng)?;
    let math = CpuMath::new(Target { density });
    let mut sampler = nuts_settings(settings)
        .new_chain(chain as u64, math, &mut rng)
        .map_err(|e| sampler_error(&e))?;
    sampler.set_position(&init).map_err(|e| sampler_error(&e))?;
    let mut info = ChainInfo {
        chain,
        divergent_draws: Vec::new(),
        warmup_divergences: 0,
        step_size: f64::NAN,
        gradient_evaluations: 0,
        seconds: (0.0, 0.0),
    };
    let started = Instant::now();
    for i in 0..settings.warmup + settings.draws {
        if i == settings.warmup {
            info.seconds.0 = started.elapsed().as_secs_f64();
        }
        let (position, _, mut raw, progress) = sampler.expanded_draw().map_err(|e| sampler_error(&e))?;
        let stats = sampler_stats(&mut raw, &(&*sampler.math()).into());
        info.gradient_evaluations += progress.num_gradients;
        info.step_size = progress.step_size;
        match (i < settings.warmup, stats.divergent) {
            (true, true) => info.warmup_divergences += 1,
            (false, true) => info.divergent_draws.push((i - settings.warmup) as usize),
            _ => {}
        }
        if i >= settings.warmup {
            sink.draw(&position, stats)?;
        }
        if i % 16 == 0 {
            bar.set_position(i);
            bar.set_message(format!("step {:.3}", progress.step_size));
        }
    }
    info.seconds.1 = started.elapsed().as_secs_f64() - info.seconds.0;
    Ok((sink, info))
}

/// nuts-rs's settings for ours.
fn nuts_settings(settings: &NutsSettings) -> DiagNutsSettings {
    let mut nuts = DiagNutsSettings {
        num_tune: settings.warmup,
        num_draws: settings.draws,
        maxdepth: settings.max_depth,
        max_energy_error: settings.max_energy_error,
        num_chains: 1,
        ..DiagNutsSettings::default()
    };
    nuts.adapt_options.step_size_settings.target_accept = settings.target_accept;
    nuts
}

fn sampler_error(e: &impl std::fmt::Display) -> Error {
    Error::InvalidArgument {
        op: "nuts",
        message: e.to_string(),
    }
}

/// A point in `(-radius, radius)^dim` where the log density is finite.
fn starting_point<D: LogDensity>(density: &D, radius: f64, rng: &mut Xoshiro256PlusPlus) -> Result<Vec<f64>> {
    let mut grad = vec![0.0; density.dim()];
    let mut last = String::new();
    for _ in 0..INIT_ATTEMPTS {
        let x: Vec<f64> = (0..density.dim())
            .map(|_| rng.random_range(-radius..radius))
            .collect();
        match density.log_density_and_grad(&x, &mut grad) {
            Ok(v) if v.is_finite() && grad.iter().all(|g| g.is_finite()) => return Ok(x),
            Ok(v) => last = format!("the log density is {v} or its gradient is not finite"),
            Err(e) => last = e.to_string(),
        }
    }
    Err(Error::InvalidArgument {
        op: "nuts",
        message: format!(
            "no starting point in (-{radius}, {radius})^{} where the log density is finite after \
             {INIT_ATTEMPTS} tries (last: {last}); set `init_radius` smaller",
            density.dim()
        ),
    })
}

/// Stan's sampler columns from nuts-rs's statistics of a draw.
fn sampler_stats<S: Storable<P>, P: HasDims>(stats: &mut S, dims: &P) -> SamplerStats {
    let values: HashMap<&str, Option<Value>> = stats.get_all(dims).into_iter().collect();
    let number = |name: &str| match values.get(name) {
        Some(Some(Value::ScalarF64(v))) => *v,
        Some(Some(Value::ScalarU64(v))) => *v as f64,
        Some(Some(Value::ScalarI64(v))) => *v as f64,
        _ => f64::NAN,
    };
    SamplerStats {
        lp: number("logp"),
        accept_stat: number("mean_tree_accept"),
        step_size: number("step_size"),
        tree_depth: number("depth") as u32,
        n_leapfrog: number("n_steps") as u32,
        divergent: matches!(values.get("diverging"), Some(Some(Value::ScalarBool(true)))),
        energy: number("energy"),
    }
}

/// A log density as nuts-rs asks for it.
struct Target<'a, D> {
    density: &'a D,
}

/// An evaluation that failed: a divergence for the sampler.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Failed(Error);

impl LogpError for Failed {
    fn is_recoverable(&self) -> bool {
        true
    }
}

impl<D: LogDensity> HasDims for Target<'_, D> {
    fn dim_sizes(&self) -> HashMap<String, u64> {
        let dim = self.density.dim() as u64;
        HashMap::from([
            ("unconstrained_parameter".to_string(), dim),
            ("dim".to_string(), dim),
        ])
    }
}

impl<D: LogDensity> CpuLogpFunc for Target<'_, D> {
    type LogpError = Failed;
    type FlowParameters = ();
    type ExpandedVector = Vec<f64>;

    fn dim(&self) -> usize {
        self.density.dim()
    }

    fn logp(&mut self, position: &[f64], gradient: &mut [f64]) -> std::result::Result<f64, Failed> {
        self.density
            .log_density_and_grad(position, gradient)
            .map_err(Failed)
    }

    fn expand_vector<R: rand::Rng + ?Sized>(
        &mut self,
        _: &mut R,
        array: &[f64],
    ) -> std::result::Result<Vec<f64>, CpuMathError> {
        Ok(array.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A normal with mean `mean` and covariance `[[1, rho], [rho, 1]]`
    /// scaled by `scale^2` per coordinate.
    struct Correlated {
        mean: [f64; 2],
        scale: [f64; 2],
        rho: f64,
    }

    impl LogDensity for Correlated {
        fn dim(&self) -> usize {
            2
        }

        fn log_density_and_grad(&self, x: &[f64], g: &mut [f64]) -> Result<f64> {
            // z = (x - m) / s; log p = -(z0^2 - 2 rho z0 z1 + z1^2) / (2 (1 - rho^2)).
            let z = [
                (x[0] - self.mean[0]) / self.scale[0],
                (x[1] - self.mean[1]) / self.scale[1],
            ];
            let k = 1.0 / (1.0 - self.rho * self.rho);
            g[0] = -k * (z[0] - self.rho * z[1]) / self.scale[0];
            g[1] = -k * (z[1] - self.rho * z[0]) / self.scale[1];
            Ok(-0.5 * k * (z[0] * z[0] - 2.0 * self.rho * z[0] * z[1] + z[1] * z[1]))
        }
    }

    fn quiet(warmup: u64, draws: u64) -> NutsSettings {
        NutsSettings {
            warmup,
            draws,
            progress: false,
            ..NutsSettings::default()
        }
    }

    #[test]
    fn draws_recover_a_correlated_normal_within_monte_carlo_error() {
        let target = Correlated {
            mean: [1.0, -2.0],
            scale: [0.5, 3.0],
            rho: 0.8,
        };
        let (draws, chains) = sample_flat(&target, 4, &quiet(500, 1000), 11).unwrap();
        assert!(chains.iter().all(|c| c.divergent_draws.is_empty()));
        let (x, y) = (draws.element("x[0]").unwrap(), draws.element("x[1]").unwrap());
        // Each mean within 4 standard errors, from the bulk ESS.
        for (c, m, s) in [(&x, 1.0, 0.5), (&y, -2.0, 3.0)] {
            let se = s / c.ess_bulk().sqrt();
            assert!(
                (c.mean() - m).abs() < 4.0 * se,
                "mean {} vs {m} (se {se})",
                c.mean()
            );
            // The variance's standard error is about s^2 sqrt(2 / ESS).
            let var = c.sd() * c.sd();
            assert!(
                (var - s * s).abs() < 4.0 * s * s * (2.0 / c.ess_bulk()).sqrt(),
                "var {var}"
            );
        }
        let covariance = x
            .values()
            .iter()
            .zip(y.values())
            .map(|(a, b)| (a - x.mean()) * (b - y.mean()))
            .sum::<f64>()
            / (x.values().len() - 1) as f64;
        // Cov = rho s0 s1 = 1.2; its standard error about sqrt((s0^2 s1^2 + cov^2) / ESS).
        let ess = x.ess_bulk().min(y.ess_bulk());
        let se = ((0.25 * 9.0 + 1.44) / ess).sqrt();
        assert!(
            (covariance - 1.2).abs() < 4.0 * se,
            "covariance {covariance} (se {se})"
        );
        assert!(x.rhat() < 1.01 && y.rhat() < 1.01);
    }

    #[test]
    fn the_same_seed_gives_the_same_draws_on_one_and_four_threads() {
        let target = Correlated {
            mean: [0.0, 0.0],
            scale: [1.0, 1.0],
            rho: 0.5,
        };
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| sample_flat(&target, 4, &quiet(100, 100), 3).unwrap())
        };
        let (one, four) = (run(1), run(4));
        assert_eq!(one.0, four.0);
        assert_ne!(one.0.chains()[0].draw(5), one.0.chains()[1].draw(5));
    }

    /// A half-normal on `x > 0`; the model fails where `x <= 0`.
    struct HalfNormal;

    impl LogDensity for HalfNormal {
        fn dim(&self) -> usize {
            1
        }

        fn log_density_and_grad(&self, x: &[f64], g: &mut [f64]) -> Result<f64> {
            if x[0] <= 0.0 {
                return Err(Error::InvalidArgument {
                    op: "half normal",
                    message: "outside the support".into(),
                });
            }
            g[0] = -x[0];
            Ok(-0.5 * x[0] * x[0])
        }
    }

    #[test]
    fn failed_evaluations_are_divergences_not_panics() {
        let (draws, chains) = sample_flat(&HalfNormal, 2, &quiet(300, 1000), 5).unwrap();
        let x = draws.element("x[0]").unwrap();
        assert!(x.values().iter().all(|&v| v > 0.0));
        // E|Z| = sqrt(2 / pi) = 0.798, sd sqrt(1 - 2/pi) = 0.603.
        assert!(
            (x.mean() - 0.798).abs() < 4.0 * 0.603 / x.ess_bulk().sqrt(),
            "{}",
            x.mean()
        );
        let divergences: usize = chains.iter().map(|c| c.divergent_draws.len()).sum();
        let marked = draws
            .chains()
            .iter()
            .flat_map(|c| c.stats())
            .filter(|s| s.divergent)
            .count();
        assert_eq!(divergences, marked);
    }

    #[test]
    fn a_density_that_fails_everywhere_cannot_start() {
        struct Broken;
        impl LogDensity for Broken {
            fn dim(&self) -> usize {
                3
            }
            fn log_density_and_grad(&self, _: &[f64], _: &mut [f64]) -> Result<f64> {
                Ok(f64::NAN)
            }
        }
        let err = sample_flat(&Broken, 1, &quiet(10, 10), 1)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("nuts: no starting point in (-2, 2)^3"), "{err}");
    }
}
