//! Matrix products: `matmul` with NumPy's rules for vectors and batches, and
//! the vector products `dot`, `outer`, `inner` and `vecdot`.
//!
//! Every matrix product goes through one recorded op, [`matmul_t`], which
//! multiplies two stacks of matrices, each read as stored or transposed. Its
//! derivative is again `matmul_t` with other flags, so gradients of any order
//! never copy a transpose and this family needs no separate transpose op.

#[path = "matmul_batch.rs"]
mod batch;

use super::gemm::{MatVec, Outer, Product, VecMat};
use crate::autodiff::graph::apply_op_batched;
use crate::shape::{Shape, broadcast_shapes};
use crate::tensor::Tensor;
use smallvec::smallvec;

/// `op(a) @ op(b)` over broadcast batch dimensions, where `op` transposes the
/// last two dimensions of an operand whose flag is set. Both operands have at
/// least two dimensions.
#[track_caller]
pub(super) fn matmul_t(
    op: &'static str,
    a: &Tensor,
    b: &Tensor,
    transpose_a: bool,
    transpose_b: bool,
) -> Tensor {
    let kernel = Product::new(op, a, b, transpose_a, transpose_b);
    let shape = kernel.shape.clone();
    // C = op(A) op(B), G = dL/dC:  d op(A) = G op(B)^T  and  d op(B) = op(A)^T G.
    // Undoing op on the left-hand sides (X^T Y^T = (Y X)^T) gives, per flag:
    //   dA = G op(B)^T         or, when A is read transposed, op(B) G^T
    //   dB = op(A)^T G         or, when B is read transposed, G^T op(A)
    // Each is matmul_t again; operands whose batch was broadcast sum it back.
    let batch = match (transpose_a, transpose_b) {
        (false, false) => batch::product::<false, false>,
        (false, true) => batch::product::<false, true>,
        (true, false) => batch::product::<true, false>,
        (true, true) => batch::product::<true, true>,
    };
    apply_op_batched(
        &kernel,
        &[a, b],
        shape,
        move |c| {
            let (a, b, g) = (&c.inputs[0], &c.inputs[1], c.grad);
            let grad_a = || match transpose_a {
                false => matmul_t("matmul", g, b, false, !transpose_b),
                true => matmul_t("matmul", b, g, transpose_b, true),
            };
            let grad_b = || match transpose_b {
                false => matmul_t("matmul", a, g, !transpose_a, false),
                true => matmul_t("matmul", g, a, true, transpose_a),
            };
            smallvec![
                c.needs(0).then(|| grad_a().sum_to(a.shape())),
                c.needs(1).then(|| grad_b().sum_to(b.shape())),
            ]
        },
        batch,
    )
}

/// `a @ x` for a matrix and a vector, the layer of a small network: one
/// recorded op and one pass over the matrix, without promoting `x` to a
/// column and reshaping the product back.
pub(super) fn matvec(a: &Tensor, x: &Tensor) -> Tensor {
    let kernel = MatVec { k: x.numel() };
    // y = A x: dA = g x^T (an outer product), dx = A^T g = g @ A.
    apply_op_batched(
        &kernel,
        &[a, x],
        Shape::from(a.shape()[0]),
        |c| {
            let (a, x, g) = (&c.inputs[0], &c.inputs[1], c.grad);
            smallvec![c.needs(0).then(|| g.outer(x)), c.needs(1).then(|| g.matmul(a))]
        },
        batch::matvec,
    )
}

/// `x @ a` for a vector and a matrix (the transpose of [`matvec`], as in its
/// rule).
fn vecmat(x: &Tensor, a: &Tensor) -> Tensor {
    let n = a.shape()[1];
    // y = x A: dx = A g, dA = x g^T.
    apply_op_batched(
        &VecMat { n },
        &[x, a],
        Shape::from(n),
        |c| {
            let (x, a, g) = (&c.inputs[0], &c.inputs[1], c.grad);
            smallvec![c.needs(0).then(|| a.matmul(g)), c.needs(1).then(|| x.outer(g))]
        },
        batch::vecmat,
    )
}

/// Panics unless `a` and `b` are vectors of one length; `op` names the caller.
#[track_caller]
fn assert_equal_vectors(op: &str, a: &Tensor, b: &Tensor) {
    assert!(
        a.ndim() == 1 && b.ndim() == 1 && a.numel() == b.numel(),
        "{op}: expected two vectors of one length, got shapes {} and {}",
        a.shape(),
        b.shape()
    );
}

impl Tensor {
    /// The matrix product with NumPy's `matmul` rules: the last two dimensions
    /// are multiplied as matrices and the ones before them broadcast as a
    /// batch. A vector on the left is a row (`[k] @ [k, n]` is `[n]`), on the
    /// right a column (`[m, k] @ [k]` is `[m]`), and two vectors give their
    /// inner product as a scalar. `a.matmul(&b.t())` copies the transpose
    /// (tensors have no lazy views); [`inner`](Tensor::inner) computes the
    /// same product of matrices reading `b` in place.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let a = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
    /// let b = Tensor::from([[5.0, 6.0], [7.0, 8.0]]);
    /// assert_eq!(a.matmul(&b).to_vec(), vec![19.0, 22.0, 43.0, 50.0]);
    /// assert_eq!(a.matmul(&Tensor::from([1.0, 1.0])).to_vec(), vec![3.0, 7.0]);
    /// let batch = Tensor::ones([4, 3, 2]).matmul(&b);
    /// assert_eq!(batch.shape(), &[4, 3, 2]);
    /// ```
    ///
    /// # Panics
    /// When an operand is a scalar (use `*`), when the inner dimensions differ
    /// or when the batch dimensions do not broadcast, naming both shapes.
    #[track_caller]
    pub fn matmul(&self, other: &Tensor) -> Tensor {
        let (a_dims, b_dims) = (self.shape().dims(), other.shape().dims());
        assert!(
            !a_dims.is_empty() && !b_dims.is_empty(),
            "matmul: shapes {} and {} include a scalar, which has no matrix dimensions; use `*`",
            self.shape(),
            other.shape()
        );
        let k = a_dims[a_dims.len() - 1];
        let k_b = b_dims[b_dims.len().saturating_sub(2)];
        assert!(
            k == k_b,
            "matmul: shapes {} and {} do not align",
            self.shape(),
            other.shape()
        );
        if a_dims.len() == 2 && b_dims.len() == 1 {
            return matvec(self, other);
        }
        if a_dims.len() == 1 && b_dims.len() == 2 {
            return vecmat(self, other);
        }
        let a = if a_dims.len() == 1 {
            self.reshape([1, k])
        } else {
            self.clone()
        };
        let b = if b_dims.len() == 1 {
            other.reshape([k, 1])
        } else {
            other.clone()
        };
        let product = matmul_t("matmul", &a, &b, false, false);
        // Drop the row or column a vector operand was promoted with.
        let nd = product.ndim();
        let mut shape = Shape::from(&product.shape()[..nd - 2]);
        if a_dims.len() > 1 {
            shape.push(product.shape()[nd - 2]);
        }
        if b_dims.len() > 1 {
            shape.push(product.shape()[nd - 1]);
        }
        product.reshape(shape)
    }

    /// The inner product of two vectors of one length, as a scalar. For
    /// matrices use [`matmul`](Tensor::matmul); NumPy's `dot` on higher
    /// dimensions is not provided because its batch rule differs from
    /// `matmul`'s and is easy to misread.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let d = Tensor::from([1.0, 2.0, 3.0]).dot(&Tensor::from([4.0, 5.0, 6.0]));
    /// assert_eq!(d.item(), 32.0);
    /// ```
    ///
    /// # Panics
    /// Unless both operands are vectors of one length.
    #[track_caller]
    pub fn dot(&self, other: &Tensor) -> Tensor {
        assert_equal_vectors("dot", self, other);
        self.matmul(other)
    }

    /// The outer product of two vectors: `out[i, j] = self[i] * other[j]`.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let o = Tensor::from([1.0, 2.0]).outer(&Tensor::from([3.0, 4.0, 5.0]));
    /// assert_eq!(o.shape(), &[2, 3]);
    /// assert_eq!(o.to_vec(), vec![3.0, 4.0, 5.0, 6.0, 8.0, 10.0]);
    /// ```
    ///
    /// # Panics
    /// Unless both operands are vectors (of any lengths).
    #[track_caller]
    pub fn outer(&self, other: &Tensor) -> Tensor {
        assert!(
            self.ndim() == 1 && other.ndim() == 1,
            "outer: expected two vectors, got shapes {} and {}",
            self.shape(),
            other.shape()
        );
        let shape = Shape::from([self.numel(), other.numel()]);
        // O = a b^T: da = G b, db = G^T a = a G.
        apply_op_batched(
            &Outer,
            &[self, other],
            shape,
            |c| {
                let (a, b, g) = (&c.inputs[0], &c.inputs[1], c.grad);
                smallvec![c.needs(0).then(|| g.matmul(b)), c.needs(1).then(|| a.matmul(g))]
            },
            batch::outer,
        )
    }

    /// NumPy's `inner`: sums over the last dimension of both operands, giving
    /// the shape `self.shape[..-1] + other.shape[..-1]` (every pair of rows,
    /// with no broadcasting). For two matrices this is `self @ other^T`.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let a = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
    /// let rows = a.inner(&Tensor::from([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]));
    /// assert_eq!(rows.shape(), &[2, 3]);
    /// assert_eq!(rows.to_vec(), vec![1.0, 2.0, 3.0, 3.0, 4.0, 7.0]);
    /// ```
    ///
    /// # Panics
    /// When an operand is a scalar or the last dimensions differ.
    #[track_caller]
    pub fn inner(&self, other: &Tensor) -> Tensor {
        let (a_dims, b_dims) = (self.shape().dims(), other.shape().dims());
        assert!(
            !a_dims.is_empty() && !b_dims.is_empty() && a_dims.last() == b_dims.last(),
            "inner: shapes {} and {} do not align on their last dimension",
            self.shape(),
            other.shape()
        );
        let k = a_dims[a_dims.len() - 1];
        let (a_lead, b_lead) = (&a_dims[..a_dims.len() - 1], &b_dims[..b_dims.len() - 1]);
        let a = self.reshape([a_lead.iter().product(), k]);
        let b = other.reshape([b_lead.iter().product(), k]);
        let shape: Vec<usize> = a_lead.iter().chain(b_lead).copied().collect();
        matmul_t("inner", &a, &b, false, true).reshape(shape)
    }

    /// The inner product along the last dimension, broadcasting the others
    /// (NumPy's `vecdot` for real values): `[.., k]` with `[.., k]` gives `[..]`.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let rows = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(rows.vecdot(&Tensor::from([1.0, -1.0])).to_vec(), vec![-1.0, -1.0]);
    /// ```
    ///
    /// # Panics
    /// When an operand is a scalar, the last dimensions differ (they are
    /// contracted, not broadcast) or the other dimensions do not broadcast.
    #[track_caller]
    pub fn vecdot(&self, other: &Tensor) -> Tensor {
        let (a_dims, b_dims) = (self.shape().dims(), other.shape().dims());
        assert!(
            !a_dims.is_empty() && !b_dims.is_empty() && a_dims.last() == b_dims.last(),
            "vecdot: shapes {} and {} do not align on their last dimension",
            self.shape(),
            other.shape()
        );
        assert!(
            broadcast_shapes(&a_dims[..a_dims.len() - 1], &b_dims[..b_dims.len() - 1]).is_some(),
            "vecdot: shapes {} and {} do not broadcast",
            self.shape(),
            other.shape()
        );
        (self * other).sum_axes(&[-1], false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gemm::{DGEMM_MIN_WORK, Operand, PARALLEL_MIN_WORK};
    use crate::testing::check_grad;
    use crate::{grad, jvp};

    /// Distinct, non-repeating values so that a wrong index shows up.
    fn sample(shape: &[usize], shift: f64) -> Tensor {
        let n: usize = shape.iter().product();
        let data = (0..n).map(|i| (i as f64 * 0.37 + shift).sin() * 1.3).collect();
        Tensor::from_vec(data, shape).unwrap()
    }

    #[test]
    fn matrix_vector_products_equal_the_products_with_a_column_or_row() {
        // Small and large (past the dgemm threshold) shapes, and k = 0.
        for (m, k) in [(3, 4), (1, 5), (70, 90), (4, 0)] {
            let (a, x) = (sample(&[m, k], 0.1), sample(&[k], 0.7));
            let column = matmul_t("matmul", &a, &x.reshape([k, 1]), false, false);
            let y = a.matmul(&x);
            assert_eq!(y.shape(), &[m]);
            for (p, q) in y.as_slice().iter().zip(column.as_slice()) {
                assert!((p - q).abs() <= 1e-12 * (1.0 + q.abs()), "{m}x{k}: {p} vs {q}");
            }
        }
        for (k, n) in [(4, 3), (5, 1), (90, 70), (0, 4)] {
            let (x, a) = (sample(&[k], 0.7), sample(&[k, n], 0.1));
            let row = matmul_t("matmul", &x.reshape([1, k]), &a, false, false);
            let y = x.matmul(&a);
            assert_eq!(y.shape(), &[n]);
            for (p, q) in y.as_slice().iter().zip(row.as_slice()) {
                assert!((p - q).abs() <= 1e-12 * (1.0 + q.abs()), "{k}x{n}: {p} vs {q}");
            }
        }
        let (a, x) = (sample(&[3, 4], 0.1), sample(&[4], 0.7));
        check_grad(|v| v[0].matmul(&v[1]).sin(), &[a.clone(), x.clone()]).assert_ok_for("matvec");
        check_grad(|v| v[1].matmul(&v[0].t()).sin(), &[a.clone(), x.clone()]).assert_ok_for("vecmat");
        // Second order: the rule's outer product and vector-matrix product
        // are themselves differentiable.
        check_grad(|v| grad(|x: &Tensor| v[0].matmul(x).sin().sum(), &v[1]), &[a, x])
            .assert_ok_for("gradient of matvec");
    }

    /// `op(a) @ op(b)` for plain matrices by the textbook triple loop.
    fn naive_product(a: &Tensor, b: &Tensor, ta: bool, tb: bool) -> Vec<f64> {
        let at = |i: usize, j: usize| if ta { a.get(&[j, i]) } else { a.get(&[i, j]) };
        let bt = |i: usize, j: usize| if tb { b.get(&[j, i]) } else { b.get(&[i, j]) };
        let (m, k) = Operand::of(a, ta).dims();
        let n = Operand::of(b, tb).dims().1;
        let mut out = vec![];
        for i in 0..m {
            for j in 0..n {
                out.push((0..k).map(|p| at(i, p) * bt(p, j)).sum());
            }
        }
        out
    }

    fn assert_close(actual: &[f64], expected: &[f64]) {
        assert_eq!(actual.len(), expected.len());
        for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
            assert!(
                (a - e).abs() <= 1e-12 * e.abs().max(1.0),
                "element {i}: {a} vs {e}"
            );
        }
    }

    #[test]
    fn hand_derived_product_and_gradients() {
        // A = [[1, 2, 3], [4, 5, 6]], B = [[1, 0], [2, 1], [0, 3]]
        // AB = [[1+4+0, 0+2+9], [4+10+0, 0+5+18]] = [[5, 11], [14, 23]]
        // L = sum(W * AB) with W = [[1, 2], [3, 4]]:
        // dL/dA = W B^T = [[1*1+2*0, 1*2+2*1, 1*0+2*3], [3*1+4*0, 3*2+4*1, 3*0+4*3]]
        //               = [[1, 4, 6], [3, 10, 12]]
        // dL/dB = A^T W = [[1*1+4*3, 1*2+4*4], [2*1+5*3, 2*2+5*4], [3*1+6*3, 3*2+6*4]]
        //               = [[13, 18], [17, 24], [21, 30]]
        let a = Tensor::from([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
        let b = Tensor::from([[1.0, 0.0], [2.0, 1.0], [0.0, 3.0]]);
        let w = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(a.matmul(&b).to_vec(), vec![5.0, 11.0, 14.0, 23.0]);
        let (ga, gb) = grad(|x: &(Tensor, Tensor)| (x.0.matmul(&x.1) * &w).sum(), &(a, b));
        assert_eq!(ga.to_vec(), vec![1.0, 4.0, 6.0, 3.0, 10.0, 12.0]);
        assert_eq!(gb.to_vec(), vec![13.0, 18.0, 17.0, 24.0, 21.0, 30.0]);
    }

    #[test]
    fn every_transposition_matches_the_triple_loop() {
        // 17 x 16 x 18 goes to dgemm, 70 x 64 x 1 and 1 x 64 x 70 to nalgebra's
        // fallback for thin products, 2 x 3 x 2 to the small loop.
        for (m, k, n) in [(17, 16, 18), (70, 64, 1), (1, 64, 70), (2, 3, 2)] {
            assert_eq!(
                m * k * n >= DGEMM_MIN_WORK,
                k > 3,
                "sizes chosen around the threshold"
            );
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = sample(&if ta { [k, m] } else { [m, k] }, 0.2);
                let b = sample(&if tb { [n, k] } else { [k, n] }, 1.1);
                let product = matmul_t("matmul", &a, &b, ta, tb);
                assert_eq!(product.shape(), &[m, n]);
                assert_close(product.as_slice(), &naive_product(&a, &b, ta, tb));
                // The rules do not depend on the kernel, whose every path the
                // values above cover, so central differences run on small sizes.
                if m * k * n < DGEMM_MIN_WORK {
                    check_grad(|x| matmul_t("matmul", &x[0], &x[1], ta, tb), &[a, b])
                        .assert_ok_for(&format!("matmul_t({ta}, {tb})"));
                }
            }
        }
    }

    #[test]
    fn a_product_in_a_reused_buffer_shows_none_of_its_old_values() {
        // 200 x 8 x 200 is large enough for dgemm and its 40000 values for the
        // buffer pool, which is handed a buffer of NaNs first.
        let (a, b) = (sample(&[200, 8], 0.3), sample(&[8, 200], 1.9));
        drop(Tensor::from_vec(vec![f64::NAN; 200 * 200], [200 * 200]).unwrap());
        assert_close(a.matmul(&b).as_slice(), &naive_product(&a, &b, false, false));
    }

    #[test]
    fn products_split_over_threads_equal_the_single_threaded_ones_bit_for_bit() {
        // Three threads cut 70 x 110 into blocks of 36, 37 and 37 columns, and
        // 110 x 70 into blocks of as many rows; 2000 x 600 x 1 is thin and goes
        // through the transposed copy first when B is transposed. The
        // single-threaded kernel is checked against the triple loop above.
        let pool = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
        };
        let (one, three) = (pool(1), pool(3));
        for (m, k, n) in [(70, 150, 110), (110, 150, 70), (2000, 600, 1)] {
            assert!(m * k * n >= PARALLEL_MIN_WORK);
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = sample(&if ta { [k, m] } else { [m, k] }, 0.2);
                let b = sample(&if tb { [n, k] } else { [k, n] }, 1.1);
                let product = |p: &rayon::ThreadPool| p.install(|| matmul_t("matmul", &a, &b, ta, tb));
                let threaded = product(&three);
                assert_eq!(
                    threaded.as_slice(),
                    product(&one).as_slice(),
                    "({m}, {k}, {n}), {ta}, {tb}"
                );
            }
        }
    }

    #[test]
    fn long_matrix_vector_products_give_the_same_bits_on_any_number_of_threads() {
        // 70_000 x 10: rows shared between threads; the vector-matrix product
        // sums blocks of 4096 rows, each in order, the blocks' sums in order.
        let (a, x, g) = (
            sample(&[70_000, 10], 0.3),
            sample(&[10], 1.1),
            sample(&[70_000], 2.3),
        );
        let products = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| (a.matmul(&x).to_vec(), g.matmul(&a).to_vec()))
        };
        let one = products(1);
        assert_eq!(one, products(3));
        let blocks: Vec<Vec<f64>> = (0..70_000usize.div_ceil(4096))
            .map(|b| {
                let rows = b * 4096..((b + 1) * 4096).min(70_000);
                let mut sum = vec![0.0; 10];
                for i in rows {
                    for (j, s) in sum.iter_mut().enumerate() {
                        *s += g.as_slice()[i] * a.get(&[i, j]);
                    }
                }
                sum
            })
            .collect();
        let expected: Vec<f64> = (0..10)
            .map(|j| blocks[1..].iter().fold(blocks[0][j], |total, b| total + b[j]))
            .collect();
        assert_eq!(one.1, expected);
    }

    #[test]
    fn gradients_for_every_shape_case() {
        // (case, shape of A, shape of B, shape of A @ B)
        type Case = (&'static str, &'static [usize], &'static [usize], &'static [usize]);
        let cases: [Case; 8] = [
            ("matrix-matrix", &[2, 3], &[3, 4], &[2, 4]),
            ("matrix-vector", &[2, 3], &[3], &[2]),
            ("vector-matrix", &[3], &[3, 4], &[4]),
            ("vector-vector", &[3], &[3], &[]),
            ("batched", &[2, 3, 4], &[4, 5], &[2, 3, 5]),
            ("broadcast batch", &[2, 1, 3, 4], &[5, 4, 2], &[2, 5, 3, 2]),
            ("vector-batch", &[4], &[2, 4, 3], &[2, 3]),
            ("batch of one", &[2, 7, 6], &[1, 6, 8], &[2, 7, 8]),
        ];
        for (name, sa, sb, expected) in cases {
            let (a, b) = (sample(sa, 0.3), sample(sb, 2.0));
            assert_eq!(a.matmul(&b).shape(), expected, "{name}");
            check_grad(|x| x[0].matmul(&x[1]), &[a, b]).assert_ok_for(name);
        }
    }

    #[test]
    fn broadcast_batch_values_follow_each_pair_of_matrices() {
        // [2, 1, 3, 4] @ [5, 4, 2]: batch (i, j) multiplies a[i, 0] by b[j].
        let (a, b) = (sample(&[2, 1, 3, 4], 0.3), sample(&[5, 4, 2], 2.0));
        let product = a.matmul(&b);
        let a_matrix =
            |i: usize| Tensor::from_vec(a.as_slice()[i * 12..(i + 1) * 12].to_vec(), [3, 4]).unwrap();
        let b_matrix =
            |j: usize| Tensor::from_vec(b.as_slice()[j * 8..(j + 1) * 8].to_vec(), [4, 2]).unwrap();
        for i in 0..2 {
            for j in 0..5 {
                let block = &product.as_slice()[(i * 5 + j) * 6..(i * 5 + j + 1) * 6];
                assert_close(block, &naive_product(&a_matrix(i), &b_matrix(j), false, false));
            }
        }
    }

    #[test]
    fn second_derivatives_of_a_squared_product() {
        // f(A, B) = sum((A B)^2): df/dA = 2 (A B) B^T, itself checked against
        // central differences in both A and B, with and without batches.
        let f = |a: &Tensor, b: &Tensor| {
            let p = a.matmul(b);
            (&p * &p).sum()
        };
        let grad_a = |x: &[Tensor]| grad(|a: &Tensor| f(a, &x[1]), &x[0]);
        let grad_b = |x: &[Tensor]| grad(|b: &Tensor| f(&x[0], b), &x[1]);
        for (sa, sb) in [
            (&[2, 3][..], &[3, 2][..]),
            (&[2, 1, 3, 4], &[5, 4, 2]),
            (&[3], &[3, 2]),
        ] {
            let inputs = [sample(sa, 0.4), sample(sb, 1.7)];
            check_grad(grad_a, &inputs).assert_ok_for(&format!("d/dA of {sa:?} @ {sb:?}"));
            check_grad(grad_b, &inputs).assert_ok_for(&format!("d/dB of {sa:?} @ {sb:?}"));
        }
        // At A = [[1]], B = [[b]]: f = A^2 b^2, d2f/dA2 = 2 b^2 = 18 at b = 3.
        let second = grad(
            |a: &Tensor| grad(|a: &Tensor| f(a, &Tensor::from([[3.0]])), a).sum(),
            &Tensor::from([[1.0]]),
        );
        assert_eq!(second.item(), 18.0);
    }

    #[test]
    fn forward_mode_is_the_product_rule() {
        // d(A B)[V] = V B for fixed B.
        let (a, b, v) = (sample(&[3, 4], 0.1), sample(&[4, 2], 0.9), sample(&[3, 4], 2.5));
        let (_, tangent) = jvp(|a: &Tensor| a.matmul(&b), &a, &v);
        assert_close(tangent.as_slice(), v.matmul(&b).as_slice());
    }

    #[test]
    fn vector_products_values_and_gradients() {
        // dot([1, 2, 3], [4, 5, 6]) = 4 + 10 + 18 = 32; d/dx = y, d/dy = x.
        let (x, y) = (Tensor::from([1.0, 2.0, 3.0]), Tensor::from([4.0, 5.0, 6.0]));
        let (gx, gy) = grad(|v: &(Tensor, Tensor)| v.0.dot(&v.1), &(x.clone(), y.clone()));
        assert_eq!((gx.to_vec(), gy.to_vec()), (y.to_vec(), x.to_vec()));
        let (u, w) = (sample(&[3], 0.2), sample(&[4], 1.0));
        check_grad(|v| v[0].dot(&v[1]), &[u.clone(), sample(&[3], 3.0)]).assert_ok_for("dot");
        check_grad(|v| v[0].outer(&v[1]), &[u.clone(), w.clone()]).assert_ok_for("outer");
        check_grad(
            |v| v[0].inner(&v[1]),
            &[sample(&[2, 3, 4], 0.5), sample(&[5, 4], 1.5)],
        )
        .assert_ok_for("inner");
        check_grad(|v| v[0].inner(&v[1]), &[u.clone(), sample(&[3], 3.0)]).assert_ok_for("inner of vectors");
        check_grad(
            |v| v[0].vecdot(&v[1]),
            &[sample(&[2, 1, 4], 0.5), sample(&[3, 4], 1.5)],
        )
        .assert_ok_for("vecdot");
        // inner of [2, 3, 4] with [5, 4] is [2, 3, 5]; entry (1, 2, 3) pairs row (1, 2) with row 3.
        let (p, q) = (sample(&[2, 3, 4], 0.5), sample(&[5, 4], 1.5));
        let entry: f64 = (0..4).map(|l| p.get(&[1, 2, l]) * q.get(&[3, l])).sum();
        assert!((p.inner(&q).get(&[1, 2, 3]) - entry).abs() < 1e-14);
        assert_eq!(p.vecdot(&sample(&[4], 0.0)).shape(), &[2, 3]);
    }

    #[test]
    fn empty_inner_dimension_gives_zeros() {
        let product = Tensor::zeros([2, 0]).matmul(&Tensor::zeros([0, 3]));
        assert_eq!(product.to_vec(), vec![0.0; 6]);
    }

    #[test]
    #[should_panic(expected = "matmul: shapes [2, 3] and [4, 5] do not align")]
    fn misaligned_matrices_name_both_shapes() {
        let _ = Tensor::zeros([2, 3]).matmul(&Tensor::zeros([4, 5]));
    }

    #[test]
    #[should_panic(expected = "matmul: batch dimensions of shapes [2, 3, 4] and [3, 4, 5] do not broadcast")]
    fn misaligned_batches_name_both_shapes() {
        let _ = Tensor::zeros([2, 3, 4]).matmul(&Tensor::zeros([3, 4, 5]));
    }

    #[test]
    #[should_panic(expected = "dot: expected two vectors of one length, got shapes [2, 2] and [2]")]
    fn dot_rejects_matrices() {
        let _ = Tensor::zeros([2, 2]).dot(&Tensor::zeros([2]));
    }

    #[test]
    #[should_panic(expected = "vecdot: shapes [3] and [4] do not align on their last dimension")]
    fn vecdot_does_not_broadcast_the_contracted_dimension() {
        let _ = Tensor::zeros([3]).vecdot(&Tensor::zeros([4]));
    }

    #[test]
    fn compiled_products_and_their_derivatives_match_at_another_point() {
        // A batch against a matrix, matvec, vecmat, outer, inner, and a
        // 16 x 16 x 16 product on the dgemm path; the derivatives are again
        // products with other transposes.
        let loss = |p: &(Tensor, Tensor, Tensor, Tensor)| {
            let (batch, m, v, big) = (&p.0, &p.1, &p.2, &p.3);
            let products = [
                batch.matmul(&m.t()),
                m.matmul(v),
                v.matmul(&m.t()),
                v.outer(&m.select(0, 1)),
                batch.inner(m),
                big.matmul(big),
            ];
            products.iter().map(|y| y.sin().sum()).sum::<Tensor>()
        };
        let point = |shift: f64| {
            (
                sample(&[2, 3, 4], shift),
                sample(&[3, 4], shift + 1.0),
                sample(&[4], shift + 2.0),
                sample(&[16, 16], shift + 3.0),
            )
        };
        let direction = point(0.4);
        let f = |p: &(Tensor, Tensor, Tensor, Tensor)| {
            let (value, gradient) = crate::value_and_grad(loss, p);
            (value, gradient, crate::hvp(loss, p, &direction))
        };
        const _: () = assert!(
            16 * 16 * 16 >= DGEMM_MIN_WORK,
            "the big product must take the dgemm path"
        );
        crate::testing::assert_compiles_exactly(f, &point(0.0), &[point(2.7)]);
    }
}
