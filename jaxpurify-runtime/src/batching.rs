//! Batching for [`vmap`](crate::vmap()): the ops of one slice, computed again
//! on the whole batch at once.
//!
//! `vmap` calls its function once, on the first slice, with that slice made
//! the input of a *batch tape*. Every op that depends on it records there
//! how to compute it for every slice at once (its [`BatchRule`]): an
//! elementwise op runs on the stacked slices as they are, a broadcasting op
//! once its stacked inputs are aligned, a matrix-vector product per slice
//! becomes one matrix product, a sum per slice one sum along the batch's
//! other axes. `vmap` then replays the ops its result needs with those
//! rules, on the stacked inputs: the work is a few large kernels instead of
//! the same small kernels once per slice, and because the rules are the
//! library's differentiable ops, gradients, higher orders and compiled
//! programs follow with no rule of their own.
//!
//! Where the function does something that cannot be replayed (an op with no
//! rule that its result needs, a value read, a check of values), `vmap`
//! keeps the first slice's result and computes the others one by one, as it
//! always may. The batched results equal the loop's up to rounding: a
//! product of one matrix with many vectors adds its terms in another order
//! than the products one by one.

use crate::shape::Shape;
use crate::tensor::Tensor;
use smallvec::SmallVec;

/// How an op is computed for every slice of a batch at once: from the
/// op's inputs, each either stacked along a new first axis (`batched`) or
/// shared by every slice, the op's output for every slice, stacked the
/// same way; `None` when the rule cannot batch these inputs.
pub(crate) type BatchRule = fn(&Batch) -> Option<Tensor>;

/// What a [`BatchRule`] sees.
pub(crate) struct Batch<'a> {
    /// The op's inputs: stacked slices where `batched`, else as they were.
    pub(crate) inputs: &'a [Tensor],
    /// Which inputs are stacked along a new first axis.
    pub(crate) batched: &'a [bool],
    /// The shape of each input for one slice (as the op saw it).
    pub(crate) shapes: &'a [Shape],
    /// The shape of the op's output for one slice.
    pub(crate) out: &'a Shape,
    /// The number of slices.
    pub(crate) length: usize,
}

impl Batch<'_> {
    /// The shape of the output for every slice: `[length] + out`.
    pub(crate) fn batched_out(&self) -> Shape {
        stacked(self.length, self.out)
    }

    /// The inputs, the stacked ones with unit axes inserted after the batch
    /// axis so that every input has the rank of the highest among them:
    /// broadcasting then pairs a slice's axes as it did for one slice, and
    /// shared inputs broadcast along the batch axis.
    pub(crate) fn aligned(&self) -> SmallVec<[Tensor; 2]> {
        let rank = self.shapes.iter().map(Shape::ndim).max().unwrap_or(0);
        self.inputs
            .iter()
            .zip(self.batched)
            .zip(self.shapes)
            .map(|((input, &batched), shape)| match batched {
                true => input.reshape(padded(self.length, shape, rank)),
                false => input.clone(),
            })
            .collect()
    }
}

/// `[length] + shape`.
pub(crate) fn stacked(length: usize, shape: &Shape) -> Shape {
    padded(length, shape, shape.ndim())
}

/// `[length] + [1; rank - shape.ndim()] + shape`.
fn padded(length: usize, shape: &Shape, rank: usize) -> Shape {
    let mut dims = Shape::from(length);
    for _ in shape.ndim()..rank {
        dims.push(1);
    }
    for &d in shape.dims() {
        dims.push(d);
    }
    dims
}

/// The rule of an elementwise op of one input, `f` itself: it computes each
/// value from the value at the same place, whatever the shape.
pub(crate) fn elementwise(batch: &Batch, f: fn(&Tensor) -> Tensor) -> Option<Tensor> {
    Some(f(&batch.inputs[0]))
}

/// The rule of an op of two inputs that broadcasts them: `f` on the aligned
/// inputs.
pub(crate) fn broadcasting(batch: &Batch, f: fn(&Tensor, &Tensor) -> Tensor) -> Option<Tensor> {
    let aligned = batch.aligned();
    Some(f(&aligned[0], &aligned[1]))
}

/// The rule of a reshape: the same shape after the batch axis.
pub(crate) fn reshape(batch: &Batch) -> Option<Tensor> {
    Some(batch.inputs[0].reshape(batch.batched_out()))
}

/// The rule of `sum_to`: each slice summed to its target, the batch axis kept.
pub(crate) fn sum_to(batch: &Batch) -> Option<Tensor> {
    let target = padded(batch.length, batch.out, batch.shapes[0].ndim());
    Some(batch.inputs[0].sum_to(target).reshape(batch.batched_out()))
}

/// The rule of `broadcast_to`: each slice broadcast to its target.
pub(crate) fn broadcast_to(batch: &Batch) -> Option<Tensor> {
    let aligned = batch.inputs[0].reshape(padded(batch.length, &batch.shapes[0], batch.out.ndim()));
    Some(aligned.broadcast_to(batch.batched_out()))
}

/// What the batch tape of one `vmap` holds: one node per op that depends on
/// the first slice, in the order they ran.
#[derive(Default)]
pub(crate) struct BatchTrace {
    pub(crate) nodes: Vec<BatchNode>,
    /// How many of the nodes are `vmap`'s inputs.
    inputs: usize,
    /// Whether the function's ops cannot be replayed for the whole batch:
    /// it read a value or checked values of a slice.
    pub(crate) stopped: bool,
}

/// One op on a batch tape.
pub(crate) struct BatchNode {
    /// The input of `vmap` with this position, or an op with its rule
    /// (`None`: the op has none).
    pub(crate) kind: BatchKind,
    pub(crate) sources: SmallVec<[BatchSource; 2]>,
    /// The shape of each input, for one slice.
    pub(crate) shapes: SmallVec<[Shape; 2]>,
    /// The shape of the output, for one slice.
    pub(crate) out: Shape,
}

pub(crate) enum BatchKind {
    Input(usize),
    Op(Option<BatchRule>),
}

/// Where an input of an op on a batch tape comes from.
pub(crate) enum BatchSource {
    /// An earlier node.
    Node(u32),
    /// A value the slices share, with its tracks of outer levels (so that
    /// the replay records it for their gradients).
    Shared(Tensor),
}

impl BatchTrace {
    /// Adds `vmap`'s next input; returns its node.
    pub(crate) fn push_input(&mut self, shape: Shape) -> u32 {
        self.inputs += 1;
        self.push(
            BatchKind::Input(self.inputs - 1),
            SmallVec::new(),
            SmallVec::new(),
            shape,
        )
    }

    /// Adds an op; `sources` pairs each input's node ([`NO_PARENT`] for a
    /// shared value, given with the tracks it keeps) with its shape.
    ///
    /// [`NO_PARENT`]: crate::autodiff::graph::NO_PARENT
    pub(crate) fn push_op(
        &mut self,
        rule: Option<BatchRule>,
        sources: impl Iterator<Item = (u32, Tensor)>,
        out: Shape,
    ) -> u32 {
        let mut from = SmallVec::new();
        let mut shapes = SmallVec::new();
        for (node, value) in sources {
            shapes.push(value.shape().clone());
            from.push(match node {
                crate::autodiff::graph::NO_PARENT => BatchSource::Shared(value),
                node => BatchSource::Node(node),
            });
        }
        self.push(BatchKind::Op(rule), from, shapes, out)
    }

    /// Notes that the ops cannot be replayed.
    pub(crate) fn stop(&mut self) {
        self.stopped = true;
    }

    fn push(
        &mut self,
        kind: BatchKind,
        sources: SmallVec<[BatchSource; 2]>,
        shapes: SmallVec<[Shape; 2]>,
        out: Shape,
    ) -> u32 {
        let index = u32::try_from(self.nodes.len()).expect("at most 2^32 ops in a vmap");
        self.nodes.push(BatchNode {
            kind,
            sources,
            shapes,
            out,
        });
        index
    }

    /// The value of node `output` for every slice, from `inputs` (each
    /// input of `vmap` with its slices stacked along the first axis):
    /// only the nodes it needs are replayed. `None` when one of them has no
    /// rule or a rule declines. The caller checks [`stopped`](Self::stopped)
    /// first.
    pub(crate) fn replay(&self, output: u32, inputs: &[Tensor], length: usize) -> Option<Tensor> {
        let last = output as usize;
        let mut needed = vec![false; last + 1];
        needed[last] = true;
        for i in (0..=last).rev() {
            if needed[i] {
                for source in &self.nodes[i].sources {
                    if let BatchSource::Node(j) = source {
                        needed[*j as usize] = true;
                    }
                }
            }
        }
        // A node without a rule fails the replay before any work is done.
        let unruled = |(i, node): (usize, &BatchNode)| needed[i] && matches!(node.kind, BatchKind::Op(None));
        if self.nodes[..=last].iter().enumerate().any(unruled) {
            return None;
        }
        let mut values: Vec<Option<Tensor>> = Vec::with_capacity(last + 1);
        for (i, node) in self.nodes[..=last].iter().enumerate() {
            let value = match (&node.kind, needed[i]) {
                (_, false) => None,
                (BatchKind::Input(k), true) => Some(inputs[*k].clone()),
                (BatchKind::Op(rule), true) => {
                    let rule = rule.expect("checked above");
                    let mut args: SmallVec<[Tensor; 2]> = SmallVec::new();
                    let mut batched: SmallVec<[bool; 2]> = SmallVec::new();
                    for source in &node.sources {
                        match source {
                            BatchSource::Node(j) => {
                                args.push(values[*j as usize].clone().expect("needed before"));
                                batched.push(true);
                            }
                            BatchSource::Shared(value) => {
                                args.push(value.clone());
                                batched.push(false);
                            }
                        }
                    }
                    let batch = Batch {
                        inputs: &args,
                        batched: &batched,
                        shapes: &node.shapes,
                        out: &node.out,
                        length,
                    };
                    let value = rule(&batch)?;
                    // A rule's mistake shows as the loop, never as a wrong shape.
                    if value.shape() != &batch.batched_out() {
                        return None;
                    }
                    Some(value)
                }
            };
            values.push(value);
        }
        values.pop().flatten()
    }
}
