//! Clients in the simulator: front ends that call a replicated store while
//! the simulation injects faults, and record what they saw.
//!
//! [`drive`] runs any [`Replica`] backend's simulation with a few clients
//! making random calls on a few keys. Each client makes one call at a
//! time; a call that gets no answer within [`Workload::patience`] is sent
//! again (same id) to the next replica, and after [`Workload::tries_max`]
//! sends it is abandoned: a write stays *open* in the history (it may
//! still take effect), and the client continues under a new client id, as
//! Jepsen's processes do. Faults (loss, partitions, crashes) are the
//! simulation's: set them on the [`Simulation`] before calling [`drive`].

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use dsys_core::rand::{RngExt, SeedableRng};
use dsys_core::sim::Simulation;
use dsys_core::{NodeId, NodeRng};

use crate::consistency::history::{History, OpId, Recorder};
use crate::consistency::models::{KvOp, KvRet};

use super::{Answer, Call, FrontEnd, Read, Replica, Step};

/// What the clients do.
#[derive(Clone, Debug)]
pub struct Workload {
    /// How many clients call at once.
    pub clients: usize,
    /// How many keys they share (`k0`, `k1`, …).
    pub keys: usize,
    /// Clients start calls during this long.
    pub duration: Duration,
    /// Then the simulation runs this much longer for calls in flight to
    /// finish.
    pub settle: Duration,
    /// Percent of calls that are gets (the rest: put, append, cas, delete).
    pub reads_percent: u32,
    /// How gets are read: [`Read::Local`] sends each client's gets to "its"
    /// replica (client id modulo the replica count).
    pub read: Read,
    /// Whether front ends keep their session token for local reads. Off,
    /// a client may read from a copy older than one it read before: not
    /// even sequentially consistent (only to show what the token does).
    pub session_tokens: bool,
    /// The one-way delay between a front end and a replica, drawn
    /// uniformly from this range for each request and each answer (so the
    /// first answer is not always the first replica's).
    pub client_latency: (Duration, Duration),
    /// When not empty, client slot `i` talks only to the replicas of
    /// `sides[i % sides.len()]`: clients on each side of a partition, who
    /// can reach only their side's replicas.
    pub sides: Vec<Vec<NodeId>>,
    /// Chance, per idle client per millisecond, of starting a call.
    pub call_chance: f64,
    /// How long a client waits for an answer before sending again.
    pub patience: Duration,
    /// How long a client waits after a redirect before following it.
    pub redirect_delay: Duration,
    /// Sends of one call before the client gives it up.
    pub tries_max: u32,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            clients: 4,
            keys: 2,
            duration: Duration::from_millis(2_500),
            settle: Duration::from_millis(1_500),
            reads_percent: 40,
            read: Read::Linearizable,
            session_tokens: true,
            client_latency: (Duration::from_millis(1), Duration::from_millis(5)),
            sides: Vec::new(),
            call_chance: 0.2,
            patience: Duration::from_millis(150),
            redirect_delay: Duration::from_millis(10),
            tries_max: 12,
        }
    }
}

/// How the calls ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Calls made.
    pub calls: u64,
    /// Calls answered.
    pub ok: u64,
    /// Gets given up (certainly without effect).
    pub failed: u64,
    /// Writes given up or unanswered at the end: they may or may not have
    /// taken effect.
    pub indeterminate: u64,
    /// Sends beyond each call's first (timeouts and redirects).
    pub resends: u64,
}

/// What the clients saw.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Every call, as the checkers take it.
    pub history: History<KvOp, KvRet>,
    /// How the calls ended.
    pub counts: Counts,
    /// The client slot each client id was (a slot's client gets a new id
    /// when it gives a call up).
    pub slots: BTreeMap<u64, usize>,
}

/// One client slot: a front end and its call in progress.
struct Client {
    front: FrontEnd,
    op: Option<OpId>,
    /// When to send the call again if no answer comes.
    resend_at: Duration,
    /// A redirect to follow at this time.
    redirect: Option<(Duration, NodeId, Call)>,
    sends: u32,
}

fn nanos(t: Duration) -> u64 {
    u64::try_from(t.as_nanos()).unwrap_or(u64::MAX)
}

/// A random call on keys `k0`…`k{keys - 1}` with values `a`, `b`, `c`:
/// a get with probability `reads_percent`, else a put (40% of writes), an
/// append (20%), a compare-and-set (30%) or a delete (10%). The mix of
/// the simulated clients, the Jepsen-style test and the benchmark.
pub fn random_op(rng: &mut NodeRng, keys: usize, reads_percent: u32) -> KvOp {
    let key = format!("k{}", rng.random_range(0..keys.max(1)));
    let value = |rng: &mut NodeRng| ["a", "b", "c"][rng.random_range(0..3)].to_string();
    if rng.random_range(0..100) < reads_percent {
        return KvOp::Get { key };
    }
    match rng.random_range(0..10) {
        0..=3 => KvOp::Put {
            key,
            value: value(rng),
        },
        4..=5 => KvOp::Append {
            key,
            value: value(rng),
        },
        6..=8 => KvOp::Cas {
            key,
            expect: value(rng),
            new: value(rng),
        },
        _ => KvOp::Delete { key },
    }
}

/// Runs `sim` with `workload`'s clients (their choices drawn from `seed`)
/// until `duration + settle`, and returns their history.
///
/// ```
/// use dsys_core::sim::Simulation;
/// use dsys_replication::consistency::check_linearizable;
/// use dsys_replication::consistency::models::Kv;
/// use dsys_replication::consistency::report::Budget;
/// use dsys_replication::kv::simulate::{drive, Workload};
/// use dsys_replication::primary_backup::{PrimaryBackup, PrimaryBackupConfig};
///
/// let mut sim = Simulation::new(3, 7, |_| PrimaryBackup::new(PrimaryBackupConfig::default()));
/// let outcome = drive(&mut sim, &Workload::default(), 7).unwrap();
/// assert!(outcome.counts.ok > 20);
/// let report = check_linearizable(&Kv, &outcome.history, Budget::default());
/// assert!(report.holds(), "{report}");
/// ```
pub fn drive<R: Replica>(
    sim: &mut Simulation<R>,
    workload: &Workload,
    seed: u64,
) -> crate::Result<Outcome> {
    let mut rng = NodeRng::seed_from_u64(seed ^ 0x6b76_636c_6965_6e74);
    let replicas: Vec<NodeId> = sim.ids().collect();
    let mut recorder: Recorder<KvOp, KvRet> = Recorder::new();
    let mut counts = Counts::default();
    let mut next_client = 0u64;
    let mut slots = BTreeMap::new();
    let mut new_client = |next: &mut u64, slot: usize| {
        let reachable = match workload.sides.len() {
            0 => replicas.clone(),
            sides => workload.sides[slot % sides].clone(),
        };
        let front = FrontEnd::new(*next, reachable);
        slots.insert(*next, slot);
        *next += 1;
        Client {
            front,
            op: None,
            resend_at: Duration::ZERO,
            redirect: None,
            sends: 0,
        }
    };
    let mut clients: Vec<Client> = (0..workload.clients)
        .map(|slot| new_client(&mut next_client, slot))
        .collect();
    let mut seen = vec![0usize; replicas.len()];
    let mut in_flight: Vec<(Duration, Answer)> = Vec::new();
    let (low, high) = workload.client_latency;
    let delay = |rng: &mut NodeRng| {
        let (low, high) = (nanos(low), nanos(high).max(nanos(low)));
        Duration::from_nanos(rng.random_range(low..=high))
    };
    let end = workload.duration + workload.settle;
    let tick = Duration::from_millis(1);

    while sim.now() < end {
        let now = sim.now();
        let mut sends: Vec<(NodeId, Call)> = Vec::new();
        for (slot, client) in clients.iter_mut().enumerate() {
            if let Some(op) = client.op {
                let redirect_due = client.redirect.as_ref().is_some_and(|r| r.0 <= now);
                if !redirect_due && client.resend_at > now {
                    continue;
                }
                if client.sends >= workload.tries_max {
                    // Give up: a get had no effect; a write may have.
                    let call = client.front.abandon().expect("a call is in progress");
                    if call.op.is_read() {
                        recorder.fail(op, nanos(now)).map_err(record_error)?;
                        counts.failed += 1;
                    } else {
                        counts.indeterminate += 1;
                    }
                    *client = new_client(&mut next_client, slot);
                    continue;
                }
                let (to, call) = match client.redirect.take() {
                    Some((_, to, call)) if redirect_due => (to, call),
                    _ => client.front.on_timeout().expect("a call is in progress"),
                };
                client.sends += 1;
                counts.resends += 1;
                client.resend_at = now + workload.patience;
                sends.push((to, call));
                continue;
            }
            if now >= workload.duration || !rng.random_bool(workload.call_chance) {
                continue;
            }
            let op = random_op(&mut rng, workload.keys, workload.reads_percent);
            let started = match workload.read {
                Read::Local { .. } if op.is_read() => {
                    if !workload.session_tokens {
                        client.front.forget_token();
                    }
                    let reachable = client.front.replicas();
                    let near = reachable[(client.front.client() as usize) % reachable.len()];
                    client.front.request_to(near, op.clone(), workload.read)
                }
                read => client.front.request(op.clone(), read),
            };
            let (to, call) = started.expect("an idle front end takes a call");
            client.op = Some(
                recorder
                    .invoke(client.front.client(), nanos(now), op)
                    .map_err(record_error)?,
            );
            client.sends = 1;
            client.resend_at = now + workload.patience;
            counts.calls += 1;
            sends.push((to, call));
        }
        for (to, call) in sends {
            let arrives = now + delay(&mut rng);
            sim.request_at(arrives, to, R::call(call))?;
        }

        sim.run_until(now + tick)?;

        // Answers emitted since the last look travel back to the front ends.
        for (i, &replica) in replicas.iter().enumerate() {
            let events = sim.events(replica);
            for emitted in &events[seen[i]..] {
                if let Some(answer) = R::answer(&emitted.event) {
                    in_flight.push((emitted.time + delay(&mut rng), answer));
                }
            }
            seen[i] = events.len();
        }
        // Those that have arrived, in order of arrival.
        in_flight.sort_by_key(|(arrives, _)| std::cmp::Reverse(*arrives));
        let by_client: HashMap<u64, usize> = clients
            .iter()
            .enumerate()
            .map(|(slot, client)| (client.front.client(), slot))
            .collect();
        while in_flight
            .last()
            .is_some_and(|(arrives, _)| *arrives <= sim.now())
        {
            let (arrived, answer) = in_flight.pop().expect("checked above");
            let Some(&slot) = by_client.get(&answer.id().client) else {
                continue; // a client given up on
            };
            let client = &mut clients[slot];
            match client.front.on_answer(&answer) {
                Step::Done(ret) => {
                    let op = client.op.take().expect("an answered call was recorded");
                    recorder
                        .complete(op, nanos(arrived), ret)
                        .map_err(record_error)?;
                    client.redirect = None;
                    counts.ok += 1;
                }
                Step::Resend { to, call } => {
                    client.redirect = Some((arrived + workload.redirect_delay, to, call));
                }
                Step::Ignore => {}
            }
        }
    }
    counts.indeterminate += clients
        .iter()
        .filter(|c| c.front.call().is_some_and(|call| !call.op.is_read()))
        .count() as u64;
    for client in &clients {
        if let (Some(op), Some(call)) = (client.op, client.front.call())
            && call.op.is_read()
        {
            recorder.fail(op, nanos(end)).map_err(record_error)?;
            counts.failed += 1;
        }
    }
    Ok(Outcome {
        history: recorder.finish(),
        counts,
        slots,
    })
}

fn record_error(error: crate::consistency::history::RecordError) -> crate::Error {
    crate::Error::InvalidHistory(format!("the clients' history: {error}"))
}
