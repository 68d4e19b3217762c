//! The Gaussian random field of DESIGN.md, written with the FFT ops:
//! `k = fftfreq(n)` with no power at `k = 0`, `power = |k|^alpha`,
//! `f = fft(sqrt(power) * xi)`, `out = re(f) - im(f)`.

use jaxpurify_runtime::testing::check_grad;
use jaxpurify_runtime::{Tensor, fft, fftfreq, grad, hartley};

/// `|k|` and `ln |k|` for the bins of `fftfreq(n)`, with `k[0] = +inf` so that
/// the zero mode gets no power, and a mask that is 0 on that bin.
///
/// `|k|^alpha` is written `exp(alpha ln |k|)` so that this test checks the
/// FFT rules alone; `tests/readme_field.rs` at the workspace root checks the
/// same model written with `pow` and its zero-result rule. At `k = inf` the log is infinite and `0 * inf`
/// would poison gradients, so the log is set to 0 there and the mask zeroes
/// the bin instead: the same values as `|inf|^alpha = 0` for `alpha < 0`.
fn spectrum_grid(n: usize) -> (Vec<f64>, Tensor, Tensor) {
    let mut k = fftfreq(n, 1.0).to_vec();
    k[0] = f64::INFINITY;
    let abs_k: Vec<f64> = k.iter().map(|v| v.abs()).collect();
    let ln_k = abs_k.iter().map(|v| if v.is_finite() { v.ln() } else { 0.0 });
    let mask = abs_k.iter().map(|v| if v.is_finite() { 1.0 } else { 0.0 });
    (
        abs_k.clone(),
        Tensor::from(ln_k.collect::<Vec<f64>>()),
        Tensor::from(mask.collect::<Vec<f64>>()),
    )
}

/// `sqrt(|k|^alpha) = exp(alpha/2 ln |k|)`, zero at `k = 0`.
fn amplitude(n: usize, alpha: &Tensor) -> Tensor {
    let (_, ln_k, mask) = spectrum_grid(n);
    (alpha * &ln_k * 0.5).exp() * &mask
}

fn field(alpha: &Tensor, xi: &Tensor) -> Tensor {
    let f = fft(&(amplitude(xi.len(), alpha) * xi));
    f.re() - f.im()
}

fn xi(n: usize) -> Tensor {
    Tensor::from(
        (0..n)
            .map(|i| (0.9 * i as f64 + 0.4).sin() * 1.3)
            .collect::<Vec<f64>>(),
    )
}

#[test]
fn field_values_match_a_direct_sum() {
    // out_m = sum_j a_j xi_j cas(2 pi jm/n) with a_j = |k_j|^(alpha/2), a_0 = 0.
    let (n, alpha) = (9, -3.0);
    let (abs_k, _, _) = spectrum_grid(n);
    let xi = xi(n);
    let out = field(&Tensor::scalar(alpha), &xi);
    for m in 0..n {
        let direct: f64 = (1..n)
            .map(|j| {
                let t = 2.0 * std::f64::consts::PI * (j * m) as f64 / n as f64;
                abs_k[j].powf(alpha / 2.0) * xi.as_slice()[j] * (t.cos() + t.sin())
            })
            .sum();
        assert!((out.as_slice()[m] - direct).abs() < 1e-12, "bin {m}");
    }
    let via_hartley = hartley(&(amplitude(n, &Tensor::scalar(alpha)) * &xi));
    assert_eq!(out.shape(), via_hartley.shape());
    assert!(
        out.as_slice()
            .iter()
            .zip(via_hartley.as_slice())
            .all(|(a, b)| (a - b).abs() < 1e-12)
    );
}

#[test]
fn field_gradients_are_finite_and_correct() {
    let (n, alpha) = (8, Tensor::scalar(-2.5));
    let w = Tensor::from((0..n).map(|i| 1.0 + 0.3 * i as f64).collect::<Vec<f64>>());
    // out = H(a xi) with H symmetric, so d sum(w out)/d xi = a H(w).
    let g = grad(|xi: &Tensor| (field(&alpha, xi) * &w).sum(), &xi(n));
    let expected = amplitude(n, &alpha) * hartley(&w);
    assert!(g.as_slice().iter().all(|v| v.is_finite()));
    assert_eq!(g.as_slice()[0], 0.0, "the zero mode has no amplitude");
    assert!(
        g.as_slice()
            .iter()
            .zip(expected.as_slice())
            .all(|(a, b)| (a - b).abs() < 1e-12)
    );
    check_grad(|x| field(&x[0], &x[1]), &[alpha, xi(n)]).assert_ok_for("field");
}
