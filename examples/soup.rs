//! A deep model made of many small components: the original library's
//! "dinner", ported line by line.
//!
//! As in the original, every parameter is declared in one orchestrating
//! function and handed to the components as a value. The components declare
//! no parameters of their own, so they are plain functions; one that did
//! would be a `#[purify]` function called through `sub!`. The model uses
//! whitened variables, intermediates, a batch map inside a component and a
//! forward-mode derivative inside the body. Its gradient is compiled once
//! (`compile_value_and_grad`) and evaluated for a thousand parameter sets,
//! one after another and in parallel, and checked against the model
//! evaluated op by op.
//!
//! Run with `cargo run --release --example soup`.

#[path = "common/soup_model.rs"]
mod soup_model;

use jaxpurify::prelude::*;
use jaxpurify::{Tree, map_batch};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use soup_model::{dinner, eat};
use std::time::Instant;

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

/// Gradients for `n` parameter sets with the compiled gradient, one after
/// another and on all cores, which must agree to the last bit with each
/// other and with the model evaluated op by op.
fn gradients_of_many_dinners(n: u64) -> Result<()> {
    let sets: Vec<dinner::Params> = (0..n)
        .map(|seed| dinner::normal(&mut Xoshiro256PlusPlus::seed_from_u64(seed)))
        .collect::<Result<_>>()?;
    let (model, fixed) = (dinner::new(), dinner::Fixed::default());
    let start = Instant::now();
    let compiled = model.compile_value_and_grad(&sets[0], &fixed, |y| y.clone())?;
    println!(
        "compiled dinner's value and gradient in {:.1} ms: {} kernel calls",
        start.elapsed().as_secs_f64() * 1e3,
        compiled.num_steps()
    );
    let gradient = |p: &dinner::Params| compiled.call(p).map(|(_, g)| g);
    let direct = |p: &dinner::Params| model.grad(p, &fixed, |y| y.clone());

    let start = Instant::now();
    let sequential: Vec<dinner::Params> = sets.iter().map(gradient).collect::<Result<_>>()?;
    let sequential_time = start.elapsed();
    let start = Instant::now();
    let parallel: Vec<dinner::Params> = map_batch(&sets, gradient).into_iter().collect::<Result<_>>()?;
    let parallel_time = start.elapsed();
    let start = Instant::now();
    let by_op: Vec<dinner::Params> = map_batch(&sets, direct).into_iter().collect::<Result<_>>()?;
    let by_op_time = start.elapsed();

    println!(
        "gradients of {n} dinners: {:.1} ms one after another, {:.1} ms with map_batch ({} cores); \
         op by op with map_batch {:.1} ms",
        sequential_time.as_secs_f64() * 1e3,
        parallel_time.as_secs_f64() * 1e3,
        std::thread::available_parallelism().map_or(1, |c| c.get()),
        by_op_time.as_secs_f64() * 1e3
    );
    let bits = |g: &dinner::Params| g.ravel().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    for (k, ((p, s), d)) in parallel.iter().zip(&sequential).zip(&by_op).enumerate() {
        assert_eq!(
            bits(p),
            bits(s),
            "parameter set {k}: parallel and sequential gradients differ"
        );
        assert_eq!(
            bits(p),
            bits(d),
            "parameter set {k}: compiled and op-by-op gradients differ"
        );
    }
    let boil_time_grads: Vec<f64> = parallel.iter().map(|g| g.boil_time.item()).collect();
    let mean = boil_time_grads.iter().sum::<f64>() / n as f64;
    println!("  all three agree bit for bit; mean d dinner / d boil_time = {mean:.6e}");
    assert!(parallel.iter().all(|g| g.ravel().iter().all(|v| v.is_finite())));
    Ok(())
}
