//! Counters a simulation keeps as it runs.

use std::fmt;

use serde::Serialize;

use crate::node::NodeId;

/// Counts for one message kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KindMetrics {
    /// Messages of this kind sent (duplicates made by the network not included).
    pub sent: u64,
    /// Messages of this kind delivered (duplicates included).
    pub delivered: u64,
    /// Messages of this kind dropped by the network.
    pub dropped: u64,
    /// Bytes sent, measured with the real codec (postcard); 0 when byte
    /// measurement is off.
    pub bytes_sent: u64,
}

/// Counts for one node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NodeMetrics {
    /// Messages this node sent.
    pub sent: u64,
    /// Messages delivered to this node.
    pub received: u64,
    /// Bytes this node sent.
    pub bytes_sent: u64,
    /// Bytes delivered to this node.
    pub bytes_received: u64,
    /// Timers of this node that fired.
    pub timers_fired: u64,
    /// Events this node emitted.
    pub events_emitted: u64,
}

/// A message kind's row in [`Metrics`], found by name once when a message is
/// sent and carried with it, so that its delivery or drop is counted without
/// a second search. Rows are only ever appended, so an id stays valid for the
/// life of its `Metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KindId(usize);

/// What a run did, by message kind and by node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Metrics {
    /// Messages sent by nodes.
    pub sent: u64,
    /// Messages delivered to nodes.
    pub delivered: u64,
    /// Messages dropped by the network (loss, partitions, crashed destinations).
    pub dropped: u64,
    /// Extra copies the network made.
    pub duplicated: u64,
    /// Timers set.
    pub timers_set: u64,
    /// Timers that fired.
    pub timers_fired: u64,
    /// Requests handed to nodes.
    pub requests: u64,
    /// Requests lost because their node was down.
    pub requests_dropped: u64,
    /// Events emitted by nodes.
    pub events_emitted: u64,
    kinds: Vec<(&'static str, KindMetrics)>,
    nodes: Vec<NodeMetrics>,
}

impl Metrics {
    pub(crate) fn new(nodes: usize) -> Self {
        Metrics {
            nodes: vec![NodeMetrics::default(); nodes],
            ..Metrics::default()
        }
    }

    /// Counts by message kind, sorted by kind name.
    pub fn by_kind(&self) -> Vec<(&'static str, &KindMetrics)> {
        let mut kinds: Vec<_> = self.kinds.iter().map(|(k, m)| (*k, m)).collect();
        kinds.sort_by_key(|(k, _)| *k);
        kinds
    }

    /// Counts for one kind, if any message of that kind was sent.
    pub fn kind(&self, kind: &str) -> Option<&KindMetrics> {
        self.kinds.iter().find(|(k, _)| *k == kind).map(|(_, m)| m)
    }

    /// Counts for one node.
    pub fn node(&self, node: NodeId) -> Option<&NodeMetrics> {
        self.nodes.get(node.index())
    }

    /// Counts for every node, indexed by node id.
    pub fn by_node(&self) -> &[NodeMetrics] {
        &self.nodes
    }

    /// Total bytes sent.
    pub fn bytes_sent(&self) -> u64 {
        self.kinds.iter().map(|(_, m)| m.bytes_sent).sum()
    }

    /// The row of `kind`, added (with zero counts) if it is new.
    ///
    /// A handful of kinds per algorithm: a linear scan beats hashing. A kind
    /// is almost always the very string literal it was first recorded with,
    /// so the first scan compares addresses only (a string comparison per
    /// mismatching row would cost more than the rest of the lookup); the
    /// second compares text, for a kind that arrives as another copy of the
    /// same name. Names are unique in `kinds`, so both find the same row.
    #[inline]
    pub(crate) fn kind_id(&mut self, kind: &'static str) -> KindId {
        let position = self
            .kinds
            .iter()
            .position(|(k, _)| std::ptr::eq(*k, kind))
            .or_else(|| self.kinds.iter().position(|(k, _)| *k == kind));
        let index = position.unwrap_or_else(|| {
            self.kinds.push((kind, KindMetrics::default()));
            self.kinds.len() - 1
        });
        KindId(index)
    }

    /// The name of a kind's row.
    pub(crate) fn kind_name(&self, id: KindId) -> &'static str {
        self.kinds[id.0].0
    }

    /// The counts of a kind's row.
    #[inline]
    pub(crate) fn kind_at_mut(&mut self, id: KindId) -> &mut KindMetrics {
        &mut self.kinds[id.0].1
    }

    pub(crate) fn node_mut(&mut self, node: usize) -> &mut NodeMetrics {
        &mut self.nodes[node]
    }
}

impl fmt::Display for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "messages: {} sent, {} delivered, {} dropped, {} duplicated; {} bytes",
            self.sent,
            self.delivered,
            self.dropped,
            self.duplicated,
            self.bytes_sent()
        )?;
        writeln!(
            f,
            "timers: {} set, {} fired; requests: {} ({} dropped); events: {}",
            self.timers_set,
            self.timers_fired,
            self.requests,
            self.requests_dropped,
            self.events_emitted
        )?;
        writeln!(
            f,
            "  {:<24} {:>10} {:>10} {:>10} {:>12}",
            "kind", "sent", "delivered", "dropped", "bytes"
        )?;
        for (kind, m) in self.by_kind() {
            writeln!(
                f,
                "  {:<24} {:>10} {:>10} {:>10} {:>12}",
                kind, m.sent, m.delivered, m.dropped, m.bytes_sent
            )?;
        }
        Ok(())
    }
}
