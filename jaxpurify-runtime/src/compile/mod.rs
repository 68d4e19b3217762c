//! Compiled functions: a function of tensor trees traced once and then run
//! as a fixed sequence of kernels on reusable buffers.
//!
//! Evaluating a model define-by-run pays, for every op, for an output
//! allocation, for recording it and for the constants it recomputes; a
//! small model spends most of its time there. [`compile`] runs the function
//! once on a tracing tape, keeps the kernels of the ops that depend on its
//! inputs (everything else is a constant by then), drops the ops no output
//! needs, and plans one buffer per value, reused as soon as the value is
//! no longer read. Differentiation inside the function is traced like any
//! other computation, so compiling `value_and_grad` gives a program for the
//! value and the gradient, and nested derivatives work the same way.
//!
//! A compiled program repeats the traced ops on new values; it cannot
//! repeat a decision the function took on the values themselves. So
//! compiling fails, naming the place, when code outside an op read a value
//! that depends on the inputs (`item`, `as_slice`, `to_vec`), and when an op
//! without a compiled form (a custom rule) is needed. Before returning, the
//! program is run at the traced point and at a nearby one and compared with
//! the function itself.

pub(crate) mod check;
pub use check::check;
mod fuse;
mod fused;
pub(crate) mod kernel;
mod program;
pub(crate) mod trace;

use crate::autodiff::graph::Tape;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::tree::{Path, Tree, list_length_difference};
use program::{Program, Workspace};
use std::sync::{Mutex, PoisonError};
use trace::Source;

/// A function of a tree of tensors, traced once by [`compile`] and run as a
/// fixed program of kernels.
///
/// Calls take the same tree type as the traced function, with the same
/// shapes, and return its output tree; [`call_flat`](Compiled::call_flat)
/// reads and writes flat vectors instead. It may be called from many
/// threads at once: each running call uses buffers of its own.
pub struct Compiled<I, O> {
    program: Program,
    input: I,
    output: O,
    input_lens: Vec<usize>,
    output_lens: Vec<usize>,
    input_len: usize,
    output_len: usize,
    spare: Mutex<Vec<Workspace>>,
}

/// A compiled value and gradient of a scalar function of `P`, as
/// [`Model::compile_value_and_grad`](crate::Model::compile_value_and_grad)
/// returns it: calls give `(value, gradient)`.
pub type CompiledGradient<P> = Compiled<P, (Tensor, P)>;

/// The values of a compiled function's input leaves.
type InputLeaves<'a> = smallvec::SmallVec<[&'a [f64]; 8]>;

/// Traces `f` at `example` and returns its compiled form.
///
/// `f` runs twice here (mind its side effects): traced at `example`, then
/// at a point close to it; the program runs at both, and its results must
/// agree with `f`'s.
///
/// ```
/// use jaxpurify_runtime::{compile, value_and_grad, Tensor};
/// let f = |x: &Tensor| value_and_grad(|x: &Tensor| (x * x).sin().sum(), x);
/// let compiled = compile(f, &Tensor::from([0.5, 1.0]))?;
/// let x = Tensor::from([2.0, -1.0]);
/// let (value, gradient) = compiled.call(&x)?;
/// assert_eq!(value, f(&x).0);
/// assert_eq!(gradient, f(&x).1);
/// # Ok::<(), jaxpurify_runtime::Error>(())
/// ```
///
/// # Errors
/// [`Error::Compile`] when `example` carries a running differentiation,
/// when `f` reads the value of a tensor that depends on its input outside
/// an op, when it needs an op that has no compiled form, or when the
/// program does not reproduce `f` near `example`.
pub fn compile<I: Tree, O: Tree>(f: impl Fn(&I) -> O, example: &I) -> Result<Compiled<I, O>> {
    if example.leaves().iter().any(|t| t.is_tracked()) {
        return Err(compile_error(
            "the example input depends on a running differentiation; \
             compile outside of grad/vjp, or compile the derivative itself",
        ));
    }
    let tape = Tape::open_trace();
    let traced_input = example.map(|t| t.track_as_leaf(&tape));
    let traced_output = f(&traced_input);
    let level = tape.level();
    let outputs: Vec<Source> = traced_output
        .leaves()
        .iter()
        .map(|t| t.trace_source(level))
        .collect();
    let trace = tape.take_trace();
    drop(traced_input);
    if let Some(read) = &trace.read {
        return Err(compile_error(&format!(
            "`{}` read the value of a tensor that depends on the input at {}: a compiled \
             program runs the same ops on every call and cannot repeat a choice made on that \
             value. Choose per element with `where_` (both sides are computed), keep the \
             decision outside the compiled function, state a test of validity as a `check` \
             (the program repeats it on every call), or call the function without compiling",
            read.what,
            read_site(read.site)
        )));
    }
    if let Some((check, error)) = &trace.failed {
        return Err(compile_error(&format!(
            "the check of `{check}` failed where the function was traced ({error}) and the \
             function went on: its program would end with that error instead. Compile at a \
             point where it succeeds"
        )));
    }
    let (input_lens, output_lens) = (leaf_lens(example), leaf_lens(&traced_output));
    let compiled = Compiled {
        program: Program::build(trace, outputs)?,
        input: example.map(Tensor::without_tracks),
        output: traced_output.map(Tensor::without_tracks),
        input_len: input_lens.iter().sum(),
        output_len: output_lens.iter().sum(),
        input_lens,
        output_lens,
        spare: Mutex::new(Vec::new()),
    };
    compiled.check_against(example, &compiled.output)?;
    let nearby = example.map(nearby_point);
    let expected = f(&nearby);
    // Where a check fails nearby there is nothing to compare (the function
    // failed there too, or recovered, which the program reports as the
    // error).
    if compiled.passes_checks(&nearby) {
        compiled.check_against(&nearby, &expected)?;
    }
    Ok(compiled)
}

/// Where a traced value was read, for the message of a refused trace. `==`
/// between `&Tensor`s goes through std's `PartialEq` for references, which
/// cannot pass on its caller's location: say what to write to get the line
/// rather than leave only a line of std.
fn read_site(site: &std::panic::Location<'_>) -> String {
    match site.file().ends_with("core/src/cmp.rs") {
        true => format!(
            "a comparison of tensor references ({site}; compare the tensors themselves, \
             `*a == *b`, to see its line)"
        ),
        false => site.to_string(),
    }
}

fn compile_error(reason: &str) -> Error {
    Error::Compile {
        reason: reason.to_string(),
    }
}

/// A point close to `t`: each value moved by about 1e-4 of itself and at
/// least by 1e-6, so that a value the trace kept by mistake differs.
fn nearby_point(t: &Tensor) -> Tensor {
    t.map_values(|v| v + v * (1.0 / 8192.0) + 1.0 / 1048576.0)
}

impl<I: Tree, O: Tree> Compiled<I, O> {
    /// Runs the program on `input`, which must have the traced input's
    /// shapes.
    ///
    /// # Errors
    /// [`Error::Shape`] naming the first leaf whose shape differs,
    /// [`Error::Length`] when the number of leaves differs, and the error of
    /// the first check the program repeats that fails (see
    /// [`compile`](crate::compile())).
    pub fn call(&self, input: &I) -> Result<O> {
        let given = input.leaves();
        let expected = self.input.leaves();
        if given.len() != expected.len() {
            // Named by the list whose length differs, as a direct call does.
            let (path, expected, actual) = list_length_difference(&self.input, input)
                .unwrap_or_else(|| ("compiled input leaves".into(), expected.len(), given.len()));
            return Err(Error::Length {
                path,
                expected,
                actual,
            });
        }
        for (k, (g, e)) in given.iter().zip(&expected).enumerate() {
            if g.shape() != e.shape() {
                return Err(Error::Shape {
                    path: leaf_path(&self.input, k),
                    expected: e.shape().clone(),
                    actual: g.shape().clone(),
                });
            }
            if g.is_tracked() {
                return Err(compile_error(
                    "a compiled function cannot be differentiated: its input depends on a running \
                     differentiation (compile the derivative instead)",
                ));
            }
        }
        let inputs: InputLeaves = given.iter().map(|t| t.data()).collect();
        self.with_workspace(|program, ws| {
            program.run(ws, &inputs)?;
            let mut k = 0;
            self.output.try_rebuild(&mut Path::root(), &mut |_, leaf| {
                // Into storage of the pool (or inline), as an op's output:
                // a fresh large allocation per call was page-faulted anew.
                let values = program.output(k, ws, &inputs);
                k += 1;
                Ok(Tensor::from_kernel(leaf.shape().clone(), |out| {
                    out.copy_from_slice(values)
                }))
            })
        })
    }

    /// Runs the program on a flat input (the leaves of the input tree one
    /// after another, each row-major, as [`Tree::ravel`] lays them out) and
    /// writes the flat output into `output`.
    ///
    /// # Errors
    /// [`Error::Length`] when either slice has the wrong length, and the
    /// error of a check that fails, as [`call`](Compiled::call).
    pub fn call_flat(&self, input: &[f64], output: &mut [f64]) -> Result<()> {
        check_length("flat input", self.input_len(), input.len())?;
        check_length("flat output", self.output_len(), output.len())?;
        let inputs = self.split_input(input);
        self.with_workspace(|program, ws| {
            program.run(ws, &inputs)?;
            let mut rest = output;
            for (k, &len) in self.output_lens.iter().enumerate() {
                let (head, tail) = rest.split_at_mut(len);
                head.copy_from_slice(program.output(k, ws, &inputs));
                rest = tail;
            }
            Ok(())
        })
    }

    /// The length of the flat input.
    pub fn input_len(&self) -> usize {
        self.input_len
    }

    /// The length of the flat output.
    pub fn output_len(&self) -> usize {
        self.output_len
    }

    /// The number of steps a run makes: kernel calls, checks, and fused
    /// chains of elementwise kernels, each counted once.
    pub fn num_steps(&self) -> usize {
        self.program.steps()
    }

    /// How many kernel calls of each name a run makes, most frequent first:
    /// what a compiled function spends its steps on. Kernels fused into one
    /// step count under their own names.
    pub fn step_counts(&self) -> Vec<(&'static str, usize)> {
        let mut counts: Vec<(&'static str, usize)> = Vec::new();
        for name in self.program.kernel_names() {
            match counts.iter_mut().find(|(n, _)| *n == name) {
                Some((_, c)) => *c += 1,
                None => counts.push((name, 1)),
            }
        }
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        counts
    }

    /// A flat input of the right length cut into its leaves.
    fn split_input<'a>(&self, mut flat: &'a [f64]) -> InputLeaves<'a> {
        let mut leaves = InputLeaves::new();
        for &len in &self.input_lens {
            let (head, tail) = flat.split_at(len);
            leaves.push(head);
            flat = tail;
        }
        leaves
    }

    /// Runs `f` with a workspace of its own, kept for later calls.
    fn with_workspace<R>(&self, f: impl FnOnce(&Program, &mut Workspace) -> R) -> R {
        let spare = self.spare.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let mut ws = spare.unwrap_or_else(|| self.program.workspace());
        let out = f(&self.program, &mut ws);
        self.spare.lock().unwrap_or_else(PoisonError::into_inner).push(ws);
        out
    }

    /// Whether every check of the program passes at `input`.
    fn passes_checks(&self, input: &I) -> bool {
        self.call(input).is_ok()
    }

    /// Compares the program's output at `input` with `expected`, the
    /// function's own.
    fn check_against(&self, input: &I, expected: &O) -> Result<()> {
        let got = self.call(input)?;
        let (got, expected) = (got.leaves(), expected.leaves());
        for (k, (g, e)) in got.iter().zip(&expected).enumerate() {
            let scale = e.data().iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for (i, (&a, &b)) in g.data().iter().zip(e.data()).enumerate() {
                if !agrees(a, b, scale) {
                    return Err(compile_error(&format!(
                        "the compiled program gives {a:e} where the function gives {b:e} \
                         (output `{}`, value {i}): the function depends on its input in a way \
                         the trace did not record",
                        leaf_path(&self.output, k)
                    )));
                }
            }
        }
        Ok(())
    }
}

impl<I: Tree, O: Tree> Compiled<I, Option<O>> {
    /// The same program with its output unwrapped, when the traced function
    /// returned one.
    pub(crate) fn into_present(self) -> Option<Compiled<I, O>> {
        Some(Compiled {
            program: self.program,
            input: self.input,
            output: self.output?,
            input_lens: self.input_lens,
            output_lens: self.output_lens,
            input_len: self.input_len,
            output_len: self.output_len,
            spare: self.spare,
        })
    }
}

impl<P: Tree> Compiled<P, (Tensor, P)> {
    /// For a compiled value and gradient: reads the parameters from one
    /// flat vector, writes the gradient into `grad` (same layout) and
    /// returns the value.
    ///
    /// ```
    /// use jaxpurify_runtime::{compile, value_and_grad, Tensor};
    /// let f = |x: &Tensor| value_and_grad(|x: &Tensor| (x * x).sum(), x);
    /// let compiled = compile(f, &Tensor::zeros([2]))?;
    /// let mut grad = [0.0; 2];
    /// assert_eq!(compiled.value_and_grad_flat(&[1.0, 3.0], &mut grad)?, 10.0);
    /// assert_eq!(grad, [2.0, 6.0]);
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Length`] when either slice does not have the parameters'
    /// length, and the error of a check that fails, as
    /// [`call`](Compiled::call).
    pub fn value_and_grad_flat(&self, params: &[f64], grad: &mut [f64]) -> Result<f64> {
        check_length("flat parameters", self.input_len, params.len())?;
        check_length("gradient buffer", self.input_len, grad.len())?;
        let inputs = self.split_input(params);
        self.with_workspace(|program, ws| {
            program.run(ws, &inputs)?;
            let mut rest = &mut grad[..];
            for (k, &len) in self.output_lens.iter().enumerate().skip(1) {
                let (head, tail) = rest.split_at_mut(len);
                head.copy_from_slice(program.output(k, ws, &inputs));
                rest = tail;
            }
            Ok(program.output(0, ws, &inputs)[0])
        })
    }
}

/// Equal bits, both NaN, or equal to within rounding of the largest value.
fn agrees(a: f64, b: f64, scale: f64) -> bool {
    a.to_bits() == b.to_bits()
        || (a.is_nan() && b.is_nan())
        || (a - b).abs() <= 1e-12 * scale.max(a.abs()).max(b.abs())
}

/// The number of values of each leaf of `tree`.
fn leaf_lens<T: Tree>(tree: &T) -> Vec<usize> {
    tree.leaves().iter().map(|t| t.numel()).collect()
}

fn check_length(what: &str, expected: usize, actual: usize) -> Result<()> {
    if expected == actual {
        return Ok(());
    }
    Err(Error::Length {
        path: what.into(),
        expected,
        actual,
    })
}

/// The path of leaf `k` of `tree`.
fn leaf_path<T: Tree>(tree: &T, k: usize) -> String {
    let mut found = String::new();
    let mut i = 0;
    tree.visit(&mut Path::root(), &mut |path, _| {
        if i == k {
            found = path.to_string();
        }
        i += 1;
    });
    found
}

#[cfg(test)]
mod tests;
