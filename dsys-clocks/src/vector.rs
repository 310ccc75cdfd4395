//! Vector clocks: timestamps that characterise happened-before exactly, so
//! concurrency can be read off two timestamps.
//!
//! # The problem
//!
//! [Lamport clocks](crate::lamport) give `a → b ⇒ L(a) < L(b)` but not the
//! converse: from `L(e) < L(b)` nothing follows, `e` may have happened before
//! `b` or be concurrent with it. Detecting concurrency — conflicting writes
//! to a replica, a causal-delivery check, a race in a debugger — needs a
//! timestamp from which `→` can be *decided*.
//!
//! # The algorithm (Fidge 1988; Mattern 1989)
//!
//! Each process `i` keeps a vector `V` with one counter per process, all 0
//! at first. `V[j]` is the number of events of process `j` that `i` knows
//! of.
//!
//! 1. Before each event (local, send, receive), `i` ticks its own entry:
//!    `V[i] := V[i] + 1` ([`VectorClock::increment`]); a send carries `V`.
//! 2. On receiving a message stamped `W`: `V := max(V, W)` entry by entry
//!    ([`VectorClock::merge`]), then tick `V[i]`.
//!
//! Timestamps compare entry by entry: `V ≤ W` iff `V[j] ≤ W[j]` for every
//! `j`; `V < W` iff `V ≤ W` and `V ≠ W`; neither `V ≤ W` nor `W ≤ V` means
//! **concurrent** ([`PartialOrd`], [`VectorClock::happened_before`],
//! [`VectorClock::concurrent_with`]).
//!
//! # Guarantees
//!
//! - `a → b ⇔ V(a) < V(b)` ([`characterises_happened_before`]);
//! - `a ‖ b ⇔ V(a) ‖ V(b)` ([`characterises_concurrency`]).
//!
//! Both are judged against the simulator's own trace, which keeps a vector
//! clock of every node without the algorithm's help.
//!
//! # Assumptions
//!
//! None on the network. As with Lamport clocks, a restarted process must
//! recover its vector from stable storage. The set of processes may change:
//! a process not in a vector counts as 0, so a newcomer needs no
//! announcement.
//!
//! # Cost
//!
//! No extra messages, but each message carries up to `n` entries (one per
//! process that has had an event the sender knows of), and comparing or
//! merging is O(n). Charron-Bost (1991) showed that no timestamp of fewer
//! than `n` integers can characterise causality in general: the overhead is
//! the price of exactness. Matrix clocks (not here) spend `n²`.
//!
//! # Representation
//!
//! A [`VectorClock`] is two sorted parallel arrays, node ids (`u32`) and
//! counts (`u64`), with zero entries left out, so equal clocks have equal
//! representations (derived `Eq` and `Hash` are right) and any node id
//! works: ids need not be dense, and a cluster of ids in the millions costs
//! nothing extra. When two clocks know the same nodes — the usual case once
//! a cluster has been talking — compare and merge check that the id arrays
//! are equal (one `memcmp`) and then walk the count arrays in lock step
//! with branch-free arithmetic that the compiler vectorises even for
//! baseline x86-64 (which has no 64-bit compare before SSE4.2: the sign of
//! `a − b` does the comparing); otherwise a merge-join walks both. Why not a dense `Vec<u64>` indexed by node id? It is no faster on
//! the common path (the benchmark `benches/clocks.rs` measures it as the
//! baseline), a single large id would allocate gigabytes, and a forged
//! message could do the same. And not a `BTreeMap`: it is pointer-chasing
//! on every comparison. On the wire (any compact serde format, e.g. the
//! postcard default) a clock is the sequence of its non-zero entries as
//! `(gap, count)` varint pairs, where `gap` is the number of absent ids
//! skipped since the previous entry: a dense cluster `n0..n(k−1)` costs one
//! byte per id plus the counts' varints, a sparse vector only its entries.
//! Human-readable formats (JSON) get a map `{"n0": 2, "n3": 1}`, the shape
//! of the simulator's trace.
//!
//! # Bounds
//!
//! A count is a `u64` that saturates rather than wraps; [`LogicalClock`]
//! receives refuse a stamp with a count above [`COUNT_MAX`] (`2⁶³ − 1`),
//! so only 2⁶³ local events could reach the limit.
//!
//! # Running it
//!
//! `dsys sim vector` ([`ALGORITHM`]) runs [`Chatter`] nodes wrapped by
//! [`Stamped`] with a vector clock and judges both characterisations.
//! Source: C. Fidge, *Timestamps in Message-Passing Systems That Preserve the
//! Partial Ordering*, 1988; F. Mattern, *Virtual Time and Global States of
//! Distributed Systems*, 1989; Coulouris et al., *Distributed Systems*,
//! §14.4.
//!
//! ```
//! use dsys_clocks::vector::VectorClock;
//! use dsys_core::NodeId;
//! let (p1, p2, p3) = (NodeId(0), NodeId(1), NodeId(2));
//!
//! let (mut v1, mut v2, mut v3) = (VectorClock::new(), VectorClock::new(), VectorClock::new());
//! v1.increment(p1);
//! let a = v1.clone(); // a: local event on p1
//! v1.increment(p1);
//! let b = v1.clone(); // b: p1 sends m1 (carrying b)
//! v3.increment(p3);
//! let e = v3.clone(); // e: local event on p3
//! v2.merge(&b);
//! v2.increment(p2);
//! let c = v2.clone(); // c: p2 receives m1
//! assert!(a.happened_before(&b) && b.happened_before(&c));
//! assert!(e.concurrent_with(&b)); // though a Lamport clock would give L(e) = 1 < L(b) = 2
//! assert_eq!(c.dense(3), vec![2, 1, 0]);
//! ```

use std::cmp::Ordering;
use std::fmt;

use dsys_core::model::{self, Model, ModelOptions, ModelVerdict};
use dsys_core::scenario::{run_scenario, Algorithm, Check, Outcome, Property, SimOptions, Verdict};
use dsys_core::sim::Simulation;
use dsys_core::trace::{Trace, VectorTimestamp};
use dsys_core::NodeId;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::lamport::restart_hint;
use crate::stamped::{
    chatter_model, history_stamps, traced_stamps, Causality, Chatter, ChatterConfig, LogicalClock,
    Stamped, TracedStamp,
};
use crate::{Error, Result};

/// The largest count a received stamp may hold: `2⁶³ − 1`.
pub const COUNT_MAX: u64 = u64::MAX >> 1;

/// A vector timestamp over a dynamic set of nodes; absent nodes count as 0.
/// See the [module docs](self) for the algorithm and the representation.
///
/// ```
/// use std::cmp::Ordering;
/// use dsys_clocks::vector::VectorClock;
/// use dsys_core::NodeId;
///
/// let a = VectorClock::from_entries([(NodeId(0), 2), (NodeId(1), 1)]);
/// let b = VectorClock::from_entries([(NodeId(0), 2), (NodeId(1), 3)]);
/// let c = VectorClock::from_entries([(NodeId(7), 1)]);
/// assert_eq!(a.partial_cmp(&b), Some(Ordering::Less));
/// assert!(a < b && a.happened_before(&b));
/// assert!(b.concurrent_with(&c));
/// let m = b.merged(&c);
/// assert!(m >= b && m >= c);
/// assert_eq!(m.get(NodeId(7)), 1);
/// assert_eq!(m.get(NodeId(4)), 0); // absent: 0
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct VectorClock {
    /// Node ids, strictly ascending.
    ids: Vec<u32>,
    /// `counts[k]` is the count of `ids[k]`; never 0.
    counts: Vec<u64>,
}

impl VectorClock {
    /// The zero vector (before any event).
    pub fn new() -> Self {
        VectorClock::default()
    }

    /// A vector with the given entries; a later entry for the same node
    /// replaces an earlier one, and zero counts are left out.
    pub fn from_entries(entries: impl IntoIterator<Item = (NodeId, u64)>) -> Self {
        let map: std::collections::BTreeMap<u32, u64> = entries
            .into_iter()
            .map(|(id, count)| (id.0, count))
            .collect();
        let mut clock = VectorClock::new();
        for (id, count) in map.into_iter().filter(|&(_, c)| c > 0) {
            clock.ids.push(id);
            clock.counts.push(count);
        }
        clock
    }

    /// The non-zero entries, by ascending node id.
    pub fn entries(&self) -> impl Iterator<Item = (NodeId, u64)> + '_ {
        self.ids
            .iter()
            .zip(&self.counts)
            .map(|(&id, &count)| (NodeId(id), count))
    }

    /// The number of non-zero entries.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether every entry is zero.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The count of `node` (0 if absent).
    pub fn get(&self, node: NodeId) -> u64 {
        match self.ids.binary_search(&node.0) {
            Ok(k) => self.counts[k],
            Err(_) => 0,
        }
    }

    /// Entries `NodeId(0)..NodeId(nodes − 1)` as a plain array, for printing
    /// the textbook way: `(2, 1, 0)`.
    pub fn dense(&self, nodes: usize) -> Vec<u64> {
        (0..nodes as u32).map(|i| self.get(NodeId(i))).collect()
    }

    /// An event of `node`: adds 1 to its entry and returns the new count
    /// (saturating at `u64::MAX`, see the module's bounds).
    pub fn increment(&mut self, node: NodeId) -> u64 {
        match self.ids.binary_search(&node.0) {
            Ok(k) => {
                self.counts[k] = self.counts[k].saturating_add(1);
                self.counts[k]
            }
            Err(k) => {
                self.ids.insert(k, node.0);
                self.counts.insert(k, 1);
                1
            }
        }
    }

    /// `self := max(self, other)` entry by entry: the least vector at or
    /// above both.
    pub fn merge(&mut self, other: &VectorClock) {
        if self.ids == other.ids {
            max_in_place(&mut self.counts, &other.counts);
            return;
        }
        // `other`'s nodes all known here: update in place. Updating is
        // idempotent, so giving up half way and rebuilding is still right.
        let mut k = 0;
        for (&id, &count) in other.ids.iter().zip(&other.counts) {
            while k < self.ids.len() && self.ids[k] < id {
                k += 1;
            }
            if k < self.ids.len() && self.ids[k] == id {
                self.counts[k] = self.counts[k].max(count);
                k += 1;
            } else {
                return self.merge_rebuild(other);
            }
        }
    }

    fn merge_rebuild(&mut self, other: &VectorClock) {
        let capacity = self.len() + other.len();
        let (mut ids, mut counts) = (Vec::with_capacity(capacity), Vec::with_capacity(capacity));
        let (mut i, mut j) = (0, 0);
        while i < self.len() || j < other.len() {
            let mine = self.ids.get(i).copied().unwrap_or(u32::MAX);
            let theirs = other.ids.get(j).copied().unwrap_or(u32::MAX);
            let take_mine = i < self.len() && (j >= other.len() || mine <= theirs);
            let take_theirs = j < other.len() && (i >= self.len() || theirs <= mine);
            let count = match (take_mine, take_theirs) {
                (true, true) => self.counts[i].max(other.counts[j]),
                (true, false) => self.counts[i],
                _ => other.counts[j],
            };
            ids.push(if take_mine { mine } else { theirs });
            counts.push(count);
            i += usize::from(take_mine);
            j += usize::from(take_theirs);
        }
        self.ids = ids;
        self.counts = counts;
    }

    /// `max(self, other)` as a new vector.
    pub fn merged(&self, other: &VectorClock) -> VectorClock {
        let mut merged = self.clone();
        merged.merge(other);
        merged
    }

    /// `self < other`: the event stamped `self` happened before the event
    /// stamped `other`.
    pub fn happened_before(&self, other: &VectorClock) -> bool {
        self.partial_cmp(other) == Some(Ordering::Less)
    }

    /// Neither `self ≤ other` nor `other ≤ self`: the events are concurrent.
    pub fn concurrent_with(&self, other: &VectorClock) -> bool {
        self.partial_cmp(other).is_none()
    }

    /// Whether some entry of `self` is below `other`'s, and whether some is above.
    fn below_above(&self, other: &VectorClock) -> (bool, bool) {
        if self.ids == other.ids {
            return below_above_counts(&self.counts, &other.counts);
        }
        let (mut below, mut above) = (false, false);
        let (mut i, mut j) = (0, 0);
        while i < self.len() && j < other.len() && !(below && above) {
            match self.ids[i].cmp(&other.ids[j]) {
                // A node only `self` knows (count > 0 against 0).
                Ordering::Less => {
                    above = true;
                    i += 1;
                }
                Ordering::Greater => {
                    below = true;
                    j += 1;
                }
                Ordering::Equal => {
                    below |= self.counts[i] < other.counts[j];
                    above |= self.counts[i] > other.counts[j];
                    i += 1;
                    j += 1;
                }
            }
        }
        (below || j < other.len(), above || i < self.len())
    }

    /// The largest count (0 for the zero vector).
    pub fn max_count(&self) -> u64 {
        self.counts.iter().copied().max().unwrap_or(0)
    }
}

/// Whether some `a[k] < b[k]`, and whether some `a[k] > b[k]`.
///
/// x86-64 has no 64-bit integer comparison before SSE4.2, so a loop of `<`
/// stays scalar in a portable build. For counts below 2⁶³ (every clock but
/// one built from absurd values) the sign bit of `a − b` says `a < b`, and
/// subtracting and or-ing are SSE2: the loop vectorises on every x86-64.
#[inline]
fn below_above_counts(a: &[u64], b: &[u64]) -> (bool, bool) {
    let (mut below, mut above, mut high) = (0u64, 0u64, 0u64);
    for (&x, &y) in a.iter().zip(b) {
        below |= x.wrapping_sub(y);
        above |= y.wrapping_sub(x);
        high |= x | y;
    }
    if high >> 63 == 0 {
        return (below >> 63 != 0, above >> 63 != 0);
    }
    let (mut below, mut above) = (false, false);
    for (&x, &y) in a.iter().zip(b) {
        below |= x < y;
        above |= x > y;
    }
    (below, above)
}

/// `mine[k] := max(mine[k], theirs[k])`, vectorised by the same sign-bit
/// trick as [`below_above_counts`] when every count is below 2⁶³.
#[inline]
fn max_in_place(mine: &mut [u64], theirs: &[u64]) {
    // Two folds, not one over a chain: a chain does not vectorise.
    let high =
        mine.iter().fold(0, |high, &x| high | x) | theirs.iter().fold(0, |high, &y| high | y);
    if high >> 63 == 0 {
        for (x, &y) in mine.iter_mut().zip(theirs) {
            // All ones when x < y.
            let take = 0u64.wrapping_sub(x.wrapping_sub(y) >> 63);
            *x = (y & take) | (*x & !take);
        }
    } else {
        for (x, &y) in mine.iter_mut().zip(theirs) {
            *x = (*x).max(y);
        }
    }
}

impl PartialOrd for VectorClock {
    /// `Less`: happened before; `Greater`: happened after; `Equal`: the same
    /// vector; `None`: concurrent.
    fn partial_cmp(&self, other: &VectorClock) -> Option<Ordering> {
        match self.below_above(other) {
            (false, false) => Some(Ordering::Equal),
            (true, false) => Some(Ordering::Less),
            (false, true) => Some(Ordering::Greater),
            (true, true) => None,
        }
    }
}

impl fmt::Display for VectorClock {
    /// `{n0: 2, n3: 1}` (zero entries left out).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (k, (node, count)) in self.entries().enumerate() {
            if k > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{node}: {count}")?;
        }
        f.write_str("}")
    }
}

impl From<&VectorTimestamp> for VectorClock {
    /// The simulator's trace timestamp (entry `i` is node `i`) as a clock.
    fn from(stamp: &VectorTimestamp) -> Self {
        VectorClock::from_entries(
            stamp
                .0
                .iter()
                .enumerate()
                .map(|(i, &count)| (NodeId(i as u32), count)),
        )
    }
}

impl Serialize for VectorClock {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            let mut map = serializer.serialize_map(Some(self.len()))?;
            for (node, count) in self.entries() {
                map.serialize_entry(&node.to_string(), &count)?;
            }
            return map.end();
        }
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        let mut next: u64 = 0;
        for (&id, &count) in self.ids.iter().zip(&self.counts) {
            // ids ascend strictly, so `id >= next` and the gap fits in a u32.
            seq.serialize_element(&((u64::from(id) - next) as u32, count))?;
            next = u64::from(id) + 1;
        }
        seq.end()
    }
}

/// Decoded entries are capped before allocation, so a forged length prefix
/// cannot make a node allocate much.
const DECODE_CAPACITY_MAX: usize = 1024;

struct ClockVisitor;

impl<'de> Visitor<'de> for ClockVisitor {
    type Value = VectorClock;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a vector clock: (gap, count) pairs, or a map from node names to counts")
    }

    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<VectorClock, A::Error> {
        let capacity = seq.size_hint().unwrap_or(0).min(DECODE_CAPACITY_MAX);
        let mut clock = VectorClock {
            ids: Vec::with_capacity(capacity),
            counts: Vec::with_capacity(capacity),
        };
        let mut next: u64 = 0;
        while let Some((gap, count)) = seq.next_element::<(u32, u64)>()? {
            let id = next + u64::from(gap);
            let id = u32::try_from(id).map_err(|_| {
                de::Error::custom(format!("vector clock node id {id} is above u32::MAX"))
            })?;
            next = u64::from(id) + 1;
            if count > 0 {
                clock.ids.push(id);
                clock.counts.push(count);
            }
        }
        Ok(clock)
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<VectorClock, A::Error> {
        let mut entries = std::collections::BTreeMap::new();
        while let Some((name, count)) = map.next_entry::<String, u64>()? {
            let id = name
                .strip_prefix('n')
                .and_then(|i| i.parse::<u32>().ok())
                .ok_or_else(|| {
                    de::Error::custom(format!("bad node name {name:?} (write n0, n1, ...)"))
                })?;
            if entries.insert(id, count).is_some() {
                return Err(de::Error::custom(format!("node {name} appears twice")));
            }
        }
        Ok(VectorClock::from_entries(
            entries.into_iter().map(|(id, count)| (NodeId(id), count)),
        ))
    }
}

impl<'de> Deserialize<'de> for VectorClock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            deserializer.deserialize_map(ClockVisitor)
        } else {
            deserializer.deserialize_seq(ClockVisitor)
        }
    }
}

impl LogicalClock for VectorClock {
    type Timestamp = VectorClock;

    fn tick(&mut self, me: NodeId) -> VectorClock {
        self.increment(me);
        self.clone()
    }

    fn receive(&mut self, me: NodeId, stamp: &VectorClock) -> Result<VectorClock> {
        if stamp.max_count() > COUNT_MAX {
            return Err(Error::StampRefused(format!(
                "vector timestamp {stamp} has a count above the maximum {COUNT_MAX}: the sender's clock is broken or hostile; the message is refused"
            )));
        }
        self.merge(stamp);
        Ok(LogicalClock::tick(self, me))
    }
}

// ----- properties -----------------------------------------------------------

fn pairs(
    stamps: &[TracedStamp<VectorClock>],
) -> impl Iterator<Item = (&TracedStamp<VectorClock>, &TracedStamp<VectorClock>)> {
    stamps
        .iter()
        .enumerate()
        .flat_map(move |(i, a)| stamps[i + 1..].iter().map(move |b| (a, b)))
}

fn relation(order: Option<Ordering>) -> &'static str {
    match order {
        Some(Ordering::Less) => "V(a) < V(b)",
        Some(Ordering::Greater) => "V(a) > V(b)",
        Some(Ordering::Equal) => "V(a) = V(b)",
        None => "V(a) ‖ V(b)",
    }
}

/// `a → b ⇔ V(a) < V(b)` for every two stamped events, with `→` taken from
/// `truth`: a trace (the simulator's own vector timestamps) or a model's
/// causal history. Distinct events never
/// share a vector. Mattern 1989, Theorem 10 (Coulouris §14.4).
///
/// Checks every pair: O(k²) for k events (the chatter bounds k).
pub fn characterises_happened_before(
    truth: &impl Causality,
    stamps: &[TracedStamp<VectorClock>],
) -> Result<(), String> {
    for (a, b) in pairs(stamps) {
        let order = a.timestamp.partial_cmp(&b.timestamp);
        let before = truth.happens_before(a.index, b.index);
        let after = truth.happens_before(b.index, a.index);
        if before != (order == Some(Ordering::Less))
            || after != (order == Some(Ordering::Greater))
            || order == Some(Ordering::Equal)
        {
            let actual = if before {
                "a → b"
            } else if after {
                "b → a"
            } else {
                "a ‖ b"
            };
            return Err(format!(
                "a = {} with V(a) = {}, b = {} with V(b) = {}: {actual} in {} but {}",
                truth.describe(a),
                a.timestamp,
                truth.describe(b),
                b.timestamp,
                truth.name(),
                relation(order)
            ));
        }
    }
    Ok(())
}

/// `a ‖ b ⇔ V(a) ‖ V(b)` for every two stamped events, with `‖` taken from
/// `truth`.
pub fn characterises_concurrency(
    truth: &impl Causality,
    stamps: &[TracedStamp<VectorClock>],
) -> Result<(), String> {
    for (a, b) in pairs(stamps) {
        let concurrent = truth.concurrent(a.index, b.index);
        if concurrent != a.timestamp.concurrent_with(&b.timestamp) {
            return Err(format!(
                "a = {} with V(a) = {}, b = {} with V(b) = {}: {} in {} but {}",
                truth.describe(a),
                a.timestamp,
                truth.describe(b),
                b.timestamp,
                if concurrent { "a ‖ b" } else { "ordered" },
                truth.name(),
                relation(a.timestamp.partial_cmp(&b.timestamp))
            ));
        }
    }
    Ok(())
}

fn judge<N: dsys_core::Node, C: LogicalClock<Timestamp = VectorClock>>(
    sim: &Simulation<Stamped<N, C>>,
    options: &SimOptions,
    property: fn(&Trace, &[TracedStamp<VectorClock>]) -> Result<(), String>,
) -> Verdict {
    let Some(trace) = sim.trace() else {
        return Verdict::Skipped("needs a trace".to_string());
    };
    traced_stamps(sim)
        .and_then(|stamps| property(trace, &stamps))
        .map_err(|why| restart_hint(why, options))
        .into()
}

/// The properties of `dsys sim vector`, for any node wrapped with a clock
/// that gives [`VectorClock`] timestamps.
pub fn properties<N: dsys_core::Node, C: LogicalClock<Timestamp = VectorClock>>(
) -> Vec<Property<Stamped<N, C>>> {
    vec![
        Property {
            name: "happened-before-exact",
            check: Check::at_end(|sim, options| judge(sim, options, characterises_happened_before)),
        },
        Property {
            name: "concurrency-exact",
            check: Check::at_end(|sim, options| judge(sim, options, characterises_concurrency)),
        },
    ]
}

/// The node `dsys sim vector` runs.
pub type VectorChatter = Stamped<Chatter, VectorClock>;

/// `dsys sim vector`: [`Chatter`] nodes stamped with vector clocks; judges
/// `a → b ⇔ V(a) < V(b)` and `a ‖ b ⇔ V(a) ‖ V(b)` against the trace.
pub const ALGORITHM: Algorithm = Algorithm {
    name: "vector",
    summary: "vector clocks on random messages: V(a) < V(b) iff a → b, and V(a) ‖ V(b) iff a ‖ b",
    run: simulate,
    settings: &[],
    model: Some(check_model),
    defects: &[],
};

/// The model of `dsys check vector`: [`chatter_model`] with vector clocks,
/// judged in every state by `a → b ⇔ V(a) < V(b)` and `a ‖ b ⇔ V(a) ‖
/// V(b)`, against the model's own causality.
///
/// ```
/// use dsys_clocks::vector::model;
///
/// let report = model(3).check();
/// assert!(report.passed() && report.exhaustive, "{report}");
/// ```
pub fn model(nodes: usize) -> Model<VectorChatter> {
    model_of(nodes, VectorClock::new())
}

/// [`model`] with any clock that gives vector timestamps: a broken one of
/// your own, to see the model checker catch it.
pub fn model_of<C>(nodes: usize, clock: C) -> Model<Stamped<Chatter, C>>
where
    C: LogicalClock<Timestamp = VectorClock> + Sync,
{
    chatter_model(nodes, clock)
        .property(model::Property::history("happened-before-exact", |h| {
            characterises_happened_before(h, &history_stamps(h))
        }))
        .property(model::Property::history("concurrency-exact", |h| {
            characterises_concurrency(h, &history_stamps(h))
        }))
}

/// `dsys check vector`: [`model`] with the options given.
fn check_model(options: &ModelOptions) -> dsys_core::Result<ModelVerdict> {
    ALGORITHM.defect_named(options.defect.as_deref())?; // it ships none
    Ok(model(options.nodes).options(options).verdict())
}

fn simulate(options: &SimOptions) -> dsys_core::Result<Outcome> {
    let mut options = options.clone();
    options.trace = true; // the properties are judged against the trace
    let config = ChatterConfig::default();
    run_scenario(
        ALGORITHM.name,
        &options,
        move |_| Stamped::new(Chatter::new(config), VectorClock::new()),
        &properties::<Chatter, VectorClock>(),
    )
}

#[cfg(test)]
pub(crate) mod tests;
