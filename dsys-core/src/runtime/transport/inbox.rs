//! [`Inboxes`]: the table every transport delivers into, local node id →
//! its actor's mailbox, with the counters of what became of each message.

use std::collections::HashMap;
use std::fmt;
use std::sync::RwLock;

use actix::prelude::SendError;
use actix::Recipient;

use super::counters::{worth_warning, TransportCounters, TransportStats};
use crate::node::{Message, NodeId};
use crate::runtime::Deliver;

/// Node ids below this index a vector; larger ones go to a hash map, so a
/// process hosting node 4,000,000,000 does not allocate a slot for every id
/// below it. The vector holds at most this many slots (1 MiB).
const DENSE_IDS: usize = 1 << 16;

/// The local nodes' inboxes: node id → the node actor's mailbox, and the
/// [`TransportCounters`] of the transport that owns the table.
///
/// A node actor's inbox is registered when it starts and unregistered when
/// it stops or crashes (through [`Transport::register`](super::Transport::register)
/// and [`Transport::unregister`](super::Transport::unregister)).
/// [`Inboxes::deliver`] is the one way a transport hands a message to a node
/// actor: it never blocks ([`Recipient::try_send`], thread-safe, no runtime
/// needed). A message for a full mailbox is dropped and counted in
/// `dropped_full` (with a `warn!` at the first drop and every power of two
/// after, see [`worth_warning`]), like a datagram hitting a full socket
/// buffer; a message for a node with no inbox, or whose actor has stopped, is
/// dropped and counted in `dropped_no_inbox`. A delivery costs a read lock
/// on the table and two atomic adds: no allocation beyond the mailbox's own.
///
/// ```
/// use dsys_core::runtime::Inboxes;
/// use dsys_core::NodeId;
///
/// let inboxes = Inboxes::<dsys_core::ping_pong::Msg>::new();
/// inboxes.counters().sent.bump();
/// inboxes.deliver(NodeId(0), NodeId(1), dsys_core::ping_pong::Msg::Ping { round: 0 });
/// let stats = inboxes.stats();
/// assert_eq!((stats.sent, stats.delivered, stats.dropped_no_inbox), (1, 0, 1));
/// ```
pub struct Inboxes<M: Message> {
    table: RwLock<Table<M>>,
    counters: TransportCounters,
}

struct Table<M: Message> {
    dense: Vec<Option<Recipient<Deliver<M>>>>,
    sparse: HashMap<NodeId, Recipient<Deliver<M>>>,
}

impl<M: Message> Table<M> {
    #[inline]
    fn get(&self, node: NodeId) -> Option<&Recipient<Deliver<M>>> {
        let index = node.index();
        if index < self.dense.len() {
            self.dense[index].as_ref()
        } else if self.sparse.is_empty() {
            None
        } else {
            self.sparse.get(&node)
        }
    }

    fn len(&self) -> usize {
        self.dense.iter().flatten().count() + self.sparse.len()
    }
}

impl<M: Message> fmt::Debug for Inboxes<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let registered = self.table.read().unwrap_or_else(|e| e.into_inner()).len();
        f.debug_struct("Inboxes")
            .field("registered", &registered)
            .field("stats", &self.stats())
            .finish()
    }
}

impl<M: Message> Default for Inboxes<M> {
    fn default() -> Self {
        Inboxes {
            table: RwLock::new(Table {
                dense: Vec::new(),
                sparse: HashMap::new(),
            }),
            counters: TransportCounters::default(),
        }
    }
}

impl<M: Message> Inboxes<M> {
    /// An empty table, every counter at zero.
    pub fn new() -> Self {
        Inboxes::default()
    }

    /// Messages for `node` go to `inbox` from now on (replacing any inbox
    /// registered before, e.g. a crashed incarnation's).
    pub fn register(&self, node: NodeId, inbox: Recipient<Deliver<M>>) {
        let mut table = self.table.write().unwrap_or_else(|e| e.into_inner());
        let index = node.index();
        if index < DENSE_IDS {
            if table.dense.len() <= index {
                table.dense.resize(index + 1, None);
            }
            table.dense[index] = Some(inbox);
        } else {
            table.sparse.insert(node, inbox);
        }
    }

    /// Messages for `node` are dropped from now on.
    pub fn unregister(&self, node: NodeId) {
        let mut table = self.table.write().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = table.dense.get_mut(node.index()) {
            *slot = None;
        }
        table.sparse.remove(&node);
    }

    /// Puts `msg` from `from` into `to`'s mailbox without blocking, counting
    /// it as `delivered`; a full mailbox or a missing inbox drops it and
    /// counts why. (`sent` is the transport's to count, when the message is
    /// handed to it.)
    pub fn deliver(&self, from: NodeId, to: NodeId, msg: M) {
        let counters = &self.counters;
        let table = self.table.read().unwrap_or_else(|e| e.into_inner());
        match table.get(to) {
            Some(inbox) => match inbox.try_send(Deliver { from, msg }) {
                Ok(()) => {
                    counters.delivered.bump();
                }
                Err(SendError::Full(_)) => {
                    let dropped = counters.dropped_full.bump();
                    if worth_warning(dropped) {
                        tracing::warn!(%from, %to, dropped, "mailbox full: message dropped (the node is slow; raise ClusterBuilder::mailbox_capacity to buffer more)");
                    }
                }
                Err(SendError::Closed(_)) => {
                    counters.dropped_no_inbox.bump();
                    tracing::trace!(%from, %to, "inbox closed: message dropped");
                }
            },
            None => {
                counters.dropped_no_inbox.bump();
                tracing::trace!(%from, %to, "no inbox: message dropped");
            }
        }
    }

    /// The live counters, for the transport to count what happens before
    /// delivery (`sent`, drops for want of a route, …).
    pub fn counters(&self) -> &TransportCounters {
        &self.counters
    }

    /// Every count, as it is now.
    pub fn stats(&self) -> TransportStats {
        self.counters.snapshot()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use actix::dev::channel::channel;
    use actix::prelude::*;

    use super::*;
    use crate::ping_pong::Msg;

    /// Records what it is delivered.
    struct Sink(Arc<Mutex<Vec<(NodeId, Msg)>>>);

    impl Actor for Sink {
        type Context = Context<Self>;
    }

    impl Handler<Deliver<Msg>> for Sink {
        type Result = ();
        fn handle(&mut self, d: Deliver<Msg>, _: &mut Context<Self>) {
            self.0.lock().unwrap().push((d.from, d.msg));
        }
    }

    #[actix_rt::test]
    async fn delivers_to_registered_nodes_dense_or_sparse() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let inbox = Sink(Arc::clone(&got)).start();
        let inboxes = Inboxes::<Msg>::new();
        let far = NodeId(4_000_000_000);
        inboxes.register(NodeId(3), inbox.clone().recipient());
        inboxes.register(far, inbox.clone().recipient());
        inboxes.deliver(NodeId(0), NodeId(3), Msg::Ping { round: 1 });
        inboxes.deliver(NodeId(0), far, Msg::Ping { round: 2 });
        inboxes.deliver(NodeId(0), NodeId(2), Msg::Ping { round: 3 });
        inboxes.deliver(NodeId(0), NodeId(70_000), Msg::Ping { round: 4 });
        inboxes.unregister(far);
        inboxes.deliver(NodeId(0), far, Msg::Ping { round: 5 });
        let stats = inboxes.stats();
        assert_eq!((stats.delivered, stats.dropped_no_inbox), (2, 3));
        {
            let table = inboxes.table.read().unwrap();
            assert_eq!(table.dense.len(), 4, "no slot beyond the largest dense id");
            assert!(table.sparse.is_empty());
        }
        while got.lock().unwrap().len() < 2 {
            actix_rt::task::yield_now().await;
        }
        assert_eq!(
            *got.lock().unwrap(),
            [
                (NodeId(0), Msg::Ping { round: 1 }),
                (NodeId(0), Msg::Ping { round: 2 })
            ]
        );
    }

    #[actix_rt::test]
    async fn a_full_mailbox_drops_and_counts() {
        // A mailbox of 4 that nobody reads.
        let (tx, _rx) = channel::<Sink>(4);
        let inboxes = Inboxes::<Msg>::new();
        inboxes.register(NodeId(0), Addr::new(tx).recipient());
        for i in 0..100 {
            inboxes.deliver(NodeId(1), NodeId(0), Msg::Ping { round: i });
        }
        let stats = inboxes.stats();
        assert!(stats.delivered >= 4, "{stats:?}");
        assert!(stats.dropped_full > 0, "{stats:?}");
        assert_eq!(stats.delivered + stats.dropped_full, 100);
        assert_eq!(stats.dropped_no_inbox, 0);
    }

    #[actix_rt::test]
    async fn a_stopped_actor_counts_as_no_inbox() {
        let (tx, rx) = channel::<Sink>(4);
        drop(rx);
        let inboxes = Inboxes::<Msg>::new();
        inboxes.register(NodeId(0), Addr::new(tx).recipient());
        inboxes.deliver(NodeId(1), NodeId(0), Msg::Ping { round: 0 });
        assert_eq!(inboxes.stats().dropped_no_inbox, 1);
    }
}
