//! The states of a model and the actions between them.

use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use super::{hash_of, Action, History, Model, Observed, Scripted};
use crate::driver::Driver;
use crate::node::{Effect, Input, Node, NodeId};
use crate::trace::VectorTimestamp;

/// A message in flight.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Envelope<M> {
    pub(super) from: NodeId,
    pub(super) to: NodeId,
    pub(super) msg: M,
    /// The instant it was sent (zero unless [`Model::synchronous`]).
    pub(super) sent: Duration,
    /// Its sender's vector clock at the sending (with
    /// [`Model::causal_history`]).
    pub(super) stamp: Option<Arc<VectorTimestamp>>,
}

/// One state of the model.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) struct State<N: Node> {
    pub(super) nodes: Vec<Option<N>>,
    /// Messages in flight, in a canonical order (sorted by hash), so that
    /// two states with the same multiset are equal.
    pub(super) network: Vec<Envelope<N::Msg>>,
    /// Pending timers, each with its node and its deadline on the node's
    /// clock (zero without [`Model::local_clocks`]), in a canonical order
    /// (by node, then by hash): which was set first does not matter.
    pub(super) timers: Vec<Timed<N::Timer>>,
    /// The rest of each node's slot. One vector for all of it, and one for
    /// the timers: a state is cloned for every successor, and each vector
    /// is an allocation.
    pub(super) locals: Vec<Local<N>>,
    pub(super) crashes: u32,
    pub(super) duplicates: u32,
    /// Timers fired so far (counted only under [`Model::timers_max`]).
    pub(super) fired: u32,
    /// What the clients saw (empty unless a history property is judged).
    pub(super) history: History<N>,
    /// Each node's vector clock, with [`Model::causal_history`] (else
    /// empty): entry `j` counts the history entries of node `j` that
    /// happened before. Beside the slots rather than in them, so that a
    /// model without it clones and hashes nothing more.
    pub(super) clocks: Vec<VectorTimestamp>,
    /// How far each node's incarnation's RNG has got, with
    /// [`Model::continuous_rng`] (else empty).
    pub(super) rngs: Vec<u128>,
}

/// A pending timer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Timed<T> {
    pub(super) node: u32,
    pub(super) timer: T,
    pub(super) deadline: Duration,
}

/// A node's slot beside its state.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) struct Local<N> {
    /// What the crashed node restarts from (see [`Model::restart_from`]).
    pub(super) down: Option<N>,
    /// Its clock (zero without [`Model::local_clocks`]).
    pub(super) clock: Duration,
    /// How many of its scripted requests were issued.
    pub(super) issued: usize,
    pub(super) incarnation: u64,
}

impl<N> Model<N>
where
    N: Node + Clone + Eq + Hash,
    N::Msg: Eq + Hash,
    N::Request: Clone,
{
    /// Runs `input` on node `id` of `state`, applying its effects.
    pub(super) fn step(&self, state: &mut State<N>, id: NodeId, input: crate::node::InputOf<N>) {
        let i = id.index();
        let Some(node) = state.nodes[i].as_mut() else {
            return;
        };
        let mut driver: Driver<N> = Driver::seeded(
            id,
            Arc::clone(&self.peers[i]),
            self.seed,
            state.locals[i].incarnation,
        );
        if self.continuous_rng {
            driver.seek_rng(state.rngs[i]);
        }
        let now = state.locals[i].clock;
        let effects = driver.handle(node, now, input);
        if self.continuous_rng {
            state.rngs[i] = driver.rng_position();
        }
        for effect in effects {
            match effect {
                Effect::Send { to, msg } => {
                    let sent = if self.synchronous {
                        now
                    } else {
                        Duration::ZERO
                    };
                    let stamp = self.causal.then(|| Arc::new(state.clocks[i].clone()));
                    let envelope = Envelope {
                        from: id,
                        to,
                        msg,
                        sent,
                        stamp,
                    };
                    if !self.keeps_messages || !state.network.contains(&envelope) {
                        state.network.push(envelope);
                    }
                }
                Effect::SetTimer { timer, after } => {
                    let deadline = if self.local_clocks {
                        now.saturating_add(after)
                    } else {
                        Duration::ZERO
                    };
                    let node = id.0;
                    state.timers.retain(|t| t.node != node || t.timer != timer);
                    state.timers.push(Timed {
                        node,
                        timer,
                        deadline,
                    });
                }
                Effect::CancelTimer { timer } => {
                    state.timers.retain(|t| t.node != id.0 || t.timer != timer)
                }
                Effect::Emit(event) => self.observe(state, Observed::Event { node: id, event }),
            }
        }
    }

    /// Appends `observed` to `state`'s history if the model records it;
    /// with [`Model::causal_history`], stamped by its node's clock, ticked
    /// for it.
    pub(super) fn observe(&self, state: &mut State<N>, observed: Observed<N>) {
        if !self.keeps(&observed) {
            return;
        }
        if !self.causal {
            state.history.push(observed);
            return;
        }
        let (Observed::Request { node, .. } | Observed::Event { node, .. }) = &observed;
        let i = node.index();
        let clock = &mut state.clocks[i].0;
        if clock.len() <= i {
            clock.resize(i + 1, 0);
        }
        clock[i] += 1;
        let stamp = state.clocks[i].clone();
        state.history.push_stamped(observed, stamp);
    }

    /// Merges the clock `envelope` carries into its receiver's, before
    /// the receiver handles it.
    fn receive(state: &mut State<N>, envelope: &Envelope<N::Msg>) {
        let Some(stamp) = &envelope.stamp else {
            return;
        };
        let clock = &mut state.clocks[envelope.to.index()].0;
        if clock.len() < stamp.0.len() {
            clock.resize(stamp.0.len(), 0);
        }
        for (mine, theirs) in clock.iter_mut().zip(&stamp.0) {
            *mine = (*mine).max(*theirs);
        }
    }

    pub(super) fn canonical(&self, mut state: State<N>) -> State<N> {
        if self.network.fifo && !self.keeps_messages {
            // Links in a fixed order, each in the order it was sent on
            // (the sort is stable).
            state.network.sort_by_key(|e| (e.from, e.to));
        } else {
            state.network.sort_by_cached_key(hash_of);
        }
        state.timers.sort_by_cached_key(|t| (t.node, hash_of(t)));
        state
    }

    pub(super) fn initial(&self) -> State<N> {
        let mut state = State {
            nodes: (0..self.nodes() as u32)
                .map(|i| Some((self.factory)(NodeId(i))))
                .collect(),
            network: Vec::new(),
            timers: Vec::new(),
            locals: (0..self.nodes())
                .map(|_| Local {
                    down: None,
                    clock: Duration::ZERO,
                    issued: 0,
                    incarnation: 0,
                })
                .collect(),
            crashes: 0,
            duplicates: 0,
            fired: 0,
            history: History::new(),
            clocks: if self.causal {
                vec![VectorTimestamp::default(); self.nodes()]
            } else {
                Vec::new()
            },
            rngs: if self.continuous_rng {
                vec![0; self.nodes()]
            } else {
                Vec::new()
            },
        };
        for i in 0..self.nodes() as u32 {
            self.step(&mut state, NodeId(i), Input::Start);
        }
        self.canonical(state)
    }

    /// The next scripted request of `node` in `state`, if any.
    pub(super) fn next_request(&self, state: &State<N>, node: NodeId) -> Option<&Scripted<N>> {
        self.script
            .iter()
            .filter(|s| s.node == node)
            .nth(state.locals[node.index()].issued)
    }

    /// Every action enabled in `state`, with the state it leads to.
    pub(super) fn successors(&self, state: &State<N>) -> Vec<(Action<N>, State<N>)> {
        let mut next = Vec::new();
        for (k, envelope) in state.network.iter().enumerate() {
            // Equal envelopes give equal successors: take the first only.
            if state.network[..k].contains(envelope) {
                continue;
            }
            // FIFO: only the oldest on its link (links are contiguous).
            if self.network.fifo
                && !self.keeps_messages
                && k > 0
                && (state.network[k - 1].from, state.network[k - 1].to)
                    == (envelope.from, envelope.to)
            {
                continue;
            }
            // Synchronous: not before every timer due by its sending fired.
            if self.synchronous && state.timers.iter().any(|t| t.deadline <= envelope.sent) {
                continue;
            }
            let Envelope { from, to, msg, .. } = envelope.clone();
            if let Some((_, lies)) = self.byzantine.iter().find(|(b, _)| *b == from) {
                // A Byzantine sender's message arrives as any of its lies.
                for lie in lies(&msg) {
                    let mut told = state.clone();
                    told.network.remove(k);
                    let action = match lie {
                        None => Action::Drop {
                            from,
                            to,
                            msg: msg.clone(),
                        },
                        Some(said) => {
                            Self::receive(&mut told, envelope);
                            self.step(
                                &mut told,
                                to,
                                Input::Message {
                                    from,
                                    msg: said.clone(),
                                },
                            );
                            if said == msg {
                                Action::Deliver {
                                    from,
                                    to,
                                    msg: said,
                                }
                            } else {
                                Action::Forged {
                                    from,
                                    to,
                                    msg: said,
                                }
                            }
                        }
                    };
                    next.push((action, told));
                }
                continue;
            }
            let mut delivered = state.clone();
            if !self.keeps_messages {
                delivered.network.remove(k);
            }
            Self::receive(&mut delivered, envelope);
            self.step(
                &mut delivered,
                to,
                Input::Message {
                    from,
                    msg: msg.clone(),
                },
            );
            if self.keeps_messages {
                // A delivery that changes nothing is no step at all: without
                // it, a run whose messages are all delivered ends.
                if delivered != *state {
                    next.push((Action::Deliver { from, to, msg }, delivered));
                }
                continue;
            }
            // The same delivery, with a copy left in flight.
            let duplicated = (state.duplicates < self.network.duplicates_max).then(|| {
                let mut duplicated = delivered.clone();
                duplicated.network.push(envelope.clone());
                duplicated.duplicates += 1;
                duplicated
            });
            next.push((
                Action::Deliver {
                    from,
                    to,
                    msg: msg.clone(),
                },
                delivered,
            ));
            if self.network.lossy {
                let mut dropped = state.clone();
                dropped.network.remove(k);
                next.push((
                    Action::Drop {
                        from,
                        to,
                        msg: msg.clone(),
                    },
                    dropped,
                ));
            }
            if let Some(duplicated) = duplicated {
                next.push((Action::Duplicate { from, to, msg }, duplicated));
            }
        }
        let may_fire = self.timers_max.is_none_or(|max| state.fired < max)
            && (!self.timers_when_quiet || state.network.is_empty());
        // Synchronous: timers fire in deadline order across all nodes, once
        // every message sent before their instant is delivered.
        let due = state.timers.iter().map(|t| t.deadline).min();
        let may_fire = may_fire
            && (!self.synchronous
                || due.is_some_and(|due| state.network.iter().all(|e| e.sent >= due)));
        for i in 0..self.nodes() {
            let id = NodeId(i as u32);
            // With local clocks, a node's timers fire in deadline order.
            let mine = || state.timers.iter().filter(|t| t.node == id.0);
            let earliest = if self.synchronous {
                due
            } else {
                mine().map(|t| t.deadline).min()
            };
            let firing = mine()
                .filter(|_| may_fire)
                .filter(|t| !self.local_clocks || Some(t.deadline) == earliest);
            for Timed {
                timer, deadline, ..
            } in firing
            {
                let mut fired = state.clone();
                fired.timers.retain(|t| t.node != id.0 || t.timer != *timer);
                if self.synchronous {
                    // One clock: every node is at the instant.
                    for local in &mut fired.locals {
                        local.clock = local.clock.max(*deadline);
                    }
                } else {
                    let clock = &mut fired.locals[i].clock;
                    *clock = (*clock).max(*deadline);
                }
                if self.timers_max.is_some() {
                    fired.fired += 1;
                }
                self.step(&mut fired, id, Input::Timer(timer.clone()));
                next.push((
                    Action::Fire {
                        node: id,
                        timer: timer.clone(),
                    },
                    fired,
                ));
            }
            if let (Some(node), Some(scripted)) = (&state.nodes[i], self.next_request(state, id))
                && scripted.when.as_ref().is_none_or(|when| when(node))
            {
                let mut asked = state.clone();
                asked.locals[i].issued += 1;
                let request = scripted.request.clone();
                self.observe(&mut asked, Observed::Request { node: id, request });
                self.step(&mut asked, id, Input::Request(scripted.request.clone()));
                next.push((
                    Action::Request {
                        node: id,
                        request: scripted.request.clone(),
                    },
                    asked,
                ));
            }
            match &state.nodes[i] {
                Some(node) if state.crashes < self.crashes_max => {
                    let mut crashed = state.clone();
                    crashed.nodes[i] = None;
                    crashed.locals[i].down = self
                        .restart_from
                        .as_ref()
                        .map(|survivor| survivor(id, node));
                    crashed.timers.retain(|t| t.node != id.0);
                    // As in the simulator: what was on its way to it is lost
                    // (unless messages are a set that nothing consumes).
                    if !self.keeps_messages {
                        crashed.network.retain(|e| e.to != id);
                    }
                    crashed.crashes += 1;
                    next.push((Action::Crash(id), crashed));
                }
                None if !self.crash_stop => {
                    let mut restarted = state.clone();
                    restarted.locals[i].incarnation += 1;
                    if let Some(rng) = restarted.rngs.get_mut(i) {
                        *rng = 0;
                    }
                    let survivor = restarted.locals[i].down.take();
                    restarted.nodes[i] = Some(survivor.unwrap_or_else(|| (self.factory)(id)));
                    self.step(&mut restarted, id, Input::Start);
                    next.push((Action::Restart(id), restarted));
                }
                Some(_) | None => {}
            }
        }
        next.into_iter()
            .map(|(action, state)| (action, self.canonical(state)))
            .collect()
    }
}
