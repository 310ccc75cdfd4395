//! `dsys check raft`: Raft's elections and replication on three servers,
//! every interleaving up to a bound.
//!
//! The model is the core algorithm of the paper (§5): pre-vote and
//! check-quorum are off, since they only add rounds before the ones that
//! matter here. Each server has a clock of its own that its timers move
//! ([`Model::local_clocks`]): an election timer fires at its deadline, and
//! a heartbeat that pushed the deadline back makes it re-arm, as in the
//! simulator. A crashed server restarts from a copy of its storage
//! ([`Model::restart_from`]; [`Recovered`] is a storage whose clones are
//! copies), so what it made durable survives and nothing else.
//!
//! Timer firings are bounded ([`MODEL_TIMERS_MAX`]): every leader's
//! heartbeat re-arms for ever, so without a bound no run ends. The five
//! safety properties are judged in every state, each over that state
//! alone (the simulator's checkers remember the whole run; here every
//! state of every run is visited instead): at most one leader per term
//! among the servers up, logs that match, committed entries in every
//! later leader's log, and applied entries that agree.
//!
//! Figure 8's mistake ([`Defect::CommitsPreviousTerm`]) needs some twenty
//! steps from the start on three servers (three elections, a rejected
//! append and its retry), further than an exhaustive search of Raft's
//! states gets (3.4 million states reached 12 steps in two minutes).
//! [`figure_8_model`] starts where the first two elections left the
//! servers' disks, and finds it in 11 steps; the correct algorithm holds
//! there over 887,183 states (timers firing at most twice).
//!
//! [`reads_model`] adds clients: a write at whichever server leads, and a
//! read at every server, judged over what the clients saw (a
//! [`Property::history`]): a read must return at least every write
//! answered before it was asked. That is linearizability for a counter
//! that only grows, and what [`Defect::ReadsWithoutReadIndex`] breaks:
//! a follower answers from its own state machine, behind the leader's.
//!
//! ```
//! use dsys_consensus::raft::model::model;
//! use dsys_consensus::raft::Defect;
//!
//! // A voter that grants every candidate of a term: two leaders of term 1
//! // in six steps (two timeouts, two requests for votes, two votes).
//! let report = model(3, Some(Defect::GrantsTwoVotes), 0).check();
//! let (property, steps) = report.counterexample().expect("found");
//! assert!(property.starts_with("Election Safety"), "{report}");
//! assert_eq!(steps.len(), 6, "{report}");
//! ```

use std::collections::HashMap;

use dsys_core::model::{History, Model, ModelOptions, ModelVerdict, Observed, Property};
use dsys_core::NodeId;

use super::message::{RaftEvent, RaftRequest};
use super::node::{Defect, Raft, RaftConfig};
use super::properties::{
    views, ElectionSafety, LeaderCompleteness, LogMatching, StateMachineSafety,
};
use super::state_machine::Counter;
use super::storage::Recovered;
use super::types::{Entry, HardState, Payload, Role};

/// The servers of the model: a counter over storage that is a value.
pub type ModelRaft = Raft<Counter, Recovered<u64>>;

/// How many times timers may fire in a run unless `dsys check --timers`
/// says otherwise: two, enough for two candidates in one run (a third
/// firing takes the correct model past a million states).
pub const MODEL_TIMERS_MAX: u32 = 2;

/// The configuration of the model's servers: the paper's algorithm
/// (§5), with `defect`.
pub fn model_config(defect: Option<Defect>) -> RaftConfig {
    RaftConfig {
        pre_vote: false,
        check_quorum: false,
        // One entry per AppendEntries: an acknowledgement can then cover
        // an entry of an earlier term without the new term's no-op after
        // it, the window Figure 8's mistake needs.
        append_entries_max: 1,
        defect,
        ..RaftConfig::default()
    }
}

/// The model `dsys check raft` explores: `nodes` servers, each of which
/// proposes `+1` up to `proposals` times while it leads, timers firing at
/// most [`MODEL_TIMERS_MAX`] times in a run, and the five safety
/// properties in every state.
pub fn model(nodes: usize, defect: Option<Defect>, proposals: u32) -> Model<ModelRaft> {
    model_from(nodes, defect, proposals, |_| Recovered::default())
}

/// [`model`] with each server started from what `disk` gives it: the
/// durable state of a run that went before.
fn model_from(
    nodes: usize,
    defect: Option<Defect>,
    proposals: u32,
    disk: impl Fn(NodeId) -> Recovered<u64> + Send + Sync + 'static,
) -> Model<ModelRaft> {
    let config = model_config(defect);
    let restart = config.clone();
    let mut model = Model::new(nodes, move |id| {
        Raft::new(config.clone(), disk(id), Counter::default())
            .expect("the model's configuration and start are valid")
    })
    .restart_from(move |_, old: &ModelRaft| {
        Raft::new(restart.clone(), old.storage().clone(), Counter::default())
            .expect("a copy of a server's storage loads")
    })
    .local_clocks()
    .timers_max(MODEL_TIMERS_MAX)
    .property(Property::always(
        "Election Safety: at most one leader per term (§5.2)",
        |nodes: &[Option<ModelRaft>]| ElectionSafety::new().check(&views(nodes)),
    ))
    .property(Property::always(
        "Log Matching (§5.3)",
        |nodes: &[Option<ModelRaft>]| LogMatching::new().check(&views(nodes)),
    ))
    .property(Property::always(
        "Leader Completeness (§5.4)",
        |nodes: &[Option<ModelRaft>]| LeaderCompleteness::new().check(&views(nodes)),
    ))
    .property(Property::always(
        "State Machine Safety (§5.4.3)",
        |nodes: &[Option<ModelRaft>]| StateMachineSafety::new().check(&views(nodes)),
    ))
    .property(Property::sometimes(
        "a leader is elected",
        |nodes: &[Option<ModelRaft>]| nodes.iter().flatten().any(|n| n.role() == Role::Leader),
    ));
    for i in 0..nodes as u32 {
        for k in 0..u128::from(proposals) {
            model = model.request_when(
                NodeId(i),
                RaftRequest::Propose {
                    id: k + 1,
                    command: 1,
                    session: None,
                },
                |n: &ModelRaft| n.role() == Role::Leader,
            );
        }
    }
    model
}

/// [`model`] on three servers from the start of Figure 8 (§5.4.2): server
/// 0 led term 1 and appended an entry that no other server received, then
/// restarted; server 1 led term 2 with the votes of 1 and 2 and appended
/// an entry of its own at the same index, which no other server received
/// either. (Both are reachable in [`model`], through a crash and lost
/// messages, about ten steps further than a search gets.) From there
/// [`Defect::CommitsPreviousTerm`] commits server 0's entry of term 1 by
/// counting replicas, and server 1 can still win term 4 without it.
pub fn figure_8_model(defect: Option<Defect>) -> Model<ModelRaft> {
    let entry = |term| Entry {
        term,
        index: 1,
        payload: Payload::Noop,
    };
    model_from(3, defect, 0, move |id| match id.0 {
        0 => Recovered {
            hard_state: HardState {
                term: 2,
                voted_for: None,
            },
            entries: vec![entry(1)],
            ..Recovered::default()
        },
        1 => Recovered {
            hard_state: HardState {
                term: 2,
                voted_for: Some(NodeId(1)),
            },
            entries: vec![entry(2)],
            ..Recovered::default()
        },
        _ => Recovered {
            hard_state: HardState {
                term: 2,
                voted_for: Some(NodeId(1)),
            },
            ..Recovered::default()
        },
    })
}

/// The id of a server's read in [`reads_model`]: apart from the writes'.
pub const READ_ID: u128 = 1_000;

/// [`model`] with clients: a `+1` write at server 0 once it leads, and a
/// read at every other server, asked at any moment; the history of calls
/// and answers is judged by [`reads_are_linearizable`]. (A server's
/// requests are a script, asked in order: a write and a read at one
/// server would wait for each other.)
///
/// ```
/// use dsys_consensus::raft::model::reads_model;
/// use dsys_consensus::raft::Defect;
///
/// // A follower that answers a read from its own state machine returns 0
/// // after the leader answered the write: nine steps (an election, the
/// // leader's no-op appended, the write, its append and acknowledgement,
/// // and the read).
/// let report = reads_model(3, Some(Defect::ReadsWithoutReadIndex)).check();
/// let (property, steps) = report.counterexample().expect("found");
/// assert!(property.starts_with("Linearizable reads"), "{report}");
/// assert_eq!(steps.len(), 9, "{report}");
/// ```
pub fn reads_model(nodes: usize, defect: Option<Defect>) -> Model<ModelRaft> {
    let mut model = model(nodes, defect, 0)
        .request_when(
            NodeId(0),
            RaftRequest::Propose {
                id: 1,
                command: 1,
                session: None,
            },
            |n: &ModelRaft| n.role() == Role::Leader,
        )
        .observes(|seen: &Observed<ModelRaft>| match seen {
            Observed::Request { request, .. } => matches!(request, RaftRequest::Read { .. }),
            Observed::Event { event, .. } => {
                matches!(
                    event,
                    RaftEvent::Applied { .. } | RaftEvent::ReadDone { .. }
                )
            }
        })
        .property(Property::history(
            "Linearizable reads: a read returns every write answered before it was asked",
            reads_are_linearizable,
        ));
    for i in 1..nodes as u32 {
        model = model.request(
            NodeId(i),
            RaftRequest::Read {
                id: READ_ID,
                query: (),
            },
        );
    }
    model
}

/// Linearizability of a counter's reads: writes only add, so a read
/// returns at least the largest value a write answered before the read
/// was asked (its real-time predecessor), or it is stale.
pub fn reads_are_linearizable(history: &History<ModelRaft>) -> Result<(), String> {
    let mut answered = 0;
    let mut floors: HashMap<(NodeId, u128), u64> = HashMap::new();
    for seen in history.iter() {
        match seen {
            Observed::Event {
                event: RaftEvent::Applied { output, .. },
                ..
            } => answered = answered.max(*output),
            Observed::Request {
                node,
                request: RaftRequest::Read { id, .. },
            } => {
                floors.insert((*node, *id), answered);
            }
            Observed::Event {
                node,
                event: RaftEvent::ReadDone { id, output },
            } => {
                let floor = floors.get(&(*node, *id)).copied().unwrap_or(0);
                if *output < floor {
                    return Err(format!(
                        "{node}'s read returned {output}, but a write had answered {floor} \
                         before the read was asked: a stale read"
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// `dsys check raft`.
pub(super) fn check_model(
    options: &ModelOptions,
    defect: Option<Defect>,
) -> dsys_core::Result<ModelVerdict> {
    let mut options = options.clone();
    if defect == Some(Defect::VoteNotPersisted) {
        // The bug is in what a restart reads back: it needs one.
        options.crashes_max = options.crashes_max.max(1);
    }
    let model = match defect {
        // The bug is in what clients see: the model needs clients.
        Some(Defect::ReadsWithoutReadIndex) => reads_model(options.nodes, defect),
        // The bug needs three elections: the search starts after two.
        Some(Defect::CommitsPreviousTerm) => {
            if options.nodes != 3 {
                return Err(dsys_core::Error::InvalidConfig(format!(
                    "--nodes {}: commits-previous-term is checked from Figure 8's start, \
                     on three servers; leave --nodes out",
                    options.nodes
                )));
            }
            figure_8_model(defect)
        }
        _ => model(options.nodes, defect, 0),
    };
    Ok(model.options(&options).verdict())
}
