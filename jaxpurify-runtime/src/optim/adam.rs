//! The Adam optimizer (Kingma and Ba, 2015) on flat parameter vectors.

/// Adam: gradient descent scaled per coordinate by running estimates of the
/// gradient's first and second moments, with bias correction.
///
/// At step `t` (from 1), with gradient `g`:
/// `m = beta1 m + (1 - beta1) g`, `v = beta2 v + (1 - beta2) g^2`,
/// `m_hat = m / (1 - beta1^t)`, `v_hat = v / (1 - beta2^t)`, and
/// `params -= learning_rate * m_hat / (sqrt(v_hat) + eps)`, as in the paper,
/// optax's `adam` and PyTorch's `Adam` (with `eps` outside the root). The
/// moments start at zero and are sized by the first step.
///
/// The hyperparameters are public fields, so a schedule may change the
/// learning rate between steps.
///
/// ```
/// use jaxpurify_runtime::optim::Adam;
/// // Minimise (x - 3)^2 from x = 0.
/// let mut adam = Adam::new(0.1);
/// let mut x = [0.0];
/// for _ in 0..2000 {
///     let gradient = [2.0 * (x[0] - 3.0)];
///     adam.step(&mut x, &gradient);
/// }
/// assert!((x[0] - 3.0).abs() < 1e-6);
/// ```
#[derive(Clone, Debug)]
pub struct Adam {
    /// Step size.
    pub learning_rate: f64,
    /// Decay of the first-moment (mean) estimate, in `[0, 1)`.
    pub beta1: f64,
    /// Decay of the second-moment (uncentred variance) estimate, in `[0, 1)`.
    pub beta2: f64,
    /// Added to the root of the second moment to avoid dividing by zero.
    pub eps: f64,
    first_moment: Vec<f64>,
    second_moment: Vec<f64>,
    steps_taken: u64,
}

impl Adam {
    /// Adam with the given learning rate and the usual defaults `beta1 = 0.9`,
    /// `beta2 = 0.999`, `eps = 1e-8` (the paper's, optax's and PyTorch's).
    pub fn new(learning_rate: f64) -> Adam {
        Adam {
            learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            first_moment: Vec::new(),
            second_moment: Vec::new(),
            steps_taken: 0,
        }
    }

    /// How many steps have been taken.
    pub fn steps_taken(&self) -> u64 {
        self.steps_taken
    }

    /// Updates `params` in place with one Adam step for their gradient `grad`.
    ///
    /// # Panics
    /// When `grad` and `params` differ in length, the length differs from the
    /// first step's, or a beta is outside `[0, 1)` (bias correction would
    /// divide by zero).
    #[track_caller]
    pub fn step(&mut self, params: &mut [f64], grad: &[f64]) {
        assert!(
            params.len() == grad.len(),
            "Adam::step: {} gradients for {} parameters",
            grad.len(),
            params.len()
        );
        assert!(
            (0.0..1.0).contains(&self.beta1) && (0.0..1.0).contains(&self.beta2),
            "Adam::step: betas must lie in [0, 1), got {} and {}",
            self.beta1,
            self.beta2
        );
        if self.steps_taken == 0 {
            self.first_moment = vec![0.0; params.len()];
            self.second_moment = vec![0.0; params.len()];
        }
        assert!(
            params.len() == self.first_moment.len(),
            "Adam::step: {} parameters, but the optimizer was started on {}",
            params.len(),
            self.first_moment.len()
        );
        self.steps_taken += 1;
        let t = self.steps_taken as f64;
        let first_correction = 1.0 - self.beta1.powf(t);
        let second_correction = 1.0 - self.beta2.powf(t);
        let moments = self.first_moment.iter_mut().zip(self.second_moment.iter_mut());
        for ((p, &g), (m, v)) in params.iter_mut().zip(grad).zip(moments) {
            *m = self.beta1 * *m + (1.0 - self.beta1) * g;
            *v = self.beta2 * *v + (1.0 - self.beta2) * g * g;
            let m_hat = *m / first_correction;
            let v_hat = *v / second_correction;
            *p -= self.learning_rate * m_hat / (v_hat.sqrt() + self.eps);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Adam;
    use crate::{Tensor, value_and_grad};

    #[test]
    fn first_two_steps_by_hand() {
        // lr = 0.1, betas 0.9 and 0.999, eps = 1e-8, params [1, -1].
        // Step 1, g = [0.5, -2]: m = [0.05, -0.2], v = [0.00025, 0.004];
        // corrections 1 - 0.9 = 0.1 and 1 - 0.999 = 0.001 give m_hat = g,
        // v_hat = g^2, so each parameter moves by lr * g / (|g| + eps).
        let mut adam = Adam::new(0.1);
        let mut params = [1.0, -1.0];
        adam.step(&mut params, &[0.5, -2.0]);
        let after_one = [1.0 - 0.1 * 0.5 / (0.5 + 1e-8), -1.0 + 0.1 * 2.0 / (2.0 + 1e-8)];
        assert!((params[0] - after_one[0]).abs() < 1e-15 && (params[1] - after_one[1]).abs() < 1e-15);
        // Step 2, g = [1, 2]: m = 0.9 m + 0.1 g = [0.145, 0.02],
        // v = 0.999 v + 0.001 g^2 = [0.00124975, 0.007996]; corrections
        // 1 - 0.81 = 0.19 and 1 - 0.998001 = 0.001999.
        adam.step(&mut params, &[1.0, 2.0]);
        let m_hat = [0.145 / 0.19, 0.02 / 0.19];
        let v_hat: [f64; 2] = [0.00124975 / 0.001999, 0.007996 / 0.001999];
        for k in 0..2 {
            let expected = after_one[k] - 0.1 * m_hat[k] / (v_hat[k].sqrt() + 1e-8);
            assert!(
                (params[k] - expected).abs() < 1e-13,
                "parameter {k}: {} vs {expected}",
                params[k]
            );
        }
        // The second parameter's gradient changed sign, so its mean nearly
        // cancelled: it moves by only 0.1 * 0.105 / 2.
        assert!((params[1] - after_one[1] + 0.1 * (0.02 / 0.19) / 2.0).abs() < 1e-8);
        assert_eq!(adam.steps_taken(), 2);
    }

    #[test]
    fn minimises_a_badly_scaled_quadratic() {
        // f = sum_i a_i (x_i - c_i)^2 with curvatures spanning 1e4: Adam's
        // per-coordinate scaling makes each coordinate converge alike.
        let a = [100.0, 1.0, 0.01];
        let c = [1.0, -2.0, 0.5];
        let mut x = [0.0; 3];
        let mut adam = Adam::new(0.05);
        for _ in 0..5000 {
            let g: Vec<f64> = (0..3).map(|i| 2.0 * a[i] * (x[i] - c[i])).collect();
            adam.step(&mut x, &g);
        }
        for i in 0..3 {
            assert!((x[i] - c[i]).abs() < 1e-6, "coordinate {i}: {} vs {}", x[i], c[i]);
        }
    }

    #[test]
    fn minimises_rosenbrock_with_autodiff_gradients() {
        // f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, minimum 0 at (1, 1), from
        // the classic start (-1.2, 1) along its curved valley.
        let rosenbrock = |p: &Tensor| {
            let (x, y) = (p.select(0, 0), p.select(0, 1));
            let valley = &y - &x * &x;
            (1.0 - x).square() + valley.square() * 100.0
        };
        let mut params = vec![-1.2, 1.0];
        let mut adam = Adam::new(0.02);
        let mut value = f64::INFINITY;
        for _ in 0..6000 {
            let (v, g) = value_and_grad(rosenbrock, &Tensor::from(params.clone()));
            value = v.item();
            adam.step(&mut params, g.as_slice());
        }
        assert!(value < 1e-10, "f = {value} at {params:?}");
        assert!(
            (params[0] - 1.0).abs() < 1e-4 && (params[1] - 1.0).abs() < 1e-4,
            "{params:?}"
        );
    }

    #[test]
    #[should_panic(expected = "Adam::step: 3 parameters, but the optimizer was started on 2")]
    fn changing_the_parameter_count_is_rejected() {
        let mut adam = Adam::new(0.1);
        adam.step(&mut [0.0, 0.0], &[1.0, 1.0]);
        adam.step(&mut [0.0, 0.0, 0.0], &[1.0, 1.0, 1.0]);
    }

    #[test]
    #[should_panic(expected = "Adam::step: 1 gradients for 2 parameters")]
    fn gradient_of_the_wrong_length_is_rejected() {
        Adam::new(0.1).step(&mut [0.0, 0.0], &[1.0]);
    }
}
