//! Eight schools (Rubin 1981), non-centred: the classic hierarchical model,
//! sampled by NUTS with 4 chains.
//!
//! Each school's effect is `theta_j = mu + tau xi_j` with `xi_j` standard
//! normal, `mu ~ Normal(0, 5)` and `tau ~ HalfCauchy(5)`; the reported
//! effects `y_j` have known standard errors `sigma_j`. The example prints
//! the summary, checks the posterior means of `mu` and `tau` against the
//! reference posterior (posteriordb's `eight_schools_noncentered`), writes
//! the draws as Stan CSV files and a PNG of the funnel (`ln tau` against
//! `theta_1`) with the divergent draws marked.
//!
//! ```text
//! cargo run --release --example eight_schools [OUTPUT.png]
//! ```

#[path = "common/plot.rs"]
mod plot;

use jaxpurify::infer::{Gaussian, NutsSettings, Posterior};
use jaxpurify::prelude::*;
use plot::Figure;
use plotters::chart::SeriesLabelPosition;
use plotters::style::{Color, RGBColor};
use std::path::PathBuf;
use std::process::ExitCode;

/// The reported effects and their standard errors.
const Y: [f64; 8] = [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0];
const SIGMA: [f64; 8] = [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0];

/// posteriordb's reference posterior means for `eight_schools_noncentered`
/// (10 000 draws of Stan's NUTS).
const REFERENCE_MU: f64 = 4.41;
const REFERENCE_TAU: f64 = 3.60;

/// The predicted effects of the eight schools.
#[purify]
fn eight_schools() -> Tensor {
    let mu = normal_variable!(mean = 0.0, sigma = 5.0);
    let tau = half_cauchy_variable!(scale = 5.0);
    let xi = param!(8);
    intermediate!(&mu + &tau * &xi, name = "theta")
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
fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let output = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/eight_schools.png"), PathBuf::from);
    let likelihood = Gaussian::new(Tensor::from(Y), Tensor::from(SIGMA))?;
    let posterior = Posterior::new(eight_schools::new(), eight_schools::Fixed::default(), likelihood)?;
    let run = posterior.nuts(4, &NutsSettings::default(), 20_261_204)?;
    println!("{run}\n");
    let summary = run.summary()?;
    println!("{summary}\n");

    let mut ok = true;
    for (name, reference) in [("mu", REFERENCE_MU), ("tau", REFERENCE_TAU)] {
        let row = summary
            .get(name)
            .ok_or("a variable is missing from the summary")?;
        // Within four Monte Carlo standard errors (posteriordb's own error
        // on its reference means is about 0.03, added in quadrature).
        let tolerance = 4.0 * (row.mcse_mean.powi(2) + 0.03f64.powi(2)).sqrt();
        let close = (row.mean - reference).abs() < tolerance;
        println!(
            "{name}: posterior mean {:.3} against the reference {reference} (tolerance {tolerance:.3}): {}",
            row.mean,
            if close { "ok" } else { "FAILED" }
        );
        ok &= close;
    }
    let worst = summary.max_r_hat();
    println!(
        "largest R-hat {worst:.4}: {}",
        if worst < 1.01 { "ok" } else { "FAILED" }
    );
    ok &= worst < 1.01;

    let files = run.save(output.with_extension("csv"))?;
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    println!("draws written to {}", names.join(", "));
    funnel(&run, &output)?;
    println!("funnel written to {}", output.display());
    Ok(ok)
}

/// The funnel of the centred parametrisation, `ln tau` against
/// `theta_1`, from the draws, with the divergent ones in red.
fn funnel(
    run: &jaxpurify::infer::NutsRun<eight_schools::Model>,
    path: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let (tau, theta) = (run.intermediate("tau")?, run.intermediate("theta")?);
    let draws = run.draws()?;
    let (mut plain, mut divergent) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
    let per_chain = draws.num_draws();
    for (c, chain) in draws.chains().iter().enumerate() {
        for (i, stats) in chain.stats().iter().enumerate() {
            let k = c * per_chain + i;
            let target = if stats.divergent {
                &mut divergent
            } else {
                &mut plain
            };
            target.0.push(theta.as_slice()[k * 8]);
            target.1.push(tau.as_slice()[k].ln());
        }
    }
    let grey = RGBColor(90, 110, 160).mix(0.35);
    let red = RGBColor(200, 30, 30);
    let label = format!("divergent ({})", divergent.0.len());
    Figure::new("Eight schools: the funnel", "theta[0]", "ln tau")
        .legend_at(SeriesLabelPosition::LowerRight)
        .points(&plain.0, &plain.1, None, grey.filled(), Some("draws"))
        .points(&divergent.0, &divergent.1, None, red.filled(), Some(&label))
        .save(path, 800, 600)
}
