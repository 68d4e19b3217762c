//! A deep model made of many small components: the original library's
//! "dinner", ported line by line.
//!
//! As in the original, every parameter is declared in one orchestrating
//! function and handed to the components as a value. The components declare
//! no parameters of their own, so they are plain functions; one that did
//! would be a `#[purify]` function called through `sub!`. The model uses
//! whitened variables, intermediates, a batch map inside a component and a
//! forward-mode derivative inside the body, and its gradients are evaluated
//! for a thousand parameter sets in parallel.
//!
//! Run with `cargo run --release --example soup`.

use jaxpurify::prelude::*;
use jaxpurify::priors::LogNormal;
use jaxpurify::{ConvMode, Tree, concatenate, convolve, map_batch, vmap};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::time::Instant;

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

fn eat(food: &Tensor) -> Tensor {
    food.square().sum()
}

#[purify]
fn dinner() -> Tensor {
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

/// The value of dinner with every whitened parameter equal to 0 and to 0.5,
/// computed from the original's expressions in plain Python floats (a
/// direct-sum convolution, `math.erf`), independently of this library.
const REFERENCE_VALUES: [(f64, f64); 2] = [(0.0, 742649.3992900202), (0.5, 22120408.054625794)];

fn main() -> Result<()> {
    let shapes = dinner::shapes()?;
    println!(
        "dinner's parameters ({} values):\n{shapes}\n",
        shapes.num_elements()
    );
    assert_eq!(shapes.num_elements(), 319, "the original has 319 parameters");
    assert_eq!(shapes.len(), 11);

    check_against_reference()?;

    let params = dinner::normal(&mut Xoshiro256PlusPlus::seed_from_u64(0))?;
    let (result, inter) = dinner::apply_and_intermediates(&params, &Default::default())?;
    println!("dinner at one random draw: {:.6e}", result.item());
    println!(
        "  aromatics: {} values, soup: {} values, boil_time = {:.3}, salt = {:.3}",
        inter.aromatics.numel(),
        inter.soup.numel(),
        inter.boil_time.item(),
        inter.salt.item()
    );
    assert_eq!(
        (inter.aromatics.shape(), inter.soup.shape()),
        (&[110].into(), &[410].into())
    );
    assert_eq!(
        result,
        eat(&inter.soup),
        "the output is what the recorded soup gives"
    );

    check_gradient_by_central_differences(&params)?;
    gradients_of_many_dinners(1000)
}

/// The value at two points where the whitened parameters are all equal,
/// against the independently computed references.
fn check_against_reference() -> Result<()> {
    let flat = dinner::new().flat()?;
    for (xi, expected) in REFERENCE_VALUES {
        let value = flat.apply(&vec![xi; flat.len()], &Default::default())?.item();
        let relative = (value - expected).abs() / expected;
        println!("dinner with every parameter {xi}: {value:.10e} (reference {expected:.10e})");
        assert!(relative < 1e-12, "dinner({xi}) = {value}, reference {expected}");
    }
    println!();
    Ok(())
}

/// Reverse-mode derivatives along the first element of every parameter
/// against central differences of the model itself, on the flat vector.
fn check_gradient_by_central_differences(params: &dinner::Params) -> Result<()> {
    let flat = dinner::new().flat()?;
    let fixed = dinner::Fixed::default();
    let theta = params.ravel();
    let mut gradient = vec![0.0; flat.len()];
    flat.value_and_grad(&theta, &fixed, |y| y.clone(), &mut gradient)?;
    let step = 1e-4;
    let shapes = dinner::shapes()?;
    // The first element of every parameter, in the flat layout.
    for (name, _) in shapes.iter() {
        let k = shapes.range(name).expect("a listed path").start;
        let mut shifted = theta.clone();
        shifted[k] = theta[k] + step;
        let above = flat.apply(&shifted, &fixed)?.item();
        shifted[k] = theta[k] - step;
        let below = flat.apply(&shifted, &fixed)?.item();
        let numeric = (above - below) / (2.0 * step);
        let error = (gradient[k] - numeric).abs() / gradient[k].abs().max(1.0);
        println!(
            "d dinner / d {name:<14} {:>14.6e} (central difference {numeric:.6e})",
            gradient[k]
        );
        assert!(
            error < 1e-6,
            "gradient along {name}: {} vs {numeric}",
            gradient[k]
        );
    }
    println!();
    Ok(())
}

/// Gradients for `n` parameter sets, one after another and on all cores,
/// which must agree to the last bit.
fn gradients_of_many_dinners(n: u64) -> Result<()> {
    let sets: Vec<dinner::Params> = (0..n)
        .map(|seed| dinner::normal(&mut Xoshiro256PlusPlus::seed_from_u64(seed)))
        .collect::<Result<_>>()?;
    let gradient = |p: &dinner::Params| dinner::grad(p, &Default::default(), |y| y.clone());

    let start = Instant::now();
    let sequential: Vec<dinner::Params> = sets.iter().map(gradient).collect::<Result<_>>()?;
    let sequential_time = start.elapsed();
    let start = Instant::now();
    let parallel: Vec<dinner::Params> = map_batch(&sets, gradient).into_iter().collect::<Result<_>>()?;
    let parallel_time = start.elapsed();

    println!(
        "gradients of {n} dinners: {:.1} ms one after another, {:.1} ms with map_batch ({} cores)",
        sequential_time.as_secs_f64() * 1e3,
        parallel_time.as_secs_f64() * 1e3,
        std::thread::available_parallelism().map_or(1, |c| c.get())
    );
    for (k, (p, s)) in parallel.iter().zip(&sequential).enumerate() {
        let bits = |g: &dinner::Params| g.ravel().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(p),
            bits(s),
            "parameter set {k}: parallel and sequential gradients differ"
        );
    }
    let boil_time_grads: Vec<f64> = parallel.iter().map(|g| g.boil_time.item()).collect();
    let mean = boil_time_grads.iter().sum::<f64>() / n as f64;
    println!("  parallel equals sequential bit for bit; mean d dinner / d boil_time = {mean:.6e}");
    assert!(parallel.iter().all(|g| g.ravel().iter().all(|v| v.is_finite())));
    Ok(())
}
