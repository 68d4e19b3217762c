//! From a model to a posterior, one file per concern.
//!
//! * [`Posterior`]: the log density of a purified model, its
//!   log-likelihood plus the whitened prior, over the flat parameter
//!   vector, compiled where the model compiles. Everything else works on
//!   any [`LogDensity`].
//! * [`map`]: the maximum of a log density by argmin's L-BFGS (MAP, or
//!   maximum likelihood).
//! * [`nuts`]: draws by nuts-rs's No-U-Turn sampler, chains in parallel,
//!   reproducible from a seed whatever the number of threads.
//! * [`likelihood`]: log-likelihoods of data given a prediction, with the
//!   Fisher metric MGVI needs.
//! * [`draws`]: draws of named leaves of any shape, appended chain by
//!   chain, with their sampler statistics.
//! * [`diagnostics`]: split R-hat, bulk and tail ESS, quantiles and MCSE
//!   of the draws of one scalar, as ArviZ computes them.
//! * [`summary`]: a table of every element's statistics, printed like
//!   ArviZ's `summary`.
//! * [`stan_csv`]: draws streamed to and read from files in Stan's CSV
//!   layout, one per chain, which ArviZ, cmdstanpy and R's posterior read.
//!
//! The optimiser and the sampler (argmin, nuts-rs) sit behind the `infer`
//! cargo feature, on by default; the rest builds without it.

pub mod diagnostics;
pub mod draws;
pub mod likelihood;
#[cfg(feature = "infer")]
pub mod map;
#[cfg(feature = "infer")]
pub mod nuts;
mod posterior;
#[cfg(feature = "infer")]
mod run;
pub mod stan_csv;
pub mod summary;

pub use diagnostics::{Chains, Diagnostics};
pub use draws::{ChainDraws, Draws, Layout, Leaf, SamplerStats};
pub use likelihood::{Bernoulli, FisherMetric, Gaussian, GaussianCholesky, Likelihood, Poisson, StudentT};
#[cfg(feature = "infer")]
pub use map::{MapFit, MapSettings, Termination};
#[cfg(feature = "infer")]
pub use nuts::{ChainInfo, DrawSink, NutsSettings};
pub use posterior::{Evaluation, LogDensity, Posterior};
#[cfg(feature = "infer")]
pub use run::{Keep, NutsRun, Recording};
pub use stan_csv::{StanCsv, StanCsvConfig, StanCsvWriter, parse_stan_csv, read_stan_csv, write_chains};
pub use summary::{Summary, SummaryRow};
