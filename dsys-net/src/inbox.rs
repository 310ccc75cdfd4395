//! The local nodes' inboxes, which both network transports deliver into.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use actix::prelude::SendError;
use actix::Recipient;
use dsys_core::runtime::Deliver;
use dsys_core::{Message, NodeId};

use crate::tcp::{bump, worth_warning};

/// The counters a delivery moves.
pub(crate) struct DeliveryCounters<'a> {
    pub(crate) delivered: &'a AtomicU64,
    pub(crate) dropped_full: &'a AtomicU64,
    pub(crate) dropped_no_inbox: &'a AtomicU64,
}

/// Local node id → its actor's inbox.
pub(crate) struct Inboxes<M: Message> {
    table: RwLock<HashMap<NodeId, Recipient<Deliver<M>>>>,
}

impl<M: Message> Inboxes<M> {
    pub(crate) fn new() -> Self {
        Inboxes {
            table: RwLock::new(HashMap::new()),
        }
    }

    pub(crate) fn register(&self, node: NodeId, inbox: Recipient<Deliver<M>>) {
        self.table
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(node, inbox);
    }

    pub(crate) fn unregister(&self, node: NodeId) {
        self.table
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&node);
    }

    /// Puts `msg` into `to`'s mailbox without blocking; a full mailbox or a
    /// missing inbox drops it and counts why.
    pub(crate) fn deliver(&self, from: NodeId, to: NodeId, msg: M, c: DeliveryCounters<'_>) {
        let table = self.table.read().unwrap_or_else(|e| e.into_inner());
        match table.get(&to) {
            Some(inbox) => match inbox.try_send(Deliver { from, msg }) {
                Ok(()) => bump(c.delivered),
                Err(SendError::Full(_)) => {
                    let dropped = c.dropped_full.fetch_add(1, Ordering::Relaxed) + 1;
                    if worth_warning(dropped) {
                        tracing::warn!(%from, %to, dropped, "mailbox full: message dropped");
                    }
                }
                Err(SendError::Closed(_)) => bump(c.dropped_no_inbox),
            },
            None => {
                bump(c.dropped_no_inbox);
                tracing::trace!(%from, %to, "no inbox: message dropped");
            }
        }
    }
}
