//! Log-sum-exp over all elements or over axes, and softmax and log-softmax
//! along an axis: all computed with the maximum subtracted, so that large
//! inputs give finite results.

use super::broadcast::reduced_shapes;
use super::reduce::{all_axes, fold_groups};
use crate::autodiff::record;
use crate::shape::{Shape, broadcast_strides, for_each_offset};
use crate::tensor::Tensor;
use smallvec::smallvec;

impl Tensor {
    /// `ln(sum(exp(x)))` over all elements, as a scalar; see
    /// [`logsumexp_axes`](Tensor::logsumexp_axes).
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let t = Tensor::from([1000.0, 1000.0]);
    /// assert!((t.logsumexp().item() - (1000.0 + 2f64.ln())).abs() < 1e-12);
    /// ```
    pub fn logsumexp(&self) -> Tensor {
        self.logsumexp_axes(&all_axes(self.ndim()), false)
    }

    /// `ln(sum(exp(x)))` over `axes`, computed as `m + ln(sum(exp(x - m)))`
    /// with `m` the group's maximum, so large inputs do not overflow (a group
    /// whose maximum is infinite is not shifted). An empty group gives `-inf`.
    /// The gradient is the softmax of the group.
    ///
    /// ```
    /// use jaxpurify_runtime::{grad, Tensor};
    /// let t = Tensor::from([[0.0, 3f64.ln()], [1000.0, 1000.0]]);
    /// let lse = t.logsumexp_axes(&[-1], false).to_vec();
    /// assert!((lse[0] - 4f64.ln()).abs() < 1e-15 && (lse[1] - 1000.0 - 2f64.ln()).abs() < 1e-12);
    /// let g = grad(|x: &Tensor| x.logsumexp(), &Tensor::from([0.0, 3f64.ln()]));
    /// assert!((g.to_vec()[1] - 0.75).abs() < 1e-15);
    /// ```
    #[track_caller]
    pub fn logsumexp_axes(&self, axes: &[isize], keepdim: bool) -> Tensor {
        let (kept, dropped) = reduced_shapes(self.shape(), axes, "logsumexp_axes");
        let (shifts, sums) = shifted_exp_sums(self, &kept);
        let values = shifts.iter().zip(&sums).map(|(m, s)| m + s.ln()).collect();
        let out = Tensor::from_parts(values, if keepdim { kept.clone() } else { dropped });
        // d lse / dx_i = exp(x_i - lse), the softmax, read from the output.
        record(out, &[self], move |c| {
            let softmax = (&c.inputs[0] - c.output.reshape(&kept)).exp();
            smallvec![Some(c.grad.reshape(&kept) * softmax)]
        })
    }

    /// `exp(x - logsumexp(x))` along `axis`: non-negative values that sum to 1
    /// along it. The log-sum-exp is computed with the maximum subtracted, so
    /// large inputs give finite results.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let p = Tensor::from([1000.0, 1000.0]).softmax(0);
    /// assert_eq!(p.to_vec(), vec![0.5, 0.5]);
    /// let rows = Tensor::from([[0.0, 3f64.ln()], [5.0, 5.0]]).softmax(-1).to_vec();
    /// assert!((rows[1] - 0.75).abs() < 1e-15 && (rows[2] - 0.5).abs() < 1e-15);
    /// ```
    ///
    /// # Panics
    /// When the axis is out of range.
    #[track_caller]
    pub fn softmax(&self, axis: isize) -> Tensor {
        let (kept, _) = reduced_shapes(self.shape(), &[axis], "softmax");
        let values = map_shifted(self, &kept, |sum| sum, |shifted, sum| shifted.exp() / sum);
        let out = Tensor::from_parts(values, self.shape().clone());
        // For y = softmax(x): dx = y * (g - sum(g * y)), sums along the axis.
        record(out, &[self], move |c| {
            let y = c.output;
            smallvec![Some(y * (c.grad - (c.grad * y).sum_to(&kept)))]
        })
    }

    /// `x - logsumexp(x)` along `axis`, the logarithm of
    /// [`softmax`](Tensor::softmax) without its rounding to 0 for very
    /// unlikely entries.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let y = Tensor::from([0.0, 3f64.ln()]).log_softmax(0).to_vec();
    /// assert!((y[0] - 0.25f64.ln()).abs() < 1e-15 && (y[1] - 0.75f64.ln()).abs() < 1e-15);
    /// assert_eq!(Tensor::from([0.0, -2000.0]).log_softmax(0).to_vec(), vec![0.0, -2000.0]);
    /// ```
    ///
    /// # Panics
    /// When the axis is out of range.
    #[track_caller]
    pub fn log_softmax(&self, axis: isize) -> Tensor {
        let (kept, _) = reduced_shapes(self.shape(), &[axis], "log_softmax");
        let values = map_shifted(self, &kept, f64::ln, |shifted, log_sum| shifted - log_sum);
        let out = Tensor::from_parts(values, self.shape().clone());
        // For y = log_softmax(x): dx = g - exp(y) * sum(g), summed along the axis.
        record(out, &[self], move |c| {
            smallvec![Some(c.grad - c.output.exp() * c.grad.sum_to(&kept))]
        })
    }
}

/// For each group of `kept`: the shift `m` (the group's maximum, or 0 when
/// that is infinite) and `sum(exp(x - m))`. With the maximum subtracted no
/// exponent is positive, so large inputs cannot overflow; plain values.
fn shifted_exp_sums(x: &Tensor, kept: &Shape) -> (Vec<f64>, Vec<f64>) {
    let shifts: Vec<f64> = fold_groups(x, kept, f64::NEG_INFINITY, f64::max)
        .into_iter()
        .map(|m| if m.is_finite() { m } else { 0.0 })
        .collect();
    let src = x.as_slice();
    let mut sums = vec![0.0; kept.numel()];
    for_each_offset(x.shape(), &broadcast_strides(kept, x.shape()), |i, o| {
        sums[o] += (src[i] - shifts[o]).exp();
    });
    (shifts, sums)
}

/// `f(x - m, per_group(sum(exp(x - m))))` for every element, with `m` and
/// the sum those of its group of `kept`; plain values. Working with `x - m`
/// rather than `x - logsumexp` keeps full precision for large inputs.
fn map_shifted(
    x: &Tensor,
    kept: &Shape,
    per_group: impl Fn(f64) -> f64,
    f: impl Fn(f64, f64) -> f64,
) -> Vec<f64> {
    let (shifts, sums) = shifted_exp_sums(x, kept);
    let group_terms: Vec<f64> = sums.into_iter().map(per_group).collect();
    let src = x.as_slice();
    let mut values = vec![0.0; x.numel()];
    for_each_offset(x.shape(), &broadcast_strides(kept, x.shape()), |i, o| {
        values[i] = f(src[i] - shifts[o], group_terms[o]);
    });
    values
}

#[cfg(test)]
mod tests {}
