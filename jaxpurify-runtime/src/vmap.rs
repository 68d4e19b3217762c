//! A batch map for use inside models: apply a function to every slice of a
//! tensor along one axis and stack the results (JAX's `vmap`).
//!
//! The function runs once, on the first slice; the ops it used are then
//! computed once for the whole batch (`batching.rs`): a matrix-vector
//! product per slice becomes one matrix product. A function whose ops
//! cannot all be batched so runs slice by slice, built from
//! [`select`](Tensor::select) and [`stack`](crate::stack). Both ways are
//! made of differentiable ops, so gradients, `jvp`, gradients of gradients
//! and `grad` inside the mapped function all work through it with no rule
//! of its own, and compiled programs run the batched kernels. Arguments
//! that are not batched need no special treatment: the closure captures
//! them, and gradients with respect to them flow as usual.

use crate::autodiff::graph::Tape;
use crate::ops::layout::stack;
use crate::shape::normalize_axis;
use crate::tensor::Tensor;

/// `f` applied to each slice of `xs` along `axis` (negative counts from the
/// end), in order, with the results stacked along a new first axis: the
/// result's shape is `[n] + shape of f's output`, where `n` is the length
/// of `axis`. This is JAX's `vmap(f, in_axes=axis, out_axes=0)`; move the
/// batch axis elsewhere afterwards with [`permute`](Tensor::permute) if needed.
///
/// Like JAX's, it runs `f` once and computes its ops for every slice at
/// once: `w.matmul(row)` for each row becomes one product with all rows,
/// elementwise ops and sums run over the stacked slices. Elementwise ops,
/// broadcasts, reshapes and sums give the same bits as slice by slice;
/// matrix products add their terms in another order, so they agree to
/// rounding. Where `f` does something that cannot be batched so (reads a
/// value with `item`, makes a check on values, uses an op without a batch
/// rule, such as indexing or an FFT), `f` runs once more per slice, as a
/// loop would. `f` should therefore not count on how often it is called.
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
    let select = |k: usize| -> Vec<Tensor> {
        xs.iter()
            .zip(&axes)
            .map(|(x, &a)| x.select(a as isize, k))
            .collect()
    };
    // The first slice, made the input of a batch tape: the ops of `f`
    // record there how they compute for every slice at once.
    let tape = Tape::open_batch();
    let first: Vec<Tensor> = select(0).iter().map(|s| s.track_as_leaf(&tape)).collect();
    let first = f(&first);
    let level = tape.level();
    let replayable = tape.batch().is_some_and(|record| !record.stopped);
    if length > 1 && replayable {
        let batched = match first.track_at(level) {
            Some(track) => {
                // Each input with its slices stacked along the first axis.
                let stacked: Vec<Tensor> = xs.iter().zip(&axes).map(|(x, &a)| batch_first(x, a)).collect();
                let record = tape.batch().expect("a batch tape");
                record.replay(track.index(), &stacked, length)
            }
            // The same result for every slice.
            None => Some(
                first
                    .expand_dims(0)
                    .broadcast_to(crate::batching::stacked(length, first.shape())),
            ),
        };
        if let Some(batched) = batched {
            return batched;
        }
    }
    let mut outputs: Vec<Tensor> = Vec::with_capacity(length);
    outputs.push(first.strip_from(level));
    for k in 1..length {
        outputs.push(f(&select(k)));
    }
    if let Some(k) = outputs.iter().position(|y| y.shape() != outputs[0].shape()) {
        panic!(
            "vmap: the function returned shape {} for slice 0 but {} for slice {k}",
            outputs[0].shape(),
            outputs[k].shape()
        );
    }
    stack(&outputs, 0)
}

/// `x` with axis `axis` moved to the front.
fn batch_first(x: &Tensor, axis: usize) -> Tensor {
    if axis == 0 {
        return x.clone();
    }
    let mut order: Vec<usize> = vec![axis];
    order.extend((0..x.ndim()).filter(|&a| a != axis));
    x.permute(&order)
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

    /// The largest difference relative to the largest magnitude.
    fn assert_close(a: &Tensor, b: &Tensor, what: &str) {
        assert_eq!(a.shape(), b.shape(), "{what}");
        let scale = b.as_slice().iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for (x, y) in a.as_slice().iter().zip(b.as_slice()) {
            assert!((x - y).abs() <= 1e-13 * scale, "{what}: {x} vs {y}");
        }
    }

    /// The slices of `x` along `axis`, each through `f`, stacked.
    fn looped(x: &Tensor, axis: isize, f: impl Fn(&Tensor) -> Tensor) -> Tensor {
        let n = x.shape()[crate::shape::normalize_axis(axis, x.ndim(), "test")];
        stack(&(0..n).map(|k| f(&x.select(axis, k))).collect::<Vec<_>>(), 0)
    }

    /// A layer of a network on one vector: `relu(w @ x + b)`.
    fn layer(w: &Tensor, b: &Tensor, x: &Tensor) -> Tensor {
        (w.matmul(x) + b).relu()
    }

    #[test]
    fn a_body_of_batchable_ops_runs_once_for_the_whole_batch() {
        let (x, w, b) = (sample(&[6, 4]), sample(&[3, 4]) * 0.1, sample(&[3]));
        let mut calls = 0;
        let mapped = vmap(&x, 0, |row| {
            calls += 1;
            layer(&w, &b, row)
        });
        assert_eq!(calls, 1);
        // One product for the batch adds in another order than six.
        assert_close(&mapped, &looped(&x, 0, |row| layer(&w, &b, row)), "layer");
        // A body that reads a value runs once per slice, as the loop.
        let mut calls = 0;
        let read = vmap(&x, 0, |row| {
            calls += 1;
            row * row.get(&[0])
        });
        assert_eq!(calls, 6);
        assert_eq!(read, looped(&x, 0, |row| row * row.get(&[0])));
        // So does one with an op that has no batch rule: the same bits.
        let mut calls = 0;
        let scanned = vmap(&x, 0, |row| {
            calls += 1;
            row.cumsum(0).sin()
        });
        assert_eq!(calls, 6);
        assert_eq!(scanned, looped(&x, 0, |row| row.cumsum(0).sin()));
    }

    #[test]
    fn elementwise_ops_and_sums_batch_to_the_same_bits_as_the_loop() {
        let x = sample(&[5, 3, 2]);
        let (shared, scale) = (sample(&[4, 1, 2]), Tensor::scalar(0.7));
        let f = |s: &Tensor| {
            let t = (s * &scale).exp() - s.abs().ln_1p() / 2.0 + &shared;
            let n = t.numel() / 4;
            let spread = t.reshape([4, n]).sum_axes(&[0], true).broadcast_to([3, n]);
            t.sum_axes(&[-1], false).tanh() * t.sum() + spread.mean()
        };
        type Part = fn(&Tensor, &Tensor, &Tensor) -> Tensor;
        let parts: [(&str, Part); 7] = [
            ("choices", |s, _, sh| {
                crate::where_(&s.gt(0.0), s.maximum(sh), s.minimum(0.25) * s.le(sh))
            }),
            ("exp", |s, sc, _| (s * sc).exp()),
            ("ln1p", |s, _, _| s.abs().ln_1p() / 2.0),
            ("shared", |s, _, sh| s + sh),
            ("sum_axes", |s, _, sh| (s + sh).sum_axes(&[-1], false)),
            ("sum", |s, _, sh| (s + sh).sum()),
            ("mean", |s, _, sh| {
                (s + sh)
                    .reshape([4, 6])
                    .sum_axes(&[0], true)
                    .broadcast_to([3, 6])
                    .mean()
            }),
        ];
        for (what, g) in parts {
            let calls = std::cell::Cell::new(0);
            let mapped = vmap(&x, 0, |s| {
                calls.set(calls.get() + 1);
                g(s, &scale, &shared)
            });
            assert_eq!(calls.get(), 1, "{what}: batched");
            assert_eq!(mapped, looped(&x, 0, |s| g(s, &scale, &shared)), "{what}");
        }
        let last = sample(&[3, 2, 5]);
        for (input, axis) in [(&x, 0isize), (&x, 1), (&last, -1)] {
            let calls = std::cell::Cell::new(0);
            let mapped = vmap(input, axis, |s| {
                calls.set(calls.get() + 1);
                f(s)
            });
            assert_eq!(calls.get(), 1, "axis {axis}: batched");
            assert_eq!(mapped, looped(input, axis, f), "axis {axis}");
        }
        // A result that does not depend on the slice is repeated.
        let constant = vmap(&x, 0, |_| shared.sin());
        assert_eq!(constant, looped(&x, 0, |_| shared.sin()));
    }

    #[test]
    fn products_batch_with_either_operand_stacked() {
        let (vectors, matrices) = (sample(&[5, 4]), sample(&[5, 3, 4]) * 0.1);
        let (matrix, vector) = (sample(&[3, 4]) * 0.2, sample(&[4]));
        let square = sample(&[4, 4]) * 0.1;
        let cases: Vec<(&str, Tensor, Tensor)> = vec![
            (
                "matrix @ stacked vectors",
                vmap(&vectors, 0, |v| matrix.matmul(v)),
                looped(&vectors, 0, |v| matrix.matmul(v)),
            ),
            (
                "stacked vectors @ matrix",
                vmap(&vectors, 0, |v| v.matmul(&square)),
                looped(&vectors, 0, |v| v.matmul(&square)),
            ),
            (
                "stacked matrices @ vector",
                vmap(&matrices, 0, |m| m.matmul(&vector)),
                looped(&matrices, 0, |m| m.matmul(&vector)),
            ),
            (
                "vector @ stacked matrices",
                vmap(&matrices, 0, |m| vector.matmul(&m.t())),
                looped(&matrices, 0, |m| vector.matmul(&m.t())),
            ),
            (
                "matrix @ stacked matrices",
                vmap(&matrices, 0, |m| matrix.t().matmul(m)),
                looped(&matrices, 0, |m| matrix.t().matmul(m)),
            ),
            (
                "stacked outer products",
                vmap(&vectors, 0, |v| v.outer(&vector)),
                looped(&vectors, 0, |v| v.outer(&vector)),
            ),
            (
                "both stacked",
                vmap_many(&[&matrices, &vectors], 0, |s| s[0].matmul(&s[1])),
                looped(&vectors, 0, |_| Tensor::zeros([3])),
            ),
        ];
        for (what, mapped, expected) in &cases[..6] {
            assert_close(mapped, expected, what);
        }
        let both: Vec<Tensor> = (0..5)
            .map(|k| matrices.select(0, k).matmul(&vectors.select(0, k)))
            .collect();
        assert_close(&cases[6].1, &stack(&both, 0), "both stacked");
    }

    #[test]
    fn gradients_through_a_batched_body_match_the_loop() {
        let (x, w, b) = (sample(&[6, 4]), sample(&[3, 4]) * 0.1, sample(&[3]));
        let loss = |mapped: &Tensor| (mapped * mapped).sum();
        let batched = |w: &Tensor, b: &Tensor, x: &Tensor| loss(&vmap(x, 0, |row| layer(w, b, row)));
        let by_loop = |w: &Tensor, b: &Tensor, x: &Tensor| loss(&looped(x, 0, |row| layer(w, b, row)));
        for (what, g, h) in [
            (
                "w",
                grad(|w: &Tensor| batched(w, &b, &x), &w),
                grad(|w: &Tensor| by_loop(w, &b, &x), &w),
            ),
            (
                "b",
                grad(|b: &Tensor| batched(&w, b, &x), &b),
                grad(|b: &Tensor| by_loop(&w, b, &x), &b),
            ),
            (
                "x",
                grad(|x: &Tensor| batched(&w, &b, x), &x),
                grad(|x: &Tensor| by_loop(&w, &b, x), &x),
            ),
        ] {
            assert_close(&g, &h, what);
        }
        check_grad(
            |a| batched(&a[0], &a[1], &a[2]),
            &[w.clone(), b.clone(), x.clone()],
        )
        .assert_ok_for("batched layer");
        // A value detached inside the body passes no gradient, batched too.
        let g = grad(
            |w: &Tensor| vmap(&x, 0, |row| (w.matmul(row) * w.matmul(row).detach()).sum()).sum(),
            &w,
        );
        let h = grad(
            |w: &Tensor| looped(&x, 0, |row| (w.matmul(row) * w.matmul(row).detach()).sum()).sum(),
            &w,
        );
        assert_close(&g, &h, "detached");
    }

    #[test]
    fn a_compiled_function_runs_the_batched_body() {
        let (x, w, b) = (sample(&[6, 4]), sample(&[3, 4]) * 0.1, sample(&[3]));
        let f = |p: &(Tensor, Tensor)| vmap(&x, 0, |row| layer(&p.0, &p.1, row)).sum();
        crate::testing::assert_compiles_exactly(
            f,
            &(w.clone(), b.clone()),
            &[(w.clone() * 2.0, b.clone() * -1.0)],
        );
        // One product for the six rows, in the value and in its gradient;
        // the first row's own product, which nothing reads, is dropped.
        let products = |counts: Vec<(&'static str, usize)>| {
            let names = ["matvec", "vecmat", "matmul", "outer"];
            counts
                .iter()
                .filter(|(name, _)| names.contains(name))
                .map(|(_, n)| n)
                .sum::<usize>()
        };
        let forward = crate::compile(f, &(w.clone(), b.clone())).unwrap();
        assert_eq!(products(forward.step_counts()), 1, "{:?}", forward.step_counts());
        let gradient = crate::compile(
            |p: &(Tensor, Tensor)| crate::grad(|w: &Tensor| f(&(w.clone(), p.1.clone())), &p.0),
            &(w.clone(), b.clone()),
        )
        .unwrap();
        assert_eq!(
            products(gradient.step_counts()),
            2,
            "{:?}",
            gradient.step_counts()
        );
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
