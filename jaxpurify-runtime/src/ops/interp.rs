//! Piecewise-linear interpolation ([`interp`]) with NumPy's semantics.
//!
//! Each query is located by binary search (after a guess for evenly spaced
//! knots), so `q` queries on a grid of `n` knots cost `O(q log n)` plus one
//! `O(n)` pass that checks the grid is sorted (an unsorted grid would
//! silently give nonsense, as it does in NumPy, so it is rejected instead).

use crate::autodiff::graph::{apply_constant, apply_op};
use crate::compile::check::check;
use crate::compile::kernel::Kernel;
use crate::error::Error;
use crate::ops::compare::where_;
use crate::ops::layout::concatenate;
use crate::ops::take::{scatter_unchecked, take_unchecked};
use crate::tensor::Tensor;
use smallvec::smallvec;

/// NumPy's `interp`: the piecewise-linear function through the knots
/// `(xp[i], fp[i])`, evaluated at each element of `x` (any shape; the result
/// has that shape). Outside the grid it is constant: `fp[0]` below `xp[0]`
/// and `fp[n - 1]` at or above `xp[n - 1]`. A NaN query gives NaN.
///
/// `xp` must be non-decreasing (repeated knots make a jump, and a query at
/// a repeated knot takes the value of its last copy, as in NumPy). Each query
/// is located by binary search: `O(q log n)` for `q` queries on `n` knots.
///
/// Derivatives, with the query in the piece `xp[j] <= x < xp[j + 1]`,
/// `t = (x - xp[j]) / (xp[j + 1] - xp[j])` and `s` that piece's slope:
/// - in `x`: `s`, and 0 outside the grid. At a knot the derivative is taken
///   from the piece to its right (pieces are closed on the left), so at
///   `xp[0]` it is the first slope and at `xp[n - 1]` it is 0.
/// - in `fp`: `1 - t` for `fp[j]` and `t` for `fp[j + 1]` (1 for the end
///   value outside the grid); scattered back with repeats accumulated.
/// - in `xp`: moving a knot shifts its piece sideways, so the value changes
///   by `-s (1 - t)` per unit of `xp[j]` and `-s t` per unit of `xp[j + 1]`;
///   0 outside the grid, where the value does not depend on knot positions.
///
/// These rules are written with differentiable ops, so every order of
/// derivative follows. A NaN query makes the gradients of `xp` and `fp` NaN.
///
/// ```
/// use jaxpurify_runtime::{grad, interp, Tensor};
/// let (xp, fp) = (Tensor::from([0.0, 1.0, 3.0]), Tensor::from([1.0, 3.0, -1.0]));
/// let x = Tensor::from([-1.0, 0.5, 2.0, 5.0]);
/// assert_eq!(interp(&x, &xp, &fp).to_vec(), vec![1.0, 2.0, 1.0, -1.0]);
/// // Slopes: 0 below the grid, 2 on the first piece, -2 on the second, 0 above.
/// let dx = grad(|x: &Tensor| interp(x, &xp, &fp).sum(), &x);
/// assert_eq!(dx.to_vec(), vec![0.0, 2.0, -2.0, 0.0]);
/// ```
///
/// # Panics
/// When `xp` and `fp` are not 1-d of one non-zero length, or `xp` is not
/// sorted (or holds NaN).
///
/// Queries, knots and values may all depend on a
/// [`compile`](crate::compile())d function's inputs: the program finds each
/// query's piece again on every call (for the value and for the
/// derivatives), and checks that the knots are sorted, returning that
/// error where the direct call panics.
#[track_caller]
pub fn interp(x: &Tensor, xp: &Tensor, fp: &Tensor) -> Tensor {
    check_grid(xp, fp);
    apply_op(&Interp, &[x, xp, fp], x.shape().clone(), interp_grads)
}

/// The kernel of [`interp`]: queries, knots, values.
#[derive(Clone)]
struct Interp;

impl Kernel for Interp {
    fn name(&self) -> &'static str {
        "interp"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let (queries, knots, values) = (inputs[0], inputs[1], inputs[2]);
        for (o, &q) in out.iter_mut().zip(queries) {
            *o = Piece::locate(knots, q).value(knots, values, q);
        }
    }
}

/// Rejects grids NumPy would raise on or silently misuse.
#[track_caller]
fn check_grid(xp: &Tensor, fp: &Tensor) {
    assert!(
        xp.ndim() == 1 && fp.ndim() == 1 && xp.numel() == fp.numel(),
        "interp: xp and fp must be 1-d of one length, got shapes {} and {}",
        xp.shape(),
        fp.shape()
    );
    assert!(
        !xp.is_empty(),
        "interp: xp and fp are empty (shape {})",
        xp.shape()
    );
    // One comparison per knot on the fast path: `a <= b` is false when
    // either is NaN, so only a lone knot needs its own NaN test. A fold
    // without early exit vectorizes, which makes it the faster check on a
    // grid that is sorted, the case that matters.
    let shape = xp.shape().clone();
    let sorted = check("interp", &[xp], move |values| {
        let knots = values[0];
        match knots[0].is_nan() || !knots.windows(2).fold(true, |sorted, w| sorted & (w[0] <= w[1])) {
            true => Err(grid_error(knots, &shape)),
            false => Ok(()),
        }
    });
    if let Err(e) = sorted {
        panic!("{e}");
    }
}

/// The error naming the first NaN knot, else the first descent.
fn grid_error(knots: &[f64], shape: &crate::Shape) -> Error {
    let message = match knots.iter().position(|k| k.is_nan()) {
        Some(i) => format!("xp[{i}] is NaN (shape {shape})"),
        None => {
            let i = (1..knots.len())
                .find(|&i| knots[i] < knots[i - 1])
                .expect("a grid is rejected for a NaN or a descent");
            format!(
                "xp must be increasing, but xp[{i}] = {} < xp[{}] = {} (shape {shape})",
                knots[i],
                i - 1,
                knots[i - 1]
            )
        }
    };
    Error::InvalidArgument {
        op: "interp",
        message,
    }
}

/// Where one query falls: between knots `lower` and `upper`. Outside the grid
/// both are the end knot whose value is taken, and `inside` is false.
#[derive(Clone, Copy)]
struct Piece {
    lower: usize,
    upper: usize,
    inside: bool,
}

/// The number of `knots` at or below `q` (sorted knots, `q` not NaN). The
/// position `q` would have if the knots were evenly spaced is tried first:
/// on a grid such as `linspace` it is right, and checking it against its two
/// knots costs less than the binary search that decides every other case.
fn count_at_or_below(knots: &[f64], q: f64) -> usize {
    let n = knots.len();
    let (first, last) = (knots[0], knots[n - 1]);
    if n > 2 && first < q && q < last {
        // In [0, n - 1) for finite ends; anything else fails the check below.
        let guess = (((q - first) / (last - first)) * (n - 1) as f64) as usize;
        let g = guess.min(n - 2);
        if knots[g] <= q && q < knots[g + 1] {
            return g + 1;
        }
    }
    knots.partition_point(|&k| k <= q)
}

impl Piece {
    /// The piece of the sorted, NaN-free `knots` that holds `q`.
    fn locate(knots: &[f64], q: f64) -> Piece {
        let last = knots.len() - 1;
        if q.is_nan() {
            // The interpolation formula turns NaN into NaN, values and gradients.
            return Piece {
                lower: 0,
                upper: last.min(1),
                inside: true,
            };
        }
        match count_at_or_below(knots, q) {
            0 => Piece::end(0),
            n if n == knots.len() => Piece::end(last),
            n => Piece {
                lower: n - 1,
                upper: n,
                inside: true,
            },
        }
    }

    fn end(knot: usize) -> Piece {
        Piece {
            lower: knot,
            upper: knot,
            inside: false,
        }
    }

    /// NumPy's formula, `fp[j] + slope (q - xp[j])`, exact at the knot itself.
    fn value(&self, knots: &[f64], values: &[f64], q: f64) -> f64 {
        let (j, k) = (self.lower, self.upper);
        if !self.inside || knots[j] == q {
            return values[j];
        }
        let slope = (values[k] - values[j]) / (knots[k] - knots[j]);
        slope * (q - knots[j]) + values[j]
    }
}

/// Every query's piece, for the derivative rule: the knot positions below
/// and above and a mask of the queries inside the grid, as the three rows
/// of a `[3, queries]` tensor. An op with zero derivative, so that a
/// compiled program finds the pieces again for the queries and knots of
/// each call.
fn brackets(x: &Tensor, xp: &Tensor) -> (Tensor, Tensor, Tensor) {
    let b = apply_constant(&InterpBrackets, &[x, xp], crate::Shape::from([3, x.numel()]));
    (b.select(0, 0), b.select(0, 1), b.select(0, 2))
}

/// The kernel of [`brackets`]: queries, knots.
#[derive(Clone)]
struct InterpBrackets;

impl Kernel for InterpBrackets {
    fn name(&self) -> &'static str {
        "interp_brackets"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let (queries, knots) = (inputs[0], inputs[1]);
        let q = queries.len();
        let (lower, rest) = out.split_at_mut(q);
        let (upper, inside) = rest.split_at_mut(q);
        for (k, &query) in queries.iter().enumerate() {
            let piece = Piece::locate(knots, query);
            lower[k] = piece.lower as f64;
            upper[k] = piece.upper as f64;
            inside[k] = f64::from(piece.inside);
        }
    }
}

/// Gradients of `f = fp[j] + (fp[k] - fp[j]) t`, `t = (x - xp[j]) / (xp[k] - xp[j])`
/// for each query's piece `(j, k)`. Outside the grid `j = k`, `t` is forced
/// to 0 and the width to 1, so no 0/0 appears and the slope is exactly 0.
fn interp_grads(c: &crate::Ctx) -> crate::Grads {
    let [x, xp, fp] = [&c.inputs[0], &c.inputs[1], &c.inputs[2]];
    let queries = x.numel();
    let g = c.grad.reshape([queries]);
    let constant = |i: usize| !c.needs(i) && !c.inputs[i].is_tracked();
    if constant(0) && constant(1) {
        // Fixed queries and knots (at this level and every outer one), as
        // when reading a field out at data points: the weights are
        // constants, so one op scatters them.
        return smallvec![None, None, Some(spread_onto_knots(&g, x, xp))];
    }
    let flat_x = x.reshape([queries]);
    let (lower, upper, inside) = brackets(&flat_x, xp);
    let x_low = take_unchecked(xp, &lower);
    let width = where_(&inside, take_unchecked(xp, &upper) - &x_low, 1.0);
    let needs_slope = c.needs(0) || c.needs(1);
    // df/dx = slope; the knot values enter only through it.
    let slope = needs_slope.then(|| (take_unchecked(fp, &upper) - take_unchecked(fp, &lower)) / &width);
    let dx = c
        .needs(0)
        .then(|| (&g * slope.as_ref().expect("slope")).reshape(x.shape()));
    if !(c.needs(1) || c.needs(2)) {
        return smallvec![dx, None, None];
    }
    // Each query puts weight g (1 - t) on knot j and g t on knot k.
    let t = (where_(&inside, &flat_x, &x_low) - &x_low) / &width;
    let weight_upper = &g * &t;
    let weights = concatenate(&[&g - &weight_upper, weight_upper], 0);
    let knots = concatenate(&[lower, upper], 0);
    let n = xp.numel();
    // df/dxp[j] = -slope (1 - t), df/dxp[k] = -slope t: the fp weights times -slope.
    let dxp = c.needs(1).then(|| {
        let slope = slope.expect("slope");
        -scatter_unchecked(&(&weights * concatenate(&[&slope, &slope], 0)), &knots, n)
    });
    let dfp = c.needs(2).then(|| scatter_unchecked(&weights, &knots, n));
    smallvec![dx, dxp, dfp]
}

/// `g (1 - t)` added to knot `j` and `g t` to knot `k` for every query's
/// piece `(j, k)`, with the constant weights of fixed queries `x` on fixed
/// knots `xp`: the gradient in `fp` of [`interp`], as one op. It is the
/// transpose of `fp -> interp(x, xp, fp)` (linear in `fp`), so its own
/// derivative is that interpolation of the incoming gradient. Sums run in
/// the order of the general rule (every lower weight, then every upper), so
/// both give the same bits.
fn spread_onto_knots(g: &Tensor, x: &Tensor, xp: &Tensor) -> Tensor {
    // Untracked: reading them decides nothing a program would repeat.
    let (queries, knots) = (x.data(), xp.data());
    let pieces: Vec<Piece> = queries.iter().map(|&q| Piece::locate(knots, q)).collect();
    let upper_shares: Vec<f64> = pieces
        .iter()
        .zip(queries)
        .map(|(p, &q)| match p.inside {
            true => (q - knots[p.lower]) / (knots[p.upper] - knots[p.lower]),
            false => 0.0,
        })
        .collect();
    let kernel = SpreadOntoKnots {
        lower: pieces.iter().map(|p| p.lower).collect(),
        upper: pieces.iter().map(|p| p.upper).collect(),
        upper_shares: upper_shares.into(),
    };
    let (x, xp) = (x.reshape([x.numel()]), xp.clone());
    apply_op(&kernel, &[g], xp.shape().clone(), move |c| {
        smallvec![Some(interp(&x, &xp, c.grad))]
    })
}

/// The kernel of [`spread_onto_knots`]: each query's piece and the share
/// `t` of its weight that goes to the upper knot.
#[derive(Clone)]
struct SpreadOntoKnots {
    lower: std::sync::Arc<[usize]>,
    upper: std::sync::Arc<[usize]>,
    upper_shares: std::sync::Arc<[f64]>,
}

impl Kernel for SpreadOntoKnots {
    fn name(&self) -> &'static str {
        "interp_adjoint"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let g = inputs[0];
        out.fill(0.0);
        for ((&j, &g), &t) in self.lower.iter().zip(g).zip(self.upper_shares.iter()) {
            out[j] += g - g * t;
        }
        for ((&k, &g), &t) in self.upper.iter().zip(g).zip(self.upper_shares.iter()) {
            out[k] += g * t;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grad;
    use crate::testing::{check_grad, jvp_vjp_pair};
    use proptest::prelude::*;

    /// Four knots with slopes 2, -2 and 1 between them.
    fn grid() -> (Tensor, Tensor) {
        (
            Tensor::from([0.0, 1.0, 3.0, 4.5]),
            Tensor::from([1.0, 3.0, -1.0, 0.5]),
        )
    }

    fn assert_close(actual: &Tensor, expected: &[f64]) {
        assert_eq!(actual.numel(), expected.len());
        for (a, e) in actual.as_slice().iter().zip(expected) {
            assert!(
                (a - e).abs() <= 1e-12 * e.abs().max(1.0),
                "{actual:?} vs {expected:?}"
            );
        }
    }

    #[test]
    fn values_match_numpy_for_any_query_shape() {
        let (xp, fp) = grid();
        let x = Tensor::from([[-1.0, 0.0, 0.25], [1.0, 2.2, 4.5], [7.0, 3.0, 4.0]]);
        let y = interp(&x, &xp, &fp);
        assert_eq!(y.shape(), &[3, 3]);
        // np.interp([[-1, 0, .25], [1, 2.2, 4.5], [7, 3, 4]], [0, 1, 3, 4.5], [1, 3, -1, .5])
        assert_close(&y, &[1.0, 1.0, 1.5, 3.0, 0.5999999999999996, 0.5, 0.5, -1.0, 0.0]);
        // np.interp([nan, -inf, inf], ...) = [nan, 1, 0.5]
        let y = interp(
            &Tensor::from([f64::NAN, f64::NEG_INFINITY, f64::INFINITY]),
            &xp,
            &fp,
        );
        assert!(y.as_slice()[0].is_nan());
        assert_eq!(&y.to_vec()[1..], &[1.0, 0.5]);
        assert_eq!(interp(&Tensor::scalar(0.5), &xp, &fp).shape(), &[]);
    }

    #[test]
    fn repeated_knots_and_single_knots_follow_numpy() {
        // np.interp([1, 1, 1.5, 2], [1, 1, 2], [0, 5, 7]) = [5, 5, 6, 7]: a
        // query at a repeated knot takes the value of its last copy.
        let y = interp(
            &Tensor::from([1.0, 1.0, 1.5, 2.0]),
            &Tensor::from([1.0, 1.0, 2.0]),
            &Tensor::from([0.0, 5.0, 7.0]),
        );
        assert_eq!(y.to_vec(), vec![5.0, 5.0, 6.0, 7.0]);
        // np.interp([1, 2, 3], [2], [5]) = [5, 5, 5]; all the weight is on fp[0].
        let (x, xp, fp) = (
            Tensor::from([1.0, 2.0, 3.0]),
            Tensor::from([2.0]),
            Tensor::from([5.0]),
        );
        assert_eq!(interp(&x, &xp, &fp).to_vec(), vec![5.0; 3]);
        let dfp = grad(|fp: &Tensor| interp(&x, &xp, fp).sum(), &fp);
        assert_eq!(dfp.to_vec(), vec![3.0]);
    }

    #[test]
    fn hand_derived_gradients_in_every_argument() {
        // Queries 0.5 (piece 0: t = 0.5, slope 2), 2 (piece 1: t = 0.5,
        // slope -2) and 5 (above: fp[3]); L = sum(w f) with w = [1, 2, 3].
        // dL/dx = w slope = [2, -4, 0].
        // dL/dfp: [w0 (1 - t0), w0 t0 + w1 (1 - t1), w1 t1, w2] = [0.5, 1.5, 1, 3].
        // dL/dxp = -slope * (the same weights, per query):
        // [-2 (0.5), -2 (0.5) + 2 (1), 2 (1), 0] = [-1, 1, 2, 0].
        let (xp, fp) = grid();
        let (x, w) = (Tensor::from([0.5, 2.0, 5.0]), Tensor::from([1.0, 2.0, 3.0]));
        let g = grad(
            |p: &Vec<Tensor>| (interp(&p[0], &p[1], &p[2]) * &w).sum(),
            &vec![x, xp, fp],
        );
        assert_close(&g[0], &[2.0, -4.0, 0.0]);
        assert_close(&g[1], &[-1.0, 1.0, 2.0, 0.0]);
        assert_close(&g[2], &[0.5, 1.5, 1.0, 3.0]);
    }

    #[test]
    fn fixed_queries_and_knots_give_the_general_rules_gradient_in_fp() {
        // With x and xp constant the gradient in fp takes its own op; it
        // must give the general rule's bits, repeated knots, queries outside
        // the grid and queries sharing a knot included, and pass the check
        // to second order (its rule is the interpolation itself).
        let (xp, fp) = (
            Tensor::from([0.0, 1.0, 1.0, 3.0, 4.5]),
            Tensor::from([1.0, 3.0, -2.0, -1.0, 0.5]),
        );
        let x = Tensor::from([[-1.0, 0.3, 1.0], [2.0, 2.5, 9.0]]);
        let w = Tensor::from([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]]);
        let fixed = grad(|fp: &Tensor| (interp(&x, &xp, fp) * &w).sum(), &fp);
        let general = grad(
            |p: &Vec<Tensor>| (interp(&p[0], &xp, &p[1]) * &w).sum(),
            &vec![x.clone(), fp.clone()],
        );
        assert_eq!(fixed, general[1]);
        let squared = |fp: &Tensor| (interp(&x, &xp, fp).square() * &w).sum();
        check_grad(|v| grad(squared, &v[0]), &[fp]).assert_ok_for("second order in fp on a fixed grid");
    }

    #[test]
    fn at_a_knot_the_derivative_is_the_right_pieces_slope() {
        // Knots 0, 1, 4.5 with right-hand slopes 2, -2 and (at the last knot) 0.
        let (xp, fp) = grid();
        let x = Tensor::from([0.0, 1.0, 4.5]);
        let dx = grad(|x: &Tensor| interp(x, &xp, &fp).sum(), &x);
        assert_eq!(dx.to_vec(), vec![2.0, -2.0, 0.0]);
    }

    #[test]
    fn gradients_match_central_differences_inside_and_outside_the_grid() {
        let (xp, fp) = grid();
        let x = Tensor::from([[-2.0, 0.3, 0.9], [1.7, 3.2, 4.4], [4.6, 9.0, 2.5]]);
        check_grad(|v| interp(&v[0], &v[1], &v[2]), &[x, xp, fp]).assert_ok_for("interp");
        // Entirely outside: constant in x and xp, weight 1 on an end value.
        let outside = Tensor::from([-3.0, -0.1, 4.51, 8.0]);
        check_grad(|v| interp(&v[0], &v[1], &v[2]), &[outside, grid().0, grid().1])
            .assert_ok_for("interp outside the grid");
    }

    #[test]
    fn second_derivatives_in_every_argument() {
        // f = sum(w interp^2) couples all three arguments: d2f/dx dfp and
        // d2f/dxp dfp are non-zero, so each rule must itself be recorded.
        let (xp, fp) = grid();
        let x = Tensor::from([-0.5, 0.3, 1.7, 3.2, 4.4, 6.0]);
        let w = Tensor::linspace(1.0, 2.0, 6);
        let gradient = |v: &[Tensor]| {
            let g = grad(
                |p: &Vec<Tensor>| {
                    let y = interp(&p[0], &p[1], &p[2]);
                    (&y * &y * &w).sum()
                },
                &v.to_vec(),
            );
            concatenate(&g, 0)
        };
        check_grad(gradient, &[x, xp, fp]).assert_ok_for("interp''");
    }

    #[test]
    fn forward_mode_agrees_with_reverse_mode() {
        // <u, J v> = <J^T u, v> over all three arguments at once.
        let (xp, fp) = grid();
        let point = vec![Tensor::from([0.3, 2.0, 3.9, -1.0]), xp, fp];
        let tangent = vec![
            Tensor::from([1.0, -0.5, 0.3, 2.0]),
            Tensor::from([0.2, -0.1, 0.4, 0.3]),
            Tensor::from([0.5, 1.0, -1.0, 2.0]),
        ];
        let f = |p: &Vec<Tensor>| interp(&p[0], &p[1], &p[2]);
        let (forward, reverse) = jvp_vjp_pair(f, &point, &tangent);
        assert!((forward - reverse).abs() < 1e-12, "{forward} vs {reverse}");
    }

    #[test]
    fn many_queries_on_a_long_grid_match_a_linear_scan() {
        // 100 queries on 10^4 knots of sin; each query's weights sum to one,
        // so the gradient in fp sums to the number of queries.
        let xp = Tensor::linspace(0.0, 10.0, 10_000).map_values(|v| v + 0.01 * v.sin());
        let fp = xp.map_values(f64::sin);
        let x = Tensor::linspace(-0.5, 10.5, 100);
        let y = interp(&x, &xp, &fp);
        let (knots, values) = (xp.as_slice(), fp.as_slice());
        for (&q, &v) in x.as_slice().iter().zip(y.as_slice()) {
            let expected = match knots.iter().position(|&k| k > q) {
                Some(0) => values[0],
                None => values[knots.len() - 1],
                Some(k) => {
                    values[k - 1]
                        + (values[k] - values[k - 1]) * (q - knots[k - 1]) / (knots[k] - knots[k - 1])
                }
            };
            assert!((v - expected).abs() < 1e-12, "at {q}: {v} vs {expected}");
        }
        let dfp = grad(|fp: &Tensor| interp(&x, &xp, fp).sum(), &fp);
        assert!((dfp.sum().item() - 100.0).abs() < 1e-9);
    }

    proptest! {
        #[test]
        fn the_guessed_piece_is_the_binary_searchs(
            steps in proptest::collection::vec(prop_oneof![Just(0.0), 0.001f64..3.0], 1..40),
            start in -5.0f64..5.0,
            queries in proptest::collection::vec(-10.0f64..80.0, 1..40),
        ) {
            // Repeated knots (steps of 0), uneven and even spacing, queries
            // outside, inside and on the knots themselves.
            let knots: Vec<f64> = std::iter::once(start)
                .chain(steps.iter().scan(start, |x, s| { *x += s; Some(*x) }))
                .collect();
            let on_knots = knots.iter().copied();
            let grid: Vec<f64> = (0..knots.len()).map(|i| start + 0.5 * i as f64).collect();
            for q in queries.iter().copied().chain(on_knots) {
                let expected = knots.partition_point(|&k| k <= q);
                prop_assert_eq!(super::count_at_or_below(&knots, q), expected);
                let on_grid = grid.partition_point(|&k| k <= q);
                prop_assert_eq!(super::count_at_or_below(&grid, q), on_grid);
            }
        }

        #[test]
        fn interp_at_the_knots_returns_fp(
            steps in proptest::collection::vec(0.01f64..2.0, 2..20),
            start in -5.0f64..5.0,
            seed in 0.0f64..10.0,
        ) {
            let knots: Vec<f64> = steps.iter().scan(start, |x, s| { *x += s; Some(*x) }).collect();
            let values: Vec<f64> = (0..knots.len()).map(|i| (seed + 1.3 * i as f64).sin()).collect();
            let (xp, fp) = (Tensor::from(knots.clone()), Tensor::from(values.clone()));
            prop_assert_eq!(interp(&xp, &xp, &fp).to_vec(), values.clone());
            // Midway between knots the value is the mean of the two.
            let mid: Vec<f64> = knots.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
            let y = interp(&Tensor::from(mid), &xp, &fp);
            for (i, v) in y.as_slice().iter().enumerate() {
                prop_assert!((v - 0.5 * (values[i] + values[i + 1])).abs() < 1e-12);
            }
        }
    }

    #[test]
    #[should_panic(expected = "interp: xp must be increasing, but xp[2] = 0.5 < xp[1] = 1 (shape [3])")]
    fn unsorted_knots_are_rejected() {
        let _ = interp(
            &Tensor::scalar(0.0),
            &Tensor::from([0.0, 1.0, 0.5]),
            &Tensor::zeros([3]),
        );
    }

    #[test]
    #[should_panic(expected = "interp: xp[1] is NaN (shape [3])")]
    fn nan_knots_are_rejected() {
        let _ = interp(
            &Tensor::scalar(0.0),
            &Tensor::from([0.0, f64::NAN, 1.0]),
            &Tensor::zeros([3]),
        );
    }

    #[test]
    #[should_panic(expected = "interp: xp and fp must be 1-d of one length, got shapes [3] and [2]")]
    fn mismatched_grids_are_rejected() {
        let _ = interp(&Tensor::scalar(0.0), &Tensor::zeros([3]), &Tensor::zeros([2]));
    }

    #[test]
    #[should_panic(expected = "interp: xp and fp are empty (shape [0])")]
    fn empty_grids_are_rejected() {
        let _ = interp(&Tensor::scalar(0.0), &Tensor::zeros([0]), &Tensor::zeros([0]));
    }

    #[test]
    fn compiled_interpolation_of_traced_values_matches_at_other_values() {
        // Fixed queries, inside, outside and on knots; only fp is traced.
        let (xp, fp) = grid();
        let x = Tensor::from([[-1.0, 0.0, 0.25], [1.0, 2.2, 4.5], [7.0, 3.0, 4.0]]);
        let loss = |fp: &Tensor| interp(&x, &xp, fp).sin().sum();
        let f = |fp: &Tensor| {
            let (value, gradient) = crate::value_and_grad(loss, fp);
            (
                value,
                gradient,
                crate::hvp(loss, fp, &Tensor::from([1.0, -2.0, 0.5, 3.0])),
            )
        };
        crate::testing::assert_compiles_exactly(f, &fp, &[Tensor::from([-2.0, 0.5, 4.0, 1.0])]);
    }

    #[test]
    fn traced_queries_knots_and_values_compile_with_every_derivative() {
        // Queries, knots and values all traced; the other point moves the
        // queries to other pieces, onto a knot and outside the grid, and
        // moves the knots.
        let (xp, fp) = grid();
        let x = Tensor::from([-1.0, 0.5, 2.2, 4.0]);
        let loss = |v: &(Tensor, Tensor, Tensor)| interp(&v.0, &v.1, &v.2).sin().sum();
        let f = |v: &(Tensor, Tensor, Tensor)| {
            let (value, gradient) = crate::value_and_grad(loss, v);
            let direction = (
                Tensor::from([1.0, 0.5, -1.0, 2.0]),
                Tensor::from([0.1, 0.2, -0.3, 0.4]),
                Tensor::ones([4]),
            );
            (value, gradient, crate::hvp(loss, v, &direction))
        };
        let moved = (
            Tensor::from([3.0, 5.0, 0.0, 1.25]),
            Tensor::from([-0.5, 1.5, 2.0, 5.0]),
            Tensor::from([2.0, 0.0, 1.0, -1.0]),
        );
        crate::testing::assert_compiles_exactly(f, &(x, xp, fp), &[moved]);
    }

    #[test]
    fn traced_knots_are_checked_on_every_call() {
        let (xp, fp) = grid();
        let f = |xp: &Tensor| interp(&Tensor::from([0.5, 2.0]), xp, &fp);
        let compiled = crate::compile(f, &xp).unwrap();
        let err = compiled.call(&Tensor::from([0.0, 2.0, 1.0, 3.0])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "interp: xp must be increasing, but xp[2] = 1 < xp[1] = 2 (shape [4])"
        );
    }
}
