//! Gathering and scattering at positions held in a tensor, such as those
//! [`searchsorted`](crate::searchsorted) returns: the positions may depend
//! on a compiled function's inputs, since the kernels read them on every
//! run (unlike [`index_select`](Tensor::index_select), whose positions are
//! fixed when it is called).

use crate::autodiff::graph::apply_op;
use crate::compile::check::check;
use crate::compile::kernel::Kernel;
use crate::error::Error;
use crate::shape::Shape;
use crate::tensor::Tensor;
use smallvec::smallvec;

impl Tensor {
    /// The elements of this 1-d tensor at `positions` (whole numbers stored
    /// as `f64`, of any shape), in the shape of `positions` (NumPy's `take`).
    /// Differentiable in this tensor (the gradient is added back at the
    /// positions, repeats accumulating); the positions get no gradient.
    ///
    /// ```
    /// use jaxpurify_runtime::{searchsorted, Side, Tensor};
    /// let knots = Tensor::from([0.0, 1.0, 2.0, 3.0]);
    /// let values = Tensor::from([10.0, 11.0, 12.0, 13.0]);
    /// let at = searchsorted(&knots, &Tensor::from([0.5, 2.5]), Side::Right);
    /// assert_eq!(values.take(&at).to_vec(), vec![11.0, 13.0]);
    /// ```
    ///
    /// # Panics
    /// When this tensor is not 1-d, or a position is not a whole number
    /// below its length. Inside a [`compile`](crate::compile())d function
    /// the program checks the positions on every call and returns that
    /// error instead.
    #[track_caller]
    pub fn take(&self, positions: &Tensor) -> Tensor {
        assert!(
            self.ndim() == 1,
            "take: expected a 1-d tensor to take from, got shape {}",
            self.shape()
        );
        let n = self.numel();
        if let Err(e) = check_positions("take", positions, n) {
            panic!("{e}");
        }
        take_unchecked(self, positions)
    }

    /// Zeros of length `size` with element `k` of this tensor added at
    /// `positions[k]` (repeats accumulate): the adjoint of
    /// [`take`](Tensor::take), whose derivative it is, and vice versa.
    /// `positions` has this tensor's shape.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let v = Tensor::from([1.0, 2.0, 3.0]);
    /// let at = Tensor::from([2.0, 0.0, 2.0]);
    /// assert_eq!(v.scatter_add_at(&at, 4).to_vec(), vec![2.0, 0.0, 4.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// When `positions` has another shape, or a position is not a whole
    /// number below `size` (in a compiled program: an error).
    #[track_caller]
    pub fn scatter_add_at(&self, positions: &Tensor, size: usize) -> Tensor {
        assert!(
            positions.shape() == self.shape(),
            "scatter_add_at: positions of shape {} for values of shape {}",
            positions.shape(),
            self.shape()
        );
        if let Err(e) = check_positions("scatter_add_at", positions, size) {
            panic!("{e}");
        }
        scatter_unchecked(self, positions, size)
    }
}

/// Fails unless every position is a whole number in `0..size`; a compiled
/// program repeats the check.
fn check_positions(op: &'static str, positions: &Tensor, size: usize) -> crate::Result<()> {
    check(op, &[positions], move |values| {
        let valid = |p: f64| p >= 0.0 && p < size as f64 && p.fract() == 0.0;
        match values[0].iter().position(|&p| !valid(p)) {
            None => Ok(()),
            Some(i) => Err(Error::InvalidArgument {
                op,
                message: format!(
                    "position {i} is {}, not a whole number below {size}",
                    values[0][i]
                ),
            }),
        }
    })
}

/// [`Tensor::take`] at positions known to be valid.
pub(crate) fn take_unchecked(values: &Tensor, positions: &Tensor) -> Tensor {
    let n = values.numel();
    apply_op(&Take, &[values, positions], positions.shape().clone(), move |c| {
        smallvec![Some(scatter_unchecked(c.grad, &c.inputs[1], n)), None]
    })
}

/// [`Tensor::scatter_add_at`] at positions known to be valid.
pub(crate) fn scatter_unchecked(values: &Tensor, positions: &Tensor, size: usize) -> Tensor {
    apply_op(&ScatterAt, &[values, positions], Shape::from([size]), |c| {
        smallvec![Some(take_unchecked(c.grad, &c.inputs[1])), None]
    })
}

/// The kernel of [`take_unchecked`]: the values, then the positions.
#[derive(Clone)]
struct Take;

impl Kernel for Take {
    fn name(&self) -> &'static str {
        "take"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let values = inputs[0];
        for (o, &p) in out.iter_mut().zip(inputs[1]) {
            *o = values[p as usize];
        }
    }
}

/// The kernel of [`scatter_unchecked`]: the values, then the positions,
/// added in order.
#[derive(Clone)]
struct ScatterAt;

impl Kernel for ScatterAt {
    fn name(&self) -> &'static str {
        "scatter_add_at"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        out.fill(0.0);
        for (&v, &p) in inputs[0].iter().zip(inputs[1]) {
            out[p as usize] += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_compiles_with_errors, check_grad};
    use crate::{Side, compile, grad, searchsorted, value_and_grad};

    #[test]
    fn take_and_its_adjoint_by_hand() {
        // take([10, 20, 30], [2, 0, 2]) = [30, 10, 30]; the gradient of
        // sum(w * out) for w = [1, 2, 3] adds w back: [2, 0, 1 + 3].
        let values = Tensor::from([10.0, 20.0, 30.0]);
        let at = Tensor::from([2.0, 0.0, 2.0]);
        assert_eq!(values.take(&at).to_vec(), vec![30.0, 10.0, 30.0]);
        let w = Tensor::from([1.0, 2.0, 3.0]);
        let g = grad(|v: &Tensor| (v.take(&at) * &w).sum(), &values);
        assert_eq!(g.to_vec(), vec![2.0, 0.0, 4.0]);
        check_grad(|v| v[0].take(&at), std::slice::from_ref(&values)).assert_ok_for("take");
        check_grad(|v| v[0].scatter_add_at(&at, 4), &[w]).assert_ok_for("scatter_add_at");
        let second = |v: &[Tensor]| grad(|x: &Tensor| x.take(&at).square().sum(), &v[0]);
        check_grad(second, &[values]).assert_ok_for("d/dx take");
    }

    #[test]
    #[should_panic(expected = "take: position 1 is 3.5, not a whole number below 3")]
    fn a_position_that_is_not_whole_panics() {
        let _ = Tensor::from([1.0, 2.0, 3.0]).take(&Tensor::from([0.0, 3.5]));
    }

    #[test]
    fn positions_from_a_traced_search_compile_and_are_checked() {
        // The knot below each query, found and read again on every call.
        let knots = Tensor::from([0.0, 1.0, 2.0, 4.0]);
        let values = Tensor::from([1.0, -1.0, 2.0, 0.5]);
        let f = |x: &Tensor| {
            let below = searchsorted(&knots, x, Side::Right) - 1.0;
            value_and_grad(|v: &Tensor| (v.take(&below) * x).sum(), &values)
        };
        let x = Tensor::from([0.5, 3.0, 1.5]);
        let compiled = compile(f, &x).unwrap();
        for point in [Tensor::from([3.5, 0.1, 2.0]), Tensor::from([1.0, 1.0, 0.0])] {
            assert_eq!(compiled.call(&point).unwrap(), f(&point));
        }
        // A query below the first knot has no knot below it.
        let checked = |x: &Tensor| {
            let below = searchsorted(&knots, x, Side::Right) - 1.0;
            check_positions("take", &below, 4)?;
            Ok(values.take(&below))
        };
        assert_compiles_with_errors(
            checked,
            &x,
            &[Tensor::from([0.0, 3.0, 1.0]), Tensor::from([-1.0, 0.0, 0.0])],
        );
    }
}
