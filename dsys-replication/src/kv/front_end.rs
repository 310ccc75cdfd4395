//! The client side of every backend: Coulouris' *front end*.

use dsys_core::NodeId;

use crate::consistency::models::{KvOp, KvRet};

use super::{Answer, Call, Read, RequestId};

/// What the front end does with an [`Answer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// The call is answered: hand `ret` to the client.
    Done(KvRet),
    /// Send the same call (same id, so it runs at most once) to `to` now.
    Resend {
        /// Where.
        to: NodeId,
        /// The call.
        call: Call,
    },
    /// The answer is not for the call in progress (a late or duplicate
    /// answer): nothing to do.
    Ignore,
}

/// The front end of one client (Coulouris fig. 18.1): it gives each
/// request a unique id (the **request** stage), sends it to the replica it
/// believes is the primary or leader, follows redirects, and resends the
/// same call elsewhere when no answer comes — safe because replicas answer
/// a repeated id from the client's session instead of executing it again.
/// It makes one call at a time, as the lecture's front end does.
///
/// It also carries the client's **session token** for local reads: the
/// highest position in the order of requests it has seen answered. A
/// replica answers a [`Read::Local`] only from a state at least that far
/// along, so a client never reads older state than it has already seen
/// (read-your-writes, monotonic reads).
///
/// Sans-IO: it returns where to send what; the caller sends and keeps time.
///
/// ```
/// use dsys_core::NodeId;
/// use dsys_replication::consistency::models::{KvOp, KvRet};
/// use dsys_replication::kv::{Answer, FrontEnd, Read, Step};
///
/// let mut front = FrontEnd::new(7, vec![NodeId(0), NodeId(1), NodeId(2)]);
/// let (to, call) = front.request(KvOp::Get { key: "x".into() }, Read::Linearizable).unwrap();
/// assert_eq!(to, NodeId(0));
/// // n0 is not the primary; it names n2.
/// let redirect = Answer::NotPrimary { id: call.id, hint: Some(NodeId(2)) };
/// assert_eq!(front.on_answer(&redirect), Step::Resend { to: NodeId(2), call: call.clone() });
/// let done = Answer::Done { id: call.id, ret: KvRet::Value("1".into()), index: 4 };
/// assert_eq!(front.on_answer(&done), Step::Done(KvRet::Value("1".into())));
/// assert_eq!(front.primary(), NodeId(2)); // remembered for the next call
/// ```
#[derive(Clone, Debug)]
pub struct FrontEnd {
    client: u64,
    next_seq: u64,
    replicas: Vec<NodeId>,
    /// Index into `replicas` of the replica believed to be primary.
    primary: usize,
    /// The highest index seen in an answer.
    token: u64,
    call: Option<Call>,
}

impl FrontEnd {
    /// The front end of `client` (an id unique among the clients of this
    /// store) over `replicas`, first trying `replicas[0]`.
    ///
    /// # Panics
    ///
    /// If `replicas` is empty.
    pub fn new(client: u64, replicas: Vec<NodeId>) -> Self {
        assert!(
            !replicas.is_empty(),
            "a front end needs at least one replica to talk to"
        );
        FrontEnd {
            client,
            next_seq: 1,
            replicas,
            primary: 0,
            token: 0,
            call: None,
        }
    }

    /// The client this front end speaks for.
    pub fn client(&self) -> u64 {
        self.client
    }

    /// The replicas it talks to.
    pub fn replicas(&self) -> &[NodeId] {
        &self.replicas
    }

    /// The replica it believes is the primary (or leader).
    pub fn primary(&self) -> NodeId {
        self.replicas[self.primary]
    }

    /// The session token: the highest index seen answered.
    pub fn token(&self) -> u64 {
        self.token
    }

    /// Forgets the session token, as a front end without sessions would:
    /// its next local read may come from a copy older than one it has
    /// already read (only to show what the token protects).
    pub fn forget_token(&mut self) {
        self.token = 0;
    }

    /// The call in progress, if any.
    pub fn call(&self) -> Option<&Call> {
        self.call.as_ref()
    }

    /// **Request**: starts a call of `op` with a fresh unique id, to the
    /// believed primary. `read` applies to gets (other operations always go
    /// through the replication protocol). `None` while a call is in
    /// progress (one at a time).
    pub fn request(&mut self, op: KvOp, read: Read) -> Option<(NodeId, Call)> {
        let to = self.primary();
        self.request_to(to, op, read)
    }

    /// As [`FrontEnd::request`], to replica `to` (a local read from a
    /// nearby replica, say).
    pub fn request_to(&mut self, to: NodeId, op: KvOp, read: Read) -> Option<(NodeId, Call)> {
        if self.call.is_some() {
            return None;
        }
        let read = match read {
            Read::Local { min_index } => Read::Local {
                min_index: min_index.max(self.token),
            },
            Read::Linearizable => Read::Linearizable,
        };
        let call = Call {
            id: RequestId {
                client: self.client,
                seq: self.next_seq,
            },
            op,
            read,
        };
        self.next_seq += 1;
        self.call = Some(call.clone());
        Some((to, call))
    }

    /// Handles a replica's answer.
    pub fn on_answer(&mut self, answer: &Answer) -> Step {
        let Some(call) = &self.call else {
            return Step::Ignore;
        };
        if answer.id() != call.id {
            return Step::Ignore;
        }
        match answer {
            Answer::Done { ret, index, .. } => {
                self.token = self.token.max(*index);
                self.call = None;
                Step::Done(ret.clone())
            }
            Answer::NotPrimary { hint, .. } => {
                match hint.and_then(|hint| self.replicas.iter().position(|&r| r == hint)) {
                    Some(at) if at != self.primary => self.primary = at,
                    // No hint, or the same replica again: try the next one.
                    _ => self.primary = (self.primary + 1) % self.replicas.len(),
                }
                Step::Resend {
                    to: self.primary(),
                    call: call.clone(),
                }
            }
        }
    }

    /// No answer came in time: the same call (same id) for the next
    /// replica, or `None` when no call is in progress.
    pub fn on_timeout(&mut self) -> Option<(NodeId, Call)> {
        let call = self.call.clone()?;
        self.primary = (self.primary + 1) % self.replicas.len();
        Some((self.primary(), call))
    }

    /// Abandons the call in progress (the caller gave up; it may still take
    /// effect). The next call gets a new id.
    pub fn abandon(&mut self) -> Option<Call> {
        self.call.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn front() -> FrontEnd {
        FrontEnd::new(3, vec![NodeId(0), NodeId(1), NodeId(2)])
    }

    fn get() -> KvOp {
        KvOp::Get { key: "k".into() }
    }

    #[test]
    fn ids_are_unique_per_call_and_a_second_call_waits_for_the_first() {
        let mut front = front();
        let (_, first) = front.request(get(), Read::Linearizable).unwrap();
        assert_eq!(first.id, RequestId { client: 3, seq: 1 });
        assert_eq!(front.request(get(), Read::Linearizable), None);
        assert_eq!(front.call(), Some(&first));
        front.abandon();
        let (_, second) = front.request(get(), Read::Linearizable).unwrap();
        assert_eq!(second.id, RequestId { client: 3, seq: 2 });
        assert_eq!(front.client(), 3);
    }

    #[test]
    fn answers_to_other_calls_are_ignored() {
        let mut front = front();
        let other = Answer::Done {
            id: RequestId { client: 3, seq: 9 },
            ret: KvRet::Done,
            index: 1,
        };
        assert_eq!(front.on_answer(&other), Step::Ignore);
        let (_, call) = front.request(get(), Read::Linearizable).unwrap();
        assert_eq!(front.on_answer(&other), Step::Ignore);
        assert_eq!(front.call(), Some(&call));
    }

    #[test]
    fn a_redirect_without_a_new_hint_and_a_timeout_move_to_the_next_replica() {
        let mut front = front();
        let (to, call) = front.request(get(), Read::Linearizable).unwrap();
        assert_eq!(to, NodeId(0));
        for (hint, next) in [(None, 1), (Some(NodeId(1)), 2), (Some(NodeId(9)), 0)] {
            let answer = Answer::NotPrimary { id: call.id, hint };
            assert_eq!(
                front.on_answer(&answer),
                Step::Resend {
                    to: NodeId(next),
                    call: call.clone()
                }
            );
        }
        assert_eq!(front.on_timeout(), Some((NodeId(1), call.clone())));
        assert_eq!(front.on_timeout(), Some((NodeId(2), call)));
        front.abandon();
        assert_eq!(front.on_timeout(), None);
    }

    #[test]
    fn a_redirect_to_another_known_replica_goes_there() {
        let mut front = front();
        assert_eq!(front.replicas(), &[NodeId(0), NodeId(1), NodeId(2)]);
        let (_, call) = front.request(get(), Read::Linearizable).unwrap();
        let answer = Answer::NotPrimary {
            id: call.id,
            hint: Some(NodeId(2)),
        };
        assert_eq!(
            front.on_answer(&answer),
            Step::Resend {
                to: NodeId(2),
                call
            }
        );
        assert_eq!(front.primary(), NodeId(2));
    }

    #[test]
    fn local_reads_carry_the_highest_index_seen() {
        let mut front = front();
        let (_, call) = front.request(get(), Read::Linearizable).unwrap();
        let done = |id, index| Answer::Done {
            id,
            ret: KvRet::Done,
            index,
        };
        front.on_answer(&done(call.id, 5));
        assert_eq!(front.token(), 5);
        let (to, call) = front
            .request_to(NodeId(2), get(), Read::Local { min_index: 2 })
            .unwrap();
        assert_eq!((to, call.read), (NodeId(2), Read::Local { min_index: 5 }));
        front.on_answer(&done(call.id, 3)); // an older state: token stays
        assert_eq!(front.token(), 5);
        front.forget_token();
        assert_eq!(front.token(), 0);
        front.token = 5;
        let (_, call) = front.request(get(), Read::Local { min_index: 8 }).unwrap();
        assert_eq!(call.read, Read::Local { min_index: 8 });
    }

    #[test]
    #[should_panic(expected = "at least one replica")]
    fn a_front_end_needs_a_replica() {
        FrontEnd::new(0, Vec::new());
    }
}
