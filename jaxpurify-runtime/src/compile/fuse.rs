//! Finding the chains of elementwise kernels a program can fuse.
//!
//! A chain is a run of consecutive steps, each an elementwise kernel of
//! one length (every input of that length or a single value) or a full sum
//! of a value of that length, where no step reads a sum of the same chain
//! (it is only complete at the end) nor part of a value the chain computes
//! (only whole values go from member to member). Consecutive steps only:
//! a chain never moves a kernel past a check, or past anything else, so the
//! program does what it did, in the same order, a part at a time. A chain
//! becomes one [`Fused`] step whose outputs are the values read after it.

use super::fused::{Fused, Member, PARALLEL_MIN_LEN, PART, Role, Source};
use super::program::{Pending, PendingStep, Work};
use smallvec::SmallVec;
use std::ops::Range;

/// How a step can be part of a fused step over `len` positions.
#[derive(Clone, Copy)]
enum Fusable {
    Map(usize),
    Sum(usize),
}

impl Fusable {
    fn len(self) -> usize {
        match self {
            Fusable::Map(len) | Fusable::Sum(len) => len,
        }
    }
}

fn fusable(step: &PendingStep) -> Option<Fusable> {
    let Work::Kernel(kernel) = &step.work else {
        return None;
    };
    if kernel.full_sum() && step.args.len() == 1 {
        return Some(Fusable::Sum(step.args[0].len()));
    }
    let len = step.outs[0];
    let fits = step.args.iter().all(|a| a.len() == len || a.len() == 1);
    (kernel.elementwise() && fits).then_some(Fusable::Map(len))
}

/// `steps` with every chain worth fusing replaced by one fused step, and
/// `outputs` (and every argument) renamed to match.
pub(super) fn fuse(steps: Vec<PendingStep>, outputs: Vec<Pending>) -> (Vec<PendingStep>, Vec<Pending>) {
    let chains = find_chains(&steps);
    if chains.is_empty() {
        return (steps, outputs);
    }
    let mut chain_of = vec![usize::MAX; steps.len()];
    for (c, chain) in chains.iter().enumerate() {
        chain_of[chain.clone()].fill(c);
    }
    let readers = Readers::of(&steps, &outputs, &chain_of);
    let mut renamed: Vec<Option<(usize, usize)>> = vec![None; steps.len()];
    let mut fused_steps = Vec::with_capacity(steps.len());
    let mut steps: Vec<Option<PendingStep>> = steps.into_iter().map(Some).collect();
    let mut s = 0;
    while s < steps.len() {
        let index = fused_steps.len();
        match chains.get(chain_of[s]) {
            Some(chain) => {
                let members = steps[chain.clone()].iter_mut().map(|m| m.take().expect("once"));
                let (step, names) = fused_step(members, chain.start, &readers, &renamed);
                for (member, slot) in names {
                    renamed[member] = Some((index, slot));
                }
                fused_steps.push(step);
                s = chain.end;
            }
            None => {
                let mut step = steps[s].take().expect("once");
                step.args = step.args.into_iter().map(|a| rename(a, &renamed)).collect();
                fused_steps.push(step);
                renamed[s] = Some((index, 0));
                s += 1;
            }
        }
    }
    let outputs = outputs.into_iter().map(|o| rename(o, &renamed)).collect();
    (fused_steps, outputs)
}

/// The runs of consecutive steps to fuse: two or more longer than a part
/// (shorter values stay in the cache anyway, and a step of its own calls
/// its kernel with less bookkeeping), or one long enough to share between
/// threads.
fn find_chains(steps: &[PendingStep]) -> Vec<Range<usize>> {
    let mut chains = Vec::new();
    let mut start = 0;
    while start < steps.len() {
        let Some(first) = fusable(&steps[start]) else {
            start += 1;
            continue;
        };
        let len = first.len();
        let mut end = start + 1;
        while end < steps.len() && joins(&steps[end], len, start, steps) {
            end += 1;
        }
        if (end - start >= 2 && len > PART) || len >= PARALLEL_MIN_LEN {
            chains.push(start..end);
        }
        start = end;
    }
    chains
}

/// Whether `step` can follow a chain of length `len` that began at step
/// `start`.
fn joins(step: &PendingStep, len: usize, start: usize, steps: &[PendingStep]) -> bool {
    if fusable(step).is_none_or(|f| f.len() != len) {
        return false;
    }
    step.args.iter().all(|a| match a {
        Pending::Step(s, _, range) if *s >= start => {
            matches!(fusable(&steps[*s]), Some(Fusable::Map(_))) && *range == (0..len)
        }
        _ => true,
    })
}

/// For each step, whether a step outside its chain (or the program's
/// output) reads it, and the last member of its chain that does.
struct Readers {
    outside: Vec<bool>,
    last_inside: Vec<Option<usize>>,
}

impl Readers {
    fn of(steps: &[PendingStep], outputs: &[Pending], chain_of: &[usize]) -> Readers {
        let mut readers = Readers {
            outside: vec![false; steps.len()],
            last_inside: vec![None; steps.len()],
        };
        for (reader, step) in steps.iter().enumerate() {
            for a in &step.args {
                if let Pending::Step(s, _, _) = a {
                    match chain_of[*s] != usize::MAX && chain_of[*s] == chain_of[reader] {
                        true => readers.last_inside[*s] = Some(reader),
                        false => readers.outside[*s] = true,
                    }
                }
            }
        }
        for o in outputs {
            if let Pending::Step(s, _, _) = o {
                readers.outside[*s] = true;
            }
        }
        readers
    }
}

/// The fused step of the chain `members` (the steps from `first` on), and
/// for each member read after the chain the output that holds it.
fn fused_step(
    members: impl Iterator<Item = PendingStep>,
    first: usize,
    readers: &Readers,
    renamed: &[Option<(usize, usize)>],
) -> (PendingStep, Vec<(usize, usize)>) {
    let mut builder = ChainBuilder::default();
    for (k, step) in members.enumerate() {
        builder.add(first + k, step, readers, renamed);
    }
    builder.finish()
}

/// A fused step as its members are added.
#[derive(Default)]
struct ChainBuilder {
    len: usize,
    members: Vec<Member>,
    args: SmallVec<[Pending; 3]>,
    /// Where each map member writes.
    written: Vec<(usize, Source)>,
    free_slots: Vec<usize>,
    slots: usize,
    /// Members read after the chain: (step, long output or sum, is a sum).
    outputs: Vec<(usize, usize, bool)>,
    long_outputs: usize,
    sums: usize,
}

impl ChainBuilder {
    fn add(&mut self, s: usize, step: PendingStep, readers: &Readers, renamed: &[Option<(usize, usize)>]) {
        let kind = fusable(&step).expect("chains hold fusable steps");
        self.len = kind.len();
        let sources = step.args.iter().map(|a| self.source(a, renamed)).collect();
        let role = match kind {
            Fusable::Map(_) if readers.outside[s] => {
                self.written.push((s, Source::Output(self.long_outputs)));
                self.outputs.push((s, self.long_outputs, false));
                self.long_outputs += 1;
                Role::Output(self.long_outputs - 1)
            }
            Fusable::Map(_) => {
                let slot = self.free_slots.pop().unwrap_or_else(|| {
                    self.slots += 1;
                    self.slots - 1
                });
                self.written.push((s, Source::Slot(slot)));
                Role::Slot(slot)
            }
            Fusable::Sum(_) => {
                self.outputs.push((s, self.sums, true));
                self.sums += 1;
                Role::Sum(self.sums - 1)
            }
        };
        // Slots read for the last time here are free for the members after
        // (once, however many times this member reads them).
        for (k, a) in step.args.iter().enumerate() {
            if let Pending::Step(p, _, _) = a
                && readers.last_inside[*p] == Some(s)
                && !step.args[..k].contains(a)
                && let Some(Source::Slot(slot)) = self.written_by(*p)
            {
                self.free_slots.push(slot);
            }
        }
        let Work::Kernel(kernel) = step.work else {
            unreachable!("chains hold kernels")
        };
        self.members.push(Member {
            kernel,
            sources,
            role,
        });
    }

    /// Where member `s` writes its parts, if it is one.
    fn written_by(&self, s: usize) -> Option<Source> {
        self.written.iter().find(|(m, _)| *m == s).map(|&(_, w)| w)
    }

    /// Where a member reads `arg`: a member's part, or an argument of the
    /// fused step (added once).
    fn source(&mut self, arg: &Pending, renamed: &[Option<(usize, usize)>]) -> Source {
        if let Pending::Step(p, _, _) = arg
            && let Some(written) = self.written_by(*p)
        {
            return written;
        }
        let arg = rename(arg.clone(), renamed);
        let index = self.args.iter().position(|a| *a == arg).unwrap_or_else(|| {
            self.args.push(arg.clone());
            self.args.len() - 1
        });
        match arg.len() == self.len {
            true => Source::Long(index),
            false => Source::Single(index),
        }
    }

    fn finish(self) -> (PendingStep, Vec<(usize, usize)>) {
        let mut outs: SmallVec<[usize; 1]> = SmallVec::from_elem(self.len, self.long_outputs);
        outs.extend(std::iter::repeat_n(1, self.sums));
        let names = self
            .outputs
            .iter()
            .map(|&(s, k, sum)| (s, if sum { self.long_outputs + k } else { k }))
            .collect();
        let fused = Fused {
            len: self.len,
            members: self.members,
            slots: self.slots,
            long_outputs: self.long_outputs,
            sums: self.sums,
        };
        let step = PendingStep {
            work: Work::Fused(Box::new(fused)),
            args: self.args,
            outs,
        };
        (step, names)
    }
}

/// `p` with the step it names renamed to its place in the fused program.
fn rename(p: Pending, renamed: &[Option<(usize, usize)>]) -> Pending {
    match p {
        Pending::Step(s, _, range) => {
            let (step, slot) = renamed[s].expect("a value read after its chain is one of its outputs");
            Pending::Step(step, slot, range)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use crate::compile::check::check;
    use crate::compile::fused::{PARALLEL_MIN_LEN, PART};
    use crate::testing::assert_compiles_exactly;
    use crate::{Error, Tensor, compile, value_and_grad, where_};

    /// `n` values from -3 to 3 in a scrambled order, none repeated.
    fn long(n: usize, shift: f64) -> Tensor {
        let values = (0..n)
            .map(|i| ((i * 7919) % n) as f64 / n as f64 * 6.0 - 3.0 + shift)
            .collect();
        Tensor::from_vec(values, [n]).unwrap()
    }

    /// A loss of elementwise ops with a mask, a branch and a full sum.
    fn loss(x: &Tensor) -> Tensor {
        let y = (x * 1.5 - 0.25).sin() * x.exp() + x.relu();
        let z = where_(&x.gt(0.5), &y, x.abs() * 2.0);
        (z.square() + 1.0).ln().sum() + (x / 3.0).tanh().sum()
    }

    #[test]
    fn fused_chains_give_the_direct_call_s_bits_and_fewer_steps() {
        // Lengths around the part size, not multiples of it: one part, a
        // few parts with a short last one, a sum over several runs of
        // SUM_CHUNK values.
        for n in [PART + 1, 3 * PART + 5, 20_000] {
            let f = |x: &Tensor| value_and_grad(loss, x);
            let compiled = compile(f, &long(n, 0.0)).unwrap();
            let kernels: usize = compiled.step_counts().iter().map(|(_, c)| c).sum();
            assert!(
                compiled.num_steps() * 2 < kernels,
                "{n}: {} of {kernels}",
                compiled.num_steps()
            );
            // The masks (relu, x > 0.5, |x|) fall elsewhere at the other points.
            let points = [long(n, 0.7), long(n, -1.3)];
            assert_compiles_exactly(f, &long(n, 0.0), &points);
        }
    }

    #[test]
    fn long_chains_give_the_same_bits_on_any_number_of_threads() {
        let n = 2 * PARALLEL_MIN_LEN + 12_345;
        let f = |x: &Tensor| value_and_grad(loss, x);
        let x = long(n, 0.3);
        let compiled = compile(f, &x).unwrap();
        let direct = f(&x);
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let (value, gradient) = pool.install(|| compiled.call(&x)).unwrap();
            assert_eq!(
                value.item().to_bits(),
                direct.0.item().to_bits(),
                "{threads} threads"
            );
            let same = gradient.as_slice().iter().zip(direct.1.as_slice());
            assert!(
                same.into_iter().all(|(a, b)| a.to_bits() == b.to_bits()),
                "{threads} threads"
            );
        }
    }

    #[test]
    fn a_check_between_kernels_stays_in_its_place() {
        // The check reads a value the first chain computes and guards the
        // second: a program that fails it computes nothing after it.
        let f = |x: &Tensor| -> crate::Result<Tensor> {
            let y = (x * 2.0 + 1.0).exp();
            let total = y.sum();
            check("below_a_million", &[&total], |v| match v[0][0] < 1e6 {
                true => Ok(()),
                false => Err(Error::InvalidArgument {
                    op: "test",
                    message: "too large".into(),
                }),
            })?;
            Ok((y.ln() * 3.0 - x).square().sum())
        };
        let n = 4 * PART + 3;
        crate::testing::assert_compiles_with_errors(f, &long(n, -2.0), &[long(n, -2.5), long(n, 1.0)]);
    }
}
