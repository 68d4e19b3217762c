//! A small per-thread pool of large value buffers.
//!
//! glibc hands a freed multi-megabyte buffer straight back to the operating
//! system, so the next tensor of that size is page-faulted and zeroed by the
//! kernel again, page by page. A model evaluated repeatedly (value and
//! gradient in an optimiser loop) frees and allocates the same large sizes
//! on every pass, and on a 784-512-512-10 network that traffic was a quarter
//! of the time. Buffers of at least [`MIN_POOLED`] values are therefore kept
//! here when their tensor is dropped and handed out again by the kernels
//! that allocate outputs.
//!
//! The pool is per thread (no locks, and nothing shared between threads, so
//! results never depend on which thread ran what) and bounded in count and
//! bytes, so memory stays bounded: what does not fit is freed as usual.
//! [`with_capacity`] returns an empty `Vec`; only [`for_overwrite`] leaves
//! old values in place, for kernels that write every value before anything
//! reads it.

use std::cell::RefCell;

/// Buffers smaller than this many values (32 KiB) are left to the
/// allocator, which reuses them cheaply. Larger ones, already at 80 KiB,
/// were page-faulted again on every pass when glibc trimmed its heap.
pub(crate) const MIN_POOLED: usize = 4 * 1024;

/// At most this many buffers are kept per thread.
const MAX_BUFFERS: usize = 16;

/// At most this many values (128 MiB) are kept per thread.
const MAX_POOLED_VALUES: usize = 16 * 1024 * 1024;

thread_local! {
    static POOL: RefCell<Vec<Vec<f64>>> = const { RefCell::new(Vec::new()) };
}

/// An empty `Vec` with room for `len` values, from the pool when a kept
/// buffer fits.
pub(crate) fn with_capacity(len: usize) -> Vec<f64> {
    match take_fitting(len) {
        Some(mut buffer) => {
            buffer.clear();
            buffer
        }
        None => Vec::with_capacity(len),
    }
}

/// `len` values of no particular kind (zeros, or what a pooled buffer held
/// before) for a kernel that overwrites them all: filling a buffer that is
/// about to be overwritten would cost a pass over memory for nothing.
pub(crate) fn for_overwrite(len: usize) -> Vec<f64> {
    match take_fitting(len) {
        Some(mut buffer) => {
            buffer.resize(len, 0.0);
            buffer
        }
        None => vec![0.0; len],
    }
}

/// The smallest kept buffer with room for `len` values, unless it is more
/// than twice as large (a small tensor should not pin a large buffer), with
/// the values it held.
fn take_fitting(len: usize) -> Option<Vec<f64>> {
    if len < MIN_POOLED {
        return None;
    }
    POOL.try_with(|pool| {
        let mut pool = pool.borrow_mut();
        let best = (pool.iter().enumerate())
            .filter(|(_, b)| b.capacity() >= len && b.capacity() / 2 <= len)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i)?;
        // Keeping the order keeps the oldest buffer first in line to go.
        Some(pool.remove(best))
    })
    .ok()
    .flatten()
}

/// Keeps `buffer` for reuse if it is large; frees it otherwise. When the
/// pool is full, the buffer kept longest makes way: the pool follows the
/// sizes of the work at hand. (Evicting the smallest instead let buffers
/// left over from earlier work, such as initialisation, hold the pool while
/// every buffer of the current work was freed and faulted in again: 30
/// times the page faults in a network's gradient after its `normal`.)
pub(crate) fn give_back(buffer: Vec<f64>) {
    if buffer.capacity() < MIN_POOLED || buffer.capacity() > MAX_POOLED_VALUES {
        return;
    }
    // During thread teardown the pool may be gone; the buffer is then freed.
    let _ = POOL.try_with(|pool| {
        let mut pool = pool.borrow_mut();
        pool.push(buffer);
        while pool.len() > MAX_BUFFERS || pooled_values(&pool) > MAX_POOLED_VALUES {
            pool.remove(0);
        }
    });
}

fn pooled_values(pool: &[Vec<f64>]) -> usize {
    pool.iter().map(Vec::capacity).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept() -> Vec<usize> {
        POOL.with(|pool| pool.borrow().iter().map(Vec::capacity).collect())
    }

    fn clear() {
        POOL.with(|pool| pool.borrow_mut().clear());
    }

    #[test]
    fn a_reused_buffer_is_empty_or_handed_out_for_overwriting() {
        clear();
        give_back(vec![f64::NAN; MIN_POOLED * 2]);
        let empty = with_capacity(MIN_POOLED + 1);
        assert!(empty.is_empty() && empty.capacity() == MIN_POOLED * 2);
        give_back(empty);
        let reused = for_overwrite(MIN_POOLED * 2);
        assert!(reused.len() == MIN_POOLED * 2 && reused.capacity() == MIN_POOLED * 2);
    }

    #[test]
    fn small_or_much_smaller_requests_do_not_take_large_buffers() {
        clear();
        give_back(vec![0.0; 10]);
        assert!(kept().is_empty(), "small buffers are left to the allocator");
        give_back(vec![0.0; MIN_POOLED * 4]);
        assert_eq!(with_capacity(MIN_POOLED).capacity(), MIN_POOLED);
        assert_eq!(with_capacity(MIN_POOLED * 8).capacity(), MIN_POOLED * 8);
        assert_eq!(kept(), vec![MIN_POOLED * 4]);
    }

    #[test]
    fn the_pool_keeps_the_latest_buffers_within_its_bounds() {
        clear();
        for k in 1..=MAX_BUFFERS + 4 {
            give_back(Vec::with_capacity(MIN_POOLED * (MAX_BUFFERS + 5 - k)));
        }
        // The four given back first (the largest) went; the rest stay in order.
        let latest: Vec<usize> = (5..=MAX_BUFFERS + 4)
            .map(|k| MIN_POOLED * (MAX_BUFFERS + 5 - k))
            .collect();
        assert_eq!(kept(), latest);
        give_back(Vec::with_capacity(MAX_POOLED_VALUES));
        assert!(POOL.with(|pool| pooled_values(&pool.borrow())) <= MAX_POOLED_VALUES);
        assert_eq!(
            kept(),
            vec![MAX_POOLED_VALUES],
            "older buffers made way for the new one"
        );
        clear();
    }
}
