//! A tour of `#[purify]`: parameter shapes, zeros and normal draws;
//! components; fixed data; intermediates; gradients; flat vectors;
//! compiled gradients; whitened variables; saving and loading; and the
//! errors a model reports at its boundary. Every printed claim is also
//! asserted.
//!
//! Run with `cargo run --release --example features`.

use jaxpurify::prelude::*;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// The squares of three learned values.
#[purify]
fn squares() -> Tensor {
    let x = param!(3);
    x.square()
}

/// A dense layer `w x + b`: a component, since it declares parameters.
#[purify]
fn linear(n_in: usize, n_out: usize, x: &Tensor) -> Tensor {
    let w = param!([n_out, n_in]);
    let b = param!(n_out);
    w.matmul(x) + b
}

/// The same component twice: once named after itself, once named `head`.
#[purify]
fn classifier() -> Tensor {
    let x = fixed!(4);
    let hidden = sub!(linear(4, 3, &x)).relu();
    let logits = sub!(head = linear(3, 2, &hidden));
    logits.log_softmax(0)
}

/// A constant closed over, a learned `x`, a fixed `b` given at call time,
/// and an intermediate value recorded on request.
#[purify]
fn shifted_product() -> Tensor {
    let a = Tensor::from([[1.0, 2.0, 3.0]]);
    let x = param!(3);
    let b = fixed!(());
    intermediate!(&a * &x, name = "prod") + b
}

/// `sum_ij x_j y_ij`, for the flat-vector forms.
#[purify]
fn contraction() -> Tensor {
    let x = param!(2);
    let y = param!([2, 2]);
    (x * y).sum()
}

/// A power-law spectrum with an exponential cutoff, its three scalars
/// learned in whitened space: each parameter is a priori standard normal
/// and the model maps it to its physical prior.
#[purify]
fn spectrum() -> Tensor {
    let amplitude = log_normal_variable!(mean = 2.0, sigma = 0.5);
    let slope = normal_variable!(mean = -3.0, sigma = 0.5);
    let cutoff = uniform_variable!(low = 0.1, high = 1.0);
    let k = Tensor::linspace(0.5, 2.0, 4);
    amplitude * k.pow(&slope) * (-(&k / cutoff)).exp()
}

/// Errors of the library and of the file system alike end the tour.
type Outcome = std::result::Result<(), Box<dyn std::error::Error>>;

fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

fn section(title: &str) {
    println!("\n== {title}");
}

fn main() -> Outcome {
    basic_model()?;
    components()?;
    fixed_intermediates_and_gradients()?;
    flat_vectors()?;
    compiled_gradients()?;
    variables()?;
    save_and_load()?;
    errors_at_the_boundary()?;
    println!("\nall checks passed");
    Ok(())
}

fn basic_model() -> Outcome {
    section("a basic model: shapes, zeros, normal");
    let shapes = squares::shapes()?;
    println!("shapes: {shapes}");
    assert_eq!(shapes.to_string(), "x: [3]");

    let zeros = squares::zeros()?;
    println!("zeros:  {zeros:?}");
    assert_eq!(zeros.x, Tensor::zeros([3]));

    let params = squares::normal(&mut rng(0))?;
    let result = squares::apply(&params, &squares::Fixed::default())?;
    println!("normal: {params:.4?}");
    println!("result: {result:.4}");
    assert_eq!(result, params.x.square());
    assert_eq!(
        params,
        squares::normal(&mut rng(0))?,
        "the same seed gives the same draw"
    );
    Ok(())
}

fn components() -> Outcome {
    section("components: one layer used twice, each with its own parameters");
    let shapes = classifier::shapes()?;
    println!("{shapes}");
    assert_eq!(
        shapes.to_string(),
        "linear.w: [3, 4]\nlinear.b: [3]\nhead.w: [2, 3]\nhead.b: [2]"
    );
    let params = classifier::normal(&mut rng(1))?;
    assert_ne!(
        params.linear.b.get(&[0]),
        params.head.b.get(&[0]),
        "each use draws its own values"
    );
    println!("{params:#.3?}");
    let fixed = classifier::Fixed {
        x: Tensor::ones([4]),
        ..Default::default()
    };
    let log_probabilities = classifier::apply(&params, &fixed)?;
    let total = log_probabilities.exp().sum().item();
    println!("log-probabilities: {log_probabilities:.4} (probabilities sum to {total:.15})");
    assert!((total - 1.0).abs() < 1e-14);
    // The second layer alone, called as a model of its own on the first's output.
    let hidden = linear::apply(&params.linear, &Default::default(), 4, 3, &fixed.x)?.relu();
    let logits = linear::apply(&params.head, &Default::default(), 3, 2, &hidden)?;
    assert_eq!(logits.log_softmax(0), log_probabilities);
    Ok(())
}

fn fixed_intermediates_and_gradients() -> Outcome {
    section("fixed data, intermediates and gradients");
    println!("param shapes: {}", shifted_product::shapes()?);
    println!("fixed shapes: {}", shifted_product::fixed_shapes()?);
    assert_eq!(shifted_product::fixed_shapes()?.to_string(), "b: []");

    let params = shifted_product::Params {
        x: Tensor::from([1.0, -1.0, 0.5]),
    };
    let fixed = shifted_product::Fixed {
        b: Tensor::scalar(2.0),
    };
    let (result, inter) = shifted_product::apply_and_intermediates(&params, &fixed)?;
    println!("result:        {result}");
    println!("intermediates: prod = {}", inter.prod);
    // prod = a * x = [[1, -2, 1.5]]; result = prod + b
    assert_eq!(inter.prod.to_vec(), vec![1.0, -2.0, 1.5]);
    assert_eq!(result.to_vec(), vec![3.0, 0.0, 3.5]);

    // d sum(a x + b) / dx = a, returned as the same Params type.
    let (loss, grads) = shifted_product::value_and_grad(&params, &fixed, |y| y.sum())?;
    println!("loss = sum(result) = {loss}, gradient: {grads:?}");
    assert_eq!((loss.item(), grads.x.to_vec()), (6.5, vec![1.0, 2.0, 3.0]));
    Ok(())
}

fn flat_vectors() -> Outcome {
    section("flat vectors: ravel, unravel, and gradients into a buffer");
    let params = contraction::normal(&mut rng(2))?;
    let theta = params.ravel();
    println!("params: {params:#.4?}");
    println!("as one vector: {theta:.4?}");
    assert_eq!(theta.len(), 6);
    assert_eq!(theta[..2], params.x.to_vec()[..], "declaration order, x first");

    let flat = contraction::new().flat()?;
    assert_eq!(flat.unravel(&theta)?, params);
    let mut gradient = vec![0.0; flat.len()];
    let value = flat.value_and_grad(&theta, &Default::default(), |z| z.clone(), &mut gradient)?;
    println!("value {value:.6}, gradient {gradient:.4?}");
    // z = sum_ij x_j y_ij: dz/dx_j = sum_i y_ij, dz/dy_ij = x_j.
    let (x, y) = (&theta[..2], &theta[2..]);
    let expected = [y[0] + y[2], y[1] + y[3], x[0], x[1], x[0], x[1]];
    assert!((value - (x[0] * y[0] + x[1] * y[1] + x[0] * y[2] + x[1] * y[3])).abs() < 1e-15);
    assert_eq!(gradient, expected);
    Ok(())
}

fn compiled_gradients() -> Outcome {
    section("compiled gradients: traced once, then only kernels run");
    let fixed = shifted_product::Fixed {
        b: Tensor::scalar(2.0),
    };
    let model = shifted_product::new();
    let at = shifted_product::Params {
        x: Tensor::from([1.0, -1.0, 0.5]),
    };
    let compiled = model.compile_value_and_grad(&at, &fixed, |y| y.square().sum())?;
    println!(
        "{} kernel calls: {:?}",
        compiled.num_steps(),
        compiled.step_counts()
    );
    // Anywhere else, the compiled program gives the model's own bits.
    let elsewhere = shifted_product::Params {
        x: Tensor::from([0.25, 3.0, -2.0]),
    };
    let (value, grads) = compiled.call(&elsewhere)?;
    let (direct_value, direct_grads) = model.value_and_grad(&elsewhere, &fixed, |y| y.square().sum())?;
    println!("value {value}, gradient {:?}", grads.x);
    assert_eq!((value, grads), (direct_value, direct_grads));
    // A decision taken on a parameter's value cannot be compiled.
    let branching = |p: &shifted_product::Params| {
        if p.x.sum().item() > 0.0 {
            p.x.exp()
        } else {
            p.x.clone()
        }
    };
    let refused = jaxpurify::compile(branching, &at).err().ok_or("a value read")?;
    println!("refused: {refused}");
    assert!(refused.to_string().contains("`item` read the value"));
    Ok(())
}

fn variables() -> Outcome {
    section("variables: whitened parameters, physical intermediates");
    println!("{}", spectrum::shapes()?);
    let zeros = spectrum::zeros()?;
    let at_median = spectrum::intermediates(&zeros, &Default::default())?;
    println!(
        "at xi = 0: amplitude {:.6}, slope {}, cutoff {}",
        at_median.amplitude.item(),
        at_median.slope.item(),
        at_median.cutoff.item()
    );
    // The log-normal median is mean / sqrt(1 + sigma^2 / mean^2); the normal's
    // is its mean; the uniform's is the middle of its interval.
    let amplitude_median = 2.0 / (1.0f64 + 0.0625).sqrt();
    assert!((at_median.amplitude.item() - amplitude_median).abs() < 1e-15);
    assert_eq!(at_median.slope.item(), -3.0);
    assert!((at_median.cutoff.item() - 0.55).abs() < 1e-15);

    for seed in 0..3 {
        let params = spectrum::normal(&mut rng(seed))?;
        let (y, inter) = spectrum::apply_and_intermediates(&params, &Default::default())?;
        println!(
            "draw {seed}: xi_cutoff {:+.3} -> cutoff {:.3}; spectrum {y:.4}",
            params.cutoff.item(),
            inter.cutoff.item()
        );
        assert!(inter.amplitude.item() > 0.0 && (0.1..1.0).contains(&inter.cutoff.item()));
    }
    Ok(())
}

fn save_and_load() -> Outcome {
    section("saving and loading parameters");
    let params = classifier::normal(&mut rng(3))?;
    let dir = std::env::temp_dir().join(format!("jaxpurify-features-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    for name in ["classifier.json", "classifier.safetensors"] {
        let path = dir.join(name);
        params.save(&path)?;
        let loaded = classifier::zeros()?.load_like(&path)?;
        println!(
            "{} ({} bytes) loads back equal",
            path.display(),
            std::fs::metadata(&path)?.len()
        );
        assert_eq!(loaded, params);
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn errors_at_the_boundary() -> Outcome {
    section("errors at the boundary: checked before any operation runs");
    let misshapen = squares::Params {
        x: Tensor::zeros([4]),
    };
    let error = squares::apply(&misshapen, &Default::default()).unwrap_err();
    println!("apply with x of shape [4]:   {error}");
    assert_eq!(error.to_string(), "`x`: expected shape [3], got [4]");

    let wrong_data = classifier::Fixed {
        x: Tensor::ones([5]),
        ..Default::default()
    };
    let error = classifier::apply(&classifier::zeros()?, &wrong_data).unwrap_err();
    println!("fixed x of shape [5]:        {error}");
    assert_eq!(error.to_string(), "`x`: expected shape [4], got [5]");

    let mut nested = classifier::zeros()?;
    nested.head.w = Tensor::zeros([3, 2]);
    let error = classifier::grad(
        &nested,
        &classifier::Fixed {
            x: Tensor::ones([4]),
            ..Default::default()
        },
        |y| y.sum(),
    )
    .unwrap_err();
    println!("head.w transposed:           {error}");
    assert_eq!(error.to_string(), "`head.w`: expected shape [2, 3], got [3, 2]");

    let flat = contraction::new().flat()?;
    let error = flat.unravel(&[0.0; 5]).unwrap_err();
    println!("unravel 5 values for 6:      {error}");
    assert_eq!(error.to_string(), "`flat vector`: expected length 6, got 5");
    Ok(())
}
