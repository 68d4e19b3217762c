//! A compiled program: the kernels a trace needs for its outputs, in the
//! order they ran, each writing into its part of one reusable buffer, with
//! chains of elementwise kernels fused into single steps (`fuse.rs`).

use super::check::Check;
use super::fused::Fused;
use super::kernel::Kernel;
use super::trace::{Node, Op, Source, Trace};
use crate::error::{Error, Result};
use smallvec::SmallVec;
use std::collections::HashMap;
use std::ops::Range;

/// Where a value is: part of an input leaf, read where the caller keeps
/// it, or a part of the workspace.
#[derive(Clone, Debug)]
enum Place {
    Input(usize, Range<usize>),
    Work(Range<usize>),
}

/// One kernel call, reading `args` and writing `out` of the workspace, one
/// check of `args` (with an empty `out`), or one fused run of kernels
/// writing all its outputs, one after another, into `out`.
struct Step {
    work: Work,
    args: SmallVec<[Place; 3]>,
    out: Range<usize>,
}

/// What a step does.
pub(super) enum Work {
    Kernel(Box<dyn Kernel>),
    Check(Box<dyn Check>),
    Fused(Box<Fused>),
}

/// The workspace split around a step's output, and the input leaves: where
/// the step's arguments are read.
struct Split<'a> {
    inputs: &'a [&'a [f64]],
    before: &'a [f64],
    after: &'a [f64],
    after_start: usize,
}

impl<'a> Split<'a> {
    #[inline(always)]
    fn read(&self, place: &Place) -> &'a [f64] {
        match place {
            Place::Input(leaf, r) => &self.inputs[*leaf][r.clone()],
            Place::Work(r) if r.end <= self.before.len() => &self.before[r.clone()],
            Place::Work(r) => &self.after[r.start - self.after_start..r.end - self.after_start],
        }
    }
}

impl Work {
    /// Runs the step's kernel, check or fused kernels on `args`.
    #[inline(always)]
    fn run(&self, args: &[&[f64]], out: &mut [f64], scratch: &mut [f64]) -> Result<()> {
        match self {
            Work::Kernel(kernel) => {
                kernel.run(args, out);
                Ok(())
            }
            Work::Check(check) => check.run(args),
            Work::Fused(fused) => {
                fused.run(args, out, scratch);
                Ok(())
            }
        }
    }

    /// The names of the kernels (or the check) the step runs.
    fn names(&self) -> Vec<&'static str> {
        match self {
            Work::Kernel(k) => vec![k.name()],
            Work::Check(c) => vec![c.name()],
            Work::Fused(f) => f.members.iter().map(|m| m.kernel.name()).collect(),
        }
    }
}

/// The kernels of a trace that its outputs depend on. The workspace holds
/// the constants, then a part for each value a step writes, shared with
/// values of the same length no longer read by then.
pub(crate) struct Program {
    steps: Vec<Step>,
    consts: Vec<f64>,
    outputs: Vec<Place>,
    workspace_len: usize,
    scratch_len: usize,
}

/// The most arguments passed without allocating.
const INLINE_ARGS: usize = 4;

/// The buffers a program writes, one set per thread running it: the values,
/// and the parts a fused step passes between its kernels.
pub(crate) struct Workspace {
    values: Vec<f64>,
    scratch: Vec<f64>,
}

impl Program {
    /// The program computing `outputs` (each a node of `trace`, or a
    /// constant) from the trace's inputs, with every check the trace made.
    /// Fails when a needed op has no kernel.
    pub(crate) fn build(mut trace: Trace, outputs: Vec<Source>) -> Result<Program> {
        let needed = needed_nodes(&trace.nodes, &outputs);
        let mut builder = Builder::default();
        let mut value_of: Vec<Option<Pending>> = vec![None; trace.nodes.len()];
        for (i, node) in trace.nodes.iter_mut().enumerate() {
            if !needed[i] {
                continue;
            }
            value_of[i] = Some(match std::mem::replace(&mut node.op, Op::Input(usize::MAX)) {
                Op::Input(leaf) => Pending::Input(leaf, 0..node.shape.numel()),
                Op::Opaque(site) => {
                    return Err(Error::Compile {
                        reason: format!(
                            "the op recorded at {site} has no compiled form \
                             (a custom rule, or an op that only runs eagerly)"
                        ),
                    });
                }
                Op::Check(check) => {
                    let args = node.sources.iter().map(|s| builder.value(s, &value_of)).collect();
                    builder.step(Work::Check(check), args, 0)
                }
                Op::Kernel(kernel) => {
                    if let [source] = &node.sources[..] {
                        // A view's values are its input's, read where they
                        // already are.
                        let input = builder.value(source, &value_of);
                        if let Some(run) = kernel.view(input.len()) {
                            value_of[i] = Some(input.narrowed(run));
                            continue;
                        }
                    }
                    let args = node.sources.iter().map(|s| builder.value(s, &value_of)).collect();
                    builder.step(Work::Kernel(kernel), args, node.shape.numel())
                }
            });
        }
        let outputs = outputs.iter().map(|s| builder.value(s, &value_of)).collect();
        Ok(builder.finish(outputs))
    }

    /// A workspace for this program, holding its constants.
    pub(crate) fn workspace(&self) -> Workspace {
        let mut values = vec![0.0; self.workspace_len];
        values[..self.consts.len()].copy_from_slice(&self.consts);
        Workspace {
            values,
            scratch: vec![0.0; self.scratch_len],
        }
    }

    /// Runs every step on `inputs`, one slice per input leaf, up to the
    /// first check that fails.
    ///
    /// # Errors
    /// The error of the first check that fails; the outputs are then not
    /// computed.
    pub(crate) fn run(&self, ws: &mut Workspace, inputs: &[&[f64]]) -> Result<()> {
        let Workspace { values, scratch } = ws;
        for step in &self.steps {
            // The output's part of the workspace never overlaps a part an
            // argument is read from, so the buffer splits around it.
            let (before, rest) = values.split_at_mut(step.out.start);
            let (out, after) = rest.split_at_mut(step.out.len());
            let split = Split {
                inputs,
                before,
                after,
                after_start: step.out.end,
            };
            if step.args.len() <= INLINE_ARGS {
                let mut args: [&[f64]; INLINE_ARGS] = [&[]; INLINE_ARGS];
                for (slot, place) in args.iter_mut().zip(&step.args) {
                    *slot = split.read(place);
                }
                step.work.run(&args[..step.args.len()], out, scratch)?;
            } else {
                // Pushed one by one: `collect` goes through `SmallVec`'s
                // generic `extend`, slow for a fused step's arguments.
                let mut args: SmallVec<[&[f64]; 16]> = SmallVec::new();
                for place in &step.args {
                    args.push(split.read(place));
                }
                step.work.run(&args, out, scratch)?;
            }
        }
        Ok(())
    }

    /// The values of output `i` after [`run`](Program::run) on `inputs`.
    pub(crate) fn output<'a>(&self, i: usize, ws: &'a Workspace, inputs: &[&'a [f64]]) -> &'a [f64] {
        match &self.outputs[i] {
            Place::Input(leaf, r) => &inputs[*leaf][r.clone()],
            Place::Work(r) => &ws.values[r.clone()],
        }
    }

    /// The number of steps per run (a fused step counts once).
    pub(crate) fn steps(&self) -> usize {
        self.steps.len()
    }

    /// The names of the kernels, in the order they run (those of a fused
    /// step each under its own name).
    pub(crate) fn kernel_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.steps.iter().flat_map(|s| s.work.names())
    }
}

/// Which nodes the outputs and the checks depend on: walked backwards,
/// since every node's sources come before it.
fn needed_nodes(nodes: &[Node], outputs: &[Source]) -> Vec<bool> {
    let mut needed: Vec<bool> = nodes.iter().map(|n| matches!(n.op, Op::Check(_))).collect();
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

/// A value while the program is built: steps are named by position until
/// their outputs are placed in the workspace.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Pending {
    /// Values of an input leaf.
    Input(usize, Range<usize>),
    /// Values of the constants, which start the workspace.
    Const(Range<usize>),
    /// Values of output `slot` of a step.
    Step(usize, usize, Range<usize>),
}

/// A step whose outputs are not placed yet: their lengths instead.
pub(super) struct PendingStep {
    pub(super) work: Work,
    pub(super) args: SmallVec<[Pending; 3]>,
    pub(super) outs: SmallVec<[usize; 1]>,
}

/// Steps and constants as they are added.
#[derive(Default)]
struct Builder {
    steps: Vec<PendingStep>,
    /// The constants' values one after another; `Pending::Const` is a range.
    consts: Vec<f64>,
}

impl Builder {
    fn value(&mut self, source: &Source, value_of: &[Option<Pending>]) -> Pending {
        match source {
            Source::Node(n) => value_of[*n as usize]
                .clone()
                .expect("sources are needed before their ops"),
            Source::Const(t) => {
                let start = self.consts.len();
                self.consts.extend_from_slice(t.data());
                Pending::Const(start..self.consts.len())
            }
        }
    }

    fn step(&mut self, work: Work, args: SmallVec<[Pending; 3]>, len: usize) -> Pending {
        let outs = smallvec::smallvec![len];
        self.steps.push(PendingStep { work, args, outs });
        Pending::Step(self.steps.len() - 1, 0, 0..len)
    }

    /// Fuses chains of elementwise kernels, then places each step's outputs
    /// in the workspace: a single output in a part of the same length whose
    /// value is no longer read, or a new one; the outputs of a fused step
    /// one after another in a new part. Program outputs keep theirs.
    fn finish(self, outputs: Vec<Pending>) -> Program {
        let (steps, outputs) = super::fuse::fuse(self.steps, outputs);
        let mut first_output = Vec::with_capacity(steps.len());
        let mut count = 0;
        for step in &steps {
            first_output.push(count);
            count += step.outs.len();
        }
        let id = |s: usize, slot: usize| first_output[s] + slot;
        let mut last_read = vec![0usize; count];
        for (i, step) in steps.iter().enumerate() {
            for a in &step.args {
                if let Pending::Step(s, slot, _) = a {
                    last_read[id(*s, *slot)] = i;
                }
            }
        }
        for o in &outputs {
            if let Pending::Step(s, slot, _) = o {
                last_read[id(*s, *slot)] = usize::MAX;
            }
        }
        let mut workspace_len = self.consts.len();
        let mut scratch_len = 0;
        let mut free: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut placed: Vec<Range<usize>> = Vec::with_capacity(count);
        let mut program_steps = Vec::with_capacity(steps.len());
        for (i, PendingStep { work, args, outs }) in steps.into_iter().enumerate() {
            let total: usize = outs.iter().sum();
            let reused = match outs.len() {
                1 => free.get_mut(&total).and_then(Vec::pop),
                _ => None,
            };
            let start = reused.unwrap_or_else(|| {
                workspace_len += total;
                workspace_len - total
            });
            let mut offset = start;
            for len in &outs {
                placed.push(offset..offset + len);
                offset += len;
            }
            // A value read for the last time here frees its part for the
            // steps after this one (never for this step's own output).
            for a in &args {
                if let Pending::Step(p, slot, _) = *a
                    && last_read[id(p, slot)] == i
                {
                    last_read[id(p, slot)] = usize::MAX;
                    let part = &placed[id(p, slot)];
                    free.entry(part.len()).or_default().push(part.start);
                }
            }
            if let Work::Fused(fused) = &work {
                scratch_len = scratch_len.max(fused.scratch_len());
            }
            let args = args
                .into_iter()
                .map(|a| a.placed(&placed, &first_output))
                .collect();
            program_steps.push(Step {
                work,
                args,
                out: start..start + total,
            });
        }
        Program {
            steps: program_steps,
            consts: self.consts,
            outputs: outputs
                .into_iter()
                .map(|o| o.placed(&placed, &first_output))
                .collect(),
            workspace_len,
            scratch_len,
        }
    }
}

impl Pending {
    /// The number of values.
    pub(super) fn len(&self) -> usize {
        match self {
            Pending::Input(_, r) | Pending::Const(r) | Pending::Step(_, _, r) => r.len(),
        }
    }

    /// The part `run` of these values.
    fn narrowed(self, run: Range<usize>) -> Pending {
        let within = |r: Range<usize>| r.start + run.start..r.start + run.end;
        match self {
            Pending::Input(leaf, r) => Pending::Input(leaf, within(r)),
            Pending::Const(r) => Pending::Const(within(r)),
            Pending::Step(s, slot, r) => Pending::Step(s, slot, within(r)),
        }
    }

    /// Where the value is, given where each step output was placed (those
    /// of step `s` from `first_output[s]` on).
    fn placed(self, placed: &[Range<usize>], first_output: &[usize]) -> Place {
        match self {
            Pending::Input(leaf, r) => Place::Input(leaf, r),
            Pending::Const(r) => Place::Work(r),
            Pending::Step(s, slot, r) => {
                let at = placed[first_output[s] + slot].start;
                Place::Work(at + r.start..at + r.end)
            }
        }
    }
}
