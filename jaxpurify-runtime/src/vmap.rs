//! A batch map for use inside models: apply a function to every slice of a
//! tensor along one axis and stack the results (JAX's `vmap`, run as a loop).
//!
//! The map is built from [`select`](Tensor::select) and
//! [`stack`](crate::stack), both differentiable to any order, so gradients,
//! `jvp`, gradients of gradients and `grad` inside the mapped function all
//! work through it with no rule of its own. Arguments that are not batched
//! need no special treatment: the closure captures them, and gradients with
//! respect to them flow as usual.

use crate::ops::layout::stack;
use crate::shape::normalize_axis;
use crate::tensor::Tensor;

/// `f` applied to each slice of `xs` along `axis` (negative counts from the
/// end), in order, with the results stacked along a new first axis: the
/// result's shape is `[n] + shape of f's output`, where `n` is the length
/// of `axis`. This is JAX's `vmap(f, in_axes=axis, out_axes=0)`; move the
/// batch axis elsewhere afterwards with [`permute`](Tensor::permute) if needed.
///
/// ```
/// use jaxpurify_runtime::{Tensor, vmap};
/// let x = Tensor::from([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
/// // The squared norm of each row, and of each column.
/// assert_eq!(vmap(&x, 0, |row| (row * row).sum()).to_vec(), vec![5.0, 25.0, 61.0]);
/// assert_eq!(vmap(&x, -1, |col| (col * col).sum()).to_vec(), vec![35.0, 56.0]);
/// ```
///
/// # Panics
/// When `axis` is out of range or has length 0 (with no call of `f`, the
/// shape of the result is unknown), or when `f` returns tensors of different
/// shapes for different slices.
#[track_caller]
pub fn vmap(xs: &Tensor, axis: isize, mut f: impl FnMut(&Tensor) -> Tensor) -> Tensor {
    vmap_many(&[xs], axis, |slices| f(&slices[0]))
}

/// Like [`vmap`] over several tensors at once: call `k` of `f` receives
/// slice `k` along `axis` of every input, in the order given. The inputs
/// may differ in shape but must have the same length along `axis`.
///
/// ```
/// use jaxpurify_runtime::{Tensor, vmap_many};
/// let x = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
/// let y = Tensor::from([10.0, 100.0]);
/// // Row k of x scaled by y[k].
/// let scaled = vmap_many(&[&x, &y], 0, |s| &s[0] * &s[1]);
/// assert_eq!(scaled.to_vec(), vec![10.0, 20.0, 300.0, 400.0]);
/// ```
///
/// # Panics
/// When no inputs are given, `axis` is out of range for one of them, their
/// lengths along `axis` differ or are 0, or when `f` returns tensors of
/// different shapes for different slices.
#[track_caller]
pub fn vmap_many(xs: &[&Tensor], axis: isize, mut f: impl FnMut(&[Tensor]) -> Tensor) -> Tensor {
    assert!(!xs.is_empty(), "vmap: no inputs given");
    let mut axes: Vec<usize> = Vec::with_capacity(xs.len());
    // A loop, not `map`: a closure would not pass on the caller's location.
    for x in xs {
        axes.push(normalize_axis(axis, x.ndim(), "vmap"));
    }
    let length = xs[0].shape()[axes[0]];
    for (x, &a) in xs.iter().zip(&axes) {
        assert!(
            x.shape()[a] == length,
            "vmap: inputs of shapes {} and {} differ in length along axis {axis}",
            xs[0].shape(),
            x.shape()
        );
    }
    assert!(
        length > 0,
        "vmap: axis {axis} of shape {} is empty, so the shape of the result is unknown",
        xs[0].shape()
    );
    let outputs: Vec<Tensor> = (0..length)
        .map(|k| {
            let slices: Vec<Tensor> = xs
                .iter()
                .zip(&axes)
                .map(|(x, &a)| x.select(a as isize, k))
                .collect();
            f(&slices)
        })
        .collect();
    if let Some(k) = outputs.iter().position(|y| y.shape() != outputs[0].shape()) {
        panic!(
            "vmap: the function returned shape {} for slice 0 but {} for slice {k}",
            outputs[0].shape(),
            outputs[k].shape()
        );
    }
    stack(&outputs, 0)
}

#[cfg(test)]
mod tests {
    use super::{vmap, vmap_many};
    use crate::testing::check_grad;
    use crate::{Tensor, grad, jvp, stack};

    fn sample(shape: &[usize]) -> Tensor {
        crate::testing::distinct_values(shape)
    }

    /// A nonlinear map of a slice that keeps a vector output.
    fn model(x: &Tensor, theta: &Tensor) -> Tensor {
        (x * theta).sin() + x * x * 0.5
    }

    #[test]
    fn equals_an_explicit_loop_along_any_axis() {
        let x = sample(&[3, 4, 2]);
        let theta = sample(&[4]);
        let f = |s: &Tensor| s.sin().sum_axes(&[0], false) * s.sum();
        for (axis, length) in [(0isize, 3), (1, 4), (2, 2), (-1, 2)] {
            let looped: Vec<Tensor> = (0..length).map(|k| f(&x.select(axis, k))).collect();
            assert_eq!(vmap(&x, axis, f), stack(&looped, 0), "axis {axis}");
        }
        // Vector outputs stack along a new first axis.
        let rows = vmap(&x.select(2, 1), 0, |row| model(row, &theta));
        assert_eq!(rows.shape(), &[3, 4]);
        for k in 0..3 {
            assert_eq!(rows.select(0, k), model(&x.select(2, 1).select(0, k), &theta));
        }
    }

    #[test]
    fn gradient_through_the_map_by_hand() {
        // y_i = sum_j x_ij^2 for each row i; L = sum_i w_i y_i with w = [1, 2, 3],
        // so dL/dx_ij = 2 w_i x_ij.
        let x = sample(&[3, 2]);
        let w = Tensor::from([1.0, 2.0, 3.0]);
        let g = grad(|x: &Tensor| (vmap(x, 0, |row| (row * row).sum()) * &w).sum(), &x);
        let expected: Vec<f64> = x
            .as_slice()
            .iter()
            .enumerate()
            .map(|(k, v)| 2.0 * w.as_slice()[k / 2] * v)
            .collect();
        assert_eq!(g.to_vec(), expected);
    }

    #[test]
    fn gradients_match_central_differences() {
        let x = sample(&[3, 4]);
        let theta = Tensor::from([0.4, -0.7, 1.1, 0.2]);
        // Batched input and a captured, unbatched parameter both get gradients.
        check_grad(
            |a| vmap(&a[0], 0, |row| model(row, &a[1])),
            &[x.clone(), theta.clone()],
        )
        .assert_ok_for("vmap over rows");
        check_grad(
            |a| vmap(&a[0], 1, |col| (col * col).sum().sin()),
            std::slice::from_ref(&x),
        )
        .assert_ok_for("vmap over columns to scalars");
        // Second derivative: the gradient of a function built on vmap.
        check_grad(
            |a| grad(|t: &Tensor| vmap(&a[0], 0, |row| model(row, t)).sum(), &a[1]),
            &[x, theta],
        )
        .assert_ok_for("gradient through vmap");
    }

    #[test]
    fn per_example_gradients_and_jvp() {
        // The gradient of a loss per example: vmap over examples of grad.
        let xs = sample(&[5, 4]);
        let theta = Tensor::from([0.4, -0.7, 1.1, 0.2]);
        let loss = |t: &Tensor, x: &Tensor| model(x, t).sum();
        let per_example = vmap(&xs, 0, |x| grad(|t: &Tensor| loss(t, x), &theta));
        assert_eq!(per_example.shape(), &[5, 4]);
        // Their sum is the gradient of the summed loss.
        let total = grad(|t: &Tensor| vmap(&xs, 0, |x| loss(t, x)).sum(), &theta);
        let summed = per_example.sum_axes(&[0], false);
        for (a, b) in summed.as_slice().iter().zip(total.as_slice()) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        // Forward mode through the map equals the map of forward mode.
        let v = Tensor::from([1.0, 0.5, -0.25, 2.0]);
        let (_, mapped) = jvp(|t: &Tensor| vmap(&xs, 0, |x| model(x, t)), &theta, &v);
        let looped = vmap(&xs, 0, |x| jvp(|t: &Tensor| model(x, t), &theta, &v).1);
        for (a, b) in mapped.as_slice().iter().zip(looped.as_slice()) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }

    #[test]
    fn vmap_many_walks_inputs_together() {
        let x = sample(&[3, 4]);
        let y = sample(&[3, 2]);
        let mapped = vmap_many(&[&x, &y], 0, |s| (&s[0].sum() * &s[1]).exp());
        let looped: Vec<Tensor> = (0..3)
            .map(|k| (&x.select(0, k).sum() * &y.select(0, k)).exp())
            .collect();
        assert_eq!(mapped, stack(&looped, 0));
        check_grad(
            |a| vmap_many(&[&a[0], &a[1]], 0, |s| &s[0].sum() * &s[1]),
            &[x, y],
        )
        .assert_ok_for("vmap_many");
        // Nested maps reach every element.
        let z = sample(&[2, 3]);
        let nested = vmap(&z, 0, |row| vmap(row, 0, |v| v.sin()));
        assert_eq!(nested, z.sin());
    }

    #[test]
    #[should_panic(expected = "vmap: inputs of shapes [3, 4] and [2, 4] differ in length along axis 0")]
    fn mismatched_lengths_are_rejected() {
        let _ = vmap_many(&[&Tensor::zeros([3, 4]), &Tensor::zeros([2, 4])], 0, |s| {
            s[0].clone()
        });
    }

    #[test]
    #[should_panic(expected = "vmap: axis 1 of shape [2, 0] is empty, so the shape of the result is unknown")]
    fn empty_axis_is_rejected() {
        let _ = vmap(&Tensor::zeros([2, 0]), 1, |s| s.clone());
    }

    #[test]
    #[should_panic(expected = "vmap: the function returned shape [1] for slice 0 but [2] for slice 1")]
    fn ragged_outputs_are_rejected() {
        let _ = vmap(&Tensor::arange(0.0, 3.0, 1.0), 0, |s| {
            Tensor::zeros([s.item() as usize + 1])
        });
    }

    #[test]
    #[should_panic(expected = "vmap: axis 2 is out of range for a tensor with 2 dimensions")]
    fn out_of_range_axis_is_rejected() {
        let _ = vmap(&Tensor::zeros([2, 2]), 2, |s| s.clone());
    }
}
