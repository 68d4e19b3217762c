//! Trees of tensors: parameter structs, vectors of them, tuples.
//!
//! Differentiation, flat vectors and saving all work on any [`Tree`]: a value
//! whose tensors (its *leaves*) can be visited in a fixed order, each with a
//! path such as `field.xi` or `layers.1.w`, and rebuilt with new leaves.

use crate::error::{Error, Result};
use crate::tensor::Tensor;
use smallvec::SmallVec;
use std::fmt;

/// One step of a leaf path: a struct field or a position in a list.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathSegment {
    /// A named field.
    Field(&'static str),
    /// An index into a `Vec`, array or tuple.
    Index(usize),
}

/// Where a leaf sits in a tree, printed as `field.xi` or `layers.1.w`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Path(SmallVec<[PathSegment; 4]>);

impl Path {
    /// The root (empty) path.
    pub fn root() -> Path {
        Path(SmallVec::new())
    }

    /// Calls `f` with this path extended by `segment`, then restores it.
    pub fn with<R>(&mut self, segment: PathSegment, f: impl FnOnce(&mut Path) -> R) -> R {
        self.0.push(segment);
        let out = f(self);
        self.0.pop();
        out
    }

    pub(crate) fn push(&mut self, segment: PathSegment) {
        self.0.push(segment);
    }

    /// The segments, outermost first.
    pub fn segments(&self) -> &[PathSegment] {
        &self.0
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return write!(f, "<root>");
        }
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ".")?;
            }
            match s {
                PathSegment::Field(name) => write!(f, "{name}")?,
                PathSegment::Index(i) => write!(f, "{i}")?,
            }
        }
        Ok(())
    }
}

/// A value made of tensors that can be visited and rebuilt leaf by leaf.
///
/// ```
/// use jaxpurify_runtime::{Tensor, Tree};
/// let pair = (Tensor::from([1.0, 2.0]), vec![Tensor::scalar(3.0)]);
/// assert_eq!(pair.leaves().len(), 2);
/// let doubled = pair.map(|t| t * 2.0);
/// assert_eq!(doubled.1[0].item(), 6.0);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tree of tensors",
    note = "trees are `Tensor`s, and `Vec`s, arrays, tuples, `Option`s and `#[derive(Tree)]` structs of \
            them; a `#[purify]` function returns one, or a `Result` of one"
)]
pub trait Tree: Sized {
    /// Visits every leaf in declaration order, with its path.
    fn visit<'a>(&'a self, path: &mut Path, f: &mut dyn FnMut(&Path, &'a Tensor));

    /// Rebuilds the tree with each leaf replaced by `f(path, leaf)`, stopping
    /// at the first error.
    fn try_rebuild(
        &self,
        path: &mut Path,
        f: &mut dyn FnMut(&Path, &Tensor) -> Result<Tensor>,
    ) -> Result<Self>;

    /// The leaves in declaration order.
    fn leaves(&self) -> Vec<&Tensor> {
        let mut out = Vec::new();
        self.visit(&mut Path::root(), &mut |_, t| out.push(t));
        out
    }

    /// The same tree with every leaf mapped.
    fn map(&self, mut f: impl FnMut(&Tensor) -> Tensor) -> Self {
        self.try_rebuild(&mut Path::root(), &mut |_, t| Ok(f(t)))
            .expect("an infallible map cannot fail")
    }

    /// The same tree with `f` applied to matching leaves of `self` and `other`.
    ///
    /// # Panics
    /// When the trees have different numbers of leaves.
    #[track_caller]
    fn zip_map(&self, other: &Self, mut f: impl FnMut(&Tensor, &Tensor) -> Tensor) -> Self {
        let mut others = other.leaves().into_iter();
        let mut short = false;
        let out = self.map(|a| match others.next() {
            Some(b) => f(a, b),
            None => {
                short = true;
                a.clone()
            }
        });
        // Here, not in the closure, which would not pass on the caller's location.
        assert!(!short && others.next().is_none(), "zip_map: the trees differ");
        out
    }

    /// Total number of elements over all leaves.
    fn num_elements(&self) -> usize {
        self.leaves().iter().map(|t| t.numel()).sum()
    }

    /// All leaf values in one vector, leaves in declaration order, each
    /// row-major: the layout [`unravel_like`](Tree::unravel_like) reads.
    ///
    /// ```
    /// use jaxpurify_runtime::{Tensor, Tree};
    /// let tree = (Tensor::from([1.0, 2.0]), Tensor::scalar(3.0));
    /// assert_eq!(tree.ravel(), vec![1.0, 2.0, 3.0]);
    /// let back = tree.unravel_like(&[4.0, 5.0, 6.0])?;
    /// assert_eq!(back.1.item(), 6.0);
    /// assert!(tree.unravel_like(&[1.0]).is_err());
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    fn ravel(&self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.num_elements());
        self.visit(&mut Path::root(), &mut |_, t| out.extend_from_slice(t.as_slice()));
        out
    }

    /// A tree shaped like `self` holding the values of `flat` (the layout of
    /// [`ravel`](Tree::ravel)); fails when the length differs.
    fn unravel_like(&self, flat: &[f64]) -> Result<Self> {
        let expected = self.num_elements();
        if flat.len() != expected {
            return Err(Error::Length {
                path: "flat vector".into(),
                expected,
                actual: flat.len(),
            });
        }
        let mut offset = 0;
        self.try_rebuild(&mut Path::root(), &mut |_, t| {
            let n = t.numel();
            let leaf = Tensor::from_vec(flat[offset..offset + n].to_vec(), t.shape().clone());
            offset += n;
            leaf
        })
    }

    /// Every leaf path with its shape, one per line, in declaration order.
    ///
    /// ```
    /// use jaxpurify_runtime::{Tensor, Tree};
    /// let tree = vec![Tensor::zeros([2, 3])];
    /// assert_eq!(tree.shapes_summary(), "0: [2, 3]\n");
    /// ```
    fn shapes_summary(&self) -> String {
        let mut out = String::new();
        self.visit(&mut Path::root(), &mut |p, t| {
            out.push_str(&format!("{p}: {}\n", t.shape()))
        });
        out
    }

    /// Saves the tree by leaf path: JSON for `.json`, safetensors for
    /// `.safetensors` (see [`crate::io`]). Every value loads back with its
    /// bits; JSON writes NaN and infinities as the strings `"NaN"`, `"-NaN"`,
    /// `"Infinity"` and `"-Infinity"` (other NaNs as `"NaN:0x..."` with
    /// their bits).
    fn save(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        crate::io::save(self, path)
    }

    /// Loads values saved by [`save`](Tree::save) into a tree shaped like
    /// this one; every missing, unexpected or misshapen entry is reported.
    fn load_like(&self, path: impl AsRef<std::path::Path>) -> Result<Self> {
        crate::io::load_like(self, path)
    }

    /// Rebuilds the tree from leaves given in declaration order.
    ///
    /// # Panics
    /// When `leaves` does not hold exactly one tensor per leaf.
    #[track_caller]
    fn with_leaves(&self, leaves: impl IntoIterator<Item = Tensor>) -> Self {
        let mut it = leaves.into_iter();
        let mut short = false;
        let out = self.map(|t| {
            it.next().unwrap_or_else(|| {
                short = true;
                t.clone()
            })
        });
        // Here, not in the closure, which would not pass on the caller's location.
        assert!(!short, "with_leaves: too few leaves");
        assert!(it.next().is_none(), "with_leaves: too many leaves");
        out
    }
}

/// The first list (a `Vec` inside the tree, by its path) whose length
/// differs between two trees of one type, with its length in `expected`
/// and in `given`. Lengths are read from the leaves' paths, so an entry
/// without leaves (a component without parameters) does not count.
pub(crate) fn list_length_difference<T: Tree>(expected: &T, given: &T) -> Option<(String, usize, usize)> {
    let (expected, given) = (list_lengths(expected), list_lengths(given));
    let length_in =
        |lists: &[(String, usize)], path: &str| lists.iter().find(|(p, _)| p == path).map_or(0, |&(_, n)| n);
    let differs = |(path, _): &(String, usize)| {
        let (e, g) = (length_in(&expected, path), length_in(&given, path));
        (e != g).then(|| (path.clone(), e, g))
    };
    expected.iter().chain(&given).find_map(differs)
}

/// Each list of `tree` with the number of its entries that hold leaves, in
/// the order the lists are first met.
fn list_lengths<T: Tree>(tree: &T) -> Vec<(String, usize)> {
    let mut lists: Vec<(String, usize)> = Vec::new();
    tree.visit(&mut Path::root(), &mut |path, _| {
        let mut prefix = Path::root();
        for segment in path.segments() {
            if let PathSegment::Index(i) = *segment {
                let list = prefix.to_string();
                match lists.iter_mut().find(|(p, _)| *p == list) {
                    Some((_, n)) => *n = (*n).max(i + 1),
                    None => lists.push((list, i + 1)),
                }
            }
            prefix.push(segment.clone());
        }
    });
    lists
}

/// Leaves looked up by path, for building a tree that does not exist yet
/// (initialisation, loading, recorded intermediates).
pub trait LeafSource {
    /// The leaf at `path`, if there is one.
    fn take(&mut self, path: &Path) -> Option<Tensor>;
    /// How many entries a list at `path` has.
    fn list_len(&self, path: &Path) -> usize;
}

/// A [`Tree`] that can be built from a [`LeafSource`]; derived with the tree.
pub trait TreeBuild: Tree {
    /// Builds the tree, taking each leaf from `source`; a missing leaf is an
    /// error naming its path.
    fn build(path: &mut Path, source: &mut dyn LeafSource) -> Result<Self>;
}

impl TreeBuild for Tensor {
    fn build(path: &mut Path, source: &mut dyn LeafSource) -> Result<Self> {
        source.take(path).ok_or_else(|| Error::Missing {
            path: path.to_string(),
        })
    }
}

impl<T: TreeBuild> TreeBuild for Vec<T> {
    fn build(path: &mut Path, source: &mut dyn LeafSource) -> Result<Self> {
        let n = source.list_len(path);
        (0..n)
            .map(|i| path.with(PathSegment::Index(i), |p| T::build(p, source)))
            .collect()
    }
}

impl TreeBuild for () {
    fn build(_: &mut Path, _: &mut dyn LeafSource) -> Result<Self> {
        Ok(())
    }
}

impl Tree for Tensor {
    fn visit<'a>(&'a self, path: &mut Path, f: &mut dyn FnMut(&Path, &'a Tensor)) {
        f(path, self)
    }

    fn try_rebuild(
        &self,
        path: &mut Path,
        f: &mut dyn FnMut(&Path, &Tensor) -> Result<Tensor>,
    ) -> Result<Self> {
        f(path, self)
    }
}

impl<T: Tree> Tree for Vec<T> {
    fn visit<'a>(&'a self, path: &mut Path, f: &mut dyn FnMut(&Path, &'a Tensor)) {
        for (i, item) in self.iter().enumerate() {
            path.with(PathSegment::Index(i), |p| item.visit(p, f));
        }
    }

    fn try_rebuild(
        &self,
        path: &mut Path,
        f: &mut dyn FnMut(&Path, &Tensor) -> Result<Tensor>,
    ) -> Result<Self> {
        self.iter()
            .enumerate()
            .map(|(i, item)| path.with(PathSegment::Index(i), |p| item.try_rebuild(p, f)))
            .collect()
    }
}

impl<T: Tree> Tree for Option<T> {
    fn visit<'a>(&'a self, path: &mut Path, f: &mut dyn FnMut(&Path, &'a Tensor)) {
        if let Some(item) = self {
            item.visit(path, f);
        }
    }

    fn try_rebuild(
        &self,
        path: &mut Path,
        f: &mut dyn FnMut(&Path, &Tensor) -> Result<Tensor>,
    ) -> Result<Self> {
        self.as_ref().map(|item| item.try_rebuild(path, f)).transpose()
    }
}

impl<T: Tree, const N: usize> Tree for [T; N] {
    fn visit<'a>(&'a self, path: &mut Path, f: &mut dyn FnMut(&Path, &'a Tensor)) {
        for (i, item) in self.iter().enumerate() {
            path.with(PathSegment::Index(i), |p| item.visit(p, f));
        }
    }

    fn try_rebuild(
        &self,
        path: &mut Path,
        f: &mut dyn FnMut(&Path, &Tensor) -> Result<Tensor>,
    ) -> Result<Self> {
        let items: Vec<T> = self
            .iter()
            .enumerate()
            .map(|(i, item)| path.with(PathSegment::Index(i), |p| item.try_rebuild(p, f)))
            .collect::<Result<_>>()?;
        Ok(items
            .try_into()
            .unwrap_or_else(|_| unreachable!("the length is N")))
    }
}

impl Tree for () {
    fn visit<'a>(&'a self, _: &mut Path, _: &mut dyn FnMut(&Path, &'a Tensor)) {}

    fn try_rebuild(&self, _: &mut Path, _: &mut dyn FnMut(&Path, &Tensor) -> Result<Tensor>) -> Result<Self> {
        Ok(())
    }
}

macro_rules! tuple_tree {
    ($($name:ident $idx:tt),+) => {
        impl<$($name: Tree),+> Tree for ($($name,)+) {
            fn visit<'a>(&'a self, path: &mut Path, f: &mut dyn FnMut(&Path, &'a Tensor)) {
                $(path.with(PathSegment::Index($idx), |p| self.$idx.visit(p, f));)+
            }

            fn try_rebuild(
                &self,
                path: &mut Path,
                f: &mut dyn FnMut(&Path, &Tensor) -> Result<Tensor>,
            ) -> Result<Self> {
                Ok(($(path.with(PathSegment::Index($idx), |p| self.$idx.try_rebuild(p, f))?,)+))
            }
        }
    };
}

tuple_tree!(A 0);
tuple_tree!(A 0, B 1);
tuple_tree!(A 0, B 1, C 2);
tuple_tree!(A 0, B 1, C 2, D 3);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_fields_and_indices() {
        let tree = (
            Tensor::scalar(1.0),
            vec![Tensor::scalar(2.0), Tensor::scalar(3.0)],
        );
        let mut paths = vec![];
        tree.visit(&mut Path::root(), &mut |p, _| paths.push(p.to_string()));
        assert_eq!(paths, vec!["0", "1.0", "1.1"]);
    }

    #[test]
    fn with_leaves_rebuilds_in_order() {
        let tree = [Tensor::scalar(0.0), Tensor::scalar(0.0)];
        let rebuilt = tree.with_leaves([Tensor::scalar(1.0), Tensor::scalar(2.0)]);
        assert_eq!(rebuilt[1].item(), 2.0);
    }
}
