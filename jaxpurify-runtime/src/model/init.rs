//! Initial values that depend only on a seed and the parameter's path, so
//! that adding a parameter leaves the others' initial values unchanged.

use crate::shape::Shape;
use crate::tensor::Tensor;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;

/// FNV-1a: a hash that is the same on every platform and Rust version
/// (unlike `std`'s `DefaultHasher`), so seeds are reproducible.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Standard normal draws for the parameter at `path`, from a generator seeded
/// with the model's seed and the path.
pub(crate) fn normal_for_path(seed: u64, path: &str, shape: &Shape) -> Tensor {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ fnv1a(path.as_bytes()));
    let data: Vec<f64> = (0..shape.numel()).map(|_| rng.sample(StandardNormal)).collect();
    Tensor::from_vec(data, shape.clone()).expect("length matches the shape")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_depend_on_seed_and_path_only() {
        let shape = Shape::from([4]);
        let a = normal_for_path(7, "field.xi", &shape);
        assert_eq!(a, normal_for_path(7, "field.xi", &shape));
        assert_ne!(a, normal_for_path(7, "field.eta", &shape));
        assert_ne!(a, normal_for_path(8, "field.xi", &shape));
    }

    #[test]
    fn draws_look_standard_normal() {
        let t = normal_for_path(1, "x", &Shape::from([20_000]));
        let mean = t.as_slice().iter().sum::<f64>() / 20_000.0;
        let var = t.as_slice().iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 20_000.0;
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "mean {mean}, var {var}"
        );
    }
}
