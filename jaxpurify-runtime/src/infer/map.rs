//! The maximum of a log density by L-BFGS (argmin's): maximum a posteriori
//! for a [`Posterior`], maximum likelihood without its prior.
//!
//! argmin asks for the cost and the gradient in separate calls, at the same
//! point; both come from one pass of automatic differentiation, kept for
//! the second call. A point where the model fails (an error, a NaN) is a
//! rejected step: the line search sees an infinite cost there. More and
//! Thuente's line search cannot go on from such a point, so the fit then
//! continues from the best point so far with a backtracking (Armijo) line
//! search, which shrinks the step until the model succeeds again.

use super::posterior::{LogDensity, Posterior};
use crate::error::{Error, Result};
use crate::model::Model;
use argmin::core::observers::{Observe, ObserverMode};
use argmin::core::{CostFunction, Executor, Gradient, IterState, KV, State, TerminationReason};
use argmin::solver::linesearch::condition::ArmijoCondition;
use argmin::solver::linesearch::{BacktrackingLineSearch, MoreThuenteLineSearch};
use argmin::solver::quasinewton::LBFGS;
use indicatif::{ProgressBar, ProgressStyle};
use std::fmt;
use std::sync::Mutex;
use std::time::Instant;

/// Settings of an L-BFGS fit.
#[derive(Clone, Debug)]
pub struct MapSettings {
    /// The most iterations (line searches).
    pub max_iters: u64,
    /// How many past steps approximate the curvature.
    pub history: usize,
    /// Stop when the Euclidean norm of the gradient falls below this.
    pub gradient_tolerance: f64,
    /// Stop when the log density changes by less than this between
    /// iterations.
    pub value_tolerance: f64,
    /// Show a progress bar (only on a terminal).
    pub progress: bool,
}

impl Default for MapSettings {
    fn default() -> MapSettings {
        MapSettings {
            max_iters: 1000,
            history: 10,
            gradient_tolerance: 1e-6,
            value_tolerance: 1e-12,
            progress: true,
        }
    }
}

/// How a fit ended.
#[derive(Clone, Debug)]
pub struct Termination {
    /// Why it stopped, in argmin's words.
    pub reason: String,
    /// Whether a tolerance was met (not the iteration limit, not a failure).
    pub converged: bool,
    /// Iterations (line searches) made.
    pub iterations: u64,
    /// Evaluations of the log density and its gradient (passes of
    /// automatic differentiation).
    pub evaluations: u64,
    /// Evaluations where the model failed (rejected steps).
    pub failures: u64,
    /// The norm of the gradient at the optimum.
    pub gradient_norm: f64,
    /// Wall time in seconds.
    pub seconds: f64,
}

impl fmt::Display for Termination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} after {} iterations, {} evaluations ({} failed), |gradient| {:.3e}, {:.3} s",
            self.reason, self.iterations, self.evaluations, self.failures, self.gradient_norm, self.seconds
        )
    }
}

/// The optimum of a flat log density.
#[derive(Clone, Debug)]
pub struct FlatFit {
    /// Where the maximum is.
    pub x: Vec<f64>,
    /// The log density there.
    pub log_density: f64,
    /// How the fit ended.
    pub termination: Termination,
}

/// The optimum of a posterior, as typed parameters with the model's
/// intermediates there (physical values of variables included).
#[derive(Clone, Debug)]
pub struct MapFit<P, I> {
    /// The parameters at the optimum.
    pub params: P,
    /// The intermediates at the optimum.
    pub intermediates: I,
    /// The log density at the optimum (the log-likelihood for maximum
    /// likelihood).
    pub log_density: f64,
    /// How the fit ended.
    pub termination: Termination,
    /// How the model was evaluated (compiled or directly, and why).
    pub evaluation: String,
}

/// The maximum of `density` by L-BFGS from `init`.
///
/// ```
/// use jaxpurify_runtime::infer::{map, LogDensity, MapSettings};
/// /// Rosenbrock's function, negated: its maximum is at (1, 1).
/// struct Rosenbrock;
/// impl LogDensity for Rosenbrock {
///     fn dim(&self) -> usize { 2 }
///     fn log_density_and_grad(&self, x: &[f64], g: &mut [f64]) -> jaxpurify_runtime::Result<f64> {
///         let (a, b) = (1.0 - x[0], x[1] - x[0] * x[0]);
///         g[0] = 2.0 * a + 400.0 * x[0] * b;
///         g[1] = -200.0 * b;
///         Ok(-(a * a + 100.0 * b * b))
///     }
/// }
/// let settings = MapSettings { progress: false, ..MapSettings::default() };
/// let fit = map::lbfgs(&Rosenbrock, &[-1.2, 1.0], &settings)?;
/// assert!(fit.termination.converged);
/// assert!((fit.x[0] - 1.0).abs() < 1e-6 && (fit.x[1] - 1.0).abs() < 1e-6);
/// # Ok::<(), jaxpurify_runtime::Error>(())
/// ```
///
/// # Errors
/// When `init` has the wrong length, or the density cannot be evaluated
/// there (the error says why).
pub fn lbfgs(density: &impl LogDensity, init: &[f64], settings: &MapSettings) -> Result<FlatFit> {
    if init.len() != density.dim() {
        return Err(Error::Length {
            path: "initial point".into(),
            expected: density.dim(),
            actual: init.len(),
        });
    }
    let started = Instant::now();
    let problem = Negated::new(density);
    let mut grad = vec![0.0; init.len()];
    let start = density
        .log_density_and_grad(init, &mut grad)
        .map_err(|e| Error::InvalidArgument {
            op: "map::lbfgs",
            message: format!("the log density cannot be evaluated at the starting point: {e}"),
        })?;
    problem.keep_best(init, -start);
    let bar = progress_bar(settings);
    let (mut iterations, mut reason) = run(&problem, init, settings, settings.max_iters, &bar, false)?;
    if problem.failed_in_line_search(&reason) && iterations < settings.max_iters {
        let best = problem.best().0;
        let rest = settings.max_iters - iterations;
        let (more, why) = run(&problem, &best, settings, rest, &bar, true)?;
        (iterations, reason) = (iterations + more, why);
    }
    bar.finish_and_clear();
    let (x, cost) = problem.best();
    density.log_density_and_grad(&x, &mut grad)?;
    let counts = problem.counts();
    Ok(FlatFit {
        log_density: -cost,
        termination: Termination {
            converged: matches!(reason, TerminationReason::SolverConverged),
            reason: reason.text().to_string(),
            iterations,
            evaluations: counts.0,
            failures: counts.1,
            gradient_norm: grad.iter().map(|g| g * g).sum::<f64>().sqrt(),
            seconds: started.elapsed().as_secs_f64(),
        },
        x,
    })
}

/// One run of argmin's L-BFGS from `init`, with More and Thuente's line
/// search or, when `backtracking`, Armijo backtracking; its iterations and
/// why it stopped.
fn run<D: LogDensity>(
    problem: &Negated<'_, D>,
    init: &[f64],
    settings: &MapSettings,
    max_iters: u64,
    bar: &ProgressBar,
    backtracking: bool,
) -> Result<(u64, TerminationReason)> {
    let argmin_error = |e: argmin::core::Error| Error::InvalidArgument {
        op: "map::lbfgs",
        message: e.to_string(),
    };
    macro_rules! execute {
        ($linesearch:expr) => {{
            let solver = LBFGS::new($linesearch, settings.history)
                .with_tolerance_grad(settings.gradient_tolerance)
                .and_then(|s| s.with_tolerance_cost(settings.value_tolerance))
                .map_err(argmin_error)?;
            let result = Executor::new(problem, solver)
                .configure(|state| state.param(init.to_vec()).max_iters(max_iters))
                .add_observer(Progress(bar.clone()), ObserverMode::Always)
                .ctrlc(false)
                .run()
                .map_err(argmin_error)?;
            let state = result.state();
            let reason = state
                .get_termination_reason()
                .cloned()
                .unwrap_or(TerminationReason::SolverConverged);
            Ok((state.get_iter(), reason))
        }};
    }
    if backtracking {
        let armijo = ArmijoCondition::new(1e-4).map_err(argmin_error)?;
        execute!(
            BacktrackingLineSearch::new(armijo)
                .rho(0.5)
                .map_err(argmin_error)?
        )
    } else {
        execute!(MoreThuenteLineSearch::new())
    }
}

fn progress_bar(settings: &MapSettings) -> ProgressBar {
    if !settings.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(settings.max_iters);
    let style = ProgressStyle::with_template("L-BFGS {bar:30} {pos}/{len} iterations, {msg}")
        .expect("a valid template");
    bar.set_style(style);
    bar
}

/// Moves the progress bar on each iteration.
struct Progress(ProgressBar);

impl Observe<IterState<Vec<f64>, Vec<f64>, (), (), (), f64>> for Progress {
    fn observe_iter(
        &mut self,
        state: &IterState<Vec<f64>, Vec<f64>, (), (), (), f64>,
        _: &KV,
    ) -> std::result::Result<(), argmin::core::Error> {
        self.0.set_position(state.get_iter());
        self.0
            .set_message(format!("log density {:.6e}", -state.get_best_cost()));
        Ok(())
    }
}

/// The negated log density as argmin's cost, with one evaluation serving
/// the cost and the gradient at a point.
struct Negated<'a, D> {
    density: &'a D,
    state: Mutex<Evaluations>,
}

/// The last evaluation, the best point, and the counts.
#[derive(Default)]
struct Evaluations {
    x: Vec<f64>,
    cost: f64,
    grad: Vec<f64>,
    best: Option<(Vec<f64>, f64)>,
    count: u64,
    failures: u64,
}

impl<'a, D: LogDensity> Negated<'a, D> {
    fn new(density: &'a D) -> Negated<'a, D> {
        Negated {
            density,
            state: Mutex::new(Evaluations::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Evaluations> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cost and gradient at `x`: the kept ones when `x` was the last
    /// point, otherwise one new evaluation. A failed one costs `+inf` with
    /// a NaN gradient.
    fn evaluate(&self, x: &[f64]) -> (f64, Vec<f64>) {
        let mut state = self.lock();
        if state.count > 0 && state.x == x {
            return (state.cost, state.grad.clone());
        }
        let mut grad = vec![0.0; x.len()];
        let (cost, grad) = match self.density.log_density_and_grad(x, &mut grad) {
            Ok(value) if value.is_finite() => (-value, grad.iter().map(|g| -g).collect()),
            _ => {
                state.failures += 1;
                (f64::INFINITY, vec![f64::NAN; x.len()])
            }
        };
        state.count += 1;
        state.x = x.to_vec();
        (state.cost, state.grad) = (cost, grad.clone());
        drop(state);
        self.keep_best(x, cost);
        (cost, grad)
    }

    fn keep_best(&self, x: &[f64], cost: f64) {
        let mut state = self.lock();
        if state.best.as_ref().is_none_or(|(_, best)| cost < *best) {
            state.best = Some((x.to_vec(), cost));
        }
    }

    fn best(&self) -> (Vec<f64>, f64) {
        self.lock().best.clone().expect("the starting point is kept")
    }

    fn counts(&self) -> (u64, u64) {
        let state = self.lock();
        (state.count, state.failures)
    }

    /// Whether the line search stopped at a failed evaluation.
    fn failed_in_line_search(&self, reason: &TerminationReason) -> bool {
        matches!(reason, TerminationReason::SolverExit(_)) && self.lock().failures > 0
    }
}

impl<D: LogDensity> CostFunction for &Negated<'_, D> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, x: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.evaluate(x).0)
    }
}

impl<D: LogDensity> Gradient for &Negated<'_, D> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, x: &Vec<f64>) -> std::result::Result<Vec<f64>, argmin::core::Error> {
        Ok(self.evaluate(x).1)
    }
}

impl<M: Model + Sync> Posterior<M> {
    /// The maximum a posteriori parameters by L-BFGS, from zero (the prior
    /// median in whitened parameters), with the intermediates there.
    ///
    /// # Errors
    /// When the model cannot be evaluated at zero, and the model's errors
    /// at the optimum.
    pub fn map_lbfgs(&self, settings: &MapSettings) -> Result<MapFit<M::Params, M::Intermediates>> {
        self.map_lbfgs_from(&self.flat().template().clone(), settings)
    }

    /// [`map_lbfgs`](Posterior::map_lbfgs) from `init`.
    ///
    /// # Errors
    /// As [`map_lbfgs`](Posterior::map_lbfgs), at `init`.
    pub fn map_lbfgs_from(
        &self,
        init: &M::Params,
        settings: &MapSettings,
    ) -> Result<MapFit<M::Params, M::Intermediates>> {
        let fit = lbfgs(self, &crate::tree::Tree::ravel(init), settings)?;
        self.typed_fit(fit)
    }

    /// The maximum likelihood parameters by L-BFGS from `init`: the
    /// log-likelihood alone, without the prior.
    ///
    /// # Errors
    /// As [`map_lbfgs_from`](Posterior::map_lbfgs_from).
    pub fn max_likelihood_lbfgs(
        &self,
        init: &M::Params,
        settings: &MapSettings,
    ) -> Result<MapFit<M::Params, M::Intermediates>> {
        let fit = lbfgs(&Likelihood(self), &crate::tree::Tree::ravel(init), settings)?;
        self.typed_fit(fit)
    }

    fn typed_fit(&self, fit: FlatFit) -> Result<MapFit<M::Params, M::Intermediates>> {
        let params = self.flat().unravel(&fit.x)?;
        let intermediates = self.model().intermediates(&params, self.fixed())?;
        Ok(MapFit {
            params,
            intermediates,
            log_density: fit.log_density,
            termination: fit.termination,
            evaluation: self.evaluation().to_string(),
        })
    }
}

/// A posterior's log-likelihood alone, as a density.
struct Likelihood<'a, M: Model>(&'a Posterior<M>);

impl<M: Model + Sync> LogDensity for Likelihood<'_, M> {
    fn dim(&self) -> usize {
        self.0.dim()
    }

    fn log_density_and_grad(&self, x: &[f64], grad: &mut [f64]) -> Result<f64> {
        super::posterior::check_finite(self.0.log_likelihood_and_grad(x, grad)?)
    }
}
