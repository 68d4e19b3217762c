//! Shapes, strides and the one NumPy broadcasting rule every binary op uses.

use smallvec::SmallVec;
use std::fmt;

/// The dimensions of a tensor, outermost first; a scalar has no dimensions.
///
/// ```
/// use jaxpurify_runtime::Shape;
/// let s = Shape::from([2, 3]);
/// assert_eq!(s.numel(), 6);
/// assert_eq!(s.to_string(), "[2, 3]");
/// ```
#[derive(PartialEq, Eq, Hash, Default)]
pub struct Shape(SmallVec<[usize; 4]>);

impl Clone for Shape {
    /// A plain copy of the dimensions (`SmallVec`'s own `clone` goes through
    /// a generic `extend`, several times slower on this hot path).
    fn clone(&self) -> Shape {
        Shape(SmallVec::from_slice(&self.0))
    }
}

impl Shape {
    /// The shape of a scalar, `[]`.
    pub fn scalar() -> Shape {
        Shape(SmallVec::new())
    }

    /// The dimensions as a slice.
    pub fn dims(&self) -> &[usize] {
        &self.0
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.0.len()
    }

    /// Number of elements (1 for a scalar).
    pub fn numel(&self) -> usize {
        self.0.iter().product()
    }

    /// Row-major (C order) strides in elements.
    pub fn strides(&self) -> SmallVec<[usize; 4]> {
        let mut strides: SmallVec<[usize; 4]> = SmallVec::from_elem(1, self.0.len());
        for i in (0..self.0.len().saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * self.0[i + 1];
        }
        strides
    }

    pub(crate) fn push(&mut self, d: usize) {
        self.0.push(d);
    }
}

impl std::ops::Deref for Shape {
    type Target = [usize];
    fn deref(&self) -> &[usize] {
        &self.0
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.dims())
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.dims())
    }
}

impl From<&[usize]> for Shape {
    fn from(d: &[usize]) -> Shape {
        Shape(SmallVec::from_slice(d))
    }
}

impl From<Vec<usize>> for Shape {
    fn from(d: Vec<usize>) -> Shape {
        Shape(SmallVec::from_vec(d))
    }
}

impl From<&Vec<usize>> for Shape {
    fn from(d: &Vec<usize>) -> Shape {
        Shape::from(d.as_slice())
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(d: [usize; N]) -> Shape {
        Shape(SmallVec::from_slice(&d))
    }
}

impl<const N: usize> From<&[usize; N]> for Shape {
    fn from(d: &[usize; N]) -> Shape {
        Shape(SmallVec::from_slice(d))
    }
}

impl From<usize> for Shape {
    fn from(n: usize) -> Shape {
        Shape(SmallVec::from_slice(&[n]))
    }
}

impl From<()> for Shape {
    fn from(_: ()) -> Shape {
        Shape::scalar()
    }
}

impl From<(usize, usize)> for Shape {
    fn from((a, b): (usize, usize)) -> Shape {
        Shape::from([a, b])
    }
}

impl From<(usize, usize, usize)> for Shape {
    fn from((a, b, c): (usize, usize, usize)) -> Shape {
        Shape::from([a, b, c])
    }
}

impl From<&Shape> for Shape {
    fn from(s: &Shape) -> Shape {
        s.clone()
    }
}

impl PartialEq<[usize]> for Shape {
    fn eq(&self, other: &[usize]) -> bool {
        self.dims() == other
    }
}

impl<const N: usize> PartialEq<[usize; N]> for Shape {
    fn eq(&self, other: &[usize; N]) -> bool {
        self.dims() == other
    }
}

/// The shape NumPy broadcasting gives two shapes, or `None` when they do not
/// broadcast. Dimensions are aligned from the right; a dimension of 1 stretches.
///
/// ```
/// use jaxpurify_runtime::{broadcast_shapes, Shape};
/// assert_eq!(broadcast_shapes(&[3, 1], &[4]), Some(Shape::from([3, 4])));
/// assert_eq!(broadcast_shapes(&[3], &[4]), None);
/// ```
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Shape> {
    let n = a.len().max(b.len());
    let mut out = Shape(SmallVec::from_elem(0, n));
    for i in 0..n {
        let da = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
        let db = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
        out.0[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Whether `from` broadcasts to `to` unchanged (each trailing dimension equal
/// or 1): `broadcast_shapes(from, to) == Some(to)` without building a shape.
pub(crate) fn broadcasts_to(from: &[usize], to: &[usize]) -> bool {
    from.len() <= to.len()
        && from
            .iter()
            .rev()
            .zip(to.iter().rev())
            .all(|(&f, &t)| f == t || f == 1)
}

/// Strides that read a tensor of shape `from` as if it had the broadcast shape
/// `to`: stretched dimensions get stride 0.
pub(crate) fn broadcast_strides(from: &[usize], to: &[usize]) -> SmallVec<[usize; 4]> {
    let own = Shape::from(from).strides();
    let offset = to.len() - from.len();
    let mut strides: SmallVec<[usize; 4]> = SmallVec::from_elem(0, to.len());
    for (i, (&d, &s)) in from.iter().zip(own.iter()).enumerate() {
        strides[i + offset] = if d == 1 { 0 } else { s };
    }
    strides
}

/// Whether broadcasting `small` to `big` repeats it whole, block after
/// block: `small`, without its leading 1s, is a non-empty trailing part of
/// `big` (a bias added to every row of a batch). Then `big`'s values are
/// `small`'s, tiled, and no index arithmetic is needed.
pub(crate) fn tiles_into(small: &[usize], big: &[usize]) -> bool {
    let first = small.iter().position(|&d| d != 1).unwrap_or(small.len());
    let trailing = &small[first..];
    small.len() <= big.len() && big.ends_with(trailing) && !small.contains(&0) && !big.contains(&0)
}

/// Calls `f(i, o)` for every row-major position `i` of `full` with the
/// position `o` of its group in `reduced` (a shape that broadcasts to
/// `full`: its reduced axes set to 1). When the reduced axes follow each
/// other (the last ones, the first ones, or a run between), three plain
/// loops visit the groups, with no strides to build; otherwise
/// [`for_each_offset`] reads through broadcast strides. All visit `i` in
/// the same order.
pub(crate) fn for_each_grouped(full: &[usize], reduced: &[usize], mut f: impl FnMut(usize, usize)) {
    let pad = full.len() - reduced.len();
    let kept = |a: usize| if a < pad { 1 } else { reduced[a - pad] };
    let summed = |a: &usize| full[*a] != kept(*a);
    let size = |axes: &[usize]| axes.iter().product::<usize>();
    let Some(first) = (0..full.len()).find(summed) else {
        (0..size(full)).for_each(|i| f(i, i));
        return;
    };
    let last = (first..full.len()).rev().find(summed).unwrap_or(first);
    if (first..=last).all(|a| kept(a) == 1) {
        let (outer, run, inner) = (
            size(&full[..first]),
            size(&full[first..=last]),
            size(&full[last + 1..]),
        );
        let mut i = 0;
        for group in (0..outer).map(|a| a * inner) {
            for _ in 0..run {
                for b in 0..inner {
                    f(i, group + b);
                    i += 1;
                }
            }
        }
        return;
    }
    for_each_offset(full, &broadcast_strides(reduced, full), f);
}

/// Calls `f(i, offset)` for every row-major position `i` of `shape`, where
/// `offset` is the position read through `strides`. The innermost dimension
/// is a plain loop so the common cases stay fast.
pub(crate) fn for_each_offset(shape: &[usize], strides: &[usize], mut f: impl FnMut(usize, usize)) {
    let none: SmallVec<[usize; 4]> = SmallVec::from_elem(0, shape.len());
    for_each_offset_pair(shape, strides, &none, |i, o, _| f(i, o));
}

/// Calls `f(i, p, q)` for every row-major position `i` of `shape`, with the
/// positions `p` and `q` read through two sets of strides: the walk of
/// [`for_each_offset`] for two inputs at once.
pub(crate) fn for_each_offset_pair(
    shape: &[usize],
    left: &[usize],
    right: &[usize],
    mut f: impl FnMut(usize, usize, usize),
) {
    let numel: usize = shape.iter().product();
    if numel == 0 {
        return;
    }
    if shape.is_empty() {
        f(0, 0, 0);
        return;
    }
    let nd = shape.len();
    let (inner, ls, rs) = (shape[nd - 1], left[nd - 1], right[nd - 1]);
    let mut index: SmallVec<[usize; 4]> = SmallVec::from_elem(0, nd);
    let (mut p, mut q, mut i) = (0, 0, 0);
    loop {
        for k in 0..inner {
            f(i + k, p + k * ls, q + k * rs);
        }
        i += inner;
        if i == numel {
            return;
        }
        let mut axis = nd - 1;
        loop {
            axis -= 1;
            index[axis] += 1;
            p += left[axis];
            q += right[axis];
            if index[axis] < shape[axis] {
                break;
            }
            p -= left[axis] * shape[axis];
            q -= right[axis] * shape[axis];
            index[axis] = 0;
        }
    }
}

/// Resolves a possibly negative axis against `ndim`, panicking with the op's
/// name when it is out of range.
#[track_caller]
pub(crate) fn normalize_axis(axis: isize, ndim: usize, op: &str) -> usize {
    let n = ndim as isize;
    let a = if axis < 0 { axis + n } else { axis };
    assert!(
        (0..n).contains(&a),
        "{op}: axis {axis} is out of range for a tensor with {ndim} dimensions"
    );
    a as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_visits_match_broadcast_strides() {
        // Reduced axes that follow each other (last, first, between, or
        // none) take the plain loops, the others the strides; both must
        // visit the same (i, o) pairs in the same order.
        let cases: [(&[usize], &[usize]); 11] = [
            (&[2, 3, 4], &[2, 1, 1]),
            (&[2, 3, 4], &[2, 3, 1]),
            (&[2, 3, 4], &[1, 3, 1]),
            (&[2, 3, 4], &[1, 1, 4]),
            (&[2, 3, 4], &[2, 1, 4]),
            (&[2, 3, 4], &[3, 4]),
            (&[2, 3, 4, 5], &[2, 1, 1, 5]),
            (&[2, 3, 4], &[2, 3, 4]),
            (&[2, 1, 4], &[1, 1, 4]),
            (&[2, 0, 3], &[2, 1, 1]),
            (&[], &[]),
        ];
        for (full, reduced) in cases {
            let (mut grouped, mut strided) = (Vec::new(), Vec::new());
            for_each_grouped(full, reduced, |i, o| grouped.push((i, o)));
            for_each_offset(full, &broadcast_strides(reduced, full), |i, o| {
                strided.push((i, o))
            });
            assert_eq!(grouped, strided, "{full:?} onto {reduced:?}");
        }
    }

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shapes(&[], &[2, 3]), Some(Shape::from([2, 3])));
        assert_eq!(
            broadcast_shapes(&[2, 1, 4], &[3, 1]),
            Some(Shape::from([2, 3, 4]))
        );
        assert_eq!(broadcast_shapes(&[2, 3], &[3, 2]), None);
        assert_eq!(broadcast_shapes(&[0], &[1]), Some(Shape::from([0])));
    }

    #[test]
    fn offsets_walk_broadcast_strides() {
        // A [2, 1] tensor read as [2, 3] repeats each row value three times.
        let strides = broadcast_strides(&[2, 1], &[2, 3]);
        let mut seen = vec![];
        for_each_offset(&[2, 3], &strides, |i, o| seen.push((i, o)));
        assert_eq!(seen, vec![(0, 0), (1, 0), (2, 0), (3, 1), (4, 1), (5, 1)]);
    }

    #[test]
    fn strides_are_row_major() {
        assert_eq!(Shape::from([2, 3, 4]).strides().as_slice(), &[12, 4, 1]);
        assert!(Shape::scalar().strides().is_empty());
    }
}
