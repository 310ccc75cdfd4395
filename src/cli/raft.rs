//! `dsys raft propose`: a client of a running Raft cluster.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use rand::RngExt;

use crate::consensus::raft::service::{ClientEvent, ClientRequest, RaftClient};
use crate::core::runtime::{Cluster, RuntimeError};
use crate::net::{ClusterFile, TcpTransport};

#[derive(Debug, Subcommand)]
pub(crate) enum RaftCommand {
    /// Have VALUE appended to the replicated log of a running Raft cluster
    /// (started by `dsys node --algorithm raft` or `dsys cluster up`); prints
    /// the index it committed at. Uses the cluster file's first [[client]].
    Propose(ProposeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ProposeArgs {
    /// The cluster file.
    #[arg(long, value_name = "FILE")]
    cluster: PathBuf,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 10)]
    timeout_s: u64,
    /// The value to append.
    value: String,
}

pub(crate) fn raft(command: RaftCommand) -> anyhow::Result<ExitCode> {
    let RaftCommand::Propose(args) = command;
    let file = ClusterFile::load(&args.cluster)?;
    let Some(client) = file.clients.first().cloned() else {
        bail!(
            "{} has no [[client]] entry: add one with id = {} (the number of nodes) and addr = a free host:port the nodes can reach",
            args.cluster.display(),
            file.nodes.len()
        );
    };
    let transport = file.to_tcp_config(client.id)?;
    let timeout = Duration::from_secs(args.timeout_s);
    actix_rt::System::new().block_on(async move {
        let transport = Arc::new(TcpTransport::start(transport).with_context(|| {
            format!(
                "cannot listen on the client address {} (is another `dsys raft propose` running?)",
                client.addr
            )
        })?);
        // A fresh seed per run, as for any new process (the client's
        // session id is not drawn from it: the cluster assigns one).
        let seed = rand::rng().random();
        let attempts = (args.timeout_s * 2).max(1) as u32;
        let cluster = Cluster::builder(client.id.index() + 1)
            .local([client.id])
            .on_current_arbiter()
            .seed(seed)
            .transport(transport.clone())
            .start(move |_| RaftClient::<String, u64>::new(Duration::from_millis(500), attempts));
        let handle = cluster.node(client.id).clone();
        let mut events = handle
            .subscribe_from_start()
            .expect("the first subscription");
        handle.request(ClientRequest::Propose(args.value.clone()))?;
        let outcome = loop {
            match events.next_within(timeout).await {
                Some(Ok(event)) => break Some(event),
                Some(Err(RuntimeError::EventsMissed { .. })) => continue,
                _ => break None,
            }
        };
        cluster.stop();
        transport.shutdown();
        match outcome {
            Some(ClientEvent::Committed { index, output }) => {
                outln!(
                    "committed {:?} at index {index} (value #{output} of the log)",
                    args.value
                )?;
                Ok(ExitCode::SUCCESS)
            }
            Some(ClientEvent::Failed { reason }) => {
                eprintln!("not committed: {reason}");
                Ok(ExitCode::FAILURE)
            }
            Some(ClientEvent::SessionExpired { client }) => {
                eprintln!(
                    "session {client} expired before the answer came back: {:?} may or may \
                     not be committed; a new `dsys raft propose` opens a new session",
                    args.value
                );
                Ok(ExitCode::FAILURE)
            }
            None => {
                eprintln!(
                    "no answer within {timeout:?}: is the cluster running (`dsys cluster up`)?"
                );
                Ok(ExitCode::FAILURE)
            }
        }
    })
}
