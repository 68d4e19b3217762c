//! JAX-style functional updates, `x.at(index).set(v)` and `.add(v)`: a new
//! tensor equal to `x` except at the selected elements.

use super::index::{Index, gather_offsets, resolve_index, scatter_add_offsets};
use crate::autodiff::graph::apply_op;
use crate::compile::kernel::Kernel;
use crate::shape::{Shape, broadcasts_to};
use crate::tensor::Tensor;
use smallvec::smallvec;
use std::sync::Arc;

/// A selection of a tensor waiting for an update, from [`Tensor::at`].
#[must_use = "`at` only selects; call `set` or `add` to get the updated tensor"]
pub struct At<'a> {
    tensor: &'a Tensor,
    index: Index,
}

impl Tensor {
    /// Selects elements for a functional update (JAX's `x.at[index]`). The
    /// index is anything [`Index`] converts from: a position or range on the
    /// first axis, a multi-index, or [`s!`](crate::s).
    ///
    /// ```
    /// use jaxpurify_runtime::{s, Tensor};
    /// let k = Tensor::from([0.0, 1.0, -1.0]).at(0).set(f64::INFINITY);
    /// assert_eq!(k.to_vec(), vec![f64::INFINITY, 1.0, -1.0]);
    /// let x = Tensor::zeros([2, 3]).at(s![.., 1..]).add(&Tensor::from([1.0, 2.0]));
    /// assert_eq!(x.to_vec(), vec![0.0, 1.0, 2.0, 0.0, 1.0, 2.0]);
    /// ```
    pub fn at(&self, index: impl Into<Index>) -> At<'_> {
        At {
            tensor: self,
            index: index.into(),
        }
    }
}

impl At<'_> {
    /// The tensor with the selected elements replaced by `value`, which is
    /// broadcast to the selection's shape. Differentiable in both: the
    /// gradient of the tensor is zero at the replaced elements, and the
    /// gradient of `value` is the gradient read there (summed over what was
    /// broadcast).
    ///
    /// ```
    /// use jaxpurify_runtime::{Tensor, grad};
    /// // d/dx sum(x.at(1).set(7)) is 1 except at the replaced element.
    /// let g = grad(|x: &Tensor| x.at(1).set(7.0).sum(), &Tensor::from([1.0, 2.0, 3.0]));
    /// assert_eq!(g.to_vec(), vec![1.0, 0.0, 1.0]);
    /// ```
    ///
    /// # Panics
    /// When the index is out of bounds or `value` does not broadcast to the
    /// selection.
    #[track_caller]
    pub fn set(self, value: impl Into<Tensor>) -> Tensor {
        let x = self.tensor;
        let selection = resolve_index(&self.index, x.shape(), "at.set");
        let value = broadcast_value(&value.into(), &selection.shape, x.shape(), "at.set");
        let (offsets, region) = (selection.offsets, selection.shape);
        let kernel = SetAt(offsets.clone());
        // The replaced elements no longer depend on x; the value's gradient
        // is the output gradient at the positions it was written to. The mask
        // is built in the rule so that untracked updates never pay for it.
        apply_op(&kernel, &[x, &value], x.shape().clone(), move |c| {
            smallvec![
                c.needs(0).then(|| c.grad * &kept_mask(&offsets, c.grad.shape())),
                c.needs(1)
                    .then(|| gather_offsets(c.grad, offsets.clone(), region.clone())),
            ]
        })
    }

    /// The tensor with `value` (broadcast to the selection's shape) added to
    /// the selected elements. The gradient of the tensor passes through
    /// unchanged; that of `value` is the gradient read at the selection.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let x = Tensor::from([1.0, 2.0, 3.0]).at(1..).add(10.0);
    /// assert_eq!(x.to_vec(), vec![1.0, 12.0, 13.0]);
    /// ```
    ///
    /// # Panics
    /// When the index is out of bounds or `value` does not broadcast to the
    /// selection.
    #[track_caller]
    #[allow(
        clippy::should_implement_trait,
        reason = "JAX's name for the update; `+` on a selection would not read as returning the whole tensor"
    )]
    pub fn add(self, value: impl Into<Tensor>) -> Tensor {
        let x = self.tensor;
        let selection = resolve_index(&self.index, x.shape(), "at.add");
        let value = broadcast_value(&value.into(), &selection.shape, x.shape(), "at.add");
        // A basic index selects each element once, so adding the scattered
        // value is the update, and its rules (gather for the value, identity
        // for x) come from the ops it is made of.
        x + scatter_add_offsets(&value, selection.offsets, x.shape().clone())
    }
}

/// `value` broadcast (recorded) to the selection's shape, with a panic that
/// names the update rather than `broadcast_to`.
#[track_caller]
fn broadcast_value(value: &Tensor, region: &Shape, target: &Shape, op: &str) -> Tensor {
    assert!(
        broadcasts_to(value.shape(), region),
        "{op}: value of shape {} does not broadcast to the selected shape {region} of a tensor of shape {target}",
        value.shape()
    );
    value.broadcast_to(region)
}

/// Ones of `shape`, zero at `offsets`: which elements an update left alone.
fn kept_mask(offsets: &Arc<[usize]>, shape: &Shape) -> Tensor {
    let mut data = vec![1.0; shape.numel()];
    for &o in offsets.iter() {
        data[o] = 0.0;
    }
    Tensor::from_parts(data, shape.clone())
}

/// The kernel of [`At::set`]: the tensor, then the value (already
/// broadcast to the selection) written at the selected offsets.
#[derive(Clone)]
struct SetAt(Arc<[usize]>);

impl Kernel for SetAt {
    fn name(&self) -> &'static str {
        "set_at"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        out.copy_from_slice(inputs[0]);
        for (&o, &v) in self.0.iter().zip(inputs[1]) {
            out[o] = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{assert_compiles_exactly, check_grad};
    use crate::{Tensor, grad, s, value_and_grad};

    #[test]
    fn set_replaces_and_cuts_the_gradient_of_x() {
        // y = x.at(1..3).set(v) with scalar v; L = sum(w * y), w = [1, 2, 3, 4]:
        // dL/dx = w with positions 1, 2 zeroed, dL/dv = w1 + w2 = 5.
        let w = Tensor::from([1.0, 2.0, 3.0, 4.0]);
        let x = Tensor::from([5.0, 6.0, 7.0, 8.0]);
        assert_eq!(x.at(1..3).set(-1.0).to_vec(), vec![5.0, -1.0, -1.0, 8.0]);
        let (gx, gv) = grad(
            |xv: &(Tensor, Tensor)| (xv.0.at(1..3).set(&xv.1) * &w).sum(),
            &(x.clone(), Tensor::scalar(0.5)),
        );
        assert_eq!(gx.to_vec(), vec![1.0, 0.0, 0.0, 4.0]);
        assert_eq!(gv.item(), 5.0);
        // Infinities and NaNs outside the update survive: no masking arithmetic.
        let k = Tensor::from([0.0, f64::INFINITY]).at(0).set(f64::INFINITY);
        assert_eq!(k.to_vec(), vec![f64::INFINITY, f64::INFINITY]);
    }

    #[test]
    fn add_passes_the_gradient_of_x_through() {
        // y = x.at(s![.., 0]).add(v) on a [2, 2]; L = sum(w * y),
        // w = [[1, 2], [3, 4]]: dL/dx = w, dL/dv = [w00, w10] = [1, 3].
        let w = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
        let x = Tensor::from([[1.0, 1.0], [1.0, 1.0]]);
        let v = Tensor::from([10.0, 20.0]);
        assert_eq!(x.at(s![.., 0]).add(&v).to_vec(), vec![11.0, 1.0, 21.0, 1.0]);
        let (gx, gv) = grad(
            |xv: &(Tensor, Tensor)| (xv.0.at(s![.., 0]).add(&xv.1) * &w).sum(),
            &(x, v),
        );
        assert_eq!(gx, w);
        assert_eq!(gv.to_vec(), vec![1.0, 3.0]);
    }

    #[test]
    fn central_differences_agree_for_every_index_form() {
        let x = Tensor::linspace(-1.0, 2.0, 24).reshape([2, 3, 4]);
        let row = Tensor::from([0.5, -0.25, 2.0, 1.5]);
        let scalar = Tensor::scalar(0.7);
        check_grad(|t| t[0].at(1).set(&t[1]), &[x.clone(), row.clone()]).assert_ok_for("set at a position");
        check_grad(|t| t[0].at([0, 2]).add(&t[1]), &[x.clone(), row]).assert_ok_for("add at a multi-index");
        check_grad(|t| t[0].at([1, 0, 3]).set(&t[1]), &[x.clone(), scalar.clone()])
            .assert_ok_for("set one element");
        check_grad(
            |t| t[0].at(s![.., 1..;2, ..;3]).set(&t[1]),
            &[x.clone(), scalar.clone()],
        )
        .assert_ok_for("set a strided slice");
        check_grad(|t| t[0].at(s![1, ..2]).add(&t[1]), &[x, scalar]).assert_ok_for("add to a slice");
    }

    #[test]
    fn second_derivatives_through_updates() {
        // f(x) = sum(z^3), z = x.at(0).set(x1 * x2).at(2).add(x0): the rule of
        // set must both cut x0's direct path and route the value's gradient.
        let f = |x: &Tensor| {
            let z = x.at(0).set(x.index(1) * x.index(2)).at(2).add(x.index(0));
            (&z * &z * &z).sum()
        };
        check_grad(|x| grad(f, &x[0]), &[Tensor::from([0.3, -0.8, 1.1])]).assert_ok_for("at''");
    }

    #[test]
    fn updates_compile_with_their_gradients() {
        // The value, one row, is broadcast over the rows of the selected
        // columns, then added to part of the second row.
        let w = Tensor::from([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]]);
        let f = |p: &(Tensor, Tensor)| {
            let updated = |p: &(Tensor, Tensor)| p.0.at(s![.., 1..]).set(&p.1).at(s![1, ..2]).add(&p.1);
            value_and_grad(|p: &(Tensor, Tensor)| (updated(p).square() * &w).sum(), p)
        };
        let at = (
            Tensor::linspace(-1.0, 1.5, 6).reshape([2, 3]),
            Tensor::from([0.5, -0.7]),
        );
        let points = [(
            Tensor::linspace(2.0, -3.0, 6).reshape([2, 3]),
            Tensor::from([-4.0, 1.25]),
        )];
        assert_compiles_exactly(f, &at, &points);
    }

    #[test]
    #[should_panic(
        expected = "at.set: value of shape [3] does not broadcast to the selected shape [2] of a tensor of shape [4]"
    )]
    fn value_must_broadcast_to_the_selection() {
        let _ = Tensor::zeros([4]).at(..2).set(Tensor::zeros([3]));
    }

    #[test]
    #[should_panic(expected = "at.add: position 4 is out of range for axis 0 of size 4 (shape [4])")]
    fn out_of_range_update_names_the_op() {
        let _ = Tensor::zeros([4]).at(4).add(1.0);
    }
}
