//! Broadcasts walked block by block: the output's trailing axes form a
//! contiguous block in which each operand is read whole, as a shorter block
//! repeated, or as one value, and only the leading axes are walked through
//! strides. `x[None, :, :] - means[:, None, :]` is then `k` blocks of
//! `n * d` values, each a loop that vectorises, where a walk through
//! broadcast strides computed an offset per value.
//!
//! Each output value is the same function of the same operand values as
//! in any other walk, so the bits do not depend on the plan.

use crate::shape::{broadcast_strides, for_each_offset, for_each_offset_pair};
use smallvec::SmallVec;

/// How an operand's values fill one block of the output.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Inner {
    /// As many values as the block, in order.
    Whole,
    /// A run of this many values, repeated.
    Tiled(usize),
    /// One value for the whole block.
    Single,
}

impl Inner {
    /// How `dims` (an operand's shape padded to the output's rank) fills
    /// the block of `out` from axis `split` on, if it does so simply.
    fn of(dims: &[usize], out: &[usize], split: usize) -> Option<Inner> {
        let (d, o) = (&dims[split..], &out[split..]);
        if d == o {
            return Some(Inner::Whole);
        }
        let Some(first) = d.iter().position(|&x| x != 1) else {
            return Some(Inner::Single);
        };
        (d[first..] == o[first..]).then(|| Inner::Tiled(o[first..].iter().product()))
    }

    /// The operand's values one block reads.
    fn len(self, block: usize) -> usize {
        match self {
            Inner::Whole => block,
            Inner::Tiled(run) => run,
            Inner::Single => 1,
        }
    }
}

/// A broadcast of operands to `out` walked as blocks of the output's axes
/// from a split on: the leading axes' shape and each operand's strides over
/// them, the block's length and how each operand fills a block.
#[derive(Clone, Debug)]
pub(crate) struct Blocked {
    outer: SmallVec<[usize; 4]>,
    strides: [SmallVec<[usize; 4]>; 2],
    block: usize,
    inner: [Inner; 2],
}

/// Blocks shorter than this are left to the walk through strides, which
/// costs less per value than a call per block.
const MIN_BLOCK: usize = 4;

/// `dims` with leading 1s up to `rank` axes.
fn padded(dims: &[usize], rank: usize) -> SmallVec<[usize; 4]> {
    let mut p: SmallVec<[usize; 4]> = SmallVec::from_elem(1, rank - dims.len());
    p.extend_from_slice(dims);
    p
}

impl Blocked {
    /// The plan for operands of shapes `a` and `b` broadcast to `out` with
    /// the longest block both fill simply, if it is long enough.
    pub(crate) fn zip(a: &[usize], b: &[usize], out: &[usize]) -> Option<Blocked> {
        let (pa, pb) = (padded(a, out.len()), padded(b, out.len()));
        (0..out.len()).find_map(|split| {
            let inner = [Inner::of(&pa, out, split)?, Inner::of(&pb, out, split)?];
            if let [Inner::Tiled(p), Inner::Tiled(q)] = inner
                && p != q
            {
                return None;
            }
            Blocked::at(split, [a, b], out, inner)
        })
    }

    /// The plan for spreading an operand of shape `from` to `to`.
    pub(crate) fn spread(from: &[usize], to: &[usize]) -> Option<Blocked> {
        let padded = padded(from, to.len());
        (0..to.len()).find_map(|split| {
            let inner = Inner::of(&padded, to, split)?;
            Blocked::at(split, [from, from], to, [inner, inner])
        })
    }

    fn at(split: usize, operands: [&[usize]; 2], out: &[usize], inner: [Inner; 2]) -> Option<Blocked> {
        let block: usize = out[split..].iter().product();
        let strides = operands.map(|o| SmallVec::from_slice(&broadcast_strides(o, out)[..split]));
        (block >= MIN_BLOCK).then(|| Blocked {
            outer: SmallVec::from_slice(&out[..split]),
            strides,
            block,
            inner,
        })
    }

    /// `f` over the broadcast of `x` and `y`, written into `out`.
    pub(crate) fn zip_into(&self, x: &[f64], y: &[f64], out: &mut [f64], f: impl Fn(f64, f64) -> f64) {
        let [lx, ly] = self.inner.map(|i| i.len(self.block));
        let [sx, sy] = &self.strides;
        for_each_offset_pair(&self.outer, sx, sy, |i, p, q| {
            let o = &mut out[i * self.block..(i + 1) * self.block];
            zip_block(o, &x[p..p + lx], &y[q..q + ly], self.inner, &f);
        });
    }

    /// The one operand `x` spread into `out`.
    pub(crate) fn spread_into(&self, x: &[f64], out: &mut [f64]) {
        let lx = self.inner[0].len(self.block);
        for_each_offset(&self.outer, &self.strides[0], |i, p| {
            let o = &mut out[i * self.block..(i + 1) * self.block];
            match self.inner[0] {
                Inner::Whole => o.copy_from_slice(&x[p..p + lx]),
                Inner::Tiled(_) => crate::storage::tile_into(&x[p..p + lx], o),
                Inner::Single => o.fill(x[p]),
            }
        });
    }
}

/// One block of the output from the operands' values for it.
fn zip_block(out: &mut [f64], x: &[f64], y: &[f64], inner: [Inner; 2], f: &impl Fn(f64, f64) -> f64) {
    match inner {
        [Inner::Whole, Inner::Whole] => zip_run(out, x, y, f),
        [Inner::Single, Inner::Single] => out.fill(f(x[0], y[0])),
        [Inner::Whole | Inner::Tiled(_), Inner::Single] => {
            for (o, part) in out.chunks_exact_mut(x.len()).zip(std::iter::repeat(x)) {
                o.iter_mut().zip(part).for_each(|(o, &p)| *o = f(p, y[0]));
            }
        }
        [Inner::Single, Inner::Whole | Inner::Tiled(_)] => {
            for (o, part) in out.chunks_exact_mut(y.len()).zip(std::iter::repeat(y)) {
                o.iter_mut().zip(part).for_each(|(o, &q)| *o = f(x[0], q));
            }
        }
        [Inner::Whole, Inner::Tiled(run)] | [Inner::Tiled(run), Inner::Tiled(_)] => {
            for ((o, p), q) in out
                .chunks_exact_mut(run)
                .zip(x.chunks(run).cycle())
                .zip(std::iter::repeat(y))
            {
                zip_run(o, p, q, f);
            }
        }
        [Inner::Tiled(run), Inner::Whole] => {
            for ((o, q), p) in out
                .chunks_exact_mut(run)
                .zip(y.chunks_exact(run))
                .zip(std::iter::repeat(x))
            {
                zip_run(o, p, q, f);
            }
        }
    }
}

fn zip_run(out: &mut [f64], x: &[f64], y: &[f64], f: &impl Fn(f64, f64) -> f64) {
    for ((o, &p), &q) in out.iter_mut().zip(x).zip(y) {
        *o = f(p, q);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::{Shape, broadcast_shapes};

    /// `f` at each output position through broadcast strides, one value at a
    /// time: the reference walk.
    fn strided(a: &[usize], b: &[usize], x: &[f64], y: &[f64], f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
        let out = broadcast_shapes(a, b).unwrap();
        let mut values = vec![0.0; out.numel()];
        let (sa, sb) = (broadcast_strides(a, &out), broadcast_strides(b, &out));
        for_each_offset_pair(&out, &sa, &sb, |i, p, q| values[i] = f(x[p], y[q]));
        values
    }

    #[test]
    fn blocks_visit_every_value_as_the_strides_do() {
        let cases: [(&[usize], &[usize]); 8] = [
            (&[1, 6, 5], &[4, 1, 5]),
            (&[4, 6, 5], &[4, 1, 1]),
            (&[4, 1, 1], &[4, 6, 5]),
            (&[3, 1, 6, 5], &[7, 1, 5]),
            (&[6, 5], &[4, 1, 1]),
            (&[4, 6, 1], &[1, 6, 1]),
            (&[5, 8], &[5, 1]),
            (&[2, 1, 8], &[1, 3, 8]),
        ];
        let f = |p: f64, q: f64| p * 2.0 - q / 3.0;
        for (a, b) in cases {
            let out = broadcast_shapes(a, b).unwrap();
            let plan = Blocked::zip(a, b, &out).unwrap_or_else(|| panic!("{a:?} with {b:?}"));
            let values = |shape: &[usize], shift: f64| -> Vec<f64> {
                (0..Shape::from(shape).numel())
                    .map(|i| (i as f64 * 0.7 + shift).sin())
                    .collect()
            };
            let (x, y) = (values(a, 0.0), values(b, 1.0));
            let mut blocked = vec![f64::NAN; out.numel()];
            plan.zip_into(&x, &y, &mut blocked, f);
            assert_eq!(blocked, strided(a, b, &x, &y, f), "{a:?} with {b:?}");
            let mut spread = vec![f64::NAN; out.numel()];
            if let Some(plan) = Blocked::spread(a, &out) {
                plan.spread_into(&x, &mut spread);
                assert_eq!(spread, strided(a, b, &x, &y, |p, _| p), "{a:?} spread to {out:?}");
            }
        }
    }

    #[test]
    fn short_blocks_are_left_to_the_strides() {
        // Only blocks of 2 values fit here (the last axis, where the
        // second operand is one value); with a longer last axis they do.
        assert!(Blocked::zip(&[3, 1, 2], &[1, 4, 1], &[3, 4, 2]).is_none());
        assert!(Blocked::zip(&[3, 1, 4], &[1, 4, 1], &[3, 4, 4]).is_some());
    }
}
