//! Where a tensor's values live: inline for a handful of values (scalars,
//! 3-vectors, 2 x 2 matrices: no allocation at all), shared on the heap
//! otherwise. Small models are made of such tensors, and an allocation and
//! its free cost more than their arithmetic. Large heap buffers go back to
//! the thread's [`buffer_pool`] when their last tensor is dropped.

use crate::buffer_pool;
use std::sync::Arc;

/// Values held without allocating.
const INLINE: usize = 4;

#[derive(Clone)]
pub(crate) enum Storage {
    Inline { len: u8, values: [f64; INLINE] },
    Shared(Arc<Buffer>),
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
        Storage::Shared(Arc::new(Buffer(data)))
    }

    /// Collects the `len` values of `values`, inline when they fit, without
    /// an intermediate `Vec`.
    pub(crate) fn from_values(values: impl Iterator<Item = f64>, len: usize) -> Storage {
        if len > INLINE {
            let mut data = buffer_pool::with_capacity(len);
            data.extend(values);
            debug_assert_eq!(data.len(), len, "value count");
            return Storage::Shared(Arc::new(Buffer(data)));
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
            return Storage::Shared(Arc::new(Buffer(data)));
        }
        let mut values = [0.0; INLINE];
        write(&mut values[..len]);
        Storage::Inline {
            len: len as u8,
            values,
        }
    }

    pub(crate) fn as_slice(&self) -> &[f64] {
        match self {
            Storage::Inline { len, values } => &values[..*len as usize],
            Storage::Shared(data) => &data.0,
        }
    }

    /// The values as a `Vec`, copying only when they are shared or inline.
    pub(crate) fn into_vec(self) -> Vec<f64> {
        match self {
            Storage::Inline { .. } => self.as_slice().to_vec(),
            Storage::Shared(data) => match Arc::try_unwrap(data) {
                Ok(mut owned) => std::mem::take(&mut owned.0),
                Err(shared) => shared.0.to_vec(),
            },
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
