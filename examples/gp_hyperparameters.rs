//! A Gaussian process whose kernel is learned: the amplitude, length scale
//! and noise of a squared-exponential kernel, with log-normal priors,
//! fitted by L-BFGS (MAP) and then sampled by NUTS.
//!
//! The model returns the log marginal likelihood of the data through a
//! Cholesky factorisation of `K + s^2 I`, which fails (an error, not a
//! panic) where the matrix is not positive definite; it compiles, checks
//! included. The example prints the fit and the summary, checks that the
//! data's true hyperparameters lie within the posterior's 5-95 % intervals
//! and that the fit follows the true function, and plots the prediction
//! with its uncertainty band.
//!
//! ```text
//! cargo run --release --example gp_hyperparameters [OUTPUT.png]
//! ```

#[path = "common/gp_kernel.rs"]
mod gp_kernel;
#[path = "common/plot.rs"]
mod plot;

use gp_kernel::{
    N, SEED, TRUE_AMPLITUDE, TRUE_LENGTH, TRUE_NOISE, gp_marginal, simulate, squared_exponential,
};
use jaxpurify::infer::{MapSettings, NutsSettings, Posterior};
use jaxpurify::linalg::{self, Transpose, Triangle};
use jaxpurify::prelude::*;
use plot::Figure;
use plotters::chart::SeriesLabelPosition;
use plotters::style::{BLACK, Color, RGBColor};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::path::PathBuf;
use std::process::ExitCode;

/// The GP's predictive mean and standard deviation of `f` on `grid`.
fn predict(
    fixed: &gp_marginal::Fixed,
    grid: &Tensor,
    hyper: &gp_marginal::Intermediates,
) -> Result<(Tensor, Tensor)> {
    let (a, l, s) = (&hyper.amplitude, &hyper.length, &hyper.noise);
    let k = squared_exponential(&fixed.x, &fixed.x, a, l) + Tensor::eye(N) * s.square();
    let factor = linalg::cholesky(&k)?;
    let cross = squared_exponential(&fixed.x, grid, a, l);
    let mean = cross.t().matmul(&linalg::cho_solve(&factor, &fixed.y)?);
    let v = linalg::solve_triangular(&factor, &cross, Triangle::Lower, Transpose::No)?;
    let variance = a.square() - v.square().sum_axes(&[0], false);
    Ok((mean, variance.clamp(0.0, f64::INFINITY).sqrt()))
}

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
fn run() -> std::result::Result<bool, Box<dyn std::error::Error>> {
    let output = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/gp_hyperparameters.png"), PathBuf::from);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(SEED);
    let (fixed, grid, truth) = simulate(N, &mut rng)?;
    let posterior = Posterior::from_log_likelihood(gp_marginal::new(N), fixed.clone())?;
    println!(
        "{N} noisy points from a GP; the log density is {}",
        posterior.evaluation()
    );

    let map = posterior.map_lbfgs(&MapSettings::default())?;
    println!("MAP by L-BFGS: {}", map.termination);
    let h = &map.intermediates;
    println!(
        "  amplitude {:.3}, length {:.3}, noise {:.3} (true {TRUE_AMPLITUDE}, {TRUE_LENGTH}, {TRUE_NOISE})\n",
        h.amplitude.item(),
        h.length.item(),
        h.noise.item()
    );

    let run = posterior.nuts(4, &NutsSettings::default(), SEED)?;
    println!("{run}\n");
    let summary = run.summary()?;
    println!("{summary}\n");

    let mut ok = map.termination.converged;
    for (name, truth) in [
        ("amplitude", TRUE_AMPLITUDE),
        ("length", TRUE_LENGTH),
        ("noise", TRUE_NOISE),
    ] {
        let row = summary
            .get(name)
            .ok_or("a hyperparameter is missing from the summary")?;
        let inside = row.q5 <= truth && truth <= row.q95;
        println!(
            "{name}: 5-95 % [{:.3}, {:.3}] holds {truth}: {}",
            row.q5,
            row.q95,
            if inside { "ok" } else { "FAILED" }
        );
        ok &= inside;
    }
    ok &= summary.max_r_hat() < 1.01;

    let (mean, sd) = predict(&fixed, &grid, &map.intermediates)?;
    let rms = ((&mean - &truth).square().mean()).sqrt().item();
    let close = rms < 2.0 * TRUE_NOISE;
    println!(
        "fit against the true function: rms {rms:.3} (below {}): {}",
        2.0 * TRUE_NOISE,
        if close { "ok" } else { "FAILED" }
    );
    ok &= close;

    let (lo, hi) = (&mean - &sd * 2.0, &mean + &sd * 2.0);
    Figure::new("GP with learned kernel: MAP fit", "x", "f(x)")
        .legend_at(SeriesLabelPosition::UpperLeft)
        .band(
            &grid.to_vec(),
            &lo.to_vec(),
            &hi.to_vec(),
            RGBColor(70, 130, 180).mix(0.25),
            Some("mean +- 2 sd"),
        )
        .line(
            &grid.to_vec(),
            &truth.to_vec(),
            BLACK.stroke_width(1),
            Some("true function"),
        )
        .line(
            &grid.to_vec(),
            &mean.to_vec(),
            RGBColor(30, 80, 160).stroke_width(2),
            Some("posterior mean"),
        )
        .points(
            &fixed.x.to_vec(),
            &fixed.y.to_vec(),
            None,
            RGBColor(200, 60, 30).filled(),
            Some("data"),
        )
        .save(&output, 900, 540)?;
    println!("plot written to {}", output.display());
    Ok(ok)
}
