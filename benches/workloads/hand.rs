//! The models of `models.rs` written by hand: value and gradient in plain
//! loops over slices, with the data's constants computed once, as a careful
//! programmer would write them. They are the practical limit the compiled
//! models are measured against (and checked against, value and gradient,
//! before anything is timed).

use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// The mean and scale of `ln v` for a log-normal variable `v` of the given
/// mean and standard deviation, as `log_normal_variable!` computes them.
fn log_normal_parameters(mean: f64, sigma: f64) -> (f64, f64) {
    let log_variance = ((sigma / mean) * (sigma / mean)).ln_1p();
    (mean.ln() - log_variance * 0.5, (log_variance.ln() * 0.5).exp())
}

/// A Gaussian mixture's data: `n` points of `d` coordinates, row by row.
pub struct Mixture {
    pub d: usize,
    pub k: usize,
    pub n: usize,
    pub x: Vec<f64>,
}

impl Mixture {
    /// The log-likelihood and its gradient, in the layout of
    /// `mixture::Params` (means, log_diag, off_diag, logits).
    pub fn value_and_grad(&self, params: &[f64], grad: &mut [f64]) -> f64 {
        let (d, k, n) = (self.d, self.k, self.n);
        let (means, rest) = params.split_at(k * d);
        let (log_diag, rest) = rest.split_at(k * d);
        let (off_diag, logits) = rest.split_at(k * d * d);
        let factors = self.factors(log_diag, off_diag);
        let log_weights = log_softmax(logits);
        let mut log_p = vec![0.0; k * n];
        let (mut diff, mut z) = (vec![0.0; d], vec![0.0; d]);
        for c in 0..k {
            let norm =
                log_diag[c * d..(c + 1) * d].iter().sum::<f64>() + log_weights[c] - 0.5 * d as f64 * LN_2PI;
            for p in 0..n {
                self.project(c, p, means, &factors, &mut diff, &mut z);
                log_p[c * n + p] = -0.5 * z.iter().map(|v| v * v).sum::<f64>() + norm;
            }
        }
        let value = responsibilities(&mut log_p, k, n);
        grad.fill(0.0);
        let (g_means, rest) = grad.split_at_mut(k * d);
        let (g_log_diag, rest) = rest.split_at_mut(k * d);
        let (g_off, g_logits) = rest.split_at_mut(k * d * d);
        let mut d_factor = vec![0.0; d * d];
        for c in 0..k {
            d_factor.fill(0.0);
            let l = &factors[c * d * d..(c + 1) * d * d];
            let mut total = 0.0;
            for p in 0..n {
                let r = log_p[c * n + p];
                total += r;
                self.project(c, p, means, &factors, &mut diff, &mut z);
                for i in 0..d {
                    let row = &l[i * d..i * d + i + 1];
                    let d_diff: f64 = row.iter().zip(&z).map(|(a, b)| a * b).sum::<f64>() * -r;
                    g_means[c * d + i] -= d_diff;
                    let scale = -r * diff[i];
                    for (g, zj) in d_factor[i * d..i * d + i + 1].iter_mut().zip(&z) {
                        *g += scale * zj;
                    }
                }
            }
            for i in 0..d {
                g_off[c * d * d + i * d..c * d * d + i * d + i].copy_from_slice(&d_factor[i * d..i * d + i]);
                g_log_diag[c * d + i] = total + d_factor[i * d + i] * l[i * d + i];
            }
            g_logits[c] = total - n as f64 * log_weights[c].exp();
        }
        value
    }

    /// Each component's factor, row-major, zero above the diagonal.
    fn factors(&self, log_diag: &[f64], off_diag: &[f64]) -> Vec<f64> {
        let d = self.d;
        let mut l = vec![0.0; self.k * d * d];
        for c in 0..self.k {
            for i in 0..d {
                let at = c * d * d + i * d;
                l[at..at + i].copy_from_slice(&off_diag[at..at + i]);
                l[at + i] = log_diag[c * d + i].exp();
            }
        }
        l
    }

    /// `diff = x_p - mu_c` and `z = L_c^T diff`.
    fn project(&self, c: usize, p: usize, means: &[f64], factors: &[f64], diff: &mut [f64], z: &mut [f64]) {
        let d = self.d;
        let (x, mu, l) = (
            &self.x[p * d..(p + 1) * d],
            &means[c * d..(c + 1) * d],
            &factors[c * d * d..],
        );
        for ((o, a), b) in diff.iter_mut().zip(x).zip(mu) {
            *o = a - b;
        }
        z.fill(0.0);
        for i in 0..d {
            for (zj, lij) in z[..=i].iter_mut().zip(&l[i * d..i * d + i + 1]) {
                *zj += diff[i] * lij;
            }
        }
    }
}

fn log_softmax(logits: &[f64]) -> Vec<f64> {
    let max = logits.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
    let log_sum = logits.iter().map(|v| (v - max).exp()).sum::<f64>().ln() + max;
    logits.iter().map(|v| v - log_sum).collect()
}

/// The sum over points of the log-sum-exp over components of `log_p`
/// (`[k][n]`), which is replaced by the responsibilities.
fn responsibilities(log_p: &mut [f64], k: usize, n: usize) -> f64 {
    let mut value = 0.0;
    for p in 0..n {
        let max = (0..k).fold(f64::NEG_INFINITY, |m, c| m.max(log_p[c * n + p]));
        let sum: f64 = (0..k).map(|c| (log_p[c * n + p] - max).exp()).sum();
        value += max + sum.ln();
        for c in 0..k {
            log_p[c * n + p] = (log_p[c * n + p] - max).exp() / sum;
        }
    }
    value
}

/// Logistic regression's data: a `rows` by `cols` design, row by row, and
/// the outcomes.
pub struct Logistic {
    pub cols: usize,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

impl Logistic {
    /// The log-likelihood and its gradient (beta, then the intercept), in
    /// one pass over the design matrix.
    pub fn value_and_grad(&self, params: &[f64], grad: &mut [f64]) -> f64 {
        let (beta, b) = (&params[..self.cols], params[self.cols]);
        grad.fill(0.0);
        let (g_beta, g_b) = grad.split_at_mut(self.cols);
        let mut value = 0.0;
        for (row, &y) in self.x.chunks_exact(self.cols).zip(&self.y) {
            let eta = row.iter().zip(beta).map(|(a, b)| a * b).sum::<f64>() + b;
            let e = (-eta.abs()).exp();
            value += y * eta - (eta.max(0.0) + e.ln_1p());
            let sigmoid = if eta >= 0.0 {
                1.0 / (1.0 + e)
            } else {
                e / (1.0 + e)
            };
            let r = y - sigmoid;
            for (g, a) in g_beta.iter_mut().zip(row) {
                *g += r * a;
            }
            g_b[0] += r;
        }
        value
    }
}

/// The hierarchical model's data, with `1 / sigma` and the normalising
/// constant computed once.
pub struct Hierarchical {
    y: Vec<f64>,
    inv_sigma: Vec<f64>,
    constant: f64,
    tau_prior: (f64, f64),
}

impl Hierarchical {
    pub fn new(y: Vec<f64>, sigma: &[f64]) -> Hierarchical {
        let constant = -sigma.iter().map(|s| s.ln() + 0.5 * LN_2PI).sum::<f64>();
        Hierarchical {
            y,
            inv_sigma: sigma.iter().map(|s| 1.0 / s).collect(),
            constant,
            tau_prior: log_normal_parameters(5.0, 5.0),
        }
    }

    /// The log-likelihood and its gradient (mu, tau, eta).
    pub fn value_and_grad(&self, params: &[f64], grad: &mut [f64]) -> f64 {
        let (m, s) = self.tau_prior;
        let mu = 5.0 * params[0];
        let tau = (m + s * params[1]).exp();
        let (head, g_eta) = grad.split_at_mut(2);
        let (mut value, mut d_mu, mut d_tau) = (self.constant, 0.0, 0.0);
        for (((g, &eta), &y), &w) in g_eta
            .iter_mut()
            .zip(&params[2..])
            .zip(&self.y)
            .zip(&self.inv_sigma)
        {
            let z = (y - mu - tau * eta) * w;
            value -= 0.5 * z * z;
            let d_theta = z * w;
            d_mu += d_theta;
            d_tau += d_theta * eta;
            *g = tau * d_theta;
        }
        head[0] = 5.0 * d_mu;
        head[1] = d_tau * tau * s;
        value
    }
}

/// The log-normal field's data, with `ln |k|` on the grid and the inverse
/// transforms along each axis planned once.
pub struct Field {
    dims: Vec<usize>,
    log_k: Vec<f64>,
    data: Vec<f64>,
    plans: Vec<Arc<dyn Fft<f64>>>,
    alpha_prior: (f64, f64),
}

impl Field {
    pub fn new(dims: &[usize], k: &[f64], data: Vec<f64>) -> Field {
        let mut planner = FftPlanner::new();
        Field {
            dims: dims.to_vec(),
            log_k: k.iter().map(|v| v.ln()).collect(),
            data,
            plans: dims.iter().map(|&n| planner.plan_fft_inverse(n)).collect(),
            alpha_prior: log_normal_parameters(3.0, 0.1),
        }
    }

    /// The log-likelihood and its gradient (alpha, then xi).
    pub fn value_and_grad(&self, params: &[f64], grad: &mut [f64]) -> f64 {
        let (m, s) = self.alpha_prior;
        let a = (m + s * params[0]).exp();
        let xi = &params[1..];
        let amplitude: Vec<f64> = self.log_k.iter().map(|l| (-a * l * 0.5).exp()).collect();
        let mut buffer: Vec<Complex64> = amplitude
            .iter()
            .zip(xi)
            .map(|(p, x)| Complex64::new(p * x, 0.0))
            .collect();
        self.inverse_transform(&mut buffer);
        let mut value = 0.0;
        for (b, &d) in buffer.iter_mut().zip(&self.data) {
            let f = b.re.exp();
            value -= 0.5 * (f - d) * (f - d);
            *b = Complex64::new(-(f - d) * f, 0.0);
        }
        // The adjoint of `Re(ifftn(.))` on real values is the same map.
        self.inverse_transform(&mut buffer);
        let (head, g_xi) = grad.split_at_mut(1);
        let mut d_alpha = 0.0;
        for ((((g, b), p), x), l) in g_xi
            .iter_mut()
            .zip(&buffer)
            .zip(&amplitude)
            .zip(xi)
            .zip(&self.log_k)
        {
            *g = b.re * p;
            if *p != 0.0 {
                d_alpha += b.re * x * p * l * 0.5;
            }
        }
        head[0] = -d_alpha * a * s;
        value
    }

    /// The normalised inverse transform along every axis, in place.
    fn inverse_transform(&self, buffer: &mut [Complex64]) {
        let total = buffer.len();
        let mut lane = Vec::new();
        for (axis, plan) in self.plans.iter().enumerate() {
            let n = self.dims[axis];
            let stride: usize = self.dims[axis + 1..].iter().product();
            if stride == 1 {
                plan.process(buffer);
                continue;
            }
            lane.resize(n, Complex64::new(0.0, 0.0));
            for outer in 0..total / (n * stride) {
                for inner in 0..stride {
                    let start = outer * n * stride + inner;
                    for (t, v) in lane.iter_mut().enumerate() {
                        *v = buffer[start + t * stride];
                    }
                    plan.process(&mut lane);
                    for (t, v) in lane.iter().enumerate() {
                        buffer[start + t * stride] = *v;
                    }
                }
            }
        }
        let scale = 1.0 / total as f64;
        for b in buffer.iter_mut() {
            *b *= scale;
        }
    }
}
