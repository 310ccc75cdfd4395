//! The one list of algorithms the command line knows: `dsys list`, `dsys
//! sim`, `dsys node` and `dsys cluster up` all read it.

use std::process::ExitCode;

use crate::core::scenario::Algorithm;

use super::node::NodeSetup;

/// Runs a node of an algorithm over TCP for `dsys node`: build the node,
/// then [`NodeSetup::serve`] it. Returns the process's exit code.
pub type NodeRunner = fn(NodeSetup) -> anyhow::Result<ExitCode>;

/// One algorithm the command line knows.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    /// How to simulate it, its summary, settings and defects.
    pub algorithm: Algorithm,
    /// How to run one node of it over TCP, if it runs outside the simulator.
    pub node: Option<NodeRunner>,
}

/// The algorithms a command line runs, in the order `dsys list` prints them.
///
/// ```
/// use dsys::cli::Registry;
///
/// let registry = Registry::standard();
/// assert!(registry.find("raft").is_some_and(|e| e.node.is_some()));
/// assert!(registry.find("lamport").is_some_and(|e| e.node.is_none()));
/// assert!(registry.find("no-such-algorithm").is_none());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Registry {
    entries: Vec<Entry>,
}

impl Registry {
    /// No algorithms: a binary that runs only its own.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Every algorithm dsys ships, in course order; Raft, Ricart & Agrawala
    /// and the bully election also run as `dsys node`.
    pub fn standard() -> Self {
        use crate::{clocks, consensus, core, election, mutex, net, replication};
        Registry::new()
            .with(core::ping_pong::ALGORITHM)
            .with(core::failure_detector::ALGORITHM)
            .with(net::reliable::scenario::ALGORITHM)
            .with(net::rpc::ALGORITHM)
            .with(clocks::cristian::ALGORITHM)
            .with(clocks::berkeley::ALGORITHM)
            .with(clocks::ntp::ALGORITHM)
            .with(clocks::lamport::ALGORITHM)
            .with(clocks::vector::ALGORITHM)
            .with(clocks::snapshot::ALGORITHM)
            .with(mutex::central_server::ALGORITHM)
            .with(mutex::token_ring::ALGORITHM)
            .with_node(
                mutex::ricart_agrawala::ALGORITHM,
                super::node::ricart_agrawala,
            )
            .with(mutex::maekawa::ALGORITHM)
            .with(election::ring::ALGORITHM)
            .with_node(election::bully::ALGORITHM, super::node::bully)
            .with_node(consensus::raft::simulation::ALGORITHM, super::node::raft)
            .with(consensus::paxos::simulation::ALGORITHM)
            .with(consensus::multi_paxos::simulation::ALGORITHM)
            .with(consensus::byzantine_generals::simulation::ALGORITHM)
            .with(consensus::dolev_strong::simulation::ALGORITHM)
            .with(replication::kv::scenario::PRIMARY_BACKUP)
            .with(replication::kv::scenario::ACTIVE)
            .with(replication::kv::scenario::KV_RAFT)
            .with(replication::kv::scenario::KV_MULTI_PAXOS)
    }

    /// Adds `algorithm` for `dsys sim`; an entry of the same name is
    /// replaced, in its place (so a binary can swap a built-in for its own).
    pub fn with(self, algorithm: Algorithm) -> Self {
        self.add(Entry {
            algorithm,
            node: None,
        })
    }

    /// Adds `algorithm` for `dsys sim`, and `node` to run it with `dsys
    /// node` and `dsys cluster up`; replaces an entry of the same name.
    pub fn with_node(self, algorithm: Algorithm, node: NodeRunner) -> Self {
        self.add(Entry {
            algorithm,
            node: Some(node),
        })
    }

    fn add(mut self, entry: Entry) -> Self {
        match self
            .entries
            .iter_mut()
            .find(|e| e.algorithm.name == entry.algorithm.name)
        {
            Some(existing) => *existing = entry,
            None => self.entries.push(entry),
        }
        self
    }

    /// The entries, in registration order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry named `name`.
    pub fn find(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.algorithm.name == name)
    }

    /// The entry named `name`, or an error listing the registered names.
    pub(crate) fn require(&self, name: &str) -> anyhow::Result<&Entry> {
        self.find(name).ok_or_else(|| {
            anyhow::anyhow!(
                "unknown algorithm {name:?}; `dsys list` shows the registered ones: {}",
                self.names().join(", ")
            )
        })
    }

    /// The names of the entries that run as `dsys node`.
    pub fn node_names(&self) -> Vec<&'static str> {
        self.entries
            .iter()
            .filter(|e| e.node.is_some())
            .map(|e| e.algorithm.name)
            .collect()
    }

    /// The registered names, for error messages.
    pub(crate) fn names(&self) -> Vec<&'static str> {
        self.entries.iter().map(|e| e.algorithm.name).collect()
    }
}
