//! Draws in Stan's CSV layout, one file per chain, as CmdStan writes them
//! and as ArviZ (`az.from_cmdstan`), cmdstanpy and R's posterior read them.
//!
//! A file is `#` comment lines (the run's configuration as `key = value`),
//! the header
//! `lp__,accept_stat__,stepsize__,treedepth__,n_leapfrog__,divergent__,energy__,`
//! followed by one column per element, then one row per draw. Elements are
//! named Stan's way: the leaf's name, then its indices from 1 after dots
//! (`mu`, `theta.4`, `a.2.3`), in Stan's *column-major* order (`a.1.1,
//! a.2.1, a.1.2, ...`: the first index runs fastest), so that every reader
//! puts them back where they belong. Leaf paths are written with `__` for
//! their dots (`field.xi` is `field__xi.1, field__xi.2, ...`), since a dot
//! separates indices; names with a segment containing `__` are therefore
//! rejected, as are names ending in `__`, which readers take for sampler
//! columns.
//!
//! Values are written with Rust's shortest round-trip formatting (`{:?}`:
//! `0.1`, `1e-300`, `NaN`, `inf`), so a file read back gives the same bits;
//! the step counts and the divergence flag are integers.
//!
//! ```
//! use jaxpurify_runtime::infer::{Layout, SamplerStats, StanCsvConfig, StanCsvWriter};
//! let layout = Layout::new([("mu", vec![]), ("a", vec![2, 2])])?;
//! let mut writer = StanCsvWriter::new(Vec::new(), &layout, &StanCsvConfig::default())?;
//! writer.write_draw(&[0.5, 1.0, 2.0, 3.0, 4.0], &SamplerStats::unknown())?;
//! let text = String::from_utf8(writer.finish()?).unwrap();
//! let header = text.lines().find(|l| !l.starts_with('#')).unwrap();
//! assert!(header.ends_with("energy__,mu,a.1.1,a.2.1,a.1.2,a.2.2"));
//! assert!(text.ends_with(",0.5,1.0,3.0,2.0,4.0\n"));
//! # Ok::<(), jaxpurify_runtime::Error>(())
//! ```

use super::draws::{ChainDraws, Draws, Layout, SamplerStats, row_major_indices};
use crate::error::{Error, Result};
use crate::shape::Shape;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Stan's sampler columns, first in every file.
pub const SAMPLER_COLUMNS: [&str; 7] = [
    "lp__",
    "accept_stat__",
    "stepsize__",
    "treedepth__",
    "n_leapfrog__",
    "divergent__",
    "energy__",
];

/// What the comment lines at the top of a file say about the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StanCsvConfig {
    /// The model's name.
    pub model: String,
    /// The chain's number, from 1 as CmdStan counts.
    pub chain_id: usize,
    /// Draws the run keeps per chain.
    pub num_samples: usize,
    /// Warm-up iterations per chain (not written: `save_warmup = 0`).
    pub num_warmup: usize,
    /// The seed of the run, if any.
    pub seed: Option<u64>,
}

impl Default for StanCsvConfig {
    fn default() -> Self {
        StanCsvConfig {
            model: "model".into(),
            chain_id: 1,
            num_samples: 0,
            num_warmup: 0,
            seed: None,
        }
    }
}

/// Where each column's value sits in a draw, and the column names.
fn csv_columns(layout: &Layout) -> Result<(Vec<String>, Vec<usize>)> {
    let (mut names, mut positions) = (Vec::new(), Vec::new());
    for leaf in layout.leaves() {
        let escaped = escape_name(&leaf.name)?;
        let dims = leaf.shape.dims();
        for index in column_major_indices(&leaf.shape) {
            let flat = index.iter().zip(dims).fold(0, |acc, (i, d)| acc * d + i);
            positions.push(leaf.offset + flat);
            let suffix: String = index.iter().map(|i| format!(".{}", i + 1)).collect();
            names.push(format!("{escaped}{suffix}"));
        }
    }
    Ok((names, positions))
}

/// `field.xi` as `field__xi`, refusing what could not be read back.
fn escape_name(name: &str) -> Result<String> {
    if name.ends_with("__") || name.split('.').any(|s| s.contains("__")) {
        return Err(Error::InvalidArgument {
            op: "infer::StanCsvWriter",
            message: format!(
                "leaf `{}` cannot be a Stan CSV column: `__` stands for the dots of a path \
                 and a trailing `__` marks sampler columns; rename it",
                name.escape_debug()
            ),
        });
    }
    Ok(name.replace('.', "__"))
}

/// Multi-indices of `shape` with the first index running fastest.
fn column_major_indices(shape: &Shape) -> impl Iterator<Item = Vec<usize>> + '_ {
    let reversed = Shape::from(shape.dims().iter().rev().copied().collect::<Vec<_>>());
    row_major_indices(&reversed)
        .map(|mut index| {
            index.reverse();
            index
        })
        .collect::<Vec<_>>()
        .into_iter()
}

fn io_error(path: &str, error: std::io::Error) -> Error {
    Error::Io {
        path: path.escape_debug().to_string(),
        message: error.to_string(),
    }
}

/// Writes the draws of one chain as they come, one row at a time: a long
/// run keeps none of its draws in memory.
pub struct StanCsvWriter<W: Write> {
    out: W,
    /// Where each column's value sits in a draw.
    positions: Vec<usize>,
    width: usize,
    /// For messages: the file, or `<writer>`.
    target: String,
    row: String,
}

impl StanCsvWriter<BufWriter<File>> {
    /// Creates (or truncates) the file at `path` and writes its comments
    /// and header.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file, and the errors of
    /// [`new`](StanCsvWriter::new).
    pub fn create(path: impl AsRef<Path>, layout: &Layout, config: &StanCsvConfig) -> Result<Self> {
        let shown = path.as_ref().display().to_string();
        let file = File::create(path.as_ref()).map_err(|e| io_error(&shown, e))?;
        let mut writer = StanCsvWriter::new(BufWriter::new(file), layout, config)?;
        writer.target = shown;
        Ok(writer)
    }
}

impl<W: Write> StanCsvWriter<W> {
    /// A writer into `out`, which first receives the comments and header.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a leaf name that cannot be a column
    /// (see the module docs), [`Error::Io`] when writing fails.
    pub fn new(out: W, layout: &Layout, config: &StanCsvConfig) -> Result<Self> {
        let (names, positions) = csv_columns(layout)?;
        let mut writer = StanCsvWriter {
            out,
            positions,
            width: layout.width(),
            target: "<writer>".into(),
            row: String::new(),
        };
        let seed = config.seed.map_or(String::new(), |s| format!("# seed = {s}\n"));
        let head = format!(
            "# model = {}\n# method = sample (Default)\n#   num_samples = {}\n#   num_warmup = {}\n\
             #   save_warmup = 0\n# id = {}\n{seed}",
            config.model.escape_debug(),
            config.num_samples,
            config.num_warmup,
            config.chain_id,
        );
        let header: Vec<&str> = SAMPLER_COLUMNS
            .iter()
            .copied()
            .chain(names.iter().map(String::as_str))
            .collect();
        writer.write_text(&format!("{head}{}\n", header.join(",")))?;
        Ok(writer)
    }

    fn write_text(&mut self, text: &str) -> Result<()> {
        self.out
            .write_all(text.as_bytes())
            .map_err(|e| io_error(&self.target, e))
    }

    /// Writes one comment line, e.g. after the warm-up (Stan's readers
    /// skip comments between rows).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a line break in `text`, [`Error::Io`]
    /// when writing fails.
    pub fn write_comment(&mut self, text: &str) -> Result<()> {
        if text.contains(['\n', '\r']) {
            return Err(Error::InvalidArgument {
                op: "infer::StanCsvWriter::write_comment",
                message: format!("a comment is one line, got \"{}\"", text.escape_debug()),
            });
        }
        self.write_text(&format!("# {text}\n"))
    }

    /// Writes the adapted step size and diagonal inverse mass matrix in
    /// CmdStan's words, which ArviZ reads into the run's attributes.
    ///
    /// # Errors
    /// [`Error::Io`] when writing fails.
    pub fn write_adaptation(&mut self, step_size: f64, inverse_mass_diagonal: &[f64]) -> Result<()> {
        let diagonal: Vec<String> = inverse_mass_diagonal.iter().map(|v| format!("{v:?}")).collect();
        self.write_text(&format!(
            "# Adaptation terminated\n# Step size = {step_size:?}\n\
             # Diagonal elements of inverse mass matrix:\n# {}\n",
            diagonal.join(", ")
        ))
    }

    /// Writes one draw (`values` laid out as the layout) and its sampler
    /// statistics as a row.
    ///
    /// # Errors
    /// [`Error::Length`] when `values` is not one draw of the layout,
    /// [`Error::Io`] when writing fails.
    pub fn write_draw(&mut self, values: &[f64], stats: &SamplerStats) -> Result<()> {
        if values.len() != self.width {
            return Err(Error::Length {
                path: "draw (values of every leaf of the layout)".into(),
                expected: self.width,
                actual: values.len(),
            });
        }
        use std::fmt::Write as _;
        let mut row = std::mem::take(&mut self.row);
        row.clear();
        let s = stats;
        let _ = write!(
            row,
            "{:?},{:?},{:?},{},{},{},{:?}",
            s.lp,
            s.accept_stat,
            s.step_size,
            s.tree_depth,
            s.n_leapfrog,
            u8::from(s.divergent),
            s.energy
        );
        for &p in &self.positions {
            let _ = write!(row, ",{:?}", values[p]);
        }
        row.push('\n');
        let written = self.write_text(&row);
        self.row = row;
        written
    }

    /// Flushes and returns the underlying writer.
    ///
    /// # Errors
    /// [`Error::Io`] when flushing fails.
    pub fn finish(mut self) -> Result<W> {
        self.out.flush().map_err(|e| io_error(&self.target, e))?;
        Ok(self.out)
    }
}

/// Writes each chain of `draws` to `dir/{stem}_{c}.csv` (`c` from 1, as
/// CmdStan numbers chains) and returns the paths. `config.chain_id` is set
/// per file; `num_samples` is the draws' count.
///
/// # Errors
/// As [`StanCsvWriter::create`] and [`StanCsvWriter::write_draw`].
pub fn write_chains(
    draws: &Draws,
    dir: impl AsRef<Path>,
    stem: &str,
    config: &StanCsvConfig,
) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for (c, chain) in draws.chains().iter().enumerate() {
        let path = dir.as_ref().join(format!("{stem}_{}.csv", c + 1));
        let config = StanCsvConfig {
            chain_id: c + 1,
            num_samples: draws.num_draws(),
            ..config.clone()
        };
        let mut writer = StanCsvWriter::create(&path, draws.layout(), &config)?;
        for (d, stats) in chain.stats().iter().enumerate() {
            writer.write_draw(chain.draw(d), stats)?;
        }
        writer.finish()?;
        paths.push(path);
    }
    Ok(paths)
}

/// One chain read back from a Stan CSV file.
#[derive(Clone, Debug, PartialEq)]
pub struct StanCsv {
    /// The comment lines, without their `#`, in file order.
    pub comments: Vec<String>,
    /// The header's column names.
    pub columns: Vec<String>,
    /// The draws, leaves in row-major layout, with their sampler statistics.
    pub draws: ChainDraws,
}

fn format_error(message: String) -> Error {
    Error::Format {
        format: "Stan CSV",
        message,
    }
}

/// Reads a file in Stan's CSV layout: the sampler columns first, then each
/// variable's elements in column-major order (as written by
/// [`StanCsvWriter`] and by CmdStan).
///
/// # Errors
/// [`Error::Io`] naming the file when it cannot be read, [`Error::Format`]
/// naming the line when its contents are not such a file.
pub fn read_stan_csv(path: impl AsRef<Path>) -> Result<StanCsv> {
    let shown = path.as_ref().display().to_string();
    let file = File::open(path.as_ref()).map_err(|e| io_error(&shown, e))?;
    parse_stan_csv(BufReader::new(file)).map_err(|e| match e {
        Error::Format { format, message } => Error::Format {
            format,
            message: format!("{}: {message}", shown.escape_debug()),
        },
        other => other,
    })
}

/// [`read_stan_csv`] from any reader.
///
/// # Errors
/// As [`read_stan_csv`].
pub fn parse_stan_csv(input: impl BufRead) -> Result<StanCsv> {
    let mut comments = Vec::new();
    let mut reader: Option<RowReader> = None;
    for (number, line) in input.lines().enumerate() {
        let line = line.map_err(|e| io_error("<reader>", e))?;
        let line = line.trim_end();
        let at = |message: String| format_error(format!("line {}: {message}", number + 1));
        if let Some(comment) = line.strip_prefix('#') {
            comments.push(comment.trim().to_string());
        } else if line.is_empty() {
            continue;
        } else if let Some(rows) = &mut reader {
            rows.read(line).map_err(at)?;
        } else {
            reader = Some(RowReader::new(line).map_err(at)?);
        }
    }
    let reader = reader.ok_or_else(|| format_error("no header line".into()))?;
    Ok(StanCsv {
        comments,
        columns: reader.columns,
        draws: reader.draws,
    })
}

/// Reads rows of the columns of one header.
struct RowReader {
    columns: Vec<String>,
    /// The draw position of each variable column.
    positions: Vec<usize>,
    draws: ChainDraws,
    draw: Vec<f64>,
}

impl RowReader {
    fn new(header: &str) -> std::result::Result<RowReader, String> {
        let columns: Vec<String> = header.split(',').map(|c| c.trim().to_string()).collect();
        if columns.len() < SAMPLER_COLUMNS.len() || columns[..SAMPLER_COLUMNS.len()] != SAMPLER_COLUMNS {
            return Err(format!(
                "the header must start with {}",
                SAMPLER_COLUMNS.join(",")
            ));
        }
        let layout = layout_of_columns(&columns[SAMPLER_COLUMNS.len()..])?;
        let (names, positions) = csv_columns(&layout).map_err(|e| e.to_string())?;
        if names[..] != columns[SAMPLER_COLUMNS.len()..] {
            return Err("variable columns are not in Stan's column-major order".into());
        }
        let width = layout.width();
        Ok(RowReader {
            columns,
            positions,
            draws: ChainDraws::new(Arc::new(layout)),
            draw: vec![0.0; width],
        })
    }

    fn read(&mut self, line: &str) -> std::result::Result<(), String> {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != self.columns.len() {
            return Err(format!(
                "{} values for {} columns",
                fields.len(),
                self.columns.len()
            ));
        }
        let number = |i: usize| {
            fields[i].trim().parse::<f64>().map_err(|_| {
                format!(
                    "`{}` in column {} is not a number",
                    fields[i].escape_debug(),
                    self.columns[i]
                )
            })
        };
        let count = |i: usize| number(i).map(|v| v as u32);
        let stats = SamplerStats {
            lp: number(0)?,
            accept_stat: number(1)?,
            step_size: number(2)?,
            tree_depth: count(3)?,
            n_leapfrog: count(4)?,
            divergent: number(5)? != 0.0,
            energy: number(6)?,
        };
        for (k, &p) in self.positions.iter().enumerate() {
            self.draw[p] = number(SAMPLER_COLUMNS.len() + k)?;
        }
        self.draws
            .push_with_stats(&self.draw, stats)
            .map_err(|e| e.to_string())
    }
}

/// The leaves of variable columns named Stan's way, each leaf's shape the
/// largest index of each dimension.
fn layout_of_columns(columns: &[String]) -> std::result::Result<Layout, String> {
    let mut leaves: Vec<(String, Vec<usize>)> = Vec::new();
    for column in columns {
        let mut parts = column.split('.');
        let name = parts.next().unwrap_or_default().replace("__", ".");
        let index: Vec<usize> = parts
            .map(|p| p.parse::<usize>().ok().filter(|&i| i >= 1))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                format!(
                    "column `{}` has an index that is not a number from 1",
                    column.escape_debug()
                )
            })?;
        match leaves.last_mut() {
            Some((last, dims)) if *last == name && dims.len() == index.len() => {
                dims.iter_mut().zip(&index).for_each(|(d, &i)| *d = (*d).max(i));
            }
            _ => leaves.push((name, index)),
        }
    }
    Layout::new(leaves).map_err(|e| e.to_string())
}

#[cfg(test)]
#[path = "stan_csv_tests.rs"]
mod tests;
