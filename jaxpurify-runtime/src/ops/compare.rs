//! Comparisons, which give masks, and [`where_`], which selects by a mask.
//!
//! A mask is an `f64` tensor of `0.0` (false) and `1.0` (true). Comparisons
//! are piecewise constant, so their derivative is zero wherever it exists:
//! they record nothing, their result carries no graph, and gradients through
//! them are zero. NaN compares like `f64` does: unequal to everything,
//! itself included.
//!
//! Every comparison takes `impl Into<Tensor>`, so one method covers both a
//! tensor (`&y`, broadcast like any binary op) and a plain number (`0.0`).
//! The inherent `eq` and `ne` return masks and take precedence over
//! [`PartialEq`] in method calls; whole-tensor equality stays `a == b`.

use super::arith::zip_constant;
use super::broadcast::broadcast_into;
use crate::autodiff::graph::apply_op_batched;
use crate::compile::kernel::Kernel;
use crate::shape::{Shape, broadcast_shapes};
use crate::tensor::Tensor;
use smallvec::smallvec;

/// Declares a comparison from its `f64` operator.
macro_rules! comparison {
    ($(#[$doc:meta])* $name:ident, $op:tt) => {
        $(#[$doc])*
        ///
        /// # Panics
        /// When the shapes do not broadcast.
        #[track_caller]
        pub fn $name(&self, other: impl Into<Tensor>) -> Tensor {
            zip_constant(
                stringify!($name),
                self,
                &other.into(),
                |p, q| f64::from(p $op q),
                Some(|batch| crate::batching::broadcasting(batch, |x, y| x.$name(y))),
            )
        }
    };
}

impl Tensor {
    comparison!(
        /// `1.0` where `self < other`, else `0.0`.
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// let x = Tensor::from([1.0, 2.0, 3.0]);
        /// assert_eq!(x.lt(2.0).to_vec(), vec![1.0, 0.0, 0.0]);
        /// assert_eq!(x.lt(&Tensor::from([3.0, 1.0, 4.0])).to_vec(), vec![1.0, 0.0, 1.0]);
        /// ```
        lt, <
    );
    comparison!(
        /// `1.0` where `self <= other`, else `0.0`.
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// assert_eq!(Tensor::from([1.0, 2.0, 3.0]).le(2.0).to_vec(), vec![1.0, 1.0, 0.0]);
        /// ```
        le, <=
    );
    comparison!(
        /// `1.0` where `self > other`, else `0.0`.
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// assert_eq!(Tensor::from([1.0, 2.0, 3.0]).gt(2.0).to_vec(), vec![0.0, 0.0, 1.0]);
        /// ```
        gt, >
    );
    comparison!(
        /// `1.0` where `self >= other`, else `0.0`.
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// assert_eq!(Tensor::from([1.0, 2.0, 3.0]).ge(2.0).to_vec(), vec![0.0, 1.0, 1.0]);
        /// ```
        ge, >=
    );
    comparison!(
        /// `1.0` where `self == other` elementwise, else `0.0` (for equality
        /// of whole tensors, use `==`).
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// assert_eq!(Tensor::from([1.0, 2.0, f64::NAN]).eq(2.0).to_vec(), vec![0.0, 1.0, 0.0]);
        /// ```
        eq, ==
    );
    comparison!(
        /// `1.0` where `self != other` elementwise, else `0.0`.
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// assert_eq!(Tensor::from([1.0, 2.0, f64::NAN]).ne(2.0).to_vec(), vec![1.0, 0.0, 1.0]);
        /// ```
        ne, !=
    );
}

/// `a` where `cond` is non-zero and `b` elsewhere, broadcasting all three
/// (NumPy's `where`). Differentiable in `a` and `b`; `cond` is a constant.
///
/// The gradient is routed, never multiplied by the mask, so an infinite or
/// NaN value in the branch not taken does not leak into it. The rule of that
/// branch still sees a zero gradient, though, and `0 * inf` inside it is NaN
/// (`where_(&x.gt(0.0), x.sqrt(), 0.0)` at `x = 0`); where that matters, also
/// select a safe input for the branch, as `pow`'s derivative does.
///
/// ```
/// use jaxpurify_runtime::{grad, where_, Tensor};
/// let x = Tensor::from([-1.0, 2.0]);
/// assert_eq!(where_(&x.gt(0.0), &x, 0.0).to_vec(), vec![0.0, 2.0]);
/// let g = grad(|x: &Tensor| where_(&x.gt(0.0), x * 3.0, x).sum(), &x);
/// assert_eq!(g.to_vec(), vec![1.0, 3.0]);
/// ```
///
/// # Panics
/// When the three shapes do not broadcast together.
#[track_caller]
pub fn where_(cond: &Tensor, a: impl Into<Tensor>, b: impl Into<Tensor>) -> Tensor {
    let (a, b) = (a.into(), b.into());
    let shape = broadcast_shapes(cond.shape(), a.shape()).and_then(|s| broadcast_shapes(&s, b.shape()));
    // Not `unwrap_or_else`: a closure would not pass on the caller's location.
    let Some(shape) = shape else {
        panic!(
            "where: shapes {}, {} and {} do not broadcast",
            cond.shape(),
            a.shape(),
            b.shape()
        );
    };
    let kernel = Select {
        shapes: [cond.shape().clone(), a.shape().clone(), b.shape().clone()],
        shape: shape.clone(),
    };
    // d where(c, a, b) = where(c, da, db), each summed back to its input.
    apply_op_batched(
        &kernel,
        &[cond, &a, &b],
        shape,
        |c| {
            let (cond, g) = (&c.inputs[0], c.grad);
            smallvec![
                None,
                c.needs(1)
                    .then(|| where_(cond, g, 0.0).sum_to(c.inputs[1].shape())),
                c.needs(2)
                    .then(|| where_(cond, 0.0, g).sum_to(c.inputs[2].shape())),
            ]
        },
        |batch| {
            let aligned = batch.aligned();
            Some(where_(&aligned[0], &aligned[1], &aligned[2]))
        },
    )
}

/// The kernel of [`where_`]: the mask and both branches, of `shapes`,
/// broadcast to `shape`.
#[derive(Clone)]
struct Select {
    shapes: [Shape; 3],
    shape: Shape,
}

impl Kernel for Select {
    fn name(&self) -> &'static str {
        "where"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let [mask, on, off] = [0, 1, 2].map(|k| Spread::of(inputs[k], &self.shapes[k], &self.shape));
        match (&mask, &on, &off) {
            // The common cases, each a loop that vectorises: a branch or two
            // given whole, the others single values.
            (Spread::Whole(m), Spread::Whole(p), Spread::Whole(q)) => {
                for (o, ((&m, &p), &q)) in out.iter_mut().zip(m.iter().zip(p.iter()).zip(q.iter())) {
                    *o = if m != 0.0 { p } else { q };
                }
            }
            (Spread::Whole(m), Spread::Whole(p), Spread::Single(q)) => {
                for (o, (&m, &p)) in out.iter_mut().zip(m.iter().zip(p.iter())) {
                    *o = if m != 0.0 { p } else { *q };
                }
            }
            (Spread::Whole(m), Spread::Single(p), Spread::Whole(q)) => {
                for (o, (&m, &q)) in out.iter_mut().zip(m.iter().zip(q.iter())) {
                    *o = if m != 0.0 { *p } else { q };
                }
            }
            _ => {
                for (i, o) in out.iter_mut().enumerate() {
                    *o = if mask.at(i) != 0.0 { on.at(i) } else { off.at(i) };
                }
            }
        }
    }

    fn elementwise(&self) -> bool {
        self.shapes.iter().all(|s| s == &self.shape || s.numel() == 1)
    }
}

/// An input of [`Select`] as read at each position of the output.
enum Spread<'a> {
    /// Of the output's shape.
    Whole(std::borrow::Cow<'a, [f64]>),
    /// One value everywhere.
    Single(f64),
}

impl<'a> Spread<'a> {
    /// `values` of shape `from` as the output, of shape `to`, reads them:
    /// copied out only when neither whole nor a single value.
    fn of(values: &'a [f64], from: &Shape, to: &Shape) -> Spread<'a> {
        match (from == to, values.len()) {
            (true, _) => Spread::Whole(std::borrow::Cow::Borrowed(values)),
            (false, 1) => Spread::Single(values[0]),
            (false, _) => {
                let mut full = vec![0.0; to.numel()];
                broadcast_into(values, from, to, &mut full);
                Spread::Whole(std::borrow::Cow::Owned(full))
            }
        }
    }

    fn at(&self, i: usize) -> f64 {
        match self {
            Spread::Whole(values) => values[i],
            Spread::Single(v) => *v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grad;
    use crate::testing::check_grad;

    #[test]
    fn comparisons_broadcast_and_follow_ieee_nan_rules() {
        let x = Tensor::from([[1.0, 2.0, f64::NAN]]);
        let y = Tensor::from([[2.0], [1.0]]);
        type Cmp = fn(&Tensor, &Tensor) -> Tensor;
        let cases: [(&str, Cmp, [f64; 6]); 6] = [
            ("lt", |a, b| a.lt(b), [1., 0., 0., 0., 0., 0.]),
            ("le", |a, b| a.le(b), [1., 1., 0., 1., 0., 0.]),
            ("gt", |a, b| a.gt(b), [0., 0., 0., 0., 1., 0.]),
            ("ge", |a, b| a.ge(b), [0., 1., 0., 1., 1., 0.]),
            ("eq", |a, b| a.eq(b), [0., 1., 0., 1., 0., 0.]),
            ("ne", |a, b| a.ne(b), [1., 0., 1., 0., 1., 1.]),
        ];
        for (name, cmp, expected) in cases {
            let mask = cmp(&x, &y);
            assert_eq!(mask.shape(), &[2, 3], "{name}");
            assert_eq!(mask.to_vec(), expected.to_vec(), "{name}");
        }
    }

    #[test]
    fn comparisons_carry_no_graph_and_pass_no_gradient() {
        // L = sum(x * [x > 0]) with the mask a constant: dL/dx = [x > 0]
        let x = Tensor::from([-1.5, 0.0, 2.0]);
        let g = grad(
            |x: &Tensor| {
                let mask = x.gt(0.0);
                assert!(!mask.is_tracked());
                (x * &mask).sum()
            },
            &x,
        );
        assert_eq!(g.to_vec(), vec![0.0, 0.0, 1.0]);
        assert_eq!(grad(|x: &Tensor| x.ge(0.0).sum(), &x).to_vec(), vec![0.0; 3]);
    }

    #[test]
    fn where_routes_gradients_by_the_mask() {
        // L = sum(w * where(c, a, b)) with a of shape [2, 1] broadcast over 3
        // columns and b a scalar: dL/da[i] = sum_j w[i,j] c[i,j],
        // dL/db = sum w (1 - c). c = [[1, 0, 1], [0, 0, 1]], w = 1..6:
        // dL/da = [1 + 3, 6] = [4, 6]; dL/db = 2 + 4 + 5 = 11.
        let cond = Tensor::from([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]);
        let w = Tensor::from([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
        let (ga, gb) = grad(
            |p: &(Tensor, Tensor)| (where_(&cond, &p.0, &p.1) * &w).sum(),
            &(Tensor::from([[7.0], [8.0]]), Tensor::scalar(-1.0)),
        );
        assert_eq!(ga.to_vec(), vec![4.0, 6.0]);
        assert_eq!(gb.item(), 11.0);
    }

    #[test]
    fn where_ignores_infinite_values_in_the_branch_not_taken() {
        let (a, b) = (Tensor::from([1.0, f64::INFINITY]), Tensor::from([f64::NAN, 2.0]));
        let cond = Tensor::from([1.0, 0.0]);
        assert_eq!(where_(&cond, &a, &b).to_vec(), vec![1.0, 2.0]);
        let (ga, gb) = grad(|p: &(Tensor, Tensor)| where_(&cond, &p.0, &p.1).sum(), &(a, b));
        assert_eq!((ga.to_vec(), gb.to_vec()), (vec![1.0, 0.0], vec![0.0, 1.0]));
    }

    #[test]
    fn where_gradients_match_central_differences_to_second_order() {
        let x = Tensor::from([-0.7, 0.4, 1.3]);
        let branchy = |x: &Tensor| where_(&x.gt(0.0), x * x * x, x.sin());
        check_grad(|v| branchy(&v[0]), std::slice::from_ref(&x)).assert_ok_for("where");
        check_grad(|v| grad(|x: &Tensor| branchy(x).sum(), &v[0]), &[x]).assert_ok_for("where''");
    }

    #[test]
    #[should_panic(expected = "where: shapes [2], [3] and [] do not broadcast")]
    fn where_names_all_three_shapes_when_they_do_not_broadcast() {
        let _ = where_(&Tensor::zeros([2]), Tensor::zeros([3]), 0.0);
    }

    #[test]
    #[should_panic(expected = "lt: shapes [2] and [3] do not broadcast")]
    fn comparisons_name_the_op_on_mismatched_shapes() {
        let _ = Tensor::zeros([2]).lt(Tensor::zeros([3]));
    }

    #[test]
    fn compiled_masks_and_selections_follow_the_comparisons() {
        // where_ broadcasts a [2, 3] mask against a [3] branch and a scalar;
        // the masks of every comparison are outputs too.
        let loss = |p: &(Tensor, Tensor)| {
            let (x, y) = (&p.0, &p.1);
            let picked = where_(&x.gt(y), x.square(), y * 2.0) + where_(&x.le(0.0), 1.5, x);
            (picked * x).sum()
        };
        let f = |p: &(Tensor, Tensor)| {
            let (x, y) = (&p.0, &p.1);
            let masks = [x.lt(y), x.le(y), x.gt(y), x.ge(y), x.eq(y), x.ne(y)];
            let (value, gradient) = crate::value_and_grad(loss, p);
            (
                value,
                gradient,
                crate::hvp(loss, p, &(x.ones_like(), y.ones_like())),
                masks,
            )
        };
        let at = (
            Tensor::from([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]]),
            Tensor::from([0.0, 1.0, 2.0]),
        );
        // Every comparison changes, three pairs are equal and x meets 0.
        let point = (
            Tensor::from([[-1.0, 1.0, 2.0], [0.0, 0.5, 3.0]]),
            Tensor::from([0.0, 1.0, 2.0]),
        );
        crate::testing::assert_compiles_exactly(f, &at, &[point]);
    }
}
