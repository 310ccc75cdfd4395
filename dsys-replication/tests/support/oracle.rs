//! The test oracle: a brute-force checker that tries every order, and
//! validators for what the checkers answer. Deliberately naive, and
//! written from the definitions, not from the checkers' code.

#![allow(dead_code)]

use dsys_replication::consistency::history::{History, Operation};
use dsys_replication::consistency::model::Model;
use dsys_replication::consistency::report::{PartReport, Report, Step, Verdict};

/// Which property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Property {
    /// Real time respected.
    Linearizable,
    /// Each client's program order respected.
    Sequential,
}

/// How many of the client's calls before `op` (in program order) returned
/// at `time`.
fn depth<I, O>(ops: &[Operation<I, O>], op: usize, time: u64) -> usize {
    let me = &ops[op];
    (0..ops.len())
        .filter(|&y| {
            ops[y].client == me.client
                && (ops[y].invoke, y) < (me.invoke, op)
                && ops[y].complete == Some(time)
        })
        .count()
}

/// Whether `a` must come before `b` in any order, under `property`, in the
/// history `ops`.
///
/// - Linearizability: `a` returned before `b` was invoked; at the same
///   instant, when fewer of `a`'s client's earlier calls returned at that
///   instant than of `b`'s (so a client's next call at the instant its
///   previous one returned follows it).
/// - Sequential consistency: same client, `a` invoked first (ties by index).
///
/// An operation that never returned precedes nothing (it may be left out).
pub fn precedes<I, O>(property: Property, ops: &[Operation<I, O>], a: usize, b: usize) -> bool {
    let (x, y) = (&ops[a], &ops[b]);
    let Some(done) = x.complete else {
        return false;
    };
    match property {
        Property::Linearizable => {
            done < y.invoke || (done == y.invoke && depth(ops, a, done) < depth(ops, b, y.invoke))
        }
        Property::Sequential => x.client == y.client && (x.invoke, a) < (y.invoke, b),
    }
}

/// Every order of every set holding all that returned, tried one by one
/// (abandoning an order as soon as its prefix is refused), for the history
/// `ops`.
pub fn brute<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    property: Property,
) -> bool {
    let all: Vec<usize> = (0..ops.len()).collect();
    brute_part(model, ops, &all, property)
}

/// [`brute`] for the operations `part` of the history `ops` (precedence
/// from the whole history).
pub fn brute_part<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    part: &[usize],
    property: Property,
) -> bool {
    brute_relaxed(model, ops, part, &vec![false; ops.len()], property)
}

/// [`brute_part`] with the operations flagged in `relaxed` (by history
/// index) taken as never returned: optional, any output, preceding nothing.
pub fn brute_relaxed<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    part: &[usize],
    relaxed: &[bool],
    property: Property,
) -> bool {
    let required = |i: usize| ops[i].complete.is_some() && !relaxed[i];
    // Under sequential consistency an optional operation keeps its place
    // in its client's order: it is applied there or skipped (below).
    let before = |a: usize, b: usize| match property {
        Property::Linearizable => !relaxed[a] && precedes(property, ops, a, b),
        Property::Sequential => {
            ops[a].client == ops[b].client && (ops[a].invoke, a) < (ops[b].invoke, b)
        }
    };
    let mut used = vec![false; ops.len()];
    #[allow(clippy::too_many_arguments)]
    fn go<M: Model>(
        model: &M,
        ops: &[Operation<M::Input, M::Output>],
        part: &[usize],
        relaxed: &[bool],
        required: &dyn Fn(usize) -> bool,
        before: &dyn Fn(usize, usize) -> bool,
        used: &mut Vec<bool>,
        state: &M::State,
    ) -> bool {
        if part.iter().all(|&i| used[i] || !required(i)) {
            return true;
        }
        for &x in part {
            if used[x] || part.iter().any(|&y| y != x && !used[y] && before(y, x)) {
                continue;
            }
            let output = if relaxed[x] {
                None
            } else {
                ops[x].output.as_ref()
            };
            let skip = (!required(x)).then(|| state.clone());
            let applied = model.step(state, &ops[x].input, output);
            for next in applied.into_iter().chain(skip) {
                used[x] = true;
                let found = go(model, ops, part, relaxed, required, before, used, &next);
                used[x] = false;
                if found {
                    return true;
                }
            }
        }
        false
    }
    go(
        model,
        ops,
        part,
        relaxed,
        &required,
        &before,
        &mut used,
        &model.init(),
    )
}

/// The operations `indices` of `history`, as a history of their own.
pub fn sub<I: Clone, O: Clone>(history: &History<I, O>, indices: &[usize]) -> Vec<Operation<I, O>> {
    indices.iter().map(|&i| history.ops()[i].clone()).collect()
}

/// Checks that `order` is an accepted order of operations of `part` under
/// `property`: each at most once, each refused by the model nowhere, every
/// state reported as the model computes it, no operation before one that
/// precedes it; and, when `complete`, holding every operation of `part`
/// that returned. Returns what is wrong.
pub fn check_order<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    part: &[usize],
    order: &[Step<M::State>],
    property: Property,
    complete: bool,
) -> Result<(), String> {
    let ops = history.ops();
    let mut state = model.init();
    let mut placed = Vec::new();
    for (n, step) in order.iter().enumerate() {
        if !part.contains(&step.op) {
            return Err(format!(
                "step {n}: operation {} is not in the part",
                step.op
            ));
        }
        if placed.contains(&step.op) {
            return Err(format!("step {n}: operation {} twice", step.op));
        }
        let op = &ops[step.op];
        state = model
            .step(&state, &op.input, op.output.as_ref())
            .ok_or_else(|| format!("step {n}: the model refuses operation {}", step.op))?;
        if state != step.state {
            return Err(format!(
                "step {n}: state {:?}, reported {:?}",
                state, step.state
            ));
        }
        placed.push(step.op);
    }
    for (i, &a) in placed.iter().enumerate() {
        for &b in &placed[..i] {
            if precedes(property, ops, a, b) {
                return Err(format!("operation {a} is placed after {b} but precedes it"));
            }
        }
        // An operation left out must not precede one placed.
        for &y in part {
            if !placed.contains(&y) && precedes(property, ops, y, a) {
                return Err(format!("operation {y} precedes {a} but is missing"));
            }
        }
    }
    if complete {
        for &i in part {
            if ops[i].complete.is_some() && !placed.contains(&i) {
                return Err(format!("operation {i} returned but is missing"));
            }
        }
    }
    Ok(())
}

/// Checks everything a report says against the brute-force checker, for a
/// history small enough for it: the verdict of each part, its witness, its
/// longest prefix, and that its failing set fails and is 1-minimal.
pub fn audit<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    report: &Report<M::State>,
    property: Property,
    parts: &[Vec<usize>],
) -> Result<(), String> {
    if report.parts.len() != parts.len() {
        return Err(format!(
            "{} parts, expected {}",
            report.parts.len(),
            parts.len()
        ));
    }
    let mut any_violated = false;
    for (part, expected_ops) in report.parts.iter().zip(parts) {
        if &part.ops != expected_ops {
            return Err(format!(
                "part ops {:?}, expected {expected_ops:?}",
                part.ops
            ));
        }
        let holds = brute_part(model, history.ops(), &part.ops, property);
        any_violated |= !holds;
        audit_part(model, history, part, property, holds)?;
    }
    let expected = if any_violated {
        Verdict::Violated
    } else {
        Verdict::Holds
    };
    if report.verdict != expected {
        return Err(format!(
            "verdict {:?}, brute force says {expected:?}",
            report.verdict
        ));
    }
    Ok(())
}

fn audit_part<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    part: &PartReport<M::State>,
    property: Property,
    holds: bool,
) -> Result<(), String> {
    match (part.verdict, holds) {
        (Verdict::Holds, true) => {
            let witness = part.witness.as_ref().ok_or("holds without a witness")?;
            check_order(model, history, &part.ops, witness, property, true)
                .map_err(|e| format!("bad witness: {e}"))?;
            if !part.failing.is_empty() {
                return Err("holds with a failing set".into());
            }
        }
        (Verdict::Violated, false) => {
            if part.witness.is_some() {
                return Err("violated with a witness".into());
            }
            // The sequential checker may find the violation in one part of
            // the model's partition: its longest prefix is then of that part.
            let whole = check_order(
                model,
                history,
                &part.ops,
                &part.longest_prefix,
                property,
                false,
            );
            let in_a_part = || {
                model.partition(history.ops()).iter().any(|p| {
                    check_order(model, history, p, &part.longest_prefix, property, false).is_ok()
                })
            };
            if whole.is_err() && !(property == Property::Sequential && in_a_part()) {
                return whole.map_err(|e| format!("bad longest prefix: {e}"));
            }
            if part.failing.is_empty() || part.failing.iter().any(|i| !part.ops.contains(i)) {
                return Err(format!("failing set {:?} not in the part", part.failing));
            }
            // Every operation of the part outside the failing set relaxed:
            // still violated; one more relaxed: it holds.
            let mut relaxed = vec![false; history.len()];
            for &i in &part.ops {
                relaxed[i] = !part.failing.contains(&i);
            }
            if brute_relaxed(model, history.ops(), &part.ops, &relaxed, property) {
                return Err(format!("failing set {:?} does not fail", part.failing));
            }
            for &i in &part.failing {
                relaxed[i] = true;
                if !brute_relaxed(model, history.ops(), &part.ops, &relaxed, property) {
                    return Err(format!(
                        "failing set {:?} is not 1-minimal: relaxing {i} too, it still fails",
                        part.failing
                    ));
                }
                relaxed[i] = false;
            }
        }
        (verdict, holds) => {
            return Err(format!(
                "part verdict {verdict:?}, brute force says holds = {holds}"
            ))
        }
    }
    Ok(())
}
