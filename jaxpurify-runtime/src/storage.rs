//! Where a tensor's values live: inline for a handful of values (scalars,
//! 3-vectors, 2 x 2 matrices: no allocation at all), shared on the heap
//! otherwise. Small models are made of such tensors, and an allocation and
//! its free cost more than their arithmetic. Large heap buffers go back to
//! the thread's [`buffer_pool`] when their last tensor is dropped.
//!
//! Values may also be deferred: computed by their op's kernel when first
//! read. A model's body runs on deferred zeros when only its shapes are
//! asked for, so that its ops decide their shapes without computing (or
//! allocating) any values that nothing reads.

use crate::buffer_pool;
use crate::compile::kernel::Kernel;
use smallvec::SmallVec;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Values held without allocating.
const INLINE: usize = 4;

#[derive(Clone)]
pub(crate) enum Storage {
    Inline { len: u8, values: [f64; INLINE] },
    Shared(Arc<Heap>),
}

/// Values on the heap: computed, or deferred. Deferred values are rare, so
/// they sit in the same variant of [`Storage`] and behind a box of their
/// own: the common paths and allocations stay as small as they were.
pub(crate) enum Heap {
    Values(Buffer),
    Deferred(Box<Deferred>),
}

/// Values not computed yet: a kernel and the storages of its inputs, run
/// when the values are first read.
pub(crate) struct Deferred {
    len: usize,
    kernel: Box<dyn Kernel>,
    /// Taken when the values are computed, which frees what only they needed.
    inputs: Mutex<SmallVec<[Storage; 4]>>,
    values: OnceLock<Buffer>,
}

/// The kernel of deferred zeros.
struct Zeros;

impl Kernel for Zeros {
    fn name(&self) -> &'static str {
        "zeros"
    }

    fn run(&self, _: &[&[f64]], out: &mut [f64]) {
        out.fill(0.0);
    }
}

/// Values on the heap, offered to the buffer pool when dropped.
pub(crate) struct Buffer(Vec<f64>);

impl Drop for Buffer {
    fn drop(&mut self) {
        buffer_pool::give_back(std::mem::take(&mut self.0));
    }
}

impl Storage {
    pub(crate) fn from_vec(data: Vec<f64>) -> Storage {
        if data.len() <= INLINE {
            let mut values = [0.0; INLINE];
            values[..data.len()].copy_from_slice(&data);
            return Storage::Inline {
                len: data.len() as u8,
                values,
            };
        }
        Storage::Shared(Arc::new(Heap::Values(Buffer(data))))
    }

    /// Collects the `len` values of `values`, inline when they fit, without
    /// an intermediate `Vec`.
    pub(crate) fn from_values(values: impl Iterator<Item = f64>, len: usize) -> Storage {
        if len > INLINE {
            let mut data = buffer_pool::with_capacity(len);
            data.extend(values);
            debug_assert_eq!(data.len(), len, "value count");
            return Storage::Shared(Arc::new(Heap::Values(Buffer(data))));
        }
        let mut inline = [0.0; INLINE];
        let mut count = 0;
        for (slot, v) in inline.iter_mut().zip(values) {
            *slot = v;
            count += 1;
        }
        debug_assert_eq!(count, len, "value count");
        Storage::Inline {
            len: len as u8,
            values: inline,
        }
    }

    /// `len` values written by `write`, which must set every one.
    pub(crate) fn written(len: usize, write: impl FnOnce(&mut [f64])) -> Storage {
        if len > INLINE {
            let mut data = buffer_pool::for_overwrite(len);
            write(&mut data);
            return Storage::Shared(Arc::new(Heap::Values(Buffer(data))));
        }
        let mut values = [0.0; INLINE];
        write(&mut values[..len]);
        Storage::Inline {
            len: len as u8,
            values,
        }
    }

    /// `len` zeros, computed when first read.
    pub(crate) fn deferred_zeros(len: usize) -> Storage {
        Storage::deferred(len, Box::new(Zeros), SmallVec::new())
    }

    /// `len` values that `kernel` computes from `inputs` when first read.
    pub(crate) fn deferred(len: usize, kernel: Box<dyn Kernel>, inputs: SmallVec<[Storage; 4]>) -> Storage {
        Storage::Shared(Arc::new(Heap::Deferred(Box::new(Deferred {
            len,
            kernel,
            inputs: Mutex::new(inputs),
            values: OnceLock::new(),
        }))))
    }

    /// The values if they are deferred and not computed yet.
    fn pending(&self) -> Option<&Arc<Heap>> {
        match self {
            Storage::Shared(heap) if matches!(&**heap, Heap::Deferred(d) if d.values.get().is_none()) => {
                Some(heap)
            }
            _ => None,
        }
    }

    /// The values, unless they are deferred and not computed yet.
    #[inline]
    pub(crate) fn computed(&self) -> Option<&[f64]> {
        match self {
            Storage::Inline { len, values } => Some(&values[..*len as usize]),
            Storage::Shared(heap) => match &**heap {
                Heap::Values(data) => Some(&data.0),
                Heap::Deferred(d) => d.values.get().map(|b| &b.0[..]),
            },
        }
    }

    /// The number of values, without computing deferred ones.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        match self {
            Storage::Inline { len, .. } => *len as usize,
            Storage::Shared(heap) => match &**heap {
                Heap::Values(data) => data.0.len(),
                Heap::Deferred(d) => d.len,
            },
        }
    }

    #[inline]
    pub(crate) fn as_slice(&self) -> &[f64] {
        match self {
            Storage::Inline { len, values } => &values[..*len as usize],
            Storage::Shared(heap) => match &**heap {
                Heap::Values(data) => &data.0,
                Heap::Deferred(d) => d.values(),
            },
        }
    }

    /// The values as a `Vec`, copying only when they are shared or inline.
    pub(crate) fn into_vec(self) -> Vec<f64> {
        match self {
            Storage::Inline { .. } => self.as_slice().to_vec(),
            Storage::Shared(heap) => match Arc::try_unwrap(heap) {
                Ok(Heap::Values(mut owned)) => std::mem::take(&mut owned.0),
                Ok(Heap::Deferred(d)) => d.values().to_vec(),
                Err(shared) => Storage::Shared(shared).as_slice().to_vec(),
            },
        }
    }
}

impl Deferred {
    /// The values, computing them (and the deferred values they need) first.
    #[cold]
    fn values(&self) -> &[f64] {
        if let Some(values) = self.values.get() {
            return &values.0;
        }
        // Inputs before the ops that read them, with a stack of our own: a
        // chain of deferred ops as long as a model's loop would overflow the
        // call stack if each computed its inputs itself.
        let mut stack: Vec<(Arc<Heap>, bool)> = self.pending_inputs().map(|d| (d, false)).collect();
        while let Some((heap, inputs_ready)) = stack.pop() {
            let Heap::Deferred(d) = &*heap else { continue };
            if d.values.get().is_some() {
                continue;
            }
            if inputs_ready {
                d.compute();
                continue;
            }
            let inputs: Vec<Arc<Heap>> = d.pending_inputs().collect();
            stack.push((heap, true));
            stack.extend(inputs.into_iter().map(|input| (input, false)));
        }
        self.compute()
    }

    /// The deferred inputs whose values are not computed yet.
    fn pending_inputs(&self) -> impl Iterator<Item = Arc<Heap>> {
        let inputs = self.inputs.lock().unwrap_or_else(PoisonError::into_inner);
        let pending: SmallVec<[Arc<Heap>; 4]> = inputs.iter().filter_map(|s| s.pending().cloned()).collect();
        pending.into_iter()
    }

    /// Runs the kernel, once; its inputs are computed already.
    fn compute(&self) -> &[f64] {
        let values = self.values.get_or_init(|| {
            let inputs = std::mem::take(&mut *self.inputs.lock().unwrap_or_else(PoisonError::into_inner));
            let slices: SmallVec<[&[f64]; 4]> = inputs.iter().map(Storage::as_slice).collect();
            let mut out = buffer_pool::for_overwrite(self.len);
            self.kernel.run(&slices, &mut out);
            Buffer(out)
        });
        &values.0
    }
}

impl Drop for Deferred {
    /// Drops a chain of deferred inputs one by one, not recursively, for
    /// the reason `values` keeps a stack.
    fn drop(&mut self) {
        let inputs = self.inputs.get_mut().unwrap_or_else(PoisonError::into_inner);
        let mut pending: Vec<Storage> = std::mem::take(inputs).into_vec();
        while let Some(storage) = pending.pop() {
            if let Storage::Shared(heap) = storage {
                if let Some(Heap::Deferred(mut last)) = Arc::into_inner(heap) {
                    let inputs = last.inputs.get_mut().unwrap_or_else(PoisonError::into_inner);
                    pending.extend(std::mem::take(inputs));
                }
            }
        }
    }
}

/// Fills `out` with `src` repeated whole (its length a multiple of
/// `src`'s): the first copy, then the filled part copied onto its own end,
/// so that every step is one `memcpy` whatever the length of `src`.
pub(crate) fn tile_into(src: &[f64], out: &mut [f64]) {
    if out.is_empty() {
        return;
    }
    out[..src.len()].copy_from_slice(src);
    let mut filled = src.len();
    while filled < out.len() {
        let n = filled.min(out.len() - filled);
        out.copy_within(..n, filled);
        filled += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_live_inline_and_large_ones_on_the_heap() {
        for n in [0, 1, 4, 5, 100] {
            let data: Vec<f64> = (0..n).map(|i| i as f64 * 0.5).collect();
            let a = Storage::from_vec(data.clone());
            let b = Storage::from_values(data.iter().copied(), data.len());
            assert_eq!(a.as_slice(), &data[..]);
            assert_eq!(b.as_slice(), &data[..]);
            assert_eq!(matches!(a, Storage::Inline { .. }), n <= INLINE);
            assert_eq!(b.into_vec(), data);
        }
    }

    /// Adds one to its input.
    #[derive(Clone)]
    struct AddOne;

    impl Kernel for AddOne {
        fn name(&self) -> &'static str {
            "add_one"
        }

        fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
            for (o, x) in out.iter_mut().zip(inputs[0]) {
                *o = x + 1.0;
            }
        }
    }

    fn chain(length: usize) -> Storage {
        (0..length).fold(Storage::deferred_zeros(3), |input, _| {
            Storage::deferred(3, Box::new(AddOne), smallvec::smallvec![input])
        })
    }

    #[test]
    fn deferred_values_are_computed_when_read_however_long_the_chain() {
        // Far deeper than a test thread's stack would allow recursion.
        const LONG: usize = 300_000;
        let end = chain(LONG);
        assert_eq!(end.len(), 3);
        assert_eq!(end.as_slice(), &[LONG as f64; 3]);
        let shared = end.clone();
        drop(end);
        assert_eq!(shared.as_slice(), &[LONG as f64; 3]);
        // Never read: dropped link by link.
        drop(chain(LONG));
    }

    #[test]
    fn a_dropped_large_buffer_is_reused_without_its_old_values() {
        let n = buffer_pool::MIN_POOLED + 7;
        drop(Storage::from_vec(vec![f64::NAN; n]));
        let values: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let reused = Storage::from_values(values.iter().copied(), values.len());
        assert_eq!(reused.as_slice(), &values[..]);
        drop(reused);
        let written = Storage::written(n, |out| out.fill(2.0));
        assert!(written.as_slice().iter().all(|&v| v == 2.0));
    }
}
