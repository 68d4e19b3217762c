//! Declared shapes of a model's parameters or fixed data.

use crate::shape::Shape;
use crate::tree::{Path, Tree};
use std::fmt;

/// Leaf paths with their shapes, in declaration order.
///
/// ```
/// use jaxpurify_runtime::{model::Shapes, Tensor};
/// let shapes = Shapes::of(&(Tensor::zeros([3]), Tensor::scalar(0.0)));
/// assert_eq!(shapes.get("0"), Some(&jaxpurify_runtime::Shape::from([3])));
/// assert_eq!(shapes.num_elements(), 4);
/// assert_eq!(shapes.to_string(), "0: [3]\n1: []");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shapes(Vec<(String, Shape)>);

impl Shapes {
    /// The shapes of a tree's leaves.
    pub fn of<T: Tree>(tree: &T) -> Shapes {
        let mut out = Vec::new();
        tree.visit(&mut Path::root(), &mut |p, t| {
            out.push((p.to_string(), t.shape().clone()))
        });
        Shapes(out)
    }

    /// The shapes of the leaves of `tree` whose paths `declared` accepts, in
    /// the tree's order: a model's layout leaves out what its arguments do
    /// not declare.
    pub(crate) fn of_declared<T: Tree>(tree: &T, declared: impl Fn(&str) -> bool) -> Shapes {
        let mut out = Vec::new();
        tree.visit(&mut Path::root(), &mut |p, t| {
            let path = p.to_string();
            if declared(&path) {
                out.push((path, t.shape().clone()));
            }
        });
        Shapes(out)
    }

    /// The shape at `path` (e.g. `"field.xi"`).
    pub fn get(&self, path: &str) -> Option<&Shape> {
        self.0.iter().find(|(p, _)| p == path).map(|(_, s)| s)
    }

    /// Where the leaf at `path` sits in the flat vector (the layout of
    /// [`Tree::ravel`]).
    ///
    /// ```
    /// use jaxpurify_runtime::{model::Shapes, Tensor};
    /// let shapes = Shapes::of(&(Tensor::zeros([3]), Tensor::zeros([2, 2])));
    /// assert_eq!(shapes.range("1"), Some(3..7));
    /// assert_eq!(shapes.range("2"), None);
    /// ```
    pub fn range(&self, path: &str) -> Option<std::ops::Range<usize>> {
        let mut start = 0;
        for (p, s) in &self.0 {
            if p == path {
                return Some(start..start + s.numel());
            }
            start += s.numel();
        }
        None
    }

    /// Paths and shapes in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Shape)> {
        self.0.iter().map(|(p, s)| (p.as_str(), s))
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no leaves.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Total number of elements: the length of the flat vector.
    pub fn num_elements(&self) -> usize {
        self.0.iter().map(|(_, s)| s.numel()).sum()
    }
}

impl fmt::Display for Shapes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (p, s)) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}: {s}")?;
        }
        Ok(())
    }
}
