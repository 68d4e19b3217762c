//! Checks: decisions on values that only guard validity (a factorisation
//! failed, a prior's scale is not positive, a pivot is zero), made by the
//! op itself and again by every run of a compiled program.
//!
//! A decision that changes which ops run cannot be repeated by a program
//! that runs a fixed sequence of kernels. A check can: it either lets the
//! computation go on, or ends it with an error. So an op that can fail on
//! its values states the test as a [`Check`]: [`check`] runs it on the
//! values at hand and, when they depend on a function being compiled, also
//! records it on the trace. The program then runs the check at the same
//! place among its kernels, and a failure there ends the call with the
//! error the op returns when called directly.

use crate::error::Result;
use crate::tensor::Tensor;
use smallvec::SmallVec;

/// A test of an op's input values that passes or returns the op's error.
///
/// `run` must decide exactly as the op does when called directly, since a
/// compiled program repeats the op through it.
pub(crate) trait Check: Send + Sync + 'static {
    /// The op's name, for profiles.
    fn name(&self) -> &'static str;

    /// `Ok` when the values are valid, otherwise the op's error.
    fn run(&self, inputs: &[&[f64]]) -> Result<()>;
}

/// A check written as a closure over the input values.
#[derive(Clone)]
pub(crate) struct CheckFn<F> {
    pub(crate) name: &'static str,
    pub(crate) test: F,
}

impl<F> Check for CheckFn<F>
where
    F: Fn(&[&[f64]]) -> Result<()> + Clone + Send + Sync + 'static,
{
    fn name(&self) -> &'static str {
        self.name
    }

    fn run(&self, inputs: &[&[f64]]) -> Result<()> {
        (self.test)(inputs)
    }
}

/// Runs `test` (named `name` in profiles) on the values of `inputs`, and
/// records it on the trace of every function being compiled that they
/// depend on, so that its program makes the same test on every call.
///
/// This is how model code states a decision on values that only guards
/// validity: reading a traced value with `item` or `to_vec` and branching
/// on it is refused by [`compile`](crate::compile), since a program runs
/// the same kernels on every call; a check is repeated instead, at the same
/// place among them, and a failure ends the call with `test`'s error. Every
/// linear-algebra op and prior checks its input this way. `test` receives
/// the values of each input in row-major order and must decide from them
/// alone.
///
/// ```
/// use jaxpurify_runtime::{Error, Result, Tensor, check, compile};
///
/// /// The square root of a total that must not be negative.
/// fn root_of_total(x: &Tensor) -> Result<Tensor> {
///     let total = x.sum();
///     check("non_negative_total", &[&total], |values| match values[0][0] >= 0.0 {
///         true => Ok(()),
///         false => Err(Error::InvalidArgument {
///             op: "root_of_total",
///             message: format!("the total {} is negative", values[0][0]),
///         }),
///     })?;
///     Ok(total.sqrt())
/// }
///
/// // Traced where the check passes; each call repeats it.
/// let compiled = compile(|x: &Tensor| root_of_total(x).ok(), &Tensor::from([1.0, 3.0])).unwrap();
/// assert_eq!(compiled.call(&Tensor::from([4.0, 5.0])).unwrap().unwrap().item(), 3.0);
/// let error = compiled.call(&Tensor::from([-4.0, 1.0])).unwrap_err();
/// assert_eq!(error.to_string(), "root_of_total: the total -3 is negative");
/// // A `#[purify]` model calls it the same way, and its compiled forms
/// // (`compile_apply`, `compile_output_and_grad`) return the same error.
/// ```
///
/// Reading the values here is no decision the program cannot repeat: the
/// test itself is what it repeats.
///
/// # Errors
/// The error `test` returns for these values.
pub fn check<F>(name: &'static str, inputs: &[&Tensor], test: F) -> Result<()>
where
    F: Fn(&[&[f64]]) -> Result<()> + Clone + Send + Sync + 'static,
{
    let check = CheckFn { name, test };
    let values: SmallVec<[&[f64]; 4]> = inputs.iter().map(|t| t.data()).collect();
    let verdict = check.run(&values);
    crate::autodiff::graph::record_check(inputs, &check, verdict.as_ref().err());
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile;
    use crate::error::Error;

    /// `sqrt` of the sum, defined only for a non-negative sum: the checked
    /// op these tests compile.
    fn checked_sqrt(x: &Tensor) -> Result<Tensor> {
        let total = x.sum();
        check("non_negative", &[&total], |v| match v[0][0] >= 0.0 {
            true => Ok(()),
            false => Err(Error::InvalidArgument {
                op: "checked_sqrt",
                message: "the sum is negative".into(),
            }),
        })?;
        Ok(total.sqrt())
    }

    #[test]
    fn a_check_compiles_and_fails_on_the_call_that_breaks_it() {
        let compiled = compile(|x: &Tensor| checked_sqrt(x).ok(), &Tensor::from([1.0, 3.0])).unwrap();
        let good = compiled.call(&Tensor::from([4.0, 5.0])).unwrap();
        assert_eq!(good.unwrap().item(), 3.0);
        let err = compiled.call(&Tensor::from([-4.0, 1.0])).unwrap_err();
        assert_eq!(err.to_string(), "checked_sqrt: the sum is negative");
        // The failure leaves nothing behind: the next call is fine again.
        assert_eq!(
            compiled.call(&Tensor::from([1.0, 0.0])).unwrap().unwrap().item(),
            1.0
        );
    }

    #[test]
    fn a_check_on_constants_is_not_part_of_the_program() {
        let compiled = compile(
            |x: &Tensor| {
                checked_sqrt(&Tensor::from([2.0])).unwrap();
                x * 2.0
            },
            &Tensor::from([1.0]),
        )
        .unwrap();
        assert!(
            compiled
                .step_counts()
                .iter()
                .all(|(name, _)| *name != "non_negative")
        );
    }

    #[test]
    fn a_check_runs_even_when_no_output_needs_its_values() {
        let compiled = compile(
            |x: &Tensor| {
                let _ = checked_sqrt(x);
                x * 2.0
            },
            &Tensor::from([1.0]),
        )
        .unwrap();
        assert!(compiled.call(&Tensor::from([-1.0])).is_err());
    }

    #[test]
    fn flat_calls_return_the_error_too() {
        let compiled = compile(
            |x: &Tensor| crate::value_and_grad(|x: &Tensor| checked_sqrt(x).unwrap_or_else(|_| x.sum()), x),
            &Tensor::from([1.0, 3.0]),
        )
        .unwrap();
        let mut grad = [0.0; 2];
        assert_eq!(compiled.value_and_grad_flat(&[8.0, 8.0], &mut grad).unwrap(), 4.0);
        assert_eq!(grad, [0.125, 0.125]);
        assert!(compiled.value_and_grad_flat(&[-8.0, 1.0], &mut grad).is_err());
        let mut out = [0.0; 3];
        assert!(compiled.call_flat(&[-8.0, 1.0], &mut out).is_err());
    }
}
