//! Evaluating a function over many inputs (parameter sets, data sets) on all
//! cores with rayon.
//!
//! Nothing in the runtime is global apart from an atomic counter whose values
//! are only compared on one tensor (see `docs/decisions.md`), so a model and
//! its gradients give the same bits on a worker thread as on the caller's.

use crate::tensor::Tensor;
use rayon::prelude::*;

// Models hand tensors to worker threads; keep that possible.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Tensor>();
};

/// `f` applied to every item on rayon's thread pool, with the results in the
/// order of `items` (as `items.iter().map(f).collect()` would give them).
///
/// Each call of `f` runs on one thread from start to end, so a result is the
/// same, bit for bit, as when computed sequentially. To limit the threads,
/// call this inside `rayon::ThreadPool::install`.
///
/// ```
/// use jaxpurify_runtime::{Tensor, map_batch, value_and_grad};
/// let x = Tensor::from([0.5, 1.5]);
/// let scales = vec![1.0, 2.0, 3.0];
/// // The value and gradient of sum(sin(s * x)) for each scale s.
/// let results = map_batch(&scales, |&s| value_and_grad(|x: &Tensor| (x * s).sin().sum(), &x));
/// assert_eq!(results.len(), 3);
/// assert_eq!(results[1].1.to_vec(), vec![2.0 * 1f64.cos(), 2.0 * 3f64.cos()]);
/// ```
pub fn map_batch<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    items.par_iter().map(f).collect()
}

#[cfg(test)]
mod tests {
    use super::map_batch;
    use crate::{Tensor, grad, value_and_grad, vmap};

    /// A small nonlinear model of `theta` on fixed data, with a nested
    /// gradient and a batch map inside, so that every part of the graph
    /// machinery runs on the worker threads.
    fn loss(theta: &Tensor, data: &Tensor) -> Tensor {
        let residuals = vmap(data, 0, |x| (x * theta).sin().sum() - x.sum() * 0.1);
        let inner = grad(|t: &Tensor| (t * t * theta).sum(), theta);
        (&residuals * &residuals).sum() + (inner * 0.01).sum().exp()
    }

    fn parameter_sets(n: usize) -> Vec<Tensor> {
        (0..n)
            .map(|k| Tensor::from([0.1 * k as f64, 1.0 - 0.03 * k as f64, (k as f64).sqrt()]))
            .collect()
    }

    #[test]
    fn parallel_results_equal_sequential_bit_for_bit() {
        let data = Tensor::linspace(-1.0, 2.0, 12).reshape([4, 3]);
        let thetas = parameter_sets(64);
        let evaluate = |theta: &Tensor| value_and_grad(|t: &Tensor| loss(t, &data), theta);
        let sequential: Vec<(Tensor, Tensor)> = thetas.iter().map(evaluate).collect();
        // More threads than cores, so that items really do interleave.
        let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        let parallel = pool.install(|| map_batch(&thetas, evaluate));
        assert_eq!(parallel.len(), 64);
        for (k, ((v, g), (vs, gs))) in parallel.iter().zip(&sequential).enumerate() {
            assert_eq!(v.item().to_bits(), vs.item().to_bits(), "value of item {k}");
            let bits = |t: &Tensor| t.as_slice().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(g), bits(gs), "gradient of item {k}");
            assert!(!g.is_tracked());
        }
        // Different parameter sets give different results, so order matters.
        assert_ne!(parallel[0].0, parallel[1].0);
    }

    #[test]
    fn order_follows_the_items() {
        let items: Vec<usize> = (0..1000).collect();
        let squares = map_batch(&items, |&k| k * k);
        assert!(squares.iter().enumerate().all(|(k, &s)| s == k * k));
        assert!(map_batch(&[] as &[usize], |&k| k).is_empty());
    }
}
