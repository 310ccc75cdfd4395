//! # Chapter 8 — consensus, Byzantine generals and FLP (lecture 8)
//!
//! Consensus is about making processes agree on something. In a
//! distributed system there is no shared clock and no shared memory, so
//! the processes must agree by messages alone, while some of them fail and
//! the network is slow. This chapter states the problem and its
//! properties, then runs the algorithms of lecture 8 in the simulator and
//! checks what the lecture says about each of them.
//!
//! | topic | code |
//! |---|---|
//! | the consensus problem: Termination, Agreement, Integrity (and Validity) | [`consensus::properties`](crate::consensus::properties) |
//! | Paxos (single decree) | [`consensus::paxos`](crate::consensus::paxos) |
//! | Multi-Paxos, a replicated log | [`consensus::multi_paxos`](crate::consensus::multi_paxos) |
//! | Raft | [`consensus::raft`](crate::consensus::raft), and [its own chapter](super::ch10_raft) |
//! | the FLP result, as a run | [`paxos::flp`](crate::consensus::paxos::flp) |
//! | Byzantine faults, injected into any node | [`Simulation::byzantine`](crate::core::sim::Simulation::byzantine), [`Strategy`](crate::core::sim::Strategy) |
//! | Byzantine generals, oral messages OM(m), N > 3f | [`consensus::byzantine_generals`](crate::consensus::byzantine_generals) |
//! | Dolev–Strong, signed messages, any f < N | [`consensus::dolev_strong`](crate::consensus::dolev_strong) |
//!
//! ## The consensus problem
//!
//! A set of processes p₁ … p_N must agree on a value from some set D. Each
//! process p_i proposes a value and, at some point, *decides* a value d_i.
//! The protocol must satisfy:
//!
//! | property | the lecture says | checked by |
//! |---|---|---|
//! | **Termination** | each p_i sets its d_i (each process finishes running the consensus algorithm) | [`termination`](crate::consensus::properties::termination): every correct process decides |
//! | **Agreement** | each correct p_i decides on the same d_i | [`agreement`](crate::consensus::properties::agreement): no two correct processes decide differently |
//! | **Integrity** | if correct p_i proposes value d_i, then p_i decides on d_i (a process sticks with what it proposed) | [`integrity`](crate::consensus::properties::integrity): a correct process decides at most once; [`validity`](crate::consensus::properties::validity): it decides a value that was proposed |
//!
//! The properties need to hold for the **correct** processes only, those
//! that are not faulty: a crashed process may decide nothing, a Byzantine
//! one anything. Read together with Agreement, the lecture's Integrity is
//! the textbook's (Coulouris et al. §15.5.2): *if the correct processes all
//! proposed the same value, then every correct process that decides
//! decides that value* — they cannot all keep their own proposals unless
//! those agree. dsys checks it in two parts, so that a failure says which
//! part broke: **Integrity**, a decision is made once and kept, and
//! **Validity**, the decided value is among those proposed. Given the one
//! value every correct process proposed, Validity is exactly the
//! textbook's sentence.
//!
//! The four checkers read a list of [`Decision`](crate::consensus::properties::Decision)s
//! — who decided what — and the set of correct processes, so every
//! algorithm of this chapter is judged by the same code. Here five Paxos
//! processes decide while n4 has crashed; n4 is not judged:
//!
//! ```
//! use std::time::Duration;
//! use dsys::consensus::paxos::simulation::{cluster, decisions};
//! use dsys::consensus::paxos::PaxosConfig;
//! use dsys::consensus::properties::{check_all, correct_nodes, validity};
//! use dsys::consensus::paxos::Paxos;
//! use dsys::consensus::stable::Stable;
//! use dsys::core::sim::Simulation;
//! use dsys::core::NodeId;
//!
//! // n0 proposes 100 and n1 proposes 101, at the same instant.
//! let mut sim = Simulation::new(5, 3, cluster(PaxosConfig::default(), vec![NodeId(0), NodeId(1)]));
//! sim.run_until(Duration::from_millis(2)).unwrap();
//! sim.crash(NodeId(4)).unwrap(); // before anything could be decided
//! sim.run_until(Duration::from_secs(1)).unwrap();
//!
//! let decided = decisions(&sim); // every decision, in the order made
//! let correct = correct_nodes(&sim, &[]); // up at the end, not Byzantine
//! assert!(!correct.contains(&NodeId(4)));
//! assert!(decided.iter().all(|d| d.node != NodeId(4)), "n4 never decided");
//! for (property, verdict) in check_all(&decided, &[100, 101], &correct) {
//!     assert_eq!(verdict, Ok(()), "{property}");
//! }
//!
//! // The lecture's Integrity: when every process proposes 7, 7 is decided.
//! let mut sim = Simulation::new(3, 3, |_| {
//!     Paxos::new(PaxosConfig::default(), Stable::default()).unwrap().proposing(7)
//! });
//! sim.run_until(Duration::from_secs(1)).unwrap();
//! let decided = decisions(&sim);
//! assert_eq!(decided.len(), 3);
//! assert_eq!(validity(&decided, &[7], &correct_nodes(&sim, &[])), Ok(()));
//! ```
//!
//! A checker that cannot fail proves nothing. A broken Paxos whose
//! proposers send their own value even when an acceptor reports one
//! already accepted (the rule at the heart of Paxos, below) lets two values
//! be chosen; on a network that loses, duplicates and reorders, different
//! processes then decide differently, and Agreement says who:
//!
//! ```
//! use std::time::Duration;
//! use dsys::consensus::paxos::simulation::{cluster, decisions};
//! use dsys::consensus::paxos::properties::OnlySingleChosen;
//! use dsys::consensus::paxos::{Defect, PaxosConfig};
//! use dsys::consensus::properties::{agreement, check_all, correct_nodes};
//! use dsys::core::sim::{Latency, LinkConfig, Ordering, Simulation};
//! use dsys::core::NodeId;
//!
//! let build = |defect| {
//!     let config = PaxosConfig { defect, ..PaxosConfig::default() };
//!     let everyone = vec![NodeId(0), NodeId(1), NodeId(2)]; // each proposes 100 + its id
//!     let mut sim = Simulation::new(3, 1, cluster(config, everyone));
//!     let faulty = LinkConfig::default()
//!         .with_loss(0.1)
//!         .with_duplicate(0.1)
//!         .with_ordering(Ordering::Reorder)
//!         .with_latency(Latency::uniform_ms(1, 20));
//!     sim.set_all_links(faulty).unwrap();
//!     sim
//! };
//! let judge = |mut sim: Simulation<_>| {
//!     sim.run_until(Duration::from_secs(1)).unwrap();
//!     (decisions(&sim), correct_nodes(&sim, &[]))
//! };
//!
//! let (decided, correct) = judge(build(None));
//! assert!(check_all(&decided, &[100, 101, 102], &correct).iter().all(|(_, v)| v.is_ok()));
//!
//! let (decided, correct) = judge(build(Some(Defect::IgnoresAcceptedValues)));
//! let why = agreement(&decided, &correct).unwrap_err();
//! assert_eq!(why, "Agreement: n2 decided 102 but n1 decided 101");
//!
//! // Paxos's own safety checker, run after every event, stops the same run
//! // at the event where a second value becomes chosen.
//! let mut sim = build(Some(Defect::IgnoresAcceptedValues));
//! let mut single = OnlySingleChosen::new();
//! sim.invariant("only a single value is chosen", move |nodes| single.check(nodes));
//! let why = sim.run_until(Duration::from_secs(1)).unwrap_err().to_string();
//! assert!(why.contains("two values chosen"), "{why}");
//! ```
//!
//! ## Synchronous and asynchronous systems
//!
//! - In a **synchronous system** there are known bounds: on how long a
//!   message takes, how long a step takes, and how far clocks drift. A
//!   process can then wait for a message for a bounded time and conclude
//!   that its sender has failed if it has not come.
//! - In an **asynchronous system** there are no bounds at all: messages
//!   take any time and processes run at any speed, so a slow process
//!   cannot be told from a crashed one. Deterministic consensus is then
//!   impossible if a single process can fail (FLP, below).
//! - A **partially synchronous** system has bounds, but nobody knows them,
//!   or they hold only eventually. This is what deployed systems assume.
//!
//! The simulator's network has no built-in promise: its default latency is
//! 1–10 ms, but each link can be given any latency, loss and ordering. What
//! separates the algorithms below is whether they *rely* on a bound. The
//! Byzantine generals' OM(m) and Dolev–Strong count synchronous rounds by
//! their clocks: a message later than its round counts as no message. Paxos,
//! Multi-Paxos and Raft never rely on timing for safety; they use timeouts
//! only to make progress. Make every message take 30 ms, and see both:
//!
//! ```
//! use std::time::Duration;
//! use dsys::consensus::byzantine_generals::properties::check_run;
//! use dsys::consensus::byzantine_generals::{General, GeneralsConfig, Order};
//! use dsys::consensus::paxos::properties::OnlySingleChosen;
//! use dsys::consensus::paxos::simulation::cluster;
//! use dsys::consensus::paxos::PaxosConfig;
//! use dsys::core::sim::{Latency, LinkConfig, Simulation};
//! use dsys::core::NodeId;
//!
//! let slow = LinkConfig::reliable(Latency::Fixed(Duration::from_millis(30)));
//!
//! // OM(1) with four loyal generals and rounds of 20 ms: the synchronous
//! // bound is broken. The loyal commander's "attack" arrives after round 1
//! // and counts as missing, so the lieutenants retreat.
//! let config = GeneralsConfig::new(Order::Attack, 1);
//! assert_eq!(config.round, Duration::from_millis(20));
//! let mut generals = Simulation::new(4, 1, move |_| General::new(config));
//! generals.set_all_links(slow).unwrap();
//! generals.run_until(Duration::from_millis(100)).unwrap();
//! assert!(generals.byzantine_nodes().is_empty(), "nobody lies");
//! assert_eq!(
//!     check_run(&generals).unwrap_err(),
//!     "IC2: Validity: the correct sender n0 sent Attack but n1 decided Retreat"
//! );
//!
//! // Paxos on the same links, with its safety checked after every event.
//! let paxos = |attempt_timeout_max| {
//!     let config = PaxosConfig { attempt_timeout_max, ..PaxosConfig::default() };
//!     let mut sim = Simulation::new(4, 1, cluster(config, vec![NodeId(0), NodeId(1)]));
//!     sim.set_all_links(slow).unwrap();
//!     let mut single = OnlySingleChosen::new();
//!     sim.invariant("only a single value is chosen", move |nodes| single.check(nodes));
//!     sim.run_until(Duration::from_secs(10)).unwrap(); // no violation, ever
//!     sim
//! };
//! // A proposer that always gives up on a ballot after 60 ms, the round
//! // trip, never completes one: safe, but no decision in 10 s.
//! let impatient = paxos(Duration::from_millis(60));
//! assert!(impatient.nodes().all(|(_, n)| n.decided().is_none()));
//! // Let the timeout double after each attempt that timed out (the
//! // default, up to 2 s) and it soon waits longer than a round trip.
//! let patient = paxos(Duration::from_secs(2));
//! let value = patient.node(NodeId(0)).unwrap().decided().copied();
//! assert!(value == Some(100) || value == Some(101));
//! assert!(patient.nodes().all(|(_, n)| n.decided().copied() == value));
//! ```
//!
//! Broken timing breaks the synchronous algorithm's *safety* (IC2 fails
//! with every general loyal); the asynchronous one stays safe. Paxos's
//! *termination* does rest on timing — on round trips shorter than its
//! attempt timeout for long enough — which is what partial synchrony
//! promises; FLP says that some such assumption cannot be done without.
//! Since the bound is not known in advance, dsys's Paxos doubles its
//! attempt timeout after each ballot that timed out (up to
//! `attempt_timeout_max`): it then decides on any links whose round trip
//! is below that maximum.
//!
//! ## Paxos
//!
//! Paxos (Lamport, *Paxos Made Simple*) decides one value among those
//! proposed, with crash-recovery failures and a network that loses,
//! duplicates, delays and reorders. Every process is *proposer*, *acceptor*
//! and *learner*; proposals carry ballots (a round and the proposer's id),
//! so no two proposers use the same one.
//!
//! 1. **Prepare.** A proposer sends Prepare(b) to every acceptor.
//! 2. **Promise.** An acceptor that has promised nothing higher promises
//!    to ignore ballots below b, stores the promise, and answers with the
//!    highest-numbered proposal it has accepted, if any.
//! 3. **Accept.** With promises from a majority, the proposer sends
//!    Accept(b, v), where v is the value of the highest-numbered proposal
//!    among the promises — or its own value if none accepted anything. If
//!    a value may already be chosen, every majority contains an acceptor
//!    that knows it, so a later ballot proposes it again.
//! 4. **Accepted.** An acceptor that has promised nothing above b accepts,
//!    stores (b, v), and answers.
//! 5. **Chosen.** A value accepted by a majority in one ballot is chosen;
//!    the proposer that sees the majority decides and tells the learners.
//!
//! One uncontended ballot costs n Prepare, n Promise, n Accept, n Accepted
//! (a proposer sends to itself like any acceptor) and n − 1 Chosen:
//! **5n − 1 messages**. [`message_counts`](crate::consensus::paxos::simulation::message_counts)
//! puts each measured count beside its formula:
//!
//! ```
//! use std::time::Duration;
//! use dsys::consensus::paxos::simulation::{cluster, message_counts, phases};
//! use dsys::consensus::paxos::PaxosConfig;
//! use dsys::core::sim::Simulation;
//! use dsys::core::NodeId;
//!
//! for n in [3, 5, 7] {
//!     // Only n0 proposes (100), on the default quiet network.
//!     let mut sim = Simulation::new(n, 1, cluster(PaxosConfig::default(), vec![NodeId(0)]));
//!     sim.run_until(Duration::from_secs(1)).unwrap();
//!     assert!(sim.nodes().all(|(_, p)| p.decided() == Some(&100)));
//!     assert_eq!(phases(&sim), (1, 1, 1), "one ballot, one phase 2, one winner");
//!     for (formula, measured, predicted) in message_counts(&sim) {
//!         assert_eq!(measured, predicted, "n = {n}: {formula}");
//!     }
//!     assert_eq!(sim.metrics().sent, 5 * n as u64 - 1);
//! }
//! ```
//!
//! Two proposers can preempt each other: each new Prepare makes the
//! acceptors reject the other's Accepts. Each preempted ballot costs up to
//! another 4n messages, and under a hostile schedule it can go on for ever
//! — the FLP section below shows it. `cargo run --example paxos` runs
//! dueling proposers on a lossy network, and `dsys sim paxos --nodes 5
//! --seed 1` prints the counts beside their formulas.
//!
//! ## Multi-Paxos, and Raft
//!
//! Real systems agree on a *sequence* of values: a replicated log of
//! commands, applied in order by every replica's copy of one deterministic
//! state machine. [Multi-Paxos](crate::consensus::multi_paxos) runs one
//! Paxos instance per log slot, with a stable leader (chosen with the help
//! of a [failure detector](crate::core::failure_detector)) that runs phase 1
//! once for all future slots and then only phase 2 per command: `2(n − 1)`
//! messages per slot, shared by every command batched into it.
//!
//! ```
//! use std::time::Duration;
//! use dsys::consensus::multi_paxos::simulation::{cluster, current_leader};
//! use dsys::consensus::multi_paxos::{MultiPaxosConfig, MultiPaxosRequest};
//! use dsys::core::sim::Simulation;
//! use dsys::core::NodeId;
//!
//! // One slot in flight at a time, so commands that arrive meanwhile are batched.
//! let config = MultiPaxosConfig { pipeline_max: 1, ..MultiPaxosConfig::default() };
//! let mut sim = Simulation::new(3, 2, cluster(config));
//! sim.run_until(Duration::from_millis(100)).unwrap();
//! assert_eq!(current_leader(&sim), Some(NodeId(0)), "the lowest id nobody suspects");
//! for id in 1..=10 {
//!     sim.request(NodeId(0), MultiPaxosRequest::Propose { id: id.into(), command: id }).unwrap();
//! }
//! sim.run_for(Duration::from_millis(100)).unwrap();
//! // Every replica applied 1 + 2 + … + 10 to its counter, in the same order.
//! assert!(sim.nodes().all(|(_, r)| r.state_machine().value == 55));
//! let sent = |kind: &str| sim.metrics().kind(kind).map_or(0, |k| k.sent);
//! let slots = sim.node(NodeId(0)).unwrap().log().len() as u64;
//! assert_eq!(slots, 2, "the first command alone, the other nine together");
//! assert_eq!((sent("Prepare"), sent("Promise")), (2, 2), "phase 1 once: n − 1 each");
//! let n = 3;
//! assert_eq!((sent("Accept"), sent("Accepted")), ((n - 1) * slots, (n - 1) * slots), "n − 1 each per slot");
//! ```
//!
//! Raft solves the same problem as Multi-Paxos, and was designed to be
//! easier to understand and to build. The parts correspond: a term is a
//! ballot, a leader election is phase 1 done once, and AppendEntries is
//! phase 2 for the next log entries — the same two message delays per
//! command. Where a new Multi-Paxos leader must learn and re-propose what
//! earlier leaders may have had accepted, Raft's up-to-date rule lets only
//! a candidate whose log already holds every committed entry win. Raft has
//! [its own chapter](super::ch10_raft); `dsys-consensus/tests/multi_paxos.rs`
//! runs one state machine on both and ends in the same state.
//!
//! ## The FLP result
//!
//! Fischer, Lynch and Paterson (1985): in an asynchronous system with
//! crash-stop failures, there is no deterministic consensus algorithm that
//! is guaranteed to terminate — even if only one process may crash.
//!
//! The proof speaks of **bivalent** configurations: states of the whole
//! system (every process and every message in flight) from which both
//! decisions are still reachable, depending on what happens next. A
//! configuration from which only one decision is reachable is
//! *univalent*. FLP show that some initial configuration is bivalent, and
//! that from any bivalent configuration an adversary that controls only the
//! *order* of events — never losing a message — can always reach another
//! bivalent one. Doing that for ever is a run that never decides. In that
//! run nobody crashes at all: the mere possibility of one crash is what
//! stops the algorithm from waiting for every process.
//!
//! [`Adversary`](crate::consensus::paxos::flp::Adversary) is such an
//! adversary for Paxos, as a simulator scheduler. It holds the current
//! leader's Accept messages and lets the rival's Prepare with a higher
//! ballot overtake them; the Accepts are rejected, the leader retries with a
//! higher ballot whose Prepare overtakes the rival's Accepts, and so on.
//! Each overtaking is a *bivalent choice*: delivering the Accepts first
//! would have chosen the leader's value. It stays within the model: it
//! loses nothing, fires no timer early, and holds no message longer than a
//! bound it is given (40 ms here), so every message arrives, and promptly.
//!
//! ```
//! use std::time::Duration;
//! use dsys::consensus::paxos::flp::Adversary;
//! use dsys::consensus::paxos::simulation::cluster;
//! use dsys::consensus::paxos::{Backoff, PaxosConfig};
//! use dsys::core::sim::Simulation;
//! use dsys::core::NodeId;
//!
//! let hold_max = Duration::from_millis(40);
//!
//! // Fixed back-off: a preempted proposer always waits 25 ms, less than the
//! // adversary may hold the Accepts.
//! let fixed = PaxosConfig { backoff: Backoff::Fixed(Duration::from_millis(25)), ..PaxosConfig::default() };
//! let mut sim = Simulation::new(3, 1, cluster(fixed, vec![NodeId(0), NodeId(1)]));
//! let adversary = Adversary::new(hold_max);
//! sim.set_scheduler(adversary.clone());
//! for _ in 0..2_000 {
//!     sim.step().unwrap();
//! }
//! assert!(sim.nodes().all(|(_, n)| n.decided().is_none()), "2,000 events, no decision");
//! assert!(adversary.choices().len() > 20, "a bivalent choice every round");
//! assert_eq!(sim.metrics().dropped, 0, "nothing lost");
//! assert!(adversary.longest_hold() <= hold_max, "nothing held too long");
//!
//! // Randomised back-off (the default, 5–60 ms): a rival that waits longer
//! // than 40 ms forces the adversary to deliver the Accepts.
//! for seed in 0..5 {
//!     let mut sim = Simulation::new(3, seed, cluster(PaxosConfig::default(), vec![NodeId(0), NodeId(1)]));
//!     let adversary = Adversary::new(hold_max);
//!     sim.set_scheduler(adversary.clone());
//!     let mut events = 0;
//!     while events < 2_000 && !sim.nodes().all(|(_, n)| n.decided().is_some()) {
//!         sim.step().unwrap();
//!         events += 1;
//!     }
//!     let value = sim.node(NodeId(0)).unwrap().decided().copied();
//!     assert!(value.is_some(), "seed {seed}: decided within 2,000 events");
//!     assert!(sim.nodes().all(|(_, n)| n.decided().copied() == value));
//!     assert_eq!(sim.metrics().dropped, 0);
//! }
//! ```
//!
//! What randomisation buys here is not an escape from FLP: an adversary
//! allowed to hold messages for ever still wins against any back-off. It
//! buys termination once message delays are bounded and the coin is not on
//! the adversary's side — the same partial synchrony that Raft's randomised
//! election timeouts rely on. The lecture's workarounds for FLP are all
//! here: **fault masking** (replicas, a majority that survives crashes),
//! **failure detectors** (Multi-Paxos picks its leader from one) and
//! **randomised behaviour** (Paxos's back-off, Raft's timeouts).
//!
//! `cargo run --example flp` prints the adversary's choices one by one, then
//! the randomised back-off deciding in every one of 100 seeds.
//!
//! ## Byzantine faults
//!
//! A **Byzantine fault** means that a process may be corrupt: it sends
//! wrong or malicious messages, different messages to different processes,
//! nothing at all, or old messages again. **Byzantine fault tolerance** is
//! being able to defend against such failures, which could otherwise stop
//! the system from working correctly.
//!
//! The simulator makes any node Byzantine without a new node type:
//! [`Simulation::byzantine`](crate::core::sim::Simulation::byzantine) puts a
//! [`Strategy`](crate::core::sim::Strategy) between the node's handlers and
//! the network. The handlers run the honest code; the strategy decides what
//! the network carries — [`silent`](crate::core::sim::Strategy::silent),
//! [`drop`](crate::core::sim::Strategy::drop),
//! [`delay`](crate::core::sim::Strategy::delay),
//! [`tamper`](crate::core::sim::Strategy::tamper) (the same lie to all),
//! [`equivocate`](crate::core::sim::Strategy::equivocate) (a different
//! message to each),
//! [`replay`](crate::core::sim::Strategy::replay), or
//! [`custom`](crate::core::sim::Strategy::custom). A Byzantine node cannot
//! change who the network says a message is from. The checkers skip the
//! nodes [`byzantine_nodes`](crate::core::sim::Simulation::byzantine_nodes)
//! names: a liar's state means nothing. From the command line:
//! `dsys sim byzantine-generals --nodes 4 --byzantine 0:equivocate`.
//!
//! ## The Byzantine generals
//!
//! The **Byzantine generals** problem is the consensus variant where only
//! one process, the **commander**, proposes a value (attack or retreat),
//! and the other generals, the lieutenants, must act on it though some
//! generals — the commander too — may be traitors:
//!
//! - **Agreement (IC1):** all correct (loyal) lieutenants agree on the same
//!   value;
//! - **Integrity (IC2):** if the commander is correct, the loyal
//!   lieutenants agree on its value.
//!
//! Lamport, Shostak and Pease's **oral messages** algorithm OM(m), in a
//! synchronous system: the commander sends its order to every lieutenant;
//! with m > 0 each lieutenant then acts as commander of OM(m − 1) and tells
//! the others what it received; each obeys the majority of what it heard
//! (retreat when missing, or tied). Messages are private — a traitor can
//! tell each general something different — but the receiver knows who sent
//! each one, and a missing message is noticed at the end of its round. OM(m)
//! sends (n − 1) + (n − 1)(n − 2) + … + (n − 1)⋯(n − m − 1) messages
//! ([`message_count`](crate::consensus::byzantine_generals::message_count)).
//! With N = 4 generals and f = 1 traitor, OM(1) holds whoever the traitor
//! is and whatever it says:
//!
//! ```
//! use std::time::Duration;
//! use dsys::consensus::byzantine_generals::properties::check_run;
//! use dsys::consensus::byzantine_generals::simulation::{random_traitor, run};
//! use dsys::consensus::byzantine_generals::{message_count, GeneralsConfig, Msg, Order};
//! use dsys::core::sim::Strategy;
//! use dsys::core::NodeId;
//!
//! let config = GeneralsConfig::new(Order::Attack, 1); // commander n0, OM(1)
//!
//! // All loyal: everyone attacks, in 3 + 3·2 messages.
//! let sim = run(4, 1, config, Vec::new()).unwrap();
//! assert_eq!(check_run(&sim), Ok(()));
//! assert_eq!(sim.metrics().sent, message_count(4, 1));
//! assert_eq!(message_count(4, 1), 9);
//!
//! // One traitor — the commander or a lieutenant — and five ways to lie.
//! let lie = |i: usize| -> Strategy<Msg> {
//!     match i {
//!         0 => Strategy::silent(),
//!         1 => Strategy::tamper(|m: &Msg| m.with_order(m.order().flipped())),
//!         2 => Strategy::equivocate(|to, m: &Msg| {
//!             m.with_order(if to.0 % 2 == 1 { Order::Attack } else { Order::Retreat })
//!         }),
//!         3 => Strategy::delay(Duration::from_millis(15), Duration::from_millis(40)),
//!         _ => random_traitor(),
//!     }
//! };
//! for traitor in 0..4 {
//!     for i in 0..5 {
//!         let sim = run(4, i as u64, config, vec![(NodeId(traitor), lie(i))]).unwrap();
//!         assert_eq!(sim.byzantine_nodes(), vec![NodeId(traitor)]);
//!         assert_eq!(check_run(&sim), Ok(()), "traitor n{traitor}, lie {i}"); // IC1, IC2, termination
//!     }
//! }
//! ```
//!
//! **N > 3f.** There is no solution with three generals and one traitor,
//! and in general none if N ≤ 3f. With three generals, a lieutenant cannot
//! tell a traitorous commander from a traitorous fellow lieutenant: in the
//! two runs below n1 receives exactly the same messages, so it must obey
//! the same order in both, and one of the two runs breaks a property.
//!
//! ```
//! use dsys::consensus::byzantine_generals::properties::check_run;
//! use dsys::consensus::byzantine_generals::simulation::{run, traitor, Lie, LieTable};
//! use dsys::consensus::byzantine_generals::{General, GeneralsConfig, Msg, Order};
//! use dsys::core::sim::{Simulation, Strategy};
//! use dsys::core::NodeId;
//!
//! let config = GeneralsConfig::new(Order::Attack, 1);
//!
//! // Run 1: the commander is loyal and orders attack; lieutenant n2 is a
//! // traitor and tells n1 "the commander said retreat".
//! let lie: LieTable = [((NodeId(1), vec![NodeId(0), NodeId(2)]), Lie::Say(Order::Retreat))].into();
//! let run1 = run(3, 1, config, vec![(NodeId(2), traitor(lie))]).unwrap();
//!
//! // Run 2: the commander is the traitor: "attack" to n1, "retreat" to n2;
//! // n2 is loyal and truly relays "retreat".
//! let equivocate = Strategy::equivocate(|to, m: &Msg| {
//!     m.with_order(if to == NodeId(1) { Order::Attack } else { Order::Retreat })
//! });
//! let run2 = run(3, 1, config, vec![(NodeId(0), equivocate)]).unwrap();
//!
//! let heard = |sim: &Simulation<General>| sim.node(NodeId(1)).unwrap().received().clone();
//! assert_eq!(heard(&run1), heard(&run2), "n1 cannot tell the runs apart");
//! // Attack against retreat is a tie, so n1 retreats — and in run 1 that
//! // disobeys a loyal commander.
//! assert_eq!(
//!     check_run(&run1).unwrap_err(),
//!     "IC2: Validity: the correct sender n0 sent Attack but n1 decided Retreat"
//! );
//! assert_eq!(check_run(&run2), Ok(()));
//! ```
//!
//! Had n1 attacked instead, run 2 would break IC1: there n2 hears exactly
//! what it would hear from a loyal commander ordering retreat and a
//! traitorous n1, so by the same argument it must retreat. `cargo run
//! --example byzantine_generals` searches every traitor and every lie for
//! N = 3 and prints the failing runs, and measures the message count for
//! N = 4–7 and m = 0–3.
//!
//! ### Byzantine generals and consensus are equivalent
//!
//! - **From Byzantine generals to consensus** (with a majority of correct
//!   processes): run the generals once for each process, with that process
//!   as commander proposing its value; then each process takes the majority
//!   of the results. IC1 gives every correct process the same vector of
//!   results (Agreement); IC2 puts each correct proposal in its own place,
//!   so if the correct processes all proposed v, v is the majority
//!   (Integrity).
//! - **From consensus to Byzantine generals:** the commander sends its
//!   value to every process; then every process runs consensus with the
//!   value it received. Agreement gives IC1; with a correct commander every
//!   correct process proposes its value, and Integrity gives IC2.
//!
//! Both constructions, on OM(1) with four processes and one traitor, judged
//! by the shared consensus checkers:
//!
//! ```
//! use std::collections::{BTreeMap, BTreeSet};
//! use dsys::consensus::byzantine_generals::properties::decisions;
//! use dsys::consensus::byzantine_generals::simulation::{random_traitor, run};
//! use dsys::consensus::byzantine_generals::{majority, GeneralsConfig, Msg, Order};
//! use dsys::consensus::properties::{agreement, validity, Decision};
//! use dsys::core::sim::Strategy;
//! use dsys::core::NodeId;
//!
//! /// Consensus from the generals: process i commands instance i with its
//! /// proposal; every process decides the majority of the instances' results.
//! fn consensus(proposals: &[Order], traitor: NodeId, seed: u64) -> Vec<Decision<Order>> {
//!     let mut results: BTreeMap<NodeId, Vec<Order>> = BTreeMap::new();
//!     for (i, &proposal) in proposals.iter().enumerate() {
//!         let config = GeneralsConfig { commander: NodeId(i as u32), ..GeneralsConfig::new(proposal, 1) };
//!         let liar = vec![(traitor, random_traitor())];
//!         let sim = run(proposals.len(), seed + i as u64, config, liar).unwrap();
//!         for (node, order) in decisions(&sim) {
//!             results.entry(node).or_default().push(order);
//!         }
//!     }
//!     results.into_iter().map(|(node, r)| Decision { node, value: majority(&r) }).collect()
//! }
//! let correct_without = |traitor: u32| -> BTreeSet<NodeId> { (0..4).map(NodeId).filter(|&n| n.0 != traitor).collect() };
//!
//! // n2 is a traitor lying at random; the correct processes all propose attack.
//! let proposals = [Order::Attack, Order::Attack, Order::Retreat, Order::Attack];
//! let decided = consensus(&proposals, NodeId(2), 10);
//! assert_eq!(agreement(&decided, &correct_without(2)), Ok(()));
//! assert_eq!(validity(&decided, &[Order::Attack], &correct_without(2)), Ok(()));
//!
//! // The generals from consensus: the commander n0, a traitor, tells each
//! // lieutenant something different (OM(0): one message each) …
//! let equivocate = Strategy::equivocate(|to, m: &Msg| {
//!     m.with_order(if to.0 % 2 == 1 { Order::Attack } else { Order::Retreat })
//! });
//! let step1 = run(4, 20, GeneralsConfig::new(Order::Attack, 0), vec![(NodeId(0), equivocate)]).unwrap();
//! let received: Vec<Order> = (0..4).map(|i| decisions(&step1)[&NodeId(i)]).collect();
//! assert_ne!(received[1], received[2], "the lieutenants heard different orders");
//! // … then everyone runs consensus on what it received: IC1.
//! let obeyed = consensus(&received, NodeId(0), 30);
//! assert_eq!(agreement(&obeyed, &correct_without(0)), Ok(()));
//! ```
//!
//! ## Dolev–Strong: signatures change the bound
//!
//! N > 3f is the price of *oral* messages, where a traitor can lie about
//! what others told it. With **signatures** it cannot: a relay can only
//! pass on, withhold or delay what the commander signed.
//! [Dolev–Strong](crate::consensus::dolev_strong) (1983) solves Byzantine
//! broadcast — the generals problem — in a synchronous system with a
//! public-key infrastructure, for **any f < N**:
//!
//! 1. In round 1 the sender (commander) signs its value and sends it to
//!    every process.
//! 2. In round r, a process accepts a value whose signature chain carries r
//!    valid signatures from r distinct processes, the sender's first, and
//!    at the start of the next round relays it with its own signature added.
//! 3. After **f + 1 rounds**, a process decides the value it accepted if it
//!    accepted exactly one, and the default ⊥ otherwise (the sender is then
//!    certainly a traitor).
//!
//! f + 1 rounds because a chain accepted in round f + 1 has f + 1 signers,
//! so at least one correct process signed it, and that one already relayed
//! it to everyone. With N = 3 and f = 1 — where OM(1) fails — Dolev–Strong
//! holds against every scripted traitor
//! ([`plans`](crate::consensus::dolev_strong::simulation::plans)), the lie
//! that broke OM(1) included: a relay claiming the commander said something
//! else presents a chain whose signature does not verify.
//!
//! ```
//! use dsys::consensus::dolev_strong::simulation::{messages_all_correct, plans, Cluster};
//! use dsys::consensus::dolev_strong::{Decision, Event, Rejection, Traitor};
//! use dsys::core::sim::Simulation;
//! use dsys::core::NodeId;
//!
//! // N = 3, f = 1, all correct: n0 sends 1; decided by the end of round
//! // f + 1 = 2; (N − 1)² messages.
//! let cluster = Cluster::new(3, 1);
//! assert_eq!(cluster.deadline(), 2 * cluster.round_length);
//! let mut sim = Simulation::new(3, 1, cluster.factory().unwrap());
//! sim.run_until(cluster.deadline() + cluster.round_length).unwrap();
//! assert!(sim.nodes().all(|(_, p)| p.decision() == Some(Decision::Value(1))));
//! assert!(cluster.judge(&sim).iter().all(|(_, verdict)| verdict.is_ok()));
//! assert_eq!(cluster.correct_messages(&sim), messages_all_correct(3, 1));
//! assert_eq!(messages_all_correct(3, 1), 4);
//!
//! // The OM(1) counterexample's lie, signed: relay n2 forges the value.
//! let mut forged = Cluster::new(3, 1);
//! forged.traitors.push((NodeId(2), Traitor::Forge));
//! let mut sim = Simulation::new(3, 1, forged.factory().unwrap());
//! sim.run_until(forged.deadline() + forged.round_length).unwrap();
//! assert!(sim.events(NodeId(1)).iter().any(|e| matches!(
//!     e.event,
//!     Event::Rejected { from: NodeId(2), reason: Rejection::BadSignature(_), .. }
//! )));
//! assert_eq!(sim.node(NodeId(1)).unwrap().decision(), Some(Decision::Value(1)));
//!
//! // Every scripted traitor plan, for every f < N — f = N − 1 too: Agreement,
//! // Validity, and Termination in f + 1 rounds.
//! for (n, f) in [(3, 1), (3, 2), (4, 1), (4, 3)] {
//!     for plan in plans(&Cluster::new(n, f)) {
//!         let cluster = Cluster::new(n, f).with_plan(&plan);
//!         let mut sim = Simulation::new(n, 7, cluster.factory().unwrap());
//!         sim.run_until(cluster.deadline() + cluster.round_length).unwrap();
//!         for (property, verdict) in cluster.judge(&sim) {
//!             assert_eq!(verdict, Ok(()), "N = {n}, f = {f}, {}: {property}", plan.name);
//!         }
//!     }
//! }
//! ```
//!
//! Dolev–Strong's traitors are scripted in their configuration
//! ([`Traitor`](crate::consensus::dolev_strong::Traitor)), not by the
//! simulator's strategies: a lie that verifies needs the liar's own signing
//! key. Its synchrony is as essential as OM(m)'s: a correct sender whose
//! messages take longer than a round is refused like a traitor that
//! delays (`dsys-consensus/tests/dolev_strong.rs`). `cargo run --example
//! dolev_strong` and `dsys sim dolev-strong` run it.
//!
//! ## Summary
//!
//! 1. Consensus: the correct processes must agree on a value —
//!    Termination, Agreement, Integrity.
//! 2. In a synchronous system consensus is possible despite Byzantine
//!    faults: with oral messages for N > 3f, with signatures for any f < N.
//! 3. In an asynchronous system it is impossible for a deterministic
//!    algorithm if a single process may crash (FLP); Paxos, Multi-Paxos and
//!    Raft stay safe regardless and terminate when timing is good.
//!
//! The CAP theorem, the lecture's last topic, has no code in dsys yet; it
//! comes with the second half of the [replication](super::ch09_replication)
//! chapter.
//!
//! ## See it
//!
//! ```text
//! dsys sim paxos --nodes 5 --loss 0.1 --html paxos.html
//! ```
//!
//! writes the run as a page to open in a browser ([`dsys view`](crate::core::trace::html)):
//! the prepare, promise, accept and accepted rounds of dueling proposers;
//! `dsys sim byzantine-generals --nodes 4 --byzantine 0:equivocate --html
//! om.html` shows the relaying rounds of OM(1).
