//! The bully election's unit tests.

use super::*;
use dsys_core::testing::Harness;

const MS: fn(u64) -> Duration = Duration::from_millis;

fn quiet() -> BullyConfig {
    BullyConfig {
        elect_on_start: false,
        ..BullyConfig::default()
    }
}

#[test]
fn an_election_asks_the_higher_processes_and_waits() {
    let mut h = Harness::new(Bully::new(quiet()).unwrap(), NodeId(1), 4);
    h.start();
    assert_eq!(
        h.request(ElectionRequest::Start),
        vec![
            Effect::Emit(ElectionEvent::Started),
            Effect::Send {
                to: NodeId(2),
                msg: Msg::Election
            },
            Effect::Send {
                to: NodeId(3),
                msg: Msg::Election
            },
            Effect::SetTimer {
                after: MS(50),
                timer: Timer::AnswerTimeout { round: 1 }
            },
        ]
    );
    // An answer: wait for the coordinator instead.
    assert_eq!(
        h.message(NodeId(3), Msg::Answer),
        vec![
            Effect::SetTimer {
                after: MS(150),
                timer: Timer::CoordinatorTimeout { round: 1 }
            },
            Effect::CancelTimer {
                timer: Timer::AnswerTimeout { round: 1 }
            },
        ]
    );
    assert_eq!(
        h.message(NodeId(3), Msg::Coordinator),
        vec![
            Effect::CancelTimer {
                timer: Timer::CoordinatorTimeout { round: 1 }
            },
            Effect::Emit(ElectionEvent::Elected(NodeId(3))),
        ]
    );
    assert_eq!(h.node().leader(), Some(NodeId(3)));
}

#[test]
fn no_answer_means_declare_and_tell_the_lower_processes() {
    let mut h = Harness::new(Bully::new(quiet()).unwrap(), NodeId(2), 4);
    h.start();
    h.request(ElectionRequest::Start);
    assert_eq!(
        h.timer(Timer::AnswerTimeout { round: 1 }),
        vec![
            Effect::Emit(ElectionEvent::Elected(NodeId(2))),
            Effect::Send {
                to: NodeId(0),
                msg: Msg::Coordinator
            },
            Effect::Send {
                to: NodeId(1),
                msg: Msg::Coordinator
            },
        ]
    );
    // A stale timer of an old round does nothing.
    assert_eq!(h.timer(Timer::AnswerTimeout { round: 1 }), vec![]);
}

#[test]
fn the_highest_declares_at_once_and_answers_lower_elections() {
    let mut h = Harness::new(Bully::new(BullyConfig::default()).unwrap(), NodeId(2), 3);
    assert_eq!(
        h.start(),
        vec![
            Effect::SetTimer {
                after: MS(50),
                timer: Timer::Tick
            },
            Effect::Emit(ElectionEvent::Started),
            Effect::Emit(ElectionEvent::Elected(NodeId(2))),
            Effect::Send {
                to: NodeId(0),
                msg: Msg::Coordinator
            },
            Effect::Send {
                to: NodeId(1),
                msg: Msg::Coordinator
            },
        ]
    );
    // A lower process starts an election: answer it, and re-assert.
    assert_eq!(
        h.message(NodeId(0), Msg::Election),
        vec![
            Effect::Send {
                to: NodeId(0),
                msg: Msg::Answer
            },
            Effect::Emit(ElectionEvent::Started),
            Effect::Send {
                to: NodeId(0),
                msg: Msg::Coordinator
            },
            Effect::Send {
                to: NodeId(1),
                msg: Msg::Coordinator
            },
        ]
    );
}

#[test]
fn a_suspected_coordinator_is_skipped_and_the_next_declares_itself() {
    let config = BullyConfig {
        initial_leader: Some(NodeId(3)),
        ..quiet()
    };
    let mut h = Harness::new(Bully::new(config).unwrap(), NodeId(2), 4);
    h.start();
    // Rank 1: suspicion after 200 + 100 ms of silence.
    h.set_now(MS(300));
    assert_eq!(
        h.timer(Timer::Tick),
        vec![Effect::SetTimer {
            after: MS(50),
            timer: Timer::Tick
        }]
    );
    h.set_now(MS(350));
    assert_eq!(
        h.timer(Timer::Tick),
        vec![
            Effect::SetTimer {
                after: MS(50),
                timer: Timer::Tick
            },
            Effect::Emit(ElectionEvent::Started),
            Effect::Emit(ElectionEvent::Elected(NodeId(2))),
            Effect::Send {
                to: NodeId(0),
                msg: Msg::Coordinator
            },
            Effect::Send {
                to: NodeId(1),
                msg: Msg::Coordinator
            },
        ]
    );
}

#[test]
fn a_coordinator_from_below_is_bullied_unless_the_variant_is_broken() {
    let config = BullyConfig {
        initial_leader: Some(NodeId(1)),
        ..quiet()
    };
    let mut h = Harness::new(Bully::new(config).unwrap(), NodeId(2), 3);
    h.start();
    assert_eq!(
        h.message(NodeId(1), Msg::Coordinator),
        vec![
            Effect::Emit(ElectionEvent::Started),
            Effect::Emit(ElectionEvent::Elected(NodeId(2))),
            Effect::Send {
                to: NodeId(0),
                msg: Msg::Coordinator
            },
            Effect::Send {
                to: NodeId(1),
                msg: Msg::Coordinator
            },
        ]
    );
    let meek = BullyConfig {
        bullies: false,
        ..config
    };
    let mut h = Harness::new(Bully::new(meek).unwrap(), NodeId(2), 3);
    h.start();
    assert_eq!(h.message(NodeId(1), Msg::Coordinator), vec![]);
    assert_eq!(h.node().leader(), Some(NodeId(1)));
}

#[test]
fn invalid_configurations_say_what_to_fix() {
    let bad = BullyConfig {
        coordinator_timeout: MS(10),
        ..BullyConfig::default()
    };
    let err = Bully::new(bad).unwrap_err();
    assert!(err.to_string().contains("coordinator_timeout"), "{err}");
}

#[test]
fn a_zero_period_or_answer_timeout_is_refused_and_equal_timeouts_are_fine() {
    let zero_period = BullyConfig {
        heartbeat: HeartbeatConfig {
            period: MS(0),
            ..HeartbeatConfig::default()
        },
        ..BullyConfig::default()
    };
    assert!(zero_period.validate().is_err());
    let zero_answer = BullyConfig {
        answer_timeout: MS(0),
        coordinator_timeout: MS(0),
        ..BullyConfig::default()
    };
    assert!(zero_answer.validate().is_err());
    let equal = BullyConfig {
        answer_timeout: MS(80),
        coordinator_timeout: MS(80),
        ..BullyConfig::default()
    };
    assert_eq!(equal.validate(), Ok(()));
    assert_eq!(*Bully::new(equal).unwrap().config(), equal);
}

#[test]
fn the_process_shows_its_election_and_rounds() {
    let mut h = Harness::new(Bully::new(quiet()).unwrap(), NodeId(1), 3);
    h.start();
    assert!(!h.node().is_electing());
    assert_eq!(h.node().elections_started(), 0);
    h.request(ElectionRequest::Start);
    assert!(h.node().is_electing());
    h.timer(Timer::AnswerTimeout { round: 1 });
    assert!(!h.node().is_electing(), "declared");
    h.request(ElectionRequest::Start);
    assert_eq!(h.node().elections_started(), 2);
}

#[test]
fn an_election_from_a_higher_process_is_ignored() {
    let mut h = Harness::new(Bully::new(quiet()).unwrap(), NodeId(1), 3);
    h.start();
    assert_eq!(h.message(NodeId(2), Msg::Election), vec![]);
    assert!(!h.node().is_electing());
}

#[test]
fn no_coordinator_after_an_answer_means_start_again() {
    let mut h = Harness::new(Bully::new(quiet()).unwrap(), NodeId(1), 3);
    h.start();
    h.request(ElectionRequest::Start);
    h.message(NodeId(2), Msg::Answer);
    assert_eq!(
        h.timer(Timer::CoordinatorTimeout { round: 1 }),
        vec![
            Effect::Emit(ElectionEvent::Started),
            Effect::Send {
                to: NodeId(2),
                msg: Msg::Election
            },
            Effect::SetTimer {
                after: MS(50),
                timer: Timer::AnswerTimeout { round: 2 }
            },
        ]
    );
    assert_eq!(h.timer(Timer::CoordinatorTimeout { round: 1 }), vec![]);
}

// Heartbeats (module docs, steps 1 and 5).
#[test]
fn the_coordinator_sends_heartbeats_every_period() {
    let config = BullyConfig {
        initial_leader: Some(NodeId(2)),
        ..quiet()
    };
    let mut h = Harness::new(Bully::new(config).unwrap(), NodeId(2), 3);
    h.start();
    assert_eq!(
        h.timer(Timer::Tick),
        vec![
            Effect::SetTimer {
                after: MS(50),
                timer: Timer::Tick
            },
            Effect::Send {
                to: NodeId(0),
                msg: Msg::Heartbeat
            },
            Effect::Send {
                to: NodeId(1),
                msg: Msg::Heartbeat
            },
        ]
    );
}

#[test]
fn a_heartbeat_during_an_election_is_ignored() {
    let mut h = Harness::new(Bully::new(quiet()).unwrap(), NodeId(1), 3);
    h.start();
    h.request(ElectionRequest::Start);
    assert_eq!(h.message(NodeId(0), Msg::Heartbeat), vec![]);
    assert_eq!(h.message(NodeId(2), Msg::Heartbeat), vec![]);
    assert_eq!(h.node().leader(), None);
}

#[test]
fn a_coordinator_tells_a_lower_heartbeat_sender_again() {
    let config = BullyConfig {
        initial_leader: Some(NodeId(2)),
        ..quiet()
    };
    let mut h = Harness::new(Bully::new(config).unwrap(), NodeId(2), 3);
    h.start();
    assert_eq!(
        h.message(NodeId(1), Msg::Heartbeat),
        vec![Effect::Send {
            to: NodeId(1),
            msg: Msg::Coordinator
        }]
    );
    let meek = BullyConfig {
        bullies: false,
        ..config
    };
    let mut h = Harness::new(Bully::new(meek).unwrap(), NodeId(2), 3);
    h.start();
    assert_eq!(h.message(NodeId(1), Msg::Heartbeat), vec![]);
}

#[test]
fn a_heartbeat_from_a_lower_coordinator_is_bullied() {
    let config = BullyConfig {
        initial_leader: Some(NodeId(1)),
        ..quiet()
    };
    let mut h = Harness::new(Bully::new(config).unwrap(), NodeId(2), 3);
    h.start();
    assert_eq!(
        h.message(NodeId(1), Msg::Heartbeat),
        vec![
            Effect::Emit(ElectionEvent::Started),
            Effect::Emit(ElectionEvent::Elected(NodeId(2))),
            Effect::Send {
                to: NodeId(0),
                msg: Msg::Coordinator
            },
            Effect::Send {
                to: NodeId(1),
                msg: Msg::Coordinator
            },
        ]
    );
}

#[test]
fn a_heartbeat_is_adopted_only_by_a_process_without_a_leader() {
    // A process that recovered without an election learns the leader.
    let mut h = Harness::new(Bully::new(quiet()).unwrap(), NodeId(0), 3);
    h.start();
    assert_eq!(
        h.message(NodeId(2), Msg::Heartbeat),
        vec![Effect::Emit(ElectionEvent::Elected(NodeId(2)))]
    );
    // One that holds a leader keeps it.
    assert_eq!(h.message(NodeId(1), Msg::Heartbeat), vec![]);
    assert_eq!(h.node().leader(), Some(NodeId(2)));
    // The meek variant adopts a lower heartbeat sender when it has none.
    let meek = BullyConfig {
        bullies: false,
        ..quiet()
    };
    let mut h = Harness::new(Bully::new(meek).unwrap(), NodeId(2), 3);
    h.start();
    assert_eq!(
        h.message(NodeId(1), Msg::Heartbeat),
        vec![Effect::Emit(ElectionEvent::Elected(NodeId(1)))]
    );
}

/// A host node that embeds a bully election (module docs, "Embedding").
#[derive(Debug)]
struct Host {
    election: Bully,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum HostMsg {
    Election(Msg),
}

impl Message for HostMsg {}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum HostTimer {
    Election(Timer),
}

impl Host {
    fn election(&mut self, ctx: &mut Context<'_, Self>, input: Input) {
        let events = self
            .election
            .step(ctx, input, HostMsg::Election, HostTimer::Election);
        for event in events {
            ctx.emit(event);
        }
    }
}

impl Node for Host {
    type Msg = HostMsg;
    type Timer = HostTimer;
    type Request = ();
    type Event = ElectionEvent;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.election(ctx, Input::Start);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: HostMsg) {
        let HostMsg::Election(msg) = msg;
        self.election(ctx, Input::Message { from, msg });
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: HostTimer) {
        let HostTimer::Election(timer) = timer;
        self.election(ctx, Input::Timer(timer));
    }
}

#[test]
fn an_embedded_election_records_wrapped_effects_and_returns_its_events() {
    let election = Bully::new(BullyConfig::default()).unwrap();
    let mut h = Harness::new(Host { election }, NodeId(1), 3);
    let wrapped = |msg| HostMsg::Election(msg);
    assert_eq!(
        h.start(),
        vec![
            Effect::SetTimer {
                after: MS(50),
                timer: HostTimer::Election(Timer::Tick)
            },
            Effect::Send {
                to: NodeId(2),
                msg: wrapped(Msg::Election)
            },
            Effect::SetTimer {
                after: MS(50),
                timer: HostTimer::Election(Timer::AnswerTimeout { round: 1 })
            },
            Effect::Emit(ElectionEvent::Started),
        ]
    );
    assert_eq!(
        h.message(NodeId(2), wrapped(Msg::Answer)),
        vec![
            Effect::SetTimer {
                after: MS(150),
                timer: HostTimer::Election(Timer::CoordinatorTimeout { round: 1 })
            },
            Effect::CancelTimer {
                timer: HostTimer::Election(Timer::AnswerTimeout { round: 1 })
            },
        ]
    );
    assert_eq!(
        h.message(NodeId(2), wrapped(Msg::Coordinator)),
        vec![
            Effect::CancelTimer {
                timer: HostTimer::Election(Timer::CoordinatorTimeout { round: 1 })
            },
            Effect::Emit(ElectionEvent::Elected(NodeId(2))),
        ]
    );
    assert_eq!(h.node().election.leader(), Some(NodeId(2)));
}

#[test]
fn the_settle_time_adds_detection_and_three_election_rounds() {
    let config = BullyConfig::default();
    // 200 ms detection + 4 × 100 ms stagger + 2 × 50 ms periods
    // + 3 × (150 ms coordinator timeout + 4 × 10 ms latency).
    assert_eq!(settle_time(&config, 4, MS(10)), MS(200 + 400 + 100 + 570));
    assert_eq!(settle_time(&config, 1, MS(0)), MS(200 + 100 + 100 + 450));
}

fn sim_options(settings: &[&str], defect: Option<&str>) -> SimOptions {
    SimOptions {
        settings: settings.iter().map(|s| s.parse().unwrap()).collect(),
        defect: defect.map(str::to_string),
        ..SimOptions::default()
    }
}

#[test]
fn the_settings_and_the_defect_choose_the_configuration() {
    let config = configured(&sim_options(&[], None)).unwrap();
    assert_eq!(config, BullyConfig::default());
    let config = configured(&sim_options(
        &["answer-timeout-ms=70", "coordinator-timeout-ms=90"],
        Some("declares-without-waiting"),
    ))
    .unwrap();
    assert_eq!(
        config,
        BullyConfig {
            answer_timeout: MS(70),
            coordinator_timeout: MS(90),
            waits_for_answers: false,
            ..BullyConfig::default()
        }
    );
    let err = configured(&sim_options(&["coordinator-timeout-ms=10"], None)).unwrap_err();
    assert!(err.to_string().contains("not make a valid bully"), "{err}");
}

#[test]
fn the_model_wants_every_process_to_hold_the_highest_once() {
    // Nobody starts an election: no process ever holds a leader, and
    // the "sometimes" property says so.
    let report = model(3, quiet()).check();
    assert!(!report.passed(), "{report}");
}

#[test]
fn dsys_check_bully_is_crash_free_and_runs_the_named_defect() {
    let options = ModelOptions::default();
    assert!(check_model(&options).unwrap().passed);
    let broken = check_model(&ModelOptions {
        defect: Some("declares-without-waiting".to_string()),
        ..ModelOptions::default()
    })
    .unwrap();
    assert!(!broken.passed, "{}", broken.text);
    assert!(check_model(&ModelOptions {
        crashes_max: 1,
        ..ModelOptions::default()
    })
    .is_err());
}

fn verdict(options: &SimOptions, name: &str) -> Verdict {
    let outcome = simulate(options).unwrap();
    let (_, verdict) = outcome
        .report
        .verdicts
        .iter()
        .find(|(n, _)| n == name)
        .expect("a verdict");
    verdict.clone()
}

#[test]
fn e2_is_judged_only_on_reliable_links_and_after_the_settle_time() {
    let clean = SimOptions {
        nodes: 3,
        seed: 4,
        ..SimOptions::default()
    };
    assert_eq!(verdict(&clean, "E2 liveness"), Verdict::Holds);
    assert_eq!(verdict(&clean, "E1 safety"), Verdict::Holds);
    let skipped =
        |options: SimOptions| matches!(verdict(&options, "E2 liveness"), Verdict::Skipped(_));
    assert!(skipped(SimOptions {
        loss: 0.1,
        ..clean.clone()
    }));
    assert!(skipped(SimOptions {
        partitions: vec![dsys_core::scenario::PartitionSpec {
            a: vec![NodeId(0)],
            b: vec![NodeId(1), NodeId(2)],
            from: MS(500),
            to: Some(MS(600)),
        }],
        ..clean.clone()
    }));
    // The settle time is 1170 ms for three processes and 10 ms links:
    // a crash at 830 ms leaves exactly that much of the 2 s run.
    let settle = settle_time(&BullyConfig::default(), 3, MS(10));
    assert_eq!(clean.until - settle, MS(830));
    let crash_at = |ms: &str| SimOptions {
        crashes: vec![format!("2@{ms}").parse().unwrap()],
        ..clean.clone()
    };
    assert_eq!(verdict(&crash_at("830"), "E2 liveness"), Verdict::Holds);
    assert!(skipped(crash_at("831")));
}

#[test]
fn e1_failures_are_expected_only_when_an_assumption_broke() {
    // Round trips beyond the answer timeout: a process takes a slow
    // higher one for dead, as the theory predicts.
    let slow = SimOptions {
        nodes: 4,
        seed: 1,
        latency: "60..80".parse().unwrap(),
        ..SimOptions::default()
    };
    assert!(
        matches!(verdict(&slow, "E1 safety"), Verdict::Expected(_)),
        "{:?}",
        verdict(&slow, "E1 safety")
    );
    // A restart while n2 declares itself: n3 comes back and announces
    // itself as n2's announcement is on its way (Coulouris §15.3.1). The
    // round trip is exactly the answer timeout, which the assumption
    // allows, so the restart is the reason given.
    let restarted = SimOptions {
        nodes: 4,
        seed: 0,
        latency: "25..25".parse().unwrap(),
        crashes: vec!["3@600".parse().unwrap()],
        restarts: vec!["3@880".parse().unwrap()],
        ..SimOptions::default()
    };
    match verdict(&restarted, "E1 safety") {
        Verdict::Expected(why) => assert!(
            why.contains("while n0 holds n3") && why.contains("a restarted process"),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
    // The broken variant fails E1 on fast links, and no assumption
    // excuses it, not even slow links.
    let broken = SimOptions {
        nodes: 4,
        defect: Some("declares-without-waiting".to_string()),
        ..SimOptions::default()
    };
    assert!(matches!(
        verdict(&broken, "E1 safety"),
        Verdict::Violated(_)
    ));
    let broken_slow = SimOptions {
        defect: Some("declares-without-waiting".to_string()),
        ..slow
    };
    assert!(matches!(
        verdict(&broken_slow, "E1 safety"),
        Verdict::Violated(_)
    ));
}
