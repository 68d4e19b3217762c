//! Transforms along an axis other than the last, run on a copy with that
//! axis moved last.
//!
//! Reading a lane whose values lie a row apart touches a cache line per
//! value, and a 512 x 512 transform along its first axis evicted each line
//! before the next lane came back for its neighbour: copying lanes in and
//! out was 40 % of a 2-D log-normal field's gradient. Transposing the
//! array in tiles instead, transforming contiguous lanes, and transposing
//! back reads and writes every line once. Each lane is transformed from
//! the same values in the same way, so the bits are those of the walk
//! through strides.

use super::layout::transpose_matrices;
use crate::buffer_pool;
use crate::shape::Shape;
use rustfft::num_complex::Complex64;

/// The lanes along one axis of a complex value held as two real arrays, as
/// `outer` blocks of a `len x inner` matrix whose columns are the lanes.
pub(crate) struct LaneBlocks {
    outer: usize,
    len: usize,
    inner: usize,
}

/// The side of the square tiles lanes are gathered and scattered in.
const TILE: usize = 8;

impl LaneBlocks {
    pub(crate) fn new(dims: &[usize], axis: usize) -> LaneBlocks {
        LaneBlocks {
            outer: dims[..axis].iter().product(),
            len: dims[axis],
            inner: dims[axis + 1..].iter().product(),
        }
    }

    /// Visits `(position in the two arrays, position in the lanes)` of
    /// every value: the arrays' block `o`, row `j`, column `i` is value `j`
    /// of lane `o * inner + i`. Tiles keep both walks in the cache.
    fn for_each(&self, mut f: impl FnMut(usize, usize)) {
        let (len, inner) = (self.len, self.inner);
        for o in 0..self.outer {
            let base = o * len * inner;
            for j0 in (0..len).step_by(TILE) {
                for i0 in (0..inner).step_by(TILE) {
                    for j in j0..(j0 + TILE).min(len) {
                        for i in i0..(i0 + TILE).min(inner) {
                            f(base + j * inner + i, base + i * len + j);
                        }
                    }
                }
            }
        }
    }

    /// The lanes of `re + i im`, one after another.
    pub(crate) fn gather(&self, re: &[f64], im: &[f64]) -> Vec<Complex64> {
        if self.inner == 1 {
            return re.iter().zip(im).map(|(&a, &b)| Complex64::new(a, b)).collect();
        }
        let mut lanes = vec![Complex64::default(); re.len()];
        self.for_each(|array, lane| lanes[lane] = Complex64::new(re[array], im[array]));
        lanes
    }

    /// `scale` times the lanes of `values`, back in place in `re` and `im`.
    pub(crate) fn scatter(&self, values: &[Complex64], scale: f64, re: &mut [f64], im: &mut [f64]) {
        if self.inner == 1 {
            for ((r, i), v) in re.iter_mut().zip(im.iter_mut()).zip(values) {
                (*r, *i) = (v.re * scale, v.im * scale);
            }
            return;
        }
        self.for_each(|array, lane| {
            (re[array], im[array]) = (values[lane].re * scale, values[lane].im * scale);
        });
    }
}

/// Whether the lanes along `axis` of `dims` are contiguous (the last axis,
/// or one with only single-element axes after it).
pub(crate) fn lanes_are_contiguous(dims: &[usize], axis: usize) -> bool {
    dims[axis + 1..].iter().product::<usize>() == 1
}

/// Transforms of at least this many values share their lanes between two
/// threads: below it, waking the second thread costs more than it saves.
/// At 2^14 a 128 x 128 log-normal field's compiled gradient took 1.35
/// times as long on two threads as on one (medians of eight interleaved
/// runs, `benches/workloads.rs`), the halves being too short to pay for a
/// second core that other jobs also use.
const PARALLEL_MIN_VALUES: usize = 1 << 16;

/// For the contiguous lanes along the last `axis` of `dims` (`len` values
/// in all), when there are enough values and threads to share them: the
/// shapes of the first and of the second half of the lanes, and the
/// position of the cut.
pub(crate) fn halves(dims: &[usize], axis: usize, len: usize) -> Option<(Shape, Shape, usize)> {
    let n = dims[axis];
    let lanes = len / n.max(1);
    if len < PARALLEL_MIN_VALUES || lanes < 2 || rayon::current_num_threads() < 2 {
        return None;
    }
    let first = lanes / 2;
    Some((
        Shape::from([first, n]),
        Shape::from([lanes - first, n]),
        first * n,
    ))
}

/// `dims` with `axis` moved to the end.
pub(crate) fn axis_last(dims: &[usize], axis: usize) -> Shape {
    let mut moved: Shape = dims[..axis]
        .iter()
        .chain(&dims[axis + 1..])
        .copied()
        .collect::<Vec<_>>()
        .into();
    moved.push(dims[axis]);
    moved
}

/// Runs `run(input, out)` on copies of `input` and `out` with `axis` moved
/// last, then moves it back into place in `out`. `input` holds `parts`
/// arrays of shape `dims_in` one after another (2 for a packed complex
/// value) and `out` as many of `dims_out`, which differ from `dims_in` at
/// most along `axis`.
pub(crate) fn with_axis_last(
    dims_in: &[usize],
    dims_out: &[usize],
    axis: usize,
    [parts_in, parts_out]: [usize; 2],
    input: &[f64],
    out: &mut [f64],
    run: impl FnOnce(&[f64], &mut [f64]),
) {
    let outer: usize = dims_in[..axis].iter().product();
    let inner: usize = dims_in[axis + 1..].iter().product();
    let swap = |src: &[f64], dst: &mut [f64], parts: usize, rows: usize, cols: usize| {
        let shape = Shape::from([outer, rows, cols]);
        let len = src.len() / parts.max(1);
        for (from, to) in src.chunks_exact(len.max(1)).zip(dst.chunks_exact_mut(len.max(1))) {
            transpose_matrices(from, &shape, to);
        }
    };
    let mut moved_in = buffer_pool::for_overwrite(input.len());
    let mut moved_out = buffer_pool::for_overwrite(out.len());
    swap(input, &mut moved_in, parts_in, dims_in[axis], inner);
    run(&moved_in, &mut moved_out);
    swap(&moved_out, out, parts_out, inner, dims_out[axis]);
    buffer_pool::give_back(moved_in);
    buffer_pool::give_back(moved_out);
}

#[cfg(test)]
mod tests {
    use crate::ops::fft::test_signal;
    use crate::{Tensor, fft_axis, ifft_axis, irfft_axis, rfft_axis, value_and_grad};

    /// The bits of each value.
    fn bits(t: &Tensor) -> Vec<u64> {
        t.as_slice().iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn transforms_along_a_leading_axis_give_the_bits_of_the_same_lanes_made_last() {
        // Along axis 0 of [6, 5, 4], against the same lanes laid out last
        // with an explicit permutation: real and complex transforms, their
        // inverses and the gradients (whose adjoints move their axis too).
        let x = test_signal(&[6, 5, 4], 0.3);
        let last = |t: &Tensor| t.permute(&[1, 2, 0]);
        let back = |t: &Tensor| t.permute(&[2, 0, 1]);
        let real = fft_axis(&x, 0);
        let real_last = fft_axis(last(&x), -1);
        assert_eq!(bits(real.re()), bits(&back(real_last.re())));
        assert_eq!(bits(real.im()), bits(&back(real_last.im())));
        let complex = ifft_axis(real.clone(), 0);
        let complex_last = ifft_axis(crate::Complex::new(last(real.re()), last(real.im())), -1);
        assert_eq!(bits(complex.re()), bits(&back(complex_last.re())));
        let half = rfft_axis(&x, 0);
        let half_last = rfft_axis(&last(&x), -1);
        assert_eq!(bits(half.re()), bits(&back(half_last.re())));
        let round_trip = irfft_axis(half, 6, 0);
        assert_eq!(bits(&round_trip), bits(&back(&irfft_axis(half_last, 6, -1))));
        let loss = |x: &Tensor| (fft_axis(x, 0).abs2() * x.sin()).sum();
        let loss_last = |x: &Tensor| (fft_axis(x, -1).abs2() * x.sin()).sum();
        let (g, g_last) = (value_and_grad(loss, &x).1, value_and_grad(loss_last, &last(&x)).1);
        assert_eq!(bits(&g), bits(&back(&g_last)));
    }

    #[test]
    fn long_transforms_give_the_same_bits_on_any_number_of_threads() {
        // 4 x 128 x 160 values: enough to share lanes between threads,
        // along every axis, with the gradient's adjoint transforms.
        let x = test_signal(&[4, 128, 160], 1.7);
        assert!(x.numel() >= super::PARALLEL_MIN_VALUES);
        let transforms = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut all = Vec::new();
                for axis in 0..3 {
                    let loss = |x: &Tensor| (fft_axis(x, axis).abs2() * x.cos()).sum();
                    all.push(bits(&value_and_grad(loss, &x).1));
                    all.push(bits(fft_axis(crate::Complex::new(x.clone(), x.sin()), axis).im()));
                }
                all
            })
        };
        assert_eq!(transforms(1), transforms(3));
    }
}
