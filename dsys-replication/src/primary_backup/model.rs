//! `dsys check primary-backup`: failover on three replicas, every
//! interleaving up to a bound, judged by linearizability over what the
//! clients saw.
//!
//! Client 1 puts `x = 1` at replica 0, the primary of view 0; client 2
//! gets `x` at replica 1 once it is the primary of a later view (its read
//! through the replication protocol, [`Read::Linearizable`]). A replica
//! may crash, and stays down ([`Model::crash_stop`], the scheme's
//! assumption). Each replica has a clock of its own that its heartbeat
//! timer moves ([`Model::local_clocks`]); the failure detector's timeout is
//! shorter than the heartbeat period, so a replica suspects any peer it has
//! not heard from since its last tick, and view changes are as early as a
//! real detector could make them. Timer firings are bounded: the heartbeat
//! timer re-arms for ever.
//!
//! The property is the clients' own: the history of calls and answers
//! (a [`Property::history`]) must be linearizable, as the
//! [linearizability checker](crate::consistency::check_linearizable)
//! judges it against the [`Kv`] model. A primary that answers before its
//! backups acknowledge ([`Defect::AnswersBeforeAcks`]) breaks it: it
//! answers the put, and the next view's primary never heard of the write.
//! No crash is needed: a backup that suspects a primary which is only slow
//! (a detector can do no better) starts that view as surely as one whose
//! primary crashed.
//!
//! ```
//! use dsys_replication::primary_backup::model::model;
//! use dsys_replication::primary_backup::Defect;
//!
//! let report = model(Some(Defect::AnswersBeforeAcks), 1).check();
//! let (property, steps) = report.counterexample().expect("found");
//! assert!(property.starts_with("Linearizable"), "{report}");
//! // The put answered at once; n1 suspects n0 (its first tick), n2 votes
//! // for view 1, n1 starts it without the put and answers the get.
//! assert_eq!(steps.len(), 5, "{report}");
//! ```

use std::collections::HashMap;
use std::time::Duration;

use dsys_core::failure_detector::HeartbeatConfig;
use dsys_core::model::{History, Model, ModelOptions, ModelVerdict, Observed, Property};
use dsys_core::NodeId;

use super::{Defect, PbEvent, PrimaryBackup, PrimaryBackupConfig, Status};
use crate::consistency::check_linearizable;
use crate::consistency::history::Recorder;
use crate::consistency::models::{Kv, KvOp};
use crate::consistency::report::Budget;
use crate::kv::{Answer, Call, Read, RequestId};

/// How many times timers may fire in a run unless `dsys check --timers`
/// says otherwise: one, enough for a backup to suspect a crashed primary.
pub const MODEL_TIMERS_MAX: u32 = 1;

/// The replicas' configuration in the model: a detector that suspects a
/// peer not heard from since the last tick (timeout below the period),
/// and a view change that never times out within the model's runs.
pub fn model_config(defect: Option<Defect>) -> PrimaryBackupConfig {
    PrimaryBackupConfig {
        heartbeat: HeartbeatConfig {
            period: Duration::from_millis(20),
            timeout: Duration::from_millis(10),
            timeout_increment: Duration::ZERO,
            timeout_max: Duration::from_millis(10),
        },
        view_change_timeout: Duration::from_secs(3_600),
        defect,
        ..PrimaryBackupConfig::default()
    }
}

/// The model `dsys check primary-backup` explores: three replicas, a put
/// at replica 0 and a get at replica 1 once it leads, up to `crashes`
/// crashes (crash-stop), timers firing at most [`MODEL_TIMERS_MAX`] times,
/// and linearizability of the clients' history.
pub fn model(defect: Option<Defect>, crashes: u32) -> Model<PrimaryBackup> {
    let config = model_config(defect);
    let call = |client, op| Call {
        id: RequestId { client, seq: 1 },
        op,
        read: Read::Linearizable,
    };
    Model::new(3, move |_| PrimaryBackup::new(config.clone()))
        .local_clocks()
        .crash_stop()
        .crashes_max(crashes)
        .timers_max(MODEL_TIMERS_MAX)
        .request(
            NodeId(0),
            call(
                1,
                KvOp::Put {
                    key: "x".into(),
                    value: "1".into(),
                },
            ),
        )
        .request_when(
            NodeId(1),
            call(2, KvOp::Get { key: "x".into() }),
            |n: &PrimaryBackup| n.is_primary(NodeId(1)) && n.status() == Status::Normal,
        )
        .observes(|seen: &Observed<PrimaryBackup>| {
            matches!(
                seen,
                Observed::Request { .. }
                    | Observed::Event {
                        event: PbEvent::Answer(_),
                        ..
                    }
            )
        })
        .property(Property::history(
            "Linearizable: the clients' history has a legal sequential order",
            linearizable,
        ))
}

/// Whether the calls and answers in `history` are linearizable against
/// the [`Kv`] model: each step's position is its time. A call answered
/// `NotPrimary` stays open: the front end sends it again, under the same
/// id, to another replica, and it may already have taken effect (a
/// primary that executed it may have passed it on in a view change).
pub fn linearizable(history: &History<PrimaryBackup>) -> Result<(), String> {
    let mut recorder = Recorder::new();
    let mut open = HashMap::new();
    for (time, seen) in history.iter().enumerate() {
        let time = time as u64;
        let recorded = match seen {
            Observed::Request { request, .. } => recorder
                .invoke(request.id.client, time, request.op.clone())
                .map(|op| {
                    open.insert(request.id, op);
                }),
            Observed::Event {
                event: PbEvent::Answer(answer),
                ..
            } => match answer {
                Answer::Done { id, ret, .. } => match open.remove(id) {
                    Some(op) => recorder.complete(op, time, ret.clone()),
                    None => Ok(()), // a duplicate answer: the first counted
                },
                Answer::NotPrimary { .. } => Ok(()),
            },
            Observed::Event { .. } => Ok(()),
        };
        recorded.map_err(|e| format!("the history cannot be recorded: {e}"))?;
    }
    let history = recorder.finish();
    let report = check_linearizable(&Kv, &history, Budget::default());
    if report.holds() {
        return Ok(());
    }
    let calls: Vec<String> = history
        .ops()
        .iter()
        .map(|op| match &op.output {
            Some(ret) => format!("client {} {:?} returned {ret:?}", op.client, op.input),
            None => format!("client {} {:?} never returned", op.client, op.input),
        })
        .collect();
    Err(format!(
        "no sequential order of the calls explains their answers: {}",
        calls.join("; ")
    ))
}

/// `dsys check primary-backup`: at least one crash, or there is no
/// failover to check.
pub(crate) fn check_model(
    options: &ModelOptions,
    defect: Option<Defect>,
) -> dsys_core::Result<ModelVerdict> {
    if options.nodes != 3 {
        return Err(dsys_core::Error::InvalidConfig(format!(
            "--nodes {}: primary-backup's model has three replicas (f = 1 under a majority \
             quorum); leave --nodes out",
            options.nodes
        )));
    }
    let crashes = options.crashes_max.max(1);
    Ok(model(defect, crashes)
        .options(options)
        .crashes_max(crashes)
        .verdict())
}
