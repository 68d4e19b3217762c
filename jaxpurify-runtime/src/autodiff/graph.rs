//! The recorded graph: tapes, differentiation levels, and the reverse sweep.
//!
//! Every call of `grad`/`vjp` opens a new *level* (a unique, increasing id)
//! with its own [`Tape`]: the ops that depend on that level's variables, in
//! the order they ran. A tensor that depends on the variables of a level
//! carries one [`Track`] for it: its entry on that level's tape. An op records
//! one entry per level present among its inputs, and each entry saves its
//! inputs and output *stripped* of its own level and of every level opened
//! after it. The backward rule of a level-`L` entry therefore computes with
//! values that only carry outer levels: its arithmetic is recorded for those
//! outer levels (so gradients of gradients work) and never for `L` itself (so
//! nested differentiation cannot confuse perturbations).
//!
//! An entry's inputs were recorded before it, so the reverse sweep walks the
//! tape backwards from the outputs: no search, no ordering, and the whole
//! record is freed at once when the last tensor of the level goes.

use crate::batching::{BatchRule, BatchTrace};
use crate::compile::check::Check;
use crate::compile::kernel::{Kernel, eval_recorded};
use crate::compile::trace::{Source, Trace};
use crate::tensor::Tensor;
use smallvec::SmallVec;
use std::cell::Cell;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

/// Identifies one differentiation (one `grad`/`vjp` call).
pub(crate) type Level = u64;

static NEXT_LEVEL: AtomicU64 = AtomicU64::new(1);

/// The ops recorded for one level, in the order they ran.
pub(crate) struct Tape {
    level: Level,
    records: Mutex<Records>,
    /// The thread sweeping this tape (see [`thread_token`]), 0 when none: a
    /// rule that records onto the level it is differentiating would wait for
    /// itself, and panics instead.
    sweeper: AtomicUsize,
    /// For the tape of a [`compile`](crate::compile()), which is never
    /// swept: the kernels of the ops that depend on the traced inputs.
    trace: Option<Mutex<Trace>>,
    /// For the tape of a [`vmap`](crate::vmap()), which is never swept: how
    /// to compute each op that depends on its first slice for every slice.
    batch: Option<Mutex<BatchTrace>>,
}

/// The entries of a tape. Each op's inputs and output follow each other in
/// `values`, with the entry each input came from at the same position of
/// `parents`, so an entry itself stays small and recording an op moves only
/// its tensors.
#[derive(Default)]
struct Records {
    entries: Vec<Entry>,
    values: Vec<Tensor>,
    parents: Vec<u32>,
}

/// `parents` of an input that does not depend on the tape's level, and of
/// every output.
pub(crate) const NO_PARENT: u32 = u32::MAX;

/// A recorded op as one level sees it: where its inputs and output start in
/// [`Records::values`], how many inputs it has, and its rule. Variables
/// (leaves) have no rule and no values.
struct Entry {
    first: u32,
    inputs: u32,
    rule: Option<Box<dyn Rule>>,
}

/// A recorded op's rule and output.
type Op = (Box<dyn Rule>, Tensor);

impl Records {
    /// Appends an op with `inputs` (stripped for this level, each with the
    /// entry it came from), or a leaf when `op` is `None`; returns the
    /// entry's position.
    fn push(&mut self, op: Option<Op>, inputs: impl Iterator<Item = (Tensor, u32)>) -> u32 {
        let as_u32 = |n: usize| u32::try_from(n).expect("at most 2^32 records per differentiation");
        let (index, first) = (as_u32(self.entries.len()), self.values.len());
        for (value, parent) in inputs {
            self.values.push(value);
            self.parents.push(parent);
        }
        let count = self.values.len() - first;
        let rule = op.map(|(rule, output)| {
            self.values.push(output);
            self.parents.push(NO_PARENT);
            rule
        });
        self.entries.push(Entry {
            first: as_u32(first),
            inputs: as_u32(count),
            rule,
        });
        index
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.values.clear();
        self.parents.clear();
    }
}

impl Tape {
    /// A tape for a fresh level, greater than every level opened before it.
    /// Only the order of levels carried by one tensor matters, so results do
    /// not depend on how threads interleave.
    pub(crate) fn open() -> Arc<Tape> {
        Arc::new(Tape {
            level: NEXT_LEVEL.fetch_add(1, Ordering::Relaxed),
            records: Mutex::new(SPARE_RECORDS.with(Cell::take)),
            sweeper: AtomicUsize::new(0),
            trace: None,
            batch: None,
        })
    }

    /// A tape that traces a function for [`compile`](crate::compile()):
    /// every op that depends on its variables records its kernel here.
    pub(crate) fn open_trace() -> Arc<Tape> {
        Arc::new(Tape {
            level: NEXT_LEVEL.fetch_add(1, Ordering::Relaxed),
            records: Mutex::new(Records::default()),
            sweeper: AtomicUsize::new(0),
            trace: Some(Mutex::new(Trace::default())),
            batch: None,
        })
    }

    /// A tape that records, for [`vmap`](crate::vmap()), how every op that
    /// depends on its variables computes for a whole batch.
    pub(crate) fn open_batch() -> Arc<Tape> {
        Arc::new(Tape {
            level: NEXT_LEVEL.fetch_add(1, Ordering::Relaxed),
            records: Mutex::new(Records::default()),
            sweeper: AtomicUsize::new(0),
            trace: None,
            batch: Some(Mutex::new(BatchTrace::default())),
        })
    }

    /// The record of a batch tape.
    pub(crate) fn batch(&self) -> Option<MutexGuard<'_, BatchTrace>> {
        let batch = self.batch.as_ref()?;
        Some(batch.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Takes the record of a tracing tape.
    pub(crate) fn take_trace(&self) -> Trace {
        std::mem::take(&mut *self.trace().expect("a tracing tape"))
    }

    /// The trace of a tracing tape.
    pub(crate) fn trace(&self) -> Option<MutexGuard<'_, Trace>> {
        let trace = self.trace.as_ref()?;
        Some(trace.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub(crate) fn level(&self) -> Level {
        self.level
    }

    fn lock_to_record(&self) -> MutexGuard<'_, Records> {
        match self.records.try_lock() {
            Ok(records) => records,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => {
                assert_ne!(
                    self.sweeper.load(Ordering::Relaxed),
                    thread_token(),
                    "a derivative rule recorded an op on the level it differentiates: \
                     rules must not capture tensors that need a gradient (pass them as inputs)"
                );
                self.records.lock().unwrap_or_else(PoisonError::into_inner)
            }
        }
    }

    /// Holds the tape for a reverse sweep on this thread.
    fn sweep(&self) -> Sweep<'_> {
        let records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        self.sweeper.store(thread_token(), Ordering::Relaxed);
        Sweep { tape: self, records }
    }
}

thread_local! {
    /// The emptied records of the last tape dropped on this thread, so that
    /// repeated gradients of one model record without reallocating.
    static SPARE_RECORDS: Cell<Records> = Cell::new(Records::default());
}

/// The most values (and entries) kept for reuse: about 1 MB of tensors.
const SPARE_CAPACITY: usize = 1 << 13;

impl Drop for Tape {
    fn drop(&mut self) {
        let mut records = std::mem::take(self.records.get_mut().unwrap_or_else(PoisonError::into_inner));
        // Values are freed one after another here, however long the chain
        // of ops they record; only tapes of outer levels can be freed inside.
        records.clear();
        if records.values.capacity().max(records.entries.capacity()) <= SPARE_CAPACITY {
            // During thread teardown the slot may be gone; the records are
            // then simply freed.
            let _ = SPARE_RECORDS.try_with(|spare| spare.set(records));
        }
    }
}

/// A tape held by the thread sweeping it.
struct Sweep<'a> {
    tape: &'a Tape,
    records: MutexGuard<'a, Records>,
}

impl Drop for Sweep<'_> {
    fn drop(&mut self) {
        self.tape.sweeper.store(0, Ordering::Relaxed);
    }
}

/// A number unique to the calling thread among living threads (the address
/// of a thread-local), never 0.
fn thread_token() -> usize {
    thread_local!(static TOKEN: u8 = const { 0 });
    TOKEN.with(|t| t as *const u8 as usize)
}

/// A tensor's entry on the tape of one level.
#[derive(Clone)]
pub(crate) struct Track {
    tape: Arc<Tape>,
    index: u32,
}

impl Track {
    fn level(&self) -> Level {
        self.tape.level
    }

    /// The tensor's entry on the tape.
    pub(crate) fn index(&self) -> u32 {
        self.index
    }
}

/// The tracks of a tensor, sorted by increasing level.
pub(crate) type Tracks = SmallVec<[Track; 1]>;

/// A copy of `tracks`, pushed one by one: `SmallVec`'s `clone` and
/// `collect` go through its generic `extend`, several times slower for the
/// one or two tracks a tensor carries.
pub(crate) fn copy_tracks(tracks: &[Track]) -> Tracks {
    let mut copy = Tracks::new();
    for track in tracks {
        copy.push(track.clone());
    }
    copy
}

/// What a backward rule sees: the op's inputs and output (values only, as far
/// as this level is concerned) and the gradient flowing into the output.
pub struct Ctx<'a> {
    /// The op's inputs, in the order they were recorded.
    pub inputs: &'a [Tensor],
    /// The op's output.
    pub output: &'a Tensor,
    /// The gradient of the final result with respect to `output`.
    pub grad: &'a Tensor,
    /// The entry each input came from, [`NO_PARENT`] for a constant.
    parents: &'a [u32],
}

impl Ctx<'_> {
    /// Whether input `i` needs a gradient at this level; rules may skip the
    /// others and return `None` for them.
    pub fn needs(&self, i: usize) -> bool {
        self.parents[i] != NO_PARENT
    }
}

/// Gradients for an op's inputs, `None` where an input gets none.
pub type Grads = SmallVec<[Option<Tensor>; 2]>;

/// A backward rule: gradients of the inputs from [`Ctx`]. It must be written
/// with differentiable tensor ops so that higher orders work, and capture no
/// tensor that needs a gradient (pass those as inputs instead: a rule that
/// records onto the level it differentiates panics).
pub trait Rule: Send + Sync + 'static {
    /// Computes the input gradients.
    fn backward(&self, ctx: &Ctx) -> Grads;
}

impl<F> Rule for F
where
    F: Fn(&Ctx) -> Grads + Send + Sync + 'static,
{
    fn backward(&self, ctx: &Ctx) -> Grads {
        self(ctx)
    }
}

impl Tensor {
    /// This tensor's entry on the tape of `level`, if it depends on that level.
    pub(crate) fn track_at(&self, level: Level) -> Option<&Track> {
        self.tracks().iter().find(|t| t.level() == level)
    }

    /// Where a traced function's output comes from: its node on the trace
    /// of `level`, or its value when it does not depend on the inputs.
    pub(crate) fn trace_source(&self, level: Level) -> Source {
        match self.track_at(level) {
            Some(track) => Source::Node(track.index),
            None => Source::Const(self.without_tracks()),
        }
    }

    /// The tracks of tracing and batch tapes only: what a view of the same
    /// values with another shape keeps, since it still depends on a traced
    /// function's inputs (the op that makes the view records it).
    pub(crate) fn trace_tracks(&self) -> Tracks {
        let mut kept = Tracks::new();
        for track in self.tracks() {
            if track.tape.trace.is_some() || track.tape.batch.is_some() {
                kept.push(track.clone());
            }
        }
        kept
    }

    /// The same values cut off from differentiation ([`Tensor::detach`]):
    /// a trace's tracks stay as they are, since the value still depends on
    /// the traced inputs; on a batch tape the value becomes an op of its
    /// own, which detaches the whole batch.
    pub(crate) fn detached(&self) -> Tensor {
        let mut kept = Tracks::new();
        for track in self.tracks() {
            if track.tape.trace.is_some() {
                kept.push(track.clone());
            } else if let Some(mut batch) = track.tape.batch() {
                let source = (track.index, self.strip_from(track.level()));
                let index = batch.push_op(Some(detach_batch), std::iter::once(source), self.shape().clone());
                kept.push(Track {
                    tape: track.tape.clone(),
                    index,
                });
            }
        }
        self.with_tracks(kept)
    }

    /// The same values, keeping only the tracks of levels opened before `level`.
    pub(crate) fn strip_from(&self, level: Level) -> Tensor {
        let keep = self.tracks().iter().take_while(|t| t.level() < level).count();
        if keep == self.tracks().len() {
            return self.clone();
        }
        self.with_tracks(copy_tracks(&self.tracks()[..keep]))
    }

    /// Makes this tensor a variable of `tape`'s level, which must be newer
    /// than every level it already carries.
    pub(crate) fn track_as_leaf(&self, tape: &Arc<Tape>) -> Tensor {
        let mut tracks = copy_tracks(self.tracks());
        debug_assert!(tracks.last().is_none_or(|t| t.level() < tape.level));
        let index = match (tape.trace(), tape.batch()) {
            (Some(mut trace), _) => trace.push_input(self.shape().clone()),
            (None, Some(mut batch)) => batch.push_input(self.shape().clone()),
            (None, None) => tape.lock_to_record().push(None, std::iter::empty()),
        };
        tracks.push(Track {
            tape: tape.clone(),
            index,
        });
        self.with_tracks(tracks)
    }
}

/// The batch rule of [`Tensor::detach`].
fn detach_batch(batch: &crate::batching::Batch) -> Option<Tensor> {
    Some(batch.inputs[0].detach())
}

/// Attaches `rule` to `output` (computed from `inputs` without recording), one
/// entry per level carried by any input. When no input needs a gradient this
/// returns `output` at once: untracked arithmetic pays nothing for autodiff.
///
/// An op recorded this way has no kernel, so a function that uses it on
/// traced values cannot be [`compile`](crate::compile())d.
#[track_caller]
pub fn record(
    output: Tensor,
    inputs: &[&Tensor],
    rule: impl Fn(&Ctx) -> Grads + Clone + Send + Sync + 'static,
) -> Tensor {
    // No kernel: the type parameter is only a placeholder.
    record_with::<crate::compile::kernel::Copy>(output, inputs, Err(Location::caller()), Some(rule), None)
}

/// [`record`] for an op of this crate, whose `kernel` computed `output` from
/// the inputs' values and can compute it again in a compiled program.
pub(crate) fn record_op<K: Kernel + Clone>(
    output: Tensor,
    inputs: &[&Tensor],
    kernel: &K,
    rule: impl Fn(&Ctx) -> Grads + Clone + Send + Sync + 'static,
) -> Tensor {
    record_with(output, inputs, Ok(kernel), Some(rule), None)
}

/// [`record_op`] for an op that a [`vmap`](crate::vmap()) computes for a
/// whole batch at once with `batch`.
pub(crate) fn record_op_batched<K: Kernel + Clone>(
    output: Tensor,
    inputs: &[&Tensor],
    kernel: &K,
    rule: impl Fn(&Ctx) -> Grads + Clone + Send + Sync + 'static,
    batch: BatchRule,
) -> Tensor {
    record_with(output, inputs, Ok(kernel), Some(rule), Some(batch))
}

/// Records an op whose derivative is zero wherever it exists (a comparison,
/// a sign, an index): nothing for differentiation, only its kernel for a
/// traced function, whose compiled form must compute it again.
pub(crate) fn record_constant<K: Kernel + Clone>(output: Tensor, inputs: &[&Tensor], kernel: &K) -> Tensor {
    record_with(output, inputs, Ok(kernel), None::<fn(&Ctx) -> Grads>, None)
}

/// Computes an op's output with `kernel` and records it with `rule`.
pub(crate) fn apply_op<K: Kernel + Clone>(
    kernel: &K,
    inputs: &[&Tensor],
    shape: crate::shape::Shape,
    rule: impl Fn(&Ctx) -> Grads + Clone + Send + Sync + 'static,
) -> Tensor {
    let output = eval_recorded(kernel, inputs, shape);
    record_op(output, inputs, kernel, rule)
}

/// [`apply_op`] for an op that a [`vmap`](crate::vmap()) computes for a
/// whole batch at once with `batch`.
pub(crate) fn apply_op_batched<K: Kernel + Clone>(
    kernel: &K,
    inputs: &[&Tensor],
    shape: crate::shape::Shape,
    rule: impl Fn(&Ctx) -> Grads + Clone + Send + Sync + 'static,
    batch: BatchRule,
) -> Tensor {
    let output = eval_recorded(kernel, inputs, shape);
    record_op_batched(output, inputs, kernel, rule, batch)
}

/// Computes the output of an op with zero derivative (see
/// [`record_constant`]) with `kernel`, recorded for traces only.
pub(crate) fn apply_constant<K: Kernel + Clone>(
    kernel: &K,
    inputs: &[&Tensor],
    shape: crate::shape::Shape,
) -> Tensor {
    let output = eval_recorded(kernel, inputs, shape);
    record_constant(output, inputs, kernel)
}

/// [`apply_constant`] for an op that a [`vmap`](crate::vmap()) computes for
/// a whole batch at once with `batch`.
pub(crate) fn apply_constant_batched<K: Kernel + Clone>(
    kernel: &K,
    inputs: &[&Tensor],
    shape: crate::shape::Shape,
    batch: BatchRule,
) -> Tensor {
    let output = eval_recorded(kernel, inputs, shape);
    record_with(output, inputs, Ok(kernel), None::<fn(&Ctx) -> Grads>, Some(batch))
}

/// The kernel of an op, or where an op without one was recorded.
type KernelOrSite<'a, K> = Result<&'a K, &'static Location<'static>>;

fn record_with<K: Kernel + Clone>(
    output: Tensor,
    inputs: &[&Tensor],
    kernel: KernelOrSite<'_, K>,
    rule: Option<impl Fn(&Ctx) -> Grads + Clone + Send + Sync + 'static>,
    batch: Option<BatchRule>,
) -> Tensor {
    let mut tapes: SmallVec<[&Arc<Tape>; 4]> = SmallVec::new();
    for t in inputs {
        for track in t.tracks() {
            let wanted = rule.is_some() || track.tape.trace.is_some() || track.tape.batch.is_some();
            if wanted && !tapes.iter().any(|tape| Arc::ptr_eq(tape, &track.tape)) {
                tapes.push(&track.tape);
            }
        }
    }
    if tapes.is_empty() {
        return output;
    }
    tapes.sort_unstable_by_key(|tape| tape.level);
    // Ops compute their output untracked; dropping its tracks in place (not
    // `detach`, which clones) then costs nothing.
    let plain = output.into_tracked(Tracks::new());
    let mut tracks = Tracks::new();
    for tape in tapes {
        let level = tape.level;
        let parent = |t: &Tensor| t.track_at(level).map_or(NO_PARENT, |k| k.index);
        let index = if let Some(mut trace) = tape.trace() {
            let sources = inputs.iter().map(|t| (parent(t), *t));
            match kernel {
                Ok(kernel) => trace.push_op(Box::new(kernel.clone()), sources, plain.shape().clone()),
                Err(site) => trace.push_opaque(site, sources, plain.shape().clone()),
            }
        } else if let Some(mut record) = tape.batch() {
            let sources = inputs.iter().map(|t| (parent(t), t.strip_from(level)));
            record.push_op(batch, sources, plain.shape().clone())
        } else {
            // Only tracing tapes are gathered for an op without a rule.
            let rule = rule
                .as_ref()
                .expect("an op recorded for differentiation has a rule");
            // The entry of the first level keeps the plain output itself: the
            // common single-level case clones the values once.
            let kept = if tracks.is_empty() {
                plain.clone()
            } else {
                plain.with_tracks(copy_tracks(&tracks))
            };
            let stripped = inputs.iter().map(|t| (t.strip_from(level), parent(t)));
            tape.lock_to_record()
                .push(Some((Box::new(rule.clone()), kept)), stripped)
        };
        tracks.push(Track {
            tape: tape.clone(),
            index,
        });
    }
    plain.into_tracked(tracks)
}

/// Records `check` on the trace of every function being compiled that
/// `inputs` depend on, so that its program repeats the check.
pub(crate) fn record_check<C: Check + Clone>(inputs: &[&Tensor], check: &C, failure: Option<&crate::Error>) {
    let mut traces: SmallVec<[&Arc<Tape>; 2]> = SmallVec::new();
    for t in inputs {
        for track in t.tracks() {
            if let Some(mut batch) = track.tape.batch() {
                // The check would have to be made for every slice.
                batch.stop();
            }
            if track.tape.trace.is_some() && !traces.iter().any(|tape| Arc::ptr_eq(tape, &track.tape)) {
                traces.push(&track.tape);
            }
        }
    }
    for tape in traces {
        let level = tape.level;
        let sources = inputs
            .iter()
            .map(|t| (t.track_at(level).map_or(NO_PARENT, |k| k.index), *t));
        if let Some(mut trace) = tape.trace() {
            trace.push_check(Box::new(check.clone()), sources);
            if let Some(error) = failure {
                trace.note_failure(check.name(), error);
            }
        }
    }
}

/// Sets the path that the errors of checks recorded from now on name, on
/// the trace of every function being compiled that `t` depends on (`None`
/// ends it).
pub(crate) fn label_checks(t: &Tensor, path: Option<&str>) {
    for track in t.tracks() {
        if let Some(mut trace) = track.tape.trace() {
            trace.set_label(path.map(str::to_string));
        }
    }
}

/// Notes, on every tracing tape among `tracks`, that `what`, outside any
/// kernel, read the values at `site`: the traced function may have decided something
/// on them, which its compiled form could not repeat.
pub(crate) fn note_value_read(tracks: &Tracks, what: &'static str, site: &'static Location<'static>) {
    for track in tracks {
        if let Some(mut trace) = track.tape.trace() {
            trace.note_read(what, site);
        }
        if let Some(mut batch) = track.tape.batch() {
            // The function may decide on the first slice's values.
            batch.stop();
        }
    }
}

/// Runs the reverse sweep of `level` from `outputs`, each seeded with its
/// cotangent, and returns the gradient of each of `leaves` (zeros where a
/// leaf was not used).
///
/// Entries are visited from the newest output back to the start of the
/// tape, so each one's gradient is complete before its rule runs, and the
/// contributions to an input are summed in reverse recording order.
pub(crate) fn backward(
    outputs: &[&Tensor],
    seeds: &[&Tensor],
    level: Level,
    leaves: &[&Tensor],
) -> SmallVec<[Tensor; 4]> {
    let zeros = |leaf: &&Tensor| leaf.detach().zeros_like();
    let roots = || {
        let tracked = outputs.iter().map(|out| out.track_at(level));
        tracked
            .zip(seeds)
            .filter_map(|(track, seed)| Some((track?, *seed)))
    };
    let (Some((first, _)), Some(top)) = (roots().next(), roots().map(|(t, _)| t.index as usize).max()) else {
        return leaves.iter().map(zeros).collect();
    };
    let sweep = first.tape.sweep();
    // Pushed one by one: `smallvec![None; n]` clones through a generic path.
    let mut pending: SmallVec<[Option<Tensor>; 16]> = SmallVec::new();
    for _ in 0..=top {
        pending.push(None);
    }
    for (track, seed) in roots() {
        accumulate(&mut pending[track.index as usize], seed.clone());
    }
    let records = &*sweep.records;
    for (i, entry) in records.entries[..=top].iter().enumerate().rev() {
        // Leaves keep their gradient in `pending` for the caller.
        let Some(rule) = &entry.rule else { continue };
        let Some(grad) = pending[i].take() else { continue };
        let (first, count) = (entry.first as usize, entry.inputs as usize);
        let parents = &records.parents[first..first + count];
        let ctx = Ctx {
            inputs: &records.values[first..first + count],
            output: &records.values[first + count],
            grad: &grad,
            parents,
        };
        for (&parent, g) in parents.iter().zip(rule.backward(&ctx)) {
            if let (true, Some(g)) = (parent != NO_PARENT, g) {
                accumulate(&mut pending[parent as usize], g);
            }
        }
    }
    drop(sweep);
    let mut grads = SmallVec::new();
    for leaf in leaves {
        let track = leaf.track_at(level).expect("leaves are variables of the level");
        let grad = pending.get_mut(track.index as usize).and_then(Option::take);
        grads.push(grad.unwrap_or_else(|| zeros(leaf)));
    }
    grads
}

fn accumulate(slot: &mut Option<Tensor>, g: Tensor) {
    *slot = Some(match slot.take() {
        Some(acc) => acc + g,
        None => g,
    });
}
