//! Helpers shared by the crate's unit tests.

use std::fmt::Debug;
use std::hash::{DefaultHasher, Hash, Hasher};

/// A named change to one field of a state.
pub(crate) type Change<T> = (&'static str, fn(&mut T));

/// The hash of `value` under the standard hasher.
pub(crate) fn hash_of<T: Hash>(value: &T) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// Asserts that `base` equals and hashes as its clone, and that each change
/// (named after the field it touches) makes a state that differs from
/// `base` both by `==` and by hash: every field counts.
pub(crate) fn assert_every_field_counts<T: Clone + Eq + Hash + Debug>(
    base: &T,
    changes: &[Change<T>],
) {
    assert_eq!(base.clone(), *base);
    assert_eq!(hash_of(&base.clone()), hash_of(base));
    for (field, change) in changes {
        let mut other = base.clone();
        change(&mut other);
        assert_ne!(other, *base, "{field}");
        assert_ne!(hash_of(&other), hash_of(base), "{field}");
    }
}

/// Asserts that `a` and `b` are equal and hash alike (`what` says why they
/// should be).
pub(crate) fn assert_alike<T: Eq + Hash + Debug>(a: &T, b: &T, what: &str) {
    assert_eq!(a, b, "{what}");
    assert_eq!(hash_of(a), hash_of(b), "{what}");
}

/// A copy of `base` whose storage handle `repoint` aims at other content is
/// still equal to `base` and hashes alike: the storage mirrors state that
/// equality and hashing read directly.
pub(crate) fn assert_handle_ignored<T: Clone + Eq + Hash + Debug>(
    base: &T,
    repoint: impl FnOnce(&mut T),
) {
    let mut other = base.clone();
    repoint(&mut other);
    assert_alike(&other, base, "another storage handle");
}
