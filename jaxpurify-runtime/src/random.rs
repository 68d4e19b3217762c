//! Random tensors from a caller-supplied generator.
//!
//! There is no global generator: the caller owns the state, so draws are
//! reproducible from a seed and independent across threads. Use a portable
//! generator such as `rand_xoshiro::Xoshiro256PlusPlus` (not `StdRng`, whose
//! algorithm may change between `rand` releases) for draws that stay the same
//! on every platform and version.

use crate::shape::Shape;
use crate::tensor::Tensor;
use rand::distr::{Distribution, Uniform};
use rand::{Rng, RngExt};
use rand_distr::StandardNormal;

impl Tensor {
    /// Standard normal draws (mean 0, variance 1) of the given shape, one per
    /// element in row-major order, so a `[2, 3]` tensor holds the same six
    /// values as a `[6]` tensor drawn from the same generator state.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// use rand::SeedableRng;
    /// use rand_xoshiro::Xoshiro256PlusPlus;
    /// let mut rng = Xoshiro256PlusPlus::seed_from_u64(42);
    /// let x = Tensor::randn([2, 3], &mut rng);
    /// assert_eq!(x.shape(), &[2, 3]);
    /// // The same seed gives the same draws.
    /// assert_eq!(x, Tensor::randn([2, 3], &mut Xoshiro256PlusPlus::seed_from_u64(42)));
    /// ```
    pub fn randn(shape: impl Into<Shape>, rng: &mut (impl Rng + ?Sized)) -> Tensor {
        let shape = shape.into();
        let data = (0..shape.numel()).map(|_| rng.sample(StandardNormal)).collect();
        Tensor::from_parts(data, shape)
    }

    /// Uniform draws from the half-open interval `[low, high)` of the given
    /// shape, one per element in row-major order (`rand`'s `Uniform`).
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// use rand::SeedableRng;
    /// use rand_xoshiro::Xoshiro256PlusPlus;
    /// let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    /// let u = Tensor::rand_uniform([100], -1.0, 2.0, &mut rng);
    /// assert!(u.as_slice().iter().all(|&v| (-1.0..2.0).contains(&v)));
    /// ```
    ///
    /// # Panics
    /// Unless `low < high` and `high - low` is finite; an empty interval has
    /// nothing to draw from, so this is a programmer error.
    #[track_caller]
    pub fn rand_uniform(
        shape: impl Into<Shape>,
        low: f64,
        high: f64,
        rng: &mut (impl Rng + ?Sized),
    ) -> Tensor {
        assert!(
            low < high && (high - low).is_finite(),
            "rand_uniform: the interval [{low}, {high}) must be non-empty and finite"
        );
        let uniform = Uniform::new(low, high).expect("the interval was checked above");
        let shape = shape.into();
        let data = (0..shape.numel()).map(|_| uniform.sample(rng)).collect();
        Tensor::from_parts(data, shape)
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;
    use rand::{RngExt, SeedableRng};
    use rand_distr::StandardNormal;
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn seeded(seed: u64) -> Xoshiro256PlusPlus {
        Xoshiro256PlusPlus::seed_from_u64(seed)
    }

    fn mean_and_variance(t: &Tensor) -> (f64, f64) {
        let n = t.numel() as f64;
        let mean = t.as_slice().iter().sum::<f64>() / n;
        let var = t.as_slice().iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        (mean, var)
    }

    #[test]
    fn randn_is_deterministic_per_seed_and_row_major() {
        let a = Tensor::randn([3, 4], &mut seeded(1));
        assert_eq!(a, Tensor::randn([3, 4], &mut seeded(1)));
        assert_ne!(a, Tensor::randn([3, 4], &mut seeded(2)));
        // One draw per element, in row-major order, from the generator as is.
        let mut rng = seeded(1);
        let by_hand: Vec<f64> = (0..12).map(|_| rng.sample(StandardNormal)).collect();
        assert_eq!(a.to_vec(), by_hand);
        // Consecutive calls continue the stream instead of repeating it.
        let mut rng = seeded(1);
        let first = Tensor::randn([6], &mut rng);
        let second = Tensor::randn([6], &mut rng);
        assert_eq!(first.as_slice(), &a.as_slice()[..6]);
        assert_eq!(second.as_slice(), &a.as_slice()[6..]);
    }

    #[test]
    fn randn_draws_look_standard_normal() {
        // With n = 40000 draws the sample mean has standard error 0.005 and
        // the sample variance about 0.007: the bounds are over 4 of those.
        let t = Tensor::randn([200, 200], &mut seeded(3));
        let (mean, var) = mean_and_variance(&t);
        assert!(
            mean.abs() < 0.025 && (var - 1.0).abs() < 0.03,
            "mean {mean}, var {var}"
        );
        let beyond_two = t.as_slice().iter().filter(|v| v.abs() > 2.0).count() as f64 / 40_000.0;
        // P(|z| > 2) = 0.0455 for a standard normal.
        assert!((beyond_two - 0.0455).abs() < 0.005, "tail fraction {beyond_two}");
    }

    #[test]
    fn rand_uniform_is_deterministic_and_fills_its_interval() {
        let (low, high) = (-1.0, 3.0);
        let u = Tensor::rand_uniform([40_000], low, high, &mut seeded(5));
        assert_eq!(u, Tensor::rand_uniform([40_000], low, high, &mut seeded(5)));
        assert_ne!(u, Tensor::rand_uniform([40_000], low, high, &mut seeded(6)));
        assert!(u.as_slice().iter().all(|&v| (low..high).contains(&v)));
        // Uniform on [-1, 3): mean 1, variance (3 - (-1))^2 / 12 = 4/3; the
        // standard errors are 0.006 and 0.005.
        let (mean, var) = mean_and_variance(&u);
        assert!(
            (mean - 1.0).abs() < 0.03 && (var - 4.0 / 3.0).abs() < 0.03,
            "mean {mean}, var {var}"
        );
        let below_zero = u.as_slice().iter().filter(|&&v| v < 0.0).count() as f64 / 40_000.0;
        assert!((below_zero - 0.25).abs() < 0.01, "fraction below 0: {below_zero}");
    }

    #[test]
    fn a_dyn_generator_works_too() {
        let mut rng = seeded(9);
        let dynamic: &mut dyn rand::Rng = &mut rng;
        let t = Tensor::randn([4], dynamic);
        assert_eq!(t, Tensor::randn([4], &mut seeded(9)));
    }

    #[test]
    #[should_panic(expected = "rand_uniform: the interval [2, 2) must be non-empty and finite")]
    fn empty_interval_is_rejected() {
        let _ = Tensor::rand_uniform([3], 2.0, 2.0, &mut seeded(0));
    }
}
