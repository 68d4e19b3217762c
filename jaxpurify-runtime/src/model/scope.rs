//! The model context: what a purified function's markers read from and
//! write to during one evaluation.
//!
//! A [`Scope`] is passed by shared reference (closures inside the model may
//! use markers too), so its mutable state sits behind a `RefCell`. It is
//! created per evaluation: nothing is global, and evaluations on different
//! threads never see each other.

use crate::autodiff::graph::label_checks;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::tree::{LeafSource, Path, PathSegment, TreeBuild};
use smallvec::SmallVec;
use std::cell::RefCell;
use std::collections::HashMap as StdHashMap;
use std::hash::BuildHasherDefault;

/// Maps keyed by parameter path. A fixed hasher (not std's randomly seeded
/// one) makes an empty map free to create: an evaluation that records
/// nothing, the common case, never touches a random source.
type HashMap<K, V> = StdHashMap<K, V, BuildHasherDefault<PathHasher>>;

/// FNV-1a over the path's bytes.
#[derive(Default)]
pub(crate) struct PathHasher(u64);

impl std::hash::Hasher for PathHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let start = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        self.0 = bytes
            .iter()
            .fold(start, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3));
    }
}

/// Values declared during one evaluation, by path.
#[derive(Default)]
pub(crate) struct Entries {
    values: HashMap<String, Tensor>,
    lists: HashMap<String, usize>,
}

impl Entries {
    /// Declares zeros of `shape` at `key`, or returns the earlier
    /// declaration (a closure reached twice), which must have that shape.
    fn get_or_insert(&mut self, key: String, shape: &Shape) -> Result<Tensor> {
        if let Some(existing) = self.values.get(&key) {
            if existing.shape() != shape {
                return Err(Error::Shape {
                    path: key,
                    expected: existing.shape().clone(),
                    actual: shape.clone(),
                });
            }
            return Ok(existing.clone());
        }
        let value = Tensor::zeros(shape.clone());
        self.values.insert(key, value.clone());
        Ok(value)
    }

    /// Records that entry `index` of the list at `key` exists; entries must
    /// be declared in order.
    fn declare_index(&mut self, key: &str, index: usize) -> Result<()> {
        let len = self.lists.entry(key.to_string()).or_insert(0);
        if index > *len {
            return Err(Error::InvalidArgument {
                op: "purify",
                message: format!(
                    "`{key}[{index}]` declared before `{key}[{}]`: list entries are filled in order",
                    *len
                ),
            });
        }
        *len = (*len).max(index + 1);
        Ok(())
    }

    fn insert(&mut self, key: String, value: Tensor) {
        self.values.insert(key, value);
    }

    /// Builds a typed tree from the entries.
    pub(crate) fn build<T: TreeBuild>(&mut self) -> Result<T> {
        T::build(&mut Path::root(), self)
    }
}

impl LeafSource for Entries {
    fn take(&mut self, path: &Path) -> Option<Tensor> {
        self.values.get(&path.to_string()).cloned()
    }

    fn list_len(&self, path: &Path) -> usize {
        self.lists.get(&path.to_string()).copied().unwrap_or(0)
    }
}

/// The state one evaluation shares between all scopes of its components.
pub(crate) struct Shared {
    /// Values are given (apply) rather than declared (initialise, shapes).
    applying: bool,
    record_intermediates: bool,
    state: RefCell<State>,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) params: Entries,
    pub(crate) fixed: Entries,
    pub(crate) intermediates: Entries,
    /// For each list read from given values: (highest index used + 1, length given).
    list_use: HashMap<String, (usize, usize)>,
    pub(crate) errors: Vec<Error>,
}

impl Shared {
    pub(crate) fn new(applying: bool, record_intermediates: bool) -> Shared {
        Shared {
            applying,
            record_intermediates,
            state: RefCell::new(State::default()),
        }
    }

    /// The state after the evaluation, with list lengths checked: a list
    /// given longer than the model uses is an error too.
    pub(crate) fn finish(self) -> State {
        self.check_lists();
        self.state.into_inner()
    }

    /// The first error of the evaluation, list lengths checked, leaving the
    /// state in place.
    pub(crate) fn first_error(&self) -> Option<Error> {
        self.check_lists();
        let mut state = self.state.borrow_mut();
        (!state.errors.is_empty()).then(|| state.errors.swap_remove(0))
    }

    /// Records an error for each list given longer or shorter than used.
    fn check_lists(&self) {
        let mut state = self.state.borrow_mut();
        if state.list_use.is_empty() {
            return;
        }
        let mut unused: Vec<_> = state
            .list_use
            .iter()
            .filter(|(_, (used, given))| used != given)
            .map(|(path, &(used, given))| Error::Length {
                path: path.clone(),
                expected: used,
                actual: given,
            })
            .collect();
        unused.sort_by_key(|e| e.to_string());
        state.errors.extend(unused);
    }

    fn fail(&self, error: Error) {
        self.state.borrow_mut().errors.push(error);
    }
}

/// Which struct a marker's value belongs to.
#[derive(Clone, Copy)]
enum Kind {
    Param,
    Fixed,
}

/// The context a purified function receives: where its markers find their
/// values (this component's params `P` and fixed data `F`, or none when
/// initialising) and where they record what they declare.
#[doc(hidden)]
pub struct Scope<'a, P, F> {
    params: Option<&'a P>,
    fixed: Option<&'a F>,
    prefix: Path,
    shared: &'a Shared,
}

impl<'a, P, F> Scope<'a, P, F> {
    pub(crate) fn new(values: Option<(&'a P, &'a F)>, shared: &'a Shared) -> Self {
        Scope {
            params: values.map(|v| v.0),
            fixed: values.map(|v| v.1),
            prefix: Path::root(),
            shared,
        }
    }

    fn key(&self, name: &'static str, index: Option<usize>) -> Path {
        let mut path = self.prefix.clone();
        path.push(PathSegment::Field(name));
        if let Some(i) = index {
            path.push(PathSegment::Index(i));
        }
        path
    }

    /// A value where none was given: declared when initialising, otherwise
    /// a missing value (an error) replaced by zeros so that evaluation can go
    /// on and report every problem at once.
    fn declare(&self, kind: Kind, name: &'static str, index: Option<usize>, shape: Shape) -> Tensor {
        let mut state = self.shared.state.borrow_mut();
        if self.shared.applying {
            let what = if matches!(kind, Kind::Param) {
                ""
            } else {
                " (fixed data)"
            };
            state.errors.push(Error::Missing {
                path: format!("{}{what}", self.key(name, index)),
            });
            return Tensor::zeros(shape);
        }
        let entries = match kind {
            Kind::Param => &mut state.params,
            Kind::Fixed => &mut state.fixed,
        };
        let list_key = self.key(name, None).to_string();
        let declared = index
            .map_or(Ok(()), |i| entries.declare_index(&list_key, i))
            .and_then(|()| entries.get_or_insert(self.key(name, index).to_string(), &shape));
        declared.unwrap_or_else(|e| {
            state.errors.push(e);
            Tensor::zeros(shape)
        })
    }

    /// Checks a given value against its declared shape; a mismatch is
    /// recorded and a zero placeholder returned, so the value never reaches
    /// an operation.
    fn checked(&self, name: &'static str, index: Option<usize>, shape: Shape, given: &Tensor) -> Tensor {
        if given.shape() == &shape {
            return given.clone();
        }
        self.shared.fail(Error::Shape {
            path: self.key(name, index).to_string(),
            expected: shape.clone(),
            actual: given.shape().clone(),
        });
        Tensor::zeros(shape)
    }

    /// Entry `index` of a given list, noting the use for the length check.
    fn list_entry<'v, T>(
        &self,
        name: &'static str,
        what: &str,
        index: usize,
        list: &'v [T],
    ) -> Option<&'v T> {
        let key = format!("{}{what}", self.key(name, None));
        let mut state = self.shared.state.borrow_mut();
        let used = state.list_use.entry(key).or_insert((0, list.len()));
        used.0 = used.0.max(index + 1);
        list.get(index)
    }

    /// `param!(shape)` named `name`.
    pub fn param(&self, name: &'static str, shape: Shape, get: impl FnOnce(&'a P) -> &'a Tensor) -> Tensor {
        match self.params {
            Some(p) => self.checked(name, None, shape, get(p)),
            None => self.declare(Kind::Param, name, None, shape),
        }
    }

    /// `param!(shape, name = name[index])`.
    pub fn param_at(
        &self,
        name: &'static str,
        index: usize,
        shape: Shape,
        get: impl FnOnce(&'a P) -> &'a Vec<Tensor>,
    ) -> Tensor {
        match self.params.and_then(|p| self.list_entry(name, "", index, get(p))) {
            Some(given) => self.checked(name, Some(index), shape, given),
            None => self.declare(Kind::Param, name, Some(index), shape),
        }
    }

    /// `fixed!(shape)` named `name`.
    pub fn fixed(&self, name: &'static str, shape: Shape, get: impl FnOnce(&'a F) -> &'a Tensor) -> Tensor {
        match self.fixed {
            Some(f) => self.checked(name, None, shape, get(f)),
            None => self.declare(Kind::Fixed, name, None, shape),
        }
    }

    /// `fixed!(shape, name = name[index])`.
    pub fn fixed_at(
        &self,
        name: &'static str,
        index: usize,
        shape: Shape,
        get: impl FnOnce(&'a F) -> &'a Vec<Tensor>,
    ) -> Tensor {
        match self
            .fixed
            .and_then(|f| self.list_entry(name, FIXED, index, get(f)))
        {
            Some(given) => self.checked(name, Some(index), shape, given),
            None => self.declare(Kind::Fixed, name, Some(index), shape),
        }
    }

    /// `intermediate!(value)`: returns `value`, recording it when asked to.
    pub fn intermediate(&self, name: &'static str, index: Option<usize>, value: Tensor) -> Tensor {
        if self.shared.record_intermediates {
            let mut state = self.shared.state.borrow_mut();
            let list_key = self.key(name, None).to_string();
            let declared = index.map_or(Ok(()), |i| state.intermediates.declare_index(&list_key, i));
            match declared {
                Ok(()) => state
                    .intermediates
                    .insert(self.key(name, index).to_string(), value.detach()),
                Err(e) => state.errors.push(e),
            }
        }
        value
    }

    /// A whitened scalar variable: the parameter `name` transformed by the
    /// prior that `prior` builds, also recorded as an intermediate. An error
    /// building the prior (a learned scale that is not positive, say) names
    /// the variable's path, from the direct call and from a compiled
    /// program alike.
    pub fn variable<Q: super::Prior>(
        &self,
        name: &'static str,
        prior: impl FnOnce() -> Result<Q>,
        get: impl FnOnce(&'a P) -> &'a Tensor,
    ) -> Tensor {
        let xi = self.param(name, Shape::scalar(), get);
        let path = self.key(name, None).to_string();
        // The parameter depends on every function being compiled from the
        // model, so its traces take the label.
        label_checks(&xi, Some(&path));
        let prior = prior();
        label_checks(&xi, None);
        match prior {
            Ok(prior) => self.intermediate(name, None, prior.forward(&xi)),
            Err(e) => {
                self.shared.fail(e.at(&path));
                xi
            }
        }
    }

    /// The scope of a component called through `sub!`, under field `name`.
    pub fn sub<P2, F2>(
        &self,
        name: &'static str,
        get_params: impl FnOnce(&'a P) -> &'a P2,
        get_fixed: impl FnOnce(&'a F) -> &'a F2,
    ) -> Scope<'a, P2, F2> {
        Scope {
            params: self.params.map(get_params),
            fixed: self.fixed.map(get_fixed),
            prefix: self.key(name, None),
            shared: self.shared,
        }
    }

    /// The scope of entry `index` of a list of components,
    /// `sub!(name[index] = ...)`. A component without fixed data needs no
    /// entry in the fixed list: the list may be left empty.
    pub fn sub_at<P2, F2>(
        &self,
        name: &'static str,
        index: usize,
        get_params: impl FnOnce(&'a P) -> &'a Vec<P2>,
        get_fixed: impl FnOnce(&'a F) -> &'a Vec<F2>,
    ) -> Scope<'a, P2, F2> {
        let params = self
            .params
            .and_then(|p| self.list_entry(name, "", index, get_params(p)));
        let fixed = self.fixed.map(get_fixed).and_then(|list| match list.is_empty() {
            true => None,
            false => self.list_entry(name, FIXED, index, list),
        });
        self.declare_list_index(name, index);
        Scope {
            params,
            fixed,
            prefix: self.key(name, Some(index)),
            shared: self.shared,
        }
    }

    /// Records that list `name` has an entry `index` in each list being
    /// declared (parameters and fixed data when initialising, intermediates
    /// when recording them), reporting an entry declared out of order.
    fn declare_list_index(&self, name: &'static str, index: usize) {
        let mut state = self.shared.state.borrow_mut();
        let State {
            params: declared_params,
            fixed: declared_fixed,
            intermediates,
            errors,
            ..
        } = &mut *state;
        let mut lists: SmallVec<[&mut Entries; 3]> = SmallVec::new();
        if !self.shared.applying {
            lists.extend([declared_params, declared_fixed]);
        }
        if self.shared.record_intermediates {
            lists.push(intermediates);
        }
        // Evaluating with given parameters declares nothing: no path text.
        if lists.is_empty() {
            return;
        }
        let key = self.key(name, None).to_string();
        if let Err(e) = lists
            .into_iter()
            .try_for_each(|entries| entries.declare_index(&key, index))
        {
            errors.push(e);
        }
    }
}

/// Suffix that tells fixed-data lists from parameter lists in messages.
const FIXED: &str = " (fixed data)";
