//! Reductions: mean, product, variance and standard deviation over all
//! elements or over axes, and the grouping helpers every reduction shares.
//! (`sum`, `sum_axes` and `mean` live in `broadcast.rs`, beside `sum_to`;
//! max and min in `extrema.rs`; log-sum-exp in `softmax.rs`.)
//!
//! Reductions over axes take `axes: &[isize]` (negative counts from the end;
//! an empty list reduces nothing, like NumPy's `axis=()`) and `keepdim`, which
//! keeps the reduced axes as size-1 dimensions.

use super::blocks::{pad_axis, slice_range};
use super::broadcast::reduced_shapes;
use crate::shape::{Shape, for_each_grouped};
use crate::tensor::Tensor;

impl Tensor {
    /// The mean over `axes`.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let t = Tensor::from([[1.0, 2.0], [3.0, 6.0]]);
    /// assert_eq!(t.mean_axes(&[0], false).to_vec(), vec![2.0, 4.0]);
    /// assert_eq!(t.mean_axes(&[-1], true).shape(), &[2, 1]);
    /// ```
    #[track_caller]
    pub fn mean_axes(&self, axes: &[isize], keepdim: bool) -> Tensor {
        let (kept, _) = reduced_shapes(self.shape(), axes, "mean_axes");
        self.sum_axes(axes, keepdim) / group_size(self.shape(), &kept) as f64
    }

    /// The product of all elements, as a scalar (1 for no elements).
    ///
    /// Its derivative is the product of the other elements, exact also where
    /// elements are zero; see [`prod_axes`](Tensor::prod_axes).
    ///
    /// ```
    /// use jaxpurify_runtime::{grad, Tensor};
    /// let x = Tensor::from([2.0, 0.0, 3.0]);
    /// assert_eq!(x.prod().item(), 0.0);
    /// assert_eq!(grad(|x: &Tensor| x.prod(), &x).to_vec(), vec![0.0, 6.0, 0.0]);
    /// ```
    pub fn prod(&self) -> Tensor {
        self.reshape([self.numel()]).prod_axes(&[0], false)
    }

    /// The product over `axes`.
    ///
    /// It is computed as a balanced tree of elementwise products (each axis
    /// padded with ones to a power of two, then its two halves multiplied
    /// until one element is left), so its derivatives of every order are
    /// those of the product itself: the first derivative is the product of
    /// the other elements, never `prod / x`, and stays correct where elements
    /// are exactly zero.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let t = Tensor::from([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// assert_eq!(t.prod_axes(&[-1], false).to_vec(), vec![6.0, 120.0]);
    /// assert_eq!(t.prod_axes(&[0], true).to_vec(), vec![4.0, 10.0, 18.0]);
    /// ```
    #[track_caller]
    pub fn prod_axes(&self, axes: &[isize], keepdim: bool) -> Tensor {
        let (kept, dropped) = reduced_shapes(self.shape(), axes, "prod_axes");
        let mut product = self.clone();
        for axis in 0..self.ndim() {
            if kept[axis] != self.shape()[axis] {
                product = prod_along(&product, axis);
            }
        }
        if keepdim {
            product
        } else {
            product.reshape(dropped)
        }
    }

    /// The population variance (`ddof = 0`, NumPy's default) of all
    /// elements, as a scalar; see [`var_axes_ddof`](Tensor::var_axes_ddof).
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// assert_eq!(Tensor::from([1.0, 2.0, 3.0, 6.0]).var().item(), 3.5);
    /// ```
    pub fn var(&self) -> Tensor {
        variance(self, &all_axes(self.ndim()), false, 0, "var")
    }

    /// The population variance (`ddof = 0`) over `axes`.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let t = Tensor::from([[1.0, 3.0], [2.0, 2.0]]);
    /// assert_eq!(t.var_axes(&[-1], false).to_vec(), vec![1.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn var_axes(&self, axes: &[isize], keepdim: bool) -> Tensor {
        variance(self, axes, keepdim, 0, "var_axes")
    }

    /// The variance over `axes` with `n - ddof` in the denominator, for `n`
    /// elements per group: `ddof = 1` gives the unbiased sample variance.
    /// The mean is subtracted before squaring, so a large common offset
    /// loses no precision. When `ddof >= n` the denominator is 0 (giving
    /// infinity or NaN), as in NumPy.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let t = Tensor::from([1.0, 2.0, 3.0, 6.0]);
    /// assert_eq!(t.var_axes_ddof(&[0], false, 1).item(), 14.0 / 3.0);
    /// ```
    #[track_caller]
    pub fn var_axes_ddof(&self, axes: &[isize], keepdim: bool, ddof: usize) -> Tensor {
        variance(self, axes, keepdim, ddof, "var_axes_ddof")
    }

    /// The population standard deviation (`ddof = 0`) of all elements, as a
    /// scalar; see [`std_axes_ddof`](Tensor::std_axes_ddof).
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// assert_eq!(Tensor::from([1.0, 3.0]).std().item(), 1.0);
    /// ```
    pub fn std(&self) -> Tensor {
        variance(self, &all_axes(self.ndim()), false, 0, "std").sqrt()
    }

    /// The population standard deviation (`ddof = 0`) over `axes`.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let t = Tensor::from([[1.0, 3.0], [2.0, 2.0]]);
    /// assert_eq!(t.std_axes(&[1], true).to_vec(), vec![1.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn std_axes(&self, axes: &[isize], keepdim: bool) -> Tensor {
        variance(self, axes, keepdim, 0, "std_axes").sqrt()
    }

    /// The square root of [`var_axes_ddof`](Tensor::var_axes_ddof). Its
    /// gradient is NaN for a group whose elements are all equal, where the
    /// standard deviation has a cusp.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let t = Tensor::from([1.0, 2.0, 3.0]);
    /// assert_eq!(t.std_axes_ddof(&[0], false, 1).item(), 1.0);
    /// ```
    #[track_caller]
    pub fn std_axes_ddof(&self, axes: &[isize], keepdim: bool, ddof: usize) -> Tensor {
        variance(self, axes, keepdim, ddof, "std_axes_ddof").sqrt()
    }
}

/// Every axis of a tensor with `ndim` dimensions.
pub(super) fn all_axes(ndim: usize) -> Vec<isize> {
    (0..ndim as isize).collect()
}

/// The number of elements in each group of a reduction from `shape` to
/// `kept` (the shape with its reduced axes set to 1).
fn group_size(shape: &Shape, kept: &Shape) -> usize {
    shape
        .iter()
        .zip(kept.iter())
        .filter(|(d, k)| d != k)
        .map(|(d, _)| d)
        .product()
}

/// Folds every value of `src` (of shape `shape`) into the slot of its group
/// in `kept`, each slot starting from `init`; plain values, not recorded.
pub(super) fn fold_groups(
    src: &[f64],
    shape: &Shape,
    kept: &Shape,
    init: f64,
    f: impl Fn(f64, f64) -> f64,
) -> Vec<f64> {
    let mut acc = vec![init; kept.numel()];
    for_each_grouped(shape, kept, |i, o| acc[o] = f(acc[o], src[i]));
    acc
}

/// `sum((x - mean)^2) / (n - ddof)` over `axes`, from differentiable ops so
/// that every order of derivative follows.
#[track_caller]
fn variance(x: &Tensor, axes: &[isize], keepdim: bool, ddof: usize, op: &str) -> Tensor {
    let (kept, _) = reduced_shapes(x.shape(), axes, op);
    let n = group_size(x.shape(), &kept);
    let deviation = x - x.sum_to(&kept) / n as f64;
    (&deviation * &deviation).sum_axes(axes, keepdim) / n.saturating_sub(ddof) as f64
}

/// The product along `axis`, kept as size 1: the axis is padded with ones to
/// a power of two, then its halves are multiplied elementwise until one
/// element is left. Only differentiable ops are used, so derivatives of
/// every order are exact, including at zeros.
fn prod_along(x: &Tensor, axis: usize) -> Tensor {
    let n = x.shape()[axis];
    let width = n.next_power_of_two();
    let mut product = if width == n {
        x.clone()
    } else {
        pad_axis(x, axis, 0, width - n, 1.0)
    };
    let mut len = width;
    while len > 1 {
        len /= 2;
        product = slice_range(&product, axis, 0, len) * slice_range(&product, axis, len, 2 * len);
    }
    product
}

/// The sizes before `axis`, of `axis`, and after it, multiplied out.
pub(super) fn split_at_axis(shape: &Shape, axis: usize) -> (usize, usize, usize) {
    let before = shape[..axis].iter().product();
    let after = shape[axis + 1..].iter().product();
    (before, shape[axis], after)
}

#[cfg(test)]
pub(super) mod tests {
    use crate::testing::{assert_compiles_exactly, check_grad, jvp_vjp_pair};
    use crate::{Tensor, grad, hvp, value_and_grad};

    /// Distinct values from -1.1 to 2.8 in a scrambled order (`7 i mod 31`),
    /// so that maxima fall at different positions in different groups and
    /// no two elements tie.
    pub(crate) fn scrambled(shape: &[usize]) -> Tensor {
        let n: usize = shape.iter().product();
        assert!(n <= 31, "scrambled values repeat beyond 31 elements");
        let data = (0..n).map(|i| ((i * 7) % 31) as f64 * 0.13 - 1.1).collect();
        Tensor::from_vec(data, shape).unwrap()
    }

    /// Checks the second derivatives of `f` at `x` by central differences of
    /// the gradient of `sum(w * f(x))`, for non-uniform weights `w`.
    pub(crate) fn check_second_derivatives(name: &str, f: impl Fn(&Tensor) -> Tensor, x: &Tensor) {
        let weighted = |y: &Tensor| {
            let out = f(y);
            let w = Tensor::linspace(1.0, 2.5, out.numel()).reshape(out.shape());
            (out * w).sum()
        };
        check_grad(|x| grad(weighted, &x[0]), std::slice::from_ref(x)).assert_ok_for(name);
    }

    type Reduction = fn(&Tensor, &[isize], bool) -> Tensor;

    /// Every reduction over axes of the library, for the shared test below.
    fn reductions() -> Vec<(&'static str, Reduction)> {
        vec![
            ("sum_axes", Tensor::sum_axes),
            ("mean_axes", Tensor::mean_axes),
            ("prod_axes", Tensor::prod_axes),
            ("max_axes", Tensor::max_axes),
            ("min_axes", Tensor::min_axes),
            ("logsumexp_axes", Tensor::logsumexp_axes),
            ("var_axes", Tensor::var_axes),
            ("var_axes_ddof(1)", |x, axes, keepdim| {
                x.var_axes_ddof(axes, keepdim, 1)
            }),
            ("std_axes", Tensor::std_axes),
            ("std_axes_ddof(1)", |x, axes, keepdim| {
                x.std_axes_ddof(axes, keepdim, 1)
            }),
        ]
    }

    #[test]
    fn every_reduction_keeps_or_drops_axes_and_matches_central_differences() {
        let x = scrambled(&[2, 3, 4]);
        let cases: [(&[isize], bool, &[usize]); 7] = [
            (&[0], false, &[3, 4]),
            (&[-1], true, &[2, 3, 1]),
            (&[1, -1], false, &[2]),
            (&[-3, 1], true, &[1, 1, 4]),
            (&[2, 0, 1], false, &[]),
            (&[0, 1, 2], true, &[1, 1, 1]),
            (&[], false, &[2, 3, 4]),
        ];
        for (name, op) in reductions() {
            for (axes, keepdim, shape) in cases {
                if axes.is_empty() && (name.starts_with("std") || name.contains("ddof")) {
                    continue; // groups of one: std sits on its cusp at 0, and n - ddof = 0
                }
                let what = format!("{name} over {axes:?}, keepdim {keepdim}");
                assert_eq!(op(&x, axes, keepdim).shape(), shape, "{what}");
                check_grad(|v| op(&v[0], axes, keepdim), std::slice::from_ref(&x)).assert_ok_for(&what);
            }
        }
    }

    #[test]
    fn forward_mode_agrees_with_reverse_mode_for_every_reduction() {
        // <u, J v> = <J^T u, v>; jvp differentiates each backward rule with
        // respect to its cotangent, so this also checks the rules are recorded.
        let x = scrambled(&[2, 3, 4]);
        let v = Tensor::linspace(-1.0, 1.3, 24).reshape([2, 3, 4]);
        for (name, op) in reductions() {
            let f = |x: &Tensor| op(x, &[-1, 0], false);
            let (forward, reverse) = jvp_vjp_pair(f, &x, &v);
            assert!(
                (forward - reverse).abs() < 1e-12 * forward.abs().max(1.0),
                "{name}: {forward} vs {reverse}"
            );
        }
    }

    #[test]
    fn mean_axes_spreads_the_gradient_evenly_over_each_group() {
        // mean over rows of [[1, 2], [3, 4]] is [2, 3]; with L = 1 m0 + 3 m1,
        // dL/dx_ij = w_j / 2 = [0.5, 1.5] in every row.
        let x = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(x.mean_axes(&[0], false).to_vec(), vec![2.0, 3.0]);
        let w = Tensor::from([1.0, 3.0]);
        let g = grad(|x: &Tensor| (x.mean_axes(&[0], false) * &w).sum(), &x);
        assert_eq!(g.to_vec(), vec![0.5, 1.5, 0.5, 1.5]);
    }

    #[test]
    fn prod_gradient_is_the_product_of_the_others_even_at_zeros() {
        // Row products of [[2, 0, 3], [1, 4, 5]] are [0, 20]. With L = 1 p0 + 2 p1:
        // row 0 gets 1 * [0*3, 2*3, 2*0] = [0, 6, 0] (not 0/0 from p/x),
        // row 1 gets 2 * [4*5, 1*5, 1*4] = [40, 10, 8].
        let x = Tensor::from([[2.0, 0.0, 3.0], [1.0, 4.0, 5.0]]);
        assert_eq!(x.prod_axes(&[-1], false).to_vec(), vec![0.0, 20.0]);
        let w = Tensor::from([1.0, 2.0]);
        let g = grad(|x: &Tensor| (x.prod_axes(&[-1], false) * &w).sum(), &x);
        assert_eq!(g.to_vec(), vec![0.0, 6.0, 0.0, 40.0, 10.0, 8.0]);
        // With two zeros the gradient vanishes but the Hessian does not:
        // d2 (x0 x1 x2) / dx0 dx1 = x2 = 3, so H [1, 0, 0] = [0, 3, 0].
        let two_zeros = Tensor::from([0.0, 0.0, 3.0]);
        assert_eq!(grad(|x: &Tensor| x.prod(), &two_zeros).to_vec(), vec![0.0; 3]);
        let hv = hvp(|x: &Tensor| x.prod(), &two_zeros, &Tensor::from([1.0, 0.0, 0.0]));
        assert_eq!(hv.to_vec(), vec![0.0, 3.0, 0.0]);
    }

    #[test]
    fn prod_of_odd_and_empty_axes() {
        // Five elements pad to eight with ones; an empty axis gives the empty product 1.
        assert_eq!(Tensor::from([1.0, 2.0, 3.0, 4.0, 5.0]).prod().item(), 120.0);
        assert_eq!(
            Tensor::zeros([0, 2]).prod_axes(&[0], false).to_vec(),
            vec![1.0, 1.0]
        );
        assert_eq!(Tensor::scalar(-2.5).prod().item(), -2.5);
    }

    #[test]
    fn prod_second_derivatives_including_zeros() {
        for (label, x) in [
            ("prod_axes", scrambled(&[2, 3, 2])),
            (
                "prod_axes with zeros",
                Tensor::from([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]]),
            ),
        ] {
            check_second_derivatives(label, |x| x.prod_axes(&[-1], true), &x);
            check_second_derivatives(label, |x| x.prod_axes(&[0, 1], false), &x);
        }
    }

    #[test]
    fn variance_and_standard_deviation_by_hand() {
        // Row 0 = [1, 2, 3, 6]: mean 3, deviations [-2, -1, 0, 3], squares sum
        // to 14, so var 14/4 = 3.5 and with ddof 1, 14/3. Row 1 = [0, 0, 1, 3]:
        // mean 1, deviations [-1, -1, 0, 2], var 6/4 = 1.5.
        let x = Tensor::from([[1.0, 2.0, 3.0, 6.0], [0.0, 0.0, 1.0, 3.0]]);
        assert_eq!(x.var_axes(&[-1], false).to_vec(), vec![3.5, 1.5]);
        assert_eq!(x.var_axes_ddof(&[1], false, 1).to_vec(), vec![14.0 / 3.0, 2.0]);
        assert_eq!(
            x.std_axes(&[1], true).to_vec(),
            vec![3.5f64.sqrt(), 1.5f64.sqrt()]
        );
        // d var / dx_i = 2 (x_i - mean) / n; with L = 1 v0 + 10 v1:
        // row 0: 2 [-2, -1, 0, 3] / 4 = [-1, -0.5, 0, 1.5]; row 1: 10 * 2 [-1, -1, 0, 2] / 4.
        let w = Tensor::from([1.0, 10.0]);
        let g = grad(|x: &Tensor| (x.var_axes(&[1], false) * &w).sum(), &x);
        assert_eq!(g.to_vec(), vec![-1.0, -0.5, 0.0, 1.5, -5.0, -5.0, 0.0, 10.0]);
        // d std = d var / (2 std): row 0 of the above over 2 sqrt(3.5).
        let g = grad(|x: &Tensor| x.std(), &Tensor::from([1.0, 2.0, 3.0, 6.0]));
        for (gi, d) in g.as_slice().iter().zip([-1.0, -0.5, 0.0, 1.5]) {
            assert!((gi - d / (2.0 * 3.5f64.sqrt())).abs() < 1e-15);
        }
    }

    #[test]
    fn variance_keeps_precision_under_a_large_offset() {
        // A naive E[x^2] - E[x]^2 loses every digit here; subtracting the mean first does not.
        let x = Tensor::from([1e9 + 1.0, 1e9 + 2.0, 1e9 + 3.0, 1e9 + 6.0]);
        assert_eq!(x.var().item(), 3.5);
    }

    #[test]
    fn variance_second_derivatives() {
        let x = scrambled(&[3, 4]);
        check_second_derivatives("var_axes", |x| x.var_axes(&[-1], false), &x);
        check_second_derivatives("var_axes_ddof", |x| x.var_axes_ddof(&[0], true, 1), &x);
        check_second_derivatives("std", |x| x.std(), &x);
    }

    #[test]
    fn products_and_standard_deviations_compile_with_their_gradients() {
        // Three elements pad to four; the points put zeros (one, then two in
        // a row) and negative factors where the traced point has none, and
        // a -0.0 whose sign the product keeps.
        let w = Tensor::from([1.5, -2.0]);
        let f = |x: &Tensor| {
            value_and_grad(
                |x: &Tensor| ((x.prod_axes(&[-1], false) + x.std_axes(&[1], false)) * &w).sum(),
                x,
            )
        };
        let points = [
            Tensor::from([[0.0, 1.5, -2.0], [3.0, 0.0, 0.0]]),
            Tensor::from([[-0.0, 2.0, 3.0], [-1.0, -4.0, 0.5]]),
        ];
        assert_compiles_exactly(f, &scrambled(&[2, 3]), &points);
        assert_eq!(
            Tensor::from([-0.0, 2.0, 3.0]).prod().item().to_bits(),
            (-0.0f64).to_bits()
        );
    }

    #[test]
    #[should_panic(expected = "prod_axes: axis 2 is out of range for a tensor with 2 dimensions")]
    fn out_of_range_axes_name_the_op() {
        let _ = Tensor::zeros([2, 3]).prod_axes(&[2], false);
    }

    #[test]
    #[should_panic(expected = "mean_axes: axis 1 given twice")]
    fn repeated_axes_name_the_op() {
        let _ = Tensor::zeros([2, 3]).mean_axes(&[1, -1], false);
    }
}
