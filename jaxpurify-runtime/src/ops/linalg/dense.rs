//! Plain kernels on row-major buffers, not recorded: the blocked Cholesky
//! factorisation, blocked triangular solves and the LU factorisation behind
//! the recorded ops of this family.
//!
//! nalgebra's own Cholesky and triangular solves are unblocked: every column
//! step streams the whole matrix, so above n = 256 they are bound by memory
//! bandwidth. Here the bulk of the work of both is a matrix product
//! (nalgebra's `gemm`, which hands large products to `matrixmultiply`), on
//! blocks read in place through strided views, and only `BLOCK`-wide panels
//! are done element by element. See `benches/linalg.rs` for the measurements.

use nalgebra::{DMatrix, DMatrixView, DMatrixViewMut, DVector, Dyn};

/// Width of the panels done element by element; the rest is matrix products.
const BLOCK: usize = 64;

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
    /// Offsets between neighbouring rows and columns of the matrix as read.
    fn strides(self) -> (usize, usize) {
        if self.transposed { (1, self.n) } else { (self.n, 1) }
    }

    fn at(self, t: &[f64], row: usize, col: usize) -> f64 {
        let (rs, cs) = self.strides();
        t[row * rs + col * cs]
    }
}

/// Overwrites the row-major `[n, k]` right-hand sides `x` with the solution
/// of `M X = B`, where `M` is `t` read as `read` says. The diagonal must be
/// non-zero (the caller checks).
pub(super) fn solve_triangular_in_place(t: &[f64], read: TriangularRead, x: &mut [f64], k: usize) {
    let n = read.n;
    if n == 0 || k == 0 {
        return;
    }
    let starts: Vec<usize> = (0..n).step_by(BLOCK).collect();
    if read.lower_as_read {
        // Forward substitution by blocks of rows: subtract what the solved
        // rows above contribute, then solve the diagonal block.
        for &i0 in &starts {
            let i1 = (i0 + BLOCK).min(n);
            let (solved, rest) = x.split_at_mut(i0 * k);
            let block = &mut rest[..(i1 - i0) * k];
            subtract_product(block, t, read, (i0, i1), (0, i0), solved, k);
            solve_diagonal_block(t, read, i0, block, k);
        }
    } else {
        for &i0 in starts.iter().rev() {
            let i1 = (i0 + BLOCK).min(n);
            let (head, solved) = x.split_at_mut(i1 * k);
            let block = &mut head[i0 * k..];
            subtract_product(block, t, read, (i0, i1), (i1, n), solved, k);
            solve_diagonal_block(t, read, i0, block, k);
        }
    }
}

/// `block -= M[rows, cols] @ solved` for row-major `block` (`[rows, k]`) and
/// `solved` (`[cols, k]`). Computed transposed, as `block^T -= solved^T
/// M[rows, cols]^T`, so that every view nalgebra sees is column-major with
/// unit row stride (its fallback for thin products needs that of the left
/// operand).
fn subtract_product(
    block: &mut [f64],
    t: &[f64],
    read: TriangularRead,
    (r0, r1): (usize, usize),
    (c0, c1): (usize, usize),
    solved: &[f64],
    k: usize,
) {
    if c1 == c0 {
        return;
    }
    let (rs, cs) = read.strides();
    let (rows, cols) = (r1 - r0, c1 - c0);
    let mut out = DMatrixViewMut::<f64, Dyn, Dyn>::from_slice_with_strides_mut(block, k, rows, 1, k);
    let left = DMatrixView::<f64, Dyn, Dyn>::from_slice_with_strides(solved, k, cols, 1, k);
    let m_block = &t[r0 * rs + c0 * cs..];
    let right = DMatrixView::<f64, Dyn, Dyn>::from_slice_with_strides(m_block, cols, rows, cs, rs);
    out.gemm(-1.0, &left, &right, 1.0);
}

/// Substitution within one diagonal block of `M` starting at row `i0`;
/// `block` holds its rows of the right-hand sides, already updated for the
/// rows outside the block.
fn solve_diagonal_block(t: &[f64], read: TriangularRead, i0: usize, block: &mut [f64], k: usize) {
    let rows = block.len() / k;
    let order: Vec<usize> = if read.lower_as_read {
        (0..rows).collect()
    } else {
        (0..rows).rev().collect()
    };
    for r in order {
        let (before, from_r) = block.split_at_mut(r * k);
        let (row, after) = from_r.split_at_mut(k);
        // The rows already solved: those above r going down, below r going up.
        let (solved, first): (&[f64], usize) = if read.lower_as_read {
            (before, 0)
        } else {
            (after, r + 1)
        };
        for (p, x_p) in solved.chunks_exact(k).enumerate() {
            let m_rp = read.at(t, i0 + r, i0 + first + p);
            row.iter_mut().zip(x_p).for_each(|(v, &x)| *v -= m_rp * x);
        }
        let pivot = read.at(t, i0 + r, i0 + r);
        row.iter_mut().for_each(|v| *v /= pivot);
    }
}

/// Overwrites the lower triangle of the row-major `[n, n]` matrix `a` with
/// its Cholesky factor and zeroes the upper triangle; only the lower
/// triangle of `a` is read. Right-looking by panels of `BLOCK` columns.
/// Returns `false` as soon as a pivot is not positive and finite, which
/// also catches NaN anywhere in the lower triangle: it reaches a later pivot.
pub(super) fn cholesky_in_place(a: &mut [f64], n: usize) -> bool {
    for k0 in (0..n).step_by(BLOCK) {
        let k1 = (k0 + BLOCK).min(n);
        if !factor_panel(a, n, k0, k1) {
            return false;
        }
        update_trailing(a, n, k0, k1);
    }
    for i in 0..n {
        a[i * n + i + 1..(i + 1) * n].fill(0.0);
    }
    true
}

/// Columns `k0..k1` of the factor (rows `k0..n`), by inner products of
/// row pieces: the columns before `k0` were already subtracted by
/// [`update_trailing`].
fn factor_panel(a: &mut [f64], n: usize, k0: usize, k1: usize) -> bool {
    let dot = |a: &[f64], i: usize, j: usize, len: usize| -> f64 {
        let (ri, rj) = (&a[i * n + k0..i * n + k0 + len], &a[j * n + k0..j * n + k0 + len]);
        ri.iter().zip(rj).map(|(x, y)| x * y).sum()
    };
    for j in k0..k1 {
        let pivot = a[j * n + j] - dot(a, j, j, j - k0);
        if !(pivot > 0.0 && pivot.is_finite()) {
            return false;
        }
        let l_jj = pivot.sqrt();
        a[j * n + j] = l_jj;
        for i in j + 1..n {
            let s = a[i * n + j] - dot(a, i, j, j - k0);
            a[i * n + j] = s / l_jj;
        }
    }
    true
}

/// Subtracts `L[k1.., k0..k1] L[k1.., k0..k1]^T` from the lower triangle of
/// the trailing matrix, one block row at a time (each product also fills the
/// upper part of its diagonal block, which is never read and zeroed at the
/// end). The panel is first copied column-major so that the left operand of
/// every product has unit row stride.
fn update_trailing(a: &mut [f64], n: usize, k0: usize, k1: usize) {
    let (m, width) = (n - k1, k1 - k0);
    if m == 0 {
        return;
    }
    let mut panel = vec![0.0; m * width];
    for (c, column) in panel.chunks_exact_mut(m).enumerate() {
        for (r, v) in column.iter_mut().enumerate() {
            *v = a[(k1 + r) * n + k0 + c];
        }
    }
    for i0 in (k1..n).step_by(BLOCK) {
        let i1 = (i0 + BLOCK).min(n);
        let (rows, cols) = (i1 - i0, i1 - k1);
        // Transposed: C^T -= L[k1..i1] L[i0..i1]^T, C^T column-major at C's place.
        let target = &mut a[i0 * n + k1..];
        let mut out = DMatrixViewMut::<f64, Dyn, Dyn>::from_slice_with_strides_mut(target, cols, rows, 1, n);
        let left = DMatrixView::<f64, Dyn, Dyn>::from_slice_with_strides(&panel, cols, width, 1, m);
        let right =
            DMatrixView::<f64, Dyn, Dyn>::from_slice_with_strides(&panel[i0 - k1..], width, rows, m, 1);
        out.gemm(-1.0, &left, &right, 1.0);
    }
}

/// `P A = L U` with partial pivoting (nalgebra's), packed into one buffer
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

    /// Factorises the row-major `[n, n]` matrix `a` into `packed`.
    pub(super) fn factorise(a: &[f64], n: usize, packed: &mut [f64]) {
        let lu = DMatrix::from_row_slice(n, n, a).lu();
        let mut rows = DVector::from_iterator(n, (0..n).map(|i| i as f64));
        lu.p().permute_rows(&mut rows);
        let (l, rest) = packed.split_at_mut(n * n);
        let (u, rest) = rest.split_at_mut(n * n);
        l.copy_from_slice(lu.l().as_slice());
        u.copy_from_slice(lu.u().as_slice());
        rest[..n].copy_from_slice(rows.as_slice());
        rest[n] = lu.p().determinant();
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
    pub(super) fn pivots(&self) -> impl Iterator<Item = f64> + '_ {
        (0..self.n).map(|i| self.u_transposed[i * self.n + i])
    }

    pub(super) fn permutation_sign(&self) -> f64 {
        self.permutation_sign
    }

    pub(super) fn is_singular(&self) -> bool {
        self.pivots().any(|p| p == 0.0)
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

    // Sizes around the block width, so partial and several blocks are covered.
    const SIZES: [usize; 5] = [1, 5, 64, 65, 150];

    #[test]
    fn blocked_cholesky_matches_nalgebra() {
        for n in SIZES {
            let a = spd(n);
            let mut ours = a.clone();
            assert!(cholesky_in_place(&mut ours, n));
            let theirs = DMatrix::from_row_slice(n, n, &a).cholesky().unwrap().unpack();
            let theirs_row_major = theirs.transpose().as_slice().to_vec();
            let worst = ours
                .iter()
                .zip(&theirs_row_major)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max);
            assert!(worst < 1e-12, "n = {n}: worst difference {worst}");
        }
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
                for i in 0..n {
                    for c in 0..k {
                        let in_triangle = |j: usize| if lower_as_read { j <= i } else { j >= i };
                        let back: f64 = (0..n)
                            .filter(|&j| in_triangle(j))
                            .map(|j| read.at(&t, i, j) * x[j * k + c])
                            .sum();
                        assert!((back - b[i * k + c]).abs() < 1e-10, "n = {n}, {read:?}");
                    }
                }
            }
        }
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
