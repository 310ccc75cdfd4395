//! RPC semantics on a bank. A server (n0) holds accounts; two clients (n1,
//! n2) each make 10 calls on their own account, over links that lose 30 % of
//! messages and duplicate 20 %. Clients retry after a timeout (30 ms,
//! doubling, 5 tries) with the same request id, then give up. Three runs:
//!
//! 1. **at-least-once, `deposit(10)`**: the server executes every request
//!    that arrives, so a retry or a duplicated request deposits again — the
//!    balance ends above what the clients asked for;
//! 2. **at-most-once, `deposit(10)`**: the server keeps the last 8 replies
//!    per client and answers a request it has seen from that table — every
//!    request executes at most once and the balance is right;
//! 3. **at-least-once, `set_balance(v)`**: re-executed too, but the
//!    operation is idempotent, so the balance is right anyway.
//!
//! For each it prints calls, retries, executions (and how many were repeats),
//! calls given up, and the final balance against the expected one (each
//! executed request counted once). Then the same over 300 seeds.
//!
//! Run it with `cargo run --example rpc_semantics` (add `-- SEED` to try
//! another seed: the same seed prints the same thing).

use std::time::Duration;

use dsys::core::sim::{LinkConfig, Simulation};
use dsys::core::NodeId;
use dsys::net::rpc::bank::{self, Bank, BankOp};
use dsys::net::rpc::{at_most_once, calls_finish, ClientConfig, RpcNode, Semantics};

const CLIENTS: u32 = 2;
const CALLS: u32 = 10;

#[derive(Clone, Copy)]
struct Setup {
    name: &'static str,
    semantics: Semantics,
    op: fn(u32, u32) -> BankOp,
    idempotent: bool,
}

fn deposit(account: u32, _: u32) -> BankOp {
    BankOp::Deposit {
        account,
        amount: 10,
    }
}

fn set_balance(account: u32, k: u32) -> BankOp {
    BankOp::SetBalance {
        account,
        balance: 10 * i64::from(k + 1),
    }
}

fn run(seed: u64, setup: Setup) -> anyhow::Result<Simulation<RpcNode<Bank>>> {
    let nodes = CLIENTS as usize + 1;
    let mut sim = Simulation::new(
        nodes,
        seed,
        bank::cluster(setup.semantics, ClientConfig::default()),
    );
    sim.set_all_links(LinkConfig::default().with_loss(0.3).with_duplicate(0.2))?;
    for client in 1..=CLIENTS {
        for k in 0..CALLS {
            let at = Duration::from_millis(10 * u64::from(k + 1));
            sim.request_at(at, NodeId(client), (setup.op)(client, k))?;
        }
    }
    sim.run_until(Duration::from_secs(10))?;
    calls_finish(&sim).map_err(anyhow::Error::msg)?;
    Ok(sim)
}

fn main() -> anyhow::Result<()> {
    let seed = std::env::args()
        .nth(1)
        .map(|s| s.parse::<u64>())
        .transpose()?
        .unwrap_or(1);
    let setups = [
        Setup {
            name: "at-least-once, deposit(10)",
            semantics: Semantics::AtLeastOnce,
            op: deposit,
            idempotent: false,
        },
        Setup {
            name: "at-most-once (8 per client), deposit(10)",
            semantics: Semantics::AtMostOnce { table_max: 8 },
            op: deposit,
            idempotent: false,
        },
        Setup {
            name: "at-least-once, set_balance(v)",
            semantics: Semantics::AtLeastOnce,
            op: set_balance,
            idempotent: true,
        },
    ];

    println!(
        "seed {seed}: {CLIENTS} clients x {CALLS} calls, loss 0.3, duplication 0.2, \
         timeout 30 ms doubling, 5 tries\n"
    );
    for setup in setups {
        let sim = run(seed, setup)?;
        let server = sim.node(NodeId(0)).and_then(RpcNode::as_server);
        let server = server.ok_or_else(|| anyhow::anyhow!("n0 is not the server"))?;
        let expected = bank::balances_once(&sim, NodeId(0));
        println!("{}", setup.name);
        println!(
            "  {:<6} {:>5} {:>7} {:>9} {:>10} {:>7} {:>10} {:>8} {:>8}",
            "client",
            "calls",
            "retries",
            "completed",
            "executions",
            "repeats",
            "given up",
            "balance",
            "expected"
        );
        for client in 1..=CLIENTS {
            let stats = sim
                .node(NodeId(client))
                .and_then(RpcNode::as_client)
                .map(|c| c.stats())
                .unwrap_or_default();
            let runs: Vec<u32> = server
                .executions()
                .iter()
                .filter(|((from, _), _)| *from == NodeId(client))
                .map(|(_, &times)| times)
                .collect();
            let executions: u32 = runs.iter().sum();
            let repeats = executions - runs.len() as u32;
            let balance = server.service().balance(client);
            let want = expected.balance(client);
            println!(
                "  n{client:<5} {:>5} {:>7} {:>9} {:>10} {:>7} {:>10} {:>8} {:>8}{}",
                stats.calls,
                stats.retries,
                stats.completed,
                executions,
                repeats,
                stats.gave_up,
                balance,
                want,
                if balance == want { "" } else { "   WRONG" }
            );
        }
        println!(
            "  server: {} requests received, {} answered from the table, {} evictions",
            server.stats().requests,
            server.stats().answered_from_cache,
            server.stats().evictions
        );
        match at_most_once(sim.states()) {
            Ok(()) => println!("  at most once: holds\n"),
            Err(why) if setup.idempotent => {
                println!("  at most once: violated ({why}), harmless: set_balance is idempotent\n")
            }
            Err(why) => println!("  at most once: VIOLATED ({why})\n"),
        }
    }

    println!("the same over seeds 0..300:");
    for setup in setups {
        let (mut repeated, mut wrong) = (0, 0);
        for seed in 0..300 {
            let sim = run(seed, setup)?;
            repeated += u32::from(at_most_once(sim.states()).is_err());
            wrong += u32::from(bank::balances_as_if_once(&sim).is_err());
        }
        println!(
            "  {:<42} some request executed twice: {repeated:>3} seeds; wrong balance: {wrong:>3} seeds",
            setup.name
        );
    }
    Ok(())
}
