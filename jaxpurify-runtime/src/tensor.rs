//! The tensor type: n-dimensional f64 values, row-major, shared and immutable.

use crate::autodiff::graph::{Tracks, copy_tracks, note_value_read};
use crate::compile::kernel::Kernel;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::storage::Storage;

/// An n-dimensional array of `f64` in row-major order.
///
/// Cloning is cheap: the values are shared and never mutated. A tensor that
/// depends on the variables of a running differentiation also carries the
/// graph needed to differentiate it; every other tensor is plain data.
///
/// ```
/// use jaxpurify_runtime::Tensor;
/// let x = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
/// assert_eq!(x.shape(), &[2, 2]);
/// assert_eq!((&x * 2.0).to_vec(), vec![2.0, 4.0, 6.0, 8.0]);
/// ```
pub struct Tensor {
    data: Storage,
    shape: Shape,
    tracks: Tracks,
}

impl Clone for Tensor {
    /// Shares the values and copies the tracks, if any.
    fn clone(&self) -> Tensor {
        Tensor {
            data: self.data.clone(),
            shape: self.shape.clone(),
            tracks: copy_tracks(&self.tracks),
        }
    }
}

impl Tensor {
    /// A tensor from row-major `data` and a shape; fails when the length does
    /// not match the shape.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3])?;
    /// assert_eq!(t.get(&[1, 0]), 4.0);
    /// assert!(Tensor::from_vec(vec![1.0], [2]).is_err());
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn from_vec(data: Vec<f64>, shape: impl Into<Shape>) -> Result<Tensor> {
        let shape = shape.into();
        let expected = shape.numel();
        if data.len() != expected {
            return Err(Error::DataLength {
                shape,
                expected,
                actual: data.len(),
            });
        }
        Ok(Tensor::from_parts(data, shape))
    }

    /// Builds a tensor whose length is known to match; for op implementations.
    pub(crate) fn from_parts(data: Vec<f64>, shape: Shape) -> Tensor {
        debug_assert_eq!(data.len(), shape.numel(), "data length must match {shape}");
        Tensor {
            data: Storage::from_vec(data),
            shape,
            tracks: Tracks::new(),
        }
    }

    /// Builds a tensor from exactly `shape.numel()` values; small ones are
    /// stored without allocating, large ones in a pooled buffer.
    pub(crate) fn collect_parts(values: impl Iterator<Item = f64>, shape: Shape) -> Tensor {
        Tensor {
            data: Storage::from_values(values, shape.numel()),
            shape,
            tracks: Tracks::new(),
        }
    }

    /// A tensor of `shape` whose values `write` fills (every one of them).
    pub(crate) fn from_kernel(shape: Shape, write: impl FnOnce(&mut [f64])) -> Tensor {
        Tensor {
            data: Storage::written(shape.numel(), write),
            shape,
            tracks: Tracks::new(),
        }
    }

    /// Zeros of `shape` whose values are made only if read: what a model's
    /// body runs on when only its shapes are asked for.
    pub(crate) fn deferred_zeros(shape: Shape) -> Tensor {
        Tensor {
            data: Storage::deferred_zeros(shape.numel()),
            shape,
            tracks: Tracks::new(),
        }
    }

    /// The output of shape `shape` of an op whose input values are not
    /// computed yet: `kernel` computes it when it is read.
    pub(crate) fn deferred(kernel: Box<dyn Kernel>, inputs: &[&Tensor], shape: Shape) -> Tensor {
        let inputs = inputs.iter().map(|t| t.data.clone()).collect();
        Tensor {
            data: Storage::deferred(shape.numel(), kernel, inputs),
            shape,
            tracks: Tracks::new(),
        }
    }

    /// The values, unless they are deferred and not computed yet.
    #[inline]
    pub(crate) fn computed_data(&self) -> Option<&[f64]> {
        self.data.computed()
    }

    /// A scalar (shape `[]`).
    pub fn scalar(value: f64) -> Tensor {
        Tensor::collect_parts(std::iter::once(value), Shape::scalar())
    }

    /// A tensor of the given shape filled with `value`.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// assert_eq!(Tensor::full([2], 7.0).to_vec(), vec![7.0, 7.0]);
    /// ```
    pub fn full(shape: impl Into<Shape>, value: f64) -> Tensor {
        let shape = shape.into();
        Tensor::collect_parts(std::iter::repeat_n(value, shape.numel()), shape)
    }

    /// Zeros of the given shape.
    pub fn zeros(shape: impl Into<Shape>) -> Tensor {
        Tensor::full(shape, 0.0)
    }

    /// Ones of the given shape.
    pub fn ones(shape: impl Into<Shape>) -> Tensor {
        Tensor::full(shape, 1.0)
    }

    /// Zeros with this tensor's shape.
    pub fn zeros_like(&self) -> Tensor {
        Tensor::zeros(self.shape.clone())
    }

    /// Ones with this tensor's shape.
    pub fn ones_like(&self) -> Tensor {
        Tensor::ones(self.shape.clone())
    }

    /// `n` evenly spaced values from `start` to `end`, both included (NumPy's
    /// `linspace`).
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// assert_eq!(Tensor::linspace(0.0, 1.0, 5).to_vec(), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    /// ```
    pub fn linspace(start: f64, end: f64, n: usize) -> Tensor {
        let step = if n > 1 {
            (end - start) / (n - 1) as f64
        } else {
            0.0
        };
        let mut data: Vec<f64> = (0..n).map(|i| start + step * i as f64).collect();
        if n > 1 {
            data[n - 1] = end;
        }
        Tensor::from_parts(data, Shape::from(n))
    }

    /// Values `start, start + step, ...` below `end` (NumPy's `arange`).
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// assert_eq!(Tensor::arange(0.0, 3.0, 1.0).to_vec(), vec![0.0, 1.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn arange(start: f64, end: f64, step: f64) -> Tensor {
        assert!(
            step != 0.0 && step.is_finite(),
            "arange: step must be finite and non-zero, got {step}"
        );
        let n = ((end - start) / step).ceil().max(0.0) as usize;
        let data: Vec<f64> = (0..n).map(|i| start + step * i as f64).collect();
        Tensor::from_parts(data, Shape::from(n))
    }

    /// The `n` by `n` identity matrix.
    pub fn eye(n: usize) -> Tensor {
        let mut data = vec![0.0; n * n];
        for i in 0..n {
            data[i * n + i] = 1.0;
        }
        Tensor::from_parts(data, Shape::from([n, n]))
    }

    /// The shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// Number of dimensions (0 for a scalar).
    pub fn ndim(&self) -> usize {
        self.shape.ndim()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// Size of the first axis, like Python's `len`.
    ///
    /// # Panics
    /// On a scalar, which has no first axis.
    #[track_caller]
    pub fn len(&self) -> usize {
        assert!(self.ndim() > 0, "len: a scalar has no first axis");
        self.shape[0]
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.data.len() == 0
    }

    /// The value of a one-element tensor.
    ///
    /// # Panics
    /// When the tensor does not hold exactly one element.
    #[track_caller]
    pub fn item(&self) -> f64 {
        assert!(
            self.numel() == 1,
            "item: expected a tensor with one element, got shape {}",
            self.shape
        );
        self.note_read("item");
        self.data.as_slice()[0]
    }

    /// The element at a multi-index.
    ///
    /// # Panics
    /// When the index has the wrong length or is out of bounds.
    #[track_caller]
    pub fn get(&self, index: &[usize]) -> f64 {
        assert!(
            index.len() == self.ndim() && index.iter().zip(self.shape.iter()).all(|(i, d)| i < d),
            "get: index {index:?} is out of bounds for shape {}",
            self.shape
        );
        let offset: usize = index.iter().zip(self.shape.strides()).map(|(i, s)| i * s).sum();
        self.note_read("get");
        self.data.as_slice()[offset]
    }

    /// The values in row-major order.
    ///
    /// Inside a function being [`compile`](crate::compile())d, reading the
    /// values of a tensor that depends on its inputs makes compiling fail
    /// (naming this call's place): the compiled program could not repeat a
    /// decision taken on them.
    #[track_caller]
    pub fn as_slice(&self) -> &[f64] {
        self.note_read("as_slice");
        self.data.as_slice()
    }

    /// Notes that `what` (a method reading values) read them at the
    /// caller's place, for a trace.
    #[track_caller]
    pub(crate) fn note_read(&self, what: &'static str) {
        if !self.tracks.is_empty() {
            note_value_read(&self.tracks, what, std::panic::Location::caller());
        }
    }

    /// The values, for an op that computes with them in its kernel (which a
    /// compiled program runs again), or that only shows them.
    pub(crate) fn data(&self) -> &[f64] {
        self.data.as_slice()
    }

    /// A copy of the values in row-major order.
    #[track_caller]
    pub fn to_vec(&self) -> Vec<f64> {
        self.note_read("to_vec");
        self.data.as_slice().to_vec()
    }

    /// Takes the values, copying only when they are shared.
    #[track_caller]
    pub fn into_vec(self) -> Vec<f64> {
        self.note_read("into_vec");
        self.data.into_vec()
    }

    /// Whether this tensor depends on the variables of a running
    /// differentiation (and so carries a recorded graph).
    pub fn is_tracked(&self) -> bool {
        !self.tracks.is_empty()
    }

    /// The same values with no recorded graph: gradients do not flow through
    /// the result (JAX's `stop_gradient`).
    ///
    /// ```
    /// use jaxpurify_runtime::{grad, Tensor};
    /// let g = grad(|x: &Tensor| (x * &x.detach()).sum(), &Tensor::scalar(3.0));
    /// assert_eq!(g.item(), 3.0);
    /// ```
    ///
    /// Inside a function being [`compile`](crate::compile())d the result
    /// still depends on the function's inputs: only differentiation stops.
    pub fn detach(&self) -> Tensor {
        if self.tracks.is_empty() {
            return self.clone();
        }
        self.detached()
    }

    /// The same values with no tracks at all, not even a trace's.
    pub(crate) fn without_tracks(&self) -> Tensor {
        self.with_tracks(Tracks::new())
    }

    /// Same shape, new values computed element by element, not recorded.
    #[track_caller]
    pub(crate) fn map_values(&self, f: impl Fn(f64) -> f64) -> Tensor {
        Tensor::collect_parts(self.as_slice().iter().map(|&v| f(v)), self.shape.clone())
    }

    /// The same values viewed with another shape of equal size, not recorded
    /// for differentiation. A traced function's program holds values in
    /// row-major order whatever their shape, so the view keeps the tracks
    /// of a trace.
    pub(crate) fn with_shape(&self, shape: Shape) -> Tensor {
        debug_assert_eq!(shape.numel(), self.numel());
        Tensor {
            data: self.data.clone(),
            shape,
            tracks: self.trace_tracks(),
        }
    }

    pub(crate) fn tracks(&self) -> &Tracks {
        &self.tracks
    }

    pub(crate) fn with_tracks(&self, tracks: Tracks) -> Tensor {
        Tensor {
            data: self.data.clone(),
            shape: self.shape.clone(),
            tracks,
        }
    }

    /// The same values carrying `tracks`, without cloning them.
    pub(crate) fn into_tracked(mut self, tracks: Tracks) -> Tensor {
        self.tracks = tracks;
        self
    }
}

impl Default for Tensor {
    /// The scalar zero.
    fn default() -> Tensor {
        Tensor::scalar(0.0)
    }
}

impl From<f64> for Tensor {
    fn from(v: f64) -> Tensor {
        Tensor::scalar(v)
    }
}

impl From<Vec<f64>> for Tensor {
    /// A 1-d tensor.
    fn from(v: Vec<f64>) -> Tensor {
        let n = v.len();
        Tensor::from_parts(v, Shape::from(n))
    }
}

impl From<&[f64]> for Tensor {
    /// A 1-d tensor.
    fn from(v: &[f64]) -> Tensor {
        Tensor::from(v.to_vec())
    }
}

impl<const N: usize> From<[f64; N]> for Tensor {
    /// A 1-d tensor.
    fn from(v: [f64; N]) -> Tensor {
        Tensor::from(v.to_vec())
    }
}

impl<const N: usize, const M: usize> From<[[f64; M]; N]> for Tensor {
    /// A matrix with `N` rows of `M` columns.
    fn from(rows: [[f64; M]; N]) -> Tensor {
        let data: Vec<f64> = rows.iter().flatten().copied().collect();
        Tensor::from_parts(data, Shape::from([N, M]))
    }
}

impl From<&Tensor> for Tensor {
    fn from(t: &Tensor) -> Tensor {
        t.clone()
    }
}

impl PartialEq for Tensor {
    /// Equal shapes and equal values (NaN is unequal to itself, as for `f64`).
    /// Inside a function being [`compile`](crate::compile())d, comparing
    /// tensors that depend on its inputs reads their values: compiling then
    /// fails naming the line of the `==`.
    #[track_caller]
    fn eq(&self, other: &Tensor) -> bool {
        self.shape == other.shape && self.as_slice() == other.as_slice()
    }

    /// `!(self == other)`; written out so that `!=` names its own line too
    /// (the default method is not `#[track_caller]`).
    #[track_caller]
    #[allow(
        clippy::partialeq_ne_impl,
        reason = "the default `ne` would lose the caller's location"
    )]
    fn ne(&self, other: &Tensor) -> bool {
        !PartialEq::eq(self, other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile;

    #[test]
    fn comparing_traced_tensors_names_the_line_of_the_comparison() {
        let c = Tensor::from([1.0, 2.0]);
        let equal = |x: &Tensor| if *x == c { x.exp() } else { x.sin() };
        let equal_line = line!() - 1;
        let unequal = |x: &Tensor| if *x != c { x.exp() } else { x.sin() };
        let unequal_line = line!() - 1;
        let messages = [compile(equal, &c).err(), compile(unequal, &c).err()];
        for (message, line) in messages.into_iter().zip([equal_line, unequal_line]) {
            let message = message.expect("a value read").to_string();
            let site = format!("{}:{line}:", file!());
            assert!(message.contains(&site), "{message} does not name {site}");
        }
        // Between references, std's `==` stands between the line and ours.
        let by_reference = |x: &Tensor| if x == &c { x.exp() } else { x.sin() };
        let message = compile(by_reference, &c).err().expect("a value read").to_string();
        assert!(
            message.contains("compare the tensors themselves, `*a == *b`"),
            "{message}"
        );
    }
}
