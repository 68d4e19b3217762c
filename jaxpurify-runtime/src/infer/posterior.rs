//! A posterior from a purified model: its log-likelihood plus the whitened
//! prior, as one log density over the flat parameter vector.

use super::likelihood::Likelihood;
use crate::compile::CompiledGradient;
use crate::error::{Error, Result};
use crate::model::{Flat, Model, Shapes};
use crate::tensor::Tensor;
use crate::tree::Tree;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::fmt;
use std::ops::Range;

/// A log density over a flat parameter vector, with its gradient: what
/// optimisers and samplers ask of a model. One call is one pass of
/// automatic differentiation.
///
/// ```
/// use jaxpurify_runtime::infer::LogDensity;
/// /// A standard normal in two dimensions.
/// struct Normal;
/// impl LogDensity for Normal {
///     fn dim(&self) -> usize { 2 }
///     fn log_density_and_grad(&self, x: &[f64], grad: &mut [f64]) -> jaxpurify_runtime::Result<f64> {
///         grad.iter_mut().zip(x).for_each(|(g, x)| *g = -x);
///         Ok(-0.5 * x.iter().map(|x| x * x).sum::<f64>())
///     }
/// }
/// let mut grad = [0.0; 2];
/// assert_eq!(Normal.log_density_and_grad(&[1.0, 2.0], &mut grad)?, -2.5);
/// assert_eq!(grad, [-1.0, -2.0]);
/// # Ok::<(), jaxpurify_runtime::Error>(())
/// ```
pub trait LogDensity: Sync {
    /// The length of the parameter vector.
    fn dim(&self) -> usize;

    /// The log density at `x` (up to an additive constant), with its
    /// gradient written into `grad`.
    ///
    /// # Errors
    /// When the model fails at `x` (its own error), or the value is NaN or
    /// `+inf`. A sampler treats either as a divergence, an optimiser as a
    /// rejected step.
    fn log_density_and_grad(&self, x: &[f64], grad: &mut [f64]) -> Result<f64>;
}

/// How a posterior evaluates its log density: through the model's compiled
/// program, or by calling the model directly, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Evaluation {
    /// A compiled program of this many kernel calls per evaluation.
    Compiled {
        /// Kernel calls per evaluation.
        steps: usize,
    },
    /// The model called directly, because it did not compile.
    Direct {
        /// Why the model did not compile.
        reason: String,
    },
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evaluation::Compiled { steps } => write!(f, "compiled ({steps} kernel calls per evaluation)"),
            Evaluation::Direct { reason } => write!(f, "direct calls (not compiled: {reason})"),
        }
    }
}

/// The log-likelihood of a model's output.
type LogLikelihood<O> = Box<dyn Fn(&O) -> Tensor + Send + Sync>;

/// The posterior of a purified model: the log-likelihood of its output
/// for the given `Fixed` data, plus the whitened prior `-|xi|^2 / 2` over
/// every `param!` and variable, as one [`LogDensity`] over the flat
/// parameter vector (declaration order, as [`Tree::ravel`] lays it out).
///
/// A `param!` is standard normal a priori: that is what whitened
/// parametrisation means, and it is why the prior is never written by
/// hand. A parameter with another prior is transformed inside the model
/// (the `*_variable!` markers); one that should have none is declared flat
/// with [`with_flat_prior`](Posterior::with_flat_prior).
///
/// The log density is compiled once, when the posterior is made, at zero
/// parameters (the prior median), or where the model first succeeds among a
/// few prior draws; a model that does not compile is called directly.
/// [`evaluation`](Posterior::evaluation) says which. Values are up to an
/// additive constant: the prior's normalisation is left out.
///
/// ```
/// # extern crate jaxpurify_runtime as jaxpurify;
/// use jaxpurify::infer::{LogDensity, Posterior};
/// use jaxpurify::{purify, Tensor};
///
/// /// A standard-normal `x` observed as `2 x + noise`.
/// #[purify]
/// fn scaled() -> Tensor {
///     let x = param!(());
///     x * 2.0
/// }
///
/// fn main() -> jaxpurify::Result<()> {
///     // y = 3 with unit noise: the posterior of x is N(6/5, 1/5).
///     let y = Tensor::scalar(3.0);
///     let posterior = Posterior::with_log_likelihood(scaled::new(), scaled::Fixed::default(), move |pred: &Tensor| {
///         -(pred - &y).square().sum() * 0.5
///     })?;
///     let mut grad = [0.0];
///     posterior.log_density_and_grad(&[1.2], &mut grad)?;
///     assert!(grad[0].abs() < 1e-12);
///     assert!(posterior.evaluation().to_string().starts_with("compiled"));
///     Ok(())
/// }
/// ```
pub struct Posterior<M: Model> {
    flat: Flat<M>,
    fixed: M::Fixed,
    likelihood: LogLikelihood<M::Output>,
    /// The parts of the flat vector with a standard-normal prior.
    whitened: Vec<Range<usize>>,
    program: Option<CompiledGradient<M::Params>>,
    evaluation: Evaluation,
}

/// How many prior draws are tried for a point to compile at when the model
/// fails at zero parameters.
const COMPILE_ATTEMPTS: usize = 4;

impl<M: Model> Posterior<M> {
    /// The posterior of `model` with `fixed` data, whose log-likelihood is
    /// `log_likelihood` of the model's output (a scalar tensor, built from
    /// tensor ops so that it is differentiated with the model), plus the
    /// whitened prior. For the likelihoods of [`likelihood`](super::likelihood),
    /// use [`new`](Posterior::new).
    ///
    /// # Errors
    /// When the model's layout cannot be learned, when the log-likelihood
    /// at zero parameters is not a single value, and the model's own
    /// errors at the boundary (fixed data of the wrong shape).
    pub fn with_log_likelihood(
        model: M,
        fixed: M::Fixed,
        log_likelihood: impl Fn(&M::Output) -> Tensor + Send + Sync + 'static,
    ) -> Result<Posterior<M>> {
        Posterior::build(model, fixed, Box::new(log_likelihood), true)
    }

    fn build(
        model: M,
        fixed: M::Fixed,
        likelihood: LogLikelihood<M::Output>,
        prior: bool,
    ) -> Result<Posterior<M>> {
        let flat = model.flat()?;
        let whole = 0..flat.len();
        let whitened = prior.then_some(whole).into_iter().collect();
        let mut posterior = Posterior {
            flat,
            fixed,
            likelihood,
            whitened,
            program: None,
            evaluation: Evaluation::Direct {
                reason: "not compiled yet".into(),
            },
        };
        posterior.check_scalar()?;
        posterior.compile();
        Ok(posterior)
    }

    /// Fails unless the log-likelihood is a single value at zero
    /// parameters (where the model fails, the first call will say so).
    fn check_scalar(&self) -> Result<()> {
        let zeros = vec![0.0; self.flat.len()];
        let value = match self.flat.apply(&zeros, &self.fixed) {
            Ok(output) => (self.likelihood)(&output),
            Err(Error::Shape { .. } | Error::Length { .. } | Error::Missing { .. }) => {
                return self.flat.apply(&zeros, &self.fixed).map(|_| ());
            }
            Err(_) => return Ok(()),
        };
        match value.numel() {
            1 => Ok(()),
            _ => Err(Error::InvalidArgument {
                op: "Posterior::new",
                message: format!(
                    "the log-likelihood must be a single value, got shape {} (sum it)",
                    value.shape()
                ),
            }),
        }
    }

    /// Compiles the log-likelihood and its gradient at the first point
    /// where the model succeeds, or keeps the direct call and the reason.
    fn compile(&mut self) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(0x5eed);
        let mut last = String::new();
        for attempt in 0..=COMPILE_ATTEMPTS {
            let at = match attempt {
                0 => vec![0.0; self.flat.len()],
                _ => Tensor::randn([self.flat.len()], &mut rng).into_vec(),
            };
            let likelihood = &self.likelihood;
            match self
                .flat
                .compile_value_and_grad(&at, &self.fixed, |y| likelihood(y))
            {
                Ok(program) => {
                    self.evaluation = Evaluation::Compiled {
                        steps: program.num_steps(),
                    };
                    self.program = Some(program);
                    return;
                }
                Err(Error::Compile { reason }) => {
                    self.evaluation = Evaluation::Direct { reason };
                    return;
                }
                Err(e) => last = e.to_string(),
            }
        }
        self.evaluation = Evaluation::Direct {
            reason: format!("the model fails at zero and at {COMPILE_ATTEMPTS} prior draws ({last})"),
        };
    }

    /// This posterior with a flat (improper, constant) prior instead of the
    /// whitened one on the parameters at `paths`: a leaf (`"mu"`,
    /// `"layers.0.w"`) or everything under a component (`"field"`).
    ///
    /// # Errors
    /// [`Error::Missing`] naming a path that is no parameter of the model.
    pub fn with_flat_prior(mut self, paths: &[&str]) -> Result<Posterior<M>> {
        let shapes = self.shapes();
        for &path in paths {
            let mut found = false;
            let mut start = 0;
            for (leaf, shape) in shapes.iter() {
                let len = shape.numel();
                if leaf == path || leaf.starts_with(&format!("{path}.")) {
                    self.whitened = remove_range(&self.whitened, start..start + len);
                    found = true;
                }
                start += len;
            }
            if !found {
                return Err(Error::Missing {
                    path: format!("{path} (no parameter of the model has this path)"),
                });
            }
        }
        Ok(self)
    }

    /// The parameters' paths and shapes, in flat order.
    pub fn shapes(&self) -> Shapes {
        Shapes::of(self.flat.template())
    }

    /// The flat model, to unravel parameter vectors or evaluate it.
    pub fn flat(&self) -> &Flat<M> {
        &self.flat
    }

    /// The bound model.
    pub fn model(&self) -> &M {
        self.flat.model()
    }

    /// The fixed data the model is evaluated with.
    pub fn fixed(&self) -> &M::Fixed {
        &self.fixed
    }

    /// How the log density is evaluated: compiled, or directly and why.
    pub fn evaluation(&self) -> &Evaluation {
        &self.evaluation
    }

    /// The log-likelihood alone (no prior) and its gradient, at `x`.
    pub(crate) fn log_likelihood_and_grad(&self, x: &[f64], grad: &mut [f64]) -> Result<f64> {
        match &self.program {
            Some(program) => program.value_and_grad_flat(x, grad),
            None => self
                .flat
                .value_and_grad(x, &self.fixed, |y| (self.likelihood)(y), grad),
        }
    }
}

impl<M: Model<Output = Tensor>> Posterior<M> {
    /// The posterior of `model` with `fixed` data observed through
    /// `likelihood` (which holds the data: see
    /// [`likelihood`](super::likelihood)), plus the whitened prior.
    ///
    /// # Errors
    /// [`Error::Shape`] when the model's output does not have the data's
    /// shape, and as [`with_log_likelihood`](Posterior::with_log_likelihood).
    pub fn new(
        model: M,
        fixed: M::Fixed,
        likelihood: impl Likelihood + Send + Sync + 'static,
    ) -> Result<Posterior<M>> {
        let data = likelihood.data_shape().clone();
        let posterior = Posterior::build(
            model,
            fixed,
            Box::new(move |y: &Tensor| {
                // A shape the boundary check below did not see (the model
                // failed at zero) must not panic inside the likelihood.
                match y.shape() == likelihood.data_shape() {
                    true => likelihood.log_likelihood(y),
                    false => Tensor::scalar(f64::NAN),
                }
            }),
            true,
        )?;
        let zeros = vec![0.0; posterior.flat.len()];
        if let Ok(output) = posterior.flat.apply(&zeros, &posterior.fixed)
            && output.shape() != &data
        {
            return Err(Error::Shape {
                path: "model output, for the likelihood's data".into(),
                expected: data,
                actual: output.shape().clone(),
            });
        }
        Ok(posterior)
    }

    /// The posterior of a model whose output is its log-likelihood (a
    /// scalar), plus the whitened prior.
    ///
    /// # Errors
    /// As [`new`](Posterior::new).
    pub fn from_log_likelihood(model: M, fixed: M::Fixed) -> Result<Posterior<M>> {
        Posterior::build(model, fixed, Box::new(Tensor::clone), true)
    }

    /// The posterior of a model whose output is its whole log density,
    /// prior included: taken as it is, with nothing added.
    ///
    /// # Errors
    /// As [`new`](Posterior::new).
    pub fn from_log_density(model: M, fixed: M::Fixed) -> Result<Posterior<M>> {
        Posterior::build(model, fixed, Box::new(Tensor::clone), false)
    }
}

impl<M: Model + Sync> Posterior<M> {
    /// The log density at typed parameters.
    ///
    /// # Errors
    /// As [`LogDensity::log_density_and_grad`].
    pub fn log_density(&self, params: &M::Params) -> Result<f64> {
        let mut grad = vec![0.0; self.flat.len()];
        self.log_density_and_grad(&params.ravel(), &mut grad)
    }
}

impl<M: Model + Sync> LogDensity for Posterior<M> {
    fn dim(&self) -> usize {
        self.flat.len()
    }

    fn log_density_and_grad(&self, x: &[f64], grad: &mut [f64]) -> Result<f64> {
        let mut value = self.log_likelihood_and_grad(x, grad)?;
        // The whitened prior, -|xi|^2 / 2, and its gradient -xi.
        for range in &self.whitened {
            for i in range.clone() {
                value -= 0.5 * x[i] * x[i];
                grad[i] -= x[i];
            }
        }
        check_finite(value)
    }
}

/// `value` unless it is NaN or `+inf`, which no log density may be.
pub(crate) fn check_finite(value: f64) -> Result<f64> {
    match value.is_nan() || value == f64::INFINITY {
        false => Ok(value),
        true => Err(Error::InvalidArgument {
            op: "log density",
            message: format!("the value is {value}"),
        }),
    }
}

/// `ranges` without the indices in `cut`.
fn remove_range(ranges: &[Range<usize>], cut: Range<usize>) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    for r in ranges {
        let (before, after) = (r.start..r.end.min(cut.start), r.start.max(cut.end)..r.end);
        out.extend([before, after].into_iter().filter(|p| !p.is_empty()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg;

    /// Two independent parameters observed with unit noise.
    #[crate::purify]
    fn pair() -> Tensor {
        let a = param!(());
        let b = param!(2);
        crate::concatenate(&[a.reshape([1]), b], 0)
    }

    fn gaussian(y: [f64; 3]) -> impl Fn(&Tensor) -> Tensor + Send + Sync {
        let y = Tensor::from(y);
        move |prediction: &Tensor| -(prediction - &y).square().sum() * 0.5
    }

    #[test]
    fn the_log_density_is_the_likelihood_plus_the_whitened_prior() {
        // log p = -|x - y|^2 / 2 - |x|^2 / 2, gradient y - 2x.
        let posterior =
            Posterior::with_log_likelihood(pair::new(), pair::Fixed::default(), gaussian([1.0, 2.0, -1.0]))
                .unwrap();
        assert!(matches!(posterior.evaluation(), Evaluation::Compiled { .. }));
        let x = [0.5, 1.0, 0.0];
        let mut grad = [0.0; 3];
        let value = posterior.log_density_and_grad(&x, &mut grad).unwrap();
        // -(0.25 + 1 + 1) / 2 - (0.25 + 1) / 2 = -1.125 - 0.625
        assert_eq!(value, -1.75);
        assert_eq!(grad, [0.0, 0.0, -1.0]);
    }

    #[test]
    fn a_flat_prior_leaves_its_parameters_alone() {
        let posterior =
            Posterior::with_log_likelihood(pair::new(), pair::Fixed::default(), gaussian([1.0, 2.0, -1.0]))
                .unwrap()
                .with_flat_prior(&["b"])
                .unwrap();
        let mut grad = [0.0; 3];
        let value = posterior
            .log_density_and_grad(&[0.5, 1.0, 0.0], &mut grad)
            .unwrap();
        assert_eq!(value, -1.125 - 0.125);
        assert_eq!(grad, [0.0, 1.0, -1.0]);
        let err = Posterior::with_log_likelihood(pair::new(), pair::Fixed::default(), gaussian([0.0; 3]))
            .unwrap()
            .with_flat_prior(&["c"])
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "`c (no parameter of the model has this path)`: missing"
        );
    }

    #[test]
    fn a_likelihood_of_the_wrong_shape_is_refused() {
        let err = Posterior::with_log_likelihood(pair::new(), pair::Fixed::default(), |p: &Tensor| p.clone())
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "Posterior::new: the log-likelihood must be a single value, got shape [3] (sum it)"
        );
    }

    #[test]
    fn a_likelihood_holds_the_data_whose_shape_is_checked() {
        // Unit noise around y: the same density as the closure above.
        let gaussian = crate::infer::Gaussian::new(Tensor::from([1.0, 2.0, -1.0]), 1.0).unwrap();
        let posterior = Posterior::new(pair::new(), pair::Fixed::default(), gaussian).unwrap();
        let mut grad = [0.0; 3];
        let value = posterior
            .log_density_and_grad(&[0.5, 1.0, 0.0], &mut grad)
            .unwrap();
        let normalisation = 1.5 * (2.0 * std::f64::consts::PI).ln();
        assert!((value - (-1.75 - normalisation)).abs() < 1e-14);
        assert_eq!(grad, [0.0, 0.0, -1.0]);
        let four = crate::infer::Gaussian::new(Tensor::zeros([4]), 1.0).unwrap();
        let err = Posterior::new(pair::new(), pair::Fixed::default(), four)
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "`model output, for the likelihood's data`: expected shape [4], got [3]"
        );
    }

    /// A model that fails where its two parameters are equal: `ln det` of
    /// a matrix with rows `[1, a]`, `[1, b]`.
    #[crate::purify]
    fn fragile() -> crate::Result<Tensor> {
        let a = param!(());
        let b = param!(());
        let m = crate::stack(
            &[
                crate::stack(&[Tensor::scalar(1.0), a], 0),
                crate::stack(&[Tensor::scalar(1.0), b], 0),
            ],
            0,
        );
        let square = m.matmul(&m.t());
        linalg::logdet(&square)
    }

    #[test]
    fn a_failing_evaluation_is_an_error_not_a_panic() {
        let posterior = Posterior::from_log_likelihood(fragile::new(), fragile::Fixed::default()).unwrap();
        // Zero parameters give a singular matrix: compiled at a prior draw.
        assert!(
            matches!(posterior.evaluation(), Evaluation::Compiled { .. }),
            "{}",
            posterior.evaluation()
        );
        let mut grad = [0.0; 2];
        assert!(posterior.log_density_and_grad(&[0.3, 0.3], &mut grad).is_err());
        assert!(
            posterior
                .log_density_and_grad(&[0.3, -1.0], &mut grad)
                .unwrap()
                .is_finite()
        );
    }
}
