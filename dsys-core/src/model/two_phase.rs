//! Two-phase commit as in Lamport's TLA+ specification `TwoPhase`: the
//! model checker's benchmark, whose state counts TLC has published.
//!
//! A transaction manager (n0) and resource managers (n1 …). A resource
//! manager that is *working* may prepare (and tell the manager) or choose
//! to abort; the manager, having heard every resource manager prepared,
//! may commit, and may abort at any time before; every resource manager
//! follows the decision it receives. The spontaneous choices are timers
//! that fire in any order (a timer is pending exactly while its action is
//! enabled), and messages form a set ([`Model::keeps_messages`]), as the
//! specification's `msgs` variable does, so the model's states are the
//! specification's states: 8,832 for 5 resource managers, 50,816 for 6,
//! 296,448 for 7 and 1,745,408 for 8, as TLC counts them.
//!
//! The property is the specification's `TCConsistent`: no resource
//! manager has committed while another has aborted.
//!
//! ```
//! use dsys_core::model::two_phase;
//!
//! let report = two_phase::model(3).check();
//! assert!(report.passed() && report.exhaustive, "{report}");
//! assert_eq!(report.states, 288, "{report}");
//! ```

use serde::{Deserialize, Serialize};

use super::{Model, Property};
use crate::node::{Context, Node, NodeId};

/// What a resource manager is doing (`rmState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RmState {
    /// May prepare or abort.
    Working,
    /// Has told the manager it can commit.
    Prepared,
    /// Committed the transaction.
    Committed,
    /// Aborted it.
    Aborted,
}

/// What the transaction manager has decided (`tmState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TmState {
    /// Nothing yet.
    Init,
    /// Commit.
    Committed,
    /// Abort.
    Aborted,
}

/// A node of the protocol.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TwoPhase {
    /// The transaction manager, with the resource managers it has heard
    /// prepared (`tmPrepared`, bit `i` for node `i`).
    Manager {
        /// Its decision.
        state: TmState,
        /// Who has prepared.
        prepared: u64,
    },
    /// A resource manager.
    Resource(RmState),
}

/// The messages (`msgs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// A resource manager is prepared.
    Prepared,
    /// The manager's decision: commit.
    Commit,
    /// The manager's decision: abort.
    Abort,
}

impl crate::Message for Msg {}

/// The spontaneous actions, as timers that may fire in any order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Choice {
    /// `RMPrepare`.
    Prepare,
    /// `RMChooseToAbort`.
    ChooseToAbort,
    /// `TMCommit`.
    Commit,
    /// `TMAbort`.
    Abort,
}

impl TwoPhase {
    /// The node `id` of a system: n0 manages.
    pub fn new(id: NodeId) -> Self {
        if id.0 == 0 {
            TwoPhase::Manager {
                state: TmState::Init,
                prepared: 0,
            }
        } else {
            TwoPhase::Resource(RmState::Working)
        }
    }

    /// A resource manager's state, or `None` for the manager.
    pub fn resource(&self) -> Option<RmState> {
        match self {
            TwoPhase::Resource(state) => Some(*state),
            TwoPhase::Manager { .. } => None,
        }
    }

    fn decide(&mut self, ctx: &mut Context<'_, Self>, decision: Msg) {
        let TwoPhase::Manager { state, .. } = self else {
            return;
        };
        *state = if decision == Msg::Commit {
            TmState::Committed
        } else {
            TmState::Aborted
        };
        ctx.cancel_timer(&Choice::Commit);
        ctx.cancel_timer(&Choice::Abort);
        for &to in ctx.peers().to_vec().iter() {
            ctx.send(to, decision);
        }
    }
}

impl Node for TwoPhase {
    type Msg = Msg;
    type Timer = Choice;
    type Request = ();
    type Event = ();

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        // Delays mean nothing here: the model fires timers in any order.
        let any_time = std::time::Duration::ZERO;
        match self {
            TwoPhase::Manager { .. } => ctx.set_timer(any_time, Choice::Abort),
            TwoPhase::Resource(_) => {
                ctx.set_timer(any_time, Choice::Prepare);
                ctx.set_timer(any_time, Choice::ChooseToAbort);
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        let everyone = ((1u64 << ctx.cluster_size()) - 1) & !1;
        match (self, msg) {
            (
                TwoPhase::Manager {
                    state: TmState::Init,
                    prepared,
                },
                Msg::Prepared,
            ) => {
                *prepared |= 1 << from.0;
                if *prepared == everyone {
                    ctx.set_timer(std::time::Duration::ZERO, Choice::Commit);
                }
            }
            (TwoPhase::Resource(state), Msg::Commit | Msg::Abort) => {
                *state = if msg == Msg::Commit {
                    RmState::Committed
                } else {
                    RmState::Aborted
                };
                ctx.cancel_timer(&Choice::Prepare);
                ctx.cancel_timer(&Choice::ChooseToAbort);
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, choice: Choice) {
        match choice {
            Choice::Commit => self.decide(ctx, Msg::Commit),
            Choice::Abort => self.decide(ctx, Msg::Abort),
            Choice::Prepare | Choice::ChooseToAbort => {
                ctx.cancel_timer(&Choice::Prepare);
                ctx.cancel_timer(&Choice::ChooseToAbort);
                if choice == Choice::Prepare {
                    *self = TwoPhase::Resource(RmState::Prepared);
                    ctx.send(NodeId(0), Msg::Prepared);
                } else {
                    *self = TwoPhase::Resource(RmState::Aborted);
                }
            }
        }
    }
}

/// `TCConsistent`: no resource manager committed while another aborted.
pub fn consistent(nodes: &[Option<TwoPhase>]) -> Result<(), String> {
    let states = || nodes.iter().flatten().filter_map(TwoPhase::resource);
    let committed = states().any(|s| s == RmState::Committed);
    let aborted = states().any(|s| s == RmState::Aborted);
    if committed && aborted {
        return Err("one resource manager committed and another aborted".to_string());
    }
    Ok(())
}

/// The model of `resources` resource managers and their manager, on a
/// network that is a set of messages, judged by [`consistent`] (and some
/// state must commit). At most 63 resource managers.
pub fn model(resources: usize) -> Model<TwoPhase> {
    Model::new(resources.min(63) + 1, TwoPhase::new)
        .keeps_messages()
        .depth_max(usize::MAX)
        .states_max(usize::MAX)
        .time_max(std::time::Duration::MAX)
        .property(Property::always("TCConsistent", consistent))
        .property(Property::sometimes(
            "a transaction commits",
            |nodes: &[Option<TwoPhase>]| {
                nodes
                    .iter()
                    .flatten()
                    .any(|n| n.resource() == Some(RmState::Committed))
            },
        ))
}
