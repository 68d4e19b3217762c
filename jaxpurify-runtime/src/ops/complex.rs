//! Complex values as a pair of real tensors, and their arithmetic.
//!
//! Every complex operation is built from real tensor ops, so it is
//! differentiable to any order with no complex-specific autodiff: the
//! gradient of a real loss with respect to a [`Complex`] input is the pair
//! `(dL/d re, dL/d im)`. Transforms that need both parts at once (the FFTs)
//! work on a *packed* real tensor of shape `[2, ...]` (real part first),
//! reached through the private [`pack`] and [`component`] ops, which are each
//! other's adjoints.

use super::arith::{Zip, record_zip};
use crate::autodiff::graph::apply_op;
use crate::compile::kernel::Kernel;
use crate::shape::{Shape, broadcast_shapes};
use crate::tensor::Tensor;
use smallvec::smallvec;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// A complex tensor: real and imaginary parts of equal shape.
///
/// Arithmetic (`+ - * /`) works between complex tensors and with real
/// tensors and `f64` on either side, with NumPy broadcasting.
///
/// ```
/// use jaxpurify_runtime::{Complex, Tensor};
/// let z = Complex::new([1.0, 0.0], [0.0, 1.0]); // [1, i]
/// let w = &z * &z; // [1, -1]
/// assert_eq!(w.re().to_vec(), vec![1.0, -1.0]);
/// assert_eq!(w.im().to_vec(), vec![0.0, 0.0]);
/// assert_eq!((&z * 2.0 + 1.0).re().to_vec(), vec![3.0, 1.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Complex {
    re: Tensor,
    im: Tensor,
}

impl Complex {
    /// The complex tensor `re + i im`; the two parts are broadcast to a common
    /// shape.
    ///
    /// # Panics
    /// When the shapes of the parts do not broadcast.
    #[track_caller]
    pub fn new(re: impl Into<Tensor>, im: impl Into<Tensor>) -> Complex {
        let (re, im) = (re.into(), im.into());
        if re.shape() == im.shape() {
            return Complex { re, im };
        }
        // Not `unwrap_or_else`: a closure would not pass on the caller's location.
        let Some(shape) = broadcast_shapes(re.shape(), im.shape()) else {
            panic!(
                "Complex::new: shapes {} and {} do not broadcast",
                re.shape(),
                im.shape()
            );
        };
        Complex {
            re: re.broadcast_to(shape.clone()),
            im: im.broadcast_to(shape),
        }
    }

    /// `r e^{i theta} = r cos(theta) + i r sin(theta)`, broadcasting `r` and
    /// `theta`.
    ///
    /// ```
    /// use jaxpurify_runtime::{Complex, Tensor};
    /// let z = Complex::from_polar(&Tensor::scalar(2.0), &Tensor::scalar(0.0));
    /// assert_eq!((z.re().item(), z.im().item()), (2.0, 0.0));
    /// ```
    #[track_caller]
    pub fn from_polar(r: &Tensor, theta: &Tensor) -> Complex {
        Complex::new(r * theta.cos(), r * theta.sin())
    }

    /// The real part.
    pub fn re(&self) -> &Tensor {
        &self.re
    }

    /// The imaginary part.
    pub fn im(&self) -> &Tensor {
        &self.im
    }

    /// The real and imaginary parts.
    pub fn into_parts(self) -> (Tensor, Tensor) {
        (self.re, self.im)
    }

    /// The shape of either part.
    pub fn shape(&self) -> &Shape {
        self.re.shape()
    }

    /// The complex conjugate `re - i im`.
    ///
    /// ```
    /// use jaxpurify_runtime::Complex;
    /// assert_eq!(Complex::new(1.0, 2.0).conj().im().item(), -2.0);
    /// ```
    pub fn conj(&self) -> Complex {
        Complex {
            re: self.re.clone(),
            im: -&self.im,
        }
    }

    /// The squared modulus `re^2 + im^2`, smooth everywhere.
    ///
    /// ```
    /// use jaxpurify_runtime::Complex;
    /// assert_eq!(Complex::new(3.0, 4.0).abs2().item(), 25.0);
    /// ```
    pub fn abs2(&self) -> Tensor {
        &self.re * &self.re + &self.im * &self.im
    }

    /// The modulus `|z| = sqrt(re^2 + im^2)`, computed without overflow.
    ///
    /// Its derivative is `(re, im) / |z|`. At `z = 0` the modulus has a cone
    /// point; the gradient there is the subgradient 0 (the centre of the unit
    /// disc of subgradients), so it stays finite. Use [`abs2`](Complex::abs2)
    /// where a smooth function will do.
    ///
    /// ```
    /// use jaxpurify_runtime::{grad, Complex, Tensor};
    /// assert_eq!(Complex::new(3.0, 4.0).abs().item(), 5.0);
    /// let g = grad(|re: &Tensor| Complex::new(re, 0.0).abs().sum(), &Tensor::from([0.0, -2.0]));
    /// assert_eq!(g.to_vec(), vec![0.0, -1.0]);
    /// ```
    pub fn abs(&self) -> Tensor {
        let kernel = Zip::new("complex_abs", &self.re, &self.im, f64::hypot);
        // d|z| = (re d re + im d im) / |z|
        record_zip(
            kernel,
            &self.re,
            &self.im,
            move |c| {
                // Adding 1 where |z| = 0 makes re / |z| = 0 / 1 there: the zero
                // subgradient, with no NaN; elsewhere the offset is 0.
                let zero_offset = c
                    .output
                    .map_constant("modulus_zero", |m| if m == 0.0 { 1.0 } else { 0.0 });
                let safe_modulus = c.output + &zero_offset;
                smallvec![
                    c.needs(0).then(|| c.grad * &c.inputs[0] / &safe_modulus),
                    c.needs(1).then(|| c.grad * &c.inputs[1] / &safe_modulus),
                ]
            },
            None,
        )
    }

    /// `e^z = e^re (cos im + i sin im)`.
    ///
    /// ```
    /// use jaxpurify_runtime::Complex;
    /// let z = Complex::new(0.0, std::f64::consts::PI).exp();
    /// assert_eq!(z.re().item(), -1.0);
    /// ```
    pub fn exp(&self) -> Complex {
        let magnitude = self.re.exp();
        Complex {
            re: &magnitude * self.im.cos(),
            im: magnitude * self.im.sin(),
        }
    }

    /// Applies a real-linear map that acts on each part alike (a reshape, a
    /// shift, a sum) to both parts.
    ///
    /// ```
    /// use jaxpurify_runtime::{Complex, Tensor};
    /// let z = Complex::new([1.0, 2.0], [3.0, 4.0]).map(Tensor::sum);
    /// assert_eq!((z.re().item(), z.im().item()), (3.0, 7.0));
    /// ```
    #[track_caller]
    pub fn map(&self, f: impl Fn(&Tensor) -> Tensor) -> Complex {
        Complex::new(f(&self.re), f(&self.im))
    }

    /// Both parts in one real tensor of shape `[2, ...shape]`, recorded.
    pub(crate) fn pack(&self) -> Tensor {
        pack(&self.re, &self.im)
    }

    /// The inverse of [`pack`](Complex::pack), recorded.
    pub(crate) fn unpack(packed: &Tensor) -> Complex {
        Complex {
            re: component(packed, 0),
            im: component(packed, 1),
        }
    }
}

/// `[re, im]` stacked along a new leading axis of size 2. The parts must have
/// the same shape.
fn pack(re: &Tensor, im: &Tensor) -> Tensor {
    debug_assert_eq!(re.shape(), im.shape());
    let kernel = Stacked { given: [true, true] };
    // Packing only moves values, so its adjoint splits the gradient back.
    apply_op(&kernel, &[re, im], packed_shape(re.shape()), |c| {
        smallvec![
            c.needs(0).then(|| component(c.grad, 0)),
            c.needs(1).then(|| component(c.grad, 1)),
        ]
    })
}

/// The shape `[2, ...shape]` of a packed tensor.
fn packed_shape(shape: &Shape) -> Shape {
    let mut packed = Shape::from(2);
    for &d in shape.iter() {
        packed.push(d);
    }
    packed
}

/// The kernel of [`pack`] and [`embed`]: the two parts stacked along a new
/// leading axis of size 2, zeros for a part not `given`. The inputs are the
/// parts given, of one shape.
#[derive(Clone)]
struct Stacked {
    given: [bool; 2],
}

impl Kernel for Stacked {
    fn name(&self) -> &'static str {
        "pack"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let mut parts = inputs.iter();
        for (half, given) in out.chunks_exact_mut(out.len() / 2).zip(self.given) {
            match given {
                true => half.copy_from_slice(parts.next().expect("a given part")),
                false => half.fill(0.0),
            }
        }
    }
}

/// The kernel of [`component`]: half `k` of a packed tensor.
#[derive(Clone)]
struct Component {
    k: usize,
}

impl Kernel for Component {
    fn name(&self) -> &'static str {
        "unpack"
    }

    fn run(&self, inputs: &[&[f64]], out: &mut [f64]) {
        let numel = out.len();
        out.copy_from_slice(&inputs[0][self.k * numel..(self.k + 1) * numel]);
    }

    fn view(&self, input_len: usize) -> Option<std::ops::Range<usize>> {
        let numel = input_len / 2;
        Some(self.k * numel..(self.k + 1) * numel)
    }
}

/// Part `k` (0 real, 1 imaginary) of a packed `[2, ...]` tensor.
fn component(packed: &Tensor, k: usize) -> Tensor {
    let shape = Shape::from(&packed.shape()[1..]);
    apply_op(&Component { k }, &[packed], shape, move |c| {
        smallvec![Some(embed(c.grad, k))]
    })
}

/// `t` as part `k` of a packed `[2, ...]` tensor whose other part is zero:
/// the adjoint of [`component`], and `component` is its adjoint.
fn embed(t: &Tensor, k: usize) -> Tensor {
    let kernel = Stacked {
        given: [k == 0, k == 1],
    };
    apply_op(&kernel, &[t], packed_shape(t.shape()), move |c| {
        smallvec![Some(component(c.grad, k))]
    })
}

impl From<Tensor> for Complex {
    /// A real tensor as a complex one with zero imaginary part.
    fn from(re: Tensor) -> Complex {
        let im = re.detach().zeros_like();
        Complex { re, im }
    }
}

impl From<&Tensor> for Complex {
    /// A real tensor as a complex one with zero imaginary part.
    fn from(re: &Tensor) -> Complex {
        Complex::from(re.clone())
    }
}

impl From<&Complex> for Complex {
    fn from(z: &Complex) -> Complex {
        z.clone()
    }
}

/// One side of a complex binary operator, so that each operator has a single
/// implementation for every mix of complex, real and `f64` operands.
enum Operand {
    Real(Tensor),
    Complex(Complex),
}

impl From<&Complex> for Operand {
    fn from(z: &Complex) -> Operand {
        Operand::Complex(z.clone())
    }
}

impl From<Complex> for Operand {
    fn from(z: Complex) -> Operand {
        Operand::Complex(z)
    }
}

impl From<&Tensor> for Operand {
    fn from(t: &Tensor) -> Operand {
        Operand::Real(t.clone())
    }
}

impl From<Tensor> for Operand {
    fn from(t: Tensor) -> Operand {
        Operand::Real(t)
    }
}

impl From<f64> for Operand {
    fn from(v: f64) -> Operand {
        Operand::Real(Tensor::scalar(v))
    }
}

const REAL_PAIR: &str = "a complex operator always has a complex operand";

#[track_caller]
fn add(a: Operand, b: Operand) -> Complex {
    match (a, b) {
        (Operand::Complex(a), Operand::Complex(b)) => Complex::new(a.re + b.re, a.im + b.im),
        (Operand::Complex(z), Operand::Real(t)) | (Operand::Real(t), Operand::Complex(z)) => {
            Complex::new(z.re + t, z.im)
        }
        (Operand::Real(_), Operand::Real(_)) => unreachable!("{REAL_PAIR}"),
    }
}

#[track_caller]
fn sub(a: Operand, b: Operand) -> Complex {
    match (a, b) {
        (Operand::Complex(a), Operand::Complex(b)) => Complex::new(a.re - b.re, a.im - b.im),
        (Operand::Complex(z), Operand::Real(t)) => Complex::new(z.re - t, z.im),
        (Operand::Real(t), Operand::Complex(z)) => Complex::new(t - z.re, -z.im),
        (Operand::Real(_), Operand::Real(_)) => unreachable!("{REAL_PAIR}"),
    }
}

#[track_caller]
fn mul(a: Operand, b: Operand) -> Complex {
    match (a, b) {
        // (a + ib)(c + id) = (ac - bd) + i(ad + bc)
        (Operand::Complex(a), Operand::Complex(b)) => {
            Complex::new(&a.re * &b.re - &a.im * &b.im, &a.re * &b.im + &a.im * &b.re)
        }
        (Operand::Complex(z), Operand::Real(t)) | (Operand::Real(t), Operand::Complex(z)) => {
            Complex::new(z.re * &t, z.im * &t)
        }
        (Operand::Real(_), Operand::Real(_)) => unreachable!("{REAL_PAIR}"),
    }
}

#[track_caller]
fn div(a: Operand, b: Operand) -> Complex {
    match (a, b) {
        // a / b = a conj(b) / |b|^2
        (Operand::Complex(a), Operand::Complex(b)) => {
            let denominator = b.abs2();
            mul(Operand::Complex(a), Operand::Complex(b.conj())) / denominator
        }
        (Operand::Complex(z), Operand::Real(t)) => Complex::new(z.re / &t, z.im / &t),
        (Operand::Real(t), Operand::Complex(z)) => {
            let denominator = z.abs2();
            z.conj() * (t / denominator)
        }
        (Operand::Real(_), Operand::Real(_)) => unreachable!("{REAL_PAIR}"),
    }
}

macro_rules! complex_operator {
    ($trait:ident, $method:ident, $f:ident) => {
        complex_operator!(@each $trait, $method, $f:
            (&Complex, &Complex) (&Complex, Complex) (Complex, &Complex) (Complex, Complex)
            (&Complex, &Tensor) (&Complex, Tensor) (Complex, &Tensor) (Complex, Tensor)
            (&Tensor, &Complex) (&Tensor, Complex) (Tensor, &Complex) (Tensor, Complex)
            (&Complex, f64) (Complex, f64) (f64, &Complex) (f64, Complex));
    };
    (@each $trait:ident, $method:ident, $f:ident: $(($lhs:ty, $rhs:ty))*) => {
        $(
            impl $trait<$rhs> for $lhs {
                type Output = Complex;
                #[track_caller]
                fn $method(self, rhs: $rhs) -> Complex {
                    $f(self.into(), rhs.into())
                }
            }
        )*
    };
}

complex_operator!(Add, add, add);
complex_operator!(Sub, sub, sub);
complex_operator!(Mul, mul, mul);
complex_operator!(Div, div, div);

impl Neg for &Complex {
    type Output = Complex;
    fn neg(self) -> Complex {
        Complex {
            re: -&self.re,
            im: -&self.im,
        }
    }
}

impl Neg for Complex {
    type Output = Complex;
    fn neg(self) -> Complex {
        -&self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grad;
    use crate::testing::check_grad;

    fn both(z: &Complex) -> Tensor {
        z.pack()
    }

    fn sample(shift: f64) -> Tensor {
        Tensor::from([0.7 + shift, -1.3 + shift, 2.1 - shift])
    }

    #[test]
    fn arithmetic_matches_hand_computed_values() {
        // a = 1 + 2i, b = 3 - i:
        // a + b = 4 + i; a - b = -2 + 3i; a b = 3 - i + 6i + 2 = 5 + 5i;
        // a / b = a conj(b) / |b|^2 = (1 + 2i)(3 + i) / 10 = (1 + 7i) / 10.
        let (a, b) = (Complex::new(1.0, 2.0), Complex::new(3.0, -1.0));
        let parts = |z: Complex| (z.re().item(), z.im().item());
        assert_eq!(parts(&a + &b), (4.0, 1.0));
        assert_eq!(parts(&a - &b), (-2.0, 3.0));
        assert_eq!(parts(&a * &b), (5.0, 5.0));
        assert_eq!(parts(&a / &b), (0.1, 0.7));
        // 2 / (1 + 2i) = 2 (1 - 2i) / 5; 2 - a = 1 - 2i; a / 2 = 0.5 + i.
        assert_eq!(parts(2.0 / &a), (0.4, -0.8));
        assert_eq!(parts(2.0 - &a), (1.0, -2.0));
        assert_eq!(parts(&a / 2.0), (0.5, 1.0));
        assert_eq!(parts(-a.conj()), (-1.0, 2.0));
        assert_eq!(a.abs2().item(), 5.0);
    }

    #[test]
    fn real_operands_broadcast_against_complex_ones() {
        let z = Complex::new(Tensor::from([1.0, 2.0]), 0.5);
        assert_eq!(z.im().to_vec(), vec![0.5, 0.5]);
        let w = &z * &Tensor::from([[1.0], [-1.0]]);
        assert_eq!(w.shape(), &[2, 2]);
        assert_eq!(w.im().to_vec(), vec![0.5, 0.5, -0.5, -0.5]);
        let v = Tensor::from([[1.0], [2.0]]) + &z;
        assert_eq!(v.re().to_vec(), vec![2.0, 3.0, 3.0, 4.0]);
        assert_eq!(v.im().to_vec(), vec![0.5; 4]);
    }

    #[test]
    fn modulus_gradient_with_non_uniform_upstream() {
        // L = sum(w |z|), w = [1, 2], z = [3 + 4i, 0]:
        // dL/d re = w re / |z| = [0.6, 0] and dL/d im = w im / |z| = [0.8, 0],
        // the zero subgradient at z = 0.
        let w = Tensor::from([1.0, 2.0]);
        let (g_re, g_im) = grad(
            |p: &(Tensor, Tensor)| (Complex::new(&p.0, &p.1).abs() * &w).sum(),
            &(Tensor::from([3.0, 0.0]), Tensor::from([4.0, 0.0])),
        );
        assert_eq!(g_re.to_vec(), vec![0.6, 0.0]);
        assert_eq!(g_im.to_vec(), vec![0.8, 0.0]);
    }

    #[test]
    fn every_complex_operation_passes_the_gradient_check() {
        let inputs = [sample(0.0), sample(0.4), sample(1.1), sample(-0.3)];
        fn z(x: &[Tensor]) -> Complex {
            Complex::new(&x[0], &x[1])
        }
        fn w(x: &[Tensor]) -> Complex {
            Complex::new(&x[2], &x[3])
        }
        type Case = (&'static str, fn(&[Tensor]) -> Tensor);
        let cases: [Case; 11] = [
            ("add", |x| both(&(z(x) + w(x)))),
            ("sub", |x| both(&(z(x) - &x[2]))),
            ("mul", |x| both(&(z(x) * w(x)))),
            ("div", |x| both(&(z(x) / w(x)))),
            ("real / complex", |x| both(&(&x[2] / z(x)))),
            ("abs", |x| z(x).abs()),
            ("abs2", |x| z(x).abs2()),
            ("conj", |x| both(&z(x).conj())),
            ("exp", |x| both(&z(x).exp())),
            ("from_polar", |x| both(&Complex::from_polar(&x[0], &x[1]))),
            ("map", |x| both(&z(x).map(Tensor::sum))),
        ];
        for (name, f) in cases {
            check_grad(f, &inputs).assert_ok_for(name);
        }
    }

    #[test]
    fn second_derivative_of_the_modulus() {
        // grad |z| w.r.t. re is re / |z|; its own gradient is checked here.
        check_grad(
            |x| {
                let im = x[1].clone();
                grad(|re: &Tensor| Complex::new(re, &im).abs().sum(), &x[0])
            },
            &[sample(0.0), sample(0.5)],
        )
        .assert_ok_for("d|z|/d re");
    }

    #[test]
    fn packing_round_trips_and_is_differentiable() {
        let z = Complex::new(sample(0.0), sample(1.0));
        let packed = z.pack();
        assert_eq!(packed.shape(), &[2, 3]);
        assert_eq!(Complex::unpack(&packed), z);
        check_grad(
            |x| Complex::unpack(&x[0]).re() * 2.0 - Complex::unpack(&x[0]).im(),
            &[packed],
        )
        .assert_ok_for("unpack");
        // The second order runs the adjoint of the unpacking (`embed`)
        // under a gradient of its own.
        let w = Tensor::from([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]]);
        let weighted = |x: &Tensor| {
            let z = Complex::unpack(x);
            (z.re().square() * 2.0 - z.im().square()).sum()
        };
        check_grad(|x| grad(weighted, &x[0]) * &w, &[z.pack()]).assert_ok_for("unpack second order");
        assert_eq!(
            embed(&sample(0.0), 1).to_vec(),
            [vec![0.0; 3], sample(0.0).to_vec()].concat()
        );
    }

    #[test]
    #[should_panic(expected = "Complex::new: shapes [2] and [3] do not broadcast")]
    fn mismatched_parts_name_the_constructor() {
        let _ = Complex::new(Tensor::zeros([2]), Tensor::zeros([3]));
    }

    #[test]
    fn compiled_arithmetic_and_modulus_match_at_and_away_from_zero() {
        let loss = |p: &(Tensor, Tensor)| {
            let z = Complex::new(&p.0, &p.1);
            let mixed = &z * &z.conj().exp() / (&z + 2.0) - 0.5 * &z;
            // Through the packed form the FFTs use, and back.
            let round_trip = Complex::unpack(&(both(&mixed) * 3.0));
            round_trip.abs().sum() + (z.abs() * &p.0).sum() + Complex::from_polar(&p.0, &p.1).abs2().sum()
        };
        let direction = (sample(0.4), sample(-0.9));
        let f = |p: &(Tensor, Tensor)| {
            let (value, gradient) = crate::value_and_grad(loss, p);
            (value, gradient, crate::hvp(loss, p, &direction))
        };
        let at = (sample(0.0), sample(0.5));
        // |z| = 0 in the first element, where its gradient takes the zero
        // subgradient, and |z| > 0 in the others.
        let point = (Tensor::from([0.0, 1.5, -0.2]), Tensor::from([0.0, -0.4, 0.9]));
        crate::testing::assert_compiles_exactly(f, &at, &[point]);
    }
}
