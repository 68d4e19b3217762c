//! A compiled program: the kernels a trace needs for its outputs, in the
//! order they ran, each writing into a buffer of a reusable workspace.

use super::kernel::Kernel;
use super::trace::{Node, Op, Source, Trace};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use smallvec::SmallVec;
use std::collections::HashMap;

/// Where a program finds a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    /// The program's input with this position.
    Input(u32),
    /// One of the program's constants.
    Const(u32),
    /// A buffer of the workspace.
    Slot(u32),
}

impl Value {
    /// The value with a step's position replaced by its buffer.
    fn in_slots(self, slot_of: &[u32]) -> Value {
        match self {
            Value::Slot(step) => Value::Slot(slot_of[step as usize]),
            other => other,
        }
    }
}

/// One kernel call.
struct Step {
    kernel: Box<dyn Kernel>,
    args: SmallVec<[Value; 3]>,
    out: u32,
}

/// The kernels of a trace that its outputs depend on, with the buffers they
/// write planned so that a buffer is reused once its value is no longer
/// read.
pub(crate) struct Program {
    steps: Vec<Step>,
    consts: Vec<Tensor>,
    input_lens: Vec<usize>,
    outputs: Vec<Value>,
    slot_lens: Vec<usize>,
}

/// The buffers a program writes; one per thread running it.
pub(crate) struct Workspace {
    slots: Vec<Vec<f64>>,
}

impl Program {
    /// The program computing `outputs` (each a node of `trace`, or a
    /// constant) from the trace's inputs. Fails when a needed op has no
    /// kernel.
    pub(crate) fn build(mut trace: Trace, outputs: Vec<Source>) -> Result<Program> {
        let needed = needed_nodes(&trace.nodes, &outputs);
        let mut builder = Builder::default();
        let mut value_of: Vec<Option<Value>> = vec![None; trace.nodes.len()];
        for (i, node) in trace.nodes.iter_mut().enumerate() {
            if !needed[i] {
                continue;
            }
            value_of[i] = Some(match std::mem::replace(&mut node.op, Op::Input(usize::MAX)) {
                Op::Input(position) => {
                    builder
                        .input_lens
                        .resize(builder.input_lens.len().max(position + 1), 0);
                    builder.input_lens[position] = node.shape.numel();
                    Value::Input(position as u32)
                }
                Op::Opaque(site) => {
                    return Err(Error::Compile {
                        reason: format!(
                            "the op recorded at {site} has no compiled form \
                             (a custom rule, or an op that only runs eagerly)"
                        ),
                    });
                }
                Op::Kernel(kernel) => {
                    let args = node.sources.iter().map(|s| builder.value(s, &value_of)).collect();
                    builder.step(kernel, args, node.shape.numel())
                }
            });
        }
        let outputs: Vec<Value> = outputs.iter().map(|s| builder.value(s, &value_of)).collect();
        Ok(builder.finish(outputs))
    }

    /// Fresh buffers for this program.
    pub(crate) fn workspace(&self) -> Workspace {
        Workspace {
            slots: self.slot_lens.iter().map(|&n| vec![0.0; n]).collect(),
        }
    }

    /// The number of values of each input.
    pub(crate) fn input_lens(&self) -> &[usize] {
        &self.input_lens
    }

    /// Runs every step on `inputs` (one slice per input, of its length).
    pub(crate) fn run(&self, ws: &mut Workspace, inputs: &[&[f64]]) {
        for step in &self.steps {
            let mut out = std::mem::take(&mut ws.slots[step.out as usize]);
            {
                let args: SmallVec<[&[f64]; 4]> =
                    step.args.iter().map(|&v| self.read(v, ws, inputs)).collect();
                step.kernel.run(&args, &mut out);
            }
            ws.slots[step.out as usize] = out;
        }
    }

    /// The values of output `i` after [`run`](Program::run).
    pub(crate) fn output<'a>(&'a self, i: usize, ws: &'a Workspace, inputs: &[&'a [f64]]) -> &'a [f64] {
        self.read(self.outputs[i], ws, inputs)
    }

    fn read<'a>(&'a self, value: Value, ws: &'a Workspace, inputs: &[&'a [f64]]) -> &'a [f64] {
        match value {
            Value::Input(i) => inputs[i as usize],
            Value::Const(c) => self.consts[c as usize].data(),
            Value::Slot(s) => &ws.slots[s as usize],
        }
    }

    /// The number of kernel calls per run.
    pub(crate) fn steps(&self) -> usize {
        self.steps.len()
    }

    /// The names of the kernels, in the order they run.
    pub(crate) fn kernel_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.steps.iter().map(|s| s.kernel.name())
    }
}

/// Which nodes the outputs depend on: walked backwards, since every node's
/// sources come before it.
fn needed_nodes(nodes: &[Node], outputs: &[Source]) -> Vec<bool> {
    let mut needed = vec![false; nodes.len()];
    for s in outputs {
        if let Source::Node(n) = s {
            needed[*n as usize] = true;
        }
    }
    for i in (0..nodes.len()).rev() {
        if needed[i] {
            for s in &nodes[i].sources {
                if let Source::Node(n) = s {
                    needed[*n as usize] = true;
                }
            }
        }
    }
    needed
}

/// A step whose output has no buffer yet: its values' length instead.
struct PendingStep {
    kernel: Box<dyn Kernel>,
    args: SmallVec<[Value; 3]>,
    len: usize,
}

/// Steps and constants as they are added; buffers are assigned at the end.
#[derive(Default)]
struct Builder {
    steps: Vec<PendingStep>,
    consts: Vec<Tensor>,
    input_lens: Vec<usize>,
}

impl Builder {
    fn value(&mut self, source: &Source, value_of: &[Option<Value>]) -> Value {
        match source {
            Source::Node(n) => value_of[*n as usize].expect("sources are needed before their ops"),
            Source::Const(t) => {
                self.consts.push(t.clone());
                Value::Const(self.consts.len() as u32 - 1)
            }
        }
    }

    /// Adds a step; its output is, for now, named by the step's position.
    fn step(&mut self, kernel: Box<dyn Kernel>, args: SmallVec<[Value; 3]>, len: usize) -> Value {
        self.steps.push(PendingStep { kernel, args, len });
        Value::Slot(self.steps.len() as u32 - 1)
    }

    /// Gives each step's output a buffer: a buffer of the same length whose
    /// value is no longer read, or a new one. Outputs keep theirs.
    fn finish(self, outputs: Vec<Value>) -> Program {
        let mut last_read = vec![0usize; self.steps.len()];
        for (i, step) in self.steps.iter().enumerate() {
            for &a in &step.args {
                if let Value::Slot(s) = a {
                    last_read[s as usize] = i;
                }
            }
        }
        for &o in &outputs {
            if let Value::Slot(s) = o {
                last_read[s as usize] = usize::MAX;
            }
        }
        let mut slot_lens: Vec<usize> = Vec::new();
        let mut free: HashMap<usize, Vec<u32>> = HashMap::new();
        let mut slot_of = vec![0u32; self.steps.len()];
        let mut steps = Vec::with_capacity(self.steps.len());
        for (i, PendingStep { kernel, args, len }) in self.steps.into_iter().enumerate() {
            let out = free.get_mut(&len).and_then(Vec::pop).unwrap_or_else(|| {
                slot_lens.push(len);
                slot_lens.len() as u32 - 1
            });
            slot_of[i] = out;
            // A value read for the last time here frees its buffer for the
            // steps after this one (never for this step's own output).
            for a in &args {
                if let Value::Slot(p) = *a
                    && last_read[p as usize] == i
                {
                    last_read[p as usize] = usize::MAX;
                    let slot = slot_of[p as usize];
                    free.entry(slot_lens[slot as usize]).or_default().push(slot);
                }
            }
            let args = args.into_iter().map(|a| a.in_slots(&slot_of)).collect();
            steps.push(Step { kernel, args, out });
        }
        let outputs = outputs.into_iter().map(|o| o.in_slots(&slot_of)).collect();
        Program {
            steps,
            consts: self.consts,
            input_lens: self.input_lens,
            outputs,
            slot_lens,
        }
    }
}
