//! The properties a model is judged by: always, sometimes, eventually.

use std::fmt;
use std::sync::Arc;

/// An invariant over node states: `Err(why)` when violated.
pub type Invariant<N> = Arc<dyn Fn(&[Option<N>]) -> Result<(), String> + Send + Sync>;

/// A predicate over node states.
pub type Predicate<N> = Arc<dyn Fn(&[Option<N>]) -> bool + Send + Sync>;

/// A property the checker judges over every reachable state.
#[derive(Clone)]
pub enum Property<N> {
    /// Holds in every reachable state.
    Always(&'static str, Invariant<N>),
    /// Holds in some reachable state.
    Sometimes(&'static str, Predicate<N>),
    /// Holds in every state where nothing more can happen (no message in
    /// flight, no timer pending, no request left to issue, no node down):
    /// liveness judged on the runs that end. A run that goes on forever is
    /// not judged, so this is sound but not complete.
    Eventually(&'static str, Predicate<N>),
}

impl<N> Property<N> {
    /// An invariant: `check` holds in every reachable state.
    pub fn always(
        name: &'static str,
        check: impl Fn(&[Option<N>]) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        Property::Always(name, Arc::new(check))
    }

    /// A reachability check: `found` holds in some reachable state.
    pub fn sometimes(
        name: &'static str,
        found: impl Fn(&[Option<N>]) -> bool + Send + Sync + 'static,
    ) -> Self {
        Property::Sometimes(name, Arc::new(found))
    }

    /// Liveness on finished runs: `done` holds whenever nothing more can
    /// happen (see [`Property::Eventually`]).
    pub fn eventually(
        name: &'static str,
        done: impl Fn(&[Option<N>]) -> bool + Send + Sync + 'static,
    ) -> Self {
        Property::Eventually(name, Arc::new(done))
    }

    /// The property's name.
    pub fn name(&self) -> &'static str {
        match self {
            Property::Always(name, _)
            | Property::Sometimes(name, _)
            | Property::Eventually(name, _) => name,
        }
    }
}

impl<N> fmt::Debug for Property<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Property::Always(name, _) => write!(f, "Always({name:?})"),
            Property::Sometimes(name, _) => write!(f, "Sometimes({name:?})"),
            Property::Eventually(name, _) => write!(f, "Eventually({name:?})"),
        }
    }
}
