//! Gaussian-process regression with a purified field model.
//!
//! A smooth random field on a grid is observed, through linear
//! interpolation, at 100 scattered points with noise. Its posterior is
//! Gaussian; we find the posterior mean and draw posterior samples with
//! conjugate gradients on the model's Jacobian and its transpose, without
//! forming a matrix, then check the result and plot it.
//!
//! ```text
//! cargo run --release --example gaussian_process [OUTPUT.png]
//! ```
//!
//! Exits with a non-zero status when the reconstruction is not close to the
//! truth.

#[path = "common/gp_data.rs"]
mod gp_data;
#[path = "common/gp_model.rs"]
mod gp_model;
#[path = "common/plot.rs"]
mod plot;

use gp_data::Observations;
use gp_model::observed_field;
use indicatif::{ProgressBar, ProgressStyle};
use jaxpurify::infer::LinearGaussian;
use jaxpurify::prelude::*;
use plot::Figure;
use plotters::chart::SeriesLabelPosition;
use plotters::style::{BLACK, Color, RGBColor};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const N: usize = 1000;
const N_OBS: usize = 100;
const PAD: usize = 10;
const X_MAX: f64 = 20.0;
const SEED: u64 = 42;
const CG_TOL: f64 = 1e-5;
const CG_MAX_ITER: usize = 100;
const N_SAMPLES: usize = 5;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the example; `Ok(false)` when a check failed.
fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let output = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/gaussian_process.png"), PathBuf::from);
    let started = Instant::now();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(SEED);
    let data = Observations::simulate(N_OBS, X_MAX, &mut rng);
    let x = Tensor::linspace(0.0, X_MAX, N);
    let fixed = observed_field::Fixed {
        x: x.clone(),
        x_obs: Tensor::from(data.x_obs.clone()),
        ..Default::default()
    };
    let noise_variance = data.noise_std.iter().map(|s| s * s).collect();
    let gp = LinearGaussian::new(observed_field::new(N, N_OBS, PAD), fixed, noise_variance)?;
    println!(
        "{N_OBS} observations of a field on {N} points ({} parameters)",
        gp.dim()
    );

    let solve_started = Instant::now();
    let mean = gp.mean(&data.y_obs, CG_TOL, CG_MAX_ITER);
    println!(
        "posterior mean: {} CG iterations, residual {:.2e} ({}), {:.2?}",
        mean.iterations,
        mean.residual_norm,
        if mean.converged {
            "converged"
        } else {
            "not converged"
        },
        solve_started.elapsed()
    );

    let samples = draw_samples(&gp, &data.y_obs, &mut rng);
    let field_of = |params: &[f64]| -> Result<Vec<f64>, jaxpurify::Error> {
        let p = gp.flat().unravel(params)?;
        Ok(gp.flat().model().intermediates(&p, gp.fixed())?.signal.into_vec())
    };
    let mean_field = field_of(&mean.x)?;
    let sample_fields = samples
        .iter()
        .map(|s| field_of(s))
        .collect::<Result<Vec<_>, _>>()?;
    let mean_at_obs = gp.forward(&mean.x);

    let ok = check(&x.to_vec(), &data, &mean_field, &mean_at_obs);
    draw(&output, &x.to_vec(), &data, &mean_field, &sample_fields)?;
    println!("plot written to {}", output.display());
    println!("total {:.2?}", started.elapsed());
    Ok(ok)
}

/// Posterior samples, with a progress bar over the solves.
fn draw_samples(
    gp: &LinearGaussian<observed_field::Model>,
    y: &[f64],
    rng: &mut Xoshiro256PlusPlus,
) -> Vec<Vec<f64>> {
    let bar = ProgressBar::new(N_SAMPLES as u64).with_style(
        ProgressStyle::with_template("sampling {bar:30} {pos}/{len} [{elapsed}]").expect("a valid template"),
    );
    let started = Instant::now();
    let mut samples = Vec::with_capacity(N_SAMPLES);
    let mut iterations = Vec::with_capacity(N_SAMPLES);
    for _ in 0..N_SAMPLES {
        let (sample, solve) = gp.sample(y, rng, CG_TOL, CG_MAX_ITER);
        iterations.push(solve.iterations);
        samples.push(sample);
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!(
        "{N_SAMPLES} posterior samples: CG iterations {iterations:?}, {:.2?}",
        started.elapsed()
    );
    samples
}

fn average(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0), |(sum, count), v| (sum + v, count + 1));
    sum / count as f64
}

fn rms(values: impl Iterator<Item = f64>) -> f64 {
    average(values.map(|v| v * v)).sqrt()
}

/// Checks the posterior mean against the truth; prints each check.
///
/// Both thresholds are set by the noise, so they say "the reconstruction is
/// better than the data", not a tuned number:
/// - at the observations, the mean's RMS error must be below half the noise
///   RMS: averaging neighbouring data must beat a single datum's noise
///   (seeds 0 to 7 give 0.31 to 0.41 of it);
/// - on the grid inside the data's range, the mean absolute error must be
///   below a datum's expected absolute noise, `sqrt(2 / pi)` times the mean
///   noise standard deviation (about 0.30; the prior mean, zero, scores
///   `2 / pi = 0.64`; seeds 0 to 7 give 0.10 to 0.16). Between observations
///   the mean interpolates, so this is the looser of the two.
fn check(x: &[f64], data: &Observations, mean_field: &[f64], mean_at_obs: &[f64]) -> bool {
    let rmse_obs = rms(data.x_obs.iter().zip(mean_at_obs).map(|(x, m)| m - x.sin()));
    let noise_rms = rms(data.noise_std.iter().copied());
    let noise_abs = (2.0 / std::f64::consts::PI).sqrt() * average(data.noise_std.iter().copied());
    let (lo, hi) = data
        .x_obs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    let inside = x.iter().zip(mean_field).filter(|(x, _)| (lo..=hi).contains(*x));
    let grid_error = average(inside.map(|(x, m)| (m - x.sin()).abs()));
    println!("RMS error of the mean at the observations {rmse_obs:.4} (noise RMS {noise_rms:.4})");
    println!(
        "mean |mean - truth| on the grid in [{lo:.2}, {hi:.2}] {grid_error:.4} \
         (expected |noise| of a datum {noise_abs:.4})"
    );
    let checks = [
        (
            "error at the observations below half the noise",
            rmse_obs < 0.5 * noise_rms,
        ),
        ("error on the grid below a datum's noise", grid_error < noise_abs),
    ];
    for (what, passed) in &checks {
        println!("{} {what}", if *passed { "ok:  " } else { "FAIL:" });
    }
    checks.iter().all(|(_, passed)| *passed)
}

fn draw(
    path: &std::path::Path,
    x: &[f64],
    data: &Observations,
    mean_field: &[f64],
    sample_fields: &[Vec<f64>],
) -> Result<(), Box<dyn std::error::Error>> {
    let truth: Vec<f64> = x.iter().map(|x| x.sin()).collect();
    let sample_colour = RGBColor(70, 130, 180).mix(0.5).stroke_width(1);
    let mut figure =
        Figure::new("Gaussian-process regression", "x", "field").legend_at(SeriesLabelPosition::LowerLeft);
    for (i, sample) in sample_fields.iter().enumerate() {
        let label = (i == 0).then_some("posterior samples");
        figure = figure.line(x, sample, sample_colour, label);
    }
    figure
        .line(x, &truth, BLACK.stroke_width(2), Some("truth sin(x)"))
        .points(
            &data.x_obs,
            &data.y_obs,
            Some(&data.noise_std),
            RGBColor(200, 80, 40).into(),
            Some("data (1 sigma)"),
        )
        .line(
            x,
            mean_field,
            RGBColor(20, 60, 200).stroke_width(3),
            Some("posterior mean"),
        )
        .save(path, 1000, 560)
}
