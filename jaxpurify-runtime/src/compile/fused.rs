//! A fused step: a chain of elementwise kernels of one length (and the full
//! sums that end it) run together, part by part, so that each value
//! between two of them lives in a small buffer that stays in the cache
//! instead of a buffer of the whole length that goes to memory and back.
//!
//! Every kernel computes each part exactly as it computes the whole (the
//! [`elementwise`](Kernel::elementwise) contract), and sums add their parts
//! in the order of [`full_sum`], so a fused step gives the bits of its
//! kernels run one after another. The parts of a long step are shared
//! between threads in runs of [`SUM_CHUNK`] values, which is also how sums
//! split their values, so the bits do not depend on the number of threads
//! either.

use super::kernel::Kernel;
use crate::ops::broadcast::{LaneSum, SUM_CHUNK};
use smallvec::SmallVec;
use std::ops::Range;

/// The values each member computes at a time: small enough that a chain's
/// parts stay in the first-level cache, long enough that a kernel's loop
/// amortises its call.
pub(crate) const PART: usize = 256;

const _: () = assert!(SUM_CHUNK % PART == 0 && PART % 4 == 0);

/// Steps at least this long share their values between threads: below it,
/// waking a second thread (several microseconds) costs more than it saves.
pub(crate) const PARALLEL_MIN_LEN: usize = 1 << 16;

/// Where a member reads one of its inputs.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Source {
    /// The part of an earlier member's value that only the chain reads,
    /// in its slot of the scratch.
    Slot(usize),
    /// The part of an earlier member's value that is also an output of
    /// the step, where it was written.
    Output(usize),
    /// The same part of an argument of the step's length.
    Long(usize),
    /// A single value, the whole argument.
    Single(usize),
}

/// What a member does with its part.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Role {
    /// Writes it into a slot of the scratch.
    Slot(usize),
    /// Writes it into long output `k` of the step (a value read after it).
    Output(usize),
    /// Adds it to sum `k`, written after the last part into the output
    /// after the long ones.
    Sum(usize),
}

/// One kernel of a fused step.
pub(crate) struct Member {
    pub(crate) kernel: Box<dyn Kernel>,
    pub(crate) sources: SmallVec<[Source; 3]>,
    pub(crate) role: Role,
}

/// Kernels run together part by part over `len` positions. The step's
/// output holds its long outputs, `len` values each, then its sums.
pub(crate) struct Fused {
    pub(crate) len: usize,
    pub(crate) members: Vec<Member>,
    pub(crate) slots: usize,
    pub(crate) long_outputs: usize,
    pub(crate) sums: usize,
}

/// The sums of the runs of [`SUM_CHUNK`] values a thread computed, one
/// after another for each run: at most a few without allocating.
type Partials = SmallVec<[f64; 8]>;

/// The long outputs of a fused step, or the parts of them a thread writes.
type Outputs<'a> = SmallVec<[&'a mut [f64]; 4]>;

impl Fused {
    /// The scratch a run needs: one part per slot.
    pub(crate) fn scratch_len(&self) -> usize {
        self.slots * PART
    }

    /// Runs every member over every part: reads the step's arguments
    /// `args`, writes its outputs into `out`, uses `scratch` (at least
    /// [`scratch_len`](Fused::scratch_len) long) in between.
    pub(crate) fn run(&self, args: &[&[f64]], out: &mut [f64], scratch: &mut [f64]) {
        let chunks = self.len.div_ceil(SUM_CHUNK).max(1);
        let (mut long, sums) = out.split_at_mut(self.long_outputs * self.len);
        let mut outputs: Outputs = SmallVec::new();
        for _ in 0..self.long_outputs {
            let (output, rest) = std::mem::take(&mut long).split_at_mut(self.len);
            outputs.push(output);
            long = rest;
        }
        let mut partials: Partials = SmallVec::from_elem(0.0, chunks * self.sums);
        let threads = if self.len >= PARALLEL_MIN_LEN {
            rayon::current_num_threads().min(chunks)
        } else {
            1
        };
        self.run_chunks(0..chunks, args, &mut outputs, &mut partials, scratch, threads);
        for (s, total) in sums.iter_mut().enumerate() {
            let mut parts = partials.iter().skip(s).step_by(self.sums.max(1));
            let first = *parts.next().expect("at least one run");
            *total = parts.fold(first, |acc, &p| acc + p);
        }
    }

    /// Runs `chunks` (runs of [`SUM_CHUNK`] positions), halved recursively
    /// over `threads` threads; `outputs` and `partials` cover these runs.
    fn run_chunks(
        &self,
        chunks: Range<usize>,
        args: &[&[f64]],
        outputs: &mut [&mut [f64]],
        partials: &mut [f64],
        scratch: &mut [f64],
        threads: usize,
    ) {
        if threads < 2 || chunks.len() < 2 {
            for (k, chunk) in chunks.clone().enumerate() {
                let start = chunk * SUM_CHUNK;
                let positions = start..(start + SUM_CHUNK).min(self.len);
                let base = chunks.start * SUM_CHUNK;
                let sums = &mut partials[k * self.sums..(k + 1) * self.sums];
                self.run_chunk(positions, base, args, outputs, sums, scratch);
            }
            return;
        }
        let middle = chunks.start + chunks.len() / 2;
        let cut = (middle - chunks.start) * SUM_CHUNK;
        let (mut first, mut second): (Outputs, Outputs) =
            outputs.iter_mut().map(|o| o.split_at_mut(cut)).unzip();
        let (first_partials, second_partials) = partials.split_at_mut((middle - chunks.start) * self.sums);
        let mut own = vec![0.0; self.scratch_len()];
        rayon::join(
            || {
                self.run_chunks(
                    chunks.start..middle,
                    args,
                    &mut first,
                    first_partials,
                    scratch,
                    threads / 2,
                )
            },
            || {
                let rest = threads - threads / 2;
                self.run_chunks(
                    middle..chunks.end,
                    args,
                    &mut second,
                    second_partials,
                    &mut own,
                    rest,
                )
            },
        );
    }

    /// Runs the members over `positions`, a part at a time; `outputs` start
    /// at position `base`, and `sums` gets this run's sums.
    fn run_chunk(
        &self,
        positions: Range<usize>,
        base: usize,
        args: &[&[f64]],
        outputs: &mut [&mut [f64]],
        sums: &mut [f64],
        scratch: &mut [f64],
    ) {
        let mut lanes: SmallVec<[LaneSum; 4]> = SmallVec::from_elem(LaneSum::default(), self.sums);
        let mut start = positions.start;
        loop {
            let end = (start + PART).min(positions.end);
            let part = Part {
                positions: start..end,
                written: start - base..end - base,
            };
            for member in &self.members {
                match member.role {
                    Role::Sum(k) => lanes[k].feed(part.read(member.sources[0], args, outputs, scratch)),
                    Role::Slot(slot) => {
                        let (before, rest) = scratch.split_at_mut(slot * PART);
                        let (mine, after) = rest.split_at_mut(PART);
                        let read = |source: Source| match source {
                            Source::Slot(s) if s < slot => &before[s * PART..s * PART + part.len()],
                            Source::Slot(s) => &after[(s - slot - 1) * PART..][..part.len()],
                            other => part.read(other, args, outputs, &[]),
                        };
                        run_kernel(member, read, &mut mine[..part.len()]);
                    }
                    Role::Output(k) => {
                        let (before, rest) = outputs.split_at_mut(k);
                        let (mine, after) = rest.split_first_mut().expect("output k");
                        let read = |source: Source| match source {
                            Source::Output(o) if o < k => &before[o][part.written.clone()],
                            Source::Output(o) => &after[o - k - 1][part.written.clone()],
                            other => part.read(other, args, &[], scratch),
                        };
                        run_kernel(member, read, &mut mine[part.written.clone()]);
                    }
                }
            }
            start = end;
            if start >= positions.end {
                break;
            }
        }
        for (total, lane) in sums.iter_mut().zip(&lanes) {
            *total = lane.finish();
        }
    }
}

/// The part of the positions a fused step computes at a time, and where it
/// lies in the outputs of the thread computing it.
struct Part {
    positions: Range<usize>,
    written: Range<usize>,
}

impl Part {
    fn len(&self) -> usize {
        self.positions.len()
    }

    /// The values of `source` for this part.
    fn read<'a>(
        &self,
        source: Source,
        args: &[&'a [f64]],
        outputs: &'a [&'a mut [f64]],
        scratch: &'a [f64],
    ) -> &'a [f64] {
        match source {
            Source::Slot(s) => &scratch[s * PART..s * PART + self.len()],
            Source::Output(o) => &outputs[o][self.written.clone()],
            Source::Long(a) => &args[a][self.positions.clone()],
            Source::Single(a) => args[a],
        }
    }
}

/// Runs `member`'s kernel on the values `read` gives for its sources.
fn run_kernel<'a>(member: &Member, read: impl Fn(Source) -> &'a [f64], out: &mut [f64]) {
    // Filled in place: collecting into a `SmallVec` goes through its generic
    // `extend`, which cost more than the kernels of a short chain.
    let mut inputs: [&[f64]; 4] = [&[]; 4];
    if member.sources.len() <= inputs.len() {
        for (input, &source) in inputs.iter_mut().zip(&member.sources) {
            *input = read(source);
        }
        member.kernel.run(&inputs[..member.sources.len()], out);
    } else {
        let inputs: Vec<&[f64]> = member.sources.iter().map(|&s| read(s)).collect();
        member.kernel.run(&inputs, out);
    }
}
