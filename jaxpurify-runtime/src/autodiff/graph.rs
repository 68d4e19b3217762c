//! The recorded graph: nodes, differentiation levels, and the reverse sweep.
//!
//! Every call of `grad`/`vjp` opens a new *level* (a unique, increasing id).
//! A tensor that depends on the variables of a level carries one [`Track`] for
//! it: the graph node that produced it, as seen by that level. An op records one
//! node per level present among its inputs, and each node saves its inputs and
//! output *stripped* of its own level and of every level opened after it. The
//! backward rule of a level-`L` node therefore computes with values that only
//! carry outer levels: its arithmetic is recorded for those outer levels (so
//! gradients of gradients work) and never for `L` itself (so nested
//! differentiation cannot confuse perturbations).

use crate::tensor::Tensor;
use smallvec::SmallVec;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Identifies one differentiation (one `grad`/`vjp` call).
pub(crate) type Level = u64;

static NEXT_LEVEL: AtomicU64 = AtomicU64::new(1);

/// A fresh level, greater than every level opened before it. Only the order of
/// levels carried by one tensor matters, so results do not depend on how
/// threads interleave.
pub(crate) fn new_level() -> Level {
    NEXT_LEVEL.fetch_add(1, Ordering::Relaxed)
}

/// The node that produced a tensor, as seen by one level.
#[derive(Clone)]
pub(crate) struct Track {
    pub(crate) level: Level,
    pub(crate) node: Arc<Node>,
}

/// The tracks of a tensor, sorted by increasing level.
pub(crate) type Tracks = SmallVec<[Track; 1]>;

/// What a backward rule sees: the op's inputs and output (values only, as far
/// as this level is concerned) and the gradient flowing into the output.
pub struct Ctx<'a> {
    /// The op's inputs, in the order they were recorded.
    pub inputs: &'a [Tensor],
    /// The op's output.
    pub output: &'a Tensor,
    /// The gradient of the final result with respect to `output`.
    pub grad: &'a Tensor,
    pub(crate) needs: &'a [bool],
}

impl Ctx<'_> {
    /// Whether input `i` needs a gradient at this level; rules may skip the
    /// others and return `None` for them.
    pub fn needs(&self, i: usize) -> bool {
        self.needs[i]
    }
}

/// Gradients for an op's inputs, `None` where an input gets none.
pub type Grads = SmallVec<[Option<Tensor>; 2]>;

/// A backward rule: gradients of the inputs from [`Ctx`]. It must be written
/// with differentiable tensor ops so that higher orders work, and capture no
/// tensor that needs a gradient (pass those as inputs instead).
pub trait Rule: Send + Sync + 'static {
    /// Computes the input gradients.
    fn backward(&self, ctx: &Ctx) -> Grads;

    /// Whether this is the rule of a variable, whose gradient is collected
    /// rather than passed on.
    #[doc(hidden)]
    fn is_leaf(&self) -> bool {
        false
    }
}

impl<F> Rule for F
where
    F: Fn(&Ctx) -> Grads + Send + Sync + 'static,
{
    fn backward(&self, ctx: &Ctx) -> Grads {
        self(ctx)
    }
}

/// A recorded op as one level sees it: where its inputs came from, the
/// values its rule needs, and the rule itself, in one allocation.
pub(crate) struct NodeOf<R: ?Sized> {
    parents: SmallVec<[Option<Arc<Node>>; 2]>,
    inputs: SmallVec<[Tensor; 2]>,
    output: Option<Tensor>,
    rule: R,
}

pub(crate) type Node = NodeOf<dyn Rule>;

/// The rule of a variable (a leaf): it has no inputs to pass gradients to.
struct Leaf;

impl Rule for Leaf {
    fn backward(&self, _: &Ctx) -> Grads {
        Grads::new()
    }

    fn is_leaf(&self) -> bool {
        true
    }
}

impl<R: ?Sized> Drop for NodeOf<R> {
    /// Long chains (thousands of recorded ops) would overflow the stack if
    /// dropped recursively, so uniquely owned ancestors are freed in a loop.
    fn drop(&mut self) {
        let mut stack: SmallVec<[Arc<Node>; 8]> = SmallVec::new();
        take_owned(&mut self.parents, &mut self.inputs, &mut self.output, &mut stack);
        while let Some(mut node) = stack.pop() {
            if let Some(inner) = Arc::get_mut(&mut node) {
                take_owned(
                    &mut inner.parents,
                    &mut inner.inputs,
                    &mut inner.output,
                    &mut stack,
                );
            }
        }
    }
}

/// Moves the ancestors a node owns alone onto `stack`; shared ones are just
/// released (someone else still holds them, so no recursion follows).
fn take_owned(
    parents: &mut SmallVec<[Option<Arc<Node>>; 2]>,
    inputs: &mut SmallVec<[Tensor; 2]>,
    output: &mut Option<Tensor>,
    stack: &mut SmallVec<[Arc<Node>; 8]>,
) {
    let mut keep = |node: Arc<Node>| {
        if Arc::strong_count(&node) == 1 {
            stack.push(node);
        }
    };
    for parent in parents.drain(..).flatten() {
        keep(parent);
    }
    for t in inputs.drain(..).chain(output.take()) {
        if t.is_tracked() {
            for track in t.into_tracks() {
                keep(track.node);
            }
        }
    }
}

impl Tensor {
    /// The node of this tensor at `level`, if it depends on that level.
    fn node_at(&self, level: Level) -> Option<Arc<Node>> {
        self.tracks()
            .iter()
            .find(|t| t.level == level)
            .map(|t| t.node.clone())
    }

    /// The same values, keeping only the tracks of levels opened before `level`.
    pub(crate) fn strip_from(&self, level: Level) -> Tensor {
        let keep = self.tracks().iter().take_while(|t| t.level < level).count();
        if keep == self.tracks().len() {
            return self.clone();
        }
        self.with_tracks(self.tracks()[..keep].iter().cloned().collect())
    }

    /// Makes this tensor a variable of `level`, which must be newer than every
    /// level it already carries.
    pub(crate) fn track_as_leaf(&self, level: Level) -> Tensor {
        let mut tracks: Tracks = self.tracks().iter().cloned().collect();
        debug_assert!(tracks.last().is_none_or(|t| t.level < level));
        let node: Arc<Node> = Arc::new(NodeOf {
            parents: SmallVec::new(),
            inputs: SmallVec::new(),
            output: None,
            rule: Leaf,
        });
        tracks.push(Track { level, node });
        self.with_tracks(tracks)
    }
}

/// Attaches `rule` to `output` (computed from `inputs` without recording), one
/// node per level carried by any input. When no input needs a gradient this
/// returns `output` at once: untracked arithmetic pays nothing for autodiff.
pub fn record(
    output: Tensor,
    inputs: &[&Tensor],
    rule: impl Fn(&Ctx) -> Grads + Clone + Send + Sync + 'static,
) -> Tensor {
    let mut levels: SmallVec<[Level; 4]> = SmallVec::new();
    for t in inputs {
        for track in t.tracks() {
            if !levels.contains(&track.level) {
                levels.push(track.level);
            }
        }
    }
    if levels.is_empty() {
        return output;
    }
    levels.sort_unstable();
    // Ops compute their output untracked; detaching is free then.
    let plain = output.detach();
    let mut tracks = Tracks::new();
    for level in levels {
        // The node of the first level keeps the plain output itself: the
        // common single-level case clones the values once.
        let kept = if tracks.is_empty() {
            plain.clone()
        } else {
            plain.with_tracks(tracks.clone())
        };
        let node: Arc<Node> = Arc::new(NodeOf {
            parents: inputs.iter().map(|t| t.node_at(level)).collect(),
            inputs: inputs.iter().map(|t| t.strip_from(level)).collect(),
            output: Some(kept),
            rule: rule.clone(),
        });
        tracks.push(Track { level, node });
    }
    plain.into_tracked(tracks)
}

/// Runs the reverse sweep of `level` from `outputs`, each seeded with its
/// cotangent, and returns the gradient of each of `leaves` (zeros where a
/// leaf was not used).
pub(crate) fn backward(
    outputs: &[(&Tensor, Tensor)],
    level: Level,
    leaves: &[&Tensor],
) -> SmallVec<[Tensor; 4]> {
    let roots: SmallVec<[(Arc<Node>, Tensor); 1]> = outputs
        .iter()
        .filter_map(|(out, seed)| out.node_at(level).map(|n| (n, seed.clone())))
        .collect();
    let (order, index) = topological_order(roots.iter().map(|(n, _)| &**n));
    let mut pending: SmallVec<[Option<Tensor>; 16]> = smallvec::smallvec![None; order.len()];
    for (node, seed) in &roots {
        accumulate(&mut pending[index[&ptr(node)]], seed.clone());
    }
    for (i, node) in order.iter().enumerate() {
        // Leaves keep their gradient in `pending` for the caller.
        if node.rule.is_leaf() {
            continue;
        }
        let Some(grad) = pending[i].take() else { continue };
        let needs: SmallVec<[bool; 2]> = node.parents.iter().map(Option::is_some).collect();
        let ctx = Ctx {
            inputs: &node.inputs,
            output: node.output.as_ref().expect("recorded nodes keep their output"),
            grad: &grad,
            needs: &needs,
        };
        for (parent, g) in node.parents.iter().zip(node.rule.backward(&ctx)) {
            if let (Some(parent), Some(g)) = (parent, g) {
                accumulate(&mut pending[index[&ptr(parent)]], g);
            }
        }
    }
    leaves
        .iter()
        .map(|leaf| {
            let node = leaf.node_at(level).expect("leaves are variables of the level");
            index
                .get(ptr(&node))
                .and_then(|i| pending[i].take())
                .unwrap_or_else(|| leaf.detach().zeros_like())
        })
        .collect()
}

fn accumulate(slot: &mut Option<Tensor>, g: Tensor) {
    *slot = Some(match slot.take() {
        Some(acc) => acc + g,
        None => g,
    });
}

fn ptr(node: &Node) -> usize {
    node as *const Node as *const () as usize
}

/// Hashes node addresses: they are already unique, so one multiplication
/// spreads them well enough, far cheaper than SipHash.
#[derive(Default)]
struct AddressHasher(u64);

impl std::hash::Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
    }
}

/// Positions of nodes by address: a short list scanned in place for the small
/// graphs of small models, a hash map beyond that.
#[derive(Default)]
struct NodeIndex {
    few: SmallVec<[(usize, usize); 16]>,
    many: HashMap<usize, usize, std::hash::BuildHasherDefault<AddressHasher>>,
}

impl NodeIndex {
    /// Sets the position of `node`, returning its previous one.
    fn insert(&mut self, node: usize, position: usize) -> Option<usize> {
        if !self.many.is_empty() {
            return self.many.insert(node, position);
        }
        if let Some(entry) = self.few.iter_mut().find(|(n, _)| *n == node) {
            return Some(std::mem::replace(&mut entry.1, position));
        }
        if self.few.len() < self.few.inline_size() {
            self.few.push((node, position));
        } else {
            self.many.extend(self.few.drain(..));
            self.many.insert(node, position);
        }
        None
    }

    fn get(&self, node: usize) -> Option<usize> {
        if self.many.is_empty() {
            self.few.iter().find(|(n, _)| *n == node).map(|(_, p)| *p)
        } else {
            self.many.get(&node).copied()
        }
    }
}

impl std::ops::Index<&usize> for NodeIndex {
    type Output = usize;

    fn index(&self, node: &usize) -> &usize {
        let found = if self.many.is_empty() {
            self.few.iter().find(|(n, _)| n == node).map(|(_, p)| p)
        } else {
            self.many.get(node)
        };
        found.expect("every reachable node has a position")
    }
}

/// Nodes reachable from `roots`, each after every node that uses it
/// (reverse post-order of an iterative depth-first search), with each
/// node's position by address. The roots keep every node alive, so the
/// search borrows instead of counting references.
fn topological_order<'a>(roots: impl Iterator<Item = &'a Node>) -> (SmallVec<[&'a Node; 16]>, NodeIndex) {
    let mut post: SmallVec<[&'a Node; 16]> = SmallVec::new();
    let mut index = NodeIndex::default();
    let mut stack: SmallVec<[(&'a Node, usize); 16]> = SmallVec::new();
    for root in roots {
        if index.insert(ptr(root), usize::MAX).is_some() {
            continue;
        }
        stack.push((root, 0));
        while let Some((node, next)) = stack.pop() {
            let found = node.parents[next..]
                .iter()
                .enumerate()
                .find_map(|(k, p)| p.as_deref().map(|p| (k, p)));
            match found {
                Some((k, parent)) => {
                    stack.push((node, next + k + 1));
                    if index.insert(ptr(parent), usize::MAX).is_none() {
                        stack.push((parent, 0));
                    }
                }
                None => post.push(node),
            }
        }
    }
    post.reverse();
    for (i, node) in post.iter().enumerate() {
        index.insert(ptr(node), i);
    }
    (post, index)
}
