//! Models on flat parameter vectors, for optimisers and samplers.

use super::Model;
use crate::compile::{Compiled, CompiledGradient};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::tree::Tree;

/// A model that reads its parameters from one `&[f64]` (declaration order,
/// each leaf row-major, the layout of [`Tree::ravel`]) and writes gradients
/// into one `&mut [f64]`. It keeps the parameter layout, so its calls do not
/// run the body to learn it again.
pub struct Flat<M: Model> {
    model: M,
    template: M::Params,
}

impl<M: Model> Flat<M> {
    pub(crate) fn new(model: M) -> Result<Flat<M>> {
        let template = model.zeros()?;
        Ok(Flat { model, template })
    }

    /// The length of the flat parameter vector.
    pub fn len(&self) -> usize {
        self.template.num_elements()
    }

    /// Whether the model has no parameters.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Zero parameters in the model's layout, whose shapes every flat
    /// vector is read into.
    pub fn template(&self) -> &M::Params {
        &self.template
    }

    /// The bound model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// Typed parameters from a flat vector; fails when the length differs.
    pub fn unravel(&self, flat: &[f64]) -> Result<M::Params> {
        self.template.unravel_like(flat)
    }

    /// The output for flat parameters.
    pub fn apply(&self, flat: &[f64], fixed: &M::Fixed) -> Result<M::Output> {
        self.model.apply(&self.unravel(flat)?, fixed)
    }

    /// A scalar loss of the output, its gradient written into `grad_out`.
    pub fn value_and_grad(
        &self,
        flat: &[f64],
        fixed: &M::Fixed,
        loss: impl FnOnce(&M::Output) -> Tensor,
        grad_out: &mut [f64],
    ) -> Result<f64> {
        if grad_out.len() != self.len() {
            return Err(Error::Length {
                path: "gradient buffer".into(),
                expected: self.len(),
                actual: grad_out.len(),
            });
        }
        let (value, grads) = self.model.value_and_grad(&self.unravel(flat)?, fixed, loss)?;
        let mut offset = 0;
        for leaf in grads.leaves() {
            grad_out[offset..offset + leaf.numel()].copy_from_slice(leaf.as_slice());
            offset += leaf.numel();
        }
        Ok(value.item())
    }

    /// The output and its derivative along a flat tangent.
    pub fn jvp(&self, flat: &[f64], fixed: &M::Fixed, tangent: &[f64]) -> Result<(M::Output, M::Output)> {
        self.model
            .jvp(&self.unravel(flat)?, fixed, &self.unravel(tangent)?)
    }

    /// The flat gradient of `<cotangent, output>` at flat parameters.
    pub fn vjp(&self, flat: &[f64], fixed: &M::Fixed, cotangent: &M::Output) -> Result<Vec<f64>> {
        let (_, pullback) = self.model.vjp(&self.unravel(flat)?, fixed)?;
        Ok(pullback.apply(cotangent).ravel())
    }

    /// The output as a function of flat parameters, compiled for `fixed`
    /// at `params` (see [`Model::compile_apply`]); its
    /// [`call_flat`](Compiled::call_flat) reads flat parameters.
    ///
    /// # Errors
    /// As [`Model::compile_apply`], and when `params` has the wrong length.
    pub fn compile_apply(&self, params: &[f64], fixed: &M::Fixed) -> Result<Compiled<M::Params, M::Output>> {
        self.model.compile_apply(&self.unravel(params)?, fixed)
    }

    /// A scalar loss of the output and its gradient, compiled for `fixed`
    /// at `params` (see [`Model::compile_value_and_grad`]): its
    /// [`value_and_grad_flat`](Compiled::value_and_grad_flat) reads and
    /// writes flat vectors as [`value_and_grad`](Flat::value_and_grad)
    /// does, running only the traced kernels.
    ///
    /// # Errors
    /// As [`Model::compile_value_and_grad`], and when `params` has the
    /// wrong length.
    pub fn compile_value_and_grad(
        &self,
        params: &[f64],
        fixed: &M::Fixed,
        loss: impl Fn(&M::Output) -> Tensor,
    ) -> Result<CompiledGradient<M::Params>> {
        self.model
            .compile_value_and_grad(&self.unravel(params)?, fixed, loss)
    }
}

impl<M: Model<Output = Tensor>> Flat<M> {
    /// The output and its gradient for flat parameters, for a model whose
    /// output is the one number to differentiate (see
    /// [`Model::output_and_grad`]); the gradient is written into `grad_out`.
    ///
    /// # Errors
    /// As [`value_and_grad`](Flat::value_and_grad).
    pub fn output_and_grad(&self, flat: &[f64], fixed: &M::Fixed, grad_out: &mut [f64]) -> Result<f64> {
        self.value_and_grad(flat, fixed, Tensor::clone, grad_out)
    }

    /// [`output_and_grad`](Flat::output_and_grad), compiled for `fixed` at
    /// `params`.
    ///
    /// # Errors
    /// As [`compile_value_and_grad`](Flat::compile_value_and_grad).
    pub fn compile_output_and_grad(
        &self,
        params: &[f64],
        fixed: &M::Fixed,
    ) -> Result<CompiledGradient<M::Params>> {
        self.compile_value_and_grad(params, fixed, Tensor::clone)
    }
}
