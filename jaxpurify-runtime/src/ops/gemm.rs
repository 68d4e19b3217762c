//! The kernels behind the matrix products of `Tensor::matmul` and its kin:
//! row-major operands read as stored or transposed through their strides, a
//! textbook loop for small products, `matrixmultiply`'s dgemm (through
//! nalgebra) for larger ones, split over rayon's threads when large,
//! the vectorising dot product the vector products and correlations
//! share, and the kernels the product ops record (`matmul.rs`). Nothing
//! here is recorded for autodiff.

use super::gemm_narrow::{is_narrow, narrow_gemm};
use crate::compile::kernel::Kernel;
use crate::shape::{Shape, broadcast_shapes, broadcast_strides, for_each_offset_pair};
use crate::tensor::Tensor;
use nalgebra::{DMatrixView, DMatrixViewMut, Dyn};
use rayon::prelude::*;
use smallvec::SmallVec;

/// How one operand of a product is read: the sizes of its stored last two
/// dimensions, the distance between stored rows (more than their length for
/// a block of columns of a wider matrix), and whether the matrix is read
/// transposed.
#[derive(Clone, Copy)]
pub(super) struct Operand {
    stored_rows: usize,
    stored_cols: usize,
    row_stride: usize,
    transposed: bool,
}

impl Operand {
    pub(super) fn of(t: &Tensor, transposed: bool) -> Operand {
        let d = t.shape().dims();
        Operand {
            stored_rows: d[d.len() - 2],
            stored_cols: d[d.len() - 1],
            row_stride: d[d.len() - 1],
            transposed,
        }
    }

    /// Rows and columns of the matrix as read.
    pub(super) fn dims(self) -> (usize, usize) {
        if self.transposed {
            (self.stored_cols, self.stored_rows)
        } else {
            (self.stored_rows, self.stored_cols)
        }
    }

    /// Row and column strides of the matrix as read: a transpose is the
    /// stored row-major matrix with its strides swapped.
    pub(super) fn strides(self) -> (usize, usize) {
        if self.transposed {
            (1, self.row_stride)
        } else {
            (self.row_stride, 1)
        }
    }

    /// The same stored matrix read with the other orientation.
    pub(super) fn flipped(self) -> Operand {
        Operand {
            transposed: !self.transposed,
            ..self
        }
    }

    pub(super) fn numel(self) -> usize {
        self.stored_rows * self.stored_cols
    }
}

/// Products with fewer multiply-adds than this use [`gemm_small`], where the
/// packing and dispatch of `matrixmultiply::dgemm` would cost more than the
/// arithmetic. An estimate (16^3), not yet measured on this machine.
pub(super) const DGEMM_MIN_WORK: usize = 4096;

/// nalgebra hands a product to `matrixmultiply::dgemm` only when its output
/// and left operand are larger than this in both dimensions.
const NALGEBRA_SMALL_DIM: usize = 5;

/// Writes `op(a) @ op(b)` row-major into `out`; every size is non-zero.
/// `out` holds zeros below [`DGEMM_MIN_WORK`], where the small loop adds to
/// it, and anything above, where dgemm overwrites it.
pub(super) fn gemm(out: &mut [f64], a: &[f64], la: Operand, b: &[f64], lb: Operand) {
    let ((m, k), (_, n)) = (la.dims(), lb.dims());
    if is_narrow(m, k, n) {
        narrow_gemm(out, a, la, b, lb);
    } else if m * k * n < DGEMM_MIN_WORK {
        gemm_small(out, a, la, b, lb);
    } else if !la.transposed && lb.transposed && m.min(k).min(n) <= NALGEBRA_SMALL_DIM {
        // For a thin product neither orientation below gives nalgebra's
        // fallback a left operand with unit row stride; a transposed copy of
        // `a` (O(mk) next to O(mkn)) does. dgemm reads any strides.
        let (rows, cols) = (la.stored_rows, la.stored_cols);
        let mut copy = crate::buffer_pool::for_overwrite(a.len());
        for (p, column) in copy.chunks_exact_mut(rows).enumerate() {
            for (i, v) in column.iter_mut().enumerate() {
                *v = a[i * la.row_stride + p];
            }
        }
        let la = Operand {
            stored_rows: cols,
            stored_cols: rows,
            row_stride: rows,
            transposed: true,
        };
        gemm_threaded(out, &copy, la, b, lb);
        crate::buffer_pool::give_back(copy);
    } else {
        gemm_threaded(out, a, la, b, lb);
    }
}

/// Products with at least this many multiply-adds are split over rayon's
/// threads. Waking a second thread costs about 10 us; on two idle cores of
/// this machine splitting square products gained from 80^3 (35 -> 19 us) and
/// lost at 64^3 (12 -> 14 us), so the threshold sits above both, near 100^3,
/// where the gain survives a busy second core.
pub(super) const PARALLEL_MIN_WORK: usize = 1 << 20;

/// Fewest output rows or columns per thread: fewer would hand nalgebra thin
/// blocks.
const MIN_LINES_PER_THREAD: usize = 16;

/// [`gemm_large`] on blocks of the output, one per thread, for large
/// products. Each thread packs its block of one operand and all of the
/// other, so the output is cut along the dimension whose operand is the
/// larger: blocks of rows when `op(b)` (`k x n`) is the smaller, blocks of
/// columns when `op(a)` (`m x k`) is. Each output value is summed over the
/// same blocks of the inner dimension in the same order as without threads,
/// so the result is the same bit for bit (a test checks it).
fn gemm_threaded(out: &mut [f64], a: &[f64], la: Operand, b: &[f64], lb: Operand) {
    let ((m, k), (_, n)) = (la.dims(), lb.dims());
    let by_rows = n <= m;
    let lines = if by_rows { m } else { n };
    let threads = rayon::current_num_threads().min(lines / MIN_LINES_PER_THREAD);
    if m * k * n < PARALLEL_MIN_WORK || threads < 2 {
        return gemm_large(out, a, la, b, lb);
    }
    let (c, x, y) = product_views(out, a, la, b, lb);
    // `c = x y` is the output itself or its transpose (see `gemm_large`).
    split_product(c, x, y, threads, by_rows == la.transposed);
}

/// `c = x y` computed in `parts` blocks of rows of `c` (and `x`) or of its
/// columns (and `y`), halved recursively over rayon's threads.
fn split_product(mut c: ViewMut<'_>, x: View<'_>, y: View<'_>, parts: usize, along_rows: bool) {
    if parts < 2 {
        c.gemm(1.0, &x, &y, 0.0);
        return;
    }
    let first = parts / 2;
    let lines = if along_rows { c.nrows() } else { c.ncols() };
    let cut = lines * first / parts;
    if along_rows {
        let (c1, c2) = c.rows_range_pair_mut(..cut, cut..);
        let (x1, x2) = (x.rows_range(..cut), x.rows_range(cut..));
        rayon::join(
            || split_product(c1, x1, y, first, true),
            || split_product(c2, x2, y, parts - first, true),
        );
    } else {
        let (c1, c2) = c.columns_range_pair_mut(..cut, cut..);
        let (y1, y2) = (y.columns_range(..cut), y.columns_range(cut..));
        rayon::join(
            || split_product(c1, x, y1, first, false),
            || split_product(c2, x, y2, parts - first, false),
        );
    }
}

/// The textbook loop, reading both operands through their strides.
fn gemm_small(out: &mut [f64], a: &[f64], la: Operand, b: &[f64], lb: Operand) {
    let ((m, k), (_, n)) = (la.dims(), lb.dims());
    let ((ra, ca), (rb, cb)) = (la.strides(), lb.strides());
    for (i, row) in out.chunks_exact_mut(n).enumerate().take(m) {
        for p in 0..k {
            let a_ip = a[i * ra + p * ca];
            for (j, o) in row.iter_mut().enumerate() {
                *o += a_ip * b[p * rb + j * cb];
            }
        }
    }
}

/// nalgebra's `gemm`, which hands matrices larger than 5 in each dimension to
/// `matrixmultiply::dgemm` with the views' strides, so transposed operands are
/// read in place. matrixmultiply is reached through nalgebra because its own
/// entry point is `unsafe` and this crate forbids unsafe code.
///
/// nalgebra 0.35's fallback for thinner products (a loop of column `axpy`s)
/// indexes out of bounds when its left operand's row stride is not 1, so the
/// product is oriented to avoid that: `C = op(A) op(B)` when A is read
/// transposed, else `C^T = op(B)^T op(A)^T` (written column-major, which is
/// `C` row-major) with B read as stored. That leaves `A op(B)^T` with B
/// transposed, which dgemm takes either way and [`gemm`] copies when thin.
fn gemm_large(out: &mut [f64], a: &[f64], la: Operand, b: &[f64], lb: Operand) {
    debug_assert!({
        let ((m, k), (_, n)) = (la.dims(), lb.dims());
        la.transposed || !lb.transposed || m.min(k).min(n) > NALGEBRA_SMALL_DIM
    });
    let (mut c, x, y) = product_views(out, a, la, b, lb);
    c.gemm(1.0, &x, &y, 0.0);
}

type View<'a> = DMatrixView<'a, f64, Dyn, Dyn>;
type ViewMut<'a> = DMatrixViewMut<'a, f64, Dyn, Dyn>;

/// `out`, `op(a)` and `op(b)` as views `c = x y` in the orientation
/// [`gemm_large`] describes: `c` is `out` (`m x n` row-major) when `a` is
/// read transposed, else its transpose (`n x m`, column-major).
fn product_views<'a>(
    out: &'a mut [f64],
    a: &'a [f64],
    la: Operand,
    b: &'a [f64],
    lb: Operand,
) -> (ViewMut<'a>, View<'a>, View<'a>) {
    let ((m, _), (_, n)) = (la.dims(), lb.dims());
    if la.transposed {
        let c = ViewMut::from_slice_with_strides_mut(out, m, n, n, 1);
        (c, view(a, la), view(b, lb))
    } else {
        let c = ViewMut::from_slice_with_strides_mut(out, n, m, 1, n);
        (c, view(b, lb.flipped()), view(a, la.flipped()))
    }
}

/// A matrix view of `data` read as `operand` says.
fn view(data: &[f64], operand: Operand) -> View<'_> {
    let ((rows, cols), (rs, cs)) = (operand.dims(), operand.strides());
    View::from_slice_with_strides(data, rows, cols, rs, cs)
}

/// A dot product over four independent partial sums, which the compiler can
/// keep in vector registers (a single running sum is a serial dependency).
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let (a_blocks, b_blocks) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a_blocks
        .remainder()
        .iter()
        .zip(b_blocks.remainder())
        .map(|(p, q)| p * q)
        .sum();
    let mut lanes = [0.0; 4];
    for (p, q) in a_blocks.zip(b_blocks) {
        for ((lane, x), y) in lanes.iter_mut().zip(p).zip(q) {
            *lane += x * y;
        }
    }
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + tail
}

/// The kernel of the matrix products of `matmul.rs` (`matmul_t`): one
/// product per position of the broadcast batch.
#[derive(Clone)]
pub(super) struct Product {
    name: &'static str,
    la: Operand,
    lb: Operand,
    batch: Shape,
    batch_strides: [SmallVec<[usize; 4]>; 2],
    pub(super) shape: Shape,
}

impl Product {
    #[track_caller]
    pub(super) fn new(
        op: &'static str,
        a: &Tensor,
        b: &Tensor,
        transpose_a: bool,
        transpose_b: bool,
    ) -> Product {
        let (la, lb) = (Operand::of(a, transpose_a), Operand::of(b, transpose_b));
        let ((m, k), (k_b, n)) = (la.dims(), lb.dims());
        assert!(
            k == k_b,
            "{op}: shapes {} and {} do not align",
            a.shape(),
            b.shape()
        );
        let (batch_a, batch_b) = (&a.shape()[..a.ndim() - 2], &b.shape()[..b.ndim() - 2]);
        // Not `unwrap_or_else`: a closure would not pass on the caller's location.
        let Some(batch) = broadcast_shapes(batch_a, batch_b) else {
            panic!(
                "{op}: batch dimensions of shapes {} and {} do not broadcast",
                a.shape(),
                b.shape()
            );
        };
        let mut shape = batch.clone();
        shape.push(m);
        shape.push(n);
        Product {
            name: op,
            la,
            lb,
            batch_strides: [
                broadcast_strides(batch_a, &batch),
                broadcast_strides(batch_b, &batch),
            ],
            batch,
            shape,
        }
    }
}

impl Kernel for Product {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let (la, lb) = (self.la, self.lb);
        let ((m, k), (_, n)) = (la.dims(), lb.dims());
        // dgemm writes every output value without reading it; the small
        // loop adds to zeros.
        if out.is_empty() || k == 0 || m * k * n < DGEMM_MIN_WORK {
            out.fill(0.0);
        }
        if out.is_empty() || k == 0 {
            return;
        }
        let (x, y) = (inputs[0], inputs[1]);
        let [sa, sb] = &self.batch_strides;
        let product = |o: &mut [f64], p: usize, q: usize| {
            let a_matrix = &x[p * la.numel()..(p + 1) * la.numel()];
            let b_matrix = &y[q * lb.numel()..(q + 1) * lb.numel()];
            gemm(o, a_matrix, la, b_matrix, lb);
        };
        let (each, count) = (m * k * n, self.batch.numel());
        if count > 1 && each < PARALLEL_MIN_WORK && each * count >= PARALLEL_MIN_WORK {
            // A batch of products too small to split each: the products
            // themselves go to rayon's threads, each computed as alone.
            let mut operands = Vec::with_capacity(count);
            for_each_offset_pair(&self.batch, sa, sb, |_, p, q| operands.push((p, q)));
            out.par_chunks_mut(m * n)
                .zip(operands)
                .for_each(|(o, (p, q))| product(o, p, q));
            return;
        }
        for_each_offset_pair(&self.batch, sa, sb, |i, p, q| {
            product(&mut out[i * m * n..(i + 1) * m * n], p, q)
        });
    }
}

/// Matrix-vector products with at least this many multiply-adds share
/// their rows between rayon's threads (each row's sum is its own, so the
/// bits do not change).
const PARALLEL_ROWS_MIN_WORK: usize = 1 << 18;

/// A vector times a matrix sums its rows in blocks of this many, each
/// block's sums added to the total in order, so that the blocks can be
/// shared between threads with the same bits on any number of them.
const VECMAT_BLOCK_ROWS: usize = 4096;

/// The kernel of a matrix times a vector (`matvec`): `m` rows of `k` values, each dotted with the
/// vector.
#[derive(Clone)]
pub(super) struct MatVec {
    pub(super) k: usize,
}

impl Kernel for MatVec {
    fn name(&self) -> &'static str {
        "matvec"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        if self.k == 0 {
            out.fill(0.0);
            return;
        }
        let (a, x) = (inputs[0], inputs[1]);
        let rows = |out: &mut [f64], a: &[f64]| {
            for (o, row) in out.iter_mut().zip(a.chunks_exact(self.k)) {
                *o = dot(row, x);
            }
        };
        if a.len() < PARALLEL_ROWS_MIN_WORK || rayon::current_num_threads() < 2 {
            return rows(out, a);
        }
        let per_task = (PARALLEL_ROWS_MIN_WORK / 4 / self.k).max(1);
        out.par_chunks_mut(per_task)
            .zip(a.par_chunks(per_task * self.k))
            .for_each(|(o, a)| rows(o, a));
    }
}

/// The kernel of a vector times a matrix (`vecmat`): the rows of the matrix, `n` values each,
/// scaled by the vector and summed, one contiguous pass each, in blocks of
/// [`VECMAT_BLOCK_ROWS`] rows.
#[derive(Clone)]
pub(super) struct VecMat {
    pub(super) n: usize,
}

impl VecMat {
    /// `x @ a` for one block of rows into `out`.
    fn block(&self, x: &[f64], a: &[f64], out: &mut [f64]) {
        out.fill(0.0);
        for (&scale, row) in x.iter().zip(a.chunks_exact(self.n)) {
            for (o, v) in out.iter_mut().zip(row) {
                *o += scale * v;
            }
        }
    }
}

impl Kernel for VecMat {
    fn name(&self) -> &'static str {
        "vecmat"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let (x, a) = (inputs[0], inputs[1]);
        if self.n == 0 || x.len() <= VECMAT_BLOCK_ROWS {
            if self.n > 0 {
                self.block(x, a, out);
            }
            return;
        }
        let rows = a
            .chunks(VECMAT_BLOCK_ROWS * self.n)
            .zip(x.chunks(VECMAT_BLOCK_ROWS));
        let parallel = a.len() >= PARALLEL_ROWS_MIN_WORK && rayon::current_num_threads() > 1;
        let mut partial = vec![0.0; x.len().div_ceil(VECMAT_BLOCK_ROWS) * self.n];
        match parallel {
            true => partial
                .par_chunks_mut(self.n)
                .zip(rows.collect::<Vec<_>>())
                .for_each(|(o, (a, x))| self.block(x, a, o)),
            false => partial
                .chunks_mut(self.n)
                .zip(rows)
                .for_each(|(o, (a, x))| self.block(x, a, o)),
        }
        let mut blocks = partial.chunks_exact(self.n);
        out.copy_from_slice(blocks.next().expect("more than one block"));
        for block in blocks {
            for (o, v) in out.iter_mut().zip(block) {
                *o += v;
            }
        }
    }
}

/// The kernel of [`Tensor::outer`]: each value of the first vector times
/// the second.
#[derive(Clone)]
pub(super) struct Outer;

impl Kernel for Outer {
    fn name(&self) -> &'static str {
        "outer"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let (a, b) = (inputs[0], inputs[1]);
        if b.is_empty() {
            return;
        }
        for (row, &p) in out.chunks_exact_mut(b.len()).zip(a) {
            for (o, &q) in row.iter_mut().zip(b) {
                *o = p * q;
            }
        }
    }
}
