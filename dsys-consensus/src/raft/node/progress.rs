//! What a leader knows of each follower's log (Raft Figure 2, `nextIndex`
//! and `matchIndex`) and how it replicates to it: probing one append at a
//! time until the logs match, then streaming through a bounded pipeline, or
//! waiting on a snapshot (§7) when the entries the follower needs are
//! compacted away.

use std::collections::VecDeque;
use std::time::Duration;

use crate::raft::types::LogIndex;

/// How the leader is replicating to one follower. The transitions are
/// methods of [`Progress`]:
///
/// | from | event | to |
/// |---|---|---|
/// | Probe, Pipeline | the next entry is compacted away (`snapshot_sent`) | Snapshot |
/// | Probe, Snapshot | an acknowledgement (`acknowledged`) | Pipeline |
/// | any | a refusal that is not stale (`refused`) | Probe, at the hint |
/// | Probe or Snapshot in flight, Pipeline not empty | no progress for a heartbeat interval (`heartbeat_tick`) | Probe |
///
/// *Progress* is an answer that moves replication on: an acknowledgement
/// of something not known to match before, or a refusal that is not
/// stale. An answer that only confirms a read round (dissertation §6.4:
/// the read heartbeat is anchored at what the follower is known to hold)
/// proves the follower alive, which check-quorum and reads need, but says
/// nothing of the append or snapshot in flight: if it counted, a steady
/// read load would keep a lost append or snapshot from ever being resent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Replication {
    /// Looking for where the logs match (Raft §5.3): one append at a time.
    /// `in_flight` is the previous-entry index of the append awaiting an
    /// answer, if one is.
    Probe {
        /// The `prev_log_index` of the probe in flight.
        in_flight: Option<LogIndex>,
    },
    /// The logs match: appends stream without waiting for answers, at most
    /// `RaftConfig::inflight_appends_max` of them.
    Pipeline {
        /// The last index of each append in flight, oldest first.
        inflight: VecDeque<LogIndex>,
    },
    /// The follower needs entries the leader compacted away: the snapshot
    /// that replaced them is in flight (§7).
    Snapshot {
        /// The previous-entry index the follower needed when the snapshot
        /// left. A refusal naming it is current (the answer to a probe the
        /// snapshot overtook), and if the snapshot is lost the leader
        /// probes from there again, which sends the snapshot again.
        prev: LogIndex,
    },
}

/// What a leader knows of one follower (Raft Figure 2, `nextIndex` and
/// `matchIndex`, with the replication state).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Progress {
    /// The next entry to send.
    pub(super) next: LogIndex,
    /// The highest entry known to be replicated on the follower.
    pub(super) matched: LogIndex,
    /// Probing, pipelining or waiting on a snapshot.
    pub(super) replication: Replication,
    /// When the follower last answered in this term.
    pub(super) last_ack: Duration,
    /// Replication made progress since the last heartbeat tick (see
    /// [`Replication`]); read-round confirmations alone do not count.
    pub(super) progressed: bool,
    /// The highest read round it confirmed.
    pub(super) read_ack: u64,
}

impl Progress {
    /// A follower of a new leader (or a new member): nothing is known of
    /// its log, so replication starts by probing at `next`.
    pub(super) fn new(next: LogIndex, now: Duration) -> Self {
        Progress {
            next,
            matched: 0,
            replication: Replication::Probe { in_flight: None },
            last_ack: now,
            progressed: true,
            read_ack: 0,
        }
    }

    /// May another append (or a snapshot) go now? Not while a probe or a
    /// snapshot awaits its answer, nor when the pipeline is full.
    pub(super) fn may_send(&self, inflight_max: usize) -> bool {
        match &self.replication {
            Replication::Probe { in_flight } => in_flight.is_none(),
            Replication::Pipeline { inflight } => inflight.len() < inflight_max,
            Replication::Snapshot { .. } => false,
        }
    }

    /// An append of `count` entries after `prev` left. Returns whether
    /// another may follow it at once (streaming, and it carried entries).
    pub(super) fn append_sent(&mut self, prev: LogIndex, count: u64) -> bool {
        match &mut self.replication {
            Replication::Probe { in_flight } => {
                self.next += count;
                *in_flight = Some(prev);
                false
            }
            Replication::Pipeline { inflight } => {
                if count == 0 {
                    return false;
                }
                self.next += count;
                inflight.push_back(self.next - 1);
                true
            }
            Replication::Snapshot { .. } => {
                unreachable!("nothing is sent while a snapshot is in flight")
            }
        }
    }

    /// The snapshot covering the log up to `snapshot_index` left, in place
    /// of the entries from `next` on, which are compacted away.
    pub(super) fn snapshot_sent(&mut self, snapshot_index: LogIndex) {
        self.replication = Replication::Snapshot {
            prev: self.next - 1,
        };
        self.next = snapshot_index + 1;
    }

    /// The follower answered at `now`, confirming read round `read_round`:
    /// it is alive, whatever the answer says of replication.
    pub(super) fn heard(&mut self, now: Duration, read_round: u64) {
        self.last_ack = now;
        self.read_ack = self.read_ack.max(read_round);
    }

    /// The follower's log matches the leader's up to `index`: what was in
    /// flight up to there arrived, and probing (or a snapshot) ends in
    /// streaming from `index + 1`. Progress if `index` is news or probing
    /// ends; an answer to a read heartbeat, anchored at `matched`, is
    /// neither while streaming.
    pub(super) fn acknowledged(&mut self, index: LogIndex) {
        self.progressed |=
            index > self.matched || !matches!(self.replication, Replication::Pipeline { .. });
        self.matched = self.matched.max(index);
        match &mut self.replication {
            Replication::Pipeline { inflight } => {
                while inflight.front().is_some_and(|&i| i <= index) {
                    inflight.pop_front();
                }
            }
            Replication::Probe { .. } | Replication::Snapshot { .. } => {
                self.replication = Replication::Pipeline {
                    inflight: VecDeque::new(),
                };
                self.next = index + 1;
            }
        }
        self.next = self.next.max(index + 1);
    }

    /// The follower's log has no entry `index` of the term the leader
    /// named; `hint` is where it suggests retrying. Unless the refusal is
    /// stale (it contradicts what is known to match, or answers a probe
    /// other than the one in flight), probe again at the hint (fast
    /// back-off, §5.3), never below what the follower is known to hold —
    /// unless the refusal is of `matched` itself: a follower that lacks an
    /// entry it acknowledged in this term lost it (a restart that kept
    /// less than it had written), and is probed from its hint, so that it
    /// catches up rather than being refused forever.
    pub(super) fn refused(&mut self, index: LogIndex, hint: LogIndex) {
        let stale = index < self.matched
            || match self.replication {
                Replication::Probe {
                    in_flight: Some(prev),
                }
                | Replication::Snapshot { prev } => prev != index,
                _ => false,
            };
        if !stale {
            self.progressed = true;
            if index == self.matched && hint <= self.matched {
                self.matched = hint.saturating_sub(1);
            }
            self.next = hint.clamp(self.matched + 1, index.max(self.matched + 1));
            self.replication = Replication::Probe { in_flight: None };
        }
    }

    /// A heartbeat tick. If replication has made no progress since the
    /// last one, what is in flight is taken as lost: a probe (or snapshot)
    /// is sent again rather than starting over from what is known to
    /// match; lost pipelined appends are resent from what is known to
    /// match. Returns whether the pipeline is empty, so a heartbeat may go.
    pub(super) fn heartbeat_tick(&mut self) -> bool {
        if !self.progressed {
            match self.replication {
                Replication::Probe {
                    in_flight: Some(prev),
                }
                | Replication::Snapshot { prev } => {
                    self.next = prev + 1;
                    self.replication = Replication::Probe { in_flight: None };
                }
                Replication::Pipeline { ref inflight } if !inflight.is_empty() => {
                    self.next = self.matched + 1;
                    self.replication = Replication::Probe { in_flight: None };
                }
                _ => {}
            }
        }
        self.progressed = false;
        !matches!(&self.replication, Replication::Pipeline { inflight } if !inflight.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline(inflight: &[LogIndex]) -> Replication {
        Replication::Pipeline {
            inflight: inflight.iter().copied().collect(),
        }
    }

    #[test]
    fn a_probe_goes_one_at_a_time_then_an_ack_starts_the_pipeline() {
        // Raft §5.3: probe until the logs match, then stream.
        let mut p = Progress::new(5, Duration::ZERO);
        assert!(p.may_send(2));
        assert!(!p.append_sent(4, 3));
        assert_eq!(p.replication, Replication::Probe { in_flight: Some(4) });
        assert!(!p.may_send(2));
        p.acknowledged(7);
        assert_eq!((p.next, p.matched), (8, 7));
        assert_eq!(p.replication, pipeline(&[]));
        assert!(p.append_sent(7, 2));
        assert!(p.append_sent(9, 2));
        assert!(!p.may_send(2), "the pipeline is full");
        p.acknowledged(9);
        assert_eq!(p.replication, pipeline(&[11]));
        assert!(p.may_send(2));
    }

    #[test]
    fn only_a_refusal_of_the_probe_in_flight_moves_next_back() {
        // Raft §5.3: fast back-off to the hint, never below what matches.
        let mut p = Progress::new(10, Duration::ZERO);
        p.append_sent(9, 1);
        p.refused(6, 3); // answers an older probe
        assert_eq!(
            (p.next, &p.replication),
            (11, &Replication::Probe { in_flight: Some(9) })
        );
        p.refused(9, 3);
        assert_eq!(
            (p.next, &p.replication),
            (3, &Replication::Probe { in_flight: None })
        );
    }

    #[test]
    fn a_follower_that_lost_acknowledged_entries_is_probed_below_them() {
        // It acknowledged up to 10, restarted with less, and refuses the
        // heartbeat anchored at 10, hinting at 4: the leader probes from 4.
        let mut p = Progress::new(1, Duration::ZERO);
        p.acknowledged(10);
        p.refused(10, 4);
        assert_eq!(
            (p.next, p.matched, &p.replication),
            (4, 3, &Replication::Probe { in_flight: None })
        );
        // A refusal beyond `matched` hinting below it is a term conflict
        // after `matched` (Raft §5.3's fast back-off), not a loss: `matched`
        // stands, and the next probe (at `matched`) tells which it is.
        let mut p = Progress::new(1, Duration::ZERO);
        p.acknowledged(10);
        p.append_sent(10, 2);
        p.refused(10 + 2, 4);
        assert_eq!((p.next, p.matched), (11, 10));
    }

    #[test]
    fn a_silent_follower_is_probed_again_from_what_was_lost() {
        let mut p = Progress::new(1, Duration::ZERO);
        p.acknowledged(4);
        p.append_sent(4, 2);
        assert!(
            !p.heartbeat_tick(),
            "answered since the last tick: keep streaming"
        );
        assert!(p.heartbeat_tick(), "silent: the pipeline is taken as lost");
        assert_eq!(
            (p.next, &p.replication),
            (5, &Replication::Probe { in_flight: None })
        );
        // Raft §7: a lost snapshot is sent again (next falls below it).
        p.snapshot_sent(20);
        assert_eq!(
            (p.next, &p.replication),
            (21, &Replication::Snapshot { prev: 4 })
        );
        assert!(p.heartbeat_tick());
        assert_eq!(
            (p.next, &p.replication),
            (5, &Replication::Probe { in_flight: None })
        );
    }

    #[test]
    fn answers_that_only_confirm_a_read_round_do_not_hold_back_a_resend() {
        // Dissertation §6.4 with Raft §5.3: the answer to a read heartbeat
        // (anchored at `matched`) confirms the round, not the append.
        let mut p = Progress::new(1, Duration::ZERO);
        p.acknowledged(4);
        p.append_sent(4, 2); // lost
        assert!(!p.heartbeat_tick());
        p.heard(Duration::from_millis(60), 1);
        p.acknowledged(4); // the read heartbeat's answer
        assert!(
            p.heartbeat_tick(),
            "no progress: the append is taken as lost"
        );
        assert_eq!(
            (p.next, &p.replication, p.read_ack),
            (5, &Replication::Probe { in_flight: None }, 1)
        );
        // Raft §7: the refusal of a read heartbeat (anchored at the
        // snapshot) while the snapshot is in flight is stale; the lost
        // snapshot is sent again all the same.
        let mut p = Progress::new(1, Duration::ZERO);
        p.acknowledged(4);
        p.snapshot_sent(20);
        assert!(p.heartbeat_tick(), "progress since the last tick: wait");
        assert_eq!(p.replication, Replication::Snapshot { prev: 4 });
        p.heard(Duration::from_millis(60), 1);
        p.refused(20, 5);
        assert!(p.heartbeat_tick());
        assert_eq!(
            (p.next, &p.replication),
            (5, &Replication::Probe { in_flight: None })
        );
    }
}
