//! The Gaussian-process example's simulated data, shared with the
//! reference benchmarks so both fit the same observations.

use jaxpurify::Tensor;

/// Noisy observations of `sin(x)` at uniform random points of `[0, x_max]`,
/// with noise standard deviation `sqrt(|sin x|) / 2`, as the original
/// example simulates them.
pub struct Observations {
    pub x_obs: Vec<f64>,
    pub y_obs: Vec<f64>,
    pub noise_std: Vec<f64>,
}

impl Observations {
    pub fn simulate(n_obs: usize, x_max: f64, rng: &mut impl rand::Rng) -> Observations {
        let x_obs = Tensor::rand_uniform([n_obs], 0.0, x_max, rng).into_vec();
        let y_true: Vec<f64> = x_obs.iter().map(|x| x.sin()).collect();
        let noise_std: Vec<f64> = y_true.iter().map(|y| y.abs().sqrt() / 2.0).collect();
        let noise = Tensor::randn([n_obs], rng);
        let y_obs = y_true
            .iter()
            .zip(&noise_std)
            .zip(noise.as_slice())
            .map(|((y, s), z)| y + s * z)
            .collect();
        Observations {
            x_obs,
            y_obs,
            noise_std,
        }
    }
}
