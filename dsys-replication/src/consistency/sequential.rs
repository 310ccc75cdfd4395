//! Sequential consistency checking: a memoised search over per-client
//! progress.
//!
//! # The problem
//!
//! A history is *sequentially consistent* (Lamport 1979) when its
//! operations can be put in one order that the sequential model accepts and
//! that respects each client's *program order* — the order in which that
//! client invoked them. Real time between clients is ignored: a read may
//! return a value overwritten long ago, as long as every client sees the
//! writes in one order consistent with its own calls. Every linearizable
//! history is sequentially consistent; the converse fails.
//!
//! - An operation that **never returned** may take effect or not; if it
//!   does, it takes effect after its client's earlier operations (and
//!   before its later ones, in a history where the client went on — which
//!   [`History::validate`] forbids).
//! - An operation that **returned without a result** is required, with its
//!   output unchecked, as in the [linearizability
//!   checker](super::linearizability).
//!
//! Deciding sequential consistency is NP-complete (Taylor 1983; Gibbons &
//! Korach 1997) even for registers; a [`Budget`] turns a search that takes
//! too long into [`Verdict::Unknown`].
//!
//! **Not local.** Unlike linearizability, sequential consistency is not a
//! local property (Herlihy & Wing 1990, §3.4): every key of a map can be
//! sequentially consistent on its own while the map is not. In the
//! classic example client A puts `x = 1` then gets `y` as unset, and client
//! B puts `y = 1` then gets `x` as unset: each key has an order (the get
//! first), but no single order serves both. So this checker searches the
//! *whole* history; [`Model::partition`] is used only to find violations
//! early.
//!
//! # The algorithm
//!
//! A configuration is (how many operations of each client have been
//! ordered, the model state). From one, each client's next operation may
//! go next if the model accepts it; one that never returned may also be
//! skipped. The search is depth-first, memoised on configurations (each is
//! expanded at most once, so the search is sound and complete), and ends
//! when every operation that returned is ordered. Three things make the
//! usual histories fast:
//!
//! 1. **Linearizable first.** A linearizable history is sequentially
//!    consistent, and its linearization is a witness; the [linearizability
//!    search](super::linearizability), guided by real time and run per
//!    part, usually finds one in about `n` steps. It is tried first with a
//!    step budget of the check, and
//!    the parts' witnesses are merged in real time into one order.
//! 2. **Parts as a filter.** If a part of [`Model::partition`] (a key) is
//!    not sequentially consistent, neither is the whole — the order of the
//!    whole, restricted to the part, would serve it. Parts are small, so
//!    most violations are found there.
//! 3. **Real time as a guide.** Among the clients' next operations, the
//!    earliest invoked is tried first, so the search starts from the order
//!    the run most likely had. A never-returned operation that leaves the
//!    state unchanged is only ever skipped (ordering it changes nothing).
//!
//! Cost: at most `∏(n_c + 1) · |states|` configurations for clients with
//! `n_c` operations each — exponential in the number of clients, not of
//! operations — each expanded in `O(clients)` model steps. Memory is the
//! cache: one entry of one word per client plus a state per configuration.
//!
//! # Explaining a failure
//!
//! As for linearizability: `longest_prefix` is the longest order found
//! (operations that were skipped do not appear; when the violation was
//! found in one part of [`Model::partition`], it is an order of that
//! part), and `failing` a 1-minimal set of operations that cannot all have
//! behaved as recorded: with every other operation relaxed (it may have
//! taken effect, with any result, at its place in its client's order, or
//! not at all) the history is still not sequentially consistent, and
//! relaxing any one more makes it so.
//!
//! # Sources
//!
//! - L. Lamport, *How to Make a Multiprocessor Computer That Correctly
//!   Executes Multiprocess Programs*, IEEE Trans. Computers C-28(9), 1979 —
//!   the definition.
//! - M. Herlihy, J. Wing, *Linearizability: A Correctness Condition for
//!   Concurrent Objects*, TOPLAS 12(3), 1990 — why it is not local.
//! - P. Gibbons, E. Korach, *Testing Shared Memories*, SIAM J. Computing
//!   26(4), 1997 — NP-completeness.
//!
//! # Example: the course's bank account
//!
//! ```
//! use dsys_replication::consistency::{check_linearizable, check_sequential};
//! use dsys_replication::consistency::history::History;
//! use dsys_replication::consistency::models::{Register, RegisterOp::*, RegisterRet::*};
//! use dsys_replication::consistency::report::{Budget, Verdict};
//!
//! let bank = Register::<u32>::new();
//! let (a, b) = (0, 1);
//! // A's setBalance(100) returned before B's getBalance() began, yet B
//! // saw no balance: not linearizable, but sequentially consistent — B's
//! // read may be ordered first.
//! let mut h = History::new();
//! h.complete_op(a, 0, 10, Write(100), Written);
//! h.complete_op(b, 20, 30, Read, Value(None));
//! assert_eq!(check_linearizable(&bank, &h, Budget::default()).verdict, Verdict::Violated);
//! let report = check_sequential(&bank, &h, Budget::default());
//! assert!(report.holds());
//! let order: Vec<usize> = report.parts[0].witness.as_ref().unwrap().iter().map(|s| s.op).collect();
//! assert_eq!(order, vec![1, 0], "B's read, then A's write");
//! ```

use std::collections::{BTreeMap, BTreeSet};

use super::history::History;
use super::linearizability;
use super::model::Model;
use super::report::{Budget, PartReport, Report, Step, Verdict};
use super::search::{
    relaxed_failing, sanitize_parts, search_unless_impossible, tie_depths, Cache, Call, Deepest,
    Limits, Outcome, Searched,
};

/// Checks that `history` is sequentially consistent with respect to
/// `model`, within `budget` (steps for each search, the caller's stop
/// function for the whole check).
///
/// The report has a single [`PartReport`] covering every operation
/// (sequential consistency is not local: see the [module](self)
/// documentation), with a witness order when it holds, and the longest
/// accepted order and a 1-minimal failing set when it is violated.
///
/// ```
/// use dsys_replication::consistency::check_sequential;
/// use dsys_replication::consistency::history::History;
/// use dsys_replication::consistency::models::{Queue, QueueOp, QueueRet};
/// use dsys_replication::consistency::report::{Budget, Verdict};
///
/// // Client 0 enqueues 1 then 2; client 1 dequeues 2 first: no order of
/// // the four operations keeps the queue FIFO and client 0's order.
/// let mut h = History::new();
/// h.complete_op(0, 0, 1, QueueOp::Enqueue(1), QueueRet::Enqueued);
/// h.complete_op(0, 2, 3, QueueOp::Enqueue(2), QueueRet::Enqueued);
/// h.complete_op(1, 0, 9, QueueOp::Dequeue, QueueRet::Dequeued(Some(2)));
/// let report = check_sequential(&Queue::<u8>::new(), &h, Budget::default());
/// assert_eq!(report.verdict, Verdict::Violated);
/// // The enqueue of 1 and the dequeue of 2 cannot both be as recorded,
/// // whatever the enqueue of 2 did: 1 was queued first.
/// assert_eq!(report.parts[0].failing, vec![0, 2]);
/// ```
pub fn check_sequential<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    budget: Budget,
) -> Report<M::State> {
    let limits = Limits::start(budget);
    let ops = history.ops();
    let mut all: Vec<Call<'_, M::Input, M::Output>> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| Call::new(i, op))
        .collect();
    // Real time matters only to the linearizability fast path.
    tie_depths(&mut all);
    let mut steps = 0u64;

    // 1. A linearization is a witness.
    let parts = sanitize_parts(model.partition(ops), ops.len());
    let (witness, spent) = linearization(model, &all, &parts, limits);
    steps += spent;
    if let Some(witness) = witness.filter(|w| respects_program_order(&all, w)) {
        return single_part(
            model,
            ops.len(),
            Verdict::Holds,
            Some(witness),
            Vec::new(),
            (Vec::new(), false),
            steps,
        );
    }

    // 2. A part that fails makes the whole fail.
    let mut found = None;
    if parts.len() > 1 {
        for part in &parts {
            let calls: Vec<_> = part.iter().map(|&i| all[i]).collect();
            let searched = search(model, &calls, limits);
            steps += searched.steps;
            if searched.outcome == Outcome::Violated {
                found = Some((calls, searched));
                break;
            }
        }
    }

    // 3. The whole history.
    let (culprit, searched) = match found {
        Some(found) => found,
        None => {
            let searched = search(model, &all, limits);
            steps += searched.steps;
            (all.clone(), searched)
        }
    };
    match searched.outcome {
        Outcome::Holds(witness) => single_part(
            model,
            ops.len(),
            Verdict::Holds,
            Some(witness),
            Vec::new(),
            (Vec::new(), false),
            steps,
        ),
        Outcome::Unknown => single_part(
            model,
            ops.len(),
            Verdict::Unknown,
            None,
            searched.longest,
            (Vec::new(), false),
            steps,
        ),
        Outcome::Violated => {
            let failing = smallest_failing(model, culprit, limits, searched.steps);
            single_part(
                model,
                ops.len(),
                Verdict::Violated,
                None,
                searched.longest,
                failing,
                steps,
            )
        }
    }
}

fn single_part<S>(
    model: &impl Model,
    len: usize,
    verdict: Verdict,
    witness: Option<Vec<Step<S>>>,
    longest_prefix: Vec<Step<S>>,
    (failing, failing_minimal): (Vec<usize>, bool),
    steps: u64,
) -> Report<S> {
    let parts = vec![PartReport {
        ops: (0..len).collect(),
        verdict,
        witness,
        longest_prefix,
        failing,
        failing_minimal,
        steps,
    }];
    Report {
        property: "sequential consistency",
        model: model.name(),
        verdict: Report::combine(&parts),
        parts,
    }
}

/// A linearization of the whole history, if the linearizability search
/// finds one within the budget: each
/// part's witness, merged in real time. The merge always succeeds when the
/// parts cover the history (linearizability is local: Herlihy & Wing's
/// Theorem 1); the ops a witness leaves out never returned and precede
/// nothing. Answers the steps spent too.
fn linearization<M: Model>(
    model: &M,
    all: &[Call<'_, M::Input, M::Output>],
    parts: &[Vec<usize>],
    limits: Limits,
) -> (Option<Vec<Step<M::State>>>, u64) {
    let mut covered = vec![false; all.len()];
    let mut witnesses = Vec::with_capacity(parts.len());
    let mut steps = 0;
    for part in parts {
        let calls: Vec<_> = part.iter().map(|&i| all[i]).collect();
        let searched = linearizability::search(model, &calls, limits);
        steps += searched.steps;
        let Outcome::Holds(witness) = searched.outcome else {
            return (None, steps);
        };
        part.iter().for_each(|&i| covered[i] = true);
        witnesses.push(witness);
    }
    if covered.contains(&false) {
        return (None, steps);
    }
    // Merge: take next the head of a witness that nothing left precedes,
    // i.e. invoked no later than the earliest return left.
    let mut returns: BTreeSet<((u64, u32), usize)> = BTreeSet::new();
    for step in witnesses.iter().flatten() {
        if let Some(at) = all[step.op].returned_at() {
            returns.insert((at, step.op));
        }
    }
    let mut heads = vec![0; witnesses.len()];
    let mut merged: Vec<Step<M::State>> = Vec::new();
    let total: usize = witnesses.iter().map(Vec::len).sum();
    // The whole state after each step: the parts' states are of their own
    // operations only, so the last step's state of each part is kept and
    // the model replays the merged order to get whole states.
    let mut order = Vec::with_capacity(total);
    while order.len() < total {
        let earliest = returns.first().map(|&(at, _)| at);
        let next = (0..witnesses.len()).find(|&w| {
            witnesses[w].get(heads[w]).is_some_and(|step| {
                let call = &all[step.op];
                earliest.is_none_or(|e| call.invoked_at() <= e)
            })
        });
        let Some(w) = next else {
            return (None, steps);
        };
        let op = witnesses[w][heads[w]].op;
        heads[w] += 1;
        if let Some(at) = all[op].returned_at() {
            returns.remove(&(at, op));
        }
        order.push(op);
    }
    let mut state = model.init();
    for op in order {
        let call = &all[op];
        match model.step(&state, call.input, call.output) {
            Some(next) => state = next,
            None => return (None, steps),
        }
        merged.push(Step {
            op,
            state: state.clone(),
        });
    }
    (Some(merged), steps)
}

/// Whether each client's operations appear in `order` in program order.
fn respects_program_order<I, O, S>(calls: &[Call<'_, I, O>], order: &[Step<S>]) -> bool {
    let mut last: BTreeMap<u64, (u64, usize)> = BTreeMap::new();
    order.iter().all(|step| {
        let call = &calls[step.op];
        let rank = (call.invoke, call.index);
        last.insert(call.client, rank)
            .is_none_or(|before| before < rank)
    })
}

/// The failing set of a violated history (see the module documentation).
fn smallest_failing<M: Model>(
    model: &M,
    calls: Vec<Call<'_, M::Input, M::Output>>,
    limits: Limits,
    steps: u64,
) -> (Vec<usize>, bool) {
    relaxed_failing(model, &calls, limits, steps, |set, limits| {
        let searched = search(model, set, limits);
        let answer = match searched.outcome {
            Outcome::Holds(_) => Some(false),
            Outcome::Violated => Some(true),
            Outcome::Unknown => None,
        };
        (answer, searched.steps)
    })
}

/// One step of the search's path: which client moved, with which
/// operation (index into the calls), whether it was applied (or skipped),
/// and the state after.
#[derive(Clone, Debug)]
struct Moved<S> {
    client: u32,
    call: u32,
    applied: bool,
    state: S,
}

/// The moves left to try from one configuration.
#[derive(Debug)]
struct Node {
    /// Clients with operations left, earliest next invocation first.
    clients: Vec<u32>,
    cursor: usize,
    /// The current client's operation was applied; skipping it is next.
    skip_next: bool,
}

/// Whether `calls` are sequentially consistent, as a search outcome.
pub(crate) fn search<M: Model>(
    model: &M,
    calls: &[Call<'_, M::Input, M::Output>],
    limits: Limits,
) -> Searched<M::State> {
    search_unless_impossible(model, calls, limits, |limits, _| {
        search_programs(model, calls, limits)
    })
}

/// The search itself: over each client's progress through its program.
fn search_programs<M: Model>(
    model: &M,
    calls: &[Call<'_, M::Input, M::Output>],
    limits: Limits,
) -> Searched<M::State> {
    // Each client's calls in program order.
    let mut by_client: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
    let mut order: Vec<u32> = (0..calls.len() as u32).collect();
    order.sort_by_key(|&i| (calls[i as usize].invoke, calls[i as usize].index));
    for i in order {
        by_client
            .entry(calls[i as usize].client)
            .or_default()
            .push(i);
    }
    let programs: Vec<Vec<u32>> = by_client.into_values().collect();
    let mut progress = vec![0u32; programs.len()];
    let node = |progress: &[u32]| {
        let mut clients: Vec<u32> = (0..programs.len() as u32)
            .filter(|&c| (progress[c as usize] as usize) < programs[c as usize].len())
            .collect();
        clients.sort_by_key(|&c| {
            let next = programs[c as usize][progress[c as usize] as usize];
            (calls[next as usize].invoke, calls[next as usize].index)
        });
        Node {
            clients,
            cursor: 0,
            skip_next: false,
        }
    };

    let init = model.init();
    let mut required_left = calls.iter().filter(|c| c.complete.is_some()).count();
    let mut cache: Cache<u32, M::State> = Cache::new();
    cache.insert(&progress, &init);
    let mut path: Vec<Moved<M::State>> = Vec::new();
    let mut nodes = vec![node(&progress)];
    let mut deepest = Deepest::new();
    let mut steps = 0u64;
    let outcome = loop {
        if required_left == 0 {
            break Outcome::Holds(applied(calls, &path));
        }
        steps += 1;
        if limits.exhausted(steps) {
            break Outcome::Unknown;
        }
        let Some(top) = nodes.last_mut() else {
            break Outcome::Violated;
        };
        let Some(&client) = top.clients.get(top.cursor) else {
            // Every move from here was tried: back up.
            nodes.pop();
            let Some(moved) = path.pop() else {
                break Outcome::Violated;
            };
            deepest.popped(&path);
            progress[moved.client as usize] -= 1;
            if moved.applied && calls[moved.call as usize].complete.is_some() {
                required_left += 1;
            }
            continue;
        };
        let x = programs[client as usize][progress[client as usize] as usize];
        let call = calls[x as usize];
        let state = path.last().map_or(&init, |m| &m.state);
        let (applied, next) = if top.skip_next {
            top.skip_next = false;
            top.cursor += 1;
            (false, state.clone())
        } else {
            if call.complete.is_some() {
                top.cursor += 1;
            } else {
                top.skip_next = true;
            }
            match model.step(state, call.input, call.output) {
                None => continue,
                // Applying it changes nothing: the same as skipping it,
                // which comes next — so do only that.
                Some(next) if call.complete.is_none() && next == *state => continue,
                Some(next) => (true, next),
            }
        };
        progress[client as usize] += 1;
        if cache.insert(&progress, &next) {
            if applied && call.complete.is_some() {
                required_left -= 1;
            }
            path.push(Moved {
                client,
                call: x,
                applied,
                state: next,
            });
            deepest.pushed(&path);
            nodes.push(node(&progress));
        } else {
            progress[client as usize] -= 1;
        }
    };
    Searched {
        outcome,
        longest: applied(calls, &deepest.into_inner()),
        steps,
        cache_entries: cache.len(),
        cache_entry_bytes: Cache::<u32, M::State>::entry_bytes(programs.len()),
    }
}

/// The applied operations of a path, as steps.
fn applied<I, O, S: Clone>(calls: &[Call<'_, I, O>], path: &[Moved<S>]) -> Vec<Step<S>> {
    path.iter()
        .filter(|m| m.applied)
        .map(|m| Step {
            op: calls[m.call as usize].index,
            state: m.state.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consistency::models::{Kv, KvOp, KvRet};

    #[test]
    fn every_key_sequentially_consistent_but_not_the_map() {
        // Herlihy & Wing 1990 §3.4: sequential consistency is not local.
        let put = |k: &str| KvOp::Put {
            key: k.into(),
            value: "1".into(),
        };
        let get = |k: &str| KvOp::Get { key: k.into() };
        let unset = KvRet::Value(String::new());
        let mut h = History::new();
        h.complete_op(0, 0, 1, put("x"), KvRet::Done);
        h.complete_op(0, 2, 3, get("y"), unset.clone());
        h.complete_op(1, 0, 1, put("y"), KvRet::Done);
        h.complete_op(1, 2, 3, get("x"), unset);
        for key in ["x", "y"] {
            let part: History<_, _> = h
                .ops()
                .iter()
                .filter(|op| op.input.key() == key)
                .cloned()
                .collect::<Vec<_>>()
                .into();
            assert!(
                check_sequential(&Kv, &part, Budget::default()).holds(),
                "key {key}"
            );
        }
        let report = check_sequential(&Kv, &h, Budget::default());
        assert_eq!(report.verdict, Verdict::Violated);
        assert_eq!(report.parts[0].failing, vec![0, 1, 2, 3]);
    }
}
