//! Kernels: an op's forward computation on plain values, written once and
//! used both by the op itself and by compiled programs, which run it again
//! on their own buffers.

use crate::shape::Shape;
use crate::tensor::Tensor;
use smallvec::SmallVec;
use std::ops::Range;

/// An op's forward computation: the output values from the input values,
/// with every shape it needs fixed when the op was first run.
///
/// `run` must write every value of `out`, whose contents are arbitrary
/// beforehand, and must give the same bits as the op itself: a compiled
/// program is checked against the function it was traced from.
pub(crate) trait Kernel: Send + Sync + 'static {
    /// The op's name, for profiles and messages.
    fn name(&self) -> &'static str;

    /// Writes the output values into `out`.
    fn run(&self, inputs: &[&[f64]], out: &mut [f64]);

    /// When the output is a contiguous run of the one input's values, of
    /// `input_len` values (a reshape, a row, a part of a packed complex
    /// tensor): where that run lies, so that a program reads it in place
    /// instead of copying it.
    fn view(&self, input_len: usize) -> Option<Range<usize>> {
        let _ = input_len;
        None
    }

    /// Whether every input is either as long as the output and read at the
    /// same positions, or a single value read for every position, so that
    /// `run` on a contiguous part of the output, given the same part of each
    /// long input, computes that part: a program may then run the kernel
    /// part by part, fused with its neighbours (`compile/fuse.rs`).
    fn elementwise(&self) -> bool {
        false
    }

    /// Whether the kernel adds up its one input into one value, as
    /// [`full_sum`](crate::ops::broadcast::full_sum) does, so that a fused
    /// program may add the parts as it computes them.
    fn full_sum(&self) -> bool {
        false
    }
}

/// Runs `kernel` on the values of `inputs` into a new tensor of `shape`,
/// for an op that records `kernel` with its output (so reading traced
/// inputs here is no value read: the program runs the kernel again). An
/// input whose values are not computed yet (a run for shapes only) defers
/// the output as well.
pub(crate) fn eval_recorded<K: Kernel + Clone>(kernel: &K, inputs: &[&Tensor], shape: Shape) -> Tensor {
    let mut values: SmallVec<[&[f64]; 4]> = SmallVec::new();
    for t in inputs {
        let Some(data) = t.computed_data() else {
            return Tensor::deferred(Box::new(kernel.clone()), inputs, shape);
        };
        values.push(data);
    }
    Tensor::from_kernel(shape, |out| kernel.run(&values, out))
}

/// An elementwise function of one input.
#[derive(Clone)]
pub(crate) struct Map<F> {
    pub(crate) name: &'static str,
    pub(crate) f: F,
}

impl<F: Fn(f64) -> f64 + Clone + Send + Sync + 'static> Kernel for Map<F> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        for (o, &x) in out.iter_mut().zip(inputs[0]) {
            *o = (self.f)(x);
        }
    }

    fn elementwise(&self) -> bool {
        true
    }
}

/// An elementwise function computed over a whole slice at once, for
/// functions written to vectorise (see `ops/elementary.rs`).
#[derive(Clone)]
pub(crate) struct SliceMap {
    pub(crate) name: &'static str,
    pub(crate) f: fn(&[f64], &mut [f64]),
}

impl Kernel for SliceMap {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        (self.f)(inputs[0], out);
    }

    fn elementwise(&self) -> bool {
        true
    }
}

/// A copy of the one input: reshapes, and views a program must keep apart.
#[derive(Clone)]
pub(crate) struct Copy;

impl Kernel for Copy {
    fn name(&self) -> &'static str {
        "copy"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        out.copy_from_slice(inputs[0]);
    }

    fn view(&self, input_len: usize) -> Option<Range<usize>> {
        Some(0..input_len)
    }

    fn elementwise(&self) -> bool {
        true
    }
}
