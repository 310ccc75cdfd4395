//! The properties a model is judged by: always, sometimes, eventually,
//! and over the clients' history.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::node::{Node, NodeId};
use crate::trace::VectorTimestamp;

/// An invariant over node states: `Err(why)` when violated.
pub type Invariant<N> = Arc<dyn Fn(&[Option<N>]) -> Result<(), String> + Send + Sync>;

/// A predicate over node states.
pub type Predicate<N> = Arc<dyn Fn(&[Option<N>]) -> bool + Send + Sync>;

/// A check over what the clients saw: `Err(why)` when violated.
pub type HistoryCheck<N> = Arc<dyn Fn(&History<N>) -> Result<(), String> + Send + Sync>;

/// One thing the clients of a model saw: a request a node was asked, or
/// an event a node emitted.
pub enum Observed<N: Node> {
    /// `node` was asked `request` (a [`Model::request`](super::Model::request) step).
    Request {
        /// The node.
        node: NodeId,
        /// The request.
        request: N::Request,
    },
    /// `node` emitted `event`.
    Event {
        /// The node.
        node: NodeId,
        /// The event.
        event: N::Event,
    },
}

impl<N: Node> fmt::Debug for Observed<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Observed::Request { node, request } => write!(f, "{node} is asked {request:?}"),
            Observed::Event { node, event } => write!(f, "{node} emits {event:?}"),
        }
    }
}

/// What the clients saw in one run, in the order it happened: the requests
/// issued and the events emitted (those [`Model::observes`] keeps).
///
/// The history is part of a model's state when a [`Property::history`] is
/// judged: two states are the same only if their histories are. Two
/// entries are taken to be the same when their `Debug` texts are, so the
/// `Debug` of a request or event must tell apart the values a property
/// tells apart (a derived `Debug` does).
///
/// With [`Model::causal_history`] each entry also carries a vector
/// timestamp, so that a property can ask which entries
/// [happened before](History::happened_before) which (ME3 is such a
/// property: the order of entries to a critical section must respect the
/// order of the requests to enter, where one happened before another).
///
/// ```
/// use dsys_core::model::{History, Observed};
/// use dsys_core::ping_pong::{PingPong, Request};
/// use dsys_core::trace::VectorTimestamp;
/// use dsys_core::NodeId;
///
/// let mut history = History::<PingPong>::new();
/// let ask = |node| Observed::Request { node: NodeId(node), request: Request::PingNow };
/// history.push_stamped(ask(0), VectorTimestamp(vec![1, 0]));
/// history.push_stamped(ask(1), VectorTimestamp(vec![1, 1])); // n1 had heard from n0
/// history.push_stamped(ask(0), VectorTimestamp(vec![2, 0]));
/// assert!(history.happened_before(0, 1));
/// assert!(!history.happened_before(1, 2) && !history.happened_before(2, 1)); // concurrent
/// ```
///
/// [`Model::observes`]: super::Model::observes
/// [`Model::causal_history`]: super::Model::causal_history
pub struct History<N: Node> {
    seen: Vec<Arc<Entry<N>>>,
}

/// One entry of a [`History`], with the key it is compared by.
struct Entry<N: Node> {
    observed: Observed<N>,
    /// The entry's `Debug` text.
    key: Box<str>,
    stamp: Option<VectorTimestamp>,
}

impl<N: Node> History<N> {
    /// An empty history.
    pub fn new() -> Self {
        History { seen: Vec::new() }
    }

    /// Appends `observed`, with no timestamp.
    pub fn push(&mut self, observed: Observed<N>) {
        self.push_entry(observed, None);
    }

    /// Appends `observed`, stamped with the vector timestamp of the event
    /// that it was at its node (see [`History::happened_before`]).
    pub fn push_stamped(&mut self, observed: Observed<N>, stamp: VectorTimestamp) {
        self.push_entry(observed, Some(stamp));
    }

    fn push_entry(&mut self, observed: Observed<N>, stamp: Option<VectorTimestamp>) {
        let key = format!("{observed:?}").into_boxed_str();
        self.seen.push(Arc::new(Entry {
            observed,
            key,
            stamp,
        }));
    }

    /// The entries, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Observed<N>> {
        self.seen.iter().map(|entry| &entry.observed)
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing was seen.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// The vector timestamp of entry `index`, if it has one.
    pub fn stamp(&self, index: usize) -> Option<&VectorTimestamp> {
        self.seen.get(index)?.stamp.as_ref()
    }

    /// Whether entry `a` happened before entry `b`: both are stamped and
    /// `a`'s stamp is below `b`'s. `false` when either has no stamp (or
    /// there is no such entry): without stamps, nothing is known to be
    /// ordered.
    pub fn happened_before(&self, a: usize, b: usize) -> bool {
        match (self.stamp(a), self.stamp(b)) {
            (Some(a), Some(b)) => a.le(b) && a != b,
            _ => false,
        }
    }
}

impl<N: Node> Default for History<N> {
    fn default() -> Self {
        History::new()
    }
}

impl<N: Node> Clone for History<N> {
    fn clone(&self) -> Self {
        History {
            seen: self.seen.clone(),
        }
    }
}

impl<N: Node> PartialEq for History<N> {
    fn eq(&self, other: &Self) -> bool {
        self.seen.len() == other.seen.len()
            && self
                .seen
                .iter()
                .zip(&other.seen)
                .all(|(a, b)| a.key == b.key && a.stamp == b.stamp)
    }
}

impl<N: Node> Eq for History<N> {}

impl<N: Node> Hash for History<N> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.seen.len());
        for entry in &self.seen {
            entry.key.hash(state);
            entry.stamp.hash(state);
        }
    }
}

impl<N: Node> fmt::Debug for History<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A property the checker judges over every reachable state.
pub enum Property<N: Node> {
    /// Holds in every reachable state.
    Always(&'static str, Invariant<N>),
    /// Holds in some reachable state.
    Sometimes(&'static str, Predicate<N>),
    /// Holds in every state where nothing more can happen (no message in
    /// flight, no timer pending, no request left to issue, no node down):
    /// liveness judged on the runs that end. A run that goes on forever is
    /// not judged, so this is sound but not complete.
    Eventually(&'static str, Predicate<N>),
    /// Holds of the history of every reachable state: the requests issued
    /// and events emitted on the way there, in order. Turns the history
    /// on (see [`History`]).
    History(&'static str, HistoryCheck<N>),
}

impl<N: Node> Clone for Property<N> {
    fn clone(&self) -> Self {
        match self {
            Property::Always(name, check) => Property::Always(name, Arc::clone(check)),
            Property::Sometimes(name, found) => Property::Sometimes(name, Arc::clone(found)),
            Property::Eventually(name, done) => Property::Eventually(name, Arc::clone(done)),
            Property::History(name, check) => Property::History(name, Arc::clone(check)),
        }
    }
}

impl<N: Node> Property<N> {
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

    /// A check over the clients' history: `check` holds of what was
    /// requested and emitted on every path (see [`Property::History`]).
    /// Linearizability is such a property: it is about what clients saw
    /// and when, which no single state of the servers shows.
    pub fn history(
        name: &'static str,
        check: impl Fn(&History<N>) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        Property::History(name, Arc::new(check))
    }

    /// The property's name.
    pub fn name(&self) -> &'static str {
        match self {
            Property::Always(name, _)
            | Property::Sometimes(name, _)
            | Property::Eventually(name, _)
            | Property::History(name, _) => name,
        }
    }
}

impl<N: Node> fmt::Debug for Property<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Property::Always(name, _) => write!(f, "Always({name:?})"),
            Property::Sometimes(name, _) => write!(f, "Sometimes({name:?})"),
            Property::Eventually(name, _) => write!(f, "Eventually({name:?})"),
            Property::History(name, _) => write!(f, "History({name:?})"),
        }
    }
}
