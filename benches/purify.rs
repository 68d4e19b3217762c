//! What `#[purify]` costs: a purified model against the same body written
//! by hand on plain tensors, both differentiated with `value_and_grad`.

use criterion::{Criterion, criterion_group, criterion_main};
use jaxpurify::prelude::*;
use std::hint::black_box;

#[purify]
fn tiny() -> Tensor {
    let x = param!(3);
    let y = intermediate!(&x * &x);
    y.sum()
}

fn tiny_by_hand(x: &Tensor) -> Tensor {
    (x * x).sum()
}

/// A dense layer written with broadcasting, `tanh(sum(w * x, 1) + b)`.
#[purify]
fn layer(d_in: usize, d_out: usize, x: &Tensor) -> Tensor {
    let w = param!([d_out, d_in]);
    let b = param!(d_out);
    ((&w * &x.reshape([1, d_in])).sum_axes(&[1], false) + &b).tanh()
}

#[purify]
fn stack_of_layers(width: usize, depth: usize) -> Tensor {
    let mut h = fixed!(width);
    for i in 0..depth {
        h = sub!(layers[i] = layer(width, width, &h));
    }
    h.square().sum()
}

fn layers_by_hand(params: &[(Tensor, Tensor)], x: &Tensor, width: usize) -> Tensor {
    let mut h = x.clone();
    for (w, b) in params {
        h = ((w * &h.reshape([1, width])).sum_axes(&[1], false) + b).tanh();
    }
    h.square().sum()
}

fn bench_tiny(c: &mut Criterion) {
    let params = tiny::Params {
        x: Tensor::from([1.0, 2.0, 3.0]),
    };
    let fixed = tiny::Fixed {};
    let mut group = c.benchmark_group("purify_tiny_value_and_grad");
    group.bench_function("purified", |b| {
        b.iter(|| tiny::value_and_grad(black_box(&params), &fixed, |y| y.clone()).unwrap())
    });
    group.bench_function("by_hand", |b| {
        b.iter(|| value_and_grad(tiny_by_hand, black_box(&params.x)))
    });
    group.finish();
}

fn bench_layers(c: &mut Criterion) {
    let (width, depth) = (32, 4);
    let model = stack_of_layers::new(width, depth);
    let params = model.normal(&mut rand::rng()).unwrap();
    let fixed = stack_of_layers::Fixed {
        h: Tensor::linspace(-1.0, 1.0, width),
        ..Default::default()
    };
    let by_hand: Vec<(Tensor, Tensor)> = params.layers.iter().map(|l| (l.w.clone(), l.b.clone())).collect();
    let mut group = c.benchmark_group("purify_layers_32x4_value_and_grad");
    group.bench_function("purified", |b| {
        b.iter(|| {
            model
                .value_and_grad(black_box(&params), &fixed, |y| y.clone())
                .unwrap()
        })
    });
    group.bench_function("by_hand", |b| {
        b.iter(|| {
            let flat: Vec<Tensor> = by_hand.iter().flat_map(|(w, b)| [w.clone(), b.clone()]).collect();
            value_and_grad(
                |p: &Vec<Tensor>| {
                    let pairs: Vec<(Tensor, Tensor)> =
                        p.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect();
                    layers_by_hand(&pairs, &fixed.h, width)
                },
                black_box(&flat),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench_tiny, bench_layers);
criterion_main!(benches);
