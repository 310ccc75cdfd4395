//! Transports move messages between node actors: [`LocalTransport`] inside
//! one process, [`FaultyTransport`] over any other to inject loss, delay,
//! duplication and partitions. TCP and UDP live in dsys-net.
//!
//! Every transport is built from the same core: an [`Inboxes`] table that
//! delivers into the local node actors' mailboxes and counts what became of
//! each message ([`TransportCounters`]), and, for transports that encode
//! messages, a [`KindTable`] of messages and bytes per kind.

mod counters;
mod inbox;

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};

use actix::Recipient;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::Deliver;
use crate::node::{Message, NodeId};
use crate::sim::Latency;

pub use counters::{
    worth_warning, Counter, KindStats, KindTable, TransportCounters, TransportStats,
};
pub use inbox::Inboxes;

/// Moves messages between nodes. A transport is shared by every node of a
/// cluster (and across threads), so its methods take `&self`.
///
/// A node actor registers its inbox when it starts and unregisters it when
/// it stops or crashes; `send` delivers to the destination's inbox or, if
/// there is none (the node is down or unknown), drops the message and counts
/// it. Delivery is never blocking: a transport that cannot deliver now drops
/// and counts, as a network would.
pub trait Transport<M: Message>: Send + Sync + 'static {
    /// Messages for `node` go to `inbox` from now on.
    fn register(&self, node: NodeId, inbox: Recipient<Deliver<M>>);
    /// Messages for `node` are dropped from now on.
    fn unregister(&self, node: NodeId);
    /// Sends `msg` from `from` to `to`.
    fn send(&self, from: NodeId, to: NodeId, msg: M);
    /// What the transport has done so far.
    fn stats(&self) -> TransportStats;
}

/// In-process transport: a table of actix recipients, one per live node.
///
/// Messages go straight into the destination actor's mailbox, in order per
/// sender–receiver pair (actix mailboxes are FIFO). Mailboxes are bounded
/// (see [`super::ClusterBuilder::mailbox_capacity`]): a message for a full
/// mailbox is dropped and counted in [`TransportStats::dropped_full`], like a
/// datagram hitting a full socket buffer, rather than growing memory without
/// bound.
#[derive(Clone)]
pub struct LocalTransport<M: Message> {
    inboxes: Arc<Inboxes<M>>,
}

impl<M: Message> fmt::Debug for LocalTransport<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalTransport")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl<M: Message> Default for LocalTransport<M> {
    fn default() -> Self {
        LocalTransport {
            inboxes: Arc::new(Inboxes::new()),
        }
    }
}

impl<M: Message> LocalTransport<M> {
    /// An empty transport.
    pub fn new() -> Self {
        LocalTransport::default()
    }
}

impl<M: Message> Transport<M> for LocalTransport<M> {
    fn register(&self, node: NodeId, inbox: Recipient<Deliver<M>>) {
        self.inboxes.register(node, inbox);
    }

    fn unregister(&self, node: NodeId) {
        self.inboxes.unregister(node);
    }

    fn send(&self, from: NodeId, to: NodeId, msg: M) {
        self.inboxes.counters().sent.bump();
        self.inboxes.deliver(from, to, msg);
    }

    fn stats(&self) -> TransportStats {
        self.inboxes.stats()
    }
}

/// How a [`FaultyTransport`] mistreats messages.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaultConfig {
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability that a message is delivered twice.
    pub duplicate: f64,
    /// Extra delay before a message is handed on; `None` hands it on at once
    /// (and keeps the inner transport's ordering). Varying delays reorder.
    pub delay: Option<Latency>,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            loss: 0.0,
            duplicate: 0.0,
            delay: None,
        }
    }
}

impl FaultConfig {
    /// Checks that the probabilities lie in `[0, 1]` and the delay range is
    /// not empty, saying what is wrong.
    pub fn validate(&self) -> crate::Result<()> {
        let link = crate::sim::LinkConfig {
            loss: self.loss,
            duplicate: self.duplicate,
            latency: self
                .delay
                .unwrap_or(Latency::Fixed(std::time::Duration::ZERO)),
            ordering: crate::sim::Ordering::Fifo,
        };
        link.validate()
    }
}

/// Loss, duplication, delay and partitions over any transport, seeded.
///
/// Delays use the actix runtime's timers, so `send` must be called from
/// within an actix system (node actors always are). Partitions and link cuts
/// can be switched on and off while the cluster runs.
pub struct FaultyTransport<M: Message> {
    inner: Arc<dyn Transport<M>>,
    config: RwLock<FaultConfig>,
    rng: Mutex<ChaCha8Rng>,
    cut: RwLock<HashSet<(NodeId, NodeId)>>,
    counters: TransportCounters,
}

impl<M: Message> fmt::Debug for FaultyTransport<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultyTransport")
            .field("config", &self.config())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl<M: Message> FaultyTransport<M> {
    /// Wraps `inner`, drawing every fault decision from a ChaCha RNG seeded
    /// with `seed`. Fails with [`Error::InvalidConfig`](crate::Error::InvalidConfig)
    /// when `config` is out of range (a loss of 2.0 would otherwise fail
    /// every send later, inside an actor).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use dsys_core::ping_pong::Msg;
    /// use dsys_core::runtime::{FaultConfig, FaultyTransport, LocalTransport};
    ///
    /// let local = Arc::new(LocalTransport::<Msg>::new());
    /// let bad = FaultConfig { loss: 2.0, ..FaultConfig::default() };
    /// let error = FaultyTransport::new(local, bad, 7).unwrap_err();
    /// assert!(error.to_string().contains("loss probability 2 is outside [0, 1]"));
    /// ```
    pub fn new(
        inner: Arc<dyn Transport<M>>,
        config: FaultConfig,
        seed: u64,
    ) -> crate::Result<Self> {
        config.validate()?;
        Ok(FaultyTransport {
            inner,
            config: RwLock::new(config),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
            cut: RwLock::new(HashSet::new()),
            counters: TransportCounters::default(),
        })
    }

    /// The current fault configuration.
    pub fn config(&self) -> FaultConfig {
        *self.config.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the fault configuration from now on; an out-of-range one is
    /// refused, and the old one stays.
    pub fn set_config(&self, config: FaultConfig) -> crate::Result<()> {
        config.validate()?;
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = config;
        Ok(())
    }

    /// Cuts every link between the two sides, both ways.
    pub fn partition(&self, a: &[NodeId], b: &[NodeId]) {
        let mut cut = self.cut.write().unwrap_or_else(|e| e.into_inner());
        for &x in a {
            for &y in b {
                cut.insert((x, y));
                cut.insert((y, x));
            }
        }
    }

    /// Cuts the one-way link `from → to`.
    pub fn cut_link(&self, from: NodeId, to: NodeId) {
        self.cut
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert((from, to));
    }

    /// Restores every link.
    pub fn heal(&self) {
        self.cut.write().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn hand_on(&self, from: NodeId, to: NodeId, msg: M, delay: Option<std::time::Duration>) {
        match delay {
            None => self.inner.send(from, to, msg),
            Some(delay) => {
                let inner = Arc::clone(&self.inner);
                actix_rt::spawn(async move {
                    actix_rt::time::sleep(delay).await;
                    inner.send(from, to, msg);
                });
            }
        }
    }
}

impl<M: Message> Transport<M> for FaultyTransport<M> {
    fn register(&self, node: NodeId, inbox: Recipient<Deliver<M>>) {
        self.inner.register(node, inbox);
    }

    fn unregister(&self, node: NodeId) {
        self.inner.unregister(node);
    }

    fn send(&self, from: NodeId, to: NodeId, msg: M) {
        self.counters.sent.bump();
        let cut = self
            .cut
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&(from, to));
        let config = self.config();
        let (lost, duplicate, delays) = {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            let lost = config.loss > 0.0 && rng.random_bool(config.loss);
            let duplicate = config.duplicate > 0.0 && rng.random_bool(config.duplicate);
            let mut delay = || {
                config
                    .delay
                    .map(|d| std::time::Duration::from_nanos(d.sample_ns(&mut *rng)))
            };
            (lost, duplicate, [delay(), delay()])
        };
        if cut || lost {
            self.counters.dropped_fault.bump();
            tracing::trace!(%from, %to, partitioned = cut, "message dropped by fault injection");
            return;
        }
        if duplicate {
            self.counters.duplicated.bump();
            self.hand_on(from, to, msg.clone(), delays[1]);
        }
        self.hand_on(from, to, msg, delays[0]);
    }

    /// This layer's counters: `sent`, `dropped_fault` and `duplicated` are its
    /// own; `delivered`, `dropped_no_inbox` and `dropped_full` come from the
    /// inner transport.
    fn stats(&self) -> TransportStats {
        let inner = self.inner.stats();
        let own = self.counters.snapshot();
        TransportStats {
            sent: own.sent,
            delivered: inner.delivered,
            dropped_no_inbox: inner.dropped_no_inbox,
            dropped_full: inner.dropped_full,
            dropped_fault: own.dropped_fault,
            duplicated: own.duplicated,
        }
    }
}
