//! The original's behaviour tests, ported: params, shapes, ravel, fixed,
//! intermediates, and gradients through components.

use jaxpurify::prelude::*;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

#[purify]
fn tiny() -> Tensor {
    let x = param!(3);
    let y = intermediate!(&x * &x);
    y.sum()
}

#[test]
fn params_shapes_and_apply() {
    let shapes = tiny::shapes().unwrap();
    assert_eq!(shapes.to_string(), "x: [3]");
    let params = tiny::Params {
        x: Tensor::from([1.0, 2.0, 3.0]),
    };
    let y = tiny::apply(&params, &tiny::Fixed {}).unwrap();
    assert_eq!(y.item(), 14.0);
    let inter = tiny::intermediates(&params, &tiny::Fixed {}).unwrap();
    assert_eq!(inter.y.to_vec(), vec![1.0, 4.0, 9.0]);
}

#[test]
fn gradients_come_back_as_params() {
    let params = tiny::Params {
        x: Tensor::from([1.0, 2.0, 3.0]),
    };
    // d/dx sum(x^2) = 2x
    let (v, g) = tiny::value_and_grad(&params, &tiny::Fixed {}, |y| y.clone()).unwrap();
    assert_eq!(v.item(), 14.0);
    assert_eq!(g.x.to_vec(), vec![2.0, 4.0, 6.0]);
}

#[test]
fn wrong_shapes_are_errors_naming_the_path() {
    let params = tiny::Params {
        x: Tensor::zeros([4]),
    };
    let err = tiny::apply(&params, &tiny::Fixed {}).unwrap_err();
    assert_eq!(err.to_string(), "`x`: expected shape [3], got [4]");
}

#[test]
fn normal_is_reproducible() {
    let a = tiny::normal(&mut Xoshiro256PlusPlus::seed_from_u64(1)).unwrap();
    let b = tiny::normal(&mut Xoshiro256PlusPlus::seed_from_u64(1)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.x, Tensor::zeros([3]));
}

#[purify]
fn variables() -> Tensor {
    let a = normal_variable!(mean = 1.0, sigma = 2.0);
    let b = log_normal_variable!(mean = 3.0, sigma = 0.1);
    let c = uniform_variable!(low = -1.0, high = 1.0);
    let d = laplace_variable!(loc = 0.5, scale = 2.0);
    let e = inverse_gamma_variable!(shape = 3.0, scale = 2.0);
    a + b + c + d + e
}

#[test]
fn variables_are_whitened_params_and_physical_intermediates() {
    let shapes = variables::shapes().unwrap();
    assert_eq!(shapes.len(), 5);
    assert!(shapes.iter().all(|(_, s)| s.ndim() == 0));
    // At xi = 0 every variable sits at its median: a = 1, c = 0, d = 0.5.
    let params = variables::zeros().unwrap();
    let inter = variables::intermediates(&params, &variables::Fixed {}).unwrap();
    assert_eq!((inter.a.item(), inter.c.item(), inter.d.item()), (1.0, 0.0, 0.5));
    // The log-normal median is mean^2 / sqrt(mean^2 + sigma^2).
    assert!((inter.b.item() - 9.0 / (9.0f64 + 0.01).sqrt()).abs() < 1e-12);
    // d a / d xi_a = sigma = 2
    let g = variables::grad(&params, &variables::Fixed {}, |y| y.clone()).unwrap();
    assert_eq!(g.a.item(), 2.0);
}

#[purify]
fn bad_prior() -> Tensor {
    log_normal_variable!(mean = -1.0, sigma = 0.1, name = "s")
}

#[test]
fn invalid_prior_arguments_are_errors_not_nan() {
    let err = bad_prior::zeros().unwrap_err().to_string();
    assert!(err.contains("mean"), "{err}");
    let err = bad_prior::apply(
        &bad_prior::Params {
            s: Tensor::scalar(0.0),
        },
        &bad_prior::Fixed {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("mean"), "{err}");
}

/// Markers bound to raw identifiers.
#[purify]
fn keywords() -> Tensor {
    let r#type = param!(3);
    let r#match = fixed!(());
    r#type.sum() * r#match
}

#[test]
fn raw_identifiers_declare_plain_paths() {
    assert_eq!(keywords::shapes().unwrap().to_string(), "type: [3]");
    assert_eq!(keywords::fixed_shapes().unwrap().to_string(), "match: []");
    let bad = keywords::Params {
        r#type: Tensor::zeros([2]),
    };
    assert_eq!(
        keywords::apply(&bad, &Default::default())
            .unwrap_err()
            .to_string(),
        "`type`: expected shape [3], got [2]"
    );
    let json = jaxpurify::io::to_json(&keywords::zeros().unwrap());
    assert!(json.contains("\"type\"") && !json.contains("r#"), "{json}");
}
