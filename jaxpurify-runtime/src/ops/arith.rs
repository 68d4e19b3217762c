//! Arithmetic with NumPy broadcasting: `+ - * /`, negation, and the operator
//! impls for every mix of `Tensor`, `&Tensor` and `f64`.

use super::blocked::Blocked;
use crate::autodiff::graph::{apply_constant, apply_constant_batched, apply_op, apply_op_batched};
use crate::compile::kernel::{Kernel, Map};
use crate::shape::{Shape, broadcast_shapes, broadcast_strides, for_each_offset_pair, tiles_into};
use crate::tensor::Tensor;
use smallvec::{SmallVec, smallvec};
use std::iter::Sum;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// `f` elementwise over the broadcast of two inputs: the kernel of every
/// binary op, with the way the inputs line up decided once.
#[derive(Clone)]
pub(crate) struct Zip<F> {
    name: &'static str,
    f: F,
    plan: ZipPlan,
    /// The broadcast shape of the output.
    pub(crate) shape: Shape,
}

/// How two inputs line up with their broadcast output.
#[derive(Clone)]
enum ZipPlan {
    /// Equal shapes.
    Same,
    /// The right input is a single value.
    RightScalar,
    /// The left input is a single value.
    LeftScalar,
    /// The right input repeats whole along the left one (a bias per row).
    RightTiles,
    /// The left input repeats whole along the right one.
    LeftTiles,
    /// Blocks of the output in which each input is simple (`blocked.rs`).
    Blocks(Box<Blocked>),
    /// Anything else: both read through broadcast strides.
    Strided {
        left: SmallVec<[usize; 4]>,
        right: SmallVec<[usize; 4]>,
    },
}

impl<F: Fn(f64, f64) -> f64> Zip<F> {
    /// The kernel of `f` over `a` and `b`.
    ///
    /// # Panics
    /// When the shapes do not broadcast, naming `name` and both shapes.
    #[track_caller]
    pub(crate) fn new(name: &'static str, a: &Tensor, b: &Tensor, f: F) -> Zip<F> {
        let (plan, shape) = zip_plan(name, a.shape(), b.shape());
        Zip { name, f, plan, shape }
    }
}

#[track_caller]
fn zip_plan(name: &str, a: &Shape, b: &Shape) -> (ZipPlan, Shape) {
    if a == b {
        return (ZipPlan::Same, a.clone());
    }
    // A single value against a tensor of at least its rank keeps the
    // tensor's shape (checked before building the broadcast shape).
    if b.numel() == 1 && b.ndim() <= a.ndim() {
        return (ZipPlan::RightScalar, a.clone());
    }
    if a.numel() == 1 && a.ndim() <= b.ndim() {
        return (ZipPlan::LeftScalar, b.clone());
    }
    // Not `unwrap_or_else`: a closure would not pass on the caller's location.
    let Some(shape) = broadcast_shapes(a, b) else {
        panic!("{name}: shapes {a} and {b} do not broadcast");
    };
    if &shape == a && tiles_into(b, a) {
        return (ZipPlan::RightTiles, shape);
    }
    if &shape == b && tiles_into(a, b) {
        return (ZipPlan::LeftTiles, shape);
    }
    if let Some(blocks) = Blocked::zip(a, b, &shape) {
        return (ZipPlan::Blocks(Box::new(blocks)), shape);
    }
    let (left, right) = (broadcast_strides(a, &shape), broadcast_strides(b, &shape));
    (ZipPlan::Strided { left, right }, shape)
}

impl<F: Fn(f64, f64) -> f64 + Clone + Send + Sync + 'static> Kernel for Zip<F> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        self.zip(inputs[0], inputs[1], out);
    }

    fn elementwise(&self) -> bool {
        matches!(
            self.plan,
            ZipPlan::Same | ZipPlan::RightScalar | ZipPlan::LeftScalar
        )
    }
}

impl<F: Fn(f64, f64) -> f64> Zip<F> {
    /// `f` over the broadcast of `x` and `y`, written into `out`.
    fn zip(&self, x: &[f64], y: &[f64], out: &mut [f64]) {
        let f = &self.f;
        if let ([o], [p], [q]) = (&mut *out, x, y) {
            // A single value (a scalar parameter's prior, a fused part of
            // one): no loop to set up.
            *o = f(*p, *q);
            return;
        }
        match &self.plan {
            ZipPlan::Same => zip_into(out, x, y, f),
            ZipPlan::RightScalar => out.iter_mut().zip(x).for_each(|(o, &p)| *o = f(p, y[0])),
            ZipPlan::LeftScalar => out.iter_mut().zip(y).for_each(|(o, &q)| *o = f(x[0], q)),
            // Block by block: each is a loop of known length that vectorises.
            ZipPlan::RightTiles => {
                for (o, block) in out.chunks_exact_mut(y.len()).zip(x.chunks_exact(y.len())) {
                    zip_into(o, block, y, f);
                }
            }
            ZipPlan::LeftTiles => {
                for (o, block) in out.chunks_exact_mut(x.len()).zip(y.chunks_exact(x.len())) {
                    zip_into(o, x, block, f);
                }
            }
            ZipPlan::Blocks(blocks) => blocks.zip_into(x, y, out, f),
            ZipPlan::Strided { left, right } => {
                for_each_offset_pair(&self.shape, left, right, |i, p, q| out[i] = f(x[p], y[q]));
            }
        }
    }
}

fn zip_into(out: &mut [f64], x: &[f64], y: &[f64], f: impl Fn(f64, f64) -> f64) {
    for ((o, &p), &q) in out.iter_mut().zip(x).zip(y) {
        *o = f(p, q);
    }
}

/// Computes a binary op with `kernel` and records it with `rule`.
pub(crate) fn record_zip<F: Fn(f64, f64) -> f64 + Clone + Send + Sync + 'static>(
    kernel: Zip<F>,
    a: &Tensor,
    b: &Tensor,
    rule: impl Fn(&crate::autodiff::Ctx) -> crate::autodiff::Grads + Clone + Send + Sync + 'static,
    batch: Option<crate::batching::BatchRule>,
) -> Tensor {
    let shape = kernel.shape.clone();
    match batch {
        Some(batch) => apply_op_batched(&kernel, &[a, b], shape, rule, batch),
        None => apply_op(&kernel, &[a, b], shape, rule),
    }
}

/// `f` over the broadcast of `a` and `b` for a function whose derivative is
/// zero wherever it exists (a comparison, a mask): not differentiated, but
/// recorded for traces.
#[track_caller]
pub(crate) fn zip_constant<F: Fn(f64, f64) -> f64 + Clone + Send + Sync + 'static>(
    name: &'static str,
    a: &Tensor,
    b: &Tensor,
    f: F,
    batch: Option<crate::batching::BatchRule>,
) -> Tensor {
    let kernel = Zip::new(name, a, b, f);
    let shape = kernel.shape.clone();
    match batch {
        Some(batch) => apply_constant_batched(&kernel, &[a, b], shape, batch),
        None => apply_constant(&kernel, &[a, b], shape),
    }
}

/// `a + b` with broadcasting.
#[track_caller]
fn add(a: &Tensor, b: &Tensor) -> Tensor {
    // d(a + b) = da + db; each gradient sums back over what was broadcast.
    record_zip(
        Zip::new("add", a, b, |p, q| p + q),
        a,
        b,
        |c| {
            smallvec![
                c.needs(0).then(|| c.grad.sum_to(c.inputs[0].shape())),
                c.needs(1).then(|| c.grad.sum_to(c.inputs[1].shape())),
            ]
        },
        Some(|batch| crate::batching::broadcasting(batch, add)),
    )
}

/// `a - b` with broadcasting.
#[track_caller]
fn sub(a: &Tensor, b: &Tensor) -> Tensor {
    record_zip(
        Zip::new("sub", a, b, |p, q| p - q),
        a,
        b,
        |c| {
            smallvec![
                c.needs(0).then(|| c.grad.sum_to(c.inputs[0].shape())),
                c.needs(1).then(|| (-c.grad).sum_to(c.inputs[1].shape())),
            ]
        },
        Some(|batch| crate::batching::broadcasting(batch, sub)),
    )
}

/// `a * b` with broadcasting.
#[track_caller]
fn mul(a: &Tensor, b: &Tensor) -> Tensor {
    // d(a b) = b da + a db
    record_zip(
        Zip::new("mul", a, b, |p, q| p * q),
        a,
        b,
        |c| {
            let [a, b] = [&c.inputs[0], &c.inputs[1]];
            smallvec![
                c.needs(0).then(|| product_summed_to(c.grad, b, a.shape())),
                c.needs(1).then(|| product_summed_to(c.grad, a, b.shape())),
            ]
        },
        Some(|batch| crate::batching::broadcasting(batch, mul)),
    )
}

/// `a / b` with broadcasting.
#[track_caller]
fn div(a: &Tensor, b: &Tensor) -> Tensor {
    // d(a / b) = da / b - (a / b) db / b; for a single `b` the sum over
    // the broadcast comes before the division, which is then one value.
    record_zip(
        Zip::new("div", a, b, |p, q| p / q),
        a,
        b,
        |c| {
            let [a, b] = [&c.inputs[0], &c.inputs[1]];
            let d_b = || match b.numel() {
                1 => -(product_summed_to(c.grad, c.output, b.shape()) / b),
                _ => (-(c.grad * c.output) / b).sum_to(b.shape()),
            };
            smallvec![
                c.needs(0).then(|| (c.grad / b).sum_to(a.shape())),
                c.needs(1).then(d_b)
            ]
        },
        Some(|batch| crate::batching::broadcasting(batch, div)),
    )
}

/// `(g * x).sum_to(shape)` for `x` of the shape of `g`. When `shape` holds
/// a single value (the gradient of a scale applied to a whole tensor: an
/// amplitude, a noise level) this is one pass that writes nothing but the
/// sum, instead of a product written out and summed.
fn product_summed_to(g: &Tensor, x: &Tensor, shape: &Shape) -> Tensor {
    if shape.numel() == 1 && x.shape() == g.shape() {
        apply_op(&SumOfProducts, &[g, x], Shape::scalar(), |c| {
            let (g, x) = (&c.inputs[0], &c.inputs[1]);
            smallvec![c.needs(0).then(|| x * c.grad), c.needs(1).then(|| g * c.grad)]
        })
        .reshape(shape.clone())
    } else {
        (g * x).sum_to(shape.clone())
    }
}

/// The kernel of the sum of products in [`product_summed_to`].
#[derive(Clone)]
struct SumOfProducts;

impl Kernel for SumOfProducts {
    fn name(&self) -> &'static str {
        "sum_of_products"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        out[0] = super::gemm::dot(inputs[0], inputs[1]);
    }
}

/// `-a`.
fn neg(a: &Tensor) -> Tensor {
    let kernel = Map {
        name: "neg",
        f: |v: f64| -v,
    };
    apply_op_batched(
        &kernel,
        &[a],
        a.shape().clone(),
        |c| smallvec![Some(-c.grad)],
        |batch| crate::batching::elementwise(batch, neg),
    )
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

    /// Input shapes covering every way two shapes broadcast: equal, a
    /// trailing part, both stretched, a scalar on either side, and ranks that
    /// differ with stretching on both.
    const BROADCAST_PAIRS: [(&[usize], &[usize]); 6] = [
        (&[3], &[3]),
        (&[2, 3], &[3]),
        (&[2, 1], &[1, 4]),
        (&[], &[2, 2]),
        (&[4, 1, 3], &[2, 1]),
        (&[2, 3], &[]),
    ];

    #[test]
    fn every_binary_op_broadcasts_and_its_gradients_keep_input_shapes() {
        for (name, op) in binary_ops() {
            for (sa, sb) in BROADCAST_PAIRS {
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
    fn compiled_values_and_two_derivatives_match_over_every_broadcast() {
        // The first point swaps the inputs' shifts, so that maximum and
        // minimum change winner; the second makes every value equal, so that
        // they split the gradient.
        for (_, op) in binary_ops() {
            for (sa, sb) in BROADCAST_PAIRS {
                let loss = move |p: &(Tensor, Tensor)| op(&p.0, &p.1).sin().sum();
                let direction = (sample(sa, -0.6), sample(sb, 0.3));
                let f = |p: &(Tensor, Tensor)| {
                    let (value, gradient) = crate::value_and_grad(loss, p);
                    (value, gradient, crate::hvp(loss, p, &direction))
                };
                let at = (sample(sa, 0.0), sample(sb, 0.5));
                let swapped = (sample(sa, 0.5), sample(sb, 0.0));
                let ties = (Tensor::full(sa, 2.0), Tensor::full(sb, 2.0));
                crate::testing::assert_compiles_exactly(f, &at, &[swapped, ties]);
            }
        }
    }

    #[test]
    fn scalars_mix_with_tensors() {
        let x = Tensor::from([1.0, 2.0]);
        assert_eq!((2.0 - &x).to_vec(), vec![1.0, 0.0]);
        assert_eq!((&x / 2.0).to_vec(), vec![0.5, 1.0]);
        assert_eq!((-x).to_vec(), vec![-1.0, -2.0]);
    }
}
