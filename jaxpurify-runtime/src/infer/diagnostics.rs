//! Convergence diagnostics of Markov chains: rank-normalised split R-hat,
//! bulk and tail effective sample sizes, quantiles and the Monte Carlo
//! standard error of the mean (Vehtari, Gelman, Simpson, Carpenter and
//! Bürkner 2021, "Rank-normalization, folding, and localization: an improved
//! R-hat", the definitions Stan and ArviZ use).
//!
//! Every number here repeats ArviZ 0.23's arithmetic (`az.rhat`, `az.ess`,
//! `az.mcse`, `az.summary`), and the tests compare with values ArviZ
//! computed on the same arrays to 1e-10 relative. The conventions, as
//! ArviZ has them:
//!
//! * **Split chains.** Each chain of `n` draws becomes two of `n / 2`: its
//!   first `n / 2` draws and its last `n / 2`, so for odd `n` the middle
//!   draw is left out.
//! * **Rank normalisation.** All split draws are ranked together (ties get
//!   their average rank `r`, from 1) and replaced by
//!   `Phi^{-1}((r - 3/8) / (S + 1/4))` for `S` draws in all (Blom's offset).
//! * **R-hat** is the larger of the bulk R-hat (of the rank-normalised split
//!   chains) and the tail R-hat (of the split chains folded about their
//!   median, `|x - median|`, then rank-normalised): ArviZ's default method
//!   `"rank"`. Each is `sqrt((B / W + n - 1) / n)` with `n` draws per split
//!   chain, `W` the mean of the chains' variances and `B / n` the variance
//!   of their means (both with `ddof = 1`). Fewer than 2 chains or 4 draws,
//!   or any NaN: NaN. Chains that are all one value have `W = 0`: NaN,
//!   as in ArviZ (`0 / 0`); when only one of bulk and tail is NaN the
//!   result is whichever Python's `max(bulk, tail)` returns, the tail when
//!   it is larger and the bulk otherwise.
//! * **ESS** of split chains: autocovariances by FFT (zero-padded to at
//!   least twice the length, divided by `n`), autocorrelations
//!   `rho_t = 1 - (W - mean_c acov_c(t)) / var_plus` with
//!   `var_plus = W (n - 1) / n + B / n`, summed in pairs with Geyer's
//!   initial positive sequence made monotone, `tau = -1 + 2 sum rho_t`
//!   bounded below by `1 / log10(S)`, and `ESS = S / tau`. Draws that
//!   span less than `1e-15` give `S` itself. Fewer than 4 draws or any
//!   NaN: NaN.
//! * **Bulk ESS** is the ESS of the rank-normalised split chains; **tail
//!   ESS** the smaller ESS of the split indicators `x <= q_0.05` and
//!   `x <= q_0.95`, with the quantiles of all draws.
//! * **Quantiles** interpolate linearly between order statistics (type 7
//!   of Hyndman and Fan, R's and NumPy's default): `q_p` at position
//!   `(S - 1) p` of the sorted draws.
//! * **sd** divides by `S - 1`; **MCSE of the mean** is
//!   `sd / sqrt(ESS_mean)` with `ESS_mean` the ESS of the split chains
//!   themselves (not rank-normalised).
//!
//! ```
//! use jaxpurify_runtime::infer::Chains;
//! let chains = Chains::new(&[[0.1, -0.4, 0.9, 0.3], [0.2, -1.0, 0.5, 0.0]])?;
//! let d = chains.diagnose();
//! assert!(d.r_hat.is_finite() && d.ess_bulk > 0.0);
//! # Ok::<(), jaxpurify_runtime::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::ops::special_scalar::ndtri;
use realfft::RealFftPlanner;
use realfft::num_complex::Complex;

/// Draws of one scalar from several chains of equal length, chains x draws.
#[derive(Clone, Debug, PartialEq)]
pub struct Chains {
    /// Row-major: chain `c`'s draws are `values[c * draws..(c + 1) * draws]`.
    values: Vec<f64>,
    chains: usize,
    draws: usize,
}

/// The summary statistics and diagnostics of one scalar, as a row of
/// ArviZ's `summary` (with `q5` and `q95` in place of its HDI bounds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Diagnostics {
    /// Mean of all draws.
    pub mean: f64,
    /// Standard deviation of all draws (`ddof = 1`).
    pub sd: f64,
    /// The 5 % quantile of all draws.
    pub q5: f64,
    /// The 95 % quantile of all draws.
    pub q95: f64,
    /// Monte Carlo standard error of the mean.
    pub mcse_mean: f64,
    /// Bulk effective sample size.
    pub ess_bulk: f64,
    /// Tail effective sample size.
    pub ess_tail: f64,
    /// Rank-normalised split R-hat (the larger of bulk and tail).
    pub r_hat: f64,
}

impl Chains {
    /// Chains from one slice (or `Vec`, or array) of draws per chain.
    ///
    /// ```
    /// use jaxpurify_runtime::infer::Chains;
    /// let a = [1.0, 2.0, 3.0];
    /// let b = vec![2.0, 1.0, 0.0];
    /// let chains = Chains::new(&[&a[..], &b[..]])?;
    /// assert_eq!((chains.num_chains(), chains.num_draws()), (2, 3));
    /// assert!(Chains::new(&[&a[..], &b[..2]]).is_err());
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Length`] when a chain's length differs from the first's,
    /// and [`Error::InvalidArgument`] when there is no chain.
    pub fn new<C: AsRef<[f64]>>(chains: &[C]) -> Result<Chains> {
        let Some(first) = chains.first() else {
            return Err(Error::InvalidArgument {
                op: "infer::Chains::new",
                message: "at least one chain is needed, got none".into(),
            });
        };
        let draws = first.as_ref().len();
        let mut values = Vec::with_capacity(draws * chains.len());
        for (c, chain) in chains.iter().enumerate() {
            let chain = chain.as_ref();
            if chain.len() != draws {
                return Err(Error::Length {
                    path: format!("chain {c} (draws per chain, as chain 0)"),
                    expected: draws,
                    actual: chain.len(),
                });
            }
            values.extend_from_slice(chain);
        }
        Ok(Chains {
            values,
            chains: chains.len(),
            draws,
        })
    }

    /// Chains from their draws laid out chain after chain, `chains` of
    /// `values.len() / chains` draws each.
    ///
    /// ```
    /// use jaxpurify_runtime::infer::Chains;
    /// let chains = Chains::from_flat(vec![1.0, 2.0, 3.0, 4.0], 2)?;
    /// assert_eq!(chains.chain(1), &[3.0, 4.0]);
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `chains` is 0 or does not divide the
    /// number of values.
    pub fn from_flat(values: Vec<f64>, chains: usize) -> Result<Chains> {
        if chains == 0 || values.len() % chains != 0 {
            return Err(Error::InvalidArgument {
                op: "infer::Chains::from_flat",
                message: format!("{} values do not split into {chains} chains", values.len()),
            });
        }
        let draws = values.len() / chains;
        Ok(Chains {
            values,
            chains,
            draws,
        })
    }

    /// The number of chains.
    pub fn num_chains(&self) -> usize {
        self.chains
    }

    /// The number of draws per chain.
    pub fn num_draws(&self) -> usize {
        self.draws
    }

    /// The draws of chain `c`.
    ///
    /// # Panics
    /// When `c` is not below [`num_chains`](Chains::num_chains).
    pub fn chain(&self, c: usize) -> &[f64] {
        &self.values[c * self.draws..(c + 1) * self.draws]
    }

    /// Every draw, chain after chain.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    fn rows(&self) -> impl Iterator<Item = &[f64]> {
        self.values.chunks_exact(self.draws.max(1)).take(self.chains)
    }

    fn map(&self, f: impl Fn(f64) -> f64) -> Chains {
        Chains {
            values: self.values.iter().map(|&v| f(v)).collect(),
            ..*self
        }
    }

    /// ArviZ's validity check: at least `min_chains` chains and 4 draws,
    /// and no NaN.
    fn valid(&self, min_chains: usize) -> bool {
        self.chains >= min_chains && self.draws >= 4 && !self.values.iter().any(|v| v.is_nan())
    }

    /// The mean of all draws.
    ///
    /// ```
    /// use jaxpurify_runtime::infer::Chains;
    /// assert_eq!(Chains::new(&[[1.0, 2.0], [3.0, 6.0]])?.mean(), 3.0);
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn mean(&self) -> f64 {
        mean(&self.values)
    }

    /// The standard deviation of all draws, dividing by `S - 1`.
    ///
    /// ```
    /// use jaxpurify_runtime::infer::Chains;
    /// // values 1, 2, 3, 6: mean 3, squared deviations 4 + 1 + 0 + 9 = 14, / 3
    /// let sd = Chains::new(&[[1.0, 2.0], [3.0, 6.0]])?.sd();
    /// assert!((sd - (14.0f64 / 3.0).sqrt()).abs() < 1e-15);
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn sd(&self) -> f64 {
        variance(&self.values).sqrt()
    }

    /// The `p` quantile of all draws (type 7: linear between order
    /// statistics, as NumPy's and R's default).
    ///
    /// ```
    /// use jaxpurify_runtime::infer::Chains;
    /// let chains = Chains::new(&[[4.0, 1.0], [3.0, 2.0]])?;
    /// assert_eq!(chains.quantile(0.5), 2.5);
    /// assert_eq!(chains.quantile(0.0), 1.0);
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn quantile(&self, p: f64) -> f64 {
        let mut sorted = self.values.clone();
        sorted.sort_by(f64::total_cmp);
        quantile_of_sorted(&sorted, p)
    }

    /// Rank-normalised split R-hat, the larger of bulk and tail (ArviZ's
    /// `rhat(method="rank")`); NaN with fewer than 2 chains or 4 draws, or
    /// any NaN draw.
    ///
    /// ```
    /// use jaxpurify_runtime::infer::Chains;
    /// let far_apart = Chains::new(&[[0.0, 0.1, 0.2, 0.3], [5.0, 5.1, 5.2, 5.3]])?;
    /// assert!(far_apart.rhat() > 1.5);
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn rhat(&self) -> f64 {
        if !self.valid(2) {
            return f64::NAN;
        }
        let split = self.split();
        let bulk = basic_rhat(&split.rank_normalised());
        let median = median(&split.values);
        let tail = basic_rhat(&split.map(|v| (v - median).abs()).rank_normalised());
        // Python's `max(bulk, tail)`, NaN included.
        if tail > bulk { tail } else { bulk }
    }

    /// Bulk effective sample size: the ESS of the rank-normalised split
    /// chains. NaN with fewer than 4 draws or any NaN draw.
    ///
    /// ```
    /// use jaxpurify_runtime::infer::Chains;
    /// let constant = Chains::new(&[[1.0; 6], [1.0; 6]])?;
    /// assert_eq!(constant.ess_bulk(), 12.0); // no variation: every draw counts
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn ess_bulk(&self) -> f64 {
        if !self.valid(1) {
            return f64::NAN;
        }
        basic_ess(&self.split().rank_normalised())
    }

    /// Tail effective sample size: the smaller ESS of the indicators of
    /// the 5 % and 95 % quantiles. NaN with fewer than 4 draws or any NaN.
    ///
    /// ```
    /// use jaxpurify_runtime::infer::Chains;
    /// let chains = Chains::new(&[[0.3, -1.2, 0.8, 0.1, 2.0, -0.5]])?;
    /// assert!(chains.ess_tail() > 0.0);
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn ess_tail(&self) -> f64 {
        if !self.valid(1) {
            return f64::NAN;
        }
        let mut sorted = self.values.clone();
        sorted.sort_by(f64::total_cmp);
        let ess_below = |p: f64| {
            let q = quantile_of_sorted(&sorted, p);
            basic_ess(&self.map(|v| f64::from(u8::from(v <= q))).split())
        };
        ess_below(0.05).min(ess_below(0.95))
    }

    /// The effective sample size of the mean: the ESS of the split chains
    /// themselves. NaN with fewer than 4 draws or any NaN.
    ///
    /// ```
    /// use jaxpurify_runtime::infer::Chains;
    /// let chains = Chains::new(&[[0.3, -1.2, 0.8, 0.1], [2.0, -0.5, 0.2, 0.9]])?;
    /// assert!(chains.ess_mean() > 0.0);
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn ess_mean(&self) -> f64 {
        if !self.valid(1) {
            return f64::NAN;
        }
        basic_ess(&self.split())
    }

    /// The Monte Carlo standard error of the mean, `sd / sqrt(ESS_mean)`.
    ///
    /// ```
    /// use jaxpurify_runtime::infer::Chains;
    /// let chains = Chains::new(&[[0.3, -1.2, 0.8, 0.1], [2.0, -0.5, 0.2, 0.9]])?;
    /// assert_eq!(chains.mcse_mean(), chains.sd() / chains.ess_mean().sqrt());
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn mcse_mean(&self) -> f64 {
        self.sd() / self.ess_mean().sqrt()
    }

    /// Every statistic of a summary row at once.
    ///
    /// ```
    /// use jaxpurify_runtime::infer::Chains;
    /// let d = Chains::new(&[[0.3, -1.2, 0.8, 0.1], [2.0, -0.5, 0.2, 0.9]])?.diagnose();
    /// assert!(d.q5 < d.mean && d.mean < d.q95);
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn diagnose(&self) -> Diagnostics {
        Diagnostics {
            mean: self.mean(),
            sd: self.sd(),
            q5: self.quantile(0.05),
            q95: self.quantile(0.95),
            mcse_mean: self.mcse_mean(),
            ess_bulk: self.ess_bulk(),
            ess_tail: self.ess_tail(),
            r_hat: self.rhat(),
        }
    }

    /// Each chain cut into its first and last `draws / 2` draws.
    fn split(&self) -> Chains {
        let half = self.draws / 2;
        let mut values = Vec::with_capacity(2 * half * self.chains);
        for row in self.rows() {
            values.extend_from_slice(&row[..half]);
            values.extend_from_slice(&row[self.draws - half..]);
        }
        Chains {
            values,
            chains: 2 * self.chains,
            draws: half,
        }
    }

    /// Normal scores of the average ranks of all draws taken together.
    fn rank_normalised(&self) -> Chains {
        let ranks = average_ranks(&self.values);
        let size = self.values.len() as f64;
        Chains {
            values: ranks
                .iter()
                .map(|r| ndtri((r - 0.375) / (size - 0.75 + 1.0)))
                .collect(),
            ..*self
        }
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The sample variance, dividing by `n - 1`.
fn variance(values: &[f64]) -> f64 {
    let m = mean(values);
    values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (values.len() as f64 - 1.0)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n % 2 {
        1 => sorted[n / 2],
        _ => 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]),
    }
}

/// Type-7 quantile of sorted values, in the arithmetic of SciPy's
/// `mquantiles(alphap=1, betap=1)`, which ArviZ calls.
fn quantile_of_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    if n == 1 {
        return sorted[0];
    }
    let m = 1.0 - p;
    let aleph = n as f64 * p + m;
    let k = aleph.clamp(1.0, (n - 1) as f64).floor();
    let gamma = (aleph - k).clamp(0.0, 1.0);
    let k = k as usize;
    (1.0 - gamma) * sorted[k - 1] + gamma * sorted[k]
}

/// Ranks from 1, ties sharing the average of their ranks.
fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // positions start..end hold ranks start + 1 ..= end
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// R-hat of chains as given (ArviZ's `_rhat`).
fn basic_rhat(chains: &Chains) -> f64 {
    let n = chains.draws as f64;
    let means: Vec<f64> = chains.rows().map(mean).collect();
    let within = mean(&chains.rows().map(variance).collect::<Vec<_>>());
    let between = n * variance(&means);
    ((between / within + n - 1.0) / n).sqrt()
}

/// Autocovariances of one chain at every lag `0..n`, by FFT with the chain
/// zero-padded to `2n`, each divided by `n`.
fn autocovariance(chain: &[f64], planner: &mut RealFftPlanner<f64>) -> Vec<f64> {
    let n = chain.len();
    let m = 2 * n;
    let centre = mean(chain);
    let mut padded: Vec<f64> = chain.iter().map(|v| v - centre).collect();
    padded.resize(m, 0.0);
    let forward = planner.plan_fft_forward(m);
    let mut spectrum = forward.make_output_vec();
    forward
        .process(&mut padded, &mut spectrum)
        .expect("buffer lengths from the plan");
    for s in &mut spectrum {
        *s = Complex::new(s.norm_sqr(), 0.0);
    }
    let inverse = planner.plan_fft_inverse(m);
    let mut lags = inverse.make_output_vec();
    inverse
        .process(&mut spectrum, &mut lags)
        .expect("buffer lengths from the plan");
    // realfft's inverse is unnormalised: a factor m.
    lags.truncate(n);
    lags.iter_mut().for_each(|v| *v /= m as f64 * n as f64);
    lags
}

/// Effective sample size of chains as given (ArviZ's `_ess`): Geyer's
/// initial monotone sequence over the chains' mean autocorrelations.
fn basic_ess(chains: &Chains) -> f64 {
    let size = chains.values.len() as f64;
    let (lowest, highest) = chains
        .values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    // NumPy's float resolution: ArviZ counts every draw of a constant.
    if highest - lowest < 1e-15 {
        return size;
    }
    let n = chains.draws;
    let mut planner = RealFftPlanner::new();
    let covariances: Vec<Vec<f64>> = chains
        .rows()
        .map(|row| autocovariance(row, &mut planner))
        .collect();
    let mean_at = |t: usize| covariances.iter().map(|c| c[t]).sum::<f64>() / covariances.len() as f64;
    let nf = n as f64;
    let mean_var = mean_at(0) * nf / (nf - 1.0);
    let mut var_plus = mean_var * (nf - 1.0) / nf;
    if chains.chains > 1 {
        var_plus += variance(&chains.rows().map(mean).collect::<Vec<_>>());
    }
    let rho = |t: usize| 1.0 - (mean_var - mean_at(t)) / var_plus;
    let tau = geyer_tau(n, rho).max(1.0 / size.log10());
    size / tau
}

/// The integrated autocorrelation time `-1 + 2 sum rho_t` of Geyer's
/// initial positive sequence, made monotone, as ArviZ computes it from
/// the autocorrelations `rho(t)` of chains of `n` draws (NaN if any is).
fn geyer_tau(n: usize, rho: impl Fn(usize) -> f64) -> f64 {
    let mut rho_hat = vec![0.0; n];
    let (mut even, mut odd) = (1.0, rho(1));
    rho_hat[0] = even;
    rho_hat[1] = odd;
    // Pairs (t + 1, t + 2) while the previous pair's sum is positive.
    let mut t: isize = 1;
    while t < n as isize - 3 && even + odd > 0.0 {
        let i = t as usize;
        even = rho(i + 1);
        odd = rho(i + 2);
        if even + odd >= 0.0 {
            rho_hat[i + 1] = even;
            rho_hat[i + 2] = odd;
        }
        t += 2;
    }
    let max_t = t - 2;
    // Python's negative indices: max_t + 1 is 0 when no pair was read.
    if even > 0.0 {
        rho_hat[(max_t + 1) as usize] = even;
    }
    let mut t: isize = 1;
    while t <= max_t - 2 {
        let i = t as usize;
        if rho_hat[i + 1] + rho_hat[i + 2] > rho_hat[i - 1] + rho_hat[i] {
            rho_hat[i + 1] = (rho_hat[i - 1] + rho_hat[i]) / 2.0;
            rho_hat[i + 2] = rho_hat[i + 1];
        }
        t += 2;
    }
    if rho_hat.iter().any(|v| v.is_nan()) {
        return f64::NAN;
    }
    let head = (max_t + 1) as usize;
    -1.0 + 2.0 * rho_hat[..head].iter().sum::<f64>() + rho_hat.get(head).copied().unwrap_or(0.0)
}

#[cfg(test)]
#[path = "diagnostics_tests.rs"]
mod tests;
