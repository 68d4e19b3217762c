//! Activations and piecewise ops: `sigmoid`, `relu`, `softplus`, `clamp`,
//! `maximum`, `minimum`.
//!
//! At a kink these ops have no derivative; each one documents which
//! subgradient it returns there. Masks that pick a branch are computed from
//! the forward values and are constants for every order of differentiation.

use super::arith::{Zip, record_zip, zip_constant};
use super::unary::unary_op;
use crate::autodiff::graph::apply_op;
use crate::compile::kernel::Map;
use crate::tensor::Tensor;
use smallvec::smallvec;

/// `g` where `keep(x)`, 0 elsewhere (`x` and `g` of one shape), in one
/// pass: the derivative of a piecewise op routed, never multiplied by a
/// mask, so an infinite `g` where `x` is not kept gives 0, as with
/// [`where_`](crate::where_). It is linear in `g`, with itself as
/// derivative; `x` only selects and gets no gradient.
fn route_where(x: &Tensor, g: &Tensor, keep: impl Fn(f64) -> bool + Clone + Send + Sync + 'static) -> Tensor {
    let select = {
        let keep = keep.clone();
        move |v, g| if keep(v) { g } else { 0.0 }
    };
    record_zip(
        Zip::new("route_where", x, g, select),
        x,
        g,
        move |c| smallvec![None, Some(route_where(&c.inputs[0], c.grad, keep.clone()))],
        None,
    )
}

impl Tensor {
    unary_op!(
        /// The logistic function `1 / (1 + e^-x)`, computed without overflow
        /// for any `x`; derivative `y (1 - y)`, read from the output.
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// let y = Tensor::from([0.0, 1000.0, -1000.0]).sigmoid();
        /// assert_eq!(y.to_vec(), vec![0.5, 1.0, 0.0]);
        /// ```
        sigmoid, slice super::elementary::logistic_into, |x, y, g| g * y * (1.0 - y)
    );
    unary_op!(
        /// `max(x, 0)` (NaN stays NaN); derivative 1 for `x > 0`, else 0.
        ///
        /// At the kink `x = 0` we take the subgradient 0, as JAX does: a unit
        /// exactly at 0 is treated as inactive.
        ///
        /// ```
        /// use jaxpurify_runtime::{grad, Tensor};
        /// let x = Tensor::from([-1.0, 0.0, 2.0]);
        /// assert_eq!(x.relu().to_vec(), vec![0.0, 0.0, 2.0]);
        /// assert_eq!(grad(|x: &Tensor| x.relu().sum(), &x).to_vec(), vec![0.0, 0.0, 1.0]);
        /// ```
        relu, |v| if v <= 0.0 { 0.0 } else { v }, |x, y, g| route_where(x, g, |v| v > 0.0)
    );
    unary_op!(
        /// `ln(1 + e^x)`, computed as `ln(1 + e^-|x|) + max(x, 0)` so that it
        /// neither overflows for large `x` nor rounds to 0 for very negative
        /// `x`; derivative `sigmoid(x)`.
        ///
        /// ```
        /// use jaxpurify_runtime::Tensor;
        /// let y = Tensor::from([1000.0, -40.0]).softplus();
        /// assert_eq!(y.get(&[0]), 1000.0);
        /// assert!((y.get(&[1]) / (-40f64).exp() - 1.0).abs() < 1e-15);
        /// ```
        softplus, slice super::elementary::softplus_into, |x, y, g| g * x.sigmoid()
    );

    /// Each value limited to `[min, max]` (NaN stays NaN); derivative 1 on
    /// `[min, max]` and 0 outside.
    ///
    /// On the bounds themselves we take 1 (as PyTorch does; JAX's
    /// `lax.clamp` takes 0): a parameter that starts or lands exactly on a
    /// bound then still gets a gradient that can move it back inside, where
    /// 0 would leave it stuck there.
    ///
    /// ```
    /// use jaxpurify_runtime::{grad, Tensor};
    /// let x = Tensor::from([-2.0, 0.0, 1.0, 3.0]);
    /// assert_eq!(x.clamp(0.0, 1.0).to_vec(), vec![0.0, 0.0, 1.0, 1.0]);
    /// let g = grad(|x: &Tensor| x.clamp(0.0, 1.0).sum(), &x);
    /// assert_eq!(g.to_vec(), vec![0.0, 1.0, 1.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// When `min > max` or either bound is NaN. Infinite bounds clamp one
    /// side only.
    #[track_caller]
    pub fn clamp(&self, min: f64, max: f64) -> Tensor {
        assert!(
            min <= max,
            "clamp: bounds must be ordered numbers, got min {min} and max {max}"
        );
        let kernel = Map {
            name: "clamp",
            f: move |v: f64| v.clamp(min, max),
        };
        apply_op(&kernel, &[self], self.shape().clone(), move |c| {
            smallvec![Some(
                route_where(&c.inputs[0], c.grad, move |v| min <= v && v <= max)
            )]
        })
    }

    /// The larger of two values elementwise, with broadcasting; NaN if
    /// either is NaN. The gradient goes to the larger input.
    ///
    /// On a tie we split the gradient half and half (as JAX does): the
    /// result is then symmetric in its inputs, and `x.maximum(&x)` has
    /// gradient 1, like `x`.
    ///
    /// ```
    /// use jaxpurify_runtime::{grad, Tensor};
    /// let x = Tensor::from([-1.0, 0.0, 2.0]);
    /// assert_eq!(x.maximum(0.0).to_vec(), vec![0.0, 0.0, 2.0]);
    /// assert_eq!(grad(|x: &Tensor| x.maximum(0.0).sum(), &x).to_vec(), vec![0.0, 0.5, 1.0]);
    /// ```
    ///
    /// # Panics
    /// When the shapes do not broadcast.
    #[track_caller]
    pub fn maximum(&self, other: impl Into<Tensor>) -> Tensor {
        extremum(
            "maximum",
            self,
            &other.into(),
            |p, q| p > q,
            |batch| crate::batching::broadcasting(batch, |x, y| x.maximum(y)),
        )
    }

    /// The smaller of two values elementwise, with broadcasting; NaN if
    /// either is NaN. Ties split the gradient as in
    /// [`maximum`](Tensor::maximum).
    ///
    /// ```
    /// use jaxpurify_runtime::{grad, Tensor};
    /// let x = Tensor::from([-1.0, 0.0, 2.0]);
    /// assert_eq!(x.minimum(0.0).to_vec(), vec![-1.0, 0.0, 0.0]);
    /// assert_eq!(grad(|x: &Tensor| x.minimum(0.0).sum(), &x).to_vec(), vec![1.0, 0.5, 0.0]);
    /// ```
    ///
    /// # Panics
    /// When the shapes do not broadcast.
    #[track_caller]
    pub fn minimum(&self, other: impl Into<Tensor>) -> Tensor {
        extremum(
            "minimum",
            self,
            &other.into(),
            |p, q| p < q,
            |batch| crate::batching::broadcasting(batch, |x, y| x.minimum(y)),
        )
    }
}

/// `a` where `a_wins(a, b)`, else `b`, with broadcasting. The derivative
/// goes to the winner, half to each on a tie.
#[track_caller]
fn extremum(
    op: &'static str,
    a: &Tensor,
    b: &Tensor,
    a_wins: fn(f64, f64) -> bool,
    batch: crate::batching::BatchRule,
) -> Tensor {
    let pick = move |p: f64, q: f64| match (p.is_nan() || q.is_nan(), a_wins(p, q)) {
        (true, _) => f64::NAN,
        (false, true) => p,
        (false, false) => q,
    };
    record_zip(
        Zip::new(op, a, b, pick),
        a,
        b,
        move |c| {
            let [a, b] = [&c.inputs[0], &c.inputs[1]];
            let share_of_a = zip_constant(
                op,
                a,
                b,
                move |p, q| match (a_wins(p, q), p == q) {
                    (true, _) => 1.0,
                    (false, true) => 0.5,
                    (false, false) => 0.0,
                },
                None,
            );
            smallvec![
                c.needs(0).then(|| (c.grad * &share_of_a).sum_to(a.shape())),
                c.needs(1)
                    .then(|| (c.grad * (1.0 - &share_of_a)).sum_to(b.shape())),
            ]
        },
        Some(batch),
    )
}

#[cfg(test)]
mod tests {
    use crate::testing::check_grad;
    use crate::{Tensor, grad};

    type UnaryOp = fn(&Tensor) -> Tensor;

    #[test]
    fn hand_derived_gradients_with_kinks() {
        // L = sum(w * f(x)), w = [1, 2, 3, 4, 5], x = [-2, -1, 0, 1, 2]:
        // relu: w [x > 0] = [0, 0, 0, 4, 5] (subgradient 0 at 0);
        // clamp(-1, 1): w on [-1, 1] = [0, 2, 3, 4, 0] (bounds included);
        // sigmoid at 0: w / 4 -> 0.75; softplus at 0: w / 2 -> 1.5.
        let x = Tensor::from([-2.0, -1.0, 0.0, 1.0, 2.0]);
        let w = Tensor::from([1.0, 2.0, 3.0, 4.0, 5.0]);
        let d = |f: &dyn Fn(&Tensor) -> Tensor| grad(|x: &Tensor| (f(x) * &w).sum(), &x).to_vec();
        assert_eq!(d(&|x| x.relu()), vec![0.0, 0.0, 0.0, 4.0, 5.0]);
        assert_eq!(d(&|x| x.clamp(-1.0, 1.0)), vec![0.0, 2.0, 3.0, 4.0, 0.0]);
        assert_eq!(d(&|x| x.sigmoid())[2], 0.75);
        assert_eq!(d(&|x| x.softplus())[2], 1.5);
    }

    #[test]
    fn flat_pieces_route_infinite_upstream_gradients_to_zero() {
        // The derivative is routed, not multiplied by a mask: an infinite or
        // NaN gradient arriving where relu or clamp is flat gives 0.
        let x = Tensor::from([-1.0, 0.5, 3.0]);
        let upstream = Tensor::from([f64::INFINITY, 2.0, f64::NAN]);
        let (_, relu) = crate::vjp(|x: &Tensor| x.relu(), &x);
        let g = relu.apply(&upstream).to_vec();
        assert_eq!(g[..2], [0.0, 2.0]);
        assert!(g[2].is_nan());
        let (_, clamp) = crate::vjp(|x: &Tensor| x.clamp(0.0, 1.0), &x);
        assert_eq!(clamp.apply(&upstream).to_vec(), vec![0.0, 2.0, 0.0]);
    }

    #[test]
    fn maximum_and_minimum_route_gradients_and_split_ties() {
        // L = sum(w * max(a, b)), w = [1, 2, 4], a = [1, 2, 3], b = [3, 2, 1]:
        // dL/da = w [a > b] + w/2 [a = b] = [0, 1, 4]; dL/db = [1, 1, 0].
        let w = Tensor::from([1.0, 2.0, 4.0]);
        let ab = (Tensor::from([1.0, 2.0, 3.0]), Tensor::from([3.0, 2.0, 1.0]));
        let (ga, gb) = grad(|p: &(Tensor, Tensor)| (p.0.maximum(&p.1) * &w).sum(), &ab);
        assert_eq!(
            (ga.to_vec(), gb.to_vec()),
            (vec![0.0, 1.0, 4.0], vec![1.0, 1.0, 0.0])
        );
        let (ga, gb) = grad(|p: &(Tensor, Tensor)| (p.0.minimum(&p.1) * &w).sum(), &ab);
        assert_eq!(
            (ga.to_vec(), gb.to_vec()),
            (vec![1.0, 1.0, 0.0], vec![0.0, 1.0, 4.0])
        );
        let g = grad(|x: &Tensor| (x.maximum(x) * &w).sum(), &ab.0);
        assert_eq!(g.to_vec(), w.to_vec());
    }

    #[test]
    fn nan_propagates_through_every_op() {
        let x = Tensor::from([f64::NAN, 1.0]);
        let nan = Tensor::from([1.0, f64::NAN]);
        for (name, y) in [
            ("sigmoid", x.sigmoid()),
            ("relu", x.relu()),
            ("softplus", x.softplus()),
            ("clamp", x.clamp(0.0, 0.5)),
            ("maximum", x.maximum(&nan)),
            ("minimum", nan.minimum(&x)),
        ] {
            assert!(y.get(&[0]).is_nan(), "{name}");
        }
        assert!(x.maximum(&nan).get(&[1]).is_nan() && x.minimum(&nan).get(&[1]).is_nan());
    }

    #[test]
    fn sigmoid_and_softplus_are_stable_at_extremes() {
        let x = Tensor::from([-1000.0, -40.0, 40.0, 1000.0]);
        let s = x.sigmoid().to_vec();
        assert_eq!((s[0], s[3]), (0.0, 1.0));
        assert!((s[1] / (-40f64).exp() - 1.0).abs() < 1e-15, "{}", s[1]);
        // ln(1 + e^-40) would round to ln(1) = 0; the stable form keeps e^-40.
        let sp = x.softplus().to_vec();
        assert_eq!((sp[0], sp[2], sp[3]), (0.0, 40.0, 1000.0));
        assert!((sp[1] / (-40f64).exp() - 1.0).abs() < 1e-15, "{}", sp[1]);
        for f in [Tensor::sigmoid as UnaryOp, Tensor::softplus] {
            let g = grad(|x: &Tensor| f(x).sum(), &x);
            assert!(g.as_slice().iter().all(|v| v.is_finite()), "{:?}", g.to_vec());
        }
    }

    #[test]
    fn gradients_match_central_differences() {
        let x = Tensor::from([-2.3, -0.4, 0.6, 1.9]);
        for (name, f) in [
            ("sigmoid", Tensor::sigmoid as UnaryOp),
            ("relu", Tensor::relu),
            ("softplus", Tensor::softplus),
            ("clamp", |x| x.clamp(-1.0, 1.0)),
        ] {
            check_grad(|v| f(&v[0]), std::slice::from_ref(&x)).assert_ok_for(name);
        }
        let other = Tensor::from([[0.5], [-1.0]]);
        check_grad(|v| v[0].maximum(&v[1]), &[x.clone(), other.clone()]).assert_ok_for("maximum");
        check_grad(|v| v[0].minimum(&v[1]), &[x, other]).assert_ok_for("minimum");
    }

    #[test]
    fn second_derivatives_match_central_differences() {
        let x = Tensor::from([-2.3, -0.4, 0.6, 1.9]);
        for (name, f) in [
            ("sigmoid", Tensor::sigmoid as UnaryOp),
            ("softplus", Tensor::softplus),
            ("relu", |x| x.relu() * x),
            ("clamp", |x| x.clamp(-1.0, 1.0) * x),
        ] {
            check_grad(|v| grad(|x: &Tensor| f(x).sum(), &v[0]), std::slice::from_ref(&x))
                .assert_ok_for(name);
        }
    }

    #[test]
    fn compiled_derivatives_match_where_kinks_and_bounds_are_crossed() {
        let w = Tensor::from([1.0, -2.0, 0.5, 3.0]);
        let at = Tensor::from([-2.0, 0.5, 3.0, -0.3]);
        // The first point moves every value across 0 (relu's kink, the
        // logistic's branch, softplus's |x|), one onto it, and into another
        // piece of clamp; the second puts values on both bounds.
        let points = [
            Tensor::from([0.5, -1.0, 0.0, 2.0]),
            Tensor::from([1.0, 1.0, -3.0, -1.0]),
        ];
        for f in [
            Tensor::sigmoid as UnaryOp,
            Tensor::softplus,
            |x| x.relu() * x,
            |x| x.clamp(-1.0, 1.0) * x,
        ] {
            let loss = |x: &Tensor| (f(x) * &w).sum();
            let derivatives = |x: &Tensor| {
                let (value, gradient) = crate::value_and_grad(loss, x);
                (value, gradient, crate::hvp(loss, x, &w))
            };
            crate::testing::assert_compiles_exactly(derivatives, &at, &points);
        }
    }

    #[test]
    fn compiled_maximum_and_minimum_follow_ties_and_changes_of_winner() {
        let w = Tensor::from([1.0, -2.0, 0.5]);
        let loss = |p: &(Tensor, Tensor)| ((p.0.maximum(&p.1) * &p.0 + p.0.minimum(&p.1) * &p.1) * &w).sum();
        let f = |p: &(Tensor, Tensor)| {
            let (value, gradient) = crate::value_and_grad(loss, p);
            (value, gradient, crate::hvp(loss, p, &(w.clone(), w.clone())))
        };
        let at = (Tensor::from([1.0, 2.0, 3.0]), Tensor::from([3.0, 2.5, 1.0]));
        // The first and last winners swap and the middle pair ties.
        let swapped = (Tensor::from([3.0, 2.0, 1.0]), Tensor::from([1.0, 2.0, 3.0]));
        crate::testing::assert_compiles_exactly(f, &at, &[swapped]);
    }

    #[test]
    #[should_panic(expected = "clamp: bounds must be ordered numbers, got min 2 and max 1")]
    fn clamp_rejects_reversed_bounds() {
        let _ = Tensor::zeros([2]).clamp(2.0, 1.0);
    }

    #[test]
    #[should_panic(expected = "maximum: shapes [2] and [3] do not broadcast")]
    fn mismatched_shapes_name_the_op() {
        let _ = Tensor::zeros([2]).maximum(Tensor::zeros([3]));
    }
}
