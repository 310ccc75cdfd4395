//! Unit tests of the vector clock: the representation, the wire format,
//! the receive bound and the checkers; and property tests of the kernels
//! (compare, merge, increment, receive) against a naive reference, over
//! node sets that differ, node ids up to `u32::MAX` (the merge's sentinel)
//! and counts up to `u64::MAX` (`increment` saturates there, so the
//! kernels' fallback for counts ≥ 2⁶³ is reachable).

use super::*;
use dsys_core::model::Finding;
use dsys_core::trace::TraceKind;
use dsys_core::wire::{Codec, Postcard};
use proptest::collection::vec;
use proptest::prelude::*;
use serde::de::value::{Error as ValueError, MapDeserializer, U32Deserializer};
use std::collections::BTreeMap;
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
/// of n1, concurrent with n0's events. Shared with the Lamport checker's
/// tests.
pub(crate) fn two_node_trace() -> Trace {
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

/// Each clause of the happened-before checker on its own: a pair listed
/// against trace order (`b → a`), and two distinct events sharing a vector.
#[test]
fn the_happened_before_checker_reads_pairs_both_ways_and_refuses_equal_vectors() {
    let trace = two_node_trace();
    // Index 3 received index 1's message, so index 0 → index 3.
    let backwards = [stamp(3, 1, &[(0, 2), (1, 2)]), stamp(0, 0, &[(0, 1)])];
    assert_eq!(characterises_happened_before(&trace, &backwards), Ok(()));
    let unmerged = [stamp(3, 1, &[(1, 2)]), stamp(0, 0, &[(0, 1)])];
    let err = characterises_happened_before(&trace, &unmerged).unwrap_err();
    assert!(err.contains("b → a in the trace but V(a) ‖ V(b)"), "{err}");
    // Indexes 1 and 2 are concurrent, and no two events share a vector.
    let equal = [stamp(1, 0, &[(0, 2)]), stamp(2, 1, &[(0, 2)])];
    let err = characterises_happened_before(&trace, &equal).unwrap_err();
    assert!(err.contains("a ‖ b in the trace but V(a) = V(b)"), "{err}");
    let err = characterises_concurrency(&trace, &equal).unwrap_err();
    assert!(err.contains("a ‖ b in the trace but V(a) = V(b)"), "{err}");
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
fn the_model_checker_catches_a_clock_that_merges_with_min() {
    // n1 had no entry for n0, so the minimum forgets n0's send: n1's
    // receive looks concurrent with it.
    let report = model_of(2, MinMerge::default()).check();
    let (property, path) = report.counterexample().expect("a violation");
    assert_eq!(property, "happened-before-exact", "{report}");
    assert_eq!(path.len(), 2, "{report}");
    assert!(path[1].starts_with("n1 delivers StampedMsg"), "{report}");
    let Some(Finding::Violated { why, .. }) = report.findings.first().map(|f| &f.1) else {
        panic!("{report}");
    };
    assert!(why.contains("a → b in the model but V(a) ‖ V(b)"), "{why}");
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
    assert_eq!(
        outcome.report.verdicts,
        [
            ("happened-before-exact".to_string(), Verdict::Holds),
            ("concurrency-exact".to_string(), Verdict::Holds),
        ],
        "both properties are judged, on the trace the scenario turns on itself"
    );
}

/// The properties judged through `run_scenario`, with a clock that merges
/// with the minimum: both are violated. Without a trace they are skipped.
#[test]
fn the_scenario_properties_catch_a_clock_that_merges_with_min() {
    let judge = |trace: bool| {
        let options = SimOptions {
            nodes: 4,
            seed: 1,
            trace,
            ..SimOptions::default()
        };
        run_scenario(
            ALGORITHM.name,
            &options,
            |_| Stamped::new(Chatter::new(ChatterConfig::default()), MinMerge::default()),
            &properties::<Chatter, MinMerge>(),
        )
        .unwrap()
        .report
        .verdicts
    };
    let verdicts = judge(true);
    let names: Vec<&str> = verdicts.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["happened-before-exact", "concurrency-exact"]);
    for (name, verdict) in &verdicts {
        assert!(
            matches!(verdict, Verdict::Violated(_)),
            "{name}: {verdict:?}"
        );
    }
    for (name, verdict) in judge(false) {
        assert_eq!(
            verdict,
            Verdict::Skipped("needs a trace".to_string()),
            "{name}"
        );
    }
}

// ----- boundaries -------------------------------------------------------------

#[test]
fn count_max_is_two_to_the_63_minus_1_and_receive_takes_it() {
    assert_eq!(COUNT_MAX, 9_223_372_036_854_775_807);
    let mut clock = VectorClock::new();
    let got = LogicalClock::receive(&mut clock, NodeId(0), &v(&[(1, COUNT_MAX)])).unwrap();
    assert_eq!(got, v(&[(0, 1), (1, COUNT_MAX)]));
    for absurd in [1 << 63, u64::MAX] {
        assert!(LogicalClock::receive(&mut clock, NodeId(0), &v(&[(1, absurd)])).is_err());
    }
    assert_eq!(clock, got, "a refused stamp changes nothing");
}

#[test]
fn tick_returns_the_ticked_clock() {
    let mut clock = v(&[(0, 1), (4, 2)]);
    assert_eq!(
        LogicalClock::tick(&mut clock, NodeId(4)),
        v(&[(0, 1), (4, 3)])
    );
    assert_eq!(
        LogicalClock::tick(&mut clock, NodeId(2)),
        v(&[(0, 1), (2, 1), (4, 3)])
    );
    assert_eq!(clock, v(&[(0, 1), (2, 1), (4, 3)]));
}

#[test]
fn increment_saturates_at_u64_max() {
    let mut clock = v(&[(3, u64::MAX - 1)]);
    assert_eq!(clock.increment(NodeId(3)), u64::MAX);
    assert_eq!(clock.increment(NodeId(3)), u64::MAX);
    assert_eq!(clock, v(&[(3, u64::MAX)]));
    assert_eq!(clock.max_count(), u64::MAX);
}

/// `a` against `b` and `max(a, b)`, both ways round.
fn check_pair(a: &[(u32, u64)], b: &[(u32, u64)], order: Option<Ordering>, max: &[(u32, u64)]) {
    let (a, b, max) = (v(a), v(b), v(max));
    assert_eq!(a.partial_cmp(&b), order, "{a} against {b}");
    assert_eq!(
        b.partial_cmp(&a),
        order.map(Ordering::reverse),
        "{b} against {a}"
    );
    assert_eq!(a.merged(&b), max, "{a} merged with {b}");
    assert_eq!(b.merged(&a), max, "{b} merged with {a}");
    for clock in [&a, &b] {
        assert_eq!(
            clock.partial_cmp(&clock.clone()),
            Some(Ordering::Equal),
            "{clock}"
        );
    }
}

/// Pairs on the same nodes with counts at and above 2⁶³, where the sign of
/// `a − b` no longer compares: `compare` and `merge` must take their
/// fallback.
#[test]
fn compare_and_merge_take_the_fallback_for_counts_at_and_above_2_to_the_63() {
    use Ordering::{Equal, Greater, Less};
    let (max, half) = (u64::MAX, 1 << 63);
    // Saturated against small.
    check_pair(&[(0, max)], &[(0, 1)], Some(Greater), &[(0, max)]);
    // Both in the top half: the difference fits in 63 bits.
    check_pair(&[(0, half)], &[(0, half + 1)], Some(Less), &[(0, half + 1)]);
    // Equal entries in the top half are neither below nor above.
    let high = [(0, max), (1, half)];
    check_pair(&high, &high, Some(Equal), &high);
    // One high entry, or one each way: concurrent.
    check_pair(
        &[(0, max), (1, 1)],
        &[(0, 1), (1, 2)],
        None,
        &[(0, max), (1, 2)],
    );
    check_pair(
        &[(0, max), (1, 1)],
        &[(0, 1), (1, max)],
        None,
        &[(0, max), (1, max)],
    );
    // Two high counts on one side (their high bits must not cancel).
    let (both, low) = ([(0, max), (1, max)], [(0, 1), (1, 1)]);
    check_pair(&both, &low, Some(Greater), &both);
    // Even counts only, 2⁶³ or more apart (no odd low bit to lean on).
    check_pair(&[(0, 3 << 62)], &[(0, 2)], Some(Greater), &[(0, 3 << 62)]);
    check_pair(
        &[(0, 2), (5, 4)],
        &[(0, 3 << 62), (5, 2)],
        None,
        &[(0, 3 << 62), (5, 4)],
    );
}

/// `u32::MAX` stands for "no more entries" in the rebuilding merge, so a
/// clock holding node `u32::MAX` must not be read past its end, whichever
/// side holds it.
#[test]
fn merge_and_compare_with_node_u32_max_on_one_side_only() {
    use Ordering::{Greater, Less};
    let top = u32::MAX;
    check_pair(&[], &[(top, 1)], Some(Less), &[(top, 1)]);
    check_pair(
        &[(1, 1)],
        &[(1, 2), (top, 3)],
        Some(Less),
        &[(1, 2), (top, 3)],
    );
    check_pair(
        &[(5, 1), (top, 2)],
        &[(3, 1)],
        None,
        &[(3, 1), (5, 1), (top, 2)],
    );
    check_pair(
        &[(top - 1, 4)],
        &[(top, 4)],
        None,
        &[(top - 1, 4), (top, 4)],
    );
    // On both sides: the same nodes, so no rebuild.
    check_pair(
        &[(0, 1), (top, 2)],
        &[(0, 1), (top, 1)],
        Some(Greater),
        &[(0, 1), (top, 2)],
    );
}

/// The common path promised by `merge`: when the other clock's nodes are
/// all known, the counts are updated where they are (no allocation, the
/// arrays stay put); only a new node rebuilds them.
#[test]
fn merging_known_nodes_updates_in_place() {
    let base = v(&[(0, 5), (1, 5), (2, 5), (3, 5), (4, 5)]);
    let known: &[&[(u32, u64)]] = &[
        &[(0, 1), (1, 9), (2, 1), (3, 9), (4, 1)], // the same nodes
        &[(0, 9), (2, 1), (4, 9)],                 // a match at the start, then skips
        &[(3, 9)],                                 // skips from the start
        &[(1, 9), (4, 9)],
        &[(0, 9), (1, 9)],
        &[],
    ];
    for &other in known {
        let other = v(other);
        let mut clock = base.clone();
        let (ids, counts) = (clock.ids.as_ptr(), clock.counts.as_ptr());
        clock.merge(&other);
        assert_eq!(
            clock,
            merge_by_definition(&base, &other),
            "{base} merged with {other}"
        );
        assert!(
            clock.ids.as_ptr() == ids && clock.counts.as_ptr() == counts,
            "merging {other} into {base} reallocated"
        );
    }
    let mut clock = base.clone();
    let ids = clock.ids.as_ptr();
    clock.merge(&v(&[(2, 1), (7, 1)]));
    assert_eq!(clock, v(&[(0, 5), (1, 5), (2, 5), (3, 5), (4, 5), (7, 1)]));
    assert!(clock.ids.as_ptr() != ids, "a new node needs new arrays");
}

#[test]
fn display_lists_the_entries_by_node() {
    assert_eq!(v(&[(3, 1), (0, 2)]).to_string(), "{n0: 2, n3: 1}");
    assert_eq!(v(&[(7, 1)]).to_string(), "{n7: 1}");
    assert_eq!(
        v(&[(1, 1), (2, 2), (9, 3)]).to_string(),
        "{n1: 1, n2: 2, n9: 3}"
    );
    assert_eq!(VectorClock::new().to_string(), "{}");
}

#[test]
fn a_trace_timestamp_gives_entry_i_to_node_i() {
    let stamp = VectorTimestamp(vec![2, 0, 1]);
    assert_eq!(VectorClock::from(&stamp), v(&[(0, 2), (2, 1)]));
    assert_eq!(
        VectorClock::from(&VectorTimestamp(vec![])),
        VectorClock::new()
    );
}

#[test]
fn a_zero_count_on_the_wire_is_left_out() {
    // (gap 0, count 0) is node 0 at zero; (gap 0, count 5) is node 1.
    let bytes = Postcard.encode_to_vec(&vec![(0u32, 0u64), (0, 5)]).unwrap();
    let clock = Postcard.decode::<VectorClock>(&bytes).unwrap();
    assert_eq!(clock, v(&[(1, 5)]));
    assert_eq!(clock.len(), 1);
}

#[test]
fn the_human_readable_form_is_a_map_of_node_names() {
    let decode = |entries: &[(&str, u64)]| {
        let entries = entries
            .iter()
            .map(|&(name, count)| (name.to_string(), count));
        VectorClock::deserialize(MapDeserializer::<_, ValueError>::new(entries))
    };
    assert_eq!(
        decode(&[("n3", 1), ("n0", 2), ("n9", 0)]).unwrap(),
        v(&[(0, 2), (3, 1)])
    );
    assert_eq!(decode(&[]).unwrap(), VectorClock::new());
    let err = decode(&[("p1", 1)]).unwrap_err().to_string();
    assert!(err.contains("bad node name \"p1\""), "{err}");
    let err = decode(&[("n1", 1), ("n1", 2)]).unwrap_err().to_string();
    assert!(err.contains("node n1 appears twice"), "{err}");
}

#[test]
fn a_value_of_the_wrong_shape_is_refused_with_what_a_clock_looks_like() {
    let err = VectorClock::deserialize(U32Deserializer::<ValueError>::new(5)).unwrap_err();
    assert!(
        err.to_string().ends_with(
            "expected a vector clock: (gap, count) pairs, or a map from node names to counts"
        ),
        "{err}"
    );
}

// ----- against a naive reference ----------------------------------------------

/// The naive vector clock: node → count, zero counts left out.
type Reference = BTreeMap<u32, u64>;

/// `entries` as a reference: a later entry for a node replaces an earlier one.
fn reference(entries: &[(u32, u64)]) -> Reference {
    let mut map: Reference = entries.iter().copied().collect();
    map.retain(|_, count| *count > 0);
    map
}

/// The clock holding `reference`, built without the code under test.
fn clock_of(reference: &Reference) -> VectorClock {
    VectorClock {
        ids: reference.keys().copied().collect(),
        counts: reference.values().copied().collect(),
    }
}

fn get(reference: &Reference, id: u32) -> u64 {
    reference.get(&id).copied().unwrap_or(0)
}

/// `a ≤ b` by the definition: every entry of `a` at most `b`'s.
fn le(a: &Reference, b: &Reference) -> bool {
    a.iter().all(|(&id, &count)| count <= get(b, id))
}

fn compare(a: &Reference, b: &Reference) -> Option<Ordering> {
    match (le(a, b), le(b, a)) {
        (true, true) => Some(Ordering::Equal),
        (true, false) => Some(Ordering::Less),
        (false, true) => Some(Ordering::Greater),
        (false, false) => None,
    }
}

fn merge(a: &Reference, b: &Reference) -> Reference {
    let mut max = a.clone();
    for (&id, &count) in b {
        let entry = max.entry(id).or_insert(0);
        *entry = (*entry).max(count);
    }
    max
}

fn merge_by_definition(a: &VectorClock, b: &VectorClock) -> VectorClock {
    let [a, b] = [a, b].map(|clock| {
        clock
            .ids
            .iter()
            .copied()
            .zip(clock.counts.iter().copied())
            .collect()
    });
    clock_of(&merge(&a, &b))
}

/// Ids ascend strictly and no count is zero, so equal clocks are equal
/// values.
fn well_formed(clock: &VectorClock) -> std::result::Result<(), TestCaseError> {
    prop_assert_eq!(clock.ids.len(), clock.counts.len(), "{:?}", clock);
    prop_assert!(clock.ids.windows(2).all(|w| w[0] < w[1]), "{:?}", clock);
    prop_assert!(!clock.counts.contains(&0), "{:?}", clock);
    Ok(())
}

/// Node ids: a few small ones (so that clocks share nodes), the top of the
/// range (`u32::MAX` is the rebuilding merge's end marker), and any.
fn node() -> impl Strategy<Value = u32> {
    prop_oneof![
        4 => 0u32..6,
        2 => (u32::MAX - 2)..=u32::MAX,
        1 => any::<u32>(),
    ]
}

/// Non-zero counts: small ones, both sides of the receive bound and of
/// 2⁶³, even ones far apart, the saturated top, and any.
fn count() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => 1u64..5,
        1 => Just(COUNT_MAX),
        1 => Just(1 << 63),
        1 => prop::sample::select(vec![1 << 62, 3 << 62, (3 << 62) + 2]),
        2 => (u64::MAX - 2)..=u64::MAX,
        1 => 1..=u64::MAX,
    ]
}

/// A count, or 0 (the node absent).
fn count_or_zero() -> impl Strategy<Value = u64> {
    prop_oneof![3 => count(), 1 => Just(0)]
}

/// Two clocks over one list of nodes: with `counts` non-zero they are on
/// the same nodes (the kernels' fast path); with zeros, each leaves some
/// out, so the node sets differ, or one is within the other.
fn pair_over(counts: BoxedStrategy<u64>) -> impl Strategy<Value = (Reference, Reference)> {
    vec(node(), 0..8).prop_flat_map(move |ids| {
        let n = ids.len();
        (Just(ids), vec(counts.clone(), n), vec(counts.clone(), n)).prop_map(|(ids, a, b)| {
            let side =
                |counts: Vec<u64>| reference(&ids.iter().copied().zip(counts).collect::<Vec<_>>());
            (side(a), side(b))
        })
    })
}

fn pair() -> impl Strategy<Value = (Reference, Reference)> {
    prop_oneof![
        pair_over(count().boxed()),
        pair_over(count_or_zero().boxed()),
        (vec((node(), count()), 0..6), vec((node(), count()), 0..6))
            .prop_map(|(a, b)| (reference(&a), reference(&b))),
    ]
}

proptest! {
    #[test]
    fn compare_agrees_with_the_reference((a, b) in pair()) {
        let (x, y) = (clock_of(&a), clock_of(&b));
        let order = compare(&a, &b);
        prop_assert_eq!(x.partial_cmp(&y), order);
        prop_assert_eq!(y.partial_cmp(&x), order.map(Ordering::reverse));
        prop_assert_eq!(x.happened_before(&y), order == Some(Ordering::Less));
        prop_assert_eq!(y.happened_before(&x), order == Some(Ordering::Greater));
        prop_assert_eq!(x.concurrent_with(&y), order.is_none());
        prop_assert_eq!(y.concurrent_with(&x), order.is_none());
        prop_assert_eq!(x == y, order == Some(Ordering::Equal));
        prop_assert_eq!(x.partial_cmp(&x.clone()), Some(Ordering::Equal));
    }

    #[test]
    fn merge_agrees_with_the_reference((a, b) in pair()) {
        let (x, y) = (clock_of(&a), clock_of(&b));
        let max = clock_of(&merge(&a, &b));
        let mut in_place = x.clone();
        in_place.merge(&y);
        well_formed(&in_place)?;
        prop_assert_eq!(&in_place, &max);
        prop_assert_eq!(&x.merged(&y), &max);
        prop_assert_eq!(&y.merged(&x), &max);
    }

    #[test]
    fn receive_agrees_with_the_reference((a, b) in pair(), me in node()) {
        let (mut clock, stamp) = (clock_of(&a), clock_of(&b));
        let absurd = b.values().any(|&count| count > COUNT_MAX);
        match LogicalClock::receive(&mut clock, NodeId(me), &stamp) {
            Err(_) => {
                prop_assert!(absurd, "{} refused", stamp);
                prop_assert_eq!(&clock, &clock_of(&a));
            }
            Ok(got) => {
                prop_assert!(!absurd, "{} taken", stamp);
                let mut expected = merge(&a, &b);
                let tick = get(&expected, me).saturating_add(1);
                expected.insert(me, tick);
                prop_assert_eq!(&got, &clock_of(&expected));
                prop_assert_eq!(&clock, &got);
            }
        }
    }

    #[test]
    fn accessors_agree_with_the_reference(
        entries in vec((node(), count_or_zero()), 0..8),
        probe in node(),
    ) {
        let r = reference(&entries);
        let clock = VectorClock::from_entries(entries.iter().map(|&(id, c)| (NodeId(id), c)));
        well_formed(&clock)?;
        prop_assert_eq!(&clock, &clock_of(&r));
        let listed: Vec<(NodeId, u64)> = r.iter().map(|(&id, &c)| (NodeId(id), c)).collect();
        prop_assert_eq!(clock.entries().collect::<Vec<_>>(), listed);
        prop_assert_eq!(clock.len(), r.len());
        prop_assert_eq!(clock.is_empty(), r.is_empty());
        for id in r.keys().copied().chain([probe]) {
            prop_assert_eq!(clock.get(NodeId(id)), get(&r, id));
        }
        prop_assert_eq!(clock.dense(7), (0..7).map(|id| get(&r, id)).collect::<Vec<_>>());
        prop_assert_eq!(clock.max_count(), r.values().copied().max().unwrap_or(0));
        let shown: Vec<String> = r.iter().map(|(id, c)| format!("n{id}: {c}")).collect();
        prop_assert_eq!(clock.to_string(), format!("{{{}}}", shown.join(", ")));
    }

    #[test]
    fn increment_agrees_with_the_reference(
        entries in vec((node(), count()), 0..6),
        events in vec(node(), 1..8),
    ) {
        let mut r = reference(&entries);
        let mut clock = clock_of(&r);
        for id in events {
            let before = clock.clone();
            let count = get(&r, id).saturating_add(1);
            r.insert(id, count);
            prop_assert_eq!(clock.increment(NodeId(id)), count);
            prop_assert_eq!(&clock, &clock_of(&r));
            // A saturated entry cannot move up.
            prop_assert_eq!(before.happened_before(&clock), before.get(NodeId(id)) < u64::MAX);
        }
    }

    #[test]
    fn both_wire_forms_round_trip(entries in vec((node(), count()), 0..8)) {
        let r = reference(&entries);
        let clock = clock_of(&r);
        let bytes = Postcard.encode_to_vec(&clock).unwrap();
        prop_assert_eq!(&Postcard.decode::<VectorClock>(&bytes).unwrap(), &clock);
        let names = r.iter().map(|(id, &c)| (format!("n{id}"), c));
        let from_map = VectorClock::deserialize(MapDeserializer::<_, ValueError>::new(names));
        prop_assert_eq!(&from_map.unwrap(), &clock);
    }
}
