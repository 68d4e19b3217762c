//! Given values that an evaluation did not read. A list given longer than
//! the model went through (a loop that ran no times included), and a
//! parameter the arguments do not declare, would otherwise sit in the flat
//! vector with a zero gradient, silently.

use crate::error::Error;
use crate::tensor::Tensor;
use crate::tree::{Path, PathSegment, Tree};
use std::collections::BTreeMap;

/// Where a leaf's address is kept once a marker has read it.
pub(super) fn address(leaf: &Tensor) -> usize {
    std::ptr::from_ref(leaf).addr()
}

/// The errors for the leaves of `given` that hold values and whose
/// addresses are not in `read`: a list the model never reached is reported
/// as given longer than used (by 0), like a list it went through fewer
/// times; with `singles`, any other such leaf is reported as unused.
///
/// `used` tells, for each list the evaluation reached (by its path and
/// `suffix`), how many entries it used; a list given longer than that is
/// reported by the evaluation itself.
pub(super) fn errors<T: Tree>(
    given: &T,
    read: &mut [usize],
    used: &impl Fn(&str) -> Option<usize>,
    suffix: &str,
    singles: bool,
) -> Vec<Error> {
    read.sort_unstable();
    let unread = |leaf: &Tensor| leaf.numel() > 0 && read.binary_search(&address(leaf)).is_err();
    // The common case, everything read, in one walk that records nothing.
    let mut any_unread = false;
    given.visit(&mut Path::root(), &mut |_, leaf| any_unread |= unread(leaf));
    if !any_unread {
        return Vec::new();
    }
    let mut unreached: BTreeMap<String, usize> = BTreeMap::new();
    let mut unused = Vec::new();
    given.visit(&mut Path::root(), &mut |path, leaf| {
        if !unread(leaf) {
            return;
        }
        match reach(path, used, suffix) {
            Reach::Unreached { list, len } => {
                let given = unreached.entry(list).or_insert(0);
                *given = (*given).max(len);
            }
            Reach::Reported => {}
            Reach::Single if singles => unused.push(Error::Unused {
                path: path.to_string(),
            }),
            Reach::Single => {}
        }
    });
    let lists = unreached.into_iter().map(|(path, actual)| Error::Length {
        path,
        expected: 0,
        actual,
    });
    lists.chain(unused).collect()
}

/// Why an unread leaf was not read.
enum Reach {
    /// It lies in entry `len - 1` (or earlier) of a list never reached.
    Unreached { list: String, len: usize },
    /// It lies beyond the entries used of a list that was reached.
    Reported,
    /// It is not in a list, or in entries that were used.
    Single,
}

fn reach(path: &Path, used: &impl Fn(&str) -> Option<usize>, suffix: &str) -> Reach {
    let mut prefix = Path::root();
    for segment in path.segments() {
        if let PathSegment::Index(i) = *segment {
            let list = format!("{prefix}{suffix}");
            match used(&list) {
                Some(used) if i < used => {}
                Some(_) => return Reach::Reported,
                None => return Reach::Unreached { list, len: i + 1 },
            }
        }
        prefix.push(segment.clone());
    }
    Reach::Single
}
