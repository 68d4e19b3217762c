//! A summary table of draws, one row per element, like ArviZ's
//! `az.summary`: mean, sd, the 5 % and 95 % quantiles, the MCSE of the
//! mean, bulk and tail ESS and R-hat (see [`diagnostics`](super::diagnostics)
//! for their definitions).
//!
//! ```
//! use jaxpurify_runtime::infer::{ChainDraws, Draws, Layout, Summary};
//! let layout = std::sync::Arc::new(Layout::new([("mu", vec![])])?);
//! let chains = (0..2)
//!     .map(|c| {
//!         let mut chain = ChainDraws::new(layout.clone());
//!         for d in 0..50 {
//!             chain.push(&[((c * 50 + d) as f64 * 0.7).sin()])?;
//!         }
//!         Ok(chain)
//!     })
//!     .collect::<jaxpurify_runtime::Result<Vec<_>>>()?;
//! let summary = Summary::of(&Draws::new(chains)?);
//! assert!(summary.get("mu").unwrap().ess_bulk > 10.0);
//! println!("{summary}");
//! # Ok::<(), jaxpurify_runtime::Error>(())
//! ```

use super::diagnostics::Diagnostics;
use super::draws::Draws;
use rayon::prelude::*;
use std::fmt;

/// One element's row: its label and statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    /// The element's label: `mu`, `theta[3]`, `a[1, 2]`.
    pub name: String,
    /// Its statistics and diagnostics.
    pub stats: Diagnostics,
}

impl std::ops::Deref for SummaryRow {
    type Target = Diagnostics;

    fn deref(&self) -> &Diagnostics {
        &self.stats
    }
}

/// The summary of every element of some draws, in draw order.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    rows: Vec<SummaryRow>,
}

impl Summary {
    /// The summary of every element of `draws`, computed element by
    /// element on rayon's threads (the numbers do not depend on how many).
    pub fn of(draws: &Draws) -> Summary {
        let names = draws.layout().element_names();
        let rows = names
            .into_par_iter()
            .enumerate()
            .map(|(position, name)| SummaryRow {
                name,
                stats: draws.column(position).diagnose(),
            })
            .collect();
        Summary { rows }
    }

    /// The rows, in draw order.
    pub fn rows(&self) -> &[SummaryRow] {
        &self.rows
    }

    /// The row of the element labelled `name` (`theta[3]`).
    pub fn get(&self, name: &str) -> Option<&SummaryRow> {
        self.rows.iter().find(|r| r.name == name)
    }

    /// The largest R-hat of all rows (NaN when any is NaN).
    ///
    /// ```
    /// use jaxpurify_runtime::infer::{ChainDraws, Draws, Layout, Summary};
    /// let mut chain = ChainDraws::new(Layout::new([("x", vec![])])?.into());
    /// for d in 0..8 { chain.push(&[d as f64])?; }
    /// // One chain: R-hat is undefined.
    /// assert!(Summary::of(&Draws::new(vec![chain])?).max_r_hat().is_nan());
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn max_r_hat(&self) -> f64 {
        self.rows.iter().map(|r| r.r_hat).fold(f64::NEG_INFINITY, |m, r| {
            if r.is_nan() || m.is_nan() {
                f64::NAN
            } else {
                m.max(r)
            }
        })
    }
}

/// Columns and the decimals ArviZ rounds them to.
const COLUMNS: [(&str, usize); 8] = [
    ("mean", 3),
    ("sd", 3),
    ("5%", 3),
    ("95%", 3),
    ("mcse_mean", 3),
    ("ess_bulk", 0),
    ("ess_tail", 0),
    ("r_hat", 2),
];

/// Prints an aligned table, one row per element, with ArviZ's precision:
/// 3 decimals for the statistics, whole numbers for ESS, 2 decimals for
/// R-hat.
impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                let s = &r.stats;
                let values = [
                    s.mean,
                    s.sd,
                    s.q5,
                    s.q95,
                    s.mcse_mean,
                    s.ess_bulk,
                    s.ess_tail,
                    s.r_hat,
                ];
                values
                    .iter()
                    .zip(COLUMNS)
                    .map(|(v, (_, decimals))| format!("{v:.decimals$}"))
                    .collect()
            })
            .collect();
        let name_width = self
            .rows
            .iter()
            .map(|r| r.name.chars().count())
            .max()
            .unwrap_or(0);
        let widths: Vec<usize> = COLUMNS
            .iter()
            .enumerate()
            .map(|(j, (title, _))| {
                cells
                    .iter()
                    .map(|row| row[j].len())
                    .chain([title.len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        write!(f, "{:name_width$}", "")?;
        for ((title, _), width) in COLUMNS.iter().zip(&widths) {
            write!(f, "  {title:>width$}")?;
        }
        for (row, values) in self.rows.iter().zip(&cells) {
            write!(f, "\n{:<name_width$}", row.name)?;
            for (value, width) in values.iter().zip(&widths) {
                write!(f, "  {value:>width$}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::{ChainDraws, Layout};
    use std::sync::Arc;

    /// Two chains of a scalar `mu` and a 2 x 2 `a`, values from a smooth
    /// deterministic sequence.
    fn draws() -> Draws {
        let layout = Arc::new(Layout::new([("mu", vec![]), ("a", vec![2, 2])]).unwrap());
        let chains = (0..2)
            .map(|c| {
                let mut chain = ChainDraws::new(layout.clone());
                for d in 0..40 {
                    let t = (c * 40 + d) as f64;
                    let values: Vec<f64> = (0..5).map(|e| (t * 0.37 + e as f64).sin() + e as f64).collect();
                    chain.push(&values).unwrap();
                }
                chain
            })
            .collect();
        Draws::new(chains).unwrap()
    }

    #[test]
    fn rows_are_the_diagnostics_of_each_element_by_label() {
        let draws = draws();
        let summary = Summary::of(&draws);
        let names: Vec<&str> = summary.rows().iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["mu", "a[0, 0]", "a[0, 1]", "a[1, 0]", "a[1, 1]"]);
        let row = summary.get("a[1, 0]").unwrap();
        assert_eq!(row.stats, draws.element("a[1, 0]").unwrap().diagnose());
        // Element 3 of each draw is sin(0.37 t + 3) + 3.
        let first = draws.chains()[0].draw(0)[3];
        assert_eq!(first, 3f64.sin() + 3.0);
        assert!(summary.get("a[2, 0]").is_none());
    }

    #[test]
    fn the_table_aligns_columns_with_arviz_precision() {
        let text = Summary::of(&draws()).to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6);
        assert!(lines[0].trim_start().starts_with("mean"), "{}", lines[0]);
        // Every line is as long as the header: columns line up.
        assert!(lines.iter().all(|l| l.len() == lines[0].len()), "{text}");
        let row = Summary::of(&draws()).get("mu").unwrap().clone();
        let cells: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(cells[0], "mu");
        assert_eq!(cells[1], format!("{:.3}", row.mean));
        assert_eq!(cells[6], format!("{:.0}", row.ess_bulk));
        assert_eq!(cells[8], format!("{:.2}", row.r_hat));
    }
}
