//! Arithmetic with NumPy broadcasting: `+ - * /`, negation, and the operator
//! impls for every mix of `Tensor`, `&Tensor` and `f64`.

use crate::autodiff::record;
use crate::buffer_pool;
use crate::shape::{broadcast_shapes, broadcast_strides, for_each_offset, tiles_into};
use crate::tensor::Tensor;
use smallvec::smallvec;
use std::iter::Sum;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// Applies `f` elementwise over the broadcast of `a` and `b`, not recorded.
/// Every binary op computes its values through this one function.
///
/// # Panics
/// When the shapes do not broadcast, naming `op` and both shapes.
#[track_caller]
pub(crate) fn zip_broadcast(op: &str, a: &Tensor, b: &Tensor, f: impl Fn(f64, f64) -> f64) -> Tensor {
    let (x, y) = (a.as_slice(), b.as_slice());
    if a.shape() == b.shape() {
        return Tensor::collect_parts(x.iter().zip(y).map(|(&p, &q)| f(p, q)), a.shape().clone());
    }
    // A single value against a tensor of at least its rank keeps the
    // tensor's shape (checked before building the broadcast shape).
    if b.numel() == 1 && b.ndim() <= a.ndim() {
        let q = y[0];
        return Tensor::collect_parts(x.iter().map(|&p| f(p, q)), a.shape().clone());
    }
    if a.numel() == 1 && a.ndim() <= b.ndim() {
        let p = x[0];
        return Tensor::collect_parts(y.iter().map(|&q| f(p, q)), b.shape().clone());
    }
    let shape = broadcast_shapes(a.shape(), b.shape())
        .unwrap_or_else(|| panic!("{op}: shapes {} and {} do not broadcast", a.shape(), b.shape()));
    if &shape == a.shape() && tiles_into(b.shape(), a.shape()) {
        return Tensor::from_parts(zip_tiles(x, y, f), shape);
    }
    if &shape == b.shape() && tiles_into(a.shape(), b.shape()) {
        return Tensor::from_parts(zip_tiles(y, x, |q, p| f(p, q)), shape);
    }
    let (sa, sb) = (
        broadcast_strides(a.shape(), &shape),
        broadcast_strides(b.shape(), &shape),
    );
    let mut offsets_a = Vec::with_capacity(shape.numel());
    for_each_offset(&shape, &sa, |_, o| offsets_a.push(o));
    let mut data = buffer_pool::with_capacity(shape.numel());
    for_each_offset(&shape, &sb, |i, o| data.push(f(x[offsets_a[i]], y[o])));
    Tensor::from_parts(data, shape)
}

/// `f(big, small)` over each block of `big` with `small`, which tiles it (a
/// bias added to every row), one block after another: each block is a loop
/// of known length that vectorises, where one iterator over all blocks is
/// collected a value at a time.
fn zip_tiles(big: &[f64], small: &[f64], f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    let mut data = buffer_pool::with_capacity(big.len());
    for block in big.chunks_exact(small.len()) {
        data.extend(block.iter().zip(small).map(|(&p, &q)| f(p, q)));
    }
    data
}

/// `a + b` with broadcasting.
#[track_caller]
fn add(a: &Tensor, b: &Tensor) -> Tensor {
    let out = zip_broadcast("add", a, b, |p, q| p + q);
    // d(a + b) = da + db; each gradient sums back over what was broadcast.
    record(out, &[a, b], |c| {
        smallvec![
            c.needs(0).then(|| c.grad.sum_to(c.inputs[0].shape())),
            c.needs(1).then(|| c.grad.sum_to(c.inputs[1].shape())),
        ]
    })
}

/// `a - b` with broadcasting.
#[track_caller]
fn sub(a: &Tensor, b: &Tensor) -> Tensor {
    let out = zip_broadcast("sub", a, b, |p, q| p - q);
    record(out, &[a, b], |c| {
        smallvec![
            c.needs(0).then(|| c.grad.sum_to(c.inputs[0].shape())),
            c.needs(1).then(|| (-c.grad).sum_to(c.inputs[1].shape())),
        ]
    })
}

/// `a * b` with broadcasting.
#[track_caller]
fn mul(a: &Tensor, b: &Tensor) -> Tensor {
    let out = zip_broadcast("mul", a, b, |p, q| p * q);
    // d(a b) = b da + a db
    record(out, &[a, b], |c| {
        let [a, b] = [&c.inputs[0], &c.inputs[1]];
        smallvec![
            c.needs(0).then(|| (c.grad * b).sum_to(a.shape())),
            c.needs(1).then(|| (c.grad * a).sum_to(b.shape())),
        ]
    })
}

/// `a / b` with broadcasting.
#[track_caller]
fn div(a: &Tensor, b: &Tensor) -> Tensor {
    let out = zip_broadcast("div", a, b, |p, q| p / q);
    // d(a / b) = da / b - (a / b) db / b
    record(out, &[a, b], |c| {
        let [a, b] = [&c.inputs[0], &c.inputs[1]];
        smallvec![
            c.needs(0).then(|| (c.grad / b).sum_to(a.shape())),
            c.needs(1).then(|| (-(c.grad * c.output) / b).sum_to(b.shape())),
        ]
    })
}

/// `-a`.
fn neg(a: &Tensor) -> Tensor {
    let out = a.map_values(|v| -v);
    record(out, &[a], |c| smallvec![Some(-c.grad)])
}

impl Neg for &Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        neg(self)
    }
}

impl Neg for Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        neg(&self)
    }
}

macro_rules! binary_operator {
    ($trait:ident, $method:ident, $f:ident) => {
        impl $trait<&Tensor> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: &Tensor) -> Tensor {
                $f(self, rhs)
            }
        }
        impl $trait<Tensor> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: Tensor) -> Tensor {
                $f(self, &rhs)
            }
        }
        impl $trait<&Tensor> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: &Tensor) -> Tensor {
                $f(&self, rhs)
            }
        }
        impl $trait<Tensor> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: Tensor) -> Tensor {
                $f(&self, &rhs)
            }
        }
        impl $trait<f64> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: f64) -> Tensor {
                $f(self, &Tensor::scalar(rhs))
            }
        }
        impl $trait<f64> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: f64) -> Tensor {
                $f(&self, &Tensor::scalar(rhs))
            }
        }
        impl $trait<&Tensor> for f64 {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                $f(&Tensor::scalar(self), rhs)
            }
        }
        impl $trait<Tensor> for f64 {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                $f(&Tensor::scalar(self), &rhs)
            }
        }
    };
}

binary_operator!(Add, add, add);
binary_operator!(Sub, sub, sub);
binary_operator!(Mul, mul, mul);
binary_operator!(Div, div, div);

/// The sum of tensors with broadcasting, as Python's `sum([...])` adds a
/// list of arrays: an empty iterator gives the scalar 0.
///
/// ```
/// use jaxpurify_runtime::Tensor;
/// let terms = [Tensor::scalar(1.0), Tensor::from([2.0, 3.0]), Tensor::scalar(4.0)];
/// let total: Tensor = terms.iter().sum();
/// assert_eq!(total.to_vec(), vec![7.0, 8.0]);
/// assert_eq!(terms.into_iter().sum::<Tensor>().to_vec(), vec![7.0, 8.0]);
/// assert_eq!(std::iter::empty::<Tensor>().sum::<Tensor>().item(), 0.0);
/// ```
///
/// # Panics
/// When the shapes do not broadcast (as `add`).
impl Sum for Tensor {
    fn sum<I: Iterator<Item = Tensor>>(iter: I) -> Tensor {
        iter.reduce(|total, t| add(&total, &t))
            .unwrap_or_else(|| Tensor::scalar(0.0))
    }
}

/// Like `Sum<Tensor>`, for borrowed tensors.
impl<'a> Sum<&'a Tensor> for Tensor {
    fn sum<I: Iterator<Item = &'a Tensor>>(mut iter: I) -> Tensor {
        match iter.next() {
            Some(first) => iter.fold(first.clone(), |total, t| add(&total, t)),
            None => Tensor::scalar(0.0),
        }
    }
}

#[cfg(test)]
pub(crate) type BinaryOp = fn(&Tensor, &Tensor) -> Tensor;

/// Every binary op of the library, for the shared broadcasting test below.
/// An op family that adds a binary op adds it here.
#[cfg(test)]
pub(crate) fn binary_ops() -> Vec<(&'static str, BinaryOp)> {
    vec![
        ("add", |a, b| a + b),
        ("sub", |a, b| a - b),
        ("mul", |a, b| a * b),
        ("div", |a, b| a / b),
        ("pow", |a, b| a.pow(b)),
        ("maximum", |a, b| a.maximum(b)),
        ("minimum", |a, b| a.minimum(b)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_grad;
    use crate::{grad, vjp};

    /// Positive, non-repeating values so that every op (div, pow) is smooth.
    fn sample(shape: &[usize], shift: f64) -> Tensor {
        let n: usize = shape.iter().product();
        let data = (0..n).map(|i| 1.1 + 0.37 * i as f64 + shift).collect();
        Tensor::from_vec(data, shape).unwrap()
    }

    #[test]
    fn every_binary_op_broadcasts_and_its_gradients_keep_input_shapes() {
        let pairs: [(&[usize], &[usize]); 6] = [
            (&[3], &[3]),
            (&[2, 3], &[3]),
            (&[2, 1], &[1, 4]),
            (&[], &[2, 2]),
            (&[4, 1, 3], &[2, 1]),
            (&[2, 3], &[]),
        ];
        for (name, op) in binary_ops() {
            for (sa, sb) in pairs {
                let (a, b) = (sample(sa, 0.0), sample(sb, 0.5));
                let (y, pullback) = vjp(|ab: &(Tensor, Tensor)| op(&ab.0, &ab.1), &(a.clone(), b.clone()));
                let cot = sample(y.shape(), 0.1);
                let (ga, gb) = pullback.apply(&cot);
                assert_eq!(
                    ga.shape(),
                    a.shape(),
                    "{name}: gradient of a for {sa:?} with {sb:?}"
                );
                assert_eq!(
                    gb.shape(),
                    b.shape(),
                    "{name}: gradient of b for {sa:?} with {sb:?}"
                );
                check_grad(|x| op(&x[0], &x[1]), &[a, b]).assert_ok_for(name);
            }
        }
    }

    #[test]
    fn hand_derived_values() {
        // L = sum(w * (a*b + a/b - b)), w = [1, 2]; a = [1, 2], b = [2, 4]
        // dL/da = w (b + 1/b) = [2.5, 8.5]; dL/db = w (a - a/b^2 - 1) = [-0.25, 1.75]
        let w = Tensor::from([1.0, 2.0]);
        let (ga, gb) = grad(
            |x: &(Tensor, Tensor)| ((&x.0 * &x.1 + &x.0 / &x.1 - &x.1) * &w).sum(),
            &(Tensor::from([1.0, 2.0]), Tensor::from([2.0, 4.0])),
        );
        assert_eq!(ga.to_vec(), vec![2.5, 8.5]);
        assert_eq!(gb.to_vec(), vec![-0.25, 1.75]);
    }

    #[test]
    fn summing_an_iterator_broadcasts_and_passes_gradients_to_every_term() {
        // L = sum(w * (a + b + c)) with a, c of shape [2], b a scalar and
        // w = [1, 3]: dL/da = dL/dc = w = [1, 3], dL/db = sum(w) = 4.
        let w = Tensor::from([1.0, 3.0]);
        let terms = (
            Tensor::from([0.5, -1.0]),
            Tensor::scalar(2.0),
            Tensor::from([4.0, 1.0]),
        );
        let (ga, gb, gc) = grad(
            |t: &(Tensor, Tensor, Tensor)| ([&t.0, &t.1, &t.2].into_iter().sum::<Tensor>() * &w).sum(),
            &terms,
        );
        assert_eq!(
            (ga.to_vec(), gb.item(), gc.to_vec()),
            (vec![1.0, 3.0], 4.0, vec![1.0, 3.0])
        );
        let owned: Tensor = [terms.0.clone(), terms.1.clone(), terms.2.clone()]
            .into_iter()
            .sum();
        assert_eq!(owned.to_vec(), vec![6.5, 2.0]);
        check_grad(|x| x.iter().sum(), &[terms.0, terms.1, terms.2]).assert_ok();
        assert_eq!(Vec::<Tensor>::new().into_iter().sum::<Tensor>().item(), 0.0);
    }

    #[test]
    #[should_panic(expected = "add: shapes [2] and [3] do not broadcast")]
    fn mismatched_shapes_name_the_op() {
        let _ = Tensor::zeros([2]) + Tensor::zeros([3]);
    }

    #[test]
    fn scalars_mix_with_tensors() {
        let x = Tensor::from([1.0, 2.0]);
        assert_eq!((2.0 - &x).to_vec(), vec![1.0, 0.0]);
        assert_eq!((&x / 2.0).to_vec(), vec![0.5, 1.0]);
        assert_eq!((-x).to_vec(), vec![-1.0, -2.0]);
    }
}
