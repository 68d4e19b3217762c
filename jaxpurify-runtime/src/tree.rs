//! Trees of tensors: parameter structs, vectors of them, tuples.
//!
//! Differentiation, flat vectors and saving all work on any [`Tree`]: a value
//! whose tensors (its *leaves*) can be visited in a fixed order, each with a
//! path such as `field.xi` or `layers.1.w`, and rebuilt with new leaves.

use crate::error::Result;
use crate::tensor::Tensor;
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
pub struct Path(Vec<PathSegment>);

impl Path {
    /// The root (empty) path.
    pub fn root() -> Path {
        Path(Vec::new())
    }

    /// Calls `f` with this path extended by `segment`, then restores it.
    pub fn with<R>(&mut self, segment: PathSegment, f: impl FnOnce(&mut Path) -> R) -> R {
        self.0.push(segment);
        let out = f(self);
        self.0.pop();
        out
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

    /// Rebuilds the tree from leaves given in declaration order.
    ///
    /// # Panics
    /// When `leaves` does not hold exactly one tensor per leaf.
    #[track_caller]
    fn with_leaves(&self, leaves: impl IntoIterator<Item = Tensor>) -> Self {
        let mut it = leaves.into_iter();
        let out = self.map(|_| it.next().expect("with_leaves: too few leaves"));
        assert!(it.next().is_none(), "with_leaves: too many leaves");
        out
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
