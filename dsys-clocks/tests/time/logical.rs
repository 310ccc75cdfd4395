//! Property tests of the logical clocks: vector clock comparison is a partial
//! order consistent with merge, merge is the least upper bound, Lamport and
//! vector timestamps respect happened-before on random executions (vector
//! timestamps characterise it), and hybrid logical clocks stay monotone and
//! within their bounds.
//!
//! Happened-before is computed independently of any clock: from the
//! execution's graph (program order plus send → receive edges), by
//! reachability.

use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::time::Duration;

use dsys_clocks::hlc::{HlcConfig, HlcTimestamp, HybridLogicalClock};
use dsys_clocks::lamport::{LamportClock, LamportTimestamp};
use dsys_clocks::vector::VectorClock;
use dsys_core::wire::{Codec, Postcard};
use dsys_core::NodeId;
use proptest::prelude::*;

// ----- vector clocks as values ------------------------------------------------

/// Clocks over few nodes with small counts, so that comparable pairs (and
/// equal ones) are common.
fn small_clock() -> impl Strategy<Value = VectorClock> {
    proptest::collection::vec((0u32..6, 0u64..4), 0..6).prop_map(|entries| {
        VectorClock::from_entries(entries.into_iter().map(|(i, c)| (NodeId(i), c)))
    })
}

/// Clocks with sparse, large ids and counts.
fn wide_clock() -> impl Strategy<Value = VectorClock> {
    proptest::collection::vec((any::<u32>(), any::<u64>()), 0..40).prop_map(|entries| {
        VectorClock::from_entries(entries.into_iter().map(|(i, c)| (NodeId(i), c)))
    })
}

fn le(a: &VectorClock, b: &VectorClock) -> bool {
    matches!(a.partial_cmp(b), Some(Ordering::Less | Ordering::Equal))
}

/// The definition, entry by entry over every node either clock mentions.
fn le_by_definition(a: &VectorClock, b: &VectorClock) -> bool {
    a.entries().all(|(node, count)| count <= b.get(node))
}

proptest! {
    #[test]
    fn comparison_is_a_partial_order(a in small_clock(), b in small_clock(), c in small_clock()) {
        prop_assert!(le(&a, &a), "reflexive");
        if le(&a, &b) && le(&b, &a) {
            prop_assert_eq!(&a, &b, "antisymmetric");
        }
        if le(&a, &b) && le(&b, &c) {
            prop_assert!(le(&a, &c), "transitive");
        }
        prop_assert_eq!(a.partial_cmp(&b), b.partial_cmp(&a).map(Ordering::reverse));
        prop_assert_eq!(le(&a, &b), le_by_definition(&a, &b));
        prop_assert_eq!(a.happened_before(&b), a.partial_cmp(&b) == Some(Ordering::Less));
        prop_assert_eq!(a.concurrent_with(&b), !le(&a, &b) && !le(&b, &a));
        prop_assert_eq!(a == b, a.partial_cmp(&b) == Some(Ordering::Equal));
    }

    #[test]
    fn merge_is_the_least_upper_bound(a in small_clock(), b in small_clock(), x in small_clock()) {
        let m = a.merged(&b);
        prop_assert!(m >= a && m >= b, "an upper bound");
        prop_assert_eq!(&m, &b.merged(&a), "commutative");
        prop_assert_eq!(&a.merged(&a), &a, "idempotent");
        prop_assert_eq!(m.merged(&x), a.merged(&b.merged(&x)), "associative");
        // The least: any upper bound of both is above the merge.
        let upper = m.merged(&x);
        prop_assert!(m <= upper);
        if a <= x && b <= x {
            prop_assert!(m <= x);
        }
        // Consistent with the order: a ≤ b exactly when merging a changes nothing.
        prop_assert_eq!(le(&a, &b), a.merged(&b) == b);
        // Merging in place agrees with merged().
        let mut in_place = a.clone();
        in_place.merge(&b);
        prop_assert_eq!(in_place, m);
    }

    #[test]
    fn wide_clocks_compare_merge_and_round_trip(a in wide_clock(), b in wide_clock()) {
        let m = a.merged(&b);
        prop_assert!(m >= a && m >= b);
        prop_assert_eq!(le(&a, &b), le_by_definition(&a, &b));
        for clock in [&a, &b, &m] {
            let bytes = Postcard.encode_to_vec(clock).unwrap();
            prop_assert_eq!(&Postcard.decode::<VectorClock>(&bytes).unwrap(), clock);
        }
    }

    #[test]
    fn increment_moves_strictly_up(a in small_clock(), node in 0u32..8) {
        let mut b = a.clone();
        let count = b.increment(NodeId(node));
        prop_assert_eq!(count, a.get(NodeId(node)) + 1);
        prop_assert!(a.happened_before(&b));
    }
}

// ----- random executions ------------------------------------------------------

/// One step of an execution.
#[derive(Clone, Debug)]
enum Step {
    /// A local event of process `p`.
    Local(usize),
    /// Process `p` sends to process `to`.
    Send(usize, usize),
    /// The pending message `k` (mod the number pending) is received: any
    /// pending message may overtake the others.
    Receive(usize),
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        1 => (0usize..8).prop_map(Step::Local),
        1 => (0usize..8, 0usize..8).prop_map(|(p, to)| Step::Send(p, to)),
        2 => any::<usize>().prop_map(Step::Receive),
    ];
    proptest::collection::vec(step, 1..90)
}

/// The steps for `n` processes: process ids taken mod `n`, no process
/// sending to itself.
fn fit(steps: &[Step], n: usize) -> Vec<Step> {
    steps
        .iter()
        .map(|step| match *step {
            Step::Local(p) => Step::Local(p % n),
            Step::Send(p, to) if to % n == p % n => Step::Send(p % n, (p + 1) % n),
            Step::Send(p, to) => Step::Send(p % n, to % n),
            Step::Receive(k) => Step::Receive(k),
        })
        .collect()
}

/// An execution: events with their process and predecessors, and
/// happened-before computed by reachability.
struct Execution {
    process: Vec<usize>,
    /// `before[b][a]`: a → b.
    before: Vec<Vec<bool>>,
}

impl Execution {
    fn happened_before(&self, a: usize, b: usize) -> bool {
        self.before[b][a]
    }
}

/// Runs `steps` on `n` processes, calling `clock` for each event with the
/// event's process, and the sending event for a receive; returns the
/// execution and each event's clock value.
fn execute<T: Clone>(
    n: usize,
    steps: &[Step],
    mut local: impl FnMut(usize) -> T,
    mut receive: impl FnMut(usize, &T) -> T,
) -> (Execution, Vec<T>) {
    let mut exec = Execution {
        process: Vec::new(),
        before: Vec::new(),
    };
    let mut stamps: Vec<T> = Vec::new();
    let mut last: Vec<Option<usize>> = vec![None; n];
    let mut pending: Vec<(usize, usize)> = Vec::new(); // (send event, destination)
    for step in steps {
        let (p, send) = match *step {
            Step::Local(p) | Step::Send(p, _) => (p, None),
            Step::Receive(k) => {
                if pending.is_empty() {
                    continue;
                }
                let (send, to) = pending.remove(k % pending.len());
                (to, Some(send))
            }
        };
        let event = exec.process.len();
        let mut before = vec![false; event + 1];
        for pred in last[p].into_iter().chain(send) {
            before[pred] = true;
            for (x, &b) in exec.before[pred].iter().enumerate() {
                before[x] |= b;
            }
        }
        exec.process.push(p);
        exec.before.push(before);
        last[p] = Some(event);
        let stamp = match send {
            Some(send) => receive(p, &stamps[send].clone()),
            None => local(p),
        };
        stamps.push(stamp);
        if let Step::Send(_, to) = *step {
            pending.push((event, to));
        }
    }
    // Pad `before` rows to full width.
    let k = exec.process.len();
    for row in &mut exec.before {
        row.resize(k, false);
    }
    (exec, stamps)
}

proptest! {
    #[test]
    fn lamport_timestamps_respect_happened_before(n in 2usize..5, steps in steps()) {
        let steps = fit(&steps, n);
        let mut clocks = vec![LamportClock::new(); n];
        let (exec, stamps) = {
            let clocks = RefCell::new(&mut clocks);
            execute(
                n,
                &steps,
                |p| clocks.borrow_mut()[p].tick(),
                |p, sent| clocks.borrow_mut()[p].merge(*sent).unwrap(),
            )
        };
        let k = stamps.len();
        let total: Vec<LamportTimestamp> = (0..k)
            .map(|e| LamportTimestamp { time: stamps[e], node: NodeId(exec.process[e] as u32) })
            .collect();
        for a in 0..k {
            for b in 0..k {
                if exec.happened_before(a, b) {
                    prop_assert!(stamps[a] < stamps[b], "clock condition: {a} → {b}");
                    prop_assert!(total[a] < total[b], "the total order extends →");
                }
                if a != b {
                    prop_assert_ne!(total[a], total[b], "the total order is strict");
                }
            }
        }
    }

    #[test]
    fn vector_timestamps_characterise_happened_before(n in 2usize..5, steps in steps()) {
        let steps = fit(&steps, n);
        let mut clocks = vec![VectorClock::new(); n];
        let (exec, stamps) = {
            let clocks = RefCell::new(&mut clocks);
            execute(
                n,
                &steps,
                |p| {
                    let mut c = clocks.borrow_mut();
                    c[p].increment(NodeId(p as u32));
                    c[p].clone()
                },
                |p, sent| {
                    let mut c = clocks.borrow_mut();
                    c[p].merge(sent);
                    c[p].increment(NodeId(p as u32));
                    c[p].clone()
                },
            )
        };
        let k = stamps.len();
        for a in 0..k {
            for b in 0..k {
                if a == b {
                    continue;
                }
                prop_assert_eq!(exec.happened_before(a, b), stamps[a].happened_before(&stamps[b]), "{} → {}", a, b);
                let concurrent = !exec.happened_before(a, b) && !exec.happened_before(b, a);
                prop_assert_eq!(concurrent, stamps[a].concurrent_with(&stamps[b]));
            }
        }
    }
}

// ----- hybrid logical clocks --------------------------------------------------

/// An execution of `steps` on processes whose physical clocks are offset
/// from true time by `offsets_ns` (so skewed by at most the spread of the
/// offsets); true time moves on by the next of `gaps_ns` before each event.
fn hlc_run(
    config: HlcConfig,
    offsets_ns: &[u64],
    steps: &[Step],
    gaps_ns: &[u64],
) -> Result<(), TestCaseError> {
    let n = offsets_ns.len();
    let skew_ns = offsets_ns.iter().max().unwrap() - offsets_ns.iter().min().unwrap();
    let steps = fit(steps, n);
    let clocks = RefCell::new(vec![HybridLogicalClock::new(config).unwrap(); n]);
    let true_ns = Cell::new(1_000_000u64);
    let events = Cell::new(0usize);
    let readings = RefCell::new(Vec::new());
    // Moves true time on and reads process p's physical clock.
    let read = |p: usize| {
        true_ns.set(true_ns.get() + gaps_ns[events.get() % gaps_ns.len()]);
        events.set(events.get() + 1);
        let pt = true_ns.get() + offsets_ns[p];
        readings.borrow_mut().push(pt);
        Duration::from_nanos(pt)
    };
    let (exec, stamps) = execute(
        n,
        &steps,
        |p| {
            let pt = read(p);
            clocks.borrow_mut()[p]
                .now(pt)
                .expect("a local event within the bounds")
        },
        |p, sent| {
            let pt = read(p);
            clocks.borrow_mut()[p]
                .update(pt, *sent)
                .expect("skew below max_offset: never refused")
        },
    );
    let readings = readings.into_inner();
    let mut last: Vec<Option<HlcTimestamp>> = vec![None; n];
    for (e, stamp) in stamps.iter().enumerate() {
        let p = exec.process[e];
        if let Some(previous) = last[p] {
            prop_assert!(*stamp > previous, "monotone on each process");
        }
        last[p] = Some(*stamp);
        let pt = readings[e];
        prop_assert!(stamp.wall_ns >= pt, "l ≥ pt");
        prop_assert!(
            stamp.wall_ns - pt <= skew_ns,
            "l − pt ≤ ε (the clocks' skew)"
        );
        prop_assert!(stamp.logical <= config.logical_max);
    }
    for a in 0..stamps.len() {
        for b in 0..stamps.len() {
            if exec.happened_before(a, b) {
                prop_assert!(stamps[a] < stamps[b], "causality: {a} → {b}");
            }
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn hlc_is_monotone_causal_and_close_to_physical_time(
        offsets_ns in proptest::collection::vec(0u64..1_000, 2..5),
        steps in steps(),
        gaps_ns in proptest::collection::vec(0u64..300, 1..20),
    ) {
        // Many events per physical tick (gaps of 0) exercise the counter;
        // skew below max_offset means no peer is refused.
        let config = HlcConfig { max_offset: Duration::from_nanos(1_000), logical_max: 1_000 };
        hlc_run(config, &offsets_ns, &steps, &gaps_ns)?;
    }

    /// Anything goes: readings that jump back and forth, remote timestamps
    /// from anywhere, a tiny counter bound. The clock never panics; an error
    /// changes nothing; a success is above everything before and within the
    /// bounds.
    #[test]
    fn hlc_stays_within_its_bounds_on_any_input(
        ops in proptest::collection::vec((0u64..2_000, proptest::option::of((0u64..4_000, 0u32..6))), 1..200),
    ) {
        let config = HlcConfig { max_offset: Duration::from_nanos(500), logical_max: 3 };
        let mut clock = HybridLogicalClock::new(config).unwrap();
        let mut physical_max = 0;
        for (pt, remote) in ops {
            let before = clock.clone();
            let result = match remote {
                None => clock.now(Duration::from_nanos(pt)),
                Some((wall_ns, logical)) => clock.update(Duration::from_nanos(pt), HlcTimestamp { wall_ns, logical }),
            };
            match result {
                Ok(stamp) => {
                    physical_max = physical_max.max(pt);
                    prop_assert!(stamp > before.last(), "monotone");
                    prop_assert_eq!(stamp, clock.last());
                    prop_assert!(stamp.wall_ns >= pt);
                    prop_assert!(stamp.wall_ns <= physical_max + 500, "never further than max_offset ahead");
                    prop_assert!(stamp.logical <= 3);
                    if let Some((wall_ns, logical)) = remote {
                        prop_assert!(stamp > HlcTimestamp { wall_ns, logical }, "after what it received");
                    }
                }
                Err(_) => prop_assert_eq!(&clock, &before, "an error changes nothing"),
            }
        }
    }
}
