//! # Chapter 6, continued — global state, and the Chandy–Lamport snapshot (lecture 6)
//!
//! Many questions about a distributed system are questions about its
//! **global state**: is the system deadlocked? has the computation
//! terminated? is there exactly one token? does the bank's money still add
//! up? The global state is the local state of every process *plus the
//! messages in transit* on every channel — money that has left one branch
//! and not yet reached another is still the bank's.
//!
//! Nobody can see that state. There is no shared clock to say "everybody,
//! record yourself at 12:00:00.000" (the [physical time](super::ch05_physical_time)
//! chapter shows how far apart clocks drift), and a message in transit is
//! not in any process at all.
//!
//! ## Looking at the processes one after the other
//!
//! The naive answer — ask each branch for its balance, one after the
//! other — adds up to nonsense. The simulator can play an all-seeing
//! observer who reads each branch a few milliseconds after the previous one:
//!
//! ```
//! use std::time::Duration;
//! use dsys::clocks::snapshot::bank::{Bank, BankConfig};
//! use dsys::core::sim::Simulation;
//! use dsys::core::NodeId;
//!
//! let branch = Bank::new(BankConfig::default()).unwrap(); // 100 each, random transfers
//! let mut sim = Simulation::new(4, 7, move |_| branch.clone());
//! let mut naive_total = 0;
//! for i in 0..4 {
//!     sim.run_until(Duration::from_millis(50 + 3 * i)).unwrap();
//!     naive_total += sim.node(NodeId(i as u32)).unwrap().balance();
//! }
//! println!("the naive total is {naive_total}, not 400");
//! assert_ne!(naive_total, 400);
//! ```
//!
//! Money sent by a branch after it was read, to a branch read later, is
//! counted twice; money sent before, to a branch already read, is counted
//! nowhere; and money in transit is not counted at all.
//!
//! ## Cuts
//!
//! Whatever a process records, it records at one of its own events. A
//! **cut** picks, for every process, a prefix of its events — everything up
//! to its **frontier** event. The cut's global state is each process's state
//! after its frontier, plus, on each channel, the messages sent inside the
//! cut and not received inside it.
//!
//! A cut is **consistent** when it contains, with every event, every event
//! that [happened before](super::ch06_logical_time) it. Equivalently: no message
//! is received inside the cut but sent outside it (an **orphan** message —
//! an effect without its cause). Only a consistent cut's global state is a
//! state the system could have been in.
//!
//! With vector timestamps the test is one comparison per pair of processes:
//! a cut with frontier events `e_0 … e_{n−1}` holds `V(e_i)[i]` events of
//! process `i`, so it is consistent iff no frontier event has seen more of a
//! process than that: `V(e_j)[i] ≤ V(e_i)[i]` for all `i`, `j`. The
//! simulator stamps every event with a vector timestamp, so
//! [`Cut::check`](crate::clocks::cut::Cut::check) can judge any cut of any
//! run — and, when it fails, name the orphan:
//!
//! ```
//! use std::time::Duration;
//! use dsys::clocks::cut::Cut;
//! use dsys::clocks::snapshot::bank::{Bank, BankConfig};
//! use dsys::core::sim::Simulation;
//! use dsys::core::trace::TraceKind;
//!
//! let branch = Bank::new(BankConfig::default()).unwrap();
//! let mut sim = Simulation::new(3, 7, move |_| branch.clone());
//! sim.enable_trace();
//! sim.run_until(Duration::from_millis(100)).unwrap();
//! let trace = sim.trace().unwrap();
//!
//! // A cut at one instant is consistent: nothing arrives before it leaves.
//! let instant = Cut::at_time(trace, 3, Duration::from_millis(50));
//! assert!(instant.check().is_ok());
//! // Its channel states are the transfers in flight at that instant.
//! println!("{} transfers in flight at 50 ms", instant.in_transit().len());
//!
//! // Now move n1's frontier forward to the delivery of a transfer whose
//! // send comes after the sender's frontier: an orphan.
//! let frontier = instant.frontier().to_vec();
//! let receive = trace.events().iter().find(|e| match &e.kind {
//!     TraceKind::Deliver { from, msg_id, .. } => {
//!         e.node.map(|n| n.0) == Some(1)
//!             && trace.events().iter().any(|s| {
//!                 matches!(s.kind, TraceKind::Send { msg_id: m, .. } if m == *msg_id)
//!                     && Some(s.index) > frontier[from.index()]
//!             })
//!     }
//!     _ => false,
//! });
//! let mut moved = frontier.clone();
//! moved[1] = Some(receive.unwrap().index);
//! let cut = Cut::new(trace, moved).unwrap();
//! let why = cut.check().unwrap_err();
//! println!("{why}");
//! assert!(why.orphan.is_some());
//! ```
//!
//! ## The Chandy–Lamport algorithm
//!
//! Chandy and Lamport (1985) record a consistent cut without stopping the
//! system and without clocks, using a **marker**: a control message sent on
//! every channel, which separates what its sender sent *before* recording
//! from what it sent *after*.
//!
//! 1. The **initiator** records its state, sends a marker on every outgoing
//!    channel and starts recording every incoming channel.
//! 2. A process receiving its **first marker** records its state, records
//!    that marker's channel as empty, sends a marker on every outgoing
//!    channel, and starts recording its other incoming channels.
//! 3. A **later marker** on a channel stops that channel's recording: its
//!    state is the messages that arrived on it in between.
//! 4. When every incoming channel has had its marker, the process sends its
//!    part to the initiator, who assembles the **global snapshot**.
//!
//! Why is the cut consistent? A message `m` from `p` to `q` sent after `p`
//! recorded travels behind `p`'s marker on that channel, so `q` has recorded
//! before `m` arrives: `m` is never received inside the cut. And a message
//! sent before `p` recorded but received after `q` recorded arrives before
//! `p`'s marker, while `q` is recording that channel: it is in the channel
//! state, counted exactly once.
//!
//! In dsys, [`Snapshotting`](crate::clocks::snapshot::Snapshotting) wraps
//! any node whose state can be cloned and does all of this around it; the
//! wrapped node never sees a marker. Here is the bank again, with a
//! snapshot taken while money moves:
//!
//! ```
//! use std::time::Duration;
//! use dsys::clocks::snapshot::bank::{self, Bank, BankConfig};
//! use dsys::clocks::snapshot::{SnapshotEvent, SnapshotRequest, Snapshotting};
//! use dsys::core::sim::Simulation;
//! use dsys::core::NodeId;
//!
//! let branch = Snapshotting::new(Bank::new(BankConfig::default()).unwrap());
//! let mut sim = Simulation::new(4, 7, move |_| branch.clone());
//! sim.enable_trace();
//! sim.request_at(Duration::from_millis(50), NodeId(0), SnapshotRequest::Snapshot).unwrap();
//! sim.run_until(Duration::from_millis(150)).unwrap();
//!
//! // The initiator emits the whole snapshot.
//! let snapshot = sim
//!     .events(NodeId(0))
//!     .iter()
//!     .find_map(|e| match &e.event {
//!         SnapshotEvent::Completed(snapshot) => Some(snapshot.clone()),
//!         _ => None,
//!     })
//!     .unwrap();
//! for (node, branch) in &snapshot.states {
//!     println!("{node}: {}", branch.balance());
//! }
//! for (channel, transfer) in snapshot.in_transit() {
//!     println!("in transit on {channel}: {}", transfer.amount);
//! }
//! // The money adds up, counting what is in transit ...
//! assert_eq!(bank::total(&snapshot), 400);
//! assert_eq!(bank::check_conservation(&snapshot, 400), Ok(()));
//! // ... and the trace confirms it: the recorded cut is consistent (vector
//! // timestamps), and each channel state is exactly what crossed the cut.
//! assert_eq!(snapshot.check_against_trace(sim.trace().unwrap()), Ok(()));
//! ```
//!
//! The recorded state need not be one the system was ever in at a single
//! instant — the processes recorded at different times — but it is one the
//! system *could* have been in: reachable from the state when the snapshot
//! started, and the state when it finished is reachable from it. That is
//! enough for **stable** properties (once true, true forever: a deadlock,
//! termination, lost money): if the snapshot shows one, it holds.
//!
//! **Cost.** One marker per channel, `N (N − 1)` for `N` fully connected
//! processes — O(N²) per snapshot — plus `N − 1` reports to the initiator.
//! **Several snapshots** may run at once, from one initiator or several:
//! each has its own id, markers and recordings, and each is consistent on
//! its own.
//!
//! ```
//! use std::time::Duration;
//! use dsys::clocks::snapshot::bank::{Bank, BankConfig};
//! use dsys::clocks::snapshot::{SnapshotEvent, SnapshotRequest, Snapshotting};
//! use dsys::core::sim::Simulation;
//! use dsys::core::NodeId;
//!
//! let branch = Snapshotting::new(Bank::new(BankConfig::default()).unwrap());
//! let mut sim = Simulation::new(5, 3, move |_| branch.clone());
//! sim.enable_trace();
//! for initiator in [1, 3] {
//!     sim.request_at(Duration::from_millis(40), NodeId(initiator), SnapshotRequest::Snapshot).unwrap();
//! }
//! sim.run_until(Duration::from_millis(100)).unwrap();
//! let trace = sim.trace().unwrap();
//! let completed: Vec<_> = sim
//!     .all_events()
//!     .into_iter()
//!     .filter_map(|(_, e)| match &e.event {
//!         SnapshotEvent::Completed(s) => Some(s.clone()),
//!         _ => None,
//!     })
//!     .collect();
//! assert_eq!(completed.len(), 2);
//! assert!(completed.iter().all(|s| s.check_against_trace(trace).is_ok()));
//! assert_eq!(sim.metrics().kind("Marker").unwrap().sent, 2 * 5 * 4);
//! ```
//!
//! ## The assumptions, and what breaks without them
//!
//! Chandy–Lamport assumes **reliable FIFO channels** (and no crashes during
//! a snapshot). FIFO is what lets a marker separate before from after. On a
//! network that reorders, a transfer sent after the marker can overtake it —
//! the receiver counts it in its balance, and the sender's recorded balance
//! still holds it: money created — and a transfer sent before the marker can
//! arrive after it — recorded nowhere: money lost. The simulator's links
//! reorder on request ([`Ordering::Reorder`](crate::core::sim::Ordering)):
//!
//! ```
//! use std::time::Duration;
//! use dsys::clocks::snapshot::bank::{self, Bank, BankConfig};
//! use dsys::clocks::snapshot::{SnapshotEvent, SnapshotRequest, Snapshotting};
//! use dsys::core::sim::{LinkConfig, Ordering, Simulation};
//! use dsys::core::NodeId;
//!
//! let snapshot_over = |ordering, seed| {
//!     let branch = Snapshotting::new(Bank::new(BankConfig::default()).unwrap());
//!     let mut sim = Simulation::new(4, seed, move |_| branch.clone());
//!     sim.set_all_links(LinkConfig::default().with_ordering(ordering)).unwrap();
//!     sim.enable_trace();
//!     sim.request_at(Duration::from_millis(50), NodeId(0), SnapshotRequest::Snapshot).unwrap();
//!     sim.run_until(Duration::from_millis(150)).unwrap();
//!     let snapshot = sim.events(NodeId(0)).iter().find_map(|e| match &e.event {
//!         SnapshotEvent::Completed(s) => Some(s.clone()),
//!         _ => None,
//!     });
//!     let snapshot = snapshot.expect("on a reliable network every snapshot completes");
//!     let consistent = snapshot.check_against_trace(sim.trace().unwrap());
//!     (bank::total(&snapshot), consistent)
//! };
//!
//! // FIFO: every seed adds up.
//! assert!((0..10).all(|seed| snapshot_over(Ordering::Fifo, seed).0 == 400));
//! // Reordering: some seed does not, and the trace says why.
//! let (seed, (total, consistent)) = (0..10)
//!     .map(|seed| (seed, snapshot_over(Ordering::Reorder, seed)))
//!     .find(|(_, (total, _))| *total != 400)
//!     .expect("reordering breaks a snapshot for some seed");
//! println!("seed {seed}: the snapshot holds {total}, not 400: {}", consistent.unwrap_err());
//! ```
//!
//! ## Try it
//!
//! - `cargo run --example snapshot` prints four snapshots of the bank — each
//!   branch's balance, the money in transit per channel, the total — and
//!   then the same bank over reordering links, where the totals go wrong.
//! - `dsys sim snapshot --nodes 4 --seed 1` runs the bank with periodic,
//!   sometimes concurrent snapshots and judges three properties: money
//!   conserved, consistent cut, termination. Add `--reorder` to watch the
//!   first two fail, or `--loss 0.01` to see that a lossy network breaks the
//!   bank itself (lost transfers are lost money) and stalls snapshots whose
//!   markers are lost.
//!
//! The module docs of [`snapshot`](crate::clocks::snapshot) and
//! [`cut`](crate::clocks::cut) hold the details; the source is K. M. Chandy
//! and L. Lamport, "Distributed Snapshots: Determining Global States of
//! Distributed Systems", ACM TOCS 3(1), 1985.
//!
//! ## See it
//!
//! ```text
//! dsys sim snapshot --nodes 4 --seed 1 --trace-states --html snapshot.html
//! ```
//!
//! writes the run as a page to open in a browser ([`dsys view`](crate::core::trace::html)):
//! the markers running ahead of and behind the transfers, and each branch's
//! recorded state.
