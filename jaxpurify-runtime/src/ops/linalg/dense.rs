//! Plain kernels on row-major buffers, not recorded: the Cholesky
//! factorisation and its reverse-mode derivative, triangular solves and
//! triangular products, and the LU factorisation behind the recorded ops of
//! this family.
//!
//! The Cholesky factorisation, the triangular solves and the block products
//! are faer's, and every call into faer is in this file: its API changes
//! between versions, and this keeps an upgrade to one place. faer views a
//! row-major buffer in place with any strides, so a matrix read transposed
//! is never copied. Everything runs on the calling thread (`Par::Seq`): the
//! results are the same whatever the thread count, and nothing waits on
//! other threads inside a `map_batch`. `docs/decisions.md` has the
//! measurements behind these choices.

use crate::buffer_pool;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{LltRegularization, cholesky_in_place_scratch};
use faer::linalg::lu::partial_pivoting::factor::{lu_in_place, lu_in_place_scratch};
use faer::linalg::matmul::triangular::{BlockStructure, matmul as triangular_matmul};
use faer::linalg::triangular_solve::{solve_lower_triangular_in_place, solve_upper_triangular_in_place};
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Accum, MatMut, MatRef, Par};

/// The row-major `rows x cols` matrix in `data`, as faer reads it.
fn view(data: &[f64], rows: usize, cols: usize) -> MatRef<'_, f64> {
    MatRef::from_row_major_slice(data, rows, cols)
}

/// The row-major `rows x cols` matrix in `data`, for faer to write.
fn view_mut(data: &mut [f64], rows: usize, cols: usize) -> MatMut<'_, f64> {
    MatMut::from_row_major_slice_mut(data, rows, cols)
}

/// How a triangular solve reads a square row-major matrix of size `n`: as
/// stored or transposed, and which triangle of the matrix *as read* holds
/// its values (the other one is never touched).
#[derive(Clone, Copy, Debug)]
pub(super) struct TriangularRead {
    pub(super) n: usize,
    pub(super) transposed: bool,
    pub(super) lower_as_read: bool,
}

impl TriangularRead {
    /// The matrix `t` as read.
    fn of<'a>(self, t: &'a [f64]) -> MatRef<'a, f64> {
        let stored = view(t, self.n, self.n);
        if self.transposed {
            stored.transpose()
        } else {
            stored
        }
    }
}

/// Overwrites the row-major `[n, k]` right-hand sides `x` with the solution
/// of `M X = B`, where `M` is `t` read as `read` says. The diagonal must be
/// non-zero (the caller checks).
pub(super) fn solve_triangular_in_place(t: &[f64], read: TriangularRead, x: &mut [f64], k: usize) {
    if read.n == 0 || k == 0 {
        return;
    }
    let (m, x) = (read.of(t), view_mut(x, read.n, k));
    if read.lower_as_read {
        solve_lower_triangular_in_place(m, x, Par::Seq);
    } else {
        solve_upper_triangular_in_place(m, x, Par::Seq);
    }
}

/// The Cholesky factor of the symmetric `(A + A^T) / 2` for the row-major
/// `[n, n]` matrix `a`, written row-major into `lower` (zeros above the
/// diagonal). Returns `false` when a pivot is not positive and finite, which
/// also catches NaN anywhere in `a` (it reaches a later pivot); `lower` is
/// then unspecified.
///
/// faer factorises a column-major matrix, whose columns its small-block
/// kernels vectorise over (on a row-major view they fall back to scalar
/// code: 63 against 30 us at n = 100), so the symmetrised lower triangle is
/// written column-major into a scratch buffer and the factor transposed
/// back.
pub(super) fn cholesky(a: &[f64], n: usize, lower: &mut [f64]) -> bool {
    let mut columns = buffer_pool::for_overwrite(n * n);
    for j in 0..n {
        for i in j..n {
            columns[j * n + i] = 0.5 * (a[i * n + j] + a[j * n + i]);
        }
    }
    let spec = Default::default();
    let mut scratch = MemBuffer::new(cholesky_in_place_scratch::<f64>(n, Par::Seq, spec));
    let factored = faer::linalg::cholesky::llt::factor::cholesky_in_place(
        MatMut::from_column_major_slice_mut(&mut columns, n, n),
        LltRegularization::default(),
        Par::Seq,
        MemStack::new(&mut scratch),
        spec,
    )
    .is_ok();
    transpose_lower(&columns, n, lower);
    buffer_pool::give_back(columns);
    // faer takes an infinite pivot as positive.
    factored && (0..n).all(|i| lower[i * n + i].is_finite())
}

/// Tiles of [`transpose_lower`]: both the rows read and the rows written
/// of a tile stay in cache.
const TILE: usize = 32;

/// `lower = tril(columns^T)` for the square `columns`, zeros above the
/// diagonal, a tile at a time.
fn transpose_lower(columns: &[f64], n: usize, lower: &mut [f64]) {
    for i0 in (0..n).step_by(TILE) {
        for j0 in (0..=i0).step_by(TILE) {
            for i in i0..(i0 + TILE).min(n) {
                for j in j0..(j0 + TILE).min(i + 1) {
                    lower[i * n + j] = columns[j * n + i];
                }
            }
        }
        for i in i0..(i0 + TILE).min(n) {
            lower[i * n + i + 1..(i + 1) * n].fill(0.0);
        }
    }
}

/// `out = -tri(a b^T)` for row-major `a` and `b` of `n` rows and `k`
/// columns: the product's lower triangle (or upper, unless `lower`), with
/// zeros in the other one. The derivative of a triangular solve with
/// respect to its matrix, which reads only that triangle.
pub(super) fn negated_triangle_product(
    a: &[f64],
    b: &[f64],
    (n, k): (usize, usize),
    lower: bool,
    out: &mut [f64],
) {
    out.fill(0.0);
    if k == 1 {
        for (i, row) in out.chunks_exact_mut(n.max(1)).enumerate().take(n) {
            let columns = if lower { 0..i + 1 } else { i..n };
            for (o, &b_j) in row[columns.clone()].iter_mut().zip(&b[columns]) {
                *o = -a[i] * b_j;
            }
        }
        return;
    }
    let structure = if lower {
        BlockStructure::TriangularLower
    } else {
        BlockStructure::TriangularUpper
    };
    let rectangular = BlockStructure::Rectangular;
    let (a, b) = (view(a, n, k), view(b, n, k).transpose());
    triangular_matmul(
        view_mut(out, n, n),
        structure,
        Accum::Replace,
        a,
        rectangular,
        b,
        rectangular,
        -1.0,
        Par::Seq,
    );
}

/// Diagonal blocks this small are done element by element by
/// [`cholesky_adjoint`]; larger ones are split in two.
const ADJOINT_BASE: usize = 16;

/// The reverse-mode derivative of the Cholesky factorisation: from the
/// row-major factor `l` and the gradient `l_bar` of its lower triangle,
/// writes the gradient of the symmetric input, `(T + T^T) / 2` where `T`
/// is the gradient of the input's lower triangle.
///
/// Murray's blocked algorithm (2016, arXiv:1602.07527, section 4) runs the
/// factorisation's steps backwards a block of columns at a time. With two
/// blocks, `L = [[L11, 0], [L21, L22]]` and `T` split alike, it reads
/// `T22 = rev(L22, T22)`, `T21 -= (T22 + T22^T) L21`, `T21 = T21 L11^{-1}`,
/// `T11 -= tril(T21^T L21)`, `T11 = rev(L11, T11)`, where `rev` is the
/// same derivative of a smaller factorisation; here it recurses on halves,
/// so that most of the work is in faer's products of large blocks. That
/// is about `2 n^3 / 3` flops, twice the factorisation, against the
/// `4 n^3` of the symbolic `L^{-T} Phi(L^T Lbar) L^{-1}` with full
/// products and solves.
pub(super) fn cholesky_adjoint(l: &[f64], l_bar: &[f64], n: usize, out: &mut [f64]) {
    for i in 0..n {
        let row = i * n..(i + 1) * n;
        out[row.start..=row.start + i].copy_from_slice(&l_bar[row.start..=row.start + i]);
        out[row.start + i + 1..row.end].fill(0.0);
    }
    reverse(view(l, n, n), view_mut(out, n, n));
    for i in 0..n {
        for j in 0..i {
            let half = 0.5 * out[i * n + j];
            out[i * n + j] = half;
            out[j * n + i] = half;
        }
    }
}

/// The recursion of [`cholesky_adjoint`] on the lower triangle of `t`.
fn reverse(l: MatRef<'_, f64>, t: MatMut<'_, f64>) {
    let n = l.nrows();
    if n <= ADJOINT_BASE {
        return unblocked_reverse(l, t);
    }
    // A multiple of 8 keeps faer's kernels on full vectors.
    let h = (n / 2).next_multiple_of(8).min(n - 1);
    let (l11, l21, l22) = (
        l.submatrix(0, 0, h, h),
        l.submatrix(h, 0, n - h, h),
        l.submatrix(h, h, n - h, n - h),
    );
    let (mut t11, _, mut t21, mut t22) = t.split_at_mut(h, h);
    reverse(l22, t22.rb_mut());
    let (rectangular, lower, upper) = (
        BlockStructure::Rectangular,
        BlockStructure::TriangularLower,
        BlockStructure::TriangularUpper,
    );
    let t22 = t22.rb();
    triangular_matmul(
        t21.rb_mut(),
        rectangular,
        Accum::Add,
        t22,
        lower,
        l21,
        rectangular,
        -1.0,
        Par::Seq,
    );
    let t22_t = t22.transpose();
    triangular_matmul(
        t21.rb_mut(),
        rectangular,
        Accum::Add,
        t22_t,
        upper,
        l21,
        rectangular,
        -1.0,
        Par::Seq,
    );
    solve_upper_triangular_in_place(l11.transpose(), t21.rb_mut().transpose_mut(), Par::Seq);
    let t21 = t21.rb();
    triangular_matmul(
        t11.rb_mut(),
        lower,
        Accum::Add,
        t21.transpose(),
        rectangular,
        l21,
        rectangular,
        -1.0,
        Par::Seq,
    );
    reverse(l11, t11);
}

/// Murray's unblocked reverse pass over a small factor `l` (`m x m`) and
/// the lower triangle of `t`: column by column from the last, each one's
/// gradient divided by its pivot and passed to the columns before it.
/// Works on row-major copies, so that every inner loop runs along a row.
fn unblocked_reverse(l: MatRef<'_, f64>, mut t: MatMut<'_, f64>) {
    let m = l.nrows();
    let mut lc = [0.0; ADJOINT_BASE * ADJOINT_BASE];
    let mut tc = [0.0; ADJOINT_BASE * ADJOINT_BASE];
    for i in 0..m {
        for j in 0..=i {
            lc[i * m + j] = l[(i, j)];
            tc[i * m + j] = t[(i, j)];
        }
    }
    unblocked_reverse_rows(&lc[..m * m], &mut tc[..m * m], m);
    for i in 0..m {
        for j in 0..=i {
            t[(i, j)] = tc[i * m + j];
        }
    }
}

/// [`unblocked_reverse`] on row-major `m x m` buffers. For column `j`,
/// with `r` the row left of the pivot `d`, `c` the column below it and
/// `B` the block below `r`: `dbar = (dbar - c . cbar / d) / d`,
/// `cbar /= d`, `rbar -= dbar r + B^T cbar`, `Bbar -= cbar r^T`,
/// `dbar /= 2`.
fn unblocked_reverse_rows(l: &[f64], t: &mut [f64], m: usize) {
    for j in (0..m).rev() {
        let pivot = l[j * m + j];
        let column_dot: f64 = (j + 1..m).map(|i| t[i * m + j] * l[i * m + j]).sum();
        let d_bar = (t[j * m + j] - column_dot / pivot) / pivot;
        let (above, below) = t.split_at_mut((j + 1) * m);
        let r_bar = &mut above[j * m..j * m + j];
        let r = &l[j * m..j * m + j];
        r_bar.iter_mut().zip(r).for_each(|(v, &x)| *v -= d_bar * x);
        for (i, t_row) in (j + 1..m).zip(below.chunks_exact_mut(m)) {
            let c_bar = t_row[j] / pivot;
            t_row[j] = c_bar;
            let b_row = &l[i * m..i * m + j];
            r_bar.iter_mut().zip(b_row).for_each(|(v, &x)| *v -= c_bar * x);
            t_row[..j].iter_mut().zip(r).for_each(|(v, &x)| *v -= c_bar * x);
        }
        above[j * m + j] = d_bar / 2.0;
    }
}

/// `P A = L U` with partial pivoting (faer's), packed into one buffer
/// of [`Lu::packed_len`] values in the layout the triangular solves read:
/// `L^T` and `U^T` row-major (the factors column-major), then the row
/// permutation as positions, then `det(P)`. A packed factorisation is the
/// output of an op, so that a compiled program factorises once per call
/// and every solve of the forward and backward pass reads the same factors.
pub(super) struct Lu<'a> {
    n: usize,
    l_transposed: &'a [f64],
    u_transposed: &'a [f64],
    /// `(P b)[i] = b[rows[i]]`, as `f64`.
    rows: &'a [f64],
    /// `det(P)`, +1 or -1.
    permutation_sign: f64,
}

impl<'a> Lu<'a> {
    /// The length of a packed factorisation of an `[n, n]` matrix.
    pub(super) fn packed_len(n: usize) -> usize {
        2 * n * n + n + 1
    }

    /// Factorises the row-major `[n, n]` matrix `a` into `packed`, with
    /// faer's partial pivoting on a column-major copy (the layout its
    /// blocked kernels take), factorised in place where `U^T` is kept.
    pub(super) fn factorise(a: &[f64], n: usize, packed: &mut [f64]) {
        let (l, rest) = packed.split_at_mut(n * n);
        let (u, rest) = rest.split_at_mut(n * n);
        for (j, column) in u.chunks_exact_mut(n.max(1)).enumerate().take(n) {
            for (i, v) in column.iter_mut().enumerate() {
                *v = a[i * n + j];
            }
        }
        let (mut forward, mut backward) = (vec![0usize; n], vec![0usize; n]);
        let spec = Default::default();
        let mut scratch = MemBuffer::new(lu_in_place_scratch::<usize, f64>(n, n, Par::Seq, spec));
        let (info, _) = lu_in_place(
            MatMut::from_column_major_slice_mut(u, n, n),
            &mut forward,
            &mut backward,
            Par::Seq,
            MemStack::new(&mut scratch),
            spec,
        );
        // Column j of the result holds L below the diagonal, U on and above.
        for j in 0..n {
            let column = j * n..(j + 1) * n;
            let (lower, upper) = (&mut l[column.clone()], &mut u[column]);
            lower[..j].fill(0.0);
            lower[j] = 1.0;
            lower[j + 1..].copy_from_slice(&upper[j + 1..]);
            upper[j + 1..].fill(0.0);
        }
        for (r, &f) in rest.iter_mut().zip(&forward) {
            *r = f as f64;
        }
        rest[n] = if info.transposition_count % 2 == 0 {
            1.0
        } else {
            -1.0
        };
    }

    /// The factorisation packed in `packed` by [`factorise`](Lu::factorise).
    pub(super) fn unpack(packed: &'a [f64], n: usize) -> Lu<'a> {
        let (l_transposed, rest) = packed.split_at(n * n);
        let (u_transposed, rest) = rest.split_at(n * n);
        Lu {
            n,
            l_transposed,
            u_transposed,
            rows: &rest[..n],
            permutation_sign: rest[n],
        }
    }

    /// The diagonal of `U`, whose product with `det(P)` is `det(A)`.
    fn pivots(&self) -> impl Iterator<Item = f64> + '_ {
        (0..self.n).map(|i| self.u_transposed[i * self.n + i])
    }

    pub(super) fn is_singular(&self) -> bool {
        self.pivots().any(|p| p == 0.0)
    }

    /// The sign of `det(A)`: -1, 0 or 1.
    pub(super) fn determinant_sign(&self) -> f64 {
        // After a zero pivot the factors hold NaN (faer scales by its
        // reciprocal), so a singular matrix is told by that pivot alone.
        match self.is_singular() {
            true => 0.0,
            false => self.pivots().fold(self.permutation_sign, |s, p| s * p.signum()),
        }
    }

    /// `ln |det(A)|`, `-inf` for a singular matrix.
    pub(super) fn log_abs_determinant(&self) -> f64 {
        match self.is_singular() {
            true => f64::NEG_INFINITY,
            false => self.pivots().map(|p| p.abs().ln()).sum(),
        }
    }

    /// Solves `A X = B` (or `A^T X = B` when `transposed`) for the row-major
    /// `[n, k]` right-hand sides `b`, into `x`.
    pub(super) fn solve(&self, b: &[f64], k: usize, transposed: bool, x: &mut [f64]) {
        let read = |lower_as_read, stored_transposed| TriangularRead {
            n: self.n,
            transposed: stored_transposed,
            lower_as_read,
        };
        // The buffers hold L^T and U^T row-major: read transposed they are L and U.
        let (l, u) = (read(true, true), read(false, true));
        let (lt, ut) = (read(false, false), read(true, false));
        let rows = self.rows.iter().map(|&r| r as usize);
        if transposed {
            // A^T = U^T L^T P, so X = P^T L^{-T} U^{-T} B.
            let mut y = b.to_vec();
            solve_triangular_in_place(self.u_transposed, ut, &mut y, k);
            solve_triangular_in_place(self.l_transposed, lt, &mut y, k);
            for (i, r) in rows.enumerate() {
                x[r * k..(r + 1) * k].copy_from_slice(&y[i * k..(i + 1) * k]);
            }
        } else {
            for (i, r) in rows.enumerate() {
                x[i * k..(i + 1) * k].copy_from_slice(&b[r * k..(r + 1) * k]);
            }
            solve_triangular_in_place(self.l_transposed, l, x, k);
            solve_triangular_in_place(self.u_transposed, u, x, k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DMatrix;

    /// Deterministic values in (-1, 1) without structure (a quadratic phase:
    /// with a linear one, `sin(a i + b)` read as a matrix has rank 2).
    fn values(len: usize, seed: f64) -> Vec<f64> {
        (0..len).map(|i| ((i * i) as f64 * 0.7311 + seed).sin()).collect()
    }

    /// `B B^T + n I` for deterministic `B`: symmetric positive definite.
    fn spd(n: usize) -> Vec<f64> {
        let b = DMatrix::from_row_slice(n, n, &values(n * n, 0.3));
        let a = &b * b.transpose() + DMatrix::identity(n, n) * n as f64;
        a.transpose().as_slice().to_vec()
    }

    /// The factor of `a`, which must be positive definite.
    fn factor(a: &[f64], n: usize) -> Vec<f64> {
        let mut l = vec![f64::NAN; n * n];
        assert!(cholesky(a, n, &mut l));
        l
    }

    /// The largest absolute difference between two buffers.
    fn worst(x: &[f64], y: &[f64]) -> f64 {
        x.iter().zip(y).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
    }

    // Sizes around the recursion's base and tiles, so odd splits are covered.
    const SIZES: [usize; 7] = [1, 5, 16, 17, 64, 65, 150];

    #[test]
    fn cholesky_matches_nalgebra_and_rejects_what_is_not_positive_definite() {
        for n in SIZES {
            let a = spd(n);
            let theirs = DMatrix::from_row_slice(n, n, &a).cholesky().unwrap().unpack();
            let error = worst(&factor(&a, n), theirs.transpose().as_slice());
            assert!(error < 1e-12, "n = {n}: worst difference {error}");
        }
        let mut l = vec![0.0; 9];
        assert!(!cholesky(&[1.0, 2.0, 2.0, 1.0], 2, &mut l[..4]));
        assert!(!cholesky(&[1.0, 0.0, 0.0, f64::INFINITY], 2, &mut l[..4]));
        let with_nan = [1.0, 0.0, 0.0, 0.0, 1.0, f64::NAN, 0.0, 0.0, 1.0];
        assert!(!cholesky(&with_nan, 3, &mut l));
    }

    #[test]
    fn cholesky_reads_the_symmetrised_matrix() {
        let (n, a) = (65, spd(65));
        let skew = values(n * n, 2.5);
        let tilted: Vec<f64> = (0..n * n).map(|k| a[k] + skew[k]).collect();
        let symmetric: Vec<f64> = (0..n * n)
            .map(|k| 0.5 * (tilted[k] + tilted[(k % n) * n + k / n]))
            .collect();
        assert_eq!(factor(&tilted, n), factor(&symmetric, n));
    }

    #[test]
    fn every_triangular_read_solves_its_system() {
        for n in SIZES {
            // Random triangular matrices grow exponentially ill-conditioned with
            // n; off-diagonal entries of order 1/n keep these well conditioned.
            let mut t: Vec<f64> = values(n * n, 1.1).iter().map(|v| v / n as f64).collect();
            for i in 0..n {
                t[i * n + i] += 2.0;
            }
            for (transposed, lower_as_read, k) in [
                (false, true, 3),
                (true, true, 1),
                (false, false, 2),
                (true, false, 70),
            ] {
                let read = TriangularRead {
                    n,
                    transposed,
                    lower_as_read,
                };
                let b = values(n * k, 2.0);
                let mut x = b.clone();
                solve_triangular_in_place(&t, read, &mut x, k);
                let entry = |i: usize, j: usize| if transposed { t[j * n + i] } else { t[i * n + j] };
                for i in 0..n {
                    for c in 0..k {
                        let in_triangle = |j: usize| if lower_as_read { j <= i } else { j >= i };
                        let back: f64 = (0..n)
                            .filter(|&j| in_triangle(j))
                            .map(|j| entry(i, j) * x[j * k + c])
                            .sum();
                        assert!((back - b[i * k + c]).abs() < 1e-10, "n = {n}, {read:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn triangle_products_keep_one_triangle() {
        for (n, k) in [(4, 1), (5, 3), (70, 2)] {
            let (a, b) = (values(n * k, 0.2), values(n * k, 1.4));
            for lower in [true, false] {
                let mut out = vec![f64::NAN; n * n];
                negated_triangle_product(&a, &b, (n, k), lower, &mut out);
                for i in 0..n {
                    for j in 0..n {
                        let product: f64 = (0..k).map(|c| a[i * k + c] * b[j * k + c]).sum();
                        let kept = if lower { j <= i } else { j >= i };
                        let want = if kept { -product } else { 0.0 };
                        assert!((out[i * n + j] - want).abs() < 1e-13, "n = {n}, k = {k}");
                    }
                }
            }
        }
    }

    #[test]
    fn blocked_adjoint_matches_the_symbolic_formula() {
        // Abar = sym(L^{-T} Phi(L^T Lbar) L^{-1}), with dense nalgebra
        // products and inverses; Lbar's upper triangle is not read.
        for n in SIZES {
            let l = factor(&spd(n), n);
            let l_bar = values(n * n, 0.8);
            let mut ours = vec![f64::NAN; n * n];
            cholesky_adjoint(&l, &l_bar, n, &mut ours);
            let lm = DMatrix::from_row_slice(n, n, &l);
            let lower_bar = DMatrix::from_row_slice(n, n, &l_bar).lower_triangle();
            let mut p = lm.transpose() * lower_bar;
            p.fill_upper_triangle(0.0, 1);
            p.set_diagonal(&(p.diagonal() * 0.5));
            let inverse = lm.clone().try_inverse().unwrap();
            let s = inverse.transpose() * p * &inverse;
            let want = (&s + s.transpose()) * 0.5;
            let error = worst(&ours, want.transpose().as_slice());
            let scale = want.abs().max().max(1.0);
            assert!(error < 1e-12 * scale, "n = {n}: worst difference {error}");
        }
    }

    #[test]
    fn lu_determinants_including_a_zero_pivot_before_the_last() {
        // det [[0, 2, 1], [1, 1, 0], [3, -1, 2]] = -8 (row exchanges needed).
        let mut packed = vec![0.0; Lu::packed_len(3)];
        Lu::factorise(&[0.0, 2.0, 1.0, 1.0, 1.0, 0.0, 3.0, -1.0, 2.0], 3, &mut packed);
        let lu = Lu::unpack(&packed, 3);
        assert_eq!(lu.determinant_sign(), -1.0);
        assert!((lu.log_abs_determinant() - 8f64.ln()).abs() < 1e-15);
        // A zero middle column: the second pivot is zero, and the values
        // after it are NaN; the determinant is still exactly 0.
        Lu::factorise(&[1.0, 0.0, 2.0, 3.0, 0.0, 4.0, 5.0, 0.0, 6.0], 3, &mut packed);
        let lu = Lu::unpack(&packed, 3);
        assert!(lu.is_singular());
        assert_eq!(
            (lu.determinant_sign(), lu.log_abs_determinant()),
            (0.0, f64::NEG_INFINITY)
        );
    }

    #[test]
    fn lu_solves_both_orientations() {
        for n in SIZES {
            let a = values(n * n, 0.9);
            let mut packed = vec![0.0; Lu::packed_len(n)];
            Lu::factorise(&a, n, &mut packed);
            let lu = Lu::unpack(&packed, n);
            for transposed in [false, true] {
                let b = values(n * 2, 0.1);
                let mut x = vec![0.0; b.len()];
                lu.solve(&b, 2, transposed, &mut x);
                for i in 0..n {
                    for c in 0..2 {
                        let entry = |j: usize| if transposed { a[j * n + i] } else { a[i * n + j] };
                        let back: f64 = (0..n).map(|j| entry(j) * x[j * 2 + c]).sum();
                        assert!(
                            (back - b[i * 2 + c]).abs() < 1e-9,
                            "n = {n}, transposed {transposed}: {back} vs {}",
                            b[i * 2 + c]
                        );
                    }
                }
            }
        }
    }
}
