//! The README's model, written as there: a Gaussian random field with a
//! learned spectral index, read off at observed positions by interpolation.
//! Checked end to end against plain loops: a direct O(n^2) DFT and a
//! by-hand linear interpolation for the value, central differences for the
//! gradients.

#[path = "../examples/common/readme_field.rs"]
mod readme_field;

use jaxpurify::prelude::*;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use readme_field::field;
use std::f64::consts::PI;

#[purify]
fn model() -> Tensor {
    let x = Tensor::linspace(0.0, 5.0, 100);
    let alpha = -log_normal_variable!(mean = 3.0, sigma = 0.1);
    let f = intermediate!(sub!(field(x.len(), &alpha)));
    let x_obs = fixed!(3);
    interp(&x_obs, &x, &f)
}

const N: usize = 100;

fn observed_at_1_2_3() -> model::Fixed {
    model::Fixed {
        x_obs: Tensor::from([1.0, 2.0, 3.0]),
        ..Default::default()
    }
}

fn drawn_params() -> model::Params {
    model::normal(&mut Xoshiro256PlusPlus::seed_from_u64(7)).unwrap()
}

/// The field by its definition, with the DFT summed term by term:
/// `fft(a xi)_m = sum_j a_j xi_j e^{-i t}` with `t = 2 pi jm/n`, so
/// `re - im = sum_j a_j xi_j (cos t + sin t)`, where `a_j = |k_j|^(alpha/2)`
/// and `a_0 = 0` (`k_0` is set to infinity).
fn field_by_direct_dft(alpha: f64, xi: &[f64]) -> Vec<f64> {
    let n = xi.len();
    let k = |j: usize| if j <= (n - 1) / 2 { j as f64 } else { j as f64 - n as f64 } / n as f64;
    (0..n)
        .map(|m| {
            (1..n)
                .map(|j| {
                    let t = 2.0 * PI * ((j * m) % n) as f64 / n as f64;
                    k(j).abs().powf(alpha / 2.0) * xi[j] * (t.cos() + t.sin())
                })
                .sum()
        })
        .collect()
}

/// Linear interpolation on the grid `linspace(0, 5, n)`, by hand.
fn interpolate_by_hand(x: f64, f: &[f64]) -> f64 {
    let position = x * (f.len() - 1) as f64 / 5.0;
    let (j, t) = (position.floor() as usize, position.fract());
    f[j] * (1.0 - t) + f[j + 1] * t
}

fn assert_close_relative(actual: &[f64], expected: &[f64], tolerance: f64, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}");
    let scale = expected.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= tolerance * scale,
            "{what}[{i}]: {a} vs {e} (scale {scale})"
        );
    }
}

#[test]
fn shapes_are_declared_without_data() {
    assert_eq!(model::shapes().unwrap().to_string(), "alpha: []\nfield.xi: [100]");
    assert_eq!(model::fixed_shapes().unwrap().to_string(), "x_obs: [3]");
}

#[test]
fn normal_init_draws_standard_normal_whitened_values() {
    let params = drawn_params();
    assert_eq!(params, drawn_params(), "same seed, same draw");
    let other = model::normal(&mut Xoshiro256PlusPlus::seed_from_u64(8)).unwrap();
    assert_ne!(params.field.xi, other.field.xi);
    assert_eq!(
        (params.alpha.ndim(), params.field.xi.shape()[..].to_vec()),
        (0, vec![N])
    );
    // 100 standard normal draws: mean within 4 / sqrt(100) of 0, variance
    // within a generous band around 1.
    let xi = params.field.xi.to_vec();
    let mean = xi.iter().sum::<f64>() / N as f64;
    let variance = xi.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (N - 1) as f64;
    assert!(
        mean.abs() < 0.4 && (0.5..1.6).contains(&variance),
        "{mean}, {variance}"
    );
}

#[test]
fn value_and_intermediates_match_a_direct_dft_and_interpolation() {
    let (params, fixed) = (drawn_params(), observed_at_1_2_3());
    let y = model::apply(&params, &fixed).unwrap();
    let inter = model::intermediates(&params, &fixed).unwrap();
    // The recorded variable is the log-normal value itself; the model uses
    // its negative as the spectral index.
    let alpha = -inter.alpha.item();
    assert!((-3.5..-2.5).contains(&alpha), "{alpha}");
    assert_eq!(inter.f.shape(), &[N]);
    let direct = field_by_direct_dft(alpha, params.field.xi.as_slice());
    assert_close_relative(inter.f.as_slice(), &direct, 1e-12, "field");
    let expected_y: Vec<f64> = [1.0, 2.0, 3.0].map(|x| interpolate_by_hand(x, &direct)).to_vec();
    assert_close_relative(y.as_slice(), &expected_y, 1e-12, "y");
    let (y_again, inter_again) = model::apply_and_intermediates(&params, &fixed).unwrap();
    assert_eq!((y_again, inter_again.f), (y, inter.f));
}

/// `d loss / d (one entry)` by central differences through `apply`, where
/// `entry` picks the value to perturb.
fn central_difference(
    params: &model::Params,
    loss: impl Fn(&Tensor) -> f64,
    entry: impl Fn(&mut model::Params) -> &mut Tensor,
    index: usize,
) -> f64 {
    let shifted = |delta: f64| {
        let mut p = params.clone();
        let target = entry(&mut p);
        let mut values = target.to_vec();
        values[index] += delta;
        *target = Tensor::from_vec(values, target.shape().clone()).unwrap();
        loss(&model::apply(&p, &observed_at_1_2_3()).unwrap())
    };
    let h = 1e-6 * entry(&mut params.clone()).as_slice()[index].abs().max(1.0);
    (shifted(h) - shifted(-h)) / (2.0 * h)
}

#[test]
fn gradients_are_finite_for_every_parameter_and_match_central_differences() {
    let params = drawn_params();
    let w = Tensor::from([1.0, -0.5, 2.0]);
    let loss = |y: &Tensor| (y * &w).sum();
    let (value, grads) = model::value_and_grad(&params, &observed_at_1_2_3(), loss).unwrap();
    assert_eq!(
        value.item(),
        loss(&model::apply(&params, &observed_at_1_2_3()).unwrap()).item()
    );
    // JAX gives NaN for alpha: sqrt(|k|^alpha) at k = inf has an infinite
    // slope times a zero derivative in alpha. The pow rule returns 0 there.
    assert!(grads.alpha.item().is_finite() && grads.alpha.item() != 0.0);
    assert!(grads.field.xi.as_slice().iter().all(|g| g.is_finite()));
    // xi_0 is multiplied by the zero amplitude at k = 0.
    assert_eq!(grads.field.xi.as_slice()[0], 0.0);

    let loss_value = |y: &Tensor| loss(y).item();
    let agree = |analytic: f64, numeric: f64, what: &str| {
        let error = (analytic - numeric).abs() / analytic.abs().max(numeric.abs()).max(1.0);
        assert!(
            error < 1e-6,
            "{what}: reverse mode {analytic}, central difference {numeric}"
        );
    };
    let numeric = central_difference(&params, loss_value, |p| &mut p.alpha, 0);
    agree(grads.alpha.item(), numeric, "alpha");
    for index in [0, 1, 37, 50, 99] {
        let numeric = central_difference(&params, loss_value, |p| &mut p.field.xi, index);
        agree(grads.field.xi.as_slice()[index], numeric, &format!("xi[{index}]"));
    }
}
