//! Inference: what a sampler or a fit needs around a model, one file per
//! concern.
//!
//! * [`diagnostics`]: split R-hat, bulk and tail ESS, quantiles and MCSE
//!   of the draws of one scalar, as ArviZ computes them.
//! * [`draws`]: draws of named leaves of any shape, appended chain by
//!   chain, with their sampler statistics.
//! * [`summary`]: a table of every element's statistics, printed like
//!   ArviZ's `summary`.
//! * [`likelihood`]: log-likelihoods of data given a prediction, with the
//!   Fisher metric MGVI needs.
//! * [`stan_csv`]: draws streamed to and read from files in Stan's CSV
//!   layout, one per chain, which ArviZ, cmdstanpy and R's posterior read.

pub mod diagnostics;
pub mod draws;
pub mod likelihood;
pub mod summary;

pub use diagnostics::{Chains, Diagnostics};
pub use draws::{ChainDraws, Draws, Layout, Leaf, SamplerStats};
pub use likelihood::{Bernoulli, FisherMetric, Gaussian, GaussianCholesky, Likelihood, Poisson, StudentT};
pub use summary::{Summary, SummaryRow};
pub mod stan_csv;

pub use stan_csv::{StanCsv, StanCsvConfig, StanCsvWriter, parse_stan_csv, read_stan_csv, write_chains};
