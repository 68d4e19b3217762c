//! The batch rules of the matrix products, by which
//! [`vmap`](crate::vmap()) computes a product per slice as one product
//! (`batching.rs`).

use super::matmul_t;
use crate::batching::Batch;
use crate::tensor::Tensor;

/// The batch rule of [`matmul_t`](super::matmul_t): the product of the aligned stacks, whose
/// batch axis is one more batch dimension.
pub(super) fn product<const TRANSPOSE_A: bool, const TRANSPOSE_B: bool>(batch: &Batch) -> Option<Tensor> {
    let aligned = batch.aligned();
    Some(matmul_t(
        "matmul",
        &aligned[0],
        &aligned[1],
        TRANSPOSE_A,
        TRANSPOSE_B,
    ))
}

/// The batch rule of [`matvec`](super::matvec): with the matrix shared, one product of
/// the stacked vectors with its transpose (a matrix-vector product per
/// slice becomes one matrix product); with the matrices stacked, products
/// of stacks.
pub(super) fn matvec(batch: &Batch) -> Option<Tensor> {
    let ([a, x], [a_batched, x_batched]) = (batch.inputs, batch.batched) else {
        return None;
    };
    let (length, k) = (batch.length, batch.shapes[1].numel());
    Some(match (a_batched, x_batched) {
        (false, true) => matmul_t("matmul", x, a, false, true),
        (true, false) => {
            super::matvec(&a.reshape([length * batch.out.numel(), k]), x).reshape(batch.batched_out())
        }
        (true, true) => {
            matmul_t("matmul", a, &x.reshape([length, k, 1]), false, false).reshape(batch.batched_out())
        }
        (false, false) => return None,
    })
}

/// The batch rule of `vecmat`: the stacked vectors as the rows of one
/// matrix; stacked matrices as a batch of products.
pub(super) fn vecmat(batch: &Batch) -> Option<Tensor> {
    let ([x, a], [x_batched, a_batched]) = (batch.inputs, batch.batched) else {
        return None;
    };
    let (length, k) = (batch.length, batch.shapes[0].numel());
    Some(match (x_batched, a_batched) {
        (true, false) => matmul_t("matmul", x, a, false, false),
        (false, true) => matmul_t("matmul", &x.reshape([1, k]), a, false, false).reshape(batch.batched_out()),
        (true, true) => {
            matmul_t("matmul", &x.reshape([length, 1, k]), a, false, false).reshape(batch.batched_out())
        }
        (false, false) => return None,
    })
}

/// The batch rule of [`outer`](Tensor::outer): the product of each slice's
/// column with its row, by broadcasting (the same products, so the same
/// values).
pub(super) fn outer(batch: &Batch) -> Option<Tensor> {
    let ([a, b], [a_batched, b_batched]) = (batch.inputs, batch.batched) else {
        return None;
    };
    let (length, m, n) = (batch.length, batch.shapes[0].numel(), batch.shapes[1].numel());
    let column = match a_batched {
        true => a.reshape([length, m, 1]),
        false => a.reshape([m, 1]),
    };
    let row = match b_batched {
        true => b.reshape([length, 1, n]),
        false => b.clone(),
    };
    Some(&column * &row)
}
