//! Cluster files: the TOML file that names a cluster, its secret, where
//! each node lives and each node's public key, shared by every process of
//! the cluster. `dsys cluster up` writes one for a local cluster; `dsys
//! cluster keygen FILE` makes a key file and prints the `public_key` line
//! for a cluster file written by hand.
//!
//! ```toml
//! # The cluster's name: nodes refuse peers that name another.
//! name = "demo"
//!
//! # The shared secret, either inline…
//! #   secret = "correct horse battery staple"
//! # …or (better: keeps it out of the file) the name of an environment
//! # variable that holds it. Exactly one of the two.
//! secret_env = "DSYS_SECRET"
//!
//! # One entry per node; ids are 0, 1, … n-1 (any order).
//! [[node]]
//! id = 0
//! addr = "10.0.0.1:7000"      # host:port it listens on and peers dial
//! data_dir = "/var/lib/dsys/n0"
//! # The node's public key: it must prove it holds the private half.
//! public_key = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
//! # Where node 0 finds its private key (only node 0's machine needs the
//! # file; mode 0600).
//! key_file = "/etc/dsys/n0.key"
//! # Optional: where it serves HTTP, for services with an HTTP API
//! # (`dsys kv serve`); followers redirect clients to the leader's.
//! http = "10.0.0.1:8000"
//!
//! [[node]]
//! id = 1
//! addr = "10.0.0.2:7000"
//! data_dir = "/var/lib/dsys/n1"
//! public_key = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
//! key_file = "/etc/dsys/n1.key"
//!
//! # Optional: processes that talk to the cluster without being members
//! # (e.g. `dsys raft propose`). Ids follow the nodes' (n, n+1, …); the
//! # nodes reply to the address.
//! [[client]]
//! id = 2
//! addr = "10.0.0.9:7100"
//! public_key = "…"
//! key_file = "…"
//! ```
//!
//! Relative `data_dir` and `key_file` paths are relative to the cluster
//! file's directory (so a cluster directory can be moved whole).
//!
//! ```
//! use dsys_core::NodeId;
//! use dsys_net::{ClusterFile, NodeKey};
//!
//! let (k0, k1) = (NodeKey::generate(), NodeKey::generate());
//! let file = ClusterFile::parse(&format!(r#"
//!     name = "demo"
//!     secret = "a secret of sixteen bytes or more"
//!     [[node]]
//!     id = 0
//!     addr = "127.0.0.1:7000"
//!     data_dir = "data/n0"
//!     public_key = "{}"
//!     [[node]]
//!     id = 1
//!     addr = "127.0.0.1:7001"
//!     data_dir = "data/n1"
//!     public_key = "{}"
//! "#, k0.public(), k1.public())).unwrap();
//! // Node 1's process, holding node 1's key (usually read from `key_file`).
//! let config = file.to_tcp_config_with_key(NodeId(1), k1).unwrap();
//! assert_eq!(config.listen, "127.0.0.1:7001".parse().unwrap());
//! assert_eq!(config.peers[&NodeId(0)].key, k0.public());
//! ```
//!
//! Loading checks everything and says what to fix: unknown keys (typos),
//! both or neither of `secret`/`secret_env`, an unset, empty or short
//! (under 16 bytes) secret, duplicate ids, addresses or public keys, ids
//! that are not `0..n`, unparsable addresses (a host name is resolved
//! once, at load) and keys.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use dsys_core::NodeId;
use serde::Deserialize;

use crate::keys::{NodeKey, PublicKey};
use crate::tcp::{Peer, TcpConfig};
use crate::udp::UdpConfig;
use crate::{Error, Result};

/// A loaded, checked cluster file.
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterFile {
    /// The cluster's name.
    pub name: String,
    /// The secret (from the file or from the environment variable it names).
    pub secret: Vec<u8>,
    /// The nodes, sorted by id (ids are `0..n`).
    pub nodes: Vec<NodeEntry>,
    /// The clients, sorted by id (ids are `n..n+c`).
    pub clients: Vec<ClientEntry>,
}

impl fmt::Debug for ClusterFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterFile")
            .field("name", &self.name)
            .field(
                "secret",
                &format_args!("<{} bytes, redacted>", self.secret.len()),
            )
            .field("nodes", &self.nodes)
            .field("clients", &self.clients)
            .finish()
    }
}

/// One `[[node]]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeEntry {
    /// The node's id.
    pub id: NodeId,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Where it keeps durable state.
    pub data_dir: PathBuf,
    /// Its public key.
    pub public_key: PublicKey,
    /// Where its private key is (needed on its own machine only).
    pub key_file: Option<PathBuf>,
    /// Where it serves HTTP, for services that have an HTTP API (`dsys kv
    /// serve`): clients call it there, and followers redirect to it.
    pub http: Option<SocketAddr>,
}

/// One `[[client]]` entry: a process that is not a member of the cluster
/// but exchanges messages with it (and is authenticated like a node).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientEntry {
    /// The client's id (after every node's).
    pub id: NodeId,
    /// The address it listens on for answers.
    pub addr: SocketAddr,
    /// Its public key.
    pub public_key: PublicKey,
    /// Where its private key is (needed on its own machine only).
    pub key_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: String,
    secret: Option<String>,
    secret_env: Option<String>,
    #[serde(default)]
    node: Vec<RawNode>,
    #[serde(default)]
    client: Vec<RawClient>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    id: u32,
    addr: String,
    public_key: Option<String>,
    key_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    id: u32,
    addr: String,
    data_dir: PathBuf,
    public_key: Option<String>,
    key_file: Option<PathBuf>,
    http: Option<String>,
}

impl ClusterFile {
    /// Reads and checks the file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<ClusterFile> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::ClusterFile {
            path: path.display().to_string(),
            problem: format!("cannot read it: {e}"),
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        Self::parse_from(&text, &path.display().to_string(), base)
    }

    /// Parses and checks a cluster file's text (relative paths stay as
    /// they are: relative to the working directory).
    pub fn parse(text: &str) -> Result<ClusterFile> {
        Self::parse_from(text, "<string>", Path::new(""))
    }

    fn parse_from(text: &str, origin: &str, base: &Path) -> Result<ClusterFile> {
        let fail = |problem: String| Error::ClusterFile {
            path: origin.to_owned(),
            problem,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            fail(format!(
                "not a valid cluster file: {}",
                e.to_string().trim_end()
            ))
        })?;
        if raw.name.trim().is_empty() {
            return Err(fail("`name` is empty: give the cluster a name".into()));
        }
        let secret = match (raw.secret, raw.secret_env) {
            (Some(_), Some(_)) => {
                return Err(fail(
                    "both `secret` and `secret_env` are set: keep exactly one".into(),
                ))
            }
            (None, None) => {
                return Err(fail(
                    "no secret: set `secret_env = \"VAR\"` (an environment variable holding the secret) or `secret = \"...\"`".into(),
                ))
            }
            (Some(secret), None) => secret,
            (None, Some(var)) => match std::env::var(&var) {
                Ok(secret) => secret,
                Err(std::env::VarError::NotPresent) => {
                    return Err(fail(format!(
                        "`secret_env` names the environment variable {var}, which is not set: export {var}=<the cluster secret>"
                    )))
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(fail(format!(
                        "the environment variable {var} (named by `secret_env`) is not valid UTF-8"
                    )))
                }
            },
        };
        crate::keys::check_secret(secret.as_bytes()).map_err(fail)?;
        let mut owners: BTreeMap<PublicKey, u32> = BTreeMap::new();
        let mut public_key = |id: u32, what: &str, text: Option<String>| {
            let Some(text) = text else {
                return Err(fail(format!(
                    "{what} {id} has no `public_key`: make a key pair with `dsys cluster keygen n{id}.key` and copy the line it prints"
                )));
            };
            let key: PublicKey = text
                .parse()
                .map_err(|why| fail(format!("{what} {id}: bad `public_key`: {why}")))?;
            if let Some(other) = owners.insert(key, id) {
                return Err(fail(format!(
                    "{other} and {id} have the same `public_key`: each needs its own key pair"
                )));
            }
            Ok(key)
        };
        let path = |p: Option<PathBuf>| p.map(|p| base.join(p));
        if raw.node.is_empty() {
            return Err(fail(
                "no nodes: add a `[[node]]` entry (id, addr, data_dir) for each node".into(),
            ));
        }
        let mut nodes = Vec::with_capacity(raw.node.len());
        let mut ids = BTreeSet::new();
        let mut addrs = BTreeMap::new();
        for raw_node in raw.node {
            let id = NodeId(raw_node.id);
            if !ids.insert(id) {
                return Err(fail(format!(
                    "node id {} appears twice: every [[node]] needs its own id",
                    raw_node.id
                )));
            }
            let addr = resolve(&raw_node.addr).map_err(|why| {
                fail(format!(
                    "node {}: cannot use addr = \"{}\": {why}; write host:port, e.g. \"10.0.0.1:7000\" or \"[::1]:7000\"",
                    raw_node.id, raw_node.addr
                ))
            })?;
            if let Some(other) = addrs.insert(addr, raw_node.id) {
                return Err(fail(format!(
                    "nodes {other} and {} have the same address {addr}: each node needs its own port",
                    raw_node.id
                )));
            }
            let http = match &raw_node.http {
                None => None,
                Some(text) => {
                    let http = resolve(text).map_err(|why| {
                        fail(format!(
                            "node {}: cannot use http = \"{text}\": {why}; write host:port, e.g. \"10.0.0.1:8000\"",
                            raw_node.id
                        ))
                    })?;
                    if let Some(other) = addrs.insert(http, raw_node.id) {
                        return Err(fail(format!(
                            "node {}'s http address {http} is already node {other}'s: each listener needs its own port",
                            raw_node.id
                        )));
                    }
                    Some(http)
                }
            };
            nodes.push(NodeEntry {
                id,
                addr,
                data_dir: base.join(raw_node.data_dir),
                public_key: public_key(raw_node.id, "node", raw_node.public_key)?,
                key_file: path(raw_node.key_file),
                http,
            });
        }
        nodes.sort_by_key(|n| n.id);
        if let Some((i, node)) = nodes.iter().enumerate().find(|(i, n)| n.id.index() != *i) {
            return Err(fail(format!(
                "node ids must be 0..{} (the runtime numbers nodes from 0), but id {} is missing (found {})",
                nodes.len(),
                i,
                node.id.0
            )));
        }
        let mut clients = Vec::with_capacity(raw.client.len());
        for raw_client in raw.client {
            let addr = resolve(&raw_client.addr).map_err(|why| {
                fail(format!(
                    "client {}: cannot use addr = \"{}\": {why}; write host:port",
                    raw_client.id, raw_client.addr
                ))
            })?;
            if let Some(other) = addrs.insert(addr, raw_client.id) {
                return Err(fail(format!(
                    "{other} and client {} have the same address {addr}: each needs its own port",
                    raw_client.id
                )));
            }
            clients.push(ClientEntry {
                id: NodeId(raw_client.id),
                addr,
                public_key: public_key(raw_client.id, "client", raw_client.public_key)?,
                key_file: path(raw_client.key_file),
            });
        }
        clients.sort_by_key(|c| c.id);
        for (i, client) in clients.iter().enumerate() {
            let expected = nodes.len() + i;
            if client.id.index() != expected {
                return Err(fail(format!(
                    "client ids must follow the nodes' without gaps ({}..{}), but found {}",
                    nodes.len(),
                    nodes.len() + clients.len(),
                    client.id.0
                )));
            }
        }
        Ok(ClusterFile {
            name: raw.name,
            secret: secret.into_bytes(),
            clients,
            nodes,
        })
    }

    /// The entry of node `id`, if the file has it.
    pub fn node(&self, id: NodeId) -> Option<&NodeEntry> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The entry of client `id`, if the file has it.
    pub fn client(&self, id: NodeId) -> Option<&ClientEntry> {
        self.clients.iter().find(|c| c.id == id)
    }

    /// Every node's and client's address and key, by id.
    fn members(&self) -> impl Iterator<Item = (NodeId, Peer)> + '_ {
        let peer = |addr, key| Peer { addr, key };
        self.nodes
            .iter()
            .map(move |n| (n.id, peer(n.addr, n.public_key)))
            .chain(
                self.clients
                    .iter()
                    .map(move |c| (c.id, peer(c.addr, c.public_key))),
            )
    }

    fn entry(&self, id: NodeId) -> Result<&NodeEntry> {
        self.node(id).ok_or_else(|| {
            Error::InvalidConfig(format!(
                "node {id} is not in cluster `{}` (it has nodes n0..n{})",
                self.name,
                self.nodes.len().saturating_sub(1)
            ))
        })
    }

    /// The TCP configuration of node or client `id`, with its private key
    /// read from its `key_file`: listen on its address, every other node
    /// and client as a peer, defaults for the rest.
    pub fn to_tcp_config(&self, id: NodeId) -> Result<TcpConfig> {
        self.to_tcp_config_with_key(id, self.load_key(id)?)
    }

    /// [`ClusterFile::to_tcp_config`] with the private key given rather
    /// than read from the entry's `key_file`. Fails if `key` is not the key
    /// pair of the entry's `public_key`.
    pub fn to_tcp_config_with_key(&self, id: NodeId, key: NodeKey) -> Result<TcpConfig> {
        let listen = self.check_key(id, &key)?;
        let mut config = TcpConfig::new(self.name.clone(), self.secret.clone(), id, key, listen);
        config.peers = self.members().filter(|&(n, _)| n != id).collect();
        Ok(config)
    }

    /// The UDP configuration of node `id` (the nodes' addresses, as UDP
    /// ports), with its private key read from its `key_file`.
    pub fn to_udp_config(&self, id: NodeId) -> Result<UdpConfig> {
        self.to_udp_config_with_key(id, self.load_key(id)?)
    }

    /// [`ClusterFile::to_udp_config`] with the private key given.
    pub fn to_udp_config_with_key(&self, id: NodeId, key: NodeKey) -> Result<UdpConfig> {
        self.entry(id)?;
        let listen = self.check_key(id, &key)?;
        let mut config = UdpConfig::new(self.name.clone(), self.secret.clone(), id, key, listen);
        config.peers = self
            .members()
            .filter(|&(n, _)| n != id && self.node(n).is_some())
            .collect();
        Ok(config)
    }

    fn not_a_member(&self, id: NodeId) -> Error {
        Error::InvalidConfig(format!(
            "{id} is not in cluster `{}`: neither a node nor a client (nodes n0..n{}, {} client(s))",
            self.name,
            self.nodes.len().saturating_sub(1),
            self.clients.len()
        ))
    }

    /// The address, public key and key file of member `id`.
    fn identity(&self, id: NodeId) -> Result<(SocketAddr, PublicKey, Option<&PathBuf>)> {
        match (self.node(id), self.client(id)) {
            (Some(node), _) => Ok((node.addr, node.public_key, node.key_file.as_ref())),
            (None, Some(client)) => Ok((client.addr, client.public_key, client.key_file.as_ref())),
            (None, None) => Err(self.not_a_member(id)),
        }
    }

    /// Member `id`'s key pair, from its `key_file`.
    fn load_key(&self, id: NodeId) -> Result<NodeKey> {
        let Some(key_file) = self.identity(id)?.2 else {
            return Err(Error::InvalidConfig(format!(
                "{id} has no `key_file` in the cluster file: add `key_file = \"PATH\"` naming its private key (make one with `dsys cluster keygen PATH`)"
            )));
        };
        NodeKey::load(key_file)
    }

    /// Checks that `key` is member `id`'s; returns its address.
    fn check_key(&self, id: NodeId, key: &NodeKey) -> Result<SocketAddr> {
        let (addr, public_key, key_file) = self.identity(id)?;
        if key.public() == public_key {
            return Ok(addr);
        }
        let whose = match key_file {
            Some(path) => format!("the key in {}", path.display()),
            None => format!("{id} has no `key_file`, and the key given"),
        };
        Err(Error::InvalidConfig(format!(
            "{whose} is not {id}'s: its public key is {}, the cluster file says {public_key} (wrong file, or a stale cluster file)",
            key.public()
        )))
    }
}

/// An address literal, or a host name resolved now; refused when peers
/// could not dial it (port 0, or an unspecified address such as 0.0.0.0).
fn resolve(addr: &str) -> std::result::Result<SocketAddr, String> {
    let resolved = if let Ok(addr) = addr.parse() {
        addr
    } else if !addr.contains(':') {
        return Err("the port is missing".into());
    } else {
        match addr.to_socket_addrs() {
            Ok(mut addrs) => addrs
                .next()
                .ok_or_else(|| String::from("the host name resolves to no address"))?,
            Err(e) => {
                return Err(format!(
                    "not an address, and not a resolvable host name ({e})"
                ))
            }
        }
    };
    if resolved.port() == 0 {
        return Err("port 0 is not a port peers can dial (the OS would pick one at random)".into());
    }
    if resolved.ip().is_unspecified() {
        return Err(format!(
            "{} means \"every interface\" to a listener but is no address to dial: write the address peers reach it at",
            resolved.ip()
        ));
    }
    Ok(resolved)
}
