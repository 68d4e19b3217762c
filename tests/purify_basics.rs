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
