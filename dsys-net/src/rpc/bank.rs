//! A bank served over RPC: the worked example of a [`Service`], with one
//! operation that is not idempotent (`Deposit`) and one that is
//! (`SetBalance`), and the `dsys sim rpc` scenario.
//!
//! | property | checker | source |
//! |---|---|---|
//! | at most once | [`at_most_once`] (invariant) | Birrell & Nelson 1984 §3; Coulouris §5.3.1 |
//! | every call completes or gives up | [`calls_finish`] | Coulouris §5.3.1 (retry, then report failure) |
//! | balances as if each request ran once | [`balances_as_if_once`] | Coulouris §5.3.1 (idempotent operations) |
//!
//! ```
//! use dsys_net::rpc::bank::{Bank, BankOp};
//! use dsys_net::rpc::Service;
//!
//! let mut bank = Bank::default();
//! bank.apply(&BankOp::Deposit { account: 1, amount: 10 });
//! bank.apply(&BankOp::Deposit { account: 1, amount: 10 }); // a retry: 20, not 10
//! assert_eq!(bank.balance(1), 20);
//! bank.apply(&BankOp::SetBalance { account: 1, balance: 5 });
//! bank.apply(&BankOp::SetBalance { account: 1, balance: 5 }); // a retry: harmless
//! assert_eq!(bank.balance(1), 5);
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use dsys_core::scenario::{
    run_scenario_with, Algorithm, Check, Outcome, Property, SettingInfo, SimOptions, Verdict,
};
use dsys_core::sim::Simulation;
use dsys_core::NodeId;
use serde::{Deserialize, Serialize};

use super::{
    at_most_once, calls_finish, ClientConfig, RetryPolicy, RpcEvent, RpcNode, Semantics, Service,
};

/// Accounts and their balances (a missing account holds 0).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Bank {
    balances: BTreeMap<u32, i64>,
}

impl Bank {
    /// The balance of `account`.
    pub fn balance(&self, account: u32) -> i64 {
        self.balances.get(&account).copied().unwrap_or(0)
    }

    /// Every account with a balance.
    pub fn balances(&self) -> &BTreeMap<u32, i64> {
        &self.balances
    }
}

/// The bank's operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BankOp {
    /// Adds `amount`: **not idempotent** (twice adds twice).
    Deposit {
        /// The account.
        account: u32,
        /// What to add.
        amount: i64,
    },
    /// Sets the balance: **idempotent** (twice is once).
    SetBalance {
        /// The account.
        account: u32,
        /// The new balance.
        balance: i64,
    },
}

impl Service for Bank {
    type Op = BankOp;
    /// The account's balance after the operation.
    type Reply = i64;

    fn apply(&mut self, op: &BankOp) -> i64 {
        match *op {
            BankOp::Deposit { account, amount } => {
                let balance = self.balances.entry(account).or_insert(0);
                *balance += amount;
                *balance
            }
            BankOp::SetBalance { account, balance } => {
                self.balances.insert(account, balance);
                balance
            }
        }
    }
}

/// A node factory: `n0` serves the bank under `semantics`, every other node
/// is a client with `config`.
pub fn cluster(
    semantics: Semantics,
    config: ClientConfig,
) -> impl FnMut(NodeId) -> RpcNode<Bank> + Clone + 'static {
    move |id| {
        if id == config.server {
            RpcNode::server(Bank::default(), semantics)
        } else {
            RpcNode::client(config)
        }
    }
}

/// The balances the server would hold had every request it executed run
/// exactly once, in the order of first execution (replayed from its
/// [`RpcEvent::Executed`] events, duplicates skipped).
pub fn balances_once(sim: &Simulation<RpcNode<Bank>>, server: NodeId) -> Bank {
    let mut seen = BTreeSet::new();
    let mut bank = Bank::default();
    for emitted in sim.events(server) {
        if let RpcEvent::Executed { client, id, op } = &emitted.event
            && seen.insert((*client, *id))
        {
            bank.apply(op);
        }
    }
    bank
}

/// The server's balances equal [`balances_once`]: no deposit was counted
/// twice. Holds under at-most-once, and for idempotent operations under
/// either semantics; fails under at-least-once when a deposit is retried and
/// re-executed. Meaningless across a server restart (the bank is in memory).
pub fn balances_as_if_once(sim: &Simulation<RpcNode<Bank>>) -> Result<(), String> {
    for (id, node) in sim.nodes() {
        if let Some(server) = node.as_server() {
            let expected = balances_once(sim, id);
            if server.service() != &expected {
                return Err(format!(
                    "{id} holds {:?}, but each request executed once gives {:?}",
                    server.service().balances(),
                    expected.balances()
                ));
            }
        }
    }
    Ok(())
}

/// Deposits each client of the `dsys sim rpc` scenario makes.
pub const DEPOSITS_PER_CLIENT: u32 = 10;

/// `dsys sim rpc`: `n0` runs a bank with at-most-once semantics (8 replies
/// per client); every other node deposits 10 into its own account
/// [`DEPOSITS_PER_CLIENT`] times, one request every 10 ms from 10 ms.
///
/// Its settings choose the semantics and the client's retries:
/// `dsys sim rpc --loss 0.3 --set semantics=at-least-once` shows a retried
/// deposit counted twice; `--set tries=1` is *maybe* semantics, where calls
/// give up at the first lost message.
pub const ALGORITHM: Algorithm = Algorithm {
    name: "rpc",
    summary: "RPC with retries and at-most-once duplicate suppression: a bank over a lossy network",
    run: simulate,
    model: None,
    settings: &[
        SettingInfo {
            name: "semantics",
            default: "at-most-once",
            help: "at-most-once (the server keeps its replies and answers a retry from them) or \
                   at-least-once (it executes every request that arrives: a retried deposit \
                   counts twice)",
        },
        SettingInfo {
            name: "table-max",
            default: "8",
            help: "replies the at-most-once server keeps per client (1 or more)",
        },
        SettingInfo {
            name: "tries",
            default: "5",
            help: "tries per call, the first included (1 or more; 1 is maybe semantics)",
        },
        SettingInfo {
            name: "timeout-ms",
            default: "30",
            help: "the first try's timeout in ms (1 or more); each retry doubles it, up to 8 times",
        },
    ],
    defects: &[],
};

/// The semantics and client configuration `options`' settings choose.
fn configured(options: &SimOptions) -> dsys_core::Result<(Semantics, ClientConfig)> {
    let invalid = |why: String| Err(dsys_core::Error::InvalidConfig(why));
    let table_max: usize = ALGORITHM.setting(options, "table-max")?;
    let tries_max: u32 = ALGORITHM.setting(options, "tries")?;
    let timeout_ms: u64 = ALGORITHM.setting(options, "timeout-ms")?;
    if table_max == 0 || tries_max == 0 || timeout_ms == 0 {
        return invalid(format!(
            "--set table-max={table_max}, tries={tries_max}, timeout-ms={timeout_ms}: each must be \
             1 or more"
        ));
    }
    let semantics = match ALGORITHM.setting::<String>(options, "semantics")?.as_str() {
        "at-most-once" => Semantics::AtMostOnce { table_max },
        "at-least-once" => Semantics::AtLeastOnce,
        other => {
            return invalid(format!(
                "--set semantics={other}: rpc runs at-most-once or at-least-once"
            ))
        }
    };
    let timeout = Duration::from_millis(timeout_ms);
    let config = ClientConfig {
        retry: RetryPolicy {
            timeout,
            tries_max,
            backoff_factor: 2,
            timeout_max: timeout.saturating_mul(8),
        },
        ..ClientConfig::default()
    };
    Ok((semantics, config))
}

fn simulate(options: &SimOptions) -> dsys_core::Result<Outcome> {
    let (semantics, config) = configured(options)?;
    let nodes = options.nodes;
    run_scenario_with(
        ALGORITHM.name,
        options,
        cluster(semantics, config),
        &[
            Property {
                name: "at most once",
                check: Check::invariant(at_most_once),
            },
            Property {
                name: "every call completes or gives up",
                check: Check::at_end(|sim: &Simulation<RpcNode<Bank>>, _| {
                    let busy = sim
                        .nodes()
                        .filter_map(|(id, n)| n.as_client().map(|c| (id, c)))
                        .find(|(_, c)| !c.is_idle());
                    match busy {
                        Some((id, _)) => Verdict::Skipped(format!(
                            "{id} still has calls in flight at the end: run longer (--until-ms)"
                        )),
                        None => calls_finish(sim).into(),
                    }
                }),
            },
            Property {
                name: "balances as if each request ran once",
                check: Check::at_end(|sim, options| {
                    if !options.crashes.is_empty() || !options.restarts.is_empty() {
                        return Verdict::Skipped(
                            "a crashed server loses its in-memory bank".into(),
                        );
                    }
                    balances_as_if_once(sim).into()
                }),
            },
        ],
        move |sim| {
            for client in 1..nodes as u32 {
                for k in 0..DEPOSITS_PER_CLIENT {
                    sim.request_at(
                        Duration::from_millis(10 * u64::from(k + 1)),
                        NodeId(client),
                        BankOp::Deposit {
                            account: client,
                            amount: 10,
                        },
                    )?;
                }
            }
            Ok(())
        },
    )
}
