//! The original library's "dinner" model, shared by the soup example and
//! the reference benchmark (`benches/reference.rs`).

use jaxpurify::prelude::*;
use jaxpurify::priors::LogNormal;
use jaxpurify::{ConvMode, concatenate, convolve, vmap};

/// One vegetable (a scalar) cut into `slices` equal pieces.
fn chop(vegetable: &Tensor, slices: usize) -> Tensor {
    (vegetable / slices as f64) * Tensor::ones(slices)
}

/// The ingredients smoothed by a Gaussian kernel that widens as they boil.
fn boil(ingredients: &Tensor, time: &Tensor) -> Tensor {
    // The original's linspace(-a, a, 15) has a half-width a that depends on
    // a parameter: a fixed grid on [-1, 1] scaled by a is the same kernel,
    // differentiable in the time.
    let half_width = 60.0 / (time + 1.0);
    let kernel = (-(Tensor::linspace(-1.0, 1.0, 15) * half_width).square()).exp();
    convolve(ingredients, &kernel, ConvMode::Same)
}

/// The running sum of the ingredients, scaled up by the cooking time.
fn sautee(ingredients: &Tensor, time: &Tensor) -> Tensor {
    let scale = (time / 5.0).exp() / (ingredients.numel() as f64).sqrt();
    scale * ingredients.cumsum(0)
}

/// Onions, carrots and celery chopped (each vegetable of a vector on its
/// own, as `jax.vmap(chop, in_axes=(0, None))` does), then sauteed.
fn prepare_aromatics(
    onions: &Tensor,
    carrots: &Tensor,
    celery: &Tensor,
    time_onions: &Tensor,
    time_together: &Tensor,
) -> Tensor {
    let chop_each = |vegetables: &Tensor, slices| vmap(vegetables, 0, |v| chop(v, slices)).flatten();
    let onions = sautee(&chop_each(onions, 30), time_onions);
    let carrots = chop_each(carrots, 5);
    let celery = chop_each(celery, 5);
    sautee(&concatenate(&[onions, carrots, celery], 0), time_together)
}

fn make_soup(
    lentils: &Tensor,
    aromatics: &Tensor,
    seasoning: &Tensor,
    lemon: &Tensor,
    boil_time: &Tensor,
) -> Tensor {
    let soup = boil(&(seasoning * concatenate(&[lentils, aromatics], 0)), boil_time);
    soup + lemon
}

pub fn eat(food: &Tensor) -> Tensor {
    food.square().sum()
}

#[purify]
pub fn dinner() -> Tensor {
    let carrots = param!(5).cos();
    let celery = param!(5).sin();
    let onions = param!(2).tanh();
    let onion_time = log_normal_variable!(mean = 10.0, sigma = 1.0);
    let aromatics_time = log_normal_variable!(mean = 3.0, sigma = 1.0);
    let aromatics = prepare_aromatics(&onions, &carrots, &celery, &onion_time, &aromatics_time);
    let aromatics = intermediate!(aromatics);

    let seasoning: Tensor = [
        log_normal_variable!(mean = 10.0, sigma = 2.0, name = "salt"),
        log_normal_variable!(mean = 3.0, sigma = 1.0, name = "thyme"),
        uniform_variable!(low = 2.0, high = 3.0, name = "bay_leaf"),
    ]
    .into_iter()
    .sum();

    let lentils_prior = LogNormal::new(1.0, 0.1).expect("a positive mean and sigma");
    let lentils = lentils_prior.forward(&param!(300));
    // d/dt sin(lentils + t lentils) at t = 0: lentils * cos(lentils).
    let lentils = jvp(|l: &Tensor| l.sin(), &lentils, &lentils).1;

    let lemon = log_normal_variable!(mean = 0.4, sigma = 0.1);
    let boil_time = uniform_variable!(low = 20.0, high = 30.0);
    let soup = make_soup(&lentils, &aromatics, &seasoning, &lemon, &boil_time);
    let soup = intermediate!(soup);

    eat(&soup)
}
