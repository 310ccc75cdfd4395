//! The simulator's engine: dispatching queued actions, running handlers
//! through the driver, carrying out their effects, the network model in
//! motion, faults, and invariant checks. The public API is in `sim.rs`.

use std::time::Duration;

use rand::RngExt;

use super::metrics::KindId;
use super::network::{nanos, LinkConfig, Ordering};
use super::{Action, Emitted, Fault, Simulation};
use crate::driver::Driver;
use crate::error::{Error, Result, Violation};
use crate::node::{Effect, Input, InputOf, Message, Node, NodeId};
use crate::trace::{DropReason, TraceKind, VectorTimestamp};
use crate::wire::{Codec, Postcard};

impl<N: Node> Simulation<N> {
    pub(super) fn check_fault(&self, fault: &Fault) -> Result<()> {
        fault
            .nodes()
            .into_iter()
            .try_for_each(|n| self.check(n).map(drop))
    }

    pub(super) fn check(&self, node: NodeId) -> Result<usize> {
        if node.index() < self.n {
            Ok(node.index())
        } else {
            Err(Error::UnknownNode {
                node,
                nodes: self.n,
            })
        }
    }

    pub(super) fn link_index(&self, from: NodeId, to: NodeId) -> Result<usize> {
        Ok(self.check(from)? * self.n + self.check(to)?)
    }

    pub(super) fn push(&mut self, time: u64, action: Action<N>) {
        self.queue.push(time, action);
    }

    /// Ticks `node`'s vector clock and records a node event, when tracing.
    pub(super) fn record(&mut self, node: usize, kind: impl FnOnce() -> TraceKind) {
        if let Some(trace) = &mut self.trace {
            let clock = &mut self.clocks[node];
            clock[node] += 1;
            let stamp = VectorTimestamp(clock.clone());
            trace.push(self.now, Some(NodeId(node as u32)), Some(stamp), kind());
        }
    }

    /// Records a network event (no node, no clock), when tracing.
    pub(super) fn record_network(&mut self, node: Option<usize>, kind: impl FnOnce() -> TraceKind) {
        if let Some(trace) = &mut self.trace {
            trace.push(self.now, node.map(|i| NodeId(i as u32)), None, kind());
        }
    }

    pub(super) fn dispatch(&mut self, action: Action<N>) {
        match action {
            Action::Start {
                node: i,
                incarnation,
            } => {
                let slot = &mut self.slots[i];
                // A start queued for an incarnation that was since replaced is stale.
                if !slot.up || slot.incarnation != incarnation {
                    return;
                }
                if slot.paused {
                    slot.deferred.push(Action::Start {
                        node: i,
                        incarnation,
                    });
                    return;
                }
                self.record(i, || TraceKind::Start { incarnation });
                self.invoke(i, Input::Start);
            }
            Action::Deliver {
                from,
                to,
                epoch,
                msg_id,
                kind,
                bytes,
                msg,
                clock,
            } => {
                let slot = &self.slots[to];
                if !slot.up || slot.epoch != epoch {
                    self.drop_message(from, NodeId(to as u32), msg_id, kind, DropReason::NodeDown);
                } else if self.cut[from * self.n + to] {
                    self.drop_message(from, NodeId(to as u32), msg_id, kind, DropReason::Partition);
                } else if slot.paused {
                    self.slots[to].deferred.push(Action::Deliver {
                        from,
                        to,
                        epoch,
                        msg_id,
                        kind,
                        bytes,
                        msg,
                        clock,
                    });
                } else {
                    self.metrics.delivered += 1;
                    self.metrics.kind_at_mut(kind).delivered += 1;
                    let node_metrics = self.metrics.node_mut(to);
                    node_metrics.received += 1;
                    node_metrics.bytes_received += u64::from(bytes);
                    if self.trace.is_some() {
                        if let Some(sent) = clock {
                            for (mine, theirs) in self.clocks[to].iter_mut().zip(sent.iter()) {
                                *mine = (*mine).max(*theirs);
                            }
                        }
                        let kind = self.metrics.kind_name(kind);
                        self.record(to, || TraceKind::Deliver {
                            from: NodeId(from as u32),
                            msg_id,
                            kind: kind.to_string(),
                            msg: format!("{msg:?}"),
                        });
                    }
                    let from = NodeId(from as u32);
                    self.invoke(to, Input::Message { from, msg });
                }
            }
            Action::Timer {
                node: i,
                incarnation,
                timer,
                generation,
            } => {
                let slot = &mut self.slots[i];
                if !slot.up
                    || slot.incarnation != incarnation
                    || slot.timers.get(&timer) != Some(&generation)
                {
                    return; // cancelled, replaced, or set by an earlier incarnation
                }
                if slot.paused {
                    slot.deferred.push(Action::Timer {
                        node: i,
                        incarnation,
                        timer,
                        generation,
                    });
                    return;
                }
                slot.timers.remove(&timer);
                self.metrics.timers_fired += 1;
                self.metrics.node_mut(i).timers_fired += 1;
                if self.trace.is_some() {
                    let text = format!("{timer:?}");
                    self.record(i, || TraceKind::Timer { timer: text });
                }
                self.invoke(i, Input::Timer(timer));
            }
            Action::Request { node: i, request } => {
                let slot = &mut self.slots[i];
                if !slot.up {
                    self.metrics.requests_dropped += 1;
                    if self.trace.is_some() {
                        let text = format!("{request:?}");
                        self.record_network(Some(i), || TraceKind::RequestDropped {
                            request: text,
                        });
                    }
                } else if slot.paused {
                    slot.deferred.push(Action::Request { node: i, request });
                } else {
                    self.metrics.requests += 1;
                    if self.trace.is_some() {
                        let text = format!("{request:?}");
                        self.record(i, || TraceKind::Request { request: text });
                    }
                    self.invoke(i, Input::Request(request));
                }
            }
            Action::HeldSend {
                from,
                incarnation,
                to,
                msg,
                original,
                delay_ns,
            } => {
                let slot = &self.slots[from];
                // A held message dies with its node.
                if slot.up && slot.incarnation == incarnation {
                    let msg_id = self.send(from, to, msg);
                    self.record_network(Some(from), || TraceKind::ByzantineSend {
                        to,
                        msg_id: Some(msg_id),
                        original: original.unwrap_or_default(),
                        delay_ns,
                    });
                }
            }
            Action::Fault(fault) => self.do_fault(fault),
            Action::Call(f) => f(self),
        }
    }

    pub(super) fn do_fault(&mut self, fault: Fault) {
        match fault {
            Fault::Crash(node) => self.do_crash(node.index()),
            Fault::Restart(node) => self.do_restart(node.index()),
            Fault::Pause(node) => self.do_pause(node.index()),
            Fault::Resume(node) => self.do_resume(node.index()),
            Fault::Partition(a, b) => {
                for x in &a {
                    for y in &b {
                        if x != y {
                            self.cut[x.index() * self.n + y.index()] = true;
                            self.cut[y.index() * self.n + x.index()] = true;
                        }
                    }
                }
                self.record_network(None, || TraceKind::Partition { sides: vec![a, b] });
            }
            Fault::Heal => {
                self.cut.fill(false);
                self.record_network(None, || TraceKind::Heal);
            }
            Fault::CutLink(from, to) => {
                self.cut[from.index() * self.n + to.index()] = true;
                self.record_network(None, || TraceKind::CutLink { from, to });
            }
            Fault::RestoreLink(from, to) => {
                self.cut[from.index() * self.n + to.index()] = false;
                self.record_network(None, || TraceKind::RestoreLink { from, to });
            }
        }
    }

    pub(super) fn do_crash(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        if !slot.up {
            return;
        }
        slot.up = false;
        slot.paused = false;
        slot.epoch += 1;
        slot.timers.clear();
        let waiting = std::mem::take(&mut slot.deferred);
        self.nodes[i] = None;
        self.record(i, || TraceKind::Crash);
        // What waited for a paused node is lost with it, and counted as lost:
        // re-dispatching finds the node down and records each drop.
        for action in waiting {
            self.dispatch(action);
        }
    }

    pub(super) fn do_restart(&mut self, i: usize) {
        self.do_crash(i);
        let id = NodeId(i as u32);
        let node = (self.factory)(id);
        self.nodes[i] = Some(node);
        let slot = &mut self.slots[i];
        slot.up = true;
        slot.incarnation += 1;
        slot.driver = Driver::seeded(id, self.peers[i].clone(), self.seed, slot.incarnation);
        let incarnation = slot.incarnation;
        self.record(i, || TraceKind::Restart { incarnation });
        self.dispatch(Action::Start {
            node: i,
            incarnation,
        });
    }

    pub(super) fn do_pause(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        if slot.up && !slot.paused {
            slot.paused = true;
            self.record(i, || TraceKind::Pause);
        }
    }

    pub(super) fn do_resume(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        if !slot.up || !slot.paused {
            return;
        }
        slot.paused = false;
        let deferred = std::mem::take(&mut slot.deferred);
        self.record(i, || TraceKind::Resume);
        // Handled now, in arrival order, before anything else due at this
        // instant: they arrived first (and FIFO links stay FIFO).
        for action in deferred {
            self.dispatch(action);
        }
    }

    /// Runs one input through node `i`'s driver, then carries out its effects.
    pub(super) fn invoke(&mut self, i: usize, input: InputOf<N>) {
        // The input's record is the last one: the state after the handler
        // goes there.
        let input_record = match (&self.trace, &self.show_state) {
            (Some(trace), Some(_)) => trace.len().checked_sub(1),
            _ => None,
        };
        let slot = &mut self.slots[i];
        let Some(node) = self.nodes[i].as_mut() else {
            return;
        };
        let now = Duration::from_nanos(slot.clock.read(self.now));
        let mut effects = slot.driver.handle(node, now, input);
        for effect in effects.drain(..) {
            match effect {
                Effect::Send { to, msg } => self.send_as_node(i, to, msg),
                Effect::SetTimer { after, timer } => {
                    self.metrics.timers_set += 1;
                    let slot = &mut self.slots[i];
                    slot.next_generation += 1;
                    let generation = slot.next_generation;
                    // An equal pending timer is replaced: its queued firing
                    // finds a newer generation and does nothing.
                    slot.timers.insert(timer.clone(), generation);
                    let deadline = slot.clock.deadline(self.now, nanos(after));
                    let incarnation = slot.incarnation;
                    self.push(
                        deadline,
                        Action::Timer {
                            node: i,
                            incarnation,
                            timer,
                            generation,
                        },
                    );
                }
                Effect::CancelTimer { timer } => {
                    self.slots[i].timers.remove(&timer);
                }
                Effect::Emit(event) => {
                    self.metrics.events_emitted += 1;
                    self.metrics.node_mut(i).events_emitted += 1;
                    let trace_index = self.trace.is_some().then(|| {
                        let text = format!("{event:?}");
                        self.record(i, || TraceKind::Emit { event: text });
                        self.trace.as_ref().map_or(0, |t| t.len() - 1)
                    });
                    let slot = &mut self.slots[i];
                    slot.emitted.push(Emitted {
                        time: Duration::from_nanos(self.now),
                        local_time: Duration::from_nanos(slot.clock.read(self.now)),
                        incarnation: slot.incarnation,
                        trace_index,
                        event,
                    });
                }
            }
        }
        self.slots[i].driver.recycle(effects);
        if let (Some(index), Some(show), Some(node)) =
            (input_record, &self.show_state, self.nodes[i].as_ref())
        {
            let state = show(node);
            if let Some(trace) = &mut self.trace {
                trace.set_state(index, state);
            }
        }
    }

    /// Carries out a send effect of node `i`: through its strategy if it is
    /// Byzantine, straight to the network otherwise.
    pub(super) fn send_as_node(&mut self, i: usize, to: NodeId, msg: N::Msg) {
        let Some(mut slot) = self.byzantine.get_mut(i).and_then(Option::take) else {
            self.send(i, to, msg);
            return;
        };
        let original = self.trace.is_some().then(|| format!("{msg:?}"));
        let now = Duration::from_nanos(self.now);
        let forged = slot.intercept(NodeId(i as u32), self.n, now, to, msg);
        self.byzantine[i] = Some(slot);
        if forged.is_empty() {
            self.record_network(Some(i), || TraceKind::ByzantineSend {
                to,
                msg_id: None,
                original: original.clone().unwrap_or_default(),
                delay_ns: 0,
            });
        }
        for (dest, msg, delay) in forged {
            if delay.is_zero() {
                let msg_id = self.send(i, dest, msg);
                self.record_network(Some(i), || TraceKind::ByzantineSend {
                    to: dest,
                    msg_id: Some(msg_id),
                    original: original.clone().unwrap_or_default(),
                    delay_ns: 0,
                });
            } else {
                let delay_ns = nanos(delay);
                let incarnation = self.slots[i].incarnation;
                self.push(
                    self.now.saturating_add(delay_ns),
                    Action::HeldSend {
                        from: i,
                        incarnation,
                        to: dest,
                        msg,
                        original: original.clone(),
                        delay_ns,
                    },
                );
            }
        }
    }

    /// Puts a message of node `from` on the network; returns its `msg_id`.
    pub(super) fn send(&mut self, from: usize, to: NodeId, msg: N::Msg) -> u64 {
        let msg_id = self.next_msg_id;
        self.next_msg_id += 1;
        let kind = self.metrics.kind_id(msg.kind());
        let bytes = if self.measure_bytes {
            Postcard
                .encoded_len(&msg)
                .map_or(0, |b| u32::try_from(b).unwrap_or(u32::MAX))
        } else {
            0
        };
        self.metrics.sent += 1;
        let kind_metrics = self.metrics.kind_at_mut(kind);
        kind_metrics.sent += 1;
        kind_metrics.bytes_sent += u64::from(bytes);
        let node_metrics = self.metrics.node_mut(from);
        node_metrics.sent += 1;
        node_metrics.bytes_sent += u64::from(bytes);

        let clock = if self.trace.is_some() {
            let kind = self.metrics.kind_name(kind);
            self.record(from, || TraceKind::Send {
                to,
                msg_id,
                kind: kind.to_string(),
                msg: format!("{msg:?}"),
            });
            Some(self.clocks[from].clone().into_boxed_slice())
        } else {
            None
        };

        let t = to.index();
        if t >= self.n {
            // An algorithm bug rather than a network event; the trace and the
            // metrics show it, and the run goes on.
            self.drop_message(from, to, msg_id, kind, DropReason::NoSuchNode);
            return msg_id;
        }
        let link_index = from * self.n + t;
        if self.cut[link_index] {
            self.drop_message(from, to, msg_id, kind, DropReason::Partition);
            return msg_id;
        }
        let link = self.links[link_index];
        if link.loss > 0.0 && self.rng.random_bool(link.loss) {
            self.drop_message(from, to, msg_id, kind, DropReason::Loss);
            return msg_id;
        }
        let duplicate = link.duplicate > 0.0 && self.rng.random_bool(link.duplicate);
        let epoch = self.slots[t].epoch;
        if duplicate {
            self.metrics.duplicated += 1;
            self.record_network(None, || TraceKind::Duplicate {
                from: NodeId(from as u32),
                to,
                msg_id,
            });
            let at = self.arrival(link_index, &link);
            self.push(
                at,
                Action::Deliver {
                    from,
                    to: t,
                    epoch,
                    msg_id,
                    kind,
                    bytes,
                    msg: msg.clone(),
                    clock: clock.clone(),
                },
            );
        }
        let at = self.arrival(link_index, &link);
        self.push(
            at,
            Action::Deliver {
                from,
                to: t,
                epoch,
                msg_id,
                kind,
                bytes,
                msg,
                clock,
            },
        );
        msg_id
    }

    pub(super) fn arrival(&mut self, link_index: usize, link: &LinkConfig) -> u64 {
        let at = self
            .now
            .saturating_add(link.latency.sample_ns(&mut self.rng));
        match link.ordering {
            Ordering::Reorder => at,
            Ordering::Fifo => {
                let at = at.max(self.last_arrival[link_index]);
                self.last_arrival[link_index] = at;
                at
            }
        }
    }

    pub(super) fn drop_message(
        &mut self,
        from: usize,
        to: NodeId,
        msg_id: u64,
        kind: KindId,
        reason: DropReason,
    ) {
        self.metrics.dropped += 1;
        self.metrics.kind_at_mut(kind).dropped += 1;
        let kind = self.metrics.kind_name(kind);
        self.record_network(None, || TraceKind::Drop {
            from: NodeId(from as u32),
            to,
            msg_id,
            kind: kind.to_string(),
            reason,
        });
    }

    /// [`Simulation::step`] with a scheduler: shows it the pending events
    /// and runs the one it picks (see [`super::Scheduler`]).
    pub(super) fn step_scheduled(&mut self) -> Result<bool> {
        let mut scheduler = self.scheduler.take().expect("called with a scheduler");
        let picked = self.pick(&mut *scheduler);
        self.scheduler = Some(scheduler);
        let Some((slot, is_message)) = picked? else {
            return Ok(false);
        };
        let (time, action) = self
            .queue
            .remove(slot)
            .expect("the picked slot holds a pending event");
        if !is_message {
            // Timers and scheduled events happen no earlier than due.
            self.now = self.now.max(time);
        }
        self.run_action(action)?;
        Ok(true)
    }

    /// Runs one event taken off the queue, at the current time, then the
    /// invariants.
    pub(super) fn run_action(&mut self, action: Action<N>) -> Result<()> {
        self.events_processed += 1;
        // The node whose state the event may change: `None` for every node
        // (a fault, a scheduled call), `Some(None)` for none.
        let touched = match &action {
            Action::Start { node, .. }
            | Action::Timer { node, .. }
            | Action::Request { node, .. }
            | Action::Deliver { to: node, .. } => Some(Some(*node)),
            Action::HeldSend { .. } => Some(None),
            Action::Fault(_) | Action::Call(_) => None,
        };
        self.dispatch(action);
        if !self.invariants.is_empty() {
            self.check_invariants()?;
        }
        if !self.node_invariants.is_empty() {
            match touched {
                Some(Some(node)) => self.check_node_invariants(node)?,
                Some(None) => {}
                None => (0..self.n).try_for_each(|node| self.check_node_invariants(node))?,
            }
        }
        self.check_limits()
    }

    /// The [`Limits`](super::Limits), and the watch when it is due.
    fn check_limits(&mut self) -> Result<()> {
        let (events, pending) = (self.events_processed, self.queue.len());
        if events > self.limits.events_max {
            return Err(Error::LimitExceeded {
                what: "events processed".into(),
                reached: events,
                limit: self.limits.events_max,
                time: self.now(),
                hint: "the run does not go quiet: ask for less virtual time, or raise the limit",
            });
        }
        if pending > self.limits.pending_max {
            return Err(Error::LimitExceeded {
                what: "events pending (messages in flight, timers, requests)".into(),
                reached: pending as u64,
                limit: self.limits.pending_max as u64,
                time: self.now(),
                hint: "messages are multiplying faster than they are delivered (a duplicated \
                       token passed on twice, a node answering one message with several): \
                       fewer duplicates or nodes, or raise the limit",
            });
        }
        if events.is_multiple_of(super::MEMORY_CHECK_EVERY) {
            let (queue, trace, emitted) = self.memory_parts();
            let memory = queue + trace + emitted;
            if memory > self.limits.memory_max {
                return Err(Error::LimitExceeded {
                    what: format!(
                        "bytes of memory held by the simulator (estimated: queue {} MiB for {} \
                         pending events, trace {} MiB, emitted events {} MiB)",
                        queue >> 20,
                        self.queue.len(),
                        trace >> 20,
                        emitted >> 20
                    ),
                    reached: memory,
                    limit: self.limits.memory_max,
                    time: self.now(),
                    hint: "the run records more than it can keep: ask for less virtual time, \
                           fewer nodes or fewer duplicates, or raise the limit",
                });
            }
        }
        if let Some((every, _)) = &self.watch
            && events.is_multiple_of(*every)
        {
            let progress = self.progress();
            let (_, watch) = self.watch.as_mut().expect("checked just above");
            watch(&progress).map_err(Error::Stopped)?;
        }
        Ok(())
    }

    /// The slot of the event `scheduler` picks, and whether it is a
    /// message; `None` when nothing is pending. Timers that will not fire
    /// (cancelled, replaced, or of a crashed incarnation) are removed
    /// first, unseen.
    fn pick(
        &mut self,
        scheduler: &mut dyn super::Scheduler<N::Msg, N::Timer>,
    ) -> Result<Option<(usize, bool)>> {
        let order = self.queue.in_order();
        let stale: Vec<usize> = order
            .iter()
            .filter(|&&(slot, _)| match self.queue.get(slot) {
                Some(Action::Timer {
                    node,
                    incarnation,
                    timer,
                    generation,
                }) => {
                    let s = &self.slots[*node];
                    !s.up
                        || s.incarnation != *incarnation
                        || s.timers.get(timer) != Some(generation)
                }
                _ => false,
            })
            .map(|&(slot, _)| slot)
            .collect();
        for &slot in &stale {
            self.queue.remove(slot);
        }
        let mut slots = Vec::with_capacity(order.len());
        let mut view = Vec::with_capacity(order.len());
        for (slot, time) in order {
            if stale.contains(&slot) {
                continue;
            }
            let due = Duration::from_nanos(time);
            let pending = match self.queue.get(slot).expect("listed slots are filled") {
                Action::Deliver {
                    from,
                    to,
                    msg_id,
                    msg,
                    ..
                } => super::Pending::Message {
                    id: *msg_id,
                    from: NodeId(*from as u32),
                    to: NodeId(*to as u32),
                    msg,
                    due,
                },
                Action::Timer { node, timer, .. } => super::Pending::Timer {
                    node: NodeId(*node as u32),
                    timer,
                    due,
                },
                _ => super::Pending::Other { due },
            };
            slots.push((slot, matches!(pending, super::Pending::Message { .. })));
            view.push(pending);
        }
        if view.is_empty() {
            return Ok(None);
        }
        let chosen = scheduler.choose(Duration::from_nanos(self.now), &view);
        slots
            .get(chosen)
            .copied()
            .map(Some)
            .ok_or(Error::BadSchedule {
                chosen,
                pending: view.len(),
            })
    }

    fn check_node_invariants(&mut self, node: usize) -> Result<()> {
        let Some(state) = &self.nodes[node] else {
            return Ok(());
        };
        let failed = self.node_invariants.iter_mut().find_map(|(name, check)| {
            check(NodeId(node as u32), state)
                .err()
                .map(|d| (name.clone(), d))
        });
        self.violation(failed)
    }

    pub(super) fn check_invariants(&mut self) -> Result<()> {
        let failed = self
            .invariants
            .iter_mut()
            .find_map(|(name, check)| check(&self.nodes).err().map(|d| (name.clone(), d)));
        self.violation(failed)
    }

    /// The error for a failed invariant (its name and what it said), if any.
    fn violation(&self, failed: Option<(String, String)>) -> Result<()> {
        match failed {
            None => Ok(()),
            Some((invariant, detail)) => {
                // The trace ends with the verdict, so a viewer of the
                // trace alone can show what broke and where.
                let trace = self.trace.clone().map(|mut trace| {
                    trace.push(
                        self.now,
                        None,
                        None,
                        TraceKind::Violation {
                            property: invariant.clone(),
                            detail: detail.clone(),
                        },
                    );
                    trace
                });
                Err(Error::InvariantViolated(Box::new(Violation {
                    invariant,
                    detail,
                    seed: self.seed,
                    time: Duration::from_nanos(self.now),
                    trace,
                })))
            }
        }
    }
}
