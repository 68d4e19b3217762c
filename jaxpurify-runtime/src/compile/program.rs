//! A compiled program: the kernels a trace needs for its outputs, in the
//! order they ran, each writing into its part of one reusable buffer.

use super::check::Check;
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

/// One kernel call, reading `args` and writing `out` of the workspace, or
/// one check of `args` (with an empty `out`).
struct Step {
    work: Work,
    args: SmallVec<[Place; 3]>,
    out: Range<usize>,
}

/// What a step does.
enum Work {
    Kernel(Box<dyn Kernel>),
    Check(Box<dyn Check>),
}

impl Work {
    fn name(&self) -> &'static str {
        match self {
            Work::Kernel(k) => k.name(),
            Work::Check(c) => c.name(),
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
}

/// The most arguments passed without allocating.
const INLINE_ARGS: usize = 4;

/// The buffer a program writes; one per thread running it.
pub(crate) struct Workspace(Vec<f64>);

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
        let mut ws = vec![0.0; self.workspace_len];
        ws[..self.consts.len()].copy_from_slice(&self.consts);
        Workspace(ws)
    }

    /// Runs every step on `inputs`, one slice per input leaf, up to the
    /// first check that fails.
    ///
    /// # Errors
    /// The error of the first check that fails; the outputs are then not
    /// computed.
    pub(crate) fn run(&self, ws: &mut Workspace, inputs: &[&[f64]]) -> Result<()> {
        for step in &self.steps {
            // The output's part of the workspace never overlaps a part an
            // argument is read from, so the buffer splits around it.
            let (before, rest) = ws.0.split_at_mut(step.out.start);
            let (out, after) = rest.split_at_mut(step.out.len());
            let read = |place: &Place| -> &[f64] {
                match place {
                    Place::Input(leaf, r) => &inputs[*leaf][r.clone()],
                    Place::Work(r) if r.end <= step.out.start => &before[r.clone()],
                    Place::Work(r) => &after[r.start - step.out.end..r.end - step.out.end],
                }
            };
            let mut work = |args: &[&[f64]]| match &step.work {
                Work::Kernel(kernel) => {
                    kernel.run(args, out);
                    Ok(())
                }
                Work::Check(check) => check.run(args),
            };
            if step.args.len() <= INLINE_ARGS {
                let mut args: [&[f64]; INLINE_ARGS] = [&[]; INLINE_ARGS];
                for (slot, place) in args.iter_mut().zip(&step.args) {
                    *slot = read(place);
                }
                work(&args[..step.args.len()])?;
            } else {
                let args: Vec<&[f64]> = step.args.iter().map(read).collect();
                work(&args)?;
            }
        }
        Ok(())
    }

    /// The values of output `i` after [`run`](Program::run) on `inputs`.
    pub(crate) fn output<'a>(&self, i: usize, ws: &'a Workspace, inputs: &[&'a [f64]]) -> &'a [f64] {
        match &self.outputs[i] {
            Place::Input(leaf, r) => &inputs[*leaf][r.clone()],
            Place::Work(r) => &ws.0[r.clone()],
        }
    }

    /// The number of kernel calls per run.
    pub(crate) fn steps(&self) -> usize {
        self.steps.len()
    }

    /// The names of the kernels, in the order they run.
    pub(crate) fn kernel_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.steps.iter().map(|s| s.work.name())
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
#[derive(Clone, Debug)]
enum Pending {
    /// Values of an input leaf.
    Input(usize, Range<usize>),
    /// Values of the constants, which start the workspace.
    Const(Range<usize>),
    /// Values of a step's output.
    Step(usize, Range<usize>),
}

/// A step whose output is not placed yet: its values' length instead.
struct PendingStep {
    work: Work,
    args: SmallVec<[Pending; 3]>,
    len: usize,
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
        self.steps.push(PendingStep { work, args, len });
        Pending::Step(self.steps.len() - 1, 0..len)
    }

    /// Places each step's output in the workspace: in a part of the same
    /// length whose value is no longer read, or a new one. Outputs keep
    /// theirs.
    fn finish(self, outputs: Vec<Pending>) -> Program {
        let mut last_read = vec![0usize; self.steps.len()];
        for (i, step) in self.steps.iter().enumerate() {
            for a in &step.args {
                if let Pending::Step(s, _) = a {
                    last_read[*s] = i;
                }
            }
        }
        for o in &outputs {
            if let Pending::Step(s, _) = o {
                last_read[*s] = usize::MAX;
            }
        }
        let mut workspace_len = self.consts.len();
        let mut free: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut placed: Vec<Range<usize>> = Vec::with_capacity(self.steps.len());
        let mut steps = Vec::with_capacity(self.steps.len());
        for (i, PendingStep { work, args, len }) in self.steps.into_iter().enumerate() {
            let start = free.get_mut(&len).and_then(Vec::pop).unwrap_or_else(|| {
                workspace_len += len;
                workspace_len - len
            });
            placed.push(start..start + len);
            // A value read for the last time here frees its part for the
            // steps after this one (never for this step's own output).
            for a in &args {
                if let Pending::Step(p, _) = *a
                    && last_read[p] == i
                {
                    last_read[p] = usize::MAX;
                    free.entry(placed[p].len()).or_default().push(placed[p].start);
                }
            }
            let args = args.into_iter().map(|a| a.placed(&placed)).collect();
            steps.push(Step {
                work,
                args,
                out: start..start + len,
            });
        }
        Program {
            steps,
            consts: self.consts,
            outputs: outputs.into_iter().map(|o| o.placed(&placed)).collect(),
            workspace_len,
        }
    }
}

impl Pending {
    /// The number of values.
    fn len(&self) -> usize {
        match self {
            Pending::Input(_, r) | Pending::Const(r) | Pending::Step(_, r) => r.len(),
        }
    }

    /// The part `run` of these values.
    fn narrowed(self, run: Range<usize>) -> Pending {
        let within = |r: Range<usize>| r.start + run.start..r.start + run.end;
        match self {
            Pending::Input(leaf, r) => Pending::Input(leaf, within(r)),
            Pending::Const(r) => Pending::Const(within(r)),
            Pending::Step(s, r) => Pending::Step(s, within(r)),
        }
    }

    /// Where the value is, given where each step's output was placed.
    fn placed(self, placed: &[Range<usize>]) -> Place {
        match self {
            Pending::Input(leaf, r) => Place::Input(leaf, r),
            Pending::Const(r) => Place::Work(r),
            Pending::Step(s, r) => Place::Work(placed[s].start + r.start..placed[s].start + r.end),
        }
    }
}
