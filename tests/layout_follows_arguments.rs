//! A model's layout is what its body declares for the arguments it is given:
//! a parameter in a branch not taken, a component not called and the
//! entries of a loop that runs fewer times are not part of it. Shapes,
//! initial values and flat vectors follow; a value given for something the
//! arguments do not declare is an error, never silently ignored.

use jaxpurify::prelude::*;
use rand::SeedableRng;

/// `w x + b` on a vector of `n` inputs.
#[purify]
fn dense(n: usize, x: &Tensor) -> Tensor {
    let w = param!([n, n]);
    let b = param!(n);
    w.matmul(x) + b
}

/// `depth` dense layers, each with its own gain.
#[purify]
fn stack(depth: usize) -> Tensor {
    let mut h = fixed!(2);
    for i in 0..depth {
        h = sub!(layers[i] = dense(2, &h)) * param!((), name = gains[i]);
    }
    h
}

/// A bias, a component and fixed data only for some arguments.
#[purify]
fn optional(with_bias: bool, with_head: bool) -> Tensor {
    let w = param!(3);
    let y = w.sin();
    let y = if with_bias { y + param!(3, name = "b") } else { y };
    let y = if with_head { sub!(head = dense(3, &y)) } else { y };
    match with_head {
        true => y * fixed!(3, name = "mask"),
        false => y,
    }
}

fn fixed_of(n: usize) -> stack::Fixed {
    stack::Fixed {
        h: Tensor::ones([n]),
        ..Default::default()
    }
}

#[test]
fn entries_given_to_a_loop_that_runs_no_times_are_an_error() {
    let two = stack::zeros(2).unwrap();
    // As for a loop that runs once, and naming the list whose entries were not used.
    assert_eq!(
        stack::apply(&two, &fixed_of(2), 1).unwrap_err().to_string(),
        "`gains`: expected length 1, got 2"
    );
    assert_eq!(
        stack::apply(&two, &fixed_of(2), 0).unwrap_err().to_string(),
        "`gains`: expected length 0, got 2"
    );
    let mut layers_only = stack::zeros(0).unwrap();
    layers_only.layers = two.layers.clone();
    assert_eq!(
        stack::apply(&layers_only, &fixed_of(2), 0)
            .unwrap_err()
            .to_string(),
        "`layers`: expected length 0, got 2"
    );
    let none = stack::zeros(0).unwrap();
    assert_eq!(
        stack::apply(&none, &fixed_of(2), 0).unwrap().to_vec(),
        vec![1.0, 1.0]
    );
}

#[test]
fn a_parameter_not_declared_for_the_arguments_is_left_out_of_the_layout() {
    assert_eq!(optional::shapes(false, false).unwrap().to_string(), "w: [3]");
    assert_eq!(
        optional::shapes(true, true).unwrap().to_string(),
        "w: [3]\nb: [3]\nhead.w: [3, 3]\nhead.b: [3]"
    );
    assert!(optional::fixed_shapes(true, false).unwrap().is_empty());
    assert_eq!(
        optional::fixed_shapes(false, true).unwrap().to_string(),
        "mask: [3]"
    );
    let zeros = optional::zeros(false, false).unwrap();
    assert_eq!(
        (zeros.b.shape().dims(), zeros.head.w.shape().dims()),
        (&[0][..], &[0][..])
    );
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(3);
    let drawn = optional::normal(&mut rng, false, false).unwrap();
    assert_eq!((drawn.w.numel(), drawn.b.numel()), (3, 0));
    let flat = optional::new(false, false).flat().unwrap();
    assert_eq!(flat.len(), 3);
    let y = flat.apply(&[0.0; 3], &Default::default()).unwrap();
    assert_eq!(y.to_vec(), vec![0.0; 3]);
    let inter = optional::intermediates(&zeros, &Default::default(), false, false);
    assert!(inter.is_ok());
}

#[test]
fn a_value_given_for_what_the_arguments_do_not_declare_is_an_error() {
    let all = optional::zeros(true, true).unwrap();
    let fixed = optional::Fixed {
        mask: Tensor::ones([3]),
        ..Default::default()
    };
    assert!(optional::apply(&all, &fixed, true, true).is_ok());
    assert_eq!(
        optional::apply(&all, &fixed, false, true)
            .unwrap_err()
            .to_string(),
        "`b`: given, but the model does not declare it for these arguments; \
         leave it empty (`Tensor::zeros([0])`), as `zeros` and `normal` do"
    );
    let message = optional::apply(&all, &fixed, true, false)
        .unwrap_err()
        .to_string();
    assert!(message.starts_with("`head.w`: given, but"), "{message}");
    let (_, grads) = optional::value_and_grad(&all, &fixed, true, true, |y| y.sum()).unwrap();
    assert_eq!(grads.b.shape().dims(), &[3]);
}
