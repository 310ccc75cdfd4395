//! Unit tests of the vector clock: the representation, the wire format,
//! the receive bound and the checkers.

use super::*;
use dsys_core::trace::TraceKind;
use dsys_core::wire::{Codec, Postcard};
use std::time::Duration;

fn v(entries: &[(u32, u64)]) -> VectorClock {
    VectorClock::from_entries(entries.iter().map(|&(id, c)| (NodeId(id), c)))
}

#[test]
fn compare_on_the_same_and_on_different_nodes() {
    let a = v(&[(0, 1), (1, 2)]);
    assert_eq!(a.partial_cmp(&v(&[(0, 1), (1, 2)])), Some(Ordering::Equal));
    assert_eq!(a.partial_cmp(&v(&[(0, 2), (1, 2)])), Some(Ordering::Less));
    assert_eq!(
        a.partial_cmp(&v(&[(0, 0), (1, 2)])),
        Some(Ordering::Greater)
    );
    assert_eq!(a.partial_cmp(&v(&[(0, 2), (1, 1)])), None);
    // Different node sets: absent entries count as 0.
    assert_eq!(a.partial_cmp(&v(&[(1, 2)])), Some(Ordering::Greater));
    assert_eq!(
        a.partial_cmp(&v(&[(0, 1), (1, 2), (9, 1)])),
        Some(Ordering::Less)
    );
    assert_eq!(a.partial_cmp(&v(&[(0, 1), (9, 1)])), None);
    assert_eq!(VectorClock::new().partial_cmp(&a), Some(Ordering::Less));
    assert_eq!(v(&[(3, 0)]), VectorClock::new(), "zeros are left out");
}

#[test]
fn merge_in_place_and_by_rebuilding() {
    let mut a = v(&[(0, 1), (2, 5), (4, 1)]);
    a.merge(&v(&[(2, 7)]));
    assert_eq!(a, v(&[(0, 1), (2, 7), (4, 1)]));
    a.merge(&v(&[(1, 3), (2, 1), (5, 2)]));
    assert_eq!(a, v(&[(0, 1), (1, 3), (2, 7), (4, 1), (5, 2)]));
    let mut empty = VectorClock::new();
    empty.merge(&a);
    assert_eq!(empty, a);
    assert_eq!(a.increment(NodeId(3)), 1);
    assert_eq!(a.increment(NodeId(3)), 2);
    assert_eq!(a.get(NodeId(3)), 2);
}

#[test]
fn wire_format_is_gap_count_pairs() {
    let a = v(&[(0, 3), (1, 1), (2, 200)]);
    // length 3; then (0, 3), (0, 1), (0, 200 as a two-byte varint)
    assert_eq!(
        Postcard.encode_to_vec(&a).unwrap(),
        vec![3, 0, 3, 0, 1, 0, 200, 1]
    );
    let sparse = v(&[(1_000_000, 1)]);
    let bytes = Postcard.encode_to_vec(&sparse).unwrap();
    assert_eq!(bytes.len(), 5);
    for clock in [a, sparse, VectorClock::new()] {
        let bytes = Postcard.encode_to_vec(&clock).unwrap();
        assert_eq!(Postcard.decode::<VectorClock>(&bytes).unwrap(), clock);
    }
    // An id beyond u32::MAX is refused, not wrapped.
    let forged = Postcard
        .encode_to_vec(&vec![(u32::MAX, 1u64), (5u32, 1u64)])
        .unwrap();
    assert!(Postcard.decode::<VectorClock>(&forged).is_err());
}

#[test]
fn receive_refuses_absurd_counts() {
    let mut clock = v(&[(0, 1)]);
    let err = LogicalClock::receive(&mut clock, NodeId(0), &v(&[(1, u64::MAX)])).unwrap_err();
    assert!(err.to_string().contains("refused"), "{err}");
    assert_eq!(clock, v(&[(0, 1)]));
    let got = LogicalClock::receive(&mut clock, NodeId(0), &v(&[(1, 4)])).unwrap();
    assert_eq!(got, v(&[(0, 2), (1, 4)]));
}

fn stamp(index: usize, node: u32, entries: &[(u32, u64)]) -> TracedStamp<VectorClock> {
    TracedStamp {
        index,
        node: NodeId(node),
        timestamp: v(entries),
    }
}

/// n0 sends (index 1) to n1 (receive, index 3); index 2 is a local event
/// of n1, concurrent with n0's events.
fn two_node_trace() -> Trace {
    let mut trace = Trace::new();
    let vt = |v: &[u64]| Some(VectorTimestamp(v.to_vec()));
    let emit = || TraceKind::Emit {
        event: String::new(),
    };
    trace.push(0, Some(NodeId(0)), vt(&[1, 0]), emit());
    trace.push(1, Some(NodeId(0)), vt(&[2, 0]), emit());
    trace.push(1, Some(NodeId(1)), vt(&[0, 1]), emit());
    trace.push(5, Some(NodeId(1)), vt(&[2, 2]), emit());
    trace
}

#[test]
fn the_checkers_catch_hand_made_bad_stamps() {
    let trace = two_node_trace();
    let good = [
        stamp(0, 0, &[(0, 1)]),
        stamp(1, 0, &[(0, 2)]),
        stamp(2, 1, &[(1, 1)]),
        stamp(3, 1, &[(0, 2), (1, 2)]),
    ];
    assert_eq!(characterises_happened_before(&trace, &good), Ok(()));
    assert_eq!(characterises_concurrency(&trace, &good), Ok(()));
    // The receive forgot to merge: it looks concurrent with the send.
    let mut unmerged = good.clone();
    unmerged[3] = stamp(3, 1, &[(1, 2)]);
    let err = characterises_happened_before(&trace, &unmerged).unwrap_err();
    assert!(err.contains("a → b in the trace but V(a) ‖ V(b)"), "{err}");
    assert!(characterises_concurrency(&trace, &unmerged).is_err());
    // A vector that claims knowledge it cannot have: index 2 above index 1.
    let mut overclaiming = good.clone();
    overclaiming[2] = stamp(2, 1, &[(0, 2), (1, 1)]);
    let err = characterises_happened_before(&trace, &overclaiming).unwrap_err();
    assert!(err.contains("a ‖ b in the trace but V(a) < V(b)"), "{err}");
    let err = characterises_concurrency(&trace, &overclaiming).unwrap_err();
    assert!(err.contains("a ‖ b in the trace"), "{err}");
}

/// A broken vector clock: merge takes the minimum.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct MinMerge(VectorClock);

impl LogicalClock for MinMerge {
    type Timestamp = VectorClock;
    fn tick(&mut self, me: NodeId) -> VectorClock {
        LogicalClock::tick(&mut self.0, me)
    }
    fn receive(&mut self, me: NodeId, stamp: &VectorClock) -> Result<VectorClock> {
        self.0 = VectorClock::from_entries(
            self.0
                .entries()
                .map(|(node, count)| (node, count.min(stamp.get(node)))),
        );
        Ok(LogicalClock::tick(&mut self.0, me))
    }
}

fn run<C: LogicalClock<Timestamp = VectorClock> + Default>(
    seed: u64,
) -> Simulation<Stamped<Chatter, C>> {
    let mut sim = Simulation::new(4, seed, |_| {
        Stamped::new(Chatter::new(ChatterConfig::default()), C::default())
    });
    sim.enable_trace();
    sim.run_until(Duration::from_millis(2_400)).unwrap();
    sim
}

#[test]
fn the_properties_hold_over_many_seeds() {
    dsys_core::testing::check_seeds(0..20, |seed| {
        let sim = run::<VectorClock>(seed);
        let stamps = traced_stamps(&sim)?;
        let trace = sim.trace().unwrap();
        characterises_happened_before(trace, &stamps)?;
        characterises_concurrency(trace, &stamps)
    });
}

#[test]
fn a_clock_that_merges_with_min_is_caught() {
    let sim = run::<MinMerge>(1);
    let stamps = traced_stamps(&sim).unwrap();
    let trace = sim.trace().unwrap();
    assert!(characterises_happened_before(trace, &stamps).is_err());
    assert!(characterises_concurrency(trace, &stamps).is_err());
}

#[test]
fn the_scenario_passes_under_faults() {
    let options = SimOptions {
        nodes: 5,
        seed: 11,
        loss: 0.1,
        duplicate: 0.1,
        reorder: true,
        partitions: vec!["0,1|2,3,4@300..900".parse().unwrap()],
        ..SimOptions::default()
    };
    let outcome = (ALGORITHM.run)(&options).unwrap();
    assert!(outcome.report.passed(), "{}", outcome.report);
}
