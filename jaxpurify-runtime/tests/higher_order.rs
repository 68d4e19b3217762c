//! Gradients of gradients, nested differentiation, forward against reverse
//! mode, and results under threads.

use jaxpurify_runtime::{Grads, Tensor, custom_vjp, grad, hvp, jvp, map_batch, value_and_grad, vjp};

fn d(f: impl Fn(&Tensor) -> Tensor, x: &Tensor) -> Tensor {
    grad(|x: &Tensor| f(x).sum(), x)
}

#[test]
fn second_and_third_derivatives_of_sin_and_exp() {
    let x = Tensor::from([0.3, -1.2, 2.0]);
    let sin2 = d(|x| d(|x| x.sin(), x), &x);
    let sin3 = d(|x| d(|x| d(|x| x.sin(), x), x), &x);
    let exp3 = d(|x| d(|x| d(|x| x.exp(), x), x), &x);
    for (i, &v) in x.as_slice().iter().enumerate() {
        assert!((sin2.as_slice()[i] + v.sin()).abs() < 1e-14, "sin'' = -sin");
        assert!((sin3.as_slice()[i] + v.cos()).abs() < 1e-14, "sin''' = -cos");
        assert!((exp3.as_slice()[i] - v.exp()).abs() < 1e-14, "exp''' = exp");
    }
}

#[test]
fn perturbation_confusion_is_avoided() {
    // d/dx [x * (d/dy (x + y))] at x = 1: the inner derivative is 1, so the
    // answer is 1; an implementation that confuses the levels gives 2.
    let outer = grad(
        |x: &Tensor| {
            let inner = grad(|y: &Tensor| (x + y).sum(), &Tensor::scalar(1.0));
            (x * &inner).sum()
        },
        &Tensor::scalar(1.0),
    );
    assert_eq!(outer.item(), 1.0);

    // d/dx [x * d/dy (x * y)] = d/dx x^2 = 2x: the inner result depends on x.
    let outer = grad(
        |x: &Tensor| {
            let inner = grad(|y: &Tensor| (x * y).sum(), &Tensor::scalar(5.0));
            (x * &inner).sum()
        },
        &Tensor::scalar(3.0),
    );
    assert_eq!(outer.item(), 6.0);
}

#[test]
fn jvp_agrees_with_vjp_on_linear_probes() {
    // <u, J v> = <J^T u, v> for a non-linear map with mixed broadcasting.
    let f = |x: &Tensor| (x * &x.sin()).exp() / (x + 3.0);
    let x = Tensor::from([0.1, 0.7, -0.4, 1.3]);
    for k in 0..5 {
        let v = Tensor::from_vec((0..4).map(|i| ((i * 7 + k * 3) % 5) as f64 - 2.0).collect(), [4]).unwrap();
        let u = Tensor::from_vec(
            (0..4).map(|i| ((i * 3 + k) % 4) as f64 * 0.5 - 0.7).collect(),
            [4],
        )
        .unwrap();
        let (_, jv) = jvp(f, &x, &v);
        let (_, pullback) = vjp(f, &x);
        let jtu = pullback.apply(&u);
        let lhs = (&u * &jv).sum().item();
        let rhs = (&jtu * &v).sum().item();
        assert!((lhs - rhs).abs() < 1e-12 * lhs.abs().max(1.0), "{lhs} vs {rhs}");
    }
}

#[test]
fn hessian_vector_product_matches_closed_form() {
    // f = sum(exp(x) * sin(x)); f'' = 2 exp(x) cos(x) per element (diagonal).
    let x = Tensor::from([0.2, 1.1]);
    let v = Tensor::from([1.0, -2.0]);
    let hv = hvp(|x: &Tensor| (x.exp() * x.sin()).sum(), &x, &v);
    for i in 0..2 {
        let xi = x.as_slice()[i];
        let expected = 2.0 * xi.exp() * xi.cos() * v.as_slice()[i];
        assert!((hv.as_slice()[i] - expected).abs() < 1e-13);
    }
}

#[test]
fn gradients_on_eight_threads_equal_sequential_ones_bit_for_bit() {
    let f = |x: &Tensor| (x.sin() * x.exp() / (x * x + 1.0)).sum();
    let inputs: Vec<Tensor> = (0..32)
        .map(|k| Tensor::linspace(-1.0 + k as f64 * 0.1, 2.0, 50))
        .collect();
    let sequential: Vec<Vec<f64>> = inputs.iter().map(|x| value_and_grad(f, x).1.to_vec()).collect();
    let parallel: Vec<Vec<f64>> = std::thread::scope(|s| {
        let handles: Vec<_> = inputs
            .chunks(4)
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|x| value_and_grad(f, x).1.to_vec())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(sequential.len(), parallel.len());
    for (a, b) in sequential.iter().zip(&parallel) {
        assert!(a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits()));
    }
}

#[test]
fn long_chains_record_and_drop_without_overflowing_the_stack() {
    let g = grad(
        |x: &Tensor| {
            let mut y = x.clone();
            for _ in 0..200_000 {
                y = &y * 1.0;
            }
            y.sum()
        },
        &Tensor::scalar(2.0),
    );
    assert_eq!(g.item(), 1.0);
}

#[test]
fn one_level_recorded_from_several_threads_gives_the_sequential_gradient() {
    let scales: Vec<f64> = (1..=64).map(|k| 0.05 * k as f64).collect();
    let loss = |x: &Tensor, parallel: bool| {
        let term = |s: &f64| (x * *s).sin().sum();
        let terms = if parallel {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
            pool.install(|| map_batch(&scales, term))
        } else {
            scales.iter().map(term).collect()
        };
        terms.into_iter().fold(Tensor::scalar(0.0), |acc, t| acc + t)
    };
    let x = Tensor::from([0.3, -1.2, 2.0]);
    let sequential = grad(|x: &Tensor| loss(x, false), &x);
    let parallel = grad(|x: &Tensor| loss(x, true), &x);
    // sum_s s cos(s x): the threads may record in any order, which only
    // moves the last bits of the sums.
    for (k, (&p, &q)) in parallel.as_slice().iter().zip(sequential.as_slice()).enumerate() {
        let exact: f64 = scales.iter().map(|s| s * (s * x.as_slice()[k]).cos()).sum();
        assert!(
            (p - exact).abs() < 1e-12 && (q - exact).abs() < 1e-12,
            "{p} {q} {exact}"
        );
    }
}

#[test]
fn a_pullback_applied_twice_sweeps_its_record_twice() {
    let (_, pullback) = vjp(|x: &Tensor| x.exp() * x, &Tensor::from([0.5, 1.0]));
    let once = pullback.apply(&Tensor::from([1.0, 2.0]));
    let again = pullback.apply(&Tensor::from([1.0, 2.0]));
    assert_eq!(once.to_vec(), again.to_vec());
    let doubled = pullback.apply(&Tensor::from([2.0, 4.0]));
    assert_eq!(doubled.to_vec(), (&once * 2.0).to_vec());
}

#[test]
#[should_panic(expected = "rules must not capture tensors that need a gradient")]
fn a_rule_recording_onto_the_level_it_differentiates_panics() {
    grad(
        |x: &Tensor| {
            let captured = x.clone();
            let rule = move |c: &jaxpurify_runtime::Ctx| Grads::from_iter([Some(c.grad * &captured)]);
            custom_vjp(&[x], |v| v[0].clone(), rule).sum()
        },
        &Tensor::scalar(2.0),
    );
}

#[test]
fn values_returned_by_value_and_grad_carry_no_graph() {
    let (v, g) = value_and_grad(|x: &Tensor| (x * x).sum(), &Tensor::from([3.0]));
    assert!(!v.is_tracked() && !g.is_tracked());
    assert_eq!((v.item(), g.item()), (9.0, 6.0));
}
