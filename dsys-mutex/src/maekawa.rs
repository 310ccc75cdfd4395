//! # Maekawa's voting algorithm
//!
//! **Problem.** Mutual exclusion among N processes (ME1–ME3) with fewer
//! messages than asking everyone: ask only a *voting set* of about √N.
//!
//! **Voting sets.** Place the processes on a ⌈√N⌉ × ⌈√N⌉ grid, row by row;
//! process *i*'s voting set `V_i` is its row and its column
//! ([`voting_set`]). Any two sets intersect (the row of one crosses the
//! column of the other), and every set has at most K = 2⌈√N⌉ − 1 members.
//!
//! **Algorithm** (Maekawa 1985, with Sanders' INQUIRE / RELINQUISH /
//! FAILED rules, which make it deadlock-free). Every process is a
//! *requester* and a *voter* with one vote; requests are ordered by their
//! Lamport timestamp and id, `(T, i)`.
//!
//! 1. *Request.* To enter, *i* multicasts `Request(T_i)` to `V_i`.
//! 2. *Vote.* A voter whose vote is free grants it (`Grant`). Otherwise it
//!    queues the request; if the newcomer precedes both the request holding
//!    the vote and every queued one, it asks the vote's holder to give the
//!    vote back (`Inquire`, once per vote) and tells the request it
//!    displaced from the head of the queue, if any, that it cannot win now
//!    (`Failed`); otherwise it tells the newcomer so.
//! 3. *Enter.* With a grant from every member of `V_i`, *i* enters.
//! 4. *Give way.* A requester that is asked to give a vote back and knows
//!    it cannot win now (it has received a `Failed`) returns it
//!    (`Relinquish`); the voter queues that request again and grants the
//!    first in its queue. Inquiries that arrive before any `Failed` wait
//!    for one; inside the section they are answered by the release.
//! 5. *Exit.* On exit *i* sends `Release` to `V_i`; each voter grants its
//!    vote to the first request in its queue.
//!
//! **Assumptions.** Reliable FIFO channels (an `Inquire` must not overtake
//! the `Grant` it is about), no crash. A crash of any member of a voting
//! set blocks everyone whose set contains it.
//!
//! **Guarantees.** ME1: two processes inside at once would both hold the
//! vote of a process in both their sets, which votes once. ME2: the
//! process with the smallest `(T, id)` among those waiting eventually gets
//! every vote, by inquiries and relinquishments: no deadlock (Sanders
//! 1987). ME3 is not guaranteed (a vote granted to a later request before
//! an earlier one arrives is only reclaimed if its holder has failed
//! elsewhere): the checker judges each run.
//!
//! **Cost** (one message latency = 1, measured by [`crate::cost`]; K − 1
//! messages per kind, since a process votes for itself without messages):
//! entering takes 2(K − 1) messages uncontended (request, grant), exiting
//! K − 1 (release) — the textbook's "3√N" counts sets of size √N; inquiries,
//! relinquishments and failures add up to 3(K − 1) more under contention.
//! Client delay 2; synchronisation delay 2 (release to a voter, grant to
//! the next).
//!
//! **Source.** M. Maekawa, "A √N algorithm for mutual exclusion in
//! decentralized systems", *ACM TOCS* 3(2), 1985; B. A. Sanders, "The
//! information structure of distributed mutual exclusion algorithms",
//! *ACM TOCS* 5(3), 1987; Coulouris et al., *Distributed Systems*, 5th
//! ed., §15.2.2.

use std::collections::BTreeSet;

use dsys_clocks::lamport::{LamportClock, LamportTimestamp};
use dsys_core::model::{ModelOptions, ModelVerdict};
use dsys_core::scenario::{Algorithm, DefectInfo, Outcome, SimOptions};
use dsys_core::{Context, Message, Node, NodeId};
use serde::{Deserialize, Serialize};

use crate::{Event, MutexNode, Phase, Request};

/// What a Maekawa message says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// Requester to voter: vote for my request (stamped with the message's time).
    Request,
    /// Voter to requester: you have my vote.
    Grant,
    /// Voter to vote holder: a request before yours waits; give my vote back?
    Inquire,
    /// Vote holder to voter: here is your vote back (keep my request queued).
    Relinquish,
    /// Voter to requester: a request before yours holds or waits for my vote.
    Failed,
    /// Requester to voter: I left the section; your vote is free.
    Release,
}

/// A Maekawa message: what it says and the sender's Lamport time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Msg {
    /// What it says.
    pub kind: Kind,
    /// The sender's Lamport time (for a `Request`, the request's time).
    pub time: u64,
}

impl Message for Msg {
    fn kind(&self) -> &'static str {
        match self.kind {
            Kind::Request => "Request",
            Kind::Grant => "Grant",
            Kind::Inquire => "Inquire",
            Kind::Relinquish => "Relinquish",
            Kind::Failed => "Failed",
            Kind::Release => "Release",
        }
    }
}

/// Process `node`'s voting set in a cluster of `nodes`: its row and its
/// column on a ⌈√N⌉-wide grid, itself included, in id order.
///
/// ```
/// use dsys_core::NodeId;
/// use dsys_mutex::maekawa::voting_set;
///
/// // 0 1 2
/// // 3 4 5
/// // 6 7 8
/// let ids = |v: Vec<NodeId>| v.into_iter().map(|n| n.0).collect::<Vec<_>>();
/// assert_eq!(ids(voting_set(NodeId(4), 9)), vec![1, 3, 4, 5, 7]);
/// assert_eq!(ids(voting_set(NodeId(4), 5)), vec![1, 3, 4]);
/// ```
pub fn voting_set(node: NodeId, nodes: usize) -> Vec<NodeId> {
    let width = (1..=nodes).find(|w| w * w >= nodes).unwrap_or(1);
    let (row, column) = (node.index() / width, node.index() % width);
    (0..nodes)
        .filter(|&j| j / width == row || j % width == column)
        .map(|j| NodeId(j as u32))
        .collect()
}

/// A deliberate bug, so that the checkers can be seen to catch it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Defect {
    /// Maekawa's original rules: a busy voter just queues requests, with no
    /// `Inquire` and no `Failed`. Three processes whose sets overlap
    /// pairwise can each hold one vote another needs: a deadlock (breaks
    /// ME2).
    NoInquire,
}

/// One process of Maekawa's algorithm (requester and voter).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Maekawa {
    clock: LamportClock,
    // --- as a requester ---
    phase: Phase,
    request: Option<LamportTimestamp>,
    votes: BTreeSet<NodeId>,
    failed: bool,
    inquiries: BTreeSet<NodeId>,
    // --- as a voter ---
    voted_for: Option<LamportTimestamp>,
    inquired: bool,
    /// Requests waiting for my vote, first first (at most N).
    queue: BTreeSet<LamportTimestamp>,
    defect: Option<Defect>,
}

impl Maekawa {
    /// A process.
    pub fn new() -> Self {
        Maekawa::default()
    }

    /// A process with a deliberate bug (for checker tests and demonstrations).
    pub fn broken(defect: Defect) -> Self {
        Maekawa {
            defect: Some(defect),
            ..Maekawa::default()
        }
    }

    /// Where this process stands.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The request holding this process's vote, if any.
    pub fn voted_for(&self) -> Option<LamportTimestamp> {
        self.voted_for
    }

    /// Sends `kind` to `to`, or handles it at once if `to` is this process
    /// (a process is in its own voting set and votes for itself without
    /// messages).
    fn send(&mut self, ctx: &mut Context<'_, Self>, to: NodeId, kind: Kind) {
        let time = match (kind, self.request) {
            (Kind::Request, Some(request)) => request.time,
            _ => self.clock.stamp(),
        };
        let msg = Msg { kind, time };
        if to == ctx.id() {
            self.handle(ctx, to, msg);
        } else {
            ctx.send(to, msg);
        }
    }

    fn voting_set(ctx: &Context<'_, Self>) -> Vec<NodeId> {
        voting_set(ctx.id(), ctx.cluster_size())
    }

    fn grant_next(&mut self, ctx: &mut Context<'_, Self>) {
        self.inquired = false;
        self.voted_for = self.queue.pop_first();
        if let Some(next) = self.voted_for {
            self.send(ctx, next.node, Kind::Grant);
        }
    }

    fn handle(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        if from != ctx.id() && self.clock.merge(msg.time).is_err() {
            return; // an impossible timestamp: refused, as the clock says
        }
        match msg.kind {
            // ----- as a voter -----
            Kind::Request => {
                let theirs = LamportTimestamp {
                    time: msg.time,
                    node: from,
                };
                let Some(current) = self.voted_for else {
                    self.voted_for = Some(theirs);
                    self.send(ctx, from, Kind::Grant);
                    return;
                };
                if self.defect == Some(Defect::NoInquire) {
                    self.queue.insert(theirs);
                    return;
                }
                let displaced = self.queue.first().copied();
                let first = displaced.is_none_or(|q| theirs < q);
                self.queue.insert(theirs);
                if theirs < current && first {
                    if let Some(displaced) = displaced {
                        // It was first in line; now it cannot win here soon.
                        self.send(ctx, displaced.node, Kind::Failed);
                    }
                    if !self.inquired {
                        self.inquired = true;
                        self.send(ctx, current.node, Kind::Inquire);
                    }
                } else {
                    self.send(ctx, from, Kind::Failed);
                }
            }
            Kind::Relinquish => {
                if let Some(current) = self.voted_for.filter(|c| c.node == from) {
                    self.queue.insert(current);
                    self.grant_next(ctx);
                }
            }
            Kind::Release => {
                if self.voted_for.is_some_and(|c| c.node == from) {
                    self.grant_next(ctx);
                }
            }
            // ----- as a requester -----
            Kind::Grant => {
                if self.phase != Phase::Wanted {
                    return;
                }
                self.votes.insert(from);
                if self.votes.len() == Self::voting_set(ctx).len() {
                    self.phase = Phase::Held;
                    self.inquiries.clear(); // answered by the release
                    ctx.emit(Event::Entered);
                }
            }
            Kind::Failed => {
                if self.phase != Phase::Wanted {
                    return;
                }
                self.failed = true;
                for voter in std::mem::take(&mut self.inquiries) {
                    self.relinquish(ctx, voter);
                }
            }
            Kind::Inquire => {
                if self.phase != Phase::Wanted || !self.votes.contains(&from) {
                    return; // inside (the release answers) or not holding that vote
                }
                if self.failed {
                    self.relinquish(ctx, from);
                } else {
                    self.inquiries.insert(from);
                }
            }
        }
    }

    fn relinquish(&mut self, ctx: &mut Context<'_, Self>, voter: NodeId) {
        if self.votes.remove(&voter) {
            self.send(ctx, voter, Kind::Relinquish);
        }
    }
}

impl Node for Maekawa {
    type Msg = Msg;
    type Timer = ();
    type Request = Request;
    type Event = Event;

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        self.handle(ctx, from, msg);
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Request) {
        match (request, self.phase) {
            (Request::Enter, Phase::Released) => {
                self.phase = Phase::Wanted;
                let time = self.clock.stamp();
                self.request = Some(LamportTimestamp {
                    time,
                    node: ctx.id(),
                });
                self.votes.clear();
                self.failed = false;
                self.inquiries.clear();
                for voter in Self::voting_set(ctx) {
                    self.send(ctx, voter, Kind::Request);
                }
            }
            (Request::Exit, Phase::Held) => {
                self.phase = Phase::Released;
                self.request = None;
                self.votes.clear();
                ctx.emit(Event::Exited);
                for voter in Self::voting_set(ctx) {
                    self.send(ctx, voter, Kind::Release);
                }
            }
            _ => {} // Enter while wanting or holding, Exit while not holding
        }
    }
}

impl MutexNode for Maekawa {
    fn in_section(&self) -> bool {
        self.phase == Phase::Held
    }
}

/// `dsys sim maekawa`: every node asks for the section twice; ME1–ME3 are
/// judged. Try `--reorder` to break its FIFO assumption.
pub const ALGORITHM: Algorithm = Algorithm {
    name: "maekawa",
    summary:
        "mutual exclusion by √N grid voting sets, deadlock-free with inquire/relinquish/failed",
    run: simulate,
    settings: &[],
    model: Some(model),
    defects: &[DefectInfo {
        name: "no-inquire",
        breaks: "Maekawa's original rules, without Inquire and Failed: a deadlock (ME2)",
    }],
};

/// `dsys check maekawa`: each process enters once, in every interleaving
/// ([`each_enters_once`](crate::workload::each_enters_once)); without
/// `Inquire` a run deadlocks.
fn model(options: &ModelOptions) -> dsys_core::Result<ModelVerdict> {
    let broken = ALGORITHM.defect_named(options.defect.as_deref())?.is_some();
    let verdict = crate::workload::each_enters_once(
        options.nodes,
        move |_| match broken {
            true => Maekawa::broken(Defect::NoInquire),
            false => Maekawa::new(),
        },
        Maekawa::phase,
    )
    .options(options)
    .verdict();
    Ok(verdict)
}

fn simulate(options: &SimOptions) -> dsys_core::Result<Outcome> {
    let broken = ALGORITHM.defect(options)?.is_some(); // its one defect
    crate::workload::run_scenario(ALGORITHM.name, options, move |_| match broken {
        true => Maekawa::broken(Defect::NoInquire),
        false => Maekawa::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsys_core::testing::Harness;
    use dsys_core::{Effect, EffectOf};

    fn send(to: u32, kind: Kind, time: u64) -> EffectOf<Maekawa> {
        Effect::Send {
            to: NodeId(to),
            msg: Msg { kind, time },
        }
    }

    fn msg(kind: Kind, time: u64) -> Msg {
        Msg { kind, time }
    }

    // Handler tests assert exact effects (STYLE.md #9). N = 4: grid
    // [0 1 / 2 3]; V0 = {0, 1, 2}, V3 = {1, 2, 3}. Maekawa 1985 §3.
    #[test]
    fn enter_asks_the_voting_set_and_votes_for_itself_without_messages() {
        let mut h = Harness::new(Maekawa::new(), NodeId(0), 4);
        assert_eq!(
            h.request(Request::Enter),
            vec![send(1, Kind::Request, 1), send(2, Kind::Request, 1)]
        );
        assert_eq!(h.message(NodeId(1), msg(Kind::Grant, 5)), vec![]);
        assert_eq!(
            h.message(NodeId(2), msg(Kind::Grant, 5)),
            vec![Effect::Emit(Event::Entered)]
        );
        assert_eq!(
            h.request(Request::Exit),
            vec![
                Effect::Emit(Event::Exited),
                send(1, Kind::Release, 9),
                send(2, Kind::Release, 10)
            ]
        );
        assert_eq!(h.node().voted_for(), None, "its own vote is free again");
    }

    #[test]
    fn a_voter_grants_once_and_fails_later_requests() {
        let mut h = Harness::new(Maekawa::new(), NodeId(3), 4);
        assert_eq!(
            h.message(NodeId(1), msg(Kind::Request, 5)),
            vec![send(1, Kind::Grant, 7)]
        );
        // (9, n2) is after (5, n1): it cannot win now.
        assert_eq!(
            h.message(NodeId(2), msg(Kind::Request, 9)),
            vec![send(2, Kind::Failed, 11)]
        );
        // On release the vote goes to the first in line.
        assert_eq!(
            h.message(NodeId(1), msg(Kind::Release, 12)),
            vec![send(2, Kind::Grant, 14)]
        );
    }

    #[test]
    fn an_earlier_request_inquires_once_and_displaces_the_head_of_the_queue() {
        let mut h = Harness::new(Maekawa::new(), NodeId(3), 4);
        h.message(NodeId(1), msg(Kind::Request, 5)); // vote to (5, n1); clock 7
        assert_eq!(
            h.message(NodeId(2), msg(Kind::Request, 3)),
            vec![send(1, Kind::Inquire, 9)]
        );
        // (1, n0) is first now: (3, n2) is told it lost; no second inquiry.
        assert_eq!(
            h.message(NodeId(0), msg(Kind::Request, 1)),
            vec![send(2, Kind::Failed, 11)]
        );
        // n1 gives the vote back: it goes to (1, n0); (5, n1) waits in line.
        assert_eq!(
            h.message(NodeId(1), msg(Kind::Relinquish, 12)),
            vec![send(0, Kind::Grant, 14)]
        );
    }

    #[test]
    fn a_requester_relinquishes_only_once_it_has_failed() {
        let mut h = Harness::new(Maekawa::new(), NodeId(0), 4);
        h.request(Request::Enter); // clock 2 (request 1, own grant 2)
        h.message(NodeId(1), msg(Kind::Grant, 2)); // 3
        assert_eq!(
            h.message(NodeId(1), msg(Kind::Inquire, 3)),
            vec![],
            "may still win: wait"
        ); // 4
        assert_eq!(
            h.message(NodeId(2), msg(Kind::Failed, 3)),
            vec![send(1, Kind::Relinquish, 6)]
        );
        h.message(NodeId(1), msg(Kind::Grant, 8)); // the vote comes back later
        assert_eq!(
            h.message(NodeId(1), msg(Kind::Inquire, 9)),
            vec![send(1, Kind::Relinquish, 11)],
            "having failed, it gives a vote back at once"
        );
    }

    #[test]
    fn inside_the_section_inquiries_wait_for_the_release() {
        let mut h = Harness::new(Maekawa::new(), NodeId(0), 4);
        h.request(Request::Enter);
        h.message(NodeId(1), msg(Kind::Grant, 2));
        h.message(NodeId(2), msg(Kind::Grant, 2));
        assert!(h.node().in_section());
        assert_eq!(h.message(NodeId(1), msg(Kind::Inquire, 5)), vec![]);
    }

    #[test]
    fn a_process_inside_after_failing_keeps_every_vote() {
        // It failed at n2 first, then won n2's vote after all: an inquiry
        // now must wait for the release, or another process would enter
        // with the returned vote (ME1).
        let mut h = Harness::new(Maekawa::new(), NodeId(0), 4);
        h.request(Request::Enter);
        h.message(NodeId(1), msg(Kind::Grant, 2));
        h.message(NodeId(2), msg(Kind::Failed, 3));
        assert_eq!(h.node().phase(), Phase::Wanted);
        assert!(!h.node().in_section(), "wanting is not holding");
        h.message(NodeId(2), msg(Kind::Grant, 5));
        assert_eq!(h.node().phase(), Phase::Held);
        assert_eq!(h.message(NodeId(1), msg(Kind::Inquire, 7)), vec![]);
    }

    #[test]
    fn a_copy_of_the_request_holding_the_vote_does_not_inquire() {
        // A request does not precede itself: a duplicated `Request` of the
        // vote's holder must not ask the holder to give the vote back.
        let mut h = Harness::new(Maekawa::new(), NodeId(3), 4);
        h.message(NodeId(1), msg(Kind::Request, 5)); // clock 7
        assert_eq!(
            h.message(NodeId(1), msg(Kind::Request, 5)),
            vec![send(1, Kind::Failed, 9)]
        );
    }

    #[test]
    fn the_voter_shows_whom_it_voted_for() {
        let mut h = Harness::new(Maekawa::new(), NodeId(3), 4);
        assert_eq!(h.node().voted_for(), None);
        h.message(NodeId(1), msg(Kind::Request, 5));
        assert_eq!(
            h.node().voted_for(),
            Some(LamportTimestamp {
                time: 5,
                node: NodeId(1)
            })
        );
    }

    #[test]
    fn without_inquire_a_busy_voter_only_queues() {
        // Maekawa's original rules (the `NoInquire` defect): an earlier
        // request neither inquires nor is told anything.
        let mut h = Harness::new(Maekawa::broken(Defect::NoInquire), NodeId(3), 4);
        h.message(NodeId(1), msg(Kind::Request, 5));
        assert_eq!(h.message(NodeId(2), msg(Kind::Request, 3)), vec![]);
        assert_eq!(h.message(NodeId(0), msg(Kind::Request, 9)), vec![]);
        assert_eq!(
            h.message(NodeId(1), msg(Kind::Release, 12)),
            vec![send(2, Kind::Grant, 14)],
            "the queue still serves the earliest first"
        );
    }

    #[test]
    fn messages_are_named_by_their_kind() {
        let names = [
            (Kind::Request, "Request"),
            (Kind::Grant, "Grant"),
            (Kind::Inquire, "Inquire"),
            (Kind::Relinquish, "Relinquish"),
            (Kind::Failed, "Failed"),
            (Kind::Release, "Release"),
        ];
        for (kind, name) in names {
            assert_eq!(Message::kind(&msg(kind, 1)), name);
        }
    }

    /// Rows and columns of a grid `width` wide, the definition itself.
    fn row_and_column(node: usize, nodes: usize, width: usize) -> Vec<NodeId> {
        (0..nodes)
            .filter(|&j| j / width == node / width || j % width == node % width)
            .map(|j| NodeId(j as u32))
            .collect()
    }

    #[test]
    fn voting_sets_are_rows_and_columns_of_the_smallest_square_grid() {
        let ids = |v: Vec<NodeId>| v.into_iter().map(|n| n.0).collect::<Vec<_>>();
        // 0 1 2 / 3 4 5 / 6 7 8
        assert_eq!(ids(voting_set(NodeId(4), 9)), vec![1, 3, 4, 5, 7]);
        assert_eq!(ids(voting_set(NodeId(0), 9)), vec![0, 1, 2, 3, 6]);
        assert_eq!(ids(voting_set(NodeId(8), 9)), vec![2, 5, 6, 7, 8]);
        // 10 needs a 4-wide grid: 0 1 2 3 / 4 5 6 7 / 8 9
        assert_eq!(ids(voting_set(NodeId(5), 10)), vec![1, 4, 5, 6, 7, 9]);
        assert_eq!(ids(voting_set(NodeId(0), 1)), vec![0]);
        for nodes in 1..=30usize {
            let width = (1..=nodes).find(|w| w * w >= nodes).unwrap();
            assert!((width - 1) * (width - 1) < nodes && nodes <= width * width);
            let sets: Vec<_> = (0..nodes)
                .map(|i| voting_set(NodeId(i as u32), nodes))
                .collect();
            for (i, set) in sets.iter().enumerate() {
                assert_eq!(*set, row_and_column(i, nodes, width), "N = {nodes}, {i}");
                assert!(set.len() < 2 * width, "N = {nodes}: at most 2⌈√N⌉ − 1");
                for other in &sets {
                    assert!(set.iter().any(|p| other.contains(p)), "N = {nodes}");
                }
            }
        }
    }
}
