//! Draws of named leaves of any shape, chain by chain, as a sampler makes
//! them.
//!
//! A [`Layout`] names the leaves of one draw (a model's parameters, its
//! intermediates, or both joined) with their shapes; one draw is their
//! values raveled one after the other, each leaf row-major, `width` values
//! in all. A [`ChainDraws`] appends draws of one chain (a sampler's thread
//! owns one), and [`Draws`] gathers chains of equal length for summaries
//! and files.
//!
//! Memory: a chain holds `8 * width` bytes of values per draw plus one
//! [`SamplerStats`] (48 bytes), so `chains * draws * (8 * width + 48)`
//! bytes in all; a field of 10^6 elements kept at 4000 draws is 32 GB.
//! Keep only the leaves you need in the layout, or stream draws to a file
//! instead ([`StanCsvWriter`](super::StanCsvWriter)), which needs none.
//!
//! ```
//! use jaxpurify_runtime::infer::{ChainDraws, Draws, Layout};
//! let layout = Layout::new([("mu", vec![]), ("theta", vec![2])])?;
//! let mut chain = ChainDraws::new(layout.into());
//! chain.push(&[0.5, 1.0, 2.0])?;
//! chain.push(&[0.7, 1.5, 2.5])?;
//! let draws = Draws::new(vec![chain])?;
//! assert_eq!(draws.element("theta[1]")?.values(), &[2.0, 2.5]);
//! # Ok::<(), jaxpurify_runtime::Error>(())
//! ```

use super::diagnostics::Chains;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::tree::{Path, Tree};
use std::sync::Arc;

/// One named leaf of a draw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// Its path, e.g. `theta` or `field.xi`.
    pub name: String,
    /// Its shape.
    pub shape: Shape,
    /// Where its values start in a draw.
    pub offset: usize,
}

/// The named leaves of one draw and where their values sit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    leaves: Vec<Leaf>,
    width: usize,
}

impl Layout {
    /// A layout of the named shapes, in order.
    ///
    /// ```
    /// use jaxpurify_runtime::infer::Layout;
    /// let layout = Layout::new([("a", vec![2, 3]), ("b", vec![])])?;
    /// assert_eq!((layout.width(), layout.leaf("b").unwrap().offset), (7, 6));
    /// assert!(Layout::new([("a", vec![]), ("a", vec![2])]).is_err());
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty or repeated name, or one
    /// with characters other than letters, digits, `_` and the `.` between
    /// path segments (names must survive CSV files and element labels).
    pub fn new<N: Into<String>, S: Into<Shape>>(leaves: impl IntoIterator<Item = (N, S)>) -> Result<Layout> {
        let mut layout = Layout {
            leaves: Vec::new(),
            width: 0,
        };
        for (name, shape) in leaves {
            layout.push(name.into(), shape.into())?;
        }
        Ok(layout)
    }

    /// The layout of a tree's leaves (paths like `field.xi`), in its order:
    /// the layout of [`Tree::ravel`].
    ///
    /// ```
    /// use jaxpurify_runtime::{infer::Layout, Tensor};
    /// let layout = Layout::of(&(Tensor::zeros([3]), Tensor::scalar(0.0)))?;
    /// assert_eq!(layout.leaves()[1].name, "1");
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Layout::new`]; a tree's own paths are always valid names.
    pub fn of<T: Tree>(tree: &T) -> Result<Layout> {
        let mut leaves = Vec::new();
        tree.visit(&mut Path::root(), &mut |path, t| {
            leaves.push((path.to_string(), t.shape().clone()))
        });
        Layout::new(leaves)
    }

    /// The same leaves with `prefix.` before each name, e.g. to keep a
    /// model's whitened parameters apart from its physical intermediates
    /// of the same names.
    ///
    /// ```
    /// use jaxpurify_runtime::infer::Layout;
    /// let layout = Layout::new([("tau", vec![])])?.prefixed("xi")?;
    /// assert_eq!(layout.leaves()[0].name, "xi.tau");
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Layout::new`] when `prefix` is not a valid name.
    pub fn prefixed(&self, prefix: &str) -> Result<Layout> {
        Layout::new(
            self.leaves
                .iter()
                .map(|l| (format!("{prefix}.{}", l.name), l.shape.clone())),
        )
    }

    /// This layout's leaves followed by `other`'s.
    ///
    /// ```
    /// use jaxpurify_runtime::infer::Layout;
    /// let params = Layout::new([("xi", vec![2])])?;
    /// let both = params.join(&Layout::new([("f", vec![3])])?)?;
    /// assert_eq!((both.width(), both.leaf("f").unwrap().offset), (5, 2));
    /// assert!(both.join(&params).is_err()); // `xi` twice
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when a name is in both.
    pub fn join(&self, other: &Layout) -> Result<Layout> {
        let mut joined = self.clone();
        for leaf in &other.leaves {
            joined.push(leaf.name.clone(), leaf.shape.clone())?;
        }
        Ok(joined)
    }

    fn push(&mut self, name: String, shape: Shape) -> Result<()> {
        check_name(&name)?;
        if self.leaf(&name).is_some() {
            return Err(Error::InvalidArgument {
                op: "infer::Layout",
                message: format!("leaf `{}` appears twice", name.escape_debug()),
            });
        }
        let offset = self.width;
        self.width += shape.numel();
        self.leaves.push(Leaf { name, shape, offset });
        Ok(())
    }

    /// The leaves, in order.
    pub fn leaves(&self) -> &[Leaf] {
        &self.leaves
    }

    /// The leaf named `name`.
    pub fn leaf(&self, name: &str) -> Option<&Leaf> {
        self.leaves.iter().find(|l| l.name == name)
    }

    /// The number of values in one draw.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Every element's label in draw order, as ArviZ prints them: `mu`,
    /// `theta[3]`, `a[1, 2]` (indices from 0, row-major).
    ///
    /// ```
    /// use jaxpurify_runtime::infer::Layout;
    /// let layout = Layout::new([("mu", vec![]), ("a", vec![2, 2])])?;
    /// assert_eq!(layout.element_names(), ["mu", "a[0, 0]", "a[0, 1]", "a[1, 0]", "a[1, 1]"]);
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn element_names(&self) -> Vec<String> {
        let mut names = Vec::with_capacity(self.width);
        for leaf in &self.leaves {
            for index in row_major_indices(&leaf.shape) {
                names.push(match index.is_empty() {
                    true => leaf.name.clone(),
                    false => {
                        let joined: Vec<String> = index.iter().map(usize::to_string).collect();
                        format!("{}[{}]", leaf.name, joined.join(", "))
                    }
                });
            }
        }
        names
    }

    /// The position in a draw of the element labelled `label` (`mu`,
    /// `theta[3]`, `a[1, 2]`).
    ///
    /// ```
    /// use jaxpurify_runtime::infer::Layout;
    /// let layout = Layout::new([("mu", vec![]), ("a", vec![2, 3])])?;
    /// assert_eq!(layout.position("a[1, 2]"), Some(6));
    /// assert_eq!(layout.position("a[2, 0]"), None);
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn position(&self, label: &str) -> Option<usize> {
        let (name, index) = match label.split_once('[') {
            None => (label, Vec::new()),
            Some((name, rest)) => {
                let inner = rest.strip_suffix(']')?;
                let index: Option<Vec<usize>> = inner.split(',').map(|i| i.trim().parse().ok()).collect();
                (name, index?)
            }
        };
        let leaf = self.leaf(name)?;
        let dims = leaf.shape.dims();
        if index.len() != dims.len() || index.iter().zip(dims).any(|(i, d)| i >= d) {
            return None;
        }
        let flat = index.iter().zip(dims).fold(0, |acc, (i, d)| acc * d + i);
        Some(leaf.offset + flat)
    }
}

/// Fails unless `name` is dot-separated segments of letters, digits and `_`.
fn check_name(name: &str) -> Result<()> {
    let segment_ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
    if name.split('.').all(segment_ok) {
        return Ok(());
    }
    Err(Error::InvalidArgument {
        op: "infer::Layout",
        message: format!(
            "leaf name \"{}\" must be segments of letters, digits and `_` separated by `.`",
            name.escape_debug()
        ),
    })
}

/// Every multi-index of `shape` in row-major order (one empty index for a
/// scalar).
pub(crate) fn row_major_indices(shape: &Shape) -> impl Iterator<Item = Vec<usize>> + '_ {
    let dims = shape.dims();
    (0..shape.numel()).map(move |mut flat| {
        let mut index = vec![0; dims.len()];
        for (i, d) in dims.iter().enumerate().rev() {
            index[i] = flat % d;
            flat /= d;
        }
        index
    })
}

/// What a Hamiltonian sampler reports with each draw: Stan's sampler
/// columns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SamplerStats {
    /// The log density at the draw, up to a constant (`lp__`).
    pub lp: f64,
    /// The mean acceptance probability of the trajectory (`accept_stat__`).
    pub accept_stat: f64,
    /// The leapfrog step size (`stepsize__`).
    pub step_size: f64,
    /// The depth of the trajectory's tree (`treedepth__`).
    pub tree_depth: u32,
    /// The number of leapfrog steps (`n_leapfrog__`).
    pub n_leapfrog: u32,
    /// Whether the trajectory diverged (`divergent__`).
    pub divergent: bool,
    /// The Hamiltonian at the draw (`energy__`).
    pub energy: f64,
}

impl SamplerStats {
    /// Statistics of a draw that no Hamiltonian sampler made: NaN for the
    /// floating-point columns, zero steps, not divergent.
    ///
    /// ```
    /// use jaxpurify_runtime::infer::SamplerStats;
    /// assert!(SamplerStats::unknown().lp.is_nan());
    /// ```
    pub fn unknown() -> SamplerStats {
        SamplerStats {
            lp: f64::NAN,
            accept_stat: f64::NAN,
            step_size: f64::NAN,
            tree_depth: 0,
            n_leapfrog: 0,
            divergent: false,
            energy: f64::NAN,
        }
    }
}

/// The draws of one chain, appended one at a time.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainDraws {
    layout: Arc<Layout>,
    /// Draw after draw, `layout.width()` values each.
    values: Vec<f64>,
    stats: Vec<SamplerStats>,
}

impl ChainDraws {
    /// An empty chain of draws laid out as `layout`.
    ///
    /// ```
    /// use jaxpurify_runtime::infer::{ChainDraws, Layout};
    /// let chain = ChainDraws::new(Layout::new([("mu", vec![])])?.into());
    /// assert_eq!(chain.num_draws(), 0);
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn new(layout: Arc<Layout>) -> ChainDraws {
        ChainDraws {
            layout,
            values: Vec::new(),
            stats: Vec::new(),
        }
    }

    /// As [`new`](ChainDraws::new), with room for `draws` draws reserved
    /// at once.
    pub fn with_capacity(layout: Arc<Layout>, draws: usize) -> ChainDraws {
        let values = Vec::with_capacity(draws * layout.width());
        ChainDraws {
            layout,
            values,
            stats: Vec::with_capacity(draws),
        }
    }

    /// Appends a draw without sampler statistics ([`SamplerStats::unknown`]).
    ///
    /// # Errors
    /// [`Error::Length`] when `values` is not one draw of the layout.
    pub fn push(&mut self, values: &[f64]) -> Result<()> {
        self.push_with_stats(values, SamplerStats::unknown())
    }

    /// Appends a draw and the sampler's statistics for it.
    ///
    /// ```
    /// use jaxpurify_runtime::infer::{ChainDraws, Layout, SamplerStats};
    /// let mut chain = ChainDraws::new(Layout::new([("x", vec![2])])?.into());
    /// let stats = SamplerStats { lp: -1.5, ..SamplerStats::unknown() };
    /// chain.push_with_stats(&[1.0, 2.0], stats)?;
    /// assert_eq!(chain.stats()[0].lp, -1.5);
    /// assert!(chain.push(&[1.0]).is_err());
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Length`] when `values` is not one draw of the layout.
    pub fn push_with_stats(&mut self, values: &[f64], stats: SamplerStats) -> Result<()> {
        if values.len() != self.layout.width() {
            return Err(Error::Length {
                path: "draw (values of every leaf of the layout)".into(),
                expected: self.layout.width(),
                actual: values.len(),
            });
        }
        self.values.extend_from_slice(values);
        self.stats.push(stats);
        Ok(())
    }

    /// The layout of each draw.
    pub fn layout(&self) -> &Arc<Layout> {
        &self.layout
    }

    /// The number of draws.
    pub fn num_draws(&self) -> usize {
        self.stats.len()
    }

    /// Draw `i`'s values.
    ///
    /// # Panics
    /// When `i` is not below [`num_draws`](ChainDraws::num_draws).
    pub fn draw(&self, i: usize) -> &[f64] {
        let width = self.layout.width();
        &self.values[i * width..(i + 1) * width]
    }

    /// The sampler statistics of every draw.
    pub fn stats(&self) -> &[SamplerStats] {
        &self.stats
    }

    /// Element `position` of every draw.
    fn column(&self, position: usize) -> impl Iterator<Item = f64> + '_ {
        let width = self.layout.width();
        self.values.iter().skip(position).step_by(width.max(1)).copied()
    }
}

/// Chains of equal length sharing one layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Draws {
    layout: Arc<Layout>,
    chains: Vec<ChainDraws>,
}

impl Draws {
    /// The draws of these chains.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for no chains or chains of different
    /// layouts, [`Error::Length`] for chains of different lengths.
    pub fn new(chains: Vec<ChainDraws>) -> Result<Draws> {
        let Some(first) = chains.first() else {
            return Err(Error::InvalidArgument {
                op: "infer::Draws::new",
                message: "at least one chain is needed, got none".into(),
            });
        };
        let layout = first.layout.clone();
        for (c, chain) in chains.iter().enumerate() {
            if *chain.layout != *layout {
                return Err(Error::InvalidArgument {
                    op: "infer::Draws::new",
                    message: format!("chain {c} has another layout than chain 0"),
                });
            }
            if chain.num_draws() != first.num_draws() {
                return Err(Error::Length {
                    path: format!("chain {c} (draws, as chain 0)"),
                    expected: first.num_draws(),
                    actual: chain.num_draws(),
                });
            }
        }
        Ok(Draws { layout, chains })
    }

    /// The layout of each draw.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The chains.
    pub fn chains(&self) -> &[ChainDraws] {
        &self.chains
    }

    /// The number of draws per chain.
    pub fn num_draws(&self) -> usize {
        self.chains[0].num_draws()
    }

    /// The draws of the element at `position` in a draw, chains x draws.
    ///
    /// # Panics
    /// When `position` is not below the layout's width.
    pub fn column(&self, position: usize) -> Chains {
        assert!(
            position < self.layout.width(),
            "infer::Draws::column: position {position} beyond the draw's width {}",
            self.layout.width()
        );
        let values = self.chains.iter().flat_map(|c| c.column(position)).collect();
        Chains::from_flat(values, self.chains.len()).expect("chains of equal length")
    }

    /// The draws of the element labelled `label` (`mu`, `theta[3]`,
    /// `a[1, 2]`), chains x draws.
    ///
    /// # Errors
    /// [`Error::Missing`] when the layout has no such element.
    pub fn element(&self, label: &str) -> Result<Chains> {
        let position = self.layout.position(label).ok_or_else(|| Error::Missing {
            path: label.escape_debug().to_string(),
        })?;
        Ok(self.column(position))
    }

    /// Every draw of leaf `name` as one tensor of shape
    /// `[chains, draws, ...leaf shape]`.
    ///
    /// ```
    /// use jaxpurify_runtime::infer::{ChainDraws, Draws, Layout};
    /// let mut chain = ChainDraws::new(Layout::new([("a", vec![]), ("b", vec![2])])?.into());
    /// chain.push(&[1.0, 2.0, 3.0])?;
    /// let b = Draws::new(vec![chain])?.leaf_values("b")?;
    /// assert_eq!((b.shape().dims(), b.to_vec()), (&[1, 1, 2][..], vec![2.0, 3.0]));
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Missing`] when the layout has no such leaf.
    pub fn leaf_values(&self, name: &str) -> Result<Tensor> {
        let leaf = self.layout.leaf(name).ok_or_else(|| Error::Missing {
            path: name.escape_debug().to_string(),
        })?;
        let range = leaf.offset..leaf.offset + leaf.shape.numel();
        let mut values = Vec::with_capacity(self.chains.len() * self.num_draws() * range.len());
        for chain in &self.chains {
            for d in 0..chain.num_draws() {
                values.extend_from_slice(&chain.draw(d)[range.clone()]);
            }
        }
        let mut dims = vec![self.chains.len(), self.num_draws()];
        dims.extend_from_slice(leaf.shape.dims());
        Tensor::from_vec(values, dims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Arc<Layout> {
        Arc::new(Layout::new([("mu", vec![]), ("a", vec![2, 3])]).unwrap())
    }

    #[test]
    fn sampler_statistics_take_the_bytes_the_docs_state() {
        assert_eq!(std::mem::size_of::<SamplerStats>(), 48);
    }

    #[test]
    fn every_label_finds_its_own_position() {
        let layout = layout();
        for (i, name) in layout.element_names().iter().enumerate() {
            assert_eq!(layout.position(name), Some(i), "{name}");
        }
        for bad in ["a", "a[1]", "a[0, 3]", "a[x, 1]", "b", "mu[0]", "a[1, 2"] {
            assert_eq!(layout.position(bad), None, "{bad}");
        }
    }

    #[test]
    fn names_that_would_break_files_are_rejected_and_quoted_escaped() {
        for bad in ["", "a,b", "a..b", "x\ny", "a[0]", "lp__ "] {
            assert!(Layout::new([(bad, vec![])]).is_err(), "{bad:?}");
        }
        assert_eq!(
            Layout::new([("x\ny", vec![])]).unwrap_err().to_string(),
            "infer::Layout: leaf name \"x\\ny\" must be segments of letters, digits and `_` separated by `.`"
        );
        assert!(Layout::new([("field.xi", vec![3]), ("layers.0.w", vec![])]).is_ok());
    }

    #[test]
    fn tree_layouts_follow_ravel() {
        let tree = (Tensor::from([[1.0, 2.0], [3.0, 4.0]]), vec![Tensor::scalar(5.0)]);
        let layout = Arc::new(Layout::of(&tree).unwrap());
        assert_eq!(layout.element_names()[4], "1.0");
        let mut chain = ChainDraws::with_capacity(layout.clone(), 1);
        chain.push(&tree.ravel()).unwrap();
        let draws = Draws::new(vec![chain]).unwrap();
        assert_eq!(draws.element("0[1, 0]").unwrap().values(), &[3.0]);
        assert_eq!(draws.leaf_values("0").unwrap().reshape([2, 2]), tree.0);
    }

    #[test]
    fn draws_gather_columns_across_chains() {
        let layout = layout();
        let chains: Vec<ChainDraws> = (0..3)
            .map(|c| {
                let mut chain = ChainDraws::new(layout.clone());
                for d in 0..4 {
                    let draw: Vec<f64> = (0..7).map(|e| (100 * c + 10 * d + e) as f64).collect();
                    chain.push(&draw).unwrap();
                }
                chain
            })
            .collect();
        let draws = Draws::new(chains).unwrap();
        // a[1, 2] is element 6 of a draw.
        let column = draws.element("a[1, 2]").unwrap();
        assert_eq!(column.chain(2), &[206.0, 216.0, 226.0, 236.0]);
        let a = draws.leaf_values("a").unwrap();
        assert_eq!(a.shape().dims(), &[3, 4, 2, 3]);
        assert_eq!(a.get(&[1, 2, 0, 1]), 122.0);
        assert!(matches!(draws.element("nope"), Err(Error::Missing { .. })));
    }

    #[test]
    fn chains_must_agree_in_layout_and_length() {
        let mut long = ChainDraws::new(layout());
        long.push(&[0.0; 7]).unwrap();
        let short = ChainDraws::new(layout());
        assert_eq!(
            Draws::new(vec![long.clone(), short]).unwrap_err().to_string(),
            "`chain 1 (draws, as chain 0)`: expected length 1, got 0"
        );
        let mut other = ChainDraws::new(Arc::new(Layout::new([("mu", vec![7])]).unwrap()));
        other.push(&[0.0; 7]).unwrap();
        assert!(Draws::new(vec![long, other]).is_err());
        assert!(Draws::new(vec![]).is_err());
        assert_eq!(
            ChainDraws::new(layout()).push(&[1.0]).unwrap_err().to_string(),
            "`draw (values of every leaf of the layout)`: expected length 7, got 1"
        );
    }
}
