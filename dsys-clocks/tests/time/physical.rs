//! Physical clock synchronisation: Cristian, Berkeley and NTP under skewed,
//! drifting clocks and jittery, asymmetric networks, judged by the checkers
//! of `dsys_clocks::sync`; broken variants caught by the same checkers; and
//! handler tests that pin each algorithm's key steps to exact effects.
//!
//! A failing seed is printed; replay it alone (the run is a function of its
//! seed).

use std::time::Duration;

use dsys_clocks::berkeley::{self, Berkeley, BerkeleyConfig};
use dsys_clocks::cristian::{self, Cristian, CristianConfig};
use dsys_clocks::ntp::{self, Ntp, NtpConfig, Packet, Role};
use dsys_clocks::software_clock::{Discipline, SoftwareClock};
use dsys_clocks::sync::{self, DriftingClocks, ErrorBound, SyncEvent};
use dsys_core::rand::{RngExt, SeedableRng};
use dsys_core::scenario::SimOptions;
use dsys_core::sim::{ClockConfig, Latency, LinkConfig, Simulation};
use dsys_core::testing::{check_seeds, Harness};
use dsys_core::{Effect, Node, NodeId, NodeRng};
use proptest::prelude::*;

const MS: fn(u64) -> Duration = Duration::from_millis;
const US: fn(u64) -> Duration = Duration::from_micros;
const SEEDS: std::ops::Range<u64> = 0..200;
const NODES: usize = 5;
const RUN: Duration = Duration::from_secs(2);
/// Every link below takes at least this long, one way.
const MIN_DELAY: Duration = Duration::from_millis(1);

/// Per direction, one of three delay distributions drawn from the seed, so
/// the two directions of a link usually differ (asymmetry) and some have a
/// long tail (jitter). With `bounded`, no tail: every delay is at most 12 ms.
fn asymmetric_links<N: Node>(sim: &mut Simulation<N>, seed: u64, bounded: bool) {
    let mut rng = NodeRng::seed_from_u64(seed ^ 0xA5A5_5A5A);
    let ids: Vec<NodeId> = sim.ids().collect();
    for &from in &ids {
        for &to in &ids {
            let latency = match rng.random_range(0..if bounded { 2 } else { 3 }) {
                0 => Latency::Uniform {
                    min: MIN_DELAY,
                    max: MS(3),
                },
                1 => Latency::Uniform {
                    min: MS(2),
                    max: MS(12),
                },
                _ => Latency::Exponential {
                    min: MIN_DELAY,
                    mean_extra: MS(4),
                },
            };
            sim.set_link(from, to, LinkConfig::reliable(latency))
                .unwrap();
        }
    }
}

/// Skewed, drifting clocks from the seed; `perfect` nodes keep true time.
fn drifting_clocks<N: Node>(sim: &mut Simulation<N>, seed: u64, perfect: &[NodeId]) {
    let clocks = DriftingClocks::default().clocks(seed, sim.len());
    for (i, clock) in clocks.into_iter().enumerate() {
        let id = NodeId(i as u32);
        if !perfect.contains(&id) {
            sim.set_clock(id, clock).unwrap();
        }
    }
}

fn all(sim_len: usize) -> Vec<NodeId> {
    (0..sim_len as u32).map(NodeId).collect()
}

// ----- Cristian --------------------------------------------------------------

fn cristian_config() -> CristianConfig {
    CristianConfig {
        min_one_way_delay: MIN_DELAY,
        round_trip_max: MS(30),
        timeout: MS(40),
        ..CristianConfig::default()
    }
}

fn run_cristian(seed: u64, config: CristianConfig) -> Simulation<Cristian> {
    let mut sim = Simulation::new(NODES, seed, move |id| Cristian::new(id, config).unwrap());
    asymmetric_links(&mut sim, seed, false);
    drifting_clocks(&mut sim, seed, &[config.server]);
    sim.run_until(RUN).unwrap();
    sim
}

// Cristian 1989, §3: the error is within RTT/2 − min.
#[test]
fn cristian_keeps_every_client_within_its_claimed_bound() {
    let config = cristian_config();
    let mut worst = Duration::ZERO;
    check_seeds(SEEDS, |seed| {
        let sim = run_cristian(seed, config);
        let nodes = all(NODES);
        sync::check_synchronised(&sim, &nodes)?;
        sync::check_external(&sim, &nodes, config.drift_max_ppm)?;
        let measures = sync::measure(&sim, &nodes, sync::converged_at(&sim, &nodes).unwrap());
        if measures.error_max > config.error_bound() {
            return Err(format!(
                "{measures} exceeds the worst-case bound {:?}",
                config.error_bound()
            ));
        }
        worst = worst.max(measures.error_max);
        Ok::<_, String>(())
    });
    eprintln!(
        "cristian: worst error after convergence {worst:?} over {} seeds (worst-case bound {:?})",
        SEEDS.end,
        config.error_bound()
    );
}

#[test]
fn cristian_without_the_delay_correction_is_caught() {
    let broken = CristianConfig {
        delay_correction: false,
        ..cristian_config()
    };
    let caught = SEEDS
        .filter(|&seed| {
            let sim = run_cristian(seed, broken);
            sync::check_external(&sim, &all(NODES), broken.drift_max_ppm).is_err()
        })
        .count();
    assert_eq!(
        caught,
        SEEDS.count(),
        "the checker missed the broken estimate T3"
    );
}

#[test]
fn cristian_with_an_overestimated_minimum_delay_is_caught() {
    // The network's least delay is 1 ms; claiming 4 ms tightens the bound
    // below what the asymmetry allows.
    let wrong = CristianConfig {
        min_one_way_delay: MS(4),
        ..cristian_config()
    };
    let caught = (0..50)
        .filter(|&seed| {
            let sim = run_cristian(seed, wrong);
            sync::check_external(&sim, &all(NODES), wrong.drift_max_ppm).is_err()
        })
        .count();
    assert!(caught >= 45, "caught on {caught} of 50 seeds");
}

#[test]
fn a_wrong_time_server_makes_every_client_wrong() {
    // External synchronisation is only as good as the reference.
    let config = cristian_config();
    let mut sim = Simulation::new(3, 7, move |id| Cristian::new(id, config).unwrap());
    sim.set_clock(NodeId(0), ClockConfig::default().offset_ms(40))
        .unwrap();
    sim.run_until(RUN).unwrap();
    let why = sync::check_external(&sim, &all(3), config.drift_max_ppm).unwrap_err();
    assert!(why.starts_with("n0 reads"), "{why}");
    // The scenario's accuracy property is that same check.
    assert_eq!(cristian::accuracy(&sim), Err(why));
    // The clients agree with the server, not with true time.
    let measures = sync::measure(&sim, &all(3), sync::converged_at(&sim, &all(3)).unwrap());
    assert!(measures.skew_max < MS(10), "{measures}");
    assert!(measures.error_max > MS(30), "{measures}");
}

#[test]
fn cristian_client_steps() {
    let config = CristianConfig {
        samples_per_sync: 2,
        attempts_max: 3,
        min_one_way_delay: MS(1),
        sample_interval: None,
        ..CristianConfig::default()
    };
    let mut h = Harness::new(Cristian::new(NodeId(1), config).unwrap(), NodeId(1), 2);
    let n0 = NodeId(0);
    h.set_now(MS(1000));
    assert_eq!(
        h.start(),
        vec![
            Effect::Send {
                to: n0,
                msg: cristian::Msg::Request { request: 0 }
            },
            Effect::SetTimer {
                after: MS(50),
                timer: cristian::Timer::Timeout { request: 0 }
            },
        ]
    );
    // T1 = 1000, T2 = T3 = 2000, T4 = 1010: RTT 10 ms. One more sample to take.
    h.set_now(MS(1010));
    assert_eq!(
        h.message(
            n0,
            cristian::Msg::Reply {
                request: 0,
                server_receive: MS(2000),
                server_send: MS(2000)
            }
        ),
        vec![
            Effect::CancelTimer {
                timer: cristian::Timer::Timeout { request: 0 }
            },
            Effect::Send {
                to: n0,
                msg: cristian::Msg::Request { request: 1 }
            },
            Effect::SetTimer {
                after: MS(50),
                timer: cristian::Timer::Timeout { request: 1 }
            },
        ]
    );
    // T1 = 1010, T2 = 2003, T3 = 2004, T4 = 1014: RTT (4 − 1) = 3 ms, the
    // better sample. Estimate T3 + RTT/2 = 2005.5 ms; bound 1.5 − 1 ms plus
    // 500 ppm of 3 ms.
    h.set_now(MS(1014));
    assert_eq!(
        h.message(
            n0,
            cristian::Msg::Reply {
                request: 1,
                server_receive: MS(2003),
                server_send: MS(2004)
            }
        ),
        vec![
            Effect::CancelTimer {
                timer: cristian::Timer::Timeout { request: 1 }
            },
            Effect::Emit(SyncEvent::Adjusted {
                before: MS(1014),
                after: US(2_005_500),
                bound: ErrorBound::External(US(501) + Duration::from_nanos(500)),
            }),
            Effect::SetTimer {
                after: MS(250),
                timer: cristian::Timer::Sync
            },
        ]
    );
    // A late duplicate of an answered request is ignored.
    assert_eq!(
        h.message(
            n0,
            cristian::Msg::Reply {
                request: 0,
                server_receive: MS(2000),
                server_send: MS(2000)
            }
        ),
        vec![]
    );
    assert_eq!(h.node().clock().read(MS(1014)), US(2_005_500));
}

#[test]
fn cristian_client_retries_then_gives_up_until_the_next_period() {
    let config = CristianConfig {
        samples_per_sync: 2,
        attempts_max: 3,
        sample_interval: None,
        ..CristianConfig::default()
    };
    let mut h = Harness::new(Cristian::new(NodeId(1), config).unwrap(), NodeId(1), 2);
    h.start();
    let retry = |request: u64| {
        vec![
            Effect::Send {
                to: NodeId(0),
                msg: cristian::Msg::Request { request },
            },
            Effect::SetTimer {
                after: MS(50),
                timer: cristian::Timer::Timeout { request },
            },
        ]
    };
    assert_eq!(h.timer(cristian::Timer::Timeout { request: 0 }), retry(1));
    assert_eq!(h.timer(cristian::Timer::Timeout { request: 1 }), retry(2));
    // Three attempts, no sample: no adjustment, try again next period.
    assert_eq!(
        h.timer(cristian::Timer::Timeout { request: 2 }),
        vec![Effect::SetTimer {
            after: MS(250),
            timer: cristian::Timer::Sync
        }]
    );
    assert_eq!(h.timer(cristian::Timer::Timeout { request: 1 }), vec![]);
    assert_eq!(h.timer(cristian::Timer::Sync), retry(3));
}

// ----- Berkeley --------------------------------------------------------------

fn berkeley_config() -> BerkeleyConfig {
    let options = SimOptions {
        latency: "1..12".parse().unwrap(),
        ..SimOptions::default()
    };
    berkeley::scenario_config(&options)
}

fn run_berkeley(seed: u64, config: BerkeleyConfig) -> Simulation<Berkeley> {
    let mut sim = Simulation::new(NODES, seed, move |id| Berkeley::new(id, config).unwrap());
    asymmetric_links(&mut sim, seed, true);
    drifting_clocks(&mut sim, seed, &[]);
    sim.set_clock(NodeId(4), berkeley::FAULTY_CLOCK).unwrap();
    sim.run_until(RUN).unwrap();
    sim
}

// Gusella & Zatti 1989; Coulouris §14.3.3: internal synchronisation, fault tolerant.
#[test]
fn berkeley_keeps_the_correct_clocks_within_d_despite_a_faulty_one() {
    let config = berkeley_config();
    let d = config.skew_bound(MS(12));
    let correct = berkeley::scenario_correct(NODES);
    let (mut skew_worst, mut error_least) = (Duration::ZERO, Duration::MAX);
    check_seeds(SEEDS, |seed| {
        let sim = run_berkeley(seed, config);
        sync::check_synchronised(&sim, &all(NODES))?;
        berkeley::agreement(&sim, &correct, d)?;
        berkeley::validity(&sim, &correct, d, Duration::ZERO)?;
        let measures = sync::measure(&sim, &correct, sync::converged_at(&sim, &correct).unwrap());
        skew_worst = skew_worst.max(measures.skew_max);
        error_least = error_least.min(measures.error_max);
        Ok::<_, String>(())
    });
    eprintln!(
        "berkeley: worst skew among correct clocks {skew_worst:?} (D = {d:?}); \
         smallest max error vs true time {error_least:?}, over {} seeds",
        SEEDS.end
    );
}

#[test]
fn berkeley_without_the_outlier_filter_is_dragged_by_the_faulty_clock() {
    let broken = BerkeleyConfig {
        threshold: None,
        ..berkeley_config()
    };
    let d = broken.skew_bound(MS(12));
    let correct = berkeley::scenario_correct(NODES);
    check_seeds(SEEDS, |seed| {
        let sim = run_berkeley(seed, broken);
        match berkeley::validity(&sim, &correct, d, Duration::ZERO) {
            Err(why) if why.contains("dragged") => Ok(()),
            other => Err(format!("validity should fail, got {other:?}")),
        }
    });
}

#[test]
fn berkeley_agrees_internally_while_the_group_drifts_from_true_time() {
    // Internal is not external: the group agrees to within a few ms, but
    // its time is the average of the clocks, tens of ms from true time.
    let config = berkeley_config();
    let correct = berkeley::scenario_correct(NODES);
    let (mut skew_sum, mut error_sum) = (Duration::ZERO, Duration::ZERO);
    for seed in 0..20 {
        let sim = run_berkeley(seed, config);
        let m = sync::measure(&sim, &correct, sync::converged_at(&sim, &correct).unwrap());
        skew_sum += m.skew_max;
        error_sum += m.error_max;
    }
    assert!(
        error_sum > skew_sum * 3,
        "mean skew {:?}, mean error {:?}",
        skew_sum / 20,
        error_sum / 20
    );
}

#[test]
fn berkeley_master_round() {
    let config = BerkeleyConfig {
        polls_per_round: 2,
        poll_timeout: MS(50),
        round_trip_max: MS(40),
        threshold: Some(MS(100)),
        min_one_way_delay: MS(1),
        sample_interval: None,
        ..BerkeleyConfig::default()
    };
    let (n0, n1, n2) = (NodeId(0), NodeId(1), NodeId(2));
    let mut h = Harness::new(Berkeley::new(n0, config).unwrap(), n0, 3);
    h.set_now(MS(1000));
    let poll = |to, poll| Effect::Send {
        to,
        msg: berkeley::Msg::Poll { round: 1, poll },
    };
    assert_eq!(
        h.start(),
        vec![
            poll(n1, 0),
            poll(n2, 0),
            Effect::SetTimer {
                after: MS(50),
                timer: berkeley::Timer::Average { round: 1 }
            },
            Effect::SetTimer {
                after: MS(250),
                timer: berkeley::Timer::Round
            },
        ]
    );
    let time = |poll, clock| berkeley::Msg::Time {
        round: 1,
        poll,
        clock: MS(clock),
    };
    // n1: RTT 4 ms, offset 1100 + 2 − 1004 = +98 ms; polled again.
    h.set_now(MS(1004));
    assert_eq!(h.message(n1, time(0, 1100)), vec![poll(n1, 1)]);
    // RTT 2 ms, offset 1101 + 1 − 1006 = +96 ms: the better estimate.
    h.set_now(MS(1006));
    assert_eq!(h.message(n1, time(1, 1101)), vec![]);
    // n2: RTT 8 ms, offset 900 + 4 − 1008 = −104 ms; its second poll is lost.
    h.set_now(MS(1008));
    assert_eq!(h.message(n2, time(0, 900)), vec![poll(n2, 1)]);
    assert_eq!(h.message(n2, time(0, 900)), vec![], "a duplicate reply");
    // {0, +96} lie within 100 ms and hold the master; −104 is left out:
    // average +48 ms. Everyone is corrected, n2 too; the master by +48 ms.
    h.set_now(MS(1050));
    assert_eq!(
        h.timer(berkeley::Timer::Average { round: 1 }),
        vec![
            Effect::Send {
                to: n1,
                msg: berkeley::Msg::Adjust {
                    round: 1,
                    adjustment_ns: -48_000_000,
                    // (2/2 − 1) ms + ρ·2 ms + 2ρ·44 ms.
                    accuracy: US(1 + 2 * 22),
                }
            },
            Effect::Send {
                to: n2,
                msg: berkeley::Msg::Adjust {
                    round: 1,
                    adjustment_ns: 152_000_000,
                    // (8/2 − 1) ms + ρ·8 ms + 2ρ·42 ms.
                    accuracy: US(3000 + 4 + 2 * 21),
                }
            },
            Effect::Emit(SyncEvent::Adjusted {
                before: MS(1050),
                after: MS(1098),
                bound: ErrorBound::Internal(Duration::ZERO),
            }),
        ]
    );
    assert_eq!(h.timer(berkeley::Timer::Average { round: 1 }), vec![]);
}

#[test]
fn berkeley_slave_applies_each_adjustment_once() {
    let config = BerkeleyConfig {
        sample_interval: None,
        ..BerkeleyConfig::default()
    };
    let (n0, n1) = (NodeId(0), NodeId(1));
    let mut h = Harness::new(Berkeley::new(n1, config).unwrap(), n1, 3);
    assert_eq!(h.start(), vec![]);
    h.set_now(MS(500));
    assert_eq!(
        h.message(n0, berkeley::Msg::Poll { round: 7, poll: 0 }),
        vec![Effect::Send {
            to: n0,
            msg: berkeley::Msg::Time {
                round: 7,
                poll: 0,
                clock: MS(500)
            }
        }]
    );
    let adjust = |round| berkeley::Msg::Adjust {
        round,
        adjustment_ns: 20_000_000,
        accuracy: MS(1),
    };
    assert_eq!(
        h.message(n0, adjust(6)),
        vec![],
        "not the round it reported in"
    );
    assert_eq!(
        h.message(n0, adjust(7)),
        vec![Effect::Emit(SyncEvent::Adjusted {
            before: MS(500),
            after: MS(520),
            bound: ErrorBound::Internal(MS(1)),
        })]
    );
    assert_eq!(h.message(n0, adjust(7)), vec![], "a duplicate");
    assert_eq!(
        h.message(NodeId(2), berkeley::Msg::Poll { round: 8, poll: 0 }),
        vec![],
        "only the master polls"
    );
}

// ----- NTP ---------------------------------------------------------------------

fn ntp_config() -> NtpConfig {
    NtpConfig {
        min_one_way_delay: MIN_DELAY,
        ..NtpConfig::default()
    }
}

fn run_ntp(seed: u64, config: NtpConfig) -> Simulation<Ntp> {
    let roles = ntp::hierarchy(NODES);
    let mut sim = Simulation::new(NODES, seed, move |id| {
        Ntp::new(roles[id.index()].clone(), config).unwrap()
    });
    asymmetric_links(&mut sim, seed, false);
    drifting_clocks(&mut sim, seed, &[NodeId(0)]);
    sim.run_until(RUN).unwrap();
    sim
}

// RFC 5905 §8 (on-wire), §10 (clock filter); Coulouris §14.3.4 (strata).
#[test]
fn ntp_keeps_every_stratum_within_its_root_bound() {
    let config = ntp_config();
    let strata = ntp::hierarchy_strata(NODES);
    let mut worst = [Duration::ZERO; 3];
    check_seeds(SEEDS, |seed| {
        let sim = run_ntp(seed, config);
        ntp::strata(&sim, &strata)?;
        sync::check_external(&sim, &all(NODES), config.drift_max_ppm)?;
        for (i, w) in worst.iter_mut().enumerate() {
            let nodes: Vec<NodeId> = all(NODES)
                .into_iter()
                .filter(|id| strata[id.index()] == i as u8 + 1)
                .collect();
            let from = sync::converged_at(&sim, &nodes).unwrap();
            *w = (*w).max(sync::measure(&sim, &nodes, from).error_max);
        }
        Ok::<_, String>(())
    });
    eprintln!(
        "ntp: worst error after convergence by stratum 1/2/3: {:?} / {:?} / {:?} over {} seeds",
        worst[0], worst[1], worst[2], SEEDS.end
    );
}

#[test]
fn ntp_client_steps() {
    let config = NtpConfig {
        sample_interval: None,
        ..ntp_config()
    };
    let n0 = NodeId(0);
    let client = Role::Client { servers: vec![n0] };
    let mut h = Harness::new(Ntp::new(client, config).unwrap(), NodeId(1), 2);
    h.set_now(MS(1000));
    assert_eq!(
        h.start(),
        vec![
            Effect::Send {
                to: n0,
                msg: Packet {
                    stratum: ntp::STRATUM_UNSYNCHRONISED,
                    root_bound: Duration::MAX,
                    origin: None,
                    receive: None,
                    transmit: MS(1000),
                }
            },
            Effect::SetTimer {
                after: MS(100),
                timer: ntp::Timer::Poll
            },
        ]
    );
    // T1 = 1000, T2 = 2004, T3 = 2100, T4 = 1110:
    // θ = (1004 + 990)/2 = 997 ms, δ = 110 − 96 = 14 ms,
    // bound = 14/2 − 1 ms + ρ·110 ms = 6.055 ms.
    let answer = Packet {
        stratum: 1,
        root_bound: Duration::ZERO,
        origin: Some(MS(1000)),
        receive: Some(MS(2004)),
        transmit: MS(2100),
    };
    h.set_now(MS(1110));
    assert_eq!(
        h.message(n0, answer.clone()),
        vec![Effect::Emit(SyncEvent::Adjusted {
            before: MS(1110),
            after: MS(2107),
            bound: ErrorBound::External(US(6055)),
        })]
    );
    assert_eq!(h.node().stratum(), 2);
    assert_eq!(h.message(n0, answer), vec![], "a duplicate");
    // The next packet answers the server's, on the synchronised clock, and
    // carries the bound grown by 90 ms of drift.
    h.set_now(MS(1200));
    assert_eq!(
        h.timer(ntp::Timer::Poll),
        vec![
            Effect::Send {
                to: n0,
                msg: Packet {
                    stratum: 2,
                    root_bound: US(6055 + 45),
                    origin: Some(MS(2100)),
                    receive: Some(MS(2107)),
                    transmit: MS(2197),
                }
            },
            Effect::SetTimer {
                after: MS(100),
                timer: ntp::Timer::Poll
            },
        ]
    );
    // An answer to a packet we never sent is bogus: no sample.
    h.set_now(MS(1250));
    let bogus = Packet {
        stratum: 1,
        root_bound: Duration::ZERO,
        origin: Some(MS(1999)),
        receive: Some(MS(2240)),
        transmit: MS(2241),
    };
    assert_eq!(h.message(n0, bogus), vec![]);
    assert_eq!(h.node().filter(n0).len(), 1);
}

#[test]
fn ntp_reference_answers_on_its_own_polls() {
    let config = NtpConfig {
        sample_interval: None,
        ..ntp_config()
    };
    let n1 = NodeId(1);
    let mut h = Harness::new(Ntp::new(Role::Reference, config).unwrap(), NodeId(0), 2);
    assert_eq!(
        h.start(),
        vec![
            Effect::Emit(SyncEvent::Adjusted {
                before: Duration::ZERO,
                after: Duration::ZERO,
                bound: ErrorBound::External(Duration::ZERO),
            }),
            Effect::SetTimer {
                after: MS(100),
                timer: ntp::Timer::Poll
            },
        ]
    );
    h.set_now(MS(60));
    let hello = Packet {
        stratum: ntp::STRATUM_UNSYNCHRONISED,
        root_bound: Duration::MAX,
        origin: None,
        receive: None,
        transmit: MS(50),
    };
    assert_eq!(h.message(n1, hello), vec![]);
    h.set_now(MS(100));
    assert_eq!(
        h.timer(ntp::Timer::Poll),
        vec![
            Effect::Send {
                to: n1,
                msg: Packet {
                    stratum: 1,
                    root_bound: Duration::ZERO,
                    origin: Some(MS(50)),
                    receive: Some(MS(60)),
                    transmit: MS(100),
                }
            },
            Effect::SetTimer {
                after: MS(100),
                timer: ntp::Timer::Poll
            },
        ]
    );
}

// ----- scenarios (`dsys sim …`) ------------------------------------------------

#[test]
fn the_registered_scenarios_pass_with_default_options() {
    for algorithm in [cristian::ALGORITHM, berkeley::ALGORITHM, ntp::ALGORITHM] {
        for seed in 0..5 {
            let options = SimOptions {
                nodes: 5,
                seed,
                ..SimOptions::default()
            };
            let outcome = (algorithm.run)(&options).unwrap();
            assert!(outcome.report.passed(), "{}", outcome.report);
            assert!(
                outcome
                    .report
                    .verdicts
                    .iter()
                    .all(|(_, v)| *v == dsys_core::scenario::Verdict::Holds),
                "{}",
                outcome.report
            );
        }
    }
}

#[test]
fn the_scenarios_judge_accuracy_on_lossy_networks_and_skip_the_rest() {
    for algorithm in [cristian::ALGORITHM, berkeley::ALGORITHM, ntp::ALGORITHM] {
        let options = SimOptions {
            nodes: 5,
            seed: 3,
            loss: 0.2,
            duplicate: 0.1,
            reorder: true,
            ..SimOptions::default()
        };
        let outcome = (algorithm.run)(&options).unwrap();
        assert!(outcome.report.passed(), "{}", outcome.report);
    }
}

#[test]
fn short_runs_skip_what_they_cannot_judge() {
    for algorithm in [cristian::ALGORITHM, berkeley::ALGORITHM, ntp::ALGORITHM] {
        let options = SimOptions {
            nodes: 5,
            until: MS(5),
            ..SimOptions::default()
        };
        let outcome = (algorithm.run)(&options).unwrap();
        assert!(outcome.report.passed(), "{}", outcome.report);
    }
}

/// Thousands of seeds: `cargo test -p dsys-clocks --test time physical -- --ignored`.
#[test]
#[ignore = "soak: thousands of seeds"]
fn soak_every_algorithm_over_thousands_of_seeds() {
    let correct = berkeley::scenario_correct(NODES);
    let (cristian, berkeley, ntp) = (cristian_config(), berkeley_config(), ntp_config());
    check_seeds(1000..6000, |seed| {
        let sim = run_cristian(seed, cristian);
        sync::check_external(&sim, &all(NODES), cristian.drift_max_ppm)?;
        let sim = run_berkeley(seed, berkeley);
        berkeley::agreement(&sim, &correct, berkeley.skew_bound(MS(12)))?;
        berkeley::validity(&sim, &correct, berkeley.skew_bound(MS(12)), Duration::ZERO)?;
        let sim = run_ntp(seed, ntp);
        ntp::strata(&sim, &ntp::hierarchy_strata(NODES))?;
        sync::check_external(&sim, &all(NODES), ntp.drift_max_ppm)
    });
}

// ----- the software clock --------------------------------------------------------

proptest! {
    // A clock that only slews never runs backwards, whatever the corrections,
    // and a finished slew has moved the clock by exactly the correction.
    #[test]
    fn a_slewing_clock_never_runs_backwards(
        rate_ppm in 1u32..1_000_000,
        steps in prop::collection::vec((0u64..50_000_000, -100_000_000i64..100_000_000), 1..40),
    ) {
        let mut clock = SoftwareClock::new(Discipline::slew(rate_ppm)).unwrap();
        let mut hardware = Duration::from_secs(1);
        let mut last = clock.read_ns(hardware);
        for (advance_ns, correction_ns) in steps {
            for _ in 0..4 {
                hardware += Duration::from_nanos(advance_ns / 4);
                let now = clock.read_ns(hardware);
                prop_assert!(now >= last, "went back from {} to {}", last, now);
                last = now;
            }
            clock.adjust(hardware, correction_ns);
            let now = clock.read_ns(hardware);
            prop_assert_eq!(now, last, "a slew must not jump");
        }
        let settled = clock.offset_ns(hardware) + clock.slew_remaining_ns(hardware);
        let done = hardware + Duration::from_secs(200_000);
        prop_assert_eq!(clock.offset_ns(done), settled);
        prop_assert_eq!(clock.slew_remaining_ns(done), 0);
    }
}

#[test]
fn a_slewing_cristian_client_never_runs_backwards() {
    // With a discipline that never steps, the synchronised clock is monotonic
    // (the claim grows by what is still to be slewed, so accuracy still holds).
    let config = CristianConfig {
        discipline: Discipline::slew(50_000),
        ..cristian_config()
    };
    check_seeds(0..20, |seed| {
        let sim = run_cristian(seed, config);
        sync::check_external(&sim, &all(NODES), config.drift_max_ppm)?;
        for id in sim.ids() {
            let track = sync::ClockTrack::new(sim.events(id));
            if let Some(w) = track
                .points()
                .windows(2)
                .find(|w| w[1].clock_ns < w[0].clock_ns)
            {
                return Err(format!("{id} ran backwards: {:?} then {:?}", w[0], w[1]));
            }
        }
        Ok::<_, String>(())
    });
}
