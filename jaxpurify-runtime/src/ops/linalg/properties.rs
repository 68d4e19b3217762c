//! Identities of the family as property tests on random matrices, and the
//! positive-definite test matrices the other test modules share.

use super::{Transpose, Triangle, cho_solve, cholesky, diagonal, inv, logdet, solve, solve_triangular};
use crate::tensor::Tensor;
use proptest::prelude::*;

/// `B B^T + n I` for a deterministic `B` with entries in (-1, 1) drawn from
/// `seed` (a quadratic phase, so `B` has full rank): symmetric, positive
/// definite and well conditioned.
pub(super) fn spd(n: usize, seed: f64) -> Tensor {
    let b = Tensor::from(
        (0..n * n)
            .map(|i| ((i * i) as f64 * 0.7311 + seed).sin())
            .collect::<Vec<_>>(),
    )
    .reshape([n, n]);
    b.matmul(&b.t()) + Tensor::eye(n) * n as f64
}

/// The largest absolute difference, relative to the largest entry of `want`.
fn relative_error(got: &Tensor, want: &Tensor) -> f64 {
    let scale = want.abs().max().item().max(1.0);
    (got - want).abs().max().item() / scale
}

/// A random `[n, n]` matrix with entries in (-1, 1), `n` up to 70 so that
/// faer's 64-wide blocks and the recursion of the Cholesky derivative
/// (blocks of 16) both split it.
fn square() -> impl Strategy<Value = Tensor> {
    (1usize..70).prop_flat_map(|n| {
        prop::collection::vec(-1.0..1.0f64, n * n).prop_map(move |v| Tensor::from(v).reshape([n, n]))
    })
}

/// `B B^T + n I` for a random square `B`.
fn positive_definite() -> impl Strategy<Value = Tensor> {
    square().prop_map(|b| {
        let n = b.shape()[0];
        b.matmul(&b.t()) + Tensor::eye(n) * n as f64
    })
}

/// A random matrix made diagonally dominant, so invertible and well
/// conditioned, with a right-hand side of 1 or 3 columns.
fn system() -> impl Strategy<Value = (Tensor, Tensor)> {
    (square(), prop::bool::ANY).prop_map(|(m, vector)| {
        let n = m.shape()[0];
        let a = &m + Tensor::eye(n) * (n as f64 + 1.0);
        let b = if vector {
            Tensor::linspace(-1.0, 2.0, n)
        } else {
            Tensor::linspace(-1.0, 2.0, 3 * n).reshape([n, 3])
        };
        (a, b)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn cholesky_reconstructs_its_matrix(a in positive_definite()) {
        let l = cholesky(&a).unwrap();
        prop_assert!(relative_error(&l.matmul(&l.t()), &a) < 1e-13);
        let above = (&l - &l * super::triangle_mask(a.shape()[0], true)).abs().max().item();
        prop_assert_eq!(above, 0.0);
    }

    #[test]
    fn cholesky_gradient_is_murrays_symbolic_formula(a in positive_definite()) {
        // The blocked reverse mode against sym(L^{-T} Phi(L^T W) L^{-1}),
        // built from solves and products: with Y = L^{-T} Phi(..), the
        // solve L^{-T} Y^T is that matrix transposed.
        let n = a.shape()[0];
        let w = Tensor::linspace(-1.0, 2.0, n * n).reshape([n, n]);
        let gradient = crate::grad(|a: &Tensor| (cholesky(a).unwrap() * &w).sum(), &a);
        let l = cholesky(&a).unwrap();
        let phi = super::triangle_mask(n, true) - Tensor::eye(n) * 0.5;
        let p = l.t().matmul(&w) * phi;
        let y = solve_triangular(&l, &p, Triangle::Lower, Transpose::Yes).unwrap();
        let s_t = solve_triangular(&l, &y.t(), Triangle::Lower, Transpose::Yes).unwrap();
        prop_assert!(relative_error(&gradient, &((&s_t + &s_t.t()) * 0.5)) < 1e-12);
    }

    #[test]
    fn logdet_is_twice_the_log_diagonal_of_the_factor(a in positive_definite()) {
        let l = cholesky(&a).unwrap();
        let expected = diagonal(&l).ln().sum().item() * 2.0;
        prop_assert!((logdet(&a).unwrap().item() - expected).abs() <= 1e-12 * expected.abs().max(1.0));
        let (sign, logabsdet) = super::slogdet(&a);
        prop_assert_eq!(sign.item(), 1.0);
        prop_assert!((logabsdet.item() - expected).abs() <= 1e-10 * expected.abs().max(1.0));
    }

    #[test]
    fn solves_reproduce_their_right_hand_side((a, b) in system()) {
        prop_assert!(relative_error(&a.matmul(&solve(&a, &b).unwrap()), &b) < 1e-12);
        let spd = a.matmul(&a.t());
        let x = cho_solve(&cholesky(&spd).unwrap(), &b).unwrap();
        prop_assert!(relative_error(&spd.matmul(&x), &b) < 1e-10);
        let upper = &a * super::triangle_mask(a.shape()[0], false);
        let y = solve_triangular(&a, &b, Triangle::Upper, Transpose::Yes).unwrap();
        prop_assert!(relative_error(&upper.t().matmul(&y), &b) < 1e-12);
    }

    #[test]
    fn inverse_times_matrix_is_the_identity((a, _) in system()) {
        let n = a.shape()[0];
        prop_assert!(relative_error(&inv(&a).unwrap().matmul(&a), &Tensor::eye(n)) < 1e-12);
    }
}
