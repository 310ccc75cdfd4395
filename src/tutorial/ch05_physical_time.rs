//! # Chapter 5 — physical time (lecture 5)
//!
//! Processes timestamp events, expire leases and caches, time out requests
//! and order transactions by the clock. On one machine that is easy: there
//! is one clock. In a distributed system every process has its own, they do
//! not agree, and no message can carry "the time" without the time going
//! stale on the way. This chapter measures how clocks disagree and runs the
//! three classic ways of pulling them together: Cristian's algorithm,
//! Berkeley and NTP ([`crate::clocks`]).
//!
//! ## Real clocks: skew and drift
//!
//! A computer's clock is a quartz crystal and a counter. Crystals are not
//! exact: each ticks at its own rate, off by its **drift rate** ρ (typically
//! 10⁻⁶ to 10⁻⁵ — one to ten **parts per million** — more when hot or
//! old). A clock drifting at ρ gains or loses `ρ·t` in time `t`: 10 ppm is
//! almost a second a day. The difference between two clocks' readings at
//! one instant is their **skew**; two clocks drifting at `+ρ` and `−ρ`
//! separate at `2ρ`, so skew grows without bound unless something corrects
//! it. True time — the reference everybody wants — is **UTC**, broadcast by
//! radio and GPS from atomic clocks.
//!
//! The simulator gives every node a hardware clock with an offset and a
//! drift ([`ClockConfig`](crate::core::sim::ClockConfig)); `ctx.now()` reads
//! it. Here are three clocks after 10 s of true (virtual) time:
//!
//! ```
//! use std::time::Duration;
//! use dsys::core::ping_pong::{PingPong, PingPongConfig};
//! use dsys::core::sim::{ClockConfig, Simulation};
//! use dsys::core::NodeId;
//!
//! let mut sim = Simulation::new(3, 1, |_| PingPong::new(PingPongConfig::default()));
//! sim.set_clock(NodeId(1), ClockConfig::default().offset_ms(20).drift_ppm(100.0)).unwrap();
//! sim.set_clock(NodeId(2), ClockConfig::default().drift_ppm(-400.0)).unwrap();
//! sim.run_until(Duration::from_secs(10)).unwrap();
//!
//! let ms = |id| sim.local_time(NodeId(id)).unwrap().as_millis();
//! assert_eq!(ms(0), 10_000); // a perfect clock
//! assert_eq!(ms(1), 10_021); // 20 ms ahead, and 100 ppm × 10 s = 1 ms more
//! assert_eq!(ms(2), 9_996); //  4 ms behind after 10 s at −400 ppm
//! println!("skew between n1 and n2: {} ms", ms(1) - ms(2)); // 25 ms, and growing
//! ```
//!
//! ## Correcting a clock: step or slew
//!
//! Hardware clocks cannot be corrected; a **software clock** on top of one
//! can: `C(t) = H(t) + offset`
//! ([`SoftwareClock`](crate::clocks::software_clock::SoftwareClock)). A
//! correction can **step** the offset — at once, and backwards if the clock
//! was fast, which breaks any program that measures an interval across the
//! step — or **slew** it: run the clock a little slow or fast until the
//! correction is absorbed. A slewing clock never runs backwards, so
//! applications that need monotonic time keep it:
//!
//! ```
//! use std::time::Duration;
//! use dsys::clocks::software_clock::{Discipline, SoftwareClock};
//!
//! let ms = Duration::from_millis;
//! // The clock is 4 ms fast. Stepping jumps back at once ...
//! let mut stepped = SoftwareClock::new(Discipline::STEP).unwrap();
//! stepped.adjust(ms(1000), -4_000_000);
//! assert_eq!(stepped.read(ms(1000)), ms(996));
//! // ... slewing at 1% (10,000 ppm) takes 400 ms and never goes back.
//! let mut slewed = SoftwareClock::new(Discipline::slew(10_000)).unwrap();
//! slewed.adjust(ms(1000), -4_000_000);
//! let readings: Vec<Duration> = (0..=5).map(|i| slewed.read(ms(1000 + 100 * i))).collect();
//! assert!(readings.windows(2).all(|w| w[0] <= w[1]));
//! assert_eq!(readings[4], ms(1396)); // all 4 ms absorbed
//! ```
//!
//! ## Synchronisation, external and internal, within D
//!
//! Let `t` be true time and `Cᵢ(t)` process `i`'s clock. For a bound
//! `D > 0`:
//!
//! - **external** synchronisation keeps every clock within `D` of true time:
//!   `|Cᵢ(t) − t| < D` (the clocks are *accurate*);
//! - **internal** synchronisation keeps the clocks within `D` of each other:
//!   `|Cᵢ(t) − Cⱼ(t)| < D` (they *agree*, right or wrong).
//!
//! External within `D` gives internal within `2D`, not the other way round.
//! What limits `D` is the uncertainty of message delay: a message that
//! takes between `min` and `max` leaves `max − min` of doubt about when it
//! was sent. (Lundelius and Lynch proved that `n` clocks cannot be
//! synchronised closer than `(max − min)(1 − 1/n)`, whatever the algorithm.)
//!
//! [`sync`](crate::clocks::sync) measures both for any run: the maximum
//! pairwise **skew** and the maximum **error** against true time, from the
//! [`SyncEvent`](crate::clocks::sync::SyncEvent)s the nodes emit.
//!
//! ## Cristian's algorithm: ask a time server
//!
//! A client sends a request at `T1` (its clock); the server stamps its
//! arrival `T2` and the reply's departure `T3`; the reply arrives at `T4`.
//! The round trip is `RTT = (T4 − T1) − (T3 − T2)`; the reply took between
//! `min` and `RTT − min`, so the client sets its clock to **`T3 + RTT/2`**,
//! wrong by at most **`±(RTT/2 − min)`**. Short round trips give tight
//! bounds, so the client takes a few samples, discards slow ones and keeps
//! the best ([`cristian`](crate::clocks::cristian)). Every adjustment claims
//! its bound, and [`check_external`](crate::clocks::sync::check_external)
//! checks every reading against it:
//!
//! ```
//! use std::time::Duration;
//! use dsys::clocks::cristian::{Cristian, CristianConfig};
//! use dsys::clocks::sync::{self, DriftingClocks};
//! use dsys::core::sim::Simulation;
//! use dsys::core::NodeId;
//!
//! let config = CristianConfig { min_one_way_delay: Duration::from_millis(1), ..Default::default() };
//! let mut sim = Simulation::new(5, 7, move |id| Cristian::new(id, config).unwrap());
//! // n0, the server, keeps true time; the clients start up to 100 ms off, drifting ±500 ppm.
//! for (i, clock) in DriftingClocks::default().clocks(7, 5).into_iter().enumerate().skip(1) {
//!     sim.set_clock(NodeId(i as u32), clock).unwrap();
//! }
//! sim.run_until(Duration::from_secs(3)).unwrap();
//!
//! let nodes: Vec<NodeId> = sim.ids().collect();
//! assert_eq!(sync::check_external(&sim, &nodes, config.drift_max_ppm), Ok(()));
//! let m = sync::measure(&sim, &nodes, sync::converged_at(&sim, &nodes).unwrap());
//! println!("Cristian: max error {:?}, max skew {:?}", m.error_max, m.skew_max);
//! assert!(m.error_max < Duration::from_millis(10));
//! ```
//!
//! ## The Berkeley algorithm: agree with each other
//!
//! With no reference clock, a **master** polls the others, estimates each
//! clock's offset from its own by Cristian's method, averages the offsets —
//! **fault-tolerantly**, leaving out clocks that disagree with the majority
//! by more than a threshold — and sends every machine the **adjustment** it
//! needs (a difference, which does not go stale in transit as a time
//! would). The group agrees within `D`
//! ([`skew_bound`](crate::clocks::berkeley::BerkeleyConfig::skew_bound)),
//! but its time is the average of the clocks: internal synchronisation, not
//! external. Here n4's clock is broken — ten seconds off and running twice
//! as fast — and is ignored:
//!
//! ```
//! use std::time::Duration;
//! use dsys::clocks::berkeley::{self, Berkeley, BerkeleyConfig};
//! use dsys::clocks::sync::{self, DriftingClocks};
//! use dsys::core::sim::Simulation;
//! use dsys::core::NodeId;
//!
//! let config = BerkeleyConfig {
//!     min_one_way_delay: Duration::from_millis(1),
//!     round_trip_max: Duration::from_millis(21),
//!     ..Default::default()
//! };
//! let mut sim = Simulation::new(5, 7, move |id| Berkeley::new(id, config).unwrap());
//! for (i, clock) in DriftingClocks::default().clocks(7, 5).into_iter().enumerate() {
//!     sim.set_clock(NodeId(i as u32), clock).unwrap();
//! }
//! sim.set_clock(NodeId(4), berkeley::FAULTY_CLOCK).unwrap();
//! sim.run_until(Duration::from_secs(3)).unwrap();
//!
//! let correct: Vec<NodeId> = (0..4).map(NodeId).collect();
//! let d = config.skew_bound(Duration::from_millis(10));
//! assert_eq!(berkeley::agreement(&sim, &correct, d), Ok(()));
//! let m = sync::measure(&sim, &correct, sync::converged_at(&sim, &correct).unwrap());
//! println!("Berkeley: skew {:?} (D = {d:?}), but {:?} from true time", m.skew_max, m.error_max);
//! assert!(m.skew_max < d);
//! assert!(m.error_max > m.skew_max); // the group agrees, and is not right
//! ```
//!
//! ## NTP: a hierarchy of servers
//!
//! The Network Time Protocol spreads UTC through **strata**: stratum 1
//! servers read a reference clock, stratum 2 synchronise to stratum 1,
//! stratum 3 to stratum 2. Peers exchange packets that each carry three
//! timestamps, so every packet answers the last one and asks anew; from
//! `T1..T4` a node computes the **offset** `θ = ((T2 − T1) + (T3 − T4))/2`
//! and the **delay** `δ = (T4 − T1) − (T3 − T2)`. θ is wrong by at most
//! `δ/2 − min`, so a **clock filter** keeps the last eight samples and
//! trusts the one with the smallest δ. Error bounds add up along the path
//! to the reference ([`ntp`](crate::clocks::ntp)):
//!
//! ```
//! use std::time::Duration;
//! use dsys::clocks::ntp::{self, Ntp, NtpConfig};
//! use dsys::clocks::sync::{self, DriftingClocks};
//! use dsys::core::sim::Simulation;
//! use dsys::core::NodeId;
//!
//! let roles = ntp::hierarchy(5); // n0: stratum 1; n1, n2: stratum 2; n3, n4: stratum 3
//! let config = NtpConfig { min_one_way_delay: Duration::from_millis(1), ..Default::default() };
//! let mut sim = Simulation::new(5, 7, move |id| Ntp::new(roles[id.index()].clone(), config).unwrap());
//! for (i, clock) in DriftingClocks::default().clocks(7, 5).into_iter().enumerate().skip(1) {
//!     sim.set_clock(NodeId(i as u32), clock).unwrap();
//! }
//! sim.run_until(Duration::from_secs(3)).unwrap();
//!
//! assert_eq!(ntp::strata(&sim, &ntp::hierarchy_strata(5)), Ok(()));
//! let nodes: Vec<NodeId> = sim.ids().collect();
//! assert_eq!(sync::check_external(&sim, &nodes, config.drift_max_ppm), Ok(()));
//! for id in [NodeId(1), NodeId(3)] {
//!     let node = sim.node(id).unwrap();
//!     let claimed = node.root_bound(sim.local_time(id).unwrap());
//!     println!("{id}: stratum {}, claims to be within {claimed:?} of true time", node.stratum());
//! }
//! ```
//!
//! `cargo run --example clock_sync` runs all three on the same clocks and
//! prints skew and error side by side; `dsys sim berkeley --nodes 5 --seed 1`
//! (and `cristian`, `ntp`) runs one with its properties judged.
//!
//! ## Breaking an assumption
//!
//! A checker that cannot fail proves nothing. Forget the `RTT/2` in
//! Cristian's estimate and set the clock to `T3`: the client is now behind
//! by the whole return delay, more than its claimed bound, and the checker
//! says so. Then drop Berkeley's threshold and let one wild clock into the
//! average: every correct clock is dragged seconds away from all the
//! correct hardware clocks.
//!
//! ```
//! use std::time::Duration;
//! use dsys::clocks::berkeley::{self, Berkeley, BerkeleyConfig};
//! use dsys::clocks::cristian::{Cristian, CristianConfig};
//! use dsys::clocks::sync;
//! use dsys::core::sim::{ClockConfig, Simulation};
//! use dsys::core::NodeId;
//!
//! let config = CristianConfig {
//!     delay_correction: false, // the mistake
//!     min_one_way_delay: Duration::from_millis(1),
//!     ..Default::default()
//! };
//! let mut sim = Simulation::new(3, 7, move |id| Cristian::new(id, config).unwrap());
//! sim.set_clock(NodeId(1), ClockConfig::default().offset_ms(50)).unwrap();
//! sim.run_until(Duration::from_secs(1)).unwrap();
//! let nodes: Vec<NodeId> = sim.ids().collect();
//! let why = sync::check_external(&sim, &nodes, config.drift_max_ppm).unwrap_err();
//! println!("{why}"); // "n… reads … at true time …: error -… exceeds its bound …"
//!
//! let config = BerkeleyConfig { threshold: None, ..Default::default() }; // no outlier filter
//! let mut sim = Simulation::new(4, 7, move |id| Berkeley::new(id, config).unwrap());
//! sim.set_clock(NodeId(3), berkeley::FAULTY_CLOCK).unwrap();
//! sim.run_until(Duration::from_secs(1)).unwrap();
//! let correct = [NodeId(0), NodeId(1), NodeId(2)];
//! let d = config.skew_bound(Duration::from_millis(10));
//! let why = berkeley::validity(&sim, &correct, d, Duration::ZERO).unwrap_err();
//! assert!(why.contains("dragged"), "{why}");
//! ```
//!
//! The same checkers run over hundreds of seeds with jittery, asymmetric
//! links in `dsys-clocks/tests/time/physical.rs`: the correct algorithms always
//! stay within their bounds, the broken ones are always caught.
//!
//! ## See it
//!
//! ```text
//! dsys sim berkeley --nodes 5 --seed 1 --html berkeley.html
//! ```
//!
//! writes the run as a page to open in a browser ([`dsys view`](crate::core::trace::html)):
//! the master's polls and adjustments, round after round.
