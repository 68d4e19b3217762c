//! What tracing a function records: one node per op that depends on the
//! function's inputs, with the op's kernel and where each of its inputs
//! came from (an earlier node, or a constant captured by value).

use super::check::Check;
use super::kernel::Kernel;
use crate::autodiff::graph::NO_PARENT;
use crate::shape::Shape;
use crate::tensor::Tensor;
use smallvec::SmallVec;
use std::panic::Location;

/// The record of one traced function, kept on its tracing tape.
#[derive(Default)]
pub(crate) struct Trace {
    pub(crate) nodes: Vec<Node>,
    /// How many of the nodes are the function's inputs.
    inputs: usize,
    /// The first place where code outside a kernel read a traced value.
    pub(crate) read: Option<Read>,
    /// The first check that failed while tracing, and its error: the
    /// function went on after it, which a program cannot repeat.
    pub(crate) failed: Option<(&'static str, String)>,
    /// The path of the model marker whose checks are being recorded, which
    /// their errors name (as the direct call's do).
    label: Option<String>,
}

/// A read of traced values outside a kernel: which method, and where.
pub(crate) struct Read {
    pub(crate) what: &'static str,
    pub(crate) site: &'static Location<'static>,
}

/// How a node's value comes about.
pub(crate) enum Op {
    /// The function's input with this position among its leaves.
    Input(usize),
    /// An op with a kernel.
    Kernel(Box<dyn Kernel>),
    /// An op recorded without a kernel, at this place in the source.
    Opaque(&'static Location<'static>),
    /// A check of its sources' values, with no value of its own.
    Check(Box<dyn Check>),
}

/// Where an op's input comes from.
pub(crate) enum Source {
    /// The value of an earlier node.
    Node(u32),
    /// A value that does not depend on the function's inputs.
    Const(Tensor),
}

/// One traced op.
pub(crate) struct Node {
    pub(crate) op: Op,
    pub(crate) sources: SmallVec<[Source; 2]>,
    pub(crate) shape: Shape,
}

impl Trace {
    /// Adds the function's next input; returns its node.
    pub(crate) fn push_input(&mut self, shape: Shape) -> u32 {
        self.inputs += 1;
        self.push(Op::Input(self.inputs - 1), SmallVec::new(), shape)
    }

    /// Adds an op with its kernel. `sources` pairs each input's node on this
    /// trace ([`NO_PARENT`] for a constant) with the input itself.
    pub(crate) fn push_op<'a>(
        &mut self,
        kernel: Box<dyn Kernel>,
        sources: impl Iterator<Item = (u32, &'a Tensor)>,
        shape: Shape,
    ) -> u32 {
        self.push(Op::Kernel(kernel), collect_sources(sources), shape)
    }

    /// Adds an op that has no kernel, so that compiling fails only if its
    /// value is needed.
    pub(crate) fn push_opaque<'a>(
        &mut self,
        site: &'static Location<'static>,
        sources: impl Iterator<Item = (u32, &'a Tensor)>,
        shape: Shape,
    ) -> u32 {
        self.push(Op::Opaque(site), collect_sources(sources), shape)
    }

    /// Adds a check of the values of `sources` (paired as in
    /// [`push_op`](Trace::push_op)); every program built from the trace
    /// makes it.
    pub(crate) fn push_check<'a>(
        &mut self,
        check: Box<dyn Check>,
        sources: impl Iterator<Item = (u32, &'a Tensor)>,
    ) {
        let check = match &self.label {
            Some(path) => Box::new(Labelled {
                path: path.clone(),
                check,
            }),
            None => check,
        };
        self.push(Op::Check(check), collect_sources(sources), Shape::scalar());
    }

    /// Sets (or with `None` ends) the path that the errors of the checks
    /// recorded from now on name.
    pub(crate) fn set_label(&mut self, path: Option<String>) {
        self.label = path;
    }

    /// Keeps the first place a traced value was read outside a kernel.
    pub(crate) fn note_read(&mut self, what: &'static str, site: &'static Location<'static>) {
        self.read.get_or_insert(Read { what, site });
    }

    /// Keeps the first check that failed while tracing.
    pub(crate) fn note_failure(&mut self, check: &'static str, error: &crate::Error) {
        self.failed.get_or_insert_with(|| (check, error.to_string()));
    }

    fn push(&mut self, op: Op, sources: SmallVec<[Source; 2]>, shape: Shape) -> u32 {
        let index = u32::try_from(self.nodes.len()).expect("at most 2^32 traced ops");
        self.nodes.push(Node { op, sources, shape });
        index
    }
}

/// A check whose error names the model marker it was made for.
struct Labelled {
    path: String,
    check: Box<dyn Check>,
}

impl Check for Labelled {
    fn name(&self) -> &'static str {
        self.check.name()
    }

    fn run(&self, inputs: &[&[f64]]) -> crate::Result<()> {
        self.check.run(inputs).map_err(|e| e.at(&self.path))
    }
}

/// Constants are kept as plain values: they carry no tracks, so a trace
/// never keeps another level's tape alive.
fn collect_sources<'a>(sources: impl Iterator<Item = (u32, &'a Tensor)>) -> SmallVec<[Source; 2]> {
    sources
        .map(|(parent, t)| match parent {
            NO_PARENT => Source::Const(t.without_tracks()),
            node => Source::Node(node),
        })
        .collect()
}
