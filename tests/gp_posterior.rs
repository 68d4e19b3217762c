//! The matrix-free Gaussian posterior of `examples/gaussian_process.rs`
//! against dense linear algebra, on a small version of its model: the
//! operators, the mean, and the covariance of perturb-then-optimise samples.

#[path = "../examples/common/gp_model.rs"]
mod gp_model;
#[path = "../examples/common/posterior.rs"]
mod posterior;

use gp_model::observed_field;
use jaxpurify::prelude::*;
use nalgebra::{DMatrix, DVector};
use posterior::LinearGaussian;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

const N: usize = 16;
const PAD: usize = 2;
const X_OBS: [f64; 6] = [0.7, 2.3, 5.0, 8.9, 11.2, 14.6];
const NOISE_STD: [f64; 6] = [0.1, 0.3, 0.2, 0.15, 0.4, 0.25];

/// The model has no borrowed arguments, so its bound form lives forever.
type SmallGp = LinearGaussian<observed_field::Model>;

fn small_gp() -> SmallGp {
    let fixed = observed_field::Fixed {
        x: Tensor::linspace(0.0, 15.0, N),
        x_obs: Tensor::from(X_OBS),
        ..Default::default()
    };
    let variance = NOISE_STD.iter().map(|s| s * s).collect();
    LinearGaussian::new(observed_field::new(N, X_OBS.len(), PAD), fixed, variance).unwrap()
}

fn y_obs() -> Vec<f64> {
    X_OBS.iter().map(|x| x.sin()).collect()
}

/// `R`, column by column from the model's jvp on basis vectors.
fn dense_response(gp: &SmallGp) -> DMatrix<f64> {
    let columns: Vec<f64> = (0..gp.dim())
        .flat_map(|k| {
            let mut e = vec![0.0; gp.dim()];
            e[k] = 1.0;
            gp.forward(&e)
        })
        .collect();
    DMatrix::from_column_slice(X_OBS.len(), gp.dim(), &columns)
}

/// `(R, M = R^T N^-1 R + I)`.
fn dense_precision(gp: &SmallGp) -> (DMatrix<f64>, DMatrix<f64>) {
    let r = dense_response(gp);
    let n_inv = DMatrix::from_diagonal(&DVector::from_iterator(
        6,
        NOISE_STD.iter().map(|s| 1.0 / (s * s)),
    ));
    let m = r.transpose() * n_inv * &r + DMatrix::identity(gp.dim(), gp.dim());
    (r, m)
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
}

#[test]
fn matrix_free_operators_and_mean_match_dense_algebra() {
    let gp = small_gp();
    let (r, m) = dense_precision(&gp);
    assert_eq!(gp.dim(), N + 2 * PAD);
    let v: Vec<f64> = (0..gp.dim()).map(|i| (0.7 * i as f64).sin()).collect();
    let d = [0.3, -1.0, 0.5, 2.0, -0.2, 0.9];
    // The vjp is the jvp's transpose.
    let rt_d = r.transpose() * DVector::from_column_slice(&d);
    assert!(max_abs_diff(&gp.adjoint(&d), rt_d.as_slice()) < 1e-12);
    // The model is linear, so its jvp at zero is the model itself.
    let applied = gp.flat().apply(&v, gp.fixed()).unwrap();
    assert!(max_abs_diff(&gp.forward(&v), applied.as_slice()) < 1e-12);
    let mv = &m * DVector::from_column_slice(&v);
    assert!(max_abs_diff(&gp.precision_times(&v), mv.as_slice()) < 1e-9);

    let y = y_obs();
    let b = r.transpose() * DVector::from_iterator(6, y.iter().zip(NOISE_STD).map(|(y, s)| y / (s * s)));
    let exact = m.clone().cholesky().unwrap().solve(&b);
    let solve = gp.mean(&y, 1e-12, 200);
    assert!(solve.converged, "{solve:?}");
    let error = max_abs_diff(&solve.x, exact.as_slice());
    assert!(error < 1e-9 * exact.amax(), "mean differs by {error}");
    // The data constrain the field: the posterior mean is not the prior's.
    assert!(exact.amax() > 0.1);
}

/// Samples as rows, minus the known mean.
fn centred_samples(gp: &SmallGp, mean: &DVector<f64>, count: usize) -> DMatrix<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2024);
    let y = y_obs();
    let mut rows = DMatrix::zeros(count, gp.dim());
    for i in 0..count {
        let (sample, solve) = gp.sample(&y, &mut rng, 1e-12, 200);
        assert!(solve.converged, "{solve:?}");
        rows.row_mut(i)
            .copy_from(&(DVector::from_vec(sample) - mean).transpose());
    }
    rows
}

#[test]
fn perturbation_samples_have_the_posterior_covariance() {
    let gp = small_gp();
    let (r, m) = dense_precision(&gp);
    let dim = gp.dim();
    let covariance = m.clone().try_inverse().unwrap();
    let b =
        r.transpose() * DVector::from_iterator(6, y_obs().iter().zip(NOISE_STD).map(|(y, s)| y / (s * s)));
    let mean = &covariance * b;
    let count = 1000;
    let samples = centred_samples(&gp, &mean, count);
    let empirical = samples.transpose() * &samples / count as f64;

    // Each entry of an empirical covariance of `K` Gaussian draws about the
    // known mean has variance `(C_ij^2 + C_ii C_jj) / K`. With 210 distinct
    // entries, a bound of 5 standard deviations fails a correct sampler with
    // probability below 210 * 6e-7 ~ 1e-4.
    let mut worst = 0.0f64;
    for i in 0..dim {
        for j in 0..dim {
            let c = covariance[(i, j)];
            let sd = ((c * c + covariance[(i, i)] * covariance[(j, j)]) / count as f64).sqrt();
            worst = worst.max((empirical[(i, j)] - c).abs() / sd);
        }
    }
    assert!(worst < 5.0, "an entry is {worst} standard deviations off");

    // The entries above are dominated by the prior's unit variances, so they
    // cannot see errors in the few directions the data pin down. Whitening
    // with `M = L L^T` can: `w = L^T (s - m)` has covariance
    // `L^T M^-1 L = I` exactly when the samples' covariance is `M^-1`. Its
    // empirical entries have standard deviation `1/sqrt(K)` off the diagonal
    // and `sqrt(2/K)` on it; the sample mean of `w` has `1/sqrt(K)`.
    let l = m.cholesky().unwrap().l();
    let whitened = samples * &l;
    let white_cov = whitened.transpose() * &whitened / count as f64;
    let sd_off = 1.0 / (count as f64).sqrt();
    for i in 0..dim {
        for j in 0..dim {
            let (target, sd) = if i == j {
                (1.0, 2f64.sqrt() * sd_off)
            } else {
                (0.0, sd_off)
            };
            let z = (white_cov[(i, j)] - target) / sd;
            assert!(
                z.abs() < 5.0,
                "whitened covariance ({i}, {j}) is {z} standard deviations off"
            );
        }
        let z = whitened.column(i).mean() / sd_off;
        assert!(z.abs() < 5.0, "whitened mean {i} is {z} standard deviations off");
    }
    // The data shrink the posterior well below the prior in some direction,
    // so the whitened check is not a check of the prior.
    assert!(covariance.symmetric_eigenvalues().min() < 0.05);
}
