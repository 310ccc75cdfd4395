//! Deliberately broken Raft variants, each caught by a checker, in runs
//! scripted message by message: no timer fires on its own, elections start
//! by `RaftRequest::Campaign`, and the test decides which message reaches
//! whom. Each script also runs on correct Raft, where every checker holds.

use std::collections::VecDeque;
use std::time::Duration;

use dsys_consensus::raft::properties::Checkers;
use dsys_consensus::raft::simulation::SimRaft;
use dsys_consensus::raft::{Counter, Defect, MemStorage, Msg, Raft, RaftConfig, RaftRequest, Role};
use dsys_core::testing::Harness;
use dsys_core::{Effect, EffectOf, NodeId};

/// A cluster driven by hand: messages wait in a queue until delivered.
struct Script {
    config: RaftConfig,
    nodes: Vec<Option<Harness<SimRaft>>>,
    disks: Vec<MemStorage<u64>>,
    queue: VecDeque<(NodeId, NodeId, Msg<u64>)>,
    checkers: Checkers<u64>,
}

impl Script {
    fn new(size: usize, defect: Option<Defect>) -> Self {
        let config = RaftConfig {
            // Timers never fire here; long timeouts keep leases out of the way.
            election_timeout_min: Duration::from_secs(10),
            election_timeout_max: Duration::from_secs(20),
            append_entries_max: 1,
            defect,
            ..RaftConfig::default()
        };
        let disks: Vec<MemStorage<u64>> = (0..size).map(|_| MemStorage::new()).collect();
        let mut script = Script {
            config,
            nodes: (0..size).map(|_| None).collect(),
            disks,
            queue: VecDeque::new(),
            checkers: Checkers::new(),
        };
        for id in 0..size as u32 {
            script.boot(NodeId(id));
        }
        script
    }

    fn boot(&mut self, id: NodeId) {
        let node = Raft::new(
            self.config.clone(),
            self.disks[id.index()].clone(),
            Counter::default(),
        )
        .unwrap();
        let mut harness = Harness::new(node, id, self.nodes.len());
        let effects = harness.start();
        self.nodes[id.index()] = Some(harness);
        self.route(id, effects);
    }

    fn route(&mut self, from: NodeId, effects: Vec<EffectOf<SimRaft>>) {
        for effect in effects {
            if let Effect::Send { to, msg } = effect {
                self.queue.push_back((from, to, msg));
            }
        }
    }

    fn check(&mut self) -> Result<(), String> {
        let views: Vec<Option<&SimRaft>> = self
            .nodes
            .iter()
            .map(|h| h.as_ref().map(|h| h.node()))
            .collect();
        self.checkers.check(&views)
    }

    fn node(&self, id: u32) -> &SimRaft {
        self.nodes[id as usize].as_ref().expect("node is up").node()
    }

    fn campaign(&mut self, id: u32) -> Result<(), String> {
        let effects = self.nodes[id as usize]
            .as_mut()
            .expect("up")
            .request(RaftRequest::Campaign);
        self.route(NodeId(id), effects);
        self.check()
    }

    /// Delivers every queued message from `from` to `to` (dropping those
    /// for a crashed node), then checks all five properties.
    fn deliver(&mut self, from: u32, to: u32) -> Result<(), String> {
        let (from, to) = (NodeId(from), NodeId(to));
        let mut kept = VecDeque::new();
        let mut due = Vec::new();
        for (f, t, msg) in self.queue.drain(..) {
            if f == from && t == to {
                due.push(msg);
            } else {
                kept.push_back((f, t, msg));
            }
        }
        self.queue = kept;
        for msg in due {
            let Some(harness) = self.nodes[to.index()].as_mut() else {
                continue;
            };
            let effects = harness.message(from, msg);
            self.route(to, effects);
            self.check()?;
        }
        Ok(())
    }

    /// Delivers back and forth between `a` and each of `others` until
    /// nothing is left between them.
    fn exchange(&mut self, a: u32, others: &[u32]) -> Result<(), String> {
        loop {
            let pending = self.queue.iter().any(|(f, t, _)| {
                (f.0 == a && others.contains(&t.0)) || (t.0 == a && others.contains(&f.0))
            });
            if !pending {
                return Ok(());
            }
            for &o in others {
                self.deliver(a, o)?;
                self.deliver(o, a)?;
            }
        }
    }

    /// Crashes `id`. Messages already in the network stay there: a script
    /// drops them explicitly when it means to.
    fn crash(&mut self, id: u32) {
        self.nodes[id as usize] = None;
    }

    /// `id` campaigns, asks `voters` only, and counts their answers.
    /// Returns whether it won.
    fn elect(&mut self, id: u32, voters: &[u32]) -> Result<bool, String> {
        self.campaign(id)?;
        for &v in voters {
            self.deliver(id, v)?;
        }
        for &v in voters {
            self.deliver(v, id)?;
        }
        Ok(self.node(id).is_leader())
    }

    fn restart(&mut self, id: u32) {
        self.boot(NodeId(id));
    }

    fn drop_from(&mut self, id: u32) {
        self.queue.retain(|(f, _, _)| f.0 != id);
    }
}

/// Raft §5.4.2, Figure 8, step by step on five servers S1–S5 (n0–n4).
fn figure_8(defect: Option<Defect>) -> Result<Script, String> {
    let mut s = Script::new(5, defect);
    // Index 1 (term 1) on every server, committed: S1 leads term 1.
    assert!(s.elect(0, &[1, 2, 3, 4])?);
    s.exchange(0, &[1, 2, 3, 4])?;
    assert_eq!(s.node(0).commit_index(), 1);
    s.exchange(0, &[1, 2, 3, 4])?; // the new commit index reaches everyone

    // (a) S1 leads term 2 and replicates index 2 to S2 only.
    assert!(s.elect(0, &[1, 2])?);
    assert_eq!(s.node(0).term(), 2);
    s.deliver(0, 1)?;
    s.deliver(1, 0)?;
    s.drop_from(0);
    assert_eq!(s.node(1).log().term_at(2), Some(2));

    // (b) S1 crashes; S5 is elected in term 3 by S3, S4 and itself (its try
    // in term 2 fails: S3 voted for S1 in term 2), and writes a different
    // entry at index 2, which it keeps to itself.
    s.crash(0);
    assert!(!s.elect(4, &[2, 3])?);
    assert!(s.elect(4, &[2, 3])?);
    assert_eq!(s.node(4).term(), 3);
    assert_eq!(s.node(4).log().term_at(2), Some(3));
    s.drop_from(4);

    // (c) S5 crashes; S1 restarts and is elected in term 4 by S2 and S3 (its
    // try in term 3 fails: S3 voted for S5 in term 3). It replicates index 2
    // of term 2 to S3: the entry is now on S1, S2 and S3, a majority.
    s.crash(4);
    s.restart(0);
    assert!(!s.elect(0, &[1, 2])?);
    assert!(s.elect(0, &[1, 2])?);
    assert_eq!(s.node(0).term(), 4);
    s.deliver(0, 2)?; // append after index 3: S3 lacks it, rejects
    s.deliver(2, 0)?;
    s.deliver(0, 2)?; // the probe: index 2 (term 2), one entry per append
    s.deliver(2, 0)?;
    assert_eq!(s.node(2).log().term_at(2), Some(2));
    assert_eq!(s.node(2).log().last_index(), 2);
    s.deliver(0, 1)?; // S2 gets index 3 (term 4): it is on two servers of five
    s.deliver(1, 0)?;
    s.deliver(0, 1)?;
    s.deliver(1, 0)?;
    // The rule of §5.4.2: index 2 is on a majority but of an older term, so
    // S1 does not commit it (nor anything: after its restart it knows of no
    // commit until an entry of its own term commits); the broken variant
    // commits index 2 by counting.
    let expected = if defect == Some(Defect::CommitsPreviousTerm) {
        2
    } else {
        0
    };
    assert_eq!(s.node(0).commit_index(), expected);
    s.drop_from(0);

    // (d) S1 crashes; S5 restarts and is elected in term 5 by S3, S4 and
    // itself (its last term, 3, beats S3's 2), and overwrites index 2.
    s.crash(0);
    s.restart(4);
    assert!(!s.elect(4, &[2, 3])?);
    assert!(s.elect(4, &[2, 3])?);
    assert_eq!(s.node(4).term(), 5);
    s.exchange(4, &[2, 3])?;
    Ok(s)
}

#[test]
fn figure_8_correct_raft_does_not_commit_an_old_term_entry_by_counting() {
    // Raft §5.4.2: S1 in term 4 sees index 2 on a majority but does not
    // commit it, so S5 may legitimately overwrite it in (d).
    let mut s = figure_8(None).expect("correct Raft keeps all five properties");
    assert_eq!(
        s.node(2).log().term_at(2),
        Some(3),
        "S5 overwrote the uncommitted entry"
    );
    s.check().unwrap();
}

#[test]
fn figure_8_counting_replicas_of_an_old_term_is_caught() {
    let err = figure_8(Some(Defect::CommitsPreviousTerm))
        .err()
        .expect("the broken variant must be caught");
    assert!(err.contains("Leader Completeness"), "{err}");
    assert!(err.contains("committed in term 4"), "{err}");
}

/// Two candidates in term 1; the third server's vote decides.
fn two_candidates(defect: Option<Defect>) -> Result<Script, String> {
    let mut s = Script::new(3, defect);
    s.campaign(0)?;
    s.campaign(1)?;
    s.deliver(0, 2)?; // n2 votes for n0 …
    s.deliver(1, 2)?; // … and is asked by n1 in the same term
    s.deliver(2, 0)?;
    s.deliver(2, 1)?;
    Ok(s)
}

#[test]
fn two_votes_in_one_term_are_caught() {
    // Raft §5.2: each server votes for at most one candidate per term.
    let s = two_candidates(None).expect("correct Raft holds");
    let leaders = (0..3).filter(|&i| s.node(i).role() == Role::Leader).count();
    assert_eq!(leaders, 1);
    let err = two_candidates(Some(Defect::GrantsTwoVotes))
        .err()
        .expect("the broken variant must be caught");
    assert!(
        err.contains("Election Safety") && err.contains("two leaders in term 1"),
        "{err}"
    );
}

#[test]
fn a_vote_forgotten_at_a_crash_is_caught() {
    // Raft Figure 2: votedFor is persistent state, written before answering.
    let script = |defect| -> Result<Script, String> {
        let mut s = Script::new(3, defect);
        s.campaign(0)?;
        s.campaign(1)?;
        s.deliver(0, 2)?; // n2 votes for n0 in term 1
        s.deliver(2, 0)?; // n0 wins term 1
        s.crash(2);
        s.restart(2); // n2 comes back: does it remember its vote?
        s.deliver(1, 2)?; // n1 asks n2 in term 1
        s.deliver(2, 1)?;
        Ok(s)
    };
    let s = script(None).expect("correct Raft holds");
    assert!(s.node(0).is_leader());
    assert!(!s.node(1).is_leader());
    let err = script(Some(Defect::VoteNotPersisted))
        .err()
        .expect("the broken variant must be caught");
    assert!(
        err.contains("Election Safety") && err.contains("two leaders in term 1"),
        "{err}"
    );
}
