//! Behaviour of `#[purify]` features: components, loops, closures,
//! arguments, generic code over `Model`, checked boundaries, files and
//! initialisation.

use jaxpurify::prelude::*;
use jaxpurify::{Flat, Shapes, grad};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// y = w x + b on a vector of `n` inputs.
#[purify]
fn affine(n: usize, x: &Tensor) -> Tensor {
    let w = param!(n);
    let b = param!(());
    &w * x + &b
}

#[purify]
fn two_affines() -> Tensor {
    let x = fixed!(2);
    let first = sub!(affine(2, &x));
    sub!(second = affine(2, &first))
}

#[test]
fn a_component_used_twice_has_separate_parameters() {
    let shapes = two_affines::shapes().unwrap();
    assert_eq!(
        shapes.to_string(),
        "affine.w: [2]\naffine.b: []\nsecond.w: [2]\nsecond.b: []"
    );
    let params = two_affines::Params {
        affine: affine::Params {
            w: Tensor::from([1.0, 2.0]),
            b: Tensor::scalar(0.5),
        },
        second: affine::Params {
            w: Tensor::from([3.0, -1.0]),
            b: Tensor::scalar(0.0),
        },
    };
    let fixed = two_affines::Fixed {
        x: Tensor::from([1.0, 1.0]),
        ..Default::default()
    };
    // first = [1.5, 2.5]; second = [4.5, -2.5]
    let y = two_affines::apply(&params, &fixed).unwrap();
    assert_eq!(y.to_vec(), vec![4.5, -2.5]);
    // d sum(y) / d second.b = 2 (two outputs); d/d affine.b = sum(second.w) = 2
    let g = two_affines::grad(&params, &fixed, |y| y.sum()).unwrap();
    assert_eq!(g.second.b.item(), 2.0);
    assert_eq!(g.affine.b.item(), 2.0);
    assert_eq!(g.affine.w.to_vec(), vec![3.0, -1.0]);
}

/// A dense layer: `relu(w x + b)`, with `w` of shape [d_out, d_in].
#[purify]
fn dense(d_in: usize, d_out: usize, x: &Tensor) -> Tensor {
    let w = param!([d_out, d_in]);
    let b = param!(d_out);
    ((&w * &x.reshape([1, d_in])).sum_axes(&[1], false) + &b).relu()
}

#[purify]
fn mlp(dims: &[usize]) -> Tensor {
    let mut h = fixed!(dims[0]);
    for i in 0..dims.len() - 1 {
        h = sub!(layers[i] = dense(dims[i], dims[i + 1], &h));
        let _ = intermediate!(h.clone(), name = hidden[i]);
    }
    h
}

#[test]
fn a_loop_of_components_fills_a_vec_in_order() {
    let dims = [3, 4, 2];
    let params = mlp::normal(&mut rng(0), &dims).unwrap();
    assert_eq!(params.layers.len(), 2);
    assert_eq!(params.layers[1].w.shape(), &[2, 4]);
    assert_eq!(
        mlp::shapes(&dims).unwrap().get("layers.1.b"),
        Some(&Shape::from([2]))
    );
    let fixed = mlp::Fixed {
        h: Tensor::from([1.0, -1.0, 0.5]),
        ..Default::default()
    };
    let (y, inter) = mlp::apply_and_intermediates(&params, &fixed, &dims).unwrap();
    assert_eq!(inter.hidden.len(), 2);
    assert_eq!(inter.hidden[1], y);
    assert!(y.as_slice().iter().all(|v| *v >= 0.0));
}

#[test]
fn a_vec_of_the_wrong_length_is_an_error() {
    let dims = [3, 4, 2];
    let mut params = mlp::zeros(&dims).unwrap();
    let fixed = mlp::Fixed {
        h: Tensor::zeros([3]),
        ..Default::default()
    };
    params.layers.push(params.layers[0].clone());
    let err = mlp::apply(&params, &fixed, &dims).unwrap_err();
    assert_eq!(err.to_string(), "`layers`: expected length 2, got 3");
    params.layers.truncate(1);
    let err = mlp::apply(&params, &fixed, &dims).unwrap_err();
    assert_eq!(err.to_string(), "`layers`: expected length 2, got 1");
}

#[test]
fn a_compiled_call_names_a_list_of_the_wrong_length_as_a_direct_call_does() {
    let dims = [3, 4, 4, 2];
    let params = mlp::zeros(&dims).unwrap();
    let fixed = mlp::Fixed {
        h: Tensor::ones([3]),
        ..Default::default()
    };
    let compiled = mlp::new(&dims)
        .compile_value_and_grad(&params, &fixed, |y| y.sum())
        .unwrap();
    for len in [2, 4] {
        let mut wrong = params.clone();
        wrong.layers.resize(len, params.layers[0].clone());
        let direct = mlp::apply(&wrong, &fixed, &dims).unwrap_err().to_string();
        assert_eq!(direct, format!("`layers`: expected length 3, got {len}"));
        assert_eq!(compiled.call(&wrong).unwrap_err().to_string(), direct);
    }
}

#[purify]
fn quadratic(x: &Tensor) -> Tensor {
    let w = param!(());
    &w * x * x
}

#[purify]
fn curvature() -> Tensor {
    // d^2/dx^2 (w x^2) = 2w, computed inside the model through a closure
    // that calls a component.
    let second = |x0: &Tensor| {
        grad(
            |x: &Tensor| grad(|y: &Tensor| sub!(quadratic(y)).sum(), x).sum(),
            x0,
        )
    };
    intermediate!(second(&Tensor::scalar(1.0)), name = "d2")
}

#[test]
fn grad_of_grad_of_a_component_inside_the_model_and_grad_of_the_whole() {
    let params = curvature::Params {
        quadratic: quadratic::Params {
            w: Tensor::scalar(1.5),
        },
    };
    let (y, inter) = curvature::apply_and_intermediates(&params, &Default::default()).unwrap();
    assert_eq!(y.item(), 3.0);
    assert_eq!(inter.d2.item(), 3.0);
    // d(2w)/dw = 2
    let g = curvature::grad(&params, &Default::default(), |y| y.sum()).unwrap();
    assert_eq!(g.quadratic.w.item(), 2.0);
}

#[purify]
fn closure_model() -> Tensor {
    let scale = |t: &Tensor| {
        let s = param!(());
        t * &s
    };
    scale(&Tensor::from([1.0, 2.0])) + scale(&Tensor::from([3.0, 4.0]))
}

#[test]
fn a_closure_using_a_marker_declares_it_once() {
    assert_eq!(closure_model::shapes().unwrap().to_string(), "s: []");
    let params = closure_model::Params {
        s: Tensor::scalar(2.0),
    };
    assert_eq!(
        closure_model::apply(&params, &Default::default())
            .unwrap()
            .to_vec(),
        vec![8.0, 12.0]
    );
}

/// Generic code over any model: the squared norm of its output at zeros.
fn output_norm<M: Model<Output = Tensor>>(model: &M, fixed: &M::Fixed) -> f64 {
    let params = model.zeros().unwrap();
    model.apply(&params, fixed).unwrap().square().sum().item()
}

#[test]
fn generic_functions_take_any_model() {
    let x = Tensor::from([1.0, 2.0]);
    assert_eq!(output_norm(&affine::new(2, &x), &Default::default()), 0.0);
    let m = affine::new(2, &x);
    let p = affine::Params {
        w: Tensor::from([1.0, 1.0]),
        b: Tensor::scalar(1.0),
    };
    assert_eq!(m.apply(&p, &Default::default()).unwrap().to_vec(), vec![2.0, 3.0]);
}

#[test]
fn every_boundary_checks_shapes_and_lengths() {
    let x = Tensor::from([1.0, 2.0]);
    let bad = affine::Params {
        w: Tensor::zeros([3]),
        b: Tensor::scalar(0.0),
    };
    let expected = "`w`: expected shape [2], got [3]";
    assert_eq!(
        affine::apply(&bad, &Default::default(), 2, &x)
            .unwrap_err()
            .to_string(),
        expected
    );
    assert_eq!(
        affine::intermediates(&bad, &Default::default(), 2, &x)
            .unwrap_err()
            .to_string(),
        expected
    );
    assert_eq!(
        affine::value_and_grad(&bad, &Default::default(), 2, &x, |y| y.sum())
            .unwrap_err()
            .to_string(),
        expected
    );
    let m = affine::new(2, &x);
    assert_eq!(
        m.vjp(&bad, &Default::default()).err().unwrap().to_string(),
        expected
    );
    let good = m.zeros().unwrap();
    assert_eq!(
        m.jvp(&bad, &Default::default(), &good).unwrap_err().to_string(),
        expected
    );

    let bad_fixed = two_affines::Fixed {
        x: Tensor::zeros([5]),
        ..Default::default()
    };
    let params = two_affines::zeros().unwrap();
    assert_eq!(
        two_affines::apply(&params, &bad_fixed).unwrap_err().to_string(),
        "`x`: expected shape [2], got [5]"
    );

    let flat: Flat<_> = m.flat().unwrap();
    assert_eq!(flat.len(), 3);
    assert_eq!(
        flat.unravel(&[1.0; 4]).unwrap_err().to_string(),
        "`flat vector`: expected length 3, got 4"
    );
    let mut out = vec![0.0; 2];
    let err = flat
        .value_and_grad(&[0.0; 3], &Default::default(), |y| y.sum(), &mut out)
        .unwrap_err();
    assert_eq!(err.to_string(), "`gradient buffer`: expected length 3, got 2");
}

#[test]
fn flat_forms_follow_declaration_order() {
    let x = Tensor::from([1.0, 2.0]);
    let flat = affine::new(2, &x).flat().unwrap();
    let params = flat.unravel(&[1.0, 2.0, 3.0]).unwrap();
    assert_eq!((params.w.to_vec(), params.b.item()), (vec![1.0, 2.0], 3.0));
    assert_eq!(params.ravel(), vec![1.0, 2.0, 3.0]);
    let mut g = vec![0.0; 3];
    // y = w x + b = [4, 7]; loss = sum(y) = 11; d/dw = x, d/db = 2
    let loss = flat
        .value_and_grad(&[1.0, 2.0, 3.0], &Default::default(), |y| y.sum(), &mut g)
        .unwrap();
    assert_eq!(loss, 11.0);
    assert_eq!(g, vec![1.0, 2.0, 2.0]);
}

#[test]
fn save_and_load_round_trip() {
    let dims = [2, 3, 1];
    let params = mlp::normal(&mut rng(3), &dims).unwrap();
    let dir = std::env::temp_dir().join(format!("jaxpurify-features-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["mlp.json", "mlp.safetensors"] {
        params.save(dir.join(name)).unwrap();
        let template = mlp::zeros(&dims).unwrap();
        assert_eq!(template.load_like(dir.join(name)).unwrap(), params);
        let other = mlp::zeros(&[2, 4, 1]).unwrap();
        let err = other.load_like(dir.join(name)).unwrap_err().to_string();
        assert!(
            err.contains("misshapen `layers.0.w (expected [4, 2], got [3, 2])`"),
            "{err}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[purify]
fn grows() -> Tensor {
    let a = param!(4);
    a.sum()
}

#[purify]
fn grown() -> Tensor {
    let extra = param!(2);
    let a = param!(4);
    a.sum() + extra.sum()
}

#[test]
fn adding_a_parameter_leaves_the_others_initial_values_unchanged() {
    let before = grows::normal(&mut rng(11)).unwrap();
    let after = grown::normal(&mut rng(11)).unwrap();
    assert_eq!(before.a, after.a);
}

#[test]
fn shapes_need_no_user_data() {
    let shapes: Shapes = two_affines::fixed_shapes().unwrap();
    assert_eq!(shapes.to_string(), "x: [2]");
    assert_eq!(
        mlp::shapes(&[16, 8, 4]).unwrap().num_elements(),
        16 * 8 + 8 + 8 * 4 + 4
    );
}

#[test]
fn a_bound_model_learns_its_layout_once_and_draws_the_same_values() {
    let dims = [3, 4, 2];
    let model = mlp::new(&dims);
    // The first call runs the body to learn the layout, the second uses the
    // kept layout; both must give the free function's draws.
    let first = model.normal(&mut rng(5)).unwrap();
    let second = model.normal(&mut rng(5)).unwrap();
    let free = mlp::normal(&mut rng(5), &dims).unwrap();
    assert_eq!(first, free);
    assert_eq!(second, free);
    assert_eq!(model.zeros().unwrap(), mlp::zeros(&dims).unwrap());
}
