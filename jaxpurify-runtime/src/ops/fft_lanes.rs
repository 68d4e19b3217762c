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

/// Whether the lanes along `axis` of `dims` are contiguous (the last axis,
/// or one with only single-element axes after it).
pub(crate) fn lanes_are_contiguous(dims: &[usize], axis: usize) -> bool {
    dims[axis + 1..].iter().product::<usize>() == 1
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
}
