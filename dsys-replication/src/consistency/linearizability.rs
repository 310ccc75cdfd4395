//! Linearizability checking: Wing & Gong's search with Lowe's memoisation,
//! one independent part of the history at a time.
//!
//! # The problem
//!
//! A history is *linearizable* (Herlihy & Wing 1990) when its operations
//! can be put in one order that the sequential model accepts and that
//! respects real time: each operation appears to take effect at one
//! instant between its invocation and its completion. Operation `a`
//! *precedes* `b` in real time when `a` returned before `b` was invoked;
//! operations that overlap may go in either order.
//!
//! Times that are equal need a rule. Calls at one instant stay concurrent
//! (as in Porcupine), except that a client's call invoked at the very
//! instant its previous call returned follows it: a client's own calls are
//! never reordered. Precisely, each event at instant `t` has a *depth*, the
//! number of its client's earlier calls that returned at `t`; `a` precedes
//! `b` when `a.complete < b.invoke`, or when they are equal and the depth
//! of `a`'s return is smaller than that of `b`'s invocation. (This orders
//! the events of one instant in layers, so precedence remains an *interval
//! order*, which locality needs; a rule that only ordered a client's own
//! calls would not be one, and a history could then be linearizable key by
//! key but not as a whole.)
//!
//! - An operation that **never returned** (`complete: None`) may take effect
//!   at any moment after its invocation, or never: the order may leave it
//!   out, and its output is not checked. It precedes nothing.
//! - An operation that **returned without a result** (`output: None`, say a
//!   read that timed out) took effect before it returned: it is required,
//!   like any completed operation, but the model accepts whatever it would
//!   have answered (`Model::step(.., None)`). This is how Porcupine treats
//!   Jepsen's `:fail :read :timed-out`.
//!
//! Deciding linearizability is NP-complete (Gibbons & Korach 1997), so the
//! search is exponential in the worst case; a [`Budget`] turns a search that
//! takes too long into [`Verdict::Unknown`].
//!
//! # The algorithm
//!
//! 1. **Partition** (P-compositionality). Linearizability is *local*
//!    (Herlihy & Wing 1990, Theorem 1): a history over several objects is
//!    linearizable if and only if the sub-history of each object is. So
//!    [`Model::partition`] splits the history (a key-value map per key)
//!    and each part is searched on its own — exponentially cheaper than the
//!    whole.
//! 2. **Search** (Wing & Gong 1993). Depth-first: from the current state,
//!    try as the next linearized operation each operation that nothing
//!    unlinearized precedes — the operations whose invocation comes no later
//!    than the earliest completion still pending. If the model accepts it
//!    (with its output), push it and start again; when no operation can go
//!    next, pop the last one and try the one after it. The part holds as
//!    soon as every operation that returned is linearized. Candidates are
//!    kept in a doubly linked list sorted by invocation and pending
//!    completions in one sorted by completion, so linearizing an operation
//!    unlinks it in constant time and backtracking relinks it ("dancing
//!    links").
//! 3. **Memoise** (Lowe 2017). Two paths that linearized the same *set* of
//!    operations and reached the same model state have the same future. A
//!    cache of (bitset of linearized operations, state) pairs lets the
//!    search skip every configuration it has already explored; this is what
//!    turns hours into milliseconds on real histories, and what Porcupine
//!    does.
//! 4. **Prune useless optional steps.** An operation that never returned
//!    and leaves the state as it is (a lost read, a compare-and-set that
//!    fails) is never linearized: leaving it out reaches the same state
//!    with more freedom left, since it precedes nothing.
//!
//! Operations that never returned are what makes real histories hard (a
//! Jepsen etcd history has 10–20 of them in 80 calls): each may or may not
//! have taken effect, so a part that fails must rule out every subset of
//! them. Three more rules, each exact, cut that down:
//!
//! 5. **Impossible calls first.** Before searching, the states reachable
//!    by applying the part's calls in any order (with unknown outputs) are
//!    collected, when there are few (a register has a handful; the closure
//!    is abandoned after `32·n + 1024` model steps). A call that returned
//!    with an output no such state gives — a read of a value nobody wrote —
//!    fails the part at once, and is its failing set on its own.
//! 6. **Dominance, and two orders.** A configuration explored to the end
//!    without success prunes any later one with the same returned calls
//!    linearized and the same state that used *more* of the lost calls
//!    (they precede nothing, so using fewer leaves more freedom); equal
//!    sets are Lowe's cache. This prunes most when the configurations
//!    with fewer lost calls come first, so the search tries the calls
//!    that returned before the lost ones. That order is slow, though, when
//!    lost calls did take effect and later reads saw them (as they usually
//!    do in a correct system), so a quick search in plain invocation
//!    order, limited to `64·n + 10,000` steps, goes first; it finds most
//!    witnesses, and the thorough one only runs when it did not decide.
//! 7. **Twins.** Two lost calls that move every reachable state to the
//!    same next state (two lost `write(3)`s) are interchangeable once both
//!    are invoked, so the later is only linearized after the earlier: ten
//!    lost writes of five values make at most 3⁵ subsets instead of 2¹⁰.
//!
//! Cost: each (set, state) configuration is expanded at most once, and an
//! expansion tries at most the operations concurrent with the earliest
//! pending one — `O(2ⁿ · |states| · c)` in the worst case for a part of `n`
//! operations with at most `c` overlapping, `O(n · c)` steps when the
//! search never backtracks, which is the common case for correct systems.
//! Memory is the cache: one entry of `⌈n / 64⌉` words plus a state per
//! configuration explored.
//!
//! # Explaining a failure
//!
//! When a part is violated, its [`PartReport`] gives:
//!
//! - `longest_prefix`: the longest order the search managed to build, with
//!   the state after each step — where it got stuck.
//! - `failing`: the operations that *cannot all have behaved as
//!   recorded*. Every other operation of the part is **relaxed** — taken
//!   as if it had never returned: it may have taken effect at any moment
//!   after its invocation, or not at all, with any result — and the part is
//!   still not linearizable. Relaxing only adds freedom, so this is found
//!   in two steps: the shortest prefix in invocation order that fails when
//!   kept (binary search), then relaxing more of it — halves, quarters, …
//!   then single operations — while it still fails. "Smallest" therefore
//!   means *1-minimal*: relaxing any one more operation of `failing` makes
//!   the part linearizable. (A set of minimum size is a harder problem
//!   still.) For a stale read this is typically the read, the write it
//!   should have seen, and what pins their order — not the read alone,
//!   since a relaxed write of the stale value could always explain it.
//!   Shrinking spends at most ten times the steps (and at least 100,000)
//!   of the search that found the failure; if it runs out, `failing` still
//!   fails but may not be 1-minimal, and `failing_minimal` is `false`.
//!
//! # Sources
//!
//! - M. Herlihy, J. Wing, *Linearizability: A Correctness Condition for
//!   Concurrent Objects*, TOPLAS 12(3), 1990 — the definition and locality.
//! - J. Wing, C. Gong, *Testing and Verifying Concurrent Objects*, JPDC
//!   17(1), 1993 — the search.
//! - G. Lowe, *Testing for Linearizability*, Concurrency and Computation
//!   29(4), 2017 — the memoisation, and the linked-list representation.
//! - A. Athalye, *Porcupine* (github.com/anishathalye/porcupine) — the same
//!   algorithm in Go, with P-compositionality; its speed is our target.
//!
//! # Example: the course's bank account
//!
//! Two clients share an account whose balance is a register:
//! `setBalance(x)` writes, `getBalance()` reads. Client A sets the balance
//! to 100 (time 0–10); client B then reads it (time 20–30).
//!
//! ```
//! use dsys_replication::consistency::check_linearizable;
//! use dsys_replication::consistency::history::History;
//! use dsys_replication::consistency::models::{Register, RegisterOp::*, RegisterRet::*};
//! use dsys_replication::consistency::report::{Budget, Verdict};
//!
//! let bank = Register::<u32>::new();
//! let (a, b) = (0, 1);
//!
//! // B reads 100 after A's setBalance(100) returned: linearizable.
//! let mut h = History::new();
//! h.complete_op(a, 0, 10, Write(100), Written);
//! h.complete_op(b, 20, 30, Read, Value(Some(100)));
//! let report = check_linearizable(&bank, &h, Budget::default());
//! assert!(report.holds());
//! let witness = report.parts[0].witness.as_ref().unwrap();
//! assert_eq!(witness.iter().map(|s| s.op).collect::<Vec<_>>(), vec![0, 1]);
//!
//! // B reads the old balance (none) although A's write had returned before
//! // B asked: not linearizable (it is sequentially consistent: put B's
//! // read first).
//! let mut h = History::new();
//! h.complete_op(a, 0, 10, Write(100), Written);
//! h.complete_op(b, 20, 30, Read, Value(None));
//! let report = check_linearizable(&bank, &h, Budget::default());
//! assert_eq!(report.verdict, Verdict::Violated);
//! assert_eq!(report.parts[0].failing, vec![0, 1], "both operations are needed to fail");
//!
//! // Had B's read overlapped A's write (time 5–30), either order would do.
//! let mut h = History::new();
//! h.complete_op(a, 0, 10, Write(100), Written);
//! h.complete_op(b, 5, 30, Read, Value(None));
//! assert!(check_linearizable(&bank, &h, Budget::default()).holds());
//! ```

use super::history::History;
use super::model::Model;
use super::report::{Budget, PartReport, Report, Step, Verdict};
use super::search::{
    relaxed_failing, sanitize_parts, search_unless_impossible, tie_depths, twins, Call, Deepest,
    Limits, Outcome, Searched, Words,
};

/// Checks that `history` is linearizable with respect to `model`, each part
/// of [`Model::partition`] on its own, within `budget` (steps per part, wall
/// time for the whole check, shrinking of failures included).
///
/// The report holds one [`PartReport`] per part: a witness order when it
/// holds; the longest accepted order and a 1-minimal failing set of
/// operations when it is violated (see the [module](self) documentation).
///
/// ```
/// use dsys_replication::consistency::check_linearizable;
/// use dsys_replication::consistency::history::History;
/// use dsys_replication::consistency::models::{CasRegister, RegisterOp, RegisterRet};
/// use dsys_replication::consistency::report::Budget;
///
/// let mut h = History::new();
/// h.complete_op(0, 0, 5, RegisterOp::Write(1), RegisterRet::Written);
/// // Client 1's compare-and-set never returned: it may have taken effect…
/// h.open_op(1, 6, RegisterOp::Cas { expect: 1, new: 2 });
/// // …and client 2's read says it did.
/// h.complete_op(2, 7, 9, RegisterOp::Read, RegisterRet::Value(Some(2)));
/// let report = check_linearizable(&CasRegister::<i64>::new(), &h, Budget::default());
/// assert!(report.holds(), "{report}");
/// ```
pub fn check_linearizable<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    budget: Budget,
) -> Report<M::State> {
    check_linearizable_measured(model, history, budget).0
}

/// The size of the memoisation cache of one part's search, for capacity
/// planning and benchmarks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheSize {
    /// Entries in the cache when the search ended (the peak: entries are
    /// never removed): one per configuration explored without success.
    /// The configurations on the way to a witness are not kept.
    pub entries: usize,
    /// Bytes per entry, not counting memory the model's state owns on the
    /// heap (a `String`'s characters, say).
    pub entry_bytes: usize,
}

impl CacheSize {
    /// Entries × bytes per entry.
    pub fn bytes(&self) -> usize {
        self.entries.saturating_mul(self.entry_bytes)
    }
}

/// [`check_linearizable`], also answering the size of each part's cache
/// (of the main search, not of the shrinking that follows a failure).
///
/// ```
/// use dsys_replication::consistency::history::History;
/// use dsys_replication::consistency::linearizability::check_linearizable_measured;
/// use dsys_replication::consistency::models::{Register, RegisterOp, RegisterRet};
/// use dsys_replication::consistency::report::Budget;
///
/// let mut h = History::new();
/// h.complete_op(0, 0, 5, RegisterOp::Write(1), RegisterRet::Written);
/// let (report, sizes) = check_linearizable_measured(&Register::<u8>::new(), &h, Budget::default());
/// assert!(report.holds());
/// assert_eq!(sizes[0].entries, 0, "straight to a witness: nothing kept");
///
/// // A read of nothing after the write returned: the search linearizes the
/// // write, finds the read impossible, and keeps that configuration.
/// h.complete_op(1, 6, 9, RegisterOp::Read, RegisterRet::Value(None));
/// let (report, sizes) = check_linearizable_measured(&Register::<u8>::new(), &h, Budget::default());
/// assert!(!report.holds());
/// assert_eq!(sizes[0].entries, 1, "one configuration: the write linearized");
/// ```
pub fn check_linearizable_measured<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    budget: Budget,
) -> (Report<M::State>, Vec<CacheSize>) {
    let limits = Limits::start(budget);
    let ops = history.ops();
    let mut all: Vec<Call<'_, M::Input, M::Output>> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| Call::new(i, op))
        .collect();
    tie_depths(&mut all);
    let mut parts = Vec::new();
    let mut sizes = Vec::new();
    for indices in sanitize_parts(model.partition(ops), ops.len()) {
        let calls: Vec<Call<'_, M::Input, M::Output>> = indices.iter().map(|&i| all[i]).collect();
        let searched = search(model, &calls, limits);
        sizes.push(CacheSize {
            entries: searched.cache_entries,
            entry_bytes: searched.cache_entry_bytes,
        });
        let (verdict, witness, (failing, failing_minimal)) = match searched.outcome {
            Outcome::Holds(witness) => (Verdict::Holds, Some(witness), (Vec::new(), false)),
            Outcome::Unknown => (Verdict::Unknown, None, (Vec::new(), false)),
            Outcome::Violated => (
                Verdict::Violated,
                None,
                smallest_failing(model, &calls, limits, searched.steps),
            ),
        };
        parts.push(PartReport {
            ops: indices,
            verdict,
            witness,
            longest_prefix: searched.longest,
            failing,
            failing_minimal,
            steps: searched.steps,
        });
    }
    let report = Report {
        property: "linearizability",
        model: model.name(),
        verdict: Report::combine(&parts),
        parts,
    };
    (report, sizes)
}

/// Whether `calls` (one part) are linearizable, as a search outcome; used by
/// the sequential consistency checker's fast path.
pub(crate) fn search<M: Model>(
    model: &M,
    calls: &[Call<'_, M::Input, M::Output>],
    limits: Limits,
) -> Searched<M::State> {
    search_with(model, calls, limits, QUICK_STEPS_PER_CALL, QUICK_STEPS)
}

/// The search, its quick first try limited to `per_call` steps per call
/// plus `fixed`.
fn search_with<M: Model>(
    model: &M,
    calls: &[Call<'_, M::Input, M::Output>],
    limits: Limits,
    per_call: u64,
    fixed: u64,
) -> Searched<M::State> {
    search_unless_impossible(model, calls, limits, |limits, states| {
        let twin = states.map(|states| twins(model, calls, states));
        // A quick search in invocation order first: it finds the order of
        // a correct history fastest, lost calls that did take effect
        // included.
        let quick = per_call * calls.len() as u64 + fixed;
        let first = Search::new(model, calls, twin.clone(), Order::Invocation)
            .run(limits.with_steps_at_most(quick));
        if first.outcome != Outcome::Unknown || limits.steps_max.is_some_and(|max| max <= quick) {
            return first;
        }
        // Then the thorough one, with what is left of the budget.
        let rest = Limits {
            steps_max: limits.steps_max.map(|max| max - first.steps),
            ..limits
        };
        let mut second = Search::new(model, calls, twin, Order::ReturnedFirst).run(rest);
        second.steps += first.steps;
        second.cache_entries = second.cache_entries.max(first.cache_entries);
        if first.longest.len() > second.longest.len() {
            second.longest = first.longest;
        }
        second
    })
}

/// The quick search's budget when judging a part: this many steps per
/// call, plus [`QUICK_STEPS`].
const QUICK_STEPS_PER_CALL: u64 = 64;
/// See [`QUICK_STEPS_PER_CALL`].
const QUICK_STEPS: u64 = 10_000;

/// The order in which a search tries the candidates at each step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    /// By invocation, lost calls among the others: a lost call is tried
    /// early, which is right when it did take effect (usually, in a
    /// correct system) — the quickest way to a witness.
    Invocation,
    /// Calls that returned first, by invocation, then lost calls: the
    /// configurations that use fewer lost calls are explored first, so
    /// [`Finished`] can prune those that use more — the quickest way to
    /// rule every order out.
    ReturnedFirst,
}

/// The failing set of a violated part (see the module documentation).
fn smallest_failing<M: Model>(
    model: &M,
    calls: &[Call<'_, M::Input, M::Output>],
    limits: Limits,
    steps: u64,
) -> (Vec<usize>, bool) {
    relaxed_failing(model, calls, limits, steps, |set, limits| {
        // Shrinking asks mostly about sets that fail, where the quick
        // search is wasted: a short one only.
        let searched = search_with(model, set, limits, 4, 256);
        let answer = match searched.outcome {
            Outcome::Holds(_) => Some(false),
            Outcome::Violated => Some(true),
            Outcome::Unknown => None,
        };
        (answer, searched.steps)
    })
}

/// No node: the end of a list.
const NIL: u32 = u32::MAX;

/// One search over one part.
struct Search<'m, 'c, 'h, M: Model> {
    model: &'m M,
    calls: &'c [Call<'h, M::Input, M::Output>],
    /// Candidates, by invocation, in two lists: those that returned (head
    /// sentinel `n`), then those that never did (head sentinel `n + 1`).
    next: Vec<u32>,
    prev: Vec<u32>,
    /// Pending returns, by time of return; head sentinel `n`.
    ret_next: Vec<u32>,
    ret_prev: Vec<u32>,
    /// Each call's bit in a configuration: the calls that returned first,
    /// then, from word `required_words` on, those that never did.
    bit: Vec<u32>,
    required_words: usize,
    open: usize,
    /// For a call that never returned, an earlier one that behaves the
    /// same ([`twins`]), to be linearized first (`NIL`: none).
    twin: Vec<u32>,
}

impl<'m, 'c, 'h, M: Model> Search<'m, 'c, 'h, M> {
    fn new(
        model: &'m M,
        calls: &'c [Call<'h, M::Input, M::Output>],
        twin: Option<Vec<Option<usize>>>,
        order: Order,
    ) -> Self {
        let n = calls.len();
        let mut by_invoke: Vec<u32> = (0..n as u32).collect();
        by_invoke.sort_by_key(|&i| (calls[i as usize].invoked_at(), calls[i as usize].index));
        // In the order asked: one list by invocation, or those that
        // returned in the first list and those that never did in the
        // second.
        let (returned, never): (Vec<u32>, Vec<u32>) = by_invoke
            .into_iter()
            .partition(|&i| order == Order::Invocation || calls[i as usize].complete.is_some());
        let (next, prev) = linked(n + 2, &[(n as u32, &returned), (n as u32 + 1, &never)]);
        let mut by_return: Vec<u32> = (0..n as u32)
            .filter(|&i| calls[i as usize].complete.is_some())
            .collect();
        by_return.sort_by_key(|&i| (calls[i as usize].returned_at(), calls[i as usize].index));
        let (ret_next, ret_prev) = linked(n + 1, &[(n as u32, &by_return)]);
        let required_words = by_return.len().div_ceil(64);
        let mut bit = vec![0; n];
        let (mut required, mut open) = (0, 0);
        for (x, call) in calls.iter().enumerate() {
            if call.complete.is_some() {
                bit[x] = required;
                required += 1;
            } else {
                bit[x] = (required_words * 64) as u32 + open;
                open += 1;
            }
        }
        let twin = twin.map_or_else(
            || vec![NIL; n],
            |twin| {
                twin.into_iter()
                    .map(|t| t.map_or(NIL, |t| t as u32))
                    .collect()
            },
        );
        Search {
            model,
            calls,
            twin,
            next,
            prev,
            ret_next,
            ret_prev,
            bit,
            required_words,
            open: open as usize,
        }
    }

    fn lift(&mut self, x: u32) {
        unlink(&mut self.next, &mut self.prev, x);
        if self.calls[x as usize].complete.is_some() {
            unlink(&mut self.ret_next, &mut self.ret_prev, x);
        }
    }

    fn unlift(&mut self, x: u32) {
        relink(&mut self.next, &mut self.prev, x);
        if self.calls[x as usize].complete.is_some() {
            relink(&mut self.ret_next, &mut self.ret_prev, x);
        }
    }

    fn run(mut self, limits: Limits) -> Searched<M::State> {
        let head = self.calls.len();
        let words = (self.required_words + self.open.div_ceil(64)).max(1);
        let mut linearized = vec![0u64; words];
        let mut explored = Explored::new(self.required_words);
        let init = self.model.init();
        // (operation, state after it)
        let mut stack: Vec<(u32, M::State)> = Vec::new();
        let mut deepest = Deepest::new();
        let mut steps = 0u64;
        let open_head = head + 1;
        // The next candidate to try (`NIL`: none left in its list).
        let mut cursor = self.next[head];
        // Whether the cursor is in the list of calls that never returned.
        let mut in_open = false;
        let outcome = loop {
            // Every operation that returned is linearized: done.
            let first_pending = self.ret_next[head];
            if first_pending == NIL {
                break Outcome::Holds(self.steps_of(&stack));
            }
            steps += 1;
            if limits.exhausted(steps) {
                break Outcome::Unknown;
            }
            // Nothing unlinearized precedes a call invoked no later than
            // the earliest pending return; candidates are in invocation
            // order, so the first that comes later ends the candidates.
            let earliest_return = self.calls[first_pending as usize].returned_at();
            let past = |cursor: u32| {
                cursor == NIL || Some(self.calls[cursor as usize].invoked_at()) > earliest_return
            };
            if past(cursor) && !in_open {
                // On to the calls that never returned.
                in_open = true;
                cursor = self.next[open_head];
            }
            if past(cursor) {
                // No candidate left: back up.
                let Some((x, state)) = stack.pop() else {
                    break Outcome::Violated;
                };
                deepest.popped(&stack);
                explored.record(&linearized, state);
                flip(&mut linearized, self.bit[x as usize]);
                self.unlift(x);
                cursor = self.next[x as usize];
                in_open = self.calls[x as usize].complete.is_none();
                continue;
            }
            let x = cursor;
            cursor = self.next[x as usize];
            let twin = self.twin[x as usize];
            if twin != NIL && !is_set(&linearized, self.bit[twin as usize]) {
                // Its twin comes first.
                continue;
            }
            let call = self.calls[x as usize];
            let state = stack.last().map_or(&init, |(_, s)| s);
            let Some(next) = self.model.step(state, call.input, call.output) else {
                continue;
            };
            if call.complete.is_none() && next == *state {
                continue;
            }
            flip(&mut linearized, self.bit[x as usize]);
            if !explored.dominates(&linearized, &next) {
                self.lift(x);
                stack.push((x, next));
                deepest.pushed(&stack);
                cursor = self.next[head];
                in_open = false;
            } else {
                flip(&mut linearized, self.bit[x as usize]);
            }
        };
        Searched {
            outcome,
            longest: self.steps_of(&deepest.into_inner()),
            steps,
            cache_entries: explored.len(),
            cache_entry_bytes: Explored::<M::State>::entry_bytes(words),
        }
    }

    fn steps_of(&self, frames: &[(u32, M::State)]) -> Vec<Step<M::State>> {
        frames
            .iter()
            .map(|(x, state)| Step {
                op: self.calls[*x as usize].index,
                state: state.clone(),
            })
            .collect()
    }
}

/// The memoisation cache (Lowe's), with pruning by dominance: every
/// configuration explored to the end without success, kept as (the calls
/// that returned it linearized, the state, the calls that never returned
/// it linearized).
///
/// A configuration is pruned when an explored one had the same returned
/// calls and state and used a *subset* of the lost calls: it can do no
/// more (lost calls precede nothing and need not be linearized), so it
/// fails too. Equal sets are the plain cache. Only configurations explored
/// to the end count, never ones still on the stack (which a search cannot
/// reach again: each holds fewer calls than the one after it); that keeps
/// the argument a simple induction on the order in which they finish.
///
/// Entries with the same returned calls and state are chained from one
/// hash-table slot; an entry made redundant by a later, smaller one is
/// marked dead rather than moved.
struct Explored<S> {
    required_words: usize,
    /// By hash of (returned calls, state): the newest entry of its chain.
    heads: rustc_hash::FxHashMap<u64, u32>,
    entries: Vec<ExploredEntry<S>>,
}

struct ExploredEntry<S> {
    required: Words<u64>,
    state: S,
    open: Words<u64>,
    /// The next entry of the chain (`NIL`: the end).
    next: u32,
    alive: bool,
}

impl<S: Eq + std::hash::Hash> Explored<S> {
    fn new(required_words: usize) -> Self {
        Explored {
            required_words,
            heads: rustc_hash::FxHashMap::default(),
            entries: Vec::new(),
        }
    }

    fn key(&self, words: &[u64], state: &S) -> u64 {
        use std::hash::BuildHasher;
        rustc_hash::FxBuildHasher.hash_one((&words[..self.required_words], state))
    }

    /// The entries chained under `key`, with their indices.
    fn chain(&self, key: u64) -> impl Iterator<Item = (u32, &ExploredEntry<S>)> {
        let mut at = self.heads.get(&key).copied().unwrap_or(NIL);
        std::iter::from_fn(move || {
            let i = at;
            let entry = self.entries.get(i as usize)?;
            at = entry.next;
            Some((i, entry))
        })
    }

    /// Records a configuration explored without success.
    fn record(&mut self, words: &[u64], state: S) {
        let (required, open) = words.split_at(self.required_words);
        let key = self.key(words, &state);
        // Entries that used a superset of these lost calls are dominated
        // by this one from now on.
        let dominated: Vec<u32> = self
            .chain(key)
            .filter(|(_, e)| {
                e.alive
                    && e.required.as_slice() == required
                    && e.state == state
                    && subset(open, e.open.as_slice())
            })
            .map(|(i, _)| i)
            .collect();
        for i in dominated {
            self.entries[i as usize].alive = false;
        }
        let index = self.entries.len() as u32;
        let next = self.heads.insert(key, index).unwrap_or(NIL);
        self.entries.push(ExploredEntry {
            required: Words::new(required),
            state,
            open: Words::new(open),
            next,
            alive: true,
        });
    }

    /// Whether an explored configuration makes this one useless.
    fn dominates(&self, words: &[u64], state: &S) -> bool {
        let (required, open) = words.split_at(self.required_words);
        self.chain(self.key(words, state)).any(|(_, e)| {
            e.alive
                && e.required.as_slice() == required
                && e.state == *state
                && subset(e.open.as_slice(), open)
        })
    }

    /// Entries, dead ones included: they hold memory until the end.
    fn len(&self) -> usize {
        self.entries.len()
    }

    /// Bytes of one entry with `words` words, not counting what the state
    /// owns on the heap: the entry, its words when they do not fit in it,
    /// and the hash table's slot.
    fn entry_bytes(words: usize) -> usize {
        let heap = if words > 2 { words * 8 } else { 0 };
        heap + std::mem::size_of::<ExploredEntry<S>>() + std::mem::size_of::<(u64, u32)>() + 1
    }
}

/// Whether the bitset `a` is a subset of `b` (of the same length).
fn subset(a: &[u64], b: &[u64]) -> bool {
    a.iter().zip(b).all(|(a, b)| a & !b == 0)
}

/// Doubly linked lists, each `order` after its head sentinel and `NIL` at
/// the end, over `size` nodes: (next, prev), indexed by node.
fn linked(size: usize, lists: &[(u32, &[u32])]) -> (Vec<u32>, Vec<u32>) {
    let mut next = vec![NIL; size];
    let mut prev = vec![NIL; size];
    for &(head, order) in lists {
        let mut last = head;
        for &x in order {
            next[last as usize] = x;
            prev[x as usize] = last;
            last = x;
        }
    }
    (next, prev)
}

fn unlink(next: &mut [u32], prev: &mut [u32], x: u32) {
    let (p, n) = (prev[x as usize], next[x as usize]);
    next[p as usize] = n;
    if n != NIL {
        prev[n as usize] = p;
    }
}

/// Undoes `unlink(x)`; valid when links are undone in reverse order.
fn relink(next: &mut [u32], prev: &mut [u32], x: u32) {
    let (p, n) = (prev[x as usize], next[x as usize]);
    next[p as usize] = x;
    if n != NIL {
        prev[n as usize] = x;
    }
}

fn is_set(bits: &[u64], bit: u32) -> bool {
    bits[bit as usize / 64] & (1 << (bit % 64)) != 0
}

fn flip(bits: &mut [u64], bit: u32) {
    bits[bit as usize / 64] ^= 1 << (bit % 64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consistency::generate::SplitMix64;
    use crate::consistency::history::Operation;
    use crate::consistency::models::{CasRegister, Register, RegisterOp, RegisterRet};
    use crate::consistency::search::reachable;

    type H = History<RegisterOp<u8>, RegisterRet<u8>>;

    #[test]
    fn a_client_s_next_call_at_the_instant_its_last_returned_follows_it() {
        // Client 0 writes 1 then reads nothing, the read invoked at the
        // instant the write returned: the read must follow the write.
        let mut h = H::new();
        h.complete_op(0, 0, 5, RegisterOp::Write(1), RegisterRet::Written);
        h.complete_op(0, 5, 9, RegisterOp::Read, RegisterRet::Value(None));
        let r = check_linearizable(&Register::new(), &h, Budget::default());
        assert_eq!(r.verdict, Verdict::Violated);
        // Another client at the same instant overlaps the write.
        let mut h = H::new();
        h.complete_op(0, 0, 5, RegisterOp::Write(1), RegisterRet::Written);
        h.complete_op(1, 5, 9, RegisterOp::Read, RegisterRet::Value(None));
        assert!(check_linearizable(&Register::new(), &h, Budget::default()).holds());
    }

    #[test]
    fn explored_configurations_prune_those_with_more_lost_calls() {
        // One word of calls that returned, one of lost calls.
        let mut explored = Explored::new(1);
        let (r, other_r) = (0b101, 0b111);
        explored.record(&[r, 0b0011], Some(1u8));
        explored.record(&[r, 0b0101], Some(1));
        explored.record(&[other_r, 0b0001], Some(1));
        explored.record(&[r, 0b0001], Some(2));
        // Chained by returned calls and state, lost calls aside.
        assert_eq!(explored.heads.len(), 3);
        let dominated =
            |explored: &Explored<Option<u8>>, words: &[u64]| explored.dominates(words, &Some(1));
        assert!(dominated(&explored, &[r, 0b0011]), "the same");
        assert!(dominated(&explored, &[r, 0b1011]), "more lost calls");
        assert!(dominated(&explored, &[r, 0b0111]), "either");
        assert!(!dominated(&explored, &[r, 0b0001]), "fewer");
        assert!(!dominated(&explored, &[r, 0b1001]), "others");
        assert!(
            !dominated(&explored, &[0b100, 0b0011]),
            "other returned calls"
        );
        assert!(!explored.dominates(&[r, 0b0011], &Some(3)), "another state");
        // A smaller set makes the entries it dominates dead, and only
        // those: the first two, not the others.
        explored.record(&[r, 0b0001], Some(1));
        let alive: Vec<bool> = explored.entries.iter().map(|e| e.alive).collect();
        assert_eq!(alive, vec![false, false, true, true, true]);
        assert_eq!(explored.len(), 5, "dead entries still count");
        assert!(dominated(&explored, &[r, 0b1011]));
        assert!(!dominated(&explored, &[r, 0b0000]));
    }

    #[test]
    fn an_explored_entry_counts_its_words_when_they_do_not_fit_inline() {
        type E = Explored<Option<u8>>;
        // The entry, the hash table's slot and a control byte.
        let entry = std::mem::size_of::<ExploredEntry<Option<u8>>>()
            + std::mem::size_of::<(u64, u32)>()
            + 1;
        assert_eq!(E::entry_bytes(1), entry);
        assert_eq!(E::entry_bytes(2), entry);
        assert_eq!(E::entry_bytes(3), entry + 3 * 8);
        assert_eq!(E::entry_bytes(4), entry + 4 * 8);
    }

    /// A random history of one to nine calls on a compare-and-set register
    /// of two values, by three client slots, with close times (so calls
    /// tie at one instant), calls that never returned (the slot then moves
    /// on to a new client) and calls that returned without a result.
    /// Outputs are random, so many histories are linearizable and many
    /// are not.
    fn random_cas_history(rng: &mut SplitMix64) -> History<RegisterOp<u8>, RegisterRet<u8>> {
        let mut h = History::new();
        let mut clients = [0, 1, 2];
        let mut free = [0; 3];
        for _ in 0..=rng.below(9) {
            let slot = rng.below(3) as usize;
            let invoke = free[slot] + rng.below(3);
            let value = |rng: &mut SplitMix64| rng.below(2) as u8;
            let (input, output) = match rng.below(3) {
                0 => {
                    let read = [None, Some(0), Some(1)][rng.below(3) as usize];
                    (RegisterOp::Read, RegisterRet::Value(read))
                }
                1 => (RegisterOp::Write(value(rng)), RegisterRet::Written),
                _ => {
                    let (expect, new) = (value(rng), value(rng));
                    (
                        RegisterOp::Cas { expect, new },
                        RegisterRet::Cas(rng.chance(500)),
                    )
                }
            };
            if rng.chance(200) {
                h.open_op(clients[slot], invoke, input);
                clients[slot] += 3;
                free[slot] = invoke;
            } else {
                let complete = invoke + rng.below(4);
                h.push(Operation {
                    client: clients[slot],
                    invoke,
                    complete: Some(complete),
                    input,
                    output: (!rng.chance(100)).then_some(output),
                });
                free[slot] = complete;
            }
        }
        h
    }

    /// Checks that `order` is a linearization of `calls`: each step
    /// accepted by the model with the state reported, no call twice, every
    /// call that returned present, and no call placed after one that it
    /// precedes in real time.
    fn assert_linearization<M: Model>(
        model: &M,
        calls: &[Call<'_, M::Input, M::Output>],
        order: &[Step<M::State>],
    ) where
        M::State: std::fmt::Debug,
    {
        let at = |op: usize| calls.iter().find(|c| c.index == op).unwrap();
        let mut state = model.init();
        for (n, step) in order.iter().enumerate() {
            let call = at(step.op);
            state = model.step(&state, call.input, call.output).unwrap();
            assert_eq!(state, step.state, "step {n}");
            for later in &order[n + 1..] {
                let later = at(later.op);
                assert!(
                    later.returned_at().is_none_or(|r| r >= call.invoked_at()),
                    "{} is placed after {}, which it precedes",
                    later.index,
                    call.index
                );
            }
            assert!(
                !order[..n].iter().any(|s| s.op == step.op),
                "{} twice",
                step.op
            );
        }
        for call in calls.iter().filter(|c| c.complete.is_some()) {
            assert!(
                order.iter().any(|s| s.op == call.index),
                "{} missing",
                call.index
            );
        }
    }

    /// The thorough search (calls that returned first, with dominance)
    /// decides as the quick one (invocation order) does, and both give
    /// linearizations — with and without twins. `differential.rs` checks
    /// the checker against brute force, but on histories that small the
    /// quick search always decides, so the thorough one is checked here.
    #[test]
    fn both_search_orders_agree_and_give_linearizations() {
        let model = CasRegister::<u8>::new();
        let mut rng = SplitMix64::new(11);
        let mut verdicts = [0; 2];
        for _ in 0..4_000 {
            let h = random_cas_history(&mut rng);
            let mut calls: Vec<_> = h
                .ops()
                .iter()
                .enumerate()
                .map(|(i, op)| Call::new(i, op))
                .collect();
            tie_depths(&mut calls);
            let states = reachable(&model, &calls).unwrap();
            for twin in [Some(twins(&model, &calls, &states)), None] {
                let outcome = |order| {
                    Search::new(&model, &calls, twin.clone(), order)
                        .run(Limits::start(Budget::unlimited()))
                        .outcome
                };
                match (outcome(Order::Invocation), outcome(Order::ReturnedFirst)) {
                    (Outcome::Holds(quick), Outcome::Holds(thorough)) => {
                        assert_linearization(&model, &calls, &quick);
                        assert_linearization(&model, &calls, &thorough);
                        verdicts[0] += 1;
                    }
                    (Outcome::Violated, Outcome::Violated) => verdicts[1] += 1,
                    other => panic!("{other:?} on {:#?}", h.ops()),
                }
            }
        }
        assert!(verdicts.iter().all(|&n| n > 2_000), "{verdicts:?}");
    }
}
