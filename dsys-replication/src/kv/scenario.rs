//! The replicated store in `dsys sim`: each backend as a registered
//! [`Algorithm`], run with the command line's faults while simulated
//! clients call it, and judged by the consistency checkers on the
//! clients' history.
//!
//! ```
//! use dsys_core::scenario::{SimOptions, Verdict};
//! use dsys_replication::kv::scenario::PRIMARY_BACKUP;
//!
//! let options = SimOptions { seed: 3, ..SimOptions::default() };
//! let report = (PRIMARY_BACKUP.run)(&options).unwrap().report;
//! assert_eq!(report.verdicts[0], ("linearizability".to_string(), Verdict::Holds));
//! ```

use std::time::Duration;

use dsys_consensus::multi_paxos::MultiPaxosConfig;
use dsys_consensus::raft::RaftConfig;
use dsys_core::model::{ModelOptions, ModelVerdict};
use dsys_core::scenario::{
    Algorithm, DefectInfo, Outcome, Report, SettingInfo, SimOptions, Verdict,
};
use dsys_core::sim::Simulation;
use dsys_core::{NodeId, Result};

use crate::active::{Active, ActiveConfig};
use crate::consistency::history::History;
use crate::consistency::models::{Kv, KvOp, KvRet};
use crate::consistency::report::{Budget, Report as CheckReport, Verdict as CheckVerdict};
use crate::consistency::{check_linearizable, check_sequential};
use crate::primary_backup::{Defect, PbEvent, PrimaryBackup, PrimaryBackupConfig, Quorum};

use super::consensus::{multi_paxos_factory, raft_factory};
use super::simulate::{drive, Workload};
use super::{Read, Replica};

const CLIENT_SETTINGS: [SettingInfo; 2] = [
    SettingInfo {
        name: "clients",
        default: "4",
        help: "clients calling at once, each one call at a time",
    },
    SettingInfo {
        name: "keys",
        default: "2",
        help: "keys the clients share (fewer keys, more contention)",
    },
];

/// Passive replication (`dsys sim primary-backup`).
pub const PRIMARY_BACKUP: Algorithm = Algorithm {
    name: "primary-backup",
    summary: "passive replication of a key-value store: the primary executes, backups acknowledge, a majority elects the next primary; clients' history checked linearizable",
    run: run_primary_backup,
    defects: &[DefectInfo {
        name: "answers-before-acks",
        breaks: "linearizability: a primary that answers before its backups acknowledge loses an answered write to the next view (after a crash, or a suspicion: dsys check primary-backup finds it in 5 steps)",
    }],
    settings: &[
        CLIENT_SETTINGS[0],
        CLIENT_SETTINGS[1],
        SettingInfo {
            name: "quorum",
            default: "majority",
            help: "majority (2f + 1 replicas, no split brain) or unsuspected (the lecture's f + 1: trust the failure detector; a partition splits the brain)",
        },
    ],
    model: Some(check_primary_backup),
};

/// `dsys check primary-backup`.
fn check_primary_backup(options: &ModelOptions) -> Result<ModelVerdict> {
    let defect = pb_defect(options.defect.as_deref())?;
    crate::primary_backup::model::check_model(options, defect)
}

/// Active replication (`dsys sim active-replication`).
pub const ACTIVE: Algorithm = Algorithm {
    name: "active-replication",
    summary: "active replication of a key-value store: a sequencer orders every call, every replica executes and answers; linearizable, or with local reads sequentially consistent only",
    run: run_active,
    defects: &[],
    settings: &[
        CLIENT_SETTINGS[0],
        CLIENT_SETTINGS[1],
        SettingInfo {
            name: "reads",
            default: "ordered",
            help: "ordered (gets go through the sequencer: linearizable) or local (one replica answers from its copy: sequentially consistent, not linearizable)",
        },
    ],
    model: None,
};

/// The store over Raft (`dsys sim kv-raft`).
pub const KV_RAFT: Algorithm = Algorithm {
    name: "kv-raft",
    summary: "a key-value store over Raft's replicated log (reads by read-index); clients' history checked linearizable",
    run: run_kv_raft,
    defects: &[],
    settings: &CLIENT_SETTINGS,
    model: None,
};

/// The store over Multi-Paxos (`dsys sim kv-multi-paxos`).
pub const KV_MULTI_PAXOS: Algorithm = Algorithm {
    name: "kv-multi-paxos",
    summary:
        "a key-value store over Multi-Paxos' replicated log; clients' history checked linearizable",
    run: run_kv_multi_paxos,
    defects: &[],
    settings: &CLIENT_SETTINGS,
    model: None,
};

/// The clients for a run of `options`: calls start during the first part
/// of the run and the rest lets the last ones finish.
fn workload(algorithm: &Algorithm, options: &SimOptions) -> Result<Workload> {
    let settle = (options.until / 3).min(Duration::from_millis(1_500));
    Ok(Workload {
        clients: algorithm.setting(options, "clients")?,
        keys: algorithm.setting(options, "keys")?,
        duration: options.until.saturating_sub(settle),
        settle,
        ..Workload::default()
    })
}

/// What the run's faults or settings break, if anything: a failed
/// property is then expected.
type Broken = Option<String>;

/// Runs backend `R` with `options`' faults and `workload`'s clients and
/// judges the history; `figures` adds the backend's own.
fn run_kv<R: Replica>(
    algorithm: &Algorithm,
    options: &SimOptions,
    factory: impl FnMut(NodeId) -> R + 'static,
    workload: &Workload,
    broken: Broken,
    figures: impl FnOnce(&Simulation<R>) -> Vec<(String, String)>,
) -> Result<Outcome> {
    algorithm.check_settings(options)?;
    options.validate()?;
    let mut sim = Simulation::new(options.nodes, options.seed, factory);
    sim.set_all_links(options.link())?;
    sim.set_limits(options.limits);
    if options.trace {
        sim.enable_trace();
    }
    sim.schedule(&options.script())?;
    let outcome = drive(&mut sim, workload, options.seed).map_err(|e| match e {
        crate::Error::Simulation(e) => e,
        other => dsys_core::Error::InvalidConfig(other.to_string()),
    })?;

    let budget = Budget::default();
    let history = &outcome.history;
    let linearizable = check_linearizable(&Kv, history, budget);
    let mut verdicts = vec![(
        "linearizability".to_string(),
        judged(
            linearizable.verdict,
            || explain(history, &linearizable),
            broken.clone(),
        ),
    )];
    if workload.read != Read::Linearizable {
        let verdict = if linearizable.verdict == CheckVerdict::Holds {
            Verdict::Holds
        } else {
            let sequential = check_sequential(&Kv, history, budget);
            judged(sequential.verdict, || explain(history, &sequential), None)
        };
        verdicts.push(("sequential consistency".to_string(), verdict));
    }
    let c = outcome.counts;
    let mut figures_list = vec![
        (
            "calls".to_string(),
            format!(
                "{} made, {} answered, {} gets given up, {} writes of unknown outcome, {} resends",
                c.calls, c.ok, c.failed, c.indeterminate, c.resends
            ),
        ),
        (
            "availability".to_string(),
            format!("{:.1}% of calls answered", percent(c.ok, c.calls)),
        ),
    ];
    figures_list.extend(figures(&sim));
    Ok(Outcome {
        report: Report {
            algorithm: algorithm.name.to_string(),
            options: options.clone(),
            virtual_time: sim.now(),
            events: sim.events_processed(),
            metrics: sim.metrics().clone(),
            verdicts,
            figures: figures_list,
            byzantine: Vec::new(),
        },
        trace: sim.take_trace(),
    })
}

/// The most operations [`explain`] lists.
const EXPLAINED_MAX: usize = 8;

/// Why a history fails, in its operations: the smallest failing set of
/// the violated parts, each operation with its client, times and result.
fn explain<S>(history: &History<KvOp, KvRet>, report: &CheckReport<S>) -> String {
    let Some(part) = report
        .parts
        .iter()
        .filter(|p| p.verdict == CheckVerdict::Violated)
        .min_by_key(|p| p.failing.len())
    else {
        return format!("{} {}", report.property, report.verdict);
    };
    let ms = |t: u64| format!("{:.1}", t as f64 / 1e6);
    let lines: Vec<String> = part
        .failing
        .iter()
        .take(EXPLAINED_MAX)
        .map(|&i| {
            let op = &history.ops()[i];
            let output = op
                .output
                .as_ref()
                .map_or("?".to_string(), |o| format!("{o:?}"));
            let complete = op.complete.map_or("never".to_string(), ms);
            format!(
                "client {} {:?} → {output} (called at {} ms, answered at {complete} ms)",
                op.client,
                op.input,
                ms(op.invoke)
            )
        })
        .collect();
    let more = part.failing.len().saturating_sub(EXPLAINED_MAX);
    format!(
        "{} of the clients' history fails: these {} operations cannot all have happened as recorded{}:\n      {}{}",
        report.property,
        part.failing.len(),
        if part.failing_minimal { "" } else { " (not shrunk to the smallest set)" },
        lines.join("\n      "),
        if more > 0 { format!("\n      … and {more} more") } else { String::new() }
    )
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        100.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// A checker's verdict as a property's, expected to fail when `broken`.
fn judged(verdict: CheckVerdict, report: impl FnOnce() -> String, broken: Broken) -> Verdict {
    match verdict {
        CheckVerdict::Holds => Verdict::Holds,
        CheckVerdict::Violated => Verdict::unless_broken(Err(report()), broken),
        CheckVerdict::Unknown => Verdict::Skipped(
            "the checker's budget ran out on this history: fewer clients or a shorter --until make it smaller"
                .to_string(),
        ),
    }
}

/// The primary-backup defect `name` asks for.
fn pb_defect(name: Option<&str>) -> Result<Option<Defect>> {
    match name {
        None => Ok(None),
        Some("answers-before-acks") => Ok(Some(Defect::AnswersBeforeAcks)),
        Some(other) => Err(dsys_core::Error::InvalidConfig(format!(
            "primary-backup has no defect {other:?}; it has answers-before-acks"
        ))),
    }
}

fn run_primary_backup(options: &SimOptions) -> Result<Outcome> {
    let algorithm = &PRIMARY_BACKUP;
    let quorum = match algorithm.setting::<String>(options, "quorum")?.as_str() {
        "majority" => Quorum::Majority,
        "unsuspected" => Quorum::Unsuspected,
        other => {
            return Err(dsys_core::Error::InvalidConfig(format!(
                "--set quorum={other}: primary-backup's quorum is majority or unsuspected"
            )))
        }
    };
    let defect = pb_defect(options.defect.as_deref())?;
    if let Some(restart) = options.restarts.first() {
        return Err(dsys_core::Error::InvalidConfig(format!(
            "--restart {restart}: primary-backup replicas are crash-stop, as in the lecture; a \
             restarted replica has forgotten which views it voted for and must not rejoin under \
             its old id (kv-raft and kv-multi-paxos recover from stable storage)"
        )));
    }
    let broken = match (defect, quorum) {
        (Some(_), _) => Some("the primary answered before its backups acknowledged".to_string()),
        (None, Quorum::Unsuspected) if options.has_faults() => Some(
            "with quorum=unsuspected the primary trusts its failure detector, which a partition, loss or delay can fool: split brain"
                .to_string(),
        ),
        _ => None,
    };
    let config = PrimaryBackupConfig {
        quorum,
        defect,
        ..PrimaryBackupConfig::default()
    };
    let workload = workload(algorithm, options)?;
    run_kv(
        algorithm,
        options,
        move |_| PrimaryBackup::new(config.clone()),
        &workload,
        broken,
        |sim| {
            let views = sim
                .all_events()
                .into_iter()
                .filter(|(_, e)| matches!(e.event, PbEvent::ViewStarted { .. }))
                .count();
            vec![("view changes".to_string(), views.to_string())]
        },
    )
}

fn run_active(options: &SimOptions) -> Result<Outcome> {
    let algorithm = &ACTIVE;
    let mut workload = workload(algorithm, options)?;
    let broken = match algorithm.setting::<String>(options, "reads")?.as_str() {
        "ordered" => None,
        "local" => {
            workload.read = Read::Local { min_index: 0 };
            Some("gets read locally see one replica's copy, which may lag: active replication with local reads is sequentially consistent, not linearizable".to_string())
        }
        other => {
            return Err(dsys_core::Error::InvalidConfig(format!(
                "--set reads={other}: active-replication's reads are ordered or local"
            )))
        }
    };
    if let Some(restart) = options.restarts.iter().find(|r| r.node == NodeId(0)) {
        return Err(dsys_core::Error::InvalidConfig(format!(
            "--restart {restart}: the sequencer (n0) keeps its numbering only in memory and \
             cannot restart; other replicas can (they catch up from it)"
        )));
    }
    let sequencer_crashes = options.crashes.iter().any(|c| c.node == NodeId(0));
    let mut figures = vec![];
    if sequencer_crashes {
        figures.push((
            "sequencer".to_string(),
            "n0 crashed: nothing is ordered while it is down (the sequencer is a single point of failure)".to_string(),
        ));
    }
    run_kv(
        algorithm,
        options,
        |_| Active::new(ActiveConfig::default()),
        &workload,
        broken,
        move |_| figures,
    )
}

fn run_kv_raft(options: &SimOptions) -> Result<Outcome> {
    let workload = workload(&KV_RAFT, options)?;
    run_kv(
        &KV_RAFT,
        options,
        raft_factory(RaftConfig::default()),
        &workload,
        None,
        |_| Vec::new(),
    )
}

fn run_kv_multi_paxos(options: &SimOptions) -> Result<Outcome> {
    let workload = workload(&KV_MULTI_PAXOS, options)?;
    run_kv(
        &KV_MULTI_PAXOS,
        options,
        multi_paxos_factory(MultiPaxosConfig::default()),
        &workload,
        None,
        |_| Vec::new(),
    )
}
