//! Matrix products with a narrow output: `[m, k] @ [k, n]` with `n` and
//! either `k` or `m` at most [`NARROW`], as a batch of small factors makes
//! them (each of `k` mixture components times its points, and the
//! gradient's products with a transposed operand). dgemm packs its operands
//! for blocks these products do not have, and nalgebra's fallback for them
//! walks one column at a time; these loops keep a row (or the whole output)
//! in registers instead.
//!
//! Each output value is summed over the inner dimension in order, from 0,
//! as the textbook loop for small products does, so these give its bits
//! whatever the sizes. The loops have an AVX2 copy (`simd.rs`).

use super::gemm::Operand;
use crate::simd::dispatch_avx2;

/// The widest output (and the shortest side) these loops take.
pub(super) const NARROW: usize = 8;

/// Whether `[m, k] @ [k, n]` is narrow enough for [`narrow_gemm`].
pub(super) fn is_narrow(m: usize, k: usize, n: usize) -> bool {
    n <= NARROW && (k <= NARROW || m <= NARROW)
}

dispatch_avx2! {
    /// `op(a) @ op(b)` row-major into `out` (every value written) for a
    /// narrow product ([`is_narrow`]).
    pub(super) fn narrow_gemm(out: &mut [f64], a: &[f64], la: Operand, b: &[f64], lb: Operand) => narrow
}

#[inline(always)]
fn narrow(out: &mut [f64], a: &[f64], la: Operand, b: &[f64], lb: Operand) {
    let ((_, k), (_, n)) = (la.dims(), lb.dims());
    let short_inner = k <= NARROW;
    macro_rules! by_width {
        ($($n:literal)*) => {
            match n {
                $($n if short_inner => rows::<$n>(out, a, la, b, lb),
                  $n => columns::<$n>(out, a, la, b, lb),)*
                _ => unreachable!("narrow products are at most {NARROW} wide"),
            }
        };
    }
    by_width!(1 2 3 4 5 6 7 8);
}

/// Row by row, each of `N` values summed in registers over the short inner
/// dimension.
#[inline(always)]
fn rows<const N: usize>(out: &mut [f64], a: &[f64], la: Operand, b: &[f64], lb: Operand) {
    let ((m, k), ((ra, ca), (rb, cb))) = (la.dims(), (la.strides(), lb.strides()));
    let mut factor = [[0.0; N]; NARROW];
    for (p, row) in factor.iter_mut().enumerate().take(k) {
        for (j, v) in row.iter_mut().enumerate() {
            *v = b[p * rb + j * cb];
        }
    }
    for (i, o) in out.chunks_exact_mut(N).enumerate().take(m) {
        let mut acc = [0.0; N];
        for (p, row) in factor.iter().enumerate().take(k) {
            let a_ip = a[i * ra + p * ca];
            for (s, &v) in acc.iter_mut().zip(row) {
                *s += a_ip * v;
            }
        }
        o.copy_from_slice(&acc);
    }
}

/// The whole `m x N` output in registers, summed over the long inner
/// dimension in order.
#[inline(always)]
fn columns<const N: usize>(out: &mut [f64], a: &[f64], la: Operand, b: &[f64], lb: Operand) {
    let ((m, k), ((ra, ca), (rb, cb))) = (la.dims(), (la.strides(), lb.strides()));
    let mut acc = [[0.0; N]; NARROW];
    for p in 0..k {
        let mut b_row = [0.0; N];
        for (j, v) in b_row.iter_mut().enumerate() {
            *v = b[p * rb + j * cb];
        }
        for (i, row) in acc.iter_mut().enumerate().take(m) {
            let a_ip = a[i * ra + p * ca];
            for (s, &v) in row.iter_mut().zip(&b_row) {
                *s += a_ip * v;
            }
        }
    }
    for (o, row) in out.chunks_exact_mut(N).zip(&acc) {
        o.copy_from_slice(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tensor;

    fn sample(shape: &[usize], shift: f64) -> Tensor {
        let n: usize = shape.iter().product();
        let data = (0..n).map(|i| (i as f64 * 0.37 + shift).sin() * 1.3).collect();
        Tensor::from_vec(data, shape).unwrap()
    }

    /// `op(a) @ op(b)` summed over the inner dimension in order from 0, one
    /// value at a time.
    fn textbook(a: &Tensor, b: &Tensor, ta: bool, tb: bool) -> Vec<f64> {
        let (la, lb) = (Operand::of(a, ta), Operand::of(b, tb));
        let ((m, k), (_, n), ((ra, ca), (rb, cb))) = (la.dims(), lb.dims(), (la.strides(), lb.strides()));
        let (a, b) = (a.as_slice(), b.as_slice());
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    out[i * n + j] += a[i * ra + p * ca] * b[p * rb + j * cb];
                }
            }
        }
        out
    }

    #[test]
    fn narrow_products_give_the_textbook_loop_s_bits() {
        // Short inner dimensions with many rows, long ones with few, every
        // width up to NARROW, every transposition.
        for (m, k, n) in [
            (1000, 5, 5),
            (37, 1, 8),
            (3, 2000, 4),
            (8, 8, 1),
            (5, 300, 7),
            (2, 3, 2),
        ] {
            assert!(is_narrow(m, k, n));
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = sample(&if ta { [k, m] } else { [m, k] }, 0.2);
                let b = sample(&if tb { [n, k] } else { [k, n] }, 1.1);
                let mut out = vec![f64::NAN; m * n];
                narrow_gemm(
                    &mut out,
                    a.as_slice(),
                    Operand::of(&a, ta),
                    b.as_slice(),
                    Operand::of(&b, tb),
                );
                assert_eq!(out, textbook(&a, &b, ta, tb), "({m}, {k}, {n}), {ta}, {tb}");
            }
        }
    }

    #[test]
    fn a_batch_of_products_shared_between_threads_gives_the_same_bits() {
        // 20 products of 4000 x 5 x 5: each small, together past the
        // threshold for threads.
        let (a, b) = (sample(&[20, 4000, 5], 0.3), sample(&[20, 5, 5], 1.7));
        let product = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| a.matmul(&b).to_vec())
        };
        let one = product(1);
        assert_eq!(one, product(3));
        let first = textbook(&a.select(0, 0), &b.select(0, 0), false, false);
        assert_eq!(one[..first.len()], first[..]);
    }
}
