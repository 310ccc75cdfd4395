//! What the two checkers share: operations prepared for a search, the
//! budget as the search sees it, the tracker of the longest accepted order,
//! the cache, and the shrinking of a failing set of operations.

use std::collections::HashSet;

use rustc_hash::{FxHashMap, FxHashSet};
use std::hash::Hash;

use super::history::Operation;
use super::model::Model;
use super::report::{Budget, Step};

/// One operation as a search sees it: borrowed input and output, and its
/// index in the history it came from.
#[derive(Debug)]
pub(crate) struct Call<'h, I, O> {
    /// The operation's index in the history.
    pub(crate) index: usize,
    pub(crate) client: u64,
    pub(crate) invoke: u64,
    /// `None`: never returned (optional, unconstrained output).
    pub(crate) complete: Option<u64>,
    pub(crate) input: &'h I,
    /// `None`: unknown (the output is not checked).
    pub(crate) output: Option<&'h O>,
    /// How many of the same client's earlier calls returned at the instant
    /// this one was invoked ([`tie_depths`]).
    pub(crate) invoke_depth: u32,
    /// How many of the same client's earlier calls returned at the instant
    /// this one returned.
    pub(crate) complete_depth: u32,
}

// Not derived: a derive would require `I: Clone, O: Clone`.
impl<I, O> Clone for Call<'_, I, O> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I, O> Copy for Call<'_, I, O> {}

impl<'h, I, O> Call<'h, I, O> {
    pub(crate) fn new(index: usize, op: &'h Operation<I, O>) -> Self {
        Call {
            index,
            client: op.client,
            invoke: op.invoke,
            complete: op.complete,
            input: &op.input,
            output: op.output.as_ref(),
            invoke_depth: 0,
            complete_depth: 0,
        }
    }

    /// Where its invocation falls in real time: before `(complete,
    /// complete_depth)` of another call means that call does not precede
    /// it.
    pub(crate) fn invoked_at(&self) -> (u64, u32) {
        (self.invoke, self.invoke_depth)
    }

    /// Where its return falls in real time (`None`: never).
    pub(crate) fn returned_at(&self) -> Option<(u64, u32)> {
        self.complete.map(|t| (t, self.complete_depth))
    }

    /// The same call, as if it had never returned.
    pub(crate) fn opened(self) -> Self {
        Call {
            complete: None,
            output: None,
            ..self
        }
    }
}

/// Orders the events of one instant, so that a client's call invoked at
/// the very instant its previous call returned follows it, while calls of
/// different clients at one instant stay concurrent as far as that allows.
///
/// Each event at instant `t` gets a *depth*: how many of its client's
/// earlier calls (in program order) returned at `t`. Events at one instant
/// are ordered by depth, invocations before returns at equal depth. So `a`
/// precedes `b` in real time when `a` returned before `b` was invoked, or at
/// the same instant with a smaller depth. This is a linear order of points,
/// one interval per call, so real-time precedence stays an interval order —
/// which the search and locality (Herlihy & Wing's Theorem 1) rely on.
/// `calls` are taken as a history of their own.
pub(crate) fn tie_depths<I, O>(calls: &mut [Call<'_, I, O>]) {
    let mut order: Vec<usize> = (0..calls.len()).collect();
    order.sort_by_key(|&i| (calls[i].client, calls[i].invoke, calls[i].index));
    // Returns so far of the current client, per instant.
    let mut returned: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
    let mut client = None;
    for i in order {
        if client != Some(calls[i].client) {
            client = Some(calls[i].client);
            returned.clear();
        }
        let call = &mut calls[i];
        call.invoke_depth = returned.get(&call.invoke).copied().unwrap_or(0);
        if let Some(t) = call.complete {
            let count = returned.entry(t).or_insert(0);
            call.complete_depth = *count;
            *count += 1;
        }
    }
}

/// Sorts calls by invocation time (then history index): the order in which
/// prefixes are cut and program order within a client.
pub(crate) fn sort_by_invocation<I, O>(calls: &mut [Call<'_, I, O>]) {
    calls.sort_by_key(|c| (c.invoke, c.index));
}

/// The parts of a history as `partition` returned them, made safe: indices
/// out of range and repeats inside a part are dropped, so a wrong
/// `partition` cannot make a checker panic.
pub(crate) fn sanitize_parts(parts: Vec<Vec<usize>>, len: usize) -> Vec<Vec<usize>> {
    parts
        .into_iter()
        .map(|part| {
            let mut seen = HashSet::new();
            part.into_iter()
                .filter(|&i| i < len && seen.insert(i))
                .collect()
        })
        .collect()
}

/// The budget as one search sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) steps_max: Option<u64>,
    pub(crate) stop: Option<fn() -> bool>,
}

impl Limits {
    /// The limits of a check starting now.
    pub(crate) fn start(budget: Budget) -> Self {
        Limits {
            steps_max: budget.steps_max,
            stop: budget.stop,
        }
    }

    /// The same stop function, at most `steps` steps.
    pub(crate) fn with_steps_at_most(self, steps: u64) -> Self {
        Limits {
            steps_max: Some(self.steps_max.map_or(steps, |max| max.min(steps))),
            ..self
        }
    }

    /// Whether a search that has taken `steps` steps must stop. The stop
    /// function is asked on the first step and every 1,024th.
    pub(crate) fn exhausted(&self, steps: u64) -> bool {
        if self.steps_max.is_some_and(|max| steps > max) {
            return true;
        }
        steps & 1023 == 1 && self.out_of_time()
    }

    /// Whether the caller's stop function says to stop.
    pub(crate) fn out_of_time(&self) -> bool {
        self.stop.is_some_and(|stop| stop())
    }
}

/// How a search ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome<S> {
    /// An accepted order of every required operation.
    Holds(Vec<Step<S>>),
    /// No order exists.
    Violated,
    /// The budget ran out.
    Unknown,
}

/// What one search found.
#[derive(Clone, Debug)]
pub(crate) struct Searched<S> {
    pub(crate) outcome: Outcome<S>,
    /// The longest accepted order seen.
    pub(crate) longest: Vec<Step<S>>,
    pub(crate) steps: u64,
    /// Entries in the memoisation cache at the end.
    pub(crate) cache_entries: usize,
    /// Bytes of one cache entry, not counting what the state owns on the
    /// heap.
    pub(crate) cache_entry_bytes: usize,
}

/// Keeps a copy of the deepest stack a depth-first search reached, in
/// amortised constant time per push: `agree` is the length of the common
/// prefix of the stack and the copy, so a new record copies only what
/// changed since.
#[derive(Debug)]
pub(crate) struct Deepest<T> {
    best: Vec<T>,
    agree: usize,
}

impl<T: Clone> Deepest<T> {
    pub(crate) fn new() -> Self {
        Deepest {
            best: Vec::new(),
            agree: 0,
        }
    }

    /// Call after pushing onto `stack`.
    pub(crate) fn pushed(&mut self, stack: &[T]) {
        let depth = stack.len();
        if depth > self.best.len() {
            self.best.truncate(self.agree);
            self.best.extend_from_slice(&stack[self.agree..]);
            self.agree = depth;
        } else {
            self.agree = self.agree.min(depth - 1);
        }
    }

    /// Call after popping from `stack`.
    pub(crate) fn popped(&mut self, stack: &[T]) {
        self.agree = self.agree.min(stack.len());
    }

    pub(crate) fn into_inner(self) -> Vec<T> {
        self.best
    }
}

/// A memoisation cache of (configuration, model state) pairs, where a
/// configuration is a slice of words (the bitset of linearized operations,
/// or the per-client progress vector).
#[derive(Debug)]
pub(crate) struct Cache<W, S> {
    seen: FxHashSet<Entry<W, S>>,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Entry<W, S> {
    words: Words<W>,
    state: S,
}

/// A configuration's words: up to two inline (a part of at most 128 calls,
/// the common case, costs no allocation per entry), more on the heap. Which
/// form depends on the length alone, so equal slices are equal values.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) enum Words<W> {
    Inline(u8, [W; 2]),
    Heap(Box<[W]>),
}

impl<W: Copy + Default> Words<W> {
    pub(crate) fn new(words: &[W]) -> Self {
        match *words {
            [] => Words::Inline(0, [W::default(); 2]),
            [a] => Words::Inline(1, [a, W::default()]),
            [a, b] => Words::Inline(2, [a, b]),
            _ => Words::Heap(words.into()),
        }
    }

    pub(crate) fn as_slice(&self) -> &[W] {
        match self {
            Words::Inline(len, words) => &words[..usize::from(*len)],
            Words::Heap(words) => words,
        }
    }
}

impl<W: Copy + Default + Eq + Hash, S: Clone + Eq + Hash> Cache<W, S> {
    pub(crate) fn new() -> Self {
        Cache {
            seen: FxHashSet::default(),
        }
    }

    /// Adds the pair; whether it was new.
    pub(crate) fn insert(&mut self, words: &[W], state: &S) -> bool {
        self.seen.insert(Entry {
            words: Words::new(words),
            state: state.clone(),
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.seen.len()
    }

    /// Bytes of one entry with `words` words, not counting what the state
    /// owns on the heap: the entry itself, the words when they do not fit
    /// in it, and one byte of the hash table's control bytes.
    pub(crate) fn entry_bytes(words: usize) -> usize {
        let heap = if words > 2 {
            words * std::mem::size_of::<W>()
        } else {
            0
        };
        heap + std::mem::size_of::<Entry<W, S>>() + 1
    }
}

/// Every state the part's calls can reach from the model's initial state,
/// applied in *any* order, each any number of times, with its output
/// unknown; `None` when that closure is too large to be worth computing.
///
/// It includes every state any order of the history reaches (a model's
/// `step` is deterministic, so a known output only narrows it), which is
/// what [`impossible_call`] and [`twins`] rely on. It is cheap for models
/// with few states (a register) and is abandoned once it has taken
/// `32·n + 1024` model steps for `n` calls (a queue, an append-only log).
pub(crate) fn reachable<M: Model>(
    model: &M,
    calls: &[Call<'_, M::Input, M::Output>],
) -> Option<Vec<M::State>> {
    let mut work_left = 32 * calls.len() + 1024;
    let init = model.init();
    let mut seen: FxHashSet<M::State> = FxHashSet::default();
    seen.insert(init.clone());
    let mut states = vec![init];
    let mut next_to_expand = 0;
    while let Some(state) = states.get(next_to_expand) {
        next_to_expand += 1;
        let mut found = Vec::new();
        for call in calls {
            work_left = work_left.checked_sub(1)?;
            if let Some(next) = model.step(state, call.input, None)
                && !seen.contains(&next)
            {
                seen.insert(next.clone());
                found.push(next);
            }
        }
        states.extend(found);
    }
    Some(states)
}

/// A call that returned but that no reachable state (`states`, from
/// [`reachable`]) accepts, as its position in `calls`: a proof that the
/// part is violated, under linearizability and sequential consistency
/// alike, that needs no search, and whose failing set is that call alone.
/// A read of a value no call writes is one; it is also the failure a
/// search handles worst, since it must try every subset of the calls that
/// never returned before it gives up.
pub(crate) fn impossible_call<M: Model>(
    model: &M,
    calls: &[Call<'_, M::Input, M::Output>],
    states: &[M::State],
) -> Option<usize> {
    calls.iter().position(|call| {
        call.complete.is_some()
            && !states
                .iter()
                .any(|state| model.step(state, call.input, call.output).is_some())
    })
}

/// For each call that never returned, the position in `calls` of the
/// previous one (by invocation) that behaves the same — the same next
/// state from every reachable state in `states` — or `None`.
///
/// Such *twins* are interchangeable once both are invoked (they precede
/// nothing and do the same), so a search need only linearize a call after
/// its twin: any order that uses the later one without the earlier can use
/// the earlier instead. With five values written, ten lost writes make at
/// most 3⁵ = 243 combinations instead of 2¹⁰ = 1,024.
pub(crate) fn twins<M: Model>(
    model: &M,
    calls: &[Call<'_, M::Input, M::Output>],
    states: &[M::State],
) -> Vec<Option<usize>> {
    let mut open: Vec<usize> = (0..calls.len())
        .filter(|&i| calls[i].complete.is_none())
        .collect();
    open.sort_by_key(|&i| (calls[i].invoked_at(), calls[i].index));
    let mut last: FxHashMap<Vec<Option<M::State>>, usize> = FxHashMap::default();
    let mut twin = vec![None; calls.len()];
    for i in open {
        let behaviour: Vec<Option<M::State>> = states
            .iter()
            .map(|state| model.step(state, calls[i].input, None))
            .collect();
        twin[i] = last.insert(behaviour, i);
    }
    twin
}

/// Runs `search` (one of the two checkers' searches over `calls`, given the
/// reachable states when they are known) unless [`impossible_call`]
/// proves the part violated at once; then only a short search runs, for
/// the longest accepted order it finds (`8·n + 64` steps: the first
/// descent, which is where the impossible call stops it).
pub(crate) fn search_unless_impossible<M: Model>(
    model: &M,
    calls: &[Call<'_, M::Input, M::Output>],
    limits: Limits,
    search: impl FnOnce(Limits, Option<&[M::State]>) -> Searched<M::State>,
) -> Searched<M::State> {
    let states = reachable(model, calls);
    let Some(states) = states else {
        return search(limits, None);
    };
    if impossible_call(model, calls, &states).is_none() {
        return search(limits, Some(&states));
    }
    let mut searched = search(
        limits.with_steps_at_most(8 * calls.len() as u64 + 64),
        Some(&states),
    );
    debug_assert!(!matches!(searched.outcome, Outcome::Holds(_)));
    searched.outcome = Outcome::Violated;
    searched
}

/// Shrinks `set` (a history, as calls, already violating the property)
/// while it still violates it, by dropping chunks of operations, halving
/// the chunk size down to one, then single operations until no single one
/// can be dropped (a simplified delta debugging). `violates` answers
/// `Some(true)` for a set that violates the property, `Some(false)` for one
/// that does not, `None` when the budget ran out — then shrinking stops and
/// the current set, still violating, is returned. Also answers whether the
/// set is 1-minimal (shrinking finished).
pub(crate) fn shrink<C: Copy>(
    mut set: Vec<C>,
    mut violates: impl FnMut(&[C]) -> Option<bool>,
) -> (Vec<C>, bool) {
    let mut chunk = set.len() / 2;
    let mut singles_changed = true;
    while chunk >= 1 {
        let mut start = set.len().saturating_sub(chunk);
        let mut changed = false;
        loop {
            let end = (start + chunk).min(set.len());
            if start < end && set.len() > end - start {
                let candidate: Vec<C> = set[..start].iter().chain(&set[end..]).copied().collect();
                match violates(&candidate) {
                    Some(true) => {
                        set = candidate;
                        changed = true;
                    }
                    Some(false) => {}
                    None => return (set, false),
                }
            }
            if start == 0 {
                break;
            }
            start = start.saturating_sub(chunk);
        }
        if chunk == 1 {
            singles_changed = changed;
            break;
        }
        chunk /= 2;
    }
    // Single operations, until a whole pass drops none: then no single
    // operation can be dropped (the set is 1-minimal).
    while singles_changed {
        singles_changed = false;
        let mut i = set.len();
        while i > 0 {
            i -= 1;
            if set.len() <= 1 {
                break;
            }
            let candidate: Vec<C> = set[..i].iter().chain(&set[i + 1..]).copied().collect();
            match violates(&candidate) {
                Some(true) => {
                    set = candidate;
                    singles_changed = true;
                }
                Some(false) => {}
                None => return (set, false),
            }
        }
    }
    (set, true)
}

/// A shared pool of steps for shrinking a failing set, so explaining a
/// failure costs a bounded multiple of finding it.
#[derive(Debug)]
pub(crate) struct Pool {
    pub(crate) left: u64,
}

impl Pool {
    /// At most ten times the steps of the search that found the failure,
    /// and at least 100,000.
    pub(crate) fn for_search(steps: u64) -> Self {
        Pool {
            left: steps.saturating_mul(10).max(100_000),
        }
    }
}

/// The operations of a violated part (`calls`) that cannot all have
/// behaved as recorded, as history indices, sorted: with every other call
/// *relaxed* ([`Call::opened`]: it may have taken effect at any moment after
/// its invocation, or not at all, with any result), the part still
/// violates the property. Relaxing only adds freedom, so "still violated"
/// is monotone in the set kept: first the shortest prefix in invocation
/// order that fails when kept (binary search), then [`shrink`] relaxes
/// more while it still fails, down to a 1-minimal set. `violates` runs one
/// search within the limits given, answering whether it is violated (or
/// `None` when out of budget) and the steps it took.
pub(crate) fn relaxed_failing<'h, M: Model>(
    model: &M,
    calls: &[Call<'h, M::Input, M::Output>],
    limits: Limits,
    steps: u64,
    mut violates: impl FnMut(&[Call<'h, M::Input, M::Output>], Limits) -> (Option<bool>, u64),
) -> (Vec<usize>, bool) {
    if let Some(position) =
        reachable(model, calls).and_then(|states| impossible_call(model, calls, &states))
    {
        return (vec![calls[position].index], true);
    }
    let mut sorted = calls.to_vec();
    sort_by_invocation(&mut sorted);
    let mut pool = Pool::for_search(steps);
    let mut kept_flags = vec![false; sorted.len()];
    let mut violated_keeping = |kept: &[usize]| -> Option<bool> {
        if pool.left == 0 || limits.out_of_time() {
            return None;
        }
        kept_flags.iter_mut().for_each(|k| *k = false);
        for &position in kept {
            kept_flags[position] = true;
        }
        let relaxed: Vec<Call<'h, M::Input, M::Output>> = sorted
            .iter()
            .zip(&kept_flags)
            .map(|(&c, &kept)| if kept { c } else { c.opened() })
            .collect();
        let (answer, spent) = violates(&relaxed, limits.with_steps_at_most(pool.left));
        pool.left = pool.left.saturating_sub(spent);
        answer
    };
    // The shortest failing prefix: `hi` fails (the whole part does), `lo`
    // is not known to.
    let (mut lo, mut hi) = (0, sorted.len());
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        let prefix: Vec<usize> = (0..mid).collect();
        match violated_keeping(&prefix) {
            Some(true) => hi = mid,
            Some(false) => lo = mid,
            None => break,
        }
    }
    let (kept, minimal) = shrink((0..hi).collect(), violated_keeping);
    let mut failing: Vec<usize> = kept.iter().map(|&p| sorted[p].index).collect();
    failing.sort_unstable();
    (failing, minimal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consistency::history::History;
    use crate::consistency::models::{
        CasRegister, Queue, QueueOp, QueueRet, RegisterOp, RegisterRet,
    };

    type CasHistory = History<RegisterOp<i64>, RegisterRet<i64>>;

    fn calls<I, O>(h: &History<I, O>) -> Vec<Call<'_, I, O>> {
        h.ops()
            .iter()
            .enumerate()
            .map(|(i, op)| Call::new(i, op))
            .collect()
    }

    // Of two independent failures, the failing set is the earliest one in
    // invocation order, shrunk to the two calls that cannot both have
    // behaved as recorded (every other call relaxed), and said 1-minimal.
    #[test]
    fn the_failing_set_is_the_earliest_failure_shrunk_to_its_calls() {
        let mut h = CasHistory::new();
        for i in 0..64u64 {
            let value = i as i64;
            h.complete_op(
                0,
                2 * i,
                2 * i + 1,
                RegisterOp::Write(value),
                RegisterRet::Written,
            );
        }
        let cs = calls(&h);
        let limits = Limits {
            steps_max: None,
            stop: None,
        };
        let (failing, minimal) = relaxed_failing(&CasRegister::new(), &cs, limits, 0, |set, _| {
            let kept = |i: usize| set.iter().any(|c| c.index == i && c.complete.is_some());
            // Violated while calls 9 and 20, or 40 and 41, behave as recorded.
            (Some(kept(9) && kept(20) || kept(40) && kept(41)), 1)
        });
        assert_eq!((failing, minimal), (vec![9, 20], true));
    }

    #[test]
    fn reachable_states_close_over_every_order_and_give_up_when_large() {
        let mut h = CasHistory::new();
        h.complete_op(0, 0, 1, RegisterOp::Write(1), RegisterRet::Written);
        h.open_op(1, 0, RegisterOp::Cas { expect: 1, new: 2 });
        h.complete_op(2, 0, 1, RegisterOp::Read, RegisterRet::Value(Some(7)));
        let model = CasRegister::new();
        let mut states = reachable(&model, &calls(&h)).unwrap();
        states.sort();
        // The compare-and-set reaches 2 only after the write: closed.
        assert_eq!(states, vec![None, Some(1), Some(2)]);
        // The read of 7 no state answers; the write any state accepts.
        assert_eq!(impossible_call(&model, &calls(&h), &states), Some(2));
        assert_eq!(impossible_call(&model, &calls(&h)[..2], &states), None);
        // A queue's states grow with every enqueue: abandoned.
        let mut q = History::new();
        for i in 0..40 {
            q.open_op(i, 0, QueueOp::Enqueue(i as u32));
        }
        q.complete_op(99, 0, 1, QueueOp::Dequeue, QueueRet::Dequeued(Some(0u32)));
        assert_eq!(reachable(&Queue::new(), &calls(&q)), None);
    }

    #[test]
    fn twins_pair_calls_that_never_returned_and_behave_the_same() {
        let mut h = CasHistory::new();
        h.open_op(0, 5, RegisterOp::Write(3)); // 0
        h.open_op(1, 2, RegisterOp::Write(3)); // 1: invoked first
        h.complete_op(2, 1, 9, RegisterOp::Write(3), RegisterRet::Written); // 2: returned
        h.open_op(3, 7, RegisterOp::Write(3)); // 3
        h.open_op(4, 1, RegisterOp::Cas { expect: 3, new: 4 }); // 4
        h.open_op(5, 6, RegisterOp::Cas { expect: 3, new: 4 }); // 5
        h.open_op(6, 3, RegisterOp::Cas { expect: 9, new: 4 }); // 6: a no-op here
        let model = CasRegister::new();
        let c = calls(&h);
        let states = reachable(&model, &c).unwrap();
        let twins = twins(&model, &c, &states);
        assert_eq!(twins[1], None, "the first write of 3");
        assert_eq!(twins[0], Some(1), "by invocation, not by index");
        assert_eq!(twins[3], Some(0));
        assert_eq!(twins[2], None, "calls that returned have none");
        assert_eq!(twins[4], None);
        assert_eq!(twins[5], Some(4));
        // Compare-and-set 9 → 4 never finds 9: it does what a
        // compare-and-set 8 → 4 would, not what 3 → 4 does.
        assert_eq!(twins[6], None);
    }

    #[test]
    fn deepest_keeps_the_longest_stack_ever_seen() {
        let mut deepest = Deepest::new();
        let mut stack = Vec::new();
        for x in [1, 2, 3] {
            stack.push(x);
            deepest.pushed(&stack);
        }
        stack.pop();
        deepest.popped(&stack);
        stack.pop();
        deepest.popped(&stack);
        // The copy agrees with the stack on what is left of it: [1].
        assert_eq!(deepest.agree, 1);
        for x in [7, 8] {
            stack.push(x);
            deepest.pushed(&stack);
        }
        assert_eq!(deepest.best, vec![1, 2, 3], "not deeper: kept");
        stack.push(9);
        deepest.pushed(&stack);
        stack.push(10);
        deepest.pushed(&stack);
        assert_eq!(deepest.into_inner(), vec![1, 7, 8, 9, 10]);
    }

    #[test]
    fn shrink_finds_a_one_minimal_set() {
        // Violated when it holds both 3 and 7, or 5 alone with 11.
        let violates = |s: &[u32]| {
            Some((s.contains(&3) && s.contains(&7)) || (s.contains(&5) && s.contains(&11)))
        };
        let set: Vec<u32> = (0..20).collect();
        let (small, minimal) = shrink(set, violates);
        assert!(minimal);
        assert_eq!(small.len(), 2, "{small:?}");
        assert!(violates(&small).unwrap());
        let mut calls = 0;
        let (stopped, minimal) = shrink((0..20).collect(), |s: &[u32]| {
            calls += 1;
            if calls > 2 {
                None
            } else {
                violates(s)
            }
        });
        assert!(
            violates(&stopped).unwrap(),
            "still violating when the budget ends"
        );
        assert!(!minimal, "and said not to be minimal");
    }

    #[test]
    fn shrink_drops_halving_chunks_from_the_back_then_single_operations() {
        // Pins the order of the questions, which decides which 1-minimal
        // set is found. Violated when it holds both 2 and 5.
        let mut asked: Vec<Vec<u32>> = Vec::new();
        let (small, minimal) = shrink((0..8).collect(), |s: &[u32]| {
            asked.push(s.to_vec());
            Some(s.contains(&2) && s.contains(&5))
        });
        assert_eq!((small, minimal), (vec![2, 5], true));
        let expected: Vec<Vec<u32>> = vec![
            // Chunks of 4, the last first: neither half alone fails.
            vec![0, 1, 2, 3],
            vec![4, 5, 6, 7],
            // Chunks of 2: 6, 7 and then 0, 1 go.
            vec![0, 1, 2, 3, 4, 5],
            vec![0, 1, 2, 3],
            vec![0, 1, 4, 5],
            vec![2, 3, 4, 5],
            // Chunks of 1: 4 and 3 go.
            vec![2, 3, 4],
            vec![2, 3, 5],
            vec![2, 5],
            vec![5],
            // That pass dropped some: one more pass of single operations,
            // which drops none.
            vec![2],
            vec![5],
        ];
        assert_eq!(asked, expected);

        // A chunk is never the whole set, and a pass of chunks of 1 that
        // drops nothing ends the shrinking.
        let mut asked: Vec<Vec<u32>> = Vec::new();
        let (small, minimal) = shrink((0..4).collect(), |s: &[u32]| {
            asked.push(s.to_vec());
            Some(s.contains(&0) && s.contains(&1))
        });
        assert_eq!((small, minimal), (vec![0, 1], true));
        assert_eq!(asked, vec![vec![0, 1], vec![0], vec![1]]);
    }

    #[test]
    fn reachable_gives_up_after_32_model_steps_per_call_plus_1024() {
        // n writes of distinct values reach n + 1 states, each expanded by
        // n model steps: (n + 1)·n steps, within 32·n + 1024 up to n = 51.
        let writes = |n: i64| {
            let mut h = CasHistory::new();
            for v in 0..n {
                h.open_op(v as u64, 0, RegisterOp::Write(v));
            }
            h
        };
        let model = CasRegister::new();
        let h = writes(51);
        assert_eq!(reachable(&model, &calls(&h)).map(|s| s.len()), Some(52));
        let h = writes(52);
        assert_eq!(reachable(&model, &calls(&h)), None);
    }

    #[test]
    fn words_keep_short_configurations_inline() {
        assert_eq!(Words::new(&[] as &[u64]), Words::Inline(0, [0, 0]));
        assert_eq!(Words::new(&[7u64]), Words::Inline(1, [7, 0]));
        assert_eq!(Words::new(&[7u64, 8]), Words::Inline(2, [7, 8]));
        assert_eq!(Words::new(&[7u64, 8, 9]), Words::Heap(vec![7, 8, 9].into()));
        for words in [&[][..], &[7], &[7, 8], &[7, 8, 9]] {
            assert_eq!(Words::new(words).as_slice(), words);
        }
    }

    #[test]
    fn the_cache_answers_whether_a_pair_is_new_and_counts_its_bytes() {
        let mut cache: Cache<u32, Option<u8>> = Cache::new();
        assert!(cache.insert(&[0, 1], &None));
        assert!(!cache.insert(&[0, 1], &None), "seen");
        assert!(cache.insert(&[0, 1], &Some(1)), "another state");
        assert!(cache.insert(&[0], &None), "a shorter configuration");
        assert!(cache.insert(&[0, 1, 0], &None), "a longer one, on the heap");
        assert!(!cache.insert(&[0, 1, 0], &None));
        assert_eq!(cache.len(), 4);
        // An entry: itself, its words when more than two (on the heap),
        // and a control byte of the hash table.
        type Bytes = Cache<u32, Option<u8>>;
        let entry = std::mem::size_of::<Entry<u32, Option<u8>>>() + 1;
        assert_eq!(Bytes::entry_bytes(1), entry);
        assert_eq!(Bytes::entry_bytes(2), entry);
        assert_eq!(Bytes::entry_bytes(3), entry + 3 * 4);
        assert_eq!(Bytes::entry_bytes(5), entry + 5 * 4);
    }

    #[test]
    fn sanitized_parts_keep_each_index_in_range_once() {
        // Three operations: 3 is one past the end.
        let parts = sanitize_parts(vec![vec![2, 0, 2, 3, 1, 9], vec![], vec![3]], 3);
        assert_eq!(parts, vec![vec![2, 0, 1], vec![], vec![]]);
    }

    #[test]
    fn limits_count_steps_and_time() {
        let l = Limits::start(Budget {
            steps_max: Some(5),
            stop: None,
        });
        assert!(!l.exhausted(5));
        assert!(l.exhausted(6));
        let l = Limits::start(Budget {
            steps_max: None,
            stop: Some(|| true),
        });
        assert!(l.exhausted(1));
        assert_eq!(l.with_steps_at_most(3).steps_max, Some(3));
        assert!(!Limits::start(Budget::unlimited()).exhausted(u64::MAX));
    }
}
