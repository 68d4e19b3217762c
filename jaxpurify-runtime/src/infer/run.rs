//! NUTS on a posterior: draws as typed values, with the model's
//! intermediates recorded at every draw during the run, and the
//! posterior predictive for new data.

use super::draws::{ChainDraws, Draws, Layout, SamplerStats};
use super::nuts::{self, ChainInfo, DrawSink, NutsSettings};
use super::posterior::{Evaluation, Posterior};
use super::stan_csv::{StanCsvConfig, StanCsvWriter, write_chains};
use super::summary::Summary;
use crate::compile::{Compiled, compile};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::tensor::Tensor;
use crate::tree::Tree;
use rayon::prelude::*;
use std::fmt;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Which of the model's intermediates a run records at every draw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Keep {
    /// All of them (the default).
    #[default]
    All,
    /// Those at these paths, or under them (`"field"` keeps `field.f` and
    /// `field.power`).
    Only(Vec<String>),
    /// None: only the parameters.
    Nothing,
}

impl Keep {
    fn keeps(&self, path: &str) -> bool {
        match self {
            Keep::All => true,
            Keep::Nothing => false,
            Keep::Only(paths) => paths
                .iter()
                .any(|p| path == p || path.starts_with(&format!("{p}."))),
        }
    }
}

/// What a NUTS run of a posterior keeps, besides [`NutsSettings`].
#[derive(Clone, Debug)]
pub struct Recording {
    /// The intermediates recorded at every draw.
    pub intermediates: Keep,
    /// Stream every draw to Stan CSV files as it is made: `out/fit.csv`
    /// writes `out/fit_1.csv`, `out/fit_2.csv`, one per chain.
    pub stream_to: Option<PathBuf>,
    /// Keep the draws in memory as well (for [`NutsRun::summary`] and the
    /// typed accessors). Memory: `chains * draws * (8 * width + 48)` bytes,
    /// `width` being [`NutsRun::width`].
    pub in_memory: bool,
}

impl Default for Recording {
    fn default() -> Recording {
        Recording {
            intermediates: Keep::All,
            stream_to: None,
            in_memory: true,
        }
    }
}

/// The draws of a NUTS run of a [`Posterior`], with what its chains did.
///
/// A draw holds the whitened parameters (the sampled coordinates, named
/// `xi.PATH`) and the kept intermediates under their own paths: the
/// physical values of variables among them.
pub struct NutsRun<M: Model> {
    draws: Option<Draws>,
    layout: Arc<Layout>,
    params: M::Params,
    intermediates: Option<M::Intermediates>,
    chains: Vec<ChainInfo>,
    evaluation: Evaluation,
    files: Vec<PathBuf>,
    seconds: f64,
}

/// The prefix of the whitened parameters' names in a draw.
const WHITENED: &str = "xi";

impl<M: Model + Sync> Posterior<M> {
    /// Draws from the posterior by NUTS: `chains` chains on rayon's
    /// threads, reproducible from `seed` whatever the number of threads,
    /// recording every intermediate at every draw (see
    /// [`nuts_recording`](Posterior::nuts_recording) to choose which, or to
    /// stream draws to files).
    ///
    /// # Errors
    /// As [`nuts::sample`].
    pub fn nuts(&self, chains: usize, settings: &NutsSettings, seed: u64) -> Result<NutsRun<M>> {
        self.nuts_recording(chains, settings, seed, &Recording::default())
    }

    /// [`nuts`](Posterior::nuts), keeping what `recording` says.
    ///
    /// # Errors
    /// As [`nuts::sample`], and when a file cannot be written.
    pub fn nuts_recording(
        &self,
        chains: usize,
        settings: &NutsSettings,
        seed: u64,
        recording: &Recording,
    ) -> Result<NutsRun<M>> {
        let started = Instant::now();
        let recorder = Recorder::new(self, recording)?;
        let runs = nuts::sample(self, chains, settings, seed, |chain| {
            recorder.sink(chain, settings, seed)
        })?;
        let mut chain_draws = Vec::with_capacity(chains);
        let mut infos = Vec::with_capacity(chains);
        let mut files = Vec::new();
        for (sink, info) in runs {
            let (draws, file) = sink.finish()?;
            chain_draws.extend(draws);
            files.extend(file);
            infos.push(info);
        }
        Ok(NutsRun {
            draws: recording.in_memory.then(|| Draws::new(chain_draws)).transpose()?,
            layout: recorder.layout,
            params: self.flat().template().clone(),
            intermediates: recorder.template,
            chains: infos,
            evaluation: self.evaluation().clone(),
            files,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// The model's output and intermediates at every draw of `run`, for new
    /// fixed data `fixed` (the posterior predictive), each leaf stacked as
    /// `[chains, draws, ...]`. Draws are evaluated in parallel.
    ///
    /// # Errors
    /// When `run` kept no draws in memory, when `fixed` does not fit the
    /// model, and the model's errors at a draw.
    pub fn predictive(&self, run: &NutsRun<M>, fixed: &M::Fixed) -> Result<(M::Output, M::Intermediates)> {
        self.predictive_with(self.model(), run, fixed)
    }

    /// [`predictive`](Posterior::predictive) through `model`: the same
    /// function bound to other arguments (more data points, a finer grid),
    /// with the same parameters.
    ///
    /// # Errors
    /// As [`predictive`](Posterior::predictive), and when `model`'s
    /// parameters differ from the run's.
    pub fn predictive_with(
        &self,
        model: &M,
        run: &NutsRun<M>,
        fixed: &M::Fixed,
    ) -> Result<(M::Output, M::Intermediates)> {
        let draws = run.in_memory()?;
        let points: Vec<&[f64]> = draws
            .chains()
            .iter()
            .flat_map(|c| (0..c.num_draws()).map(move |i| &c.draw(i)[..self.flat().len()]))
            .collect();
        let evaluated: Vec<(M::Output, M::Intermediates)> = points
            .par_iter()
            .map(|x| model.apply_and_intermediates(&self.flat().unravel(x)?, fixed))
            .collect::<Result<_>>()?;
        let lead = [draws.chains().len(), draws.num_draws()];
        let (outputs, intermediates): (Vec<_>, Vec<_>) = evaluated.into_iter().unzip();
        Ok((stack(&outputs, lead), stack(&intermediates, lead)))
    }
}

/// Trees of equal shapes stacked leaf by leaf, with `lead` dimensions
/// before each leaf's own.
fn stack<T: Tree>(trees: &[T], lead: [usize; 2]) -> T {
    let first = &trees[0];
    let leaves: Vec<Vec<&Tensor>> = trees.iter().map(Tree::leaves).collect();
    let stacked = (0..leaves[0].len()).map(|k| {
        let mut values = Vec::new();
        for tree in &leaves {
            values.extend_from_slice(tree[k].as_slice());
        }
        let mut dims = lead.to_vec();
        dims.extend_from_slice(leaves[0][k].shape().dims());
        Tensor::from_vec(values, dims).expect("stacked values fill the shape")
    });
    first.with_leaves(stacked.collect::<Vec<_>>())
}

/// How a run turns a draw's position into a recorded row.
struct Recorder<'p, M: Model> {
    posterior: &'p Posterior<M>,
    layout: Arc<Layout>,
    /// The model's intermediates, compiled where they compile.
    program: Option<Compiled<M::Params, Option<M::Intermediates>>>,
    /// Positions of the kept intermediates among all of them.
    kept: Vec<usize>,
    template: Option<M::Intermediates>,
    recording: Recording,
}

impl<'p, M: Model + Sync> Recorder<'p, M> {
    fn new(posterior: &'p Posterior<M>, recording: &Recording) -> Result<Recorder<'p, M>> {
        let params = Layout::of(posterior.flat().template())?.prefixed(WHITENED)?;
        let (mut program, mut template, mut kept) = (None, None, Vec::new());
        let mut layout = params;
        if recording.intermediates != Keep::Nothing {
            let at = posterior.flat().template();
            let all = posterior.model().intermediates(at, posterior.fixed());
            if let Ok(all) = all {
                let names = Layout::of(&all)?;
                let chosen: Vec<(String, Vec<usize>)> = names
                    .leaves()
                    .iter()
                    .filter(|l| recording.intermediates.keeps(&l.name))
                    .map(|l| (l.name.clone(), l.shape.dims().to_vec()))
                    .collect();
                for leaf in names
                    .leaves()
                    .iter()
                    .filter(|l| recording.intermediates.keeps(&l.name))
                {
                    kept.extend(leaf.offset..leaf.offset + leaf.shape.numel());
                }
                layout = layout.join(&Layout::new(chosen)?)?;
                program = compile(
                    |p: &M::Params| posterior.model().intermediates(p, posterior.fixed()).ok(),
                    at,
                )
                .ok();
                template = Some(all);
            }
        }
        Ok(Recorder {
            posterior,
            layout: Arc::new(layout),
            program,
            kept,
            template,
            recording: recording.clone(),
        })
    }

    fn sink(&self, chain: usize, settings: &NutsSettings, seed: u64) -> Result<RunSink<'_, 'p, M>> {
        let writer = match &self.recording.stream_to {
            None => None,
            Some(path) => {
                let config = StanCsvConfig {
                    model: "jaxpurify".into(),
                    chain_id: chain + 1,
                    num_samples: settings.draws as usize,
                    num_warmup: settings.warmup as usize,
                    seed: Some(seed),
                };
                let file = chain_file(path, chain);
                Some((StanCsvWriter::create(&file, &self.layout, &config)?, file))
            }
        };
        let draws = self
            .recording
            .in_memory
            .then(|| ChainDraws::with_capacity(self.layout.clone(), settings.draws as usize));
        Ok(RunSink {
            recorder: self,
            draws,
            writer,
            row: Vec::with_capacity(self.layout.width()),
        })
    }

    /// The kept intermediates at `x`, NaN where the model fails there.
    fn intermediates_at(&self, x: &[f64], row: &mut Vec<f64>) -> Result<()> {
        if self.kept.is_empty() {
            return Ok(());
        }
        let params = self.posterior.flat().unravel(x)?;
        let values = match &self.program {
            Some(program) => program.call(&params).ok().flatten(),
            None => self
                .posterior
                .model()
                .intermediates(&params, self.posterior.fixed())
                .ok(),
        };
        match values {
            Some(all) => {
                let flat = all.ravel();
                row.extend(self.kept.iter().map(|&i| flat[i]));
            }
            None => row.extend(std::iter::repeat_n(f64::NAN, self.kept.len())),
        }
        Ok(())
    }
}

/// `out/fit.csv` as `out/fit_3.csv` for chain 2.
fn chain_file(path: &Path, chain: usize) -> PathBuf {
    let stem = path
        .file_stem()
        .map_or_else(|| "draws".into(), |s| s.to_string_lossy().into_owned());
    let extension = path
        .extension()
        .map_or_else(|| "csv".into(), |e| e.to_string_lossy().into_owned());
    path.with_file_name(format!("{stem}_{}.{extension}", chain + 1))
}

/// One chain's recording: in memory, to a file, or both.
struct RunSink<'r, 'p, M: Model> {
    recorder: &'r Recorder<'p, M>,
    draws: Option<ChainDraws>,
    writer: Option<(StanCsvWriter<BufWriter<File>>, PathBuf)>,
    row: Vec<f64>,
}

impl<M: Model + Sync> RunSink<'_, '_, M> {
    fn finish(self) -> Result<(Option<ChainDraws>, Option<PathBuf>)> {
        let file = match self.writer {
            Some((writer, path)) => {
                writer.finish()?;
                Some(path)
            }
            None => None,
        };
        Ok((self.draws, file))
    }
}

impl<M: Model + Sync> DrawSink for RunSink<'_, '_, M> {
    fn draw(&mut self, position: &[f64], stats: SamplerStats) -> Result<()> {
        self.row.clear();
        self.row.extend_from_slice(position);
        self.recorder.intermediates_at(position, &mut self.row)?;
        if let Some((writer, _)) = &mut self.writer {
            writer.write_draw(&self.row, &stats)?;
        }
        if let Some(draws) = &mut self.draws {
            draws.push_with_stats(&self.row, stats)?;
        }
        Ok(())
    }
}

impl<M: Model> NutsRun<M> {
    fn in_memory(&self) -> Result<&Draws> {
        self.draws.as_ref().ok_or_else(|| Error::InvalidArgument {
            op: "NutsRun",
            message: "the run kept no draws in memory (`Recording::in_memory` was false); \
                      read its files instead"
                .into(),
        })
    }

    /// Every draw's values, as named leaves.
    ///
    /// # Errors
    /// When the run kept no draws in memory.
    pub fn draws(&self) -> Result<&Draws> {
        self.in_memory()
    }

    /// The names and shapes of one draw's values.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The number of values per draw.
    pub fn width(&self) -> usize {
        self.layout.width()
    }

    /// What each chain did: divergences, step size, gradients, time.
    pub fn chains(&self) -> &[ChainInfo] {
        &self.chains
    }

    /// The number of kept draws that diverged, over all chains.
    pub fn divergences(&self) -> usize {
        self.chains.iter().map(|c| c.divergent_draws.len()).sum()
    }

    /// The Stan CSV files the run streamed its draws to.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// How the log density was evaluated: compiled, or directly and why.
    pub fn evaluation(&self) -> &Evaluation {
        &self.evaluation
    }

    /// Mean, sd, 5 % and 95 % quantiles, bulk and tail ESS and R-hat of
    /// every value of a draw, like ArviZ's `summary`.
    ///
    /// # Errors
    /// When the run kept no draws in memory.
    pub fn summary(&self) -> Result<Summary> {
        Ok(Summary::of(self.in_memory()?))
    }

    /// The whitened parameters at every draw, each leaf stacked as
    /// `[chains, draws, ...]`.
    ///
    /// # Errors
    /// When the run kept no draws in memory.
    pub fn params(&self) -> Result<M::Params> {
        let draws = self.in_memory()?;
        let leaves = Layout::of(&self.params)?;
        let values = leaves
            .leaves()
            .iter()
            .map(|l| draws.leaf_values(&format!("{WHITENED}.{}", l.name)))
            .collect::<Result<Vec<_>>>()?;
        Ok(self.params.with_leaves(values))
    }

    /// The model's intermediates at every draw, recorded during the run,
    /// each leaf stacked as `[chains, draws, ...]`.
    ///
    /// # Errors
    /// When the run kept no draws in memory, or did not keep every
    /// intermediate ([`intermediate`](NutsRun::intermediate) reads one).
    pub fn intermediates(&self) -> Result<M::Intermediates> {
        let template = self.intermediates.as_ref().ok_or_else(|| Error::Missing {
            path: "intermediates (the run recorded none)".into(),
        })?;
        let leaves = Layout::of(template)?;
        let values = leaves
            .leaves()
            .iter()
            .map(|l| self.intermediate(&l.name))
            .collect::<Result<Vec<_>>>()?;
        Ok(template.with_leaves(values))
    }

    /// One recorded intermediate at every draw, `[chains, draws, ...]`.
    ///
    /// # Errors
    /// When the run kept no draws in memory, or did not record it.
    pub fn intermediate(&self, path: &str) -> Result<Tensor> {
        self.in_memory()?.leaf_values(path).map_err(|_| Error::Missing {
            path: format!(
                "{} (not recorded: keep it with `Recording::intermediates`)",
                path.escape_debug()
            ),
        })
    }

    /// Writes the draws in Stan's CSV layout, one file per chain beside
    /// `path` (`fit.csv` gives `fit_1.csv`, ...), which ArviZ
    /// (`az.from_cmdstan`), cmdstanpy and R's posterior read.
    ///
    /// # Errors
    /// When the run kept no draws in memory, or a file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
        let path = path.as_ref();
        let directory = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let stem = path
            .file_stem()
            .map_or_else(|| "draws".into(), |s| s.to_string_lossy().into_owned());
        let config = StanCsvConfig {
            model: "jaxpurify".into(),
            num_samples: self.in_memory()?.num_draws(),
            ..StanCsvConfig::default()
        };
        write_chains(self.in_memory()?, directory, &stem, &config)
    }
}

impl<M: Model> fmt::Display for NutsRun<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let gradients: u64 = self.chains.iter().map(|c| c.gradient_evaluations).sum();
        let (warmup, sampling) = self
            .chains
            .iter()
            .fold((0f64, 0f64), |(w, s), c| (w.max(c.seconds.0), s.max(c.seconds.1)));
        writeln!(
            f,
            "NUTS: {} chains in {:.3} s ({warmup:.3} s warm-up, {sampling:.3} s sampling per chain at most)",
            self.chains.len(),
            self.seconds
        )?;
        writeln!(f, "log density: {}", self.evaluation)?;
        writeln!(
            f,
            "gradient evaluations: {gradients}; divergences after warm-up: {}",
            self.divergences()
        )?;
        let steps: Vec<String> = self
            .chains
            .iter()
            .map(|c| format!("{:.3}", c.step_size))
            .collect();
        write!(
            f,
            "step sizes: {}; {} values per draw ({} bytes in memory each)",
            steps.join(", "),
            self.width(),
            8 * self.width() + 48
        )
    }
}

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
