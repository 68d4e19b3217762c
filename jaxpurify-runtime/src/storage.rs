//! Where a tensor's values live: inline for a handful of values (scalars,
//! 3-vectors, 2 x 2 matrices: no allocation at all), shared on the heap
//! otherwise. Small models are made of such tensors, and an allocation and
//! its free cost more than their arithmetic.

use std::sync::Arc;

/// Values held without allocating.
const INLINE: usize = 4;

#[derive(Clone)]
pub(crate) enum Storage {
    Inline { len: u8, values: [f64; INLINE] },
    Shared(Arc<Vec<f64>>),
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
        Storage::Shared(Arc::new(data))
    }

    /// Collects values, inline when they fit, without an intermediate `Vec`.
    pub(crate) fn from_exact_iter(values: impl ExactSizeIterator<Item = f64>) -> Storage {
        let len = values.len();
        if len > INLINE {
            return Storage::Shared(Arc::new(values.collect()));
        }
        let mut inline = [0.0; INLINE];
        for (slot, v) in inline.iter_mut().zip(values) {
            *slot = v;
        }
        Storage::Inline {
            len: len as u8,
            values: inline,
        }
    }

    pub(crate) fn as_slice(&self) -> &[f64] {
        match self {
            Storage::Inline { len, values } => &values[..*len as usize],
            Storage::Shared(data) => data,
        }
    }

    /// The values as a `Vec`, copying only when they are shared or inline.
    pub(crate) fn into_vec(self) -> Vec<f64> {
        match self {
            Storage::Inline { .. } => self.as_slice().to_vec(),
            Storage::Shared(data) => Arc::try_unwrap(data).unwrap_or_else(|shared| shared.to_vec()),
        }
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
            let b = Storage::from_exact_iter(data.iter().copied());
            assert_eq!(a.as_slice(), &data[..]);
            assert_eq!(b.as_slice(), &data[..]);
            assert_eq!(matches!(a, Storage::Inline { .. }), n <= INLINE);
            assert_eq!(b.into_vec(), data);
        }
    }
}
