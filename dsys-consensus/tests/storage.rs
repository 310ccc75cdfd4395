//! Raft storage: the conformance suite on both storages, FileStorage's
//! recovery (torn tails are cut, damage in the middle is an error, garbage
//! never panics, lost segments and lost directories are refused), and
//! FileStorage against MemStorage as a model over random operations with
//! restarts.

use std::fs;
use std::path::{Path, PathBuf};

use dsys_consensus::raft::{
    conformance, Entry, FileOptions, FileStorage, HardState, MemStorage, Membership, Payload,
    Snapshot, SnapshotMeta, Storage,
};
use dsys_consensus::Error;
use proptest::prelude::*;
use tempfile::TempDir;

/// Small segments, so that a few entries already span several.
const SMALL: FileOptions = FileOptions {
    segment_bytes_max: 96,
};

fn entry(term: u64, index: u64) -> Entry<String> {
    Entry {
        term,
        index,
        payload: Payload::Command {
            session: None,
            command: format!("set x {index}"),
        },
    }
}

fn entries(term: u64, indices: std::ops::RangeInclusive<u64>) -> Vec<Entry<String>> {
    indices.map(|i| entry(term, i)).collect()
}

fn snapshot(index: u64, term: u64) -> Snapshot {
    Snapshot {
        meta: SnapshotMeta {
            index,
            term,
            membership: Membership::default(),
        },
        data: vec![index as u8; 5],
    }
}

fn open(dir: &Path, options: FileOptions) -> FileStorage<String> {
    FileStorage::open_with(dir, options).expect("open")
}

/// The highest-numbered segment in `dir`.
/// The entries a fresh open of `dir` recovers.
fn reopened_entries(dir: &Path) -> Vec<Entry<String>> {
    open(dir, FileOptions::default()).load().unwrap().entries
}

fn last_segment(dir: &Path) -> PathBuf {
    let mut segments: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    segments.sort();
    segments.pop().expect("a segment")
}

fn run_file_conformance(options: FileOptions) {
    let mut dirs = Vec::new();
    conformance::run(
        || {
            let dir = TempDir::new().unwrap();
            let storage = open(dir.path(), options);
            dirs.push(dir);
            storage
        },
        |storage| {
            let dir = storage.dir().to_path_buf();
            drop(storage);
            open(&dir, options)
        },
        |i| format!("command {i}"),
    );
}

#[test]
fn conformance_mem_storage() {
    conformance::run(MemStorage::new, |storage| storage, |i| i);
}

/// Loses truncations of the first entries: the suite must notice.
struct ForgetsEarlyTruncations(MemStorage<u64>);

impl Storage<u64> for ForgetsEarlyTruncations {
    fn load(&mut self) -> dsys_consensus::Result<dsys_consensus::raft::Recovered<u64>> {
        self.0.load()
    }
    fn save_hard_state(&mut self, state: &HardState) -> dsys_consensus::Result<()> {
        self.0.save_hard_state(state)
    }
    fn append(&mut self, entries: &[Entry<u64>]) -> dsys_consensus::Result<()> {
        self.0.append(entries)
    }
    fn truncate(&mut self, from: u64) -> dsys_consensus::Result<()> {
        if from > 3 {
            self.0.truncate(from)
        } else {
            Ok(())
        }
    }
    fn save_snapshot(&mut self, snapshot: &Snapshot) -> dsys_consensus::Result<()> {
        self.0.save_snapshot(snapshot)
    }
}

#[test]
#[should_panic(expected = "rule broken: truncate(from) removes the entries from `from` on")]
fn conformance_catches_a_lost_truncation() {
    conformance::run(
        || ForgetsEarlyTruncations(MemStorage::new()),
        |storage| storage,
        |i| i,
    );
}

#[test]
#[should_panic(expected = "rule broken: the hard state survives restart")]
fn conformance_catches_amnesia() {
    conformance::run(MemStorage::new, |_| MemStorage::new(), |i| i);
}

#[test]
fn conformance_file_storage() {
    run_file_conformance(FileOptions::default());
}

#[test]
fn conformance_file_storage_small_segments() {
    // Rolls segments and rewrites the log at snapshots.
    run_file_conformance(SMALL);
}

#[test]
fn open_creates_the_directory_and_refuses_a_second_handle() {
    let root = TempDir::new().unwrap();
    let dir = root.path().join("a/b");
    let mut storage = open(&dir, FileOptions::default());
    assert_eq!(storage.dir(), dir);
    assert!(storage.load().unwrap().entries.is_empty());
    match FileStorage::<String>::open(&dir) {
        Err(error @ Error::Locked(_)) => {
            let message = error.to_string();
            assert!(
                message.contains("in use") && !message.contains("permissions"),
                "{message}"
            );
            assert_eq!(
                message.matches("another process").count(),
                1,
                "said once: {message}"
            );
        }
        other => panic!("a second handle on one directory: {other:?}"),
    }
    drop(storage);
    open(&dir, FileOptions::default());
}

#[test]
fn open_on_a_file_is_an_io_error_naming_it() {
    let root = TempDir::new().unwrap();
    let file = root.path().join("not-a-dir");
    fs::write(&file, b"x").unwrap();
    match FileStorage::<String>::open(&file) {
        Err(Error::Io { path, .. }) => assert!(path.starts_with(&file), "{path:?}"),
        other => panic!("{other:?}"),
    }
    let zero = FileOptions {
        segment_bytes_max: 0,
    };
    assert!(matches!(
        FileStorage::<String>::open_with(root.path(), zero),
        Err(Error::InvalidConfig(_))
    ));
}

#[test]
fn segments_wholly_covered_by_a_snapshot_are_deleted() {
    let dir = TempDir::new().unwrap();
    let mut storage = open(dir.path(), SMALL);
    for i in 1..=20 {
        storage.append(&entries(1, i..=i)).unwrap();
    }
    let count = || fs::read_dir(dir.path()).unwrap().count();
    let before = count();
    assert!(before > 4, "several segments: {before} files");
    storage.save_snapshot(&snapshot(18, 1)).unwrap();
    // LOCK, MANIFEST, durable, snapshot, and one segment holding entries
    // 19 and 20.
    assert_eq!(count(), 5);
    storage.append(&entries(1, 21..=21)).unwrap();
    drop(storage);
    let recovered = open(dir.path(), SMALL).load().unwrap();
    assert_eq!(recovered.snapshot, Some(snapshot(18, 1)));
    assert_eq!(recovered.entries, entries(1, 19..=21));
}

#[test]
fn a_crash_between_rewriting_the_log_and_deleting_old_segments_recovers() {
    let dir = TempDir::new().unwrap();
    let mut storage = open(dir.path(), SMALL);
    storage.append(&entries(1, 1..=12)).unwrap();
    for i in 13..=20 {
        storage.append(&entries(1, i..=i)).unwrap();
    }
    let old: Vec<(PathBuf, Vec<u8>)> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .map(|p| (p.clone(), fs::read(&p).unwrap()))
        .collect();
    storage.save_snapshot(&snapshot(15, 1)).unwrap();
    drop(storage);
    // The old segments come back, as if the crash hit before their removal.
    for (path, bytes) in &old {
        fs::write(path, bytes).unwrap();
    }
    let mut storage = open(dir.path(), SMALL);
    let recovered = storage.load().unwrap();
    assert_eq!(recovered.snapshot, Some(snapshot(15, 1)));
    assert_eq!(recovered.entries, entries(1, 16..=20));
    storage.append(&entries(2, 21..=21)).unwrap();
    storage.save_snapshot(&snapshot(21, 2)).unwrap();
    drop(storage);
    let recovered = open(dir.path(), SMALL).load().unwrap();
    assert_eq!(recovered.snapshot, Some(snapshot(21, 2)));
    assert!(recovered.entries.is_empty());
}

#[test]
fn a_crash_between_the_snapshot_file_and_its_log_record_recovers() {
    let dir = TempDir::new().unwrap();
    let mut storage = open(dir.path(), FileOptions::default());
    storage.append(&entries(1, 1..=3)).unwrap();
    let segment = last_segment(dir.path());
    let before = fs::read(&segment).unwrap();
    storage.save_snapshot(&snapshot(10, 2)).unwrap();
    drop(storage);
    fs::write(&segment, &before).unwrap(); // the Compact record never landed
    let mut storage = open(dir.path(), FileOptions::default());
    let recovered = storage.load().unwrap();
    assert_eq!(recovered.snapshot, Some(snapshot(10, 2)));
    assert!(recovered.entries.is_empty());
    assert!(matches!(
        storage.append(&entries(2, 4..=4)),
        Err(Error::Contract(_))
    ));
    storage.append(&entries(2, 11..=11)).unwrap();
    drop(storage);
    assert_eq!(reopened_entries(dir.path()), entries(2, 11..=11));
}

/// Builds a log whose last record is the append of entry `last`; returns the
/// last segment, its bytes, and where that record starts.
fn log_ending_in_one_record(
    dir: &Path,
    options: FileOptions,
    last: u64,
) -> (PathBuf, Vec<u8>, usize) {
    let mut storage = open(dir, options);
    storage
        .save_hard_state(&HardState {
            term: 2,
            voted_for: None,
        })
        .unwrap();
    for i in 1..last {
        storage.append(&entries(1, i..=i)).unwrap();
    }
    let segment = last_segment(dir);
    let before = fs::metadata(&segment).unwrap().len() as usize;
    // A crash tears the last record only while its append is under way,
    // before the durable bound is raised: put the bound back as it was.
    let bound = fs::read(dir.join("durable")).unwrap();
    storage.append(&entries(2, last..=last)).unwrap();
    assert_eq!(
        last_segment(dir),
        segment,
        "the last record shares its segment"
    );
    drop(storage);
    fs::write(dir.join("durable"), bound).unwrap();
    (segment.clone(), fs::read(&segment).unwrap(), before)
}

/// Recovery drops exactly the damaged last record, and appending goes on.
fn assert_recovers_without_last(dir: &Path, options: FileOptions, last: u64, what: &str) {
    let mut storage = FileStorage::<String>::open_with(dir, options)
        .unwrap_or_else(|e| panic!("{what}: a torn tail must recover, got {e}"));
    let recovered = storage.load().unwrap();
    assert_eq!(recovered.hard_state.term, 2, "{what}");
    assert_eq!(recovered.entries, entries(1, 1..=last - 1), "{what}");
    storage.append(&entries(3, last..=last)).unwrap();
    drop(storage);
    let recovered = open(dir, options).load().unwrap();
    let mut expected = entries(1, 1..=last - 1);
    expected.extend(entries(3, last..=last));
    assert_eq!(recovered.entries, expected, "{what}: append after recovery");
}

#[test]
fn a_torn_tail_is_cut_at_every_byte() {
    for options in [FileOptions::default(), SMALL] {
        let dir = TempDir::new().unwrap();
        let last = 6;
        let (segment, full, start) = log_ending_in_one_record(dir.path(), options, last);
        let bound = fs::read(dir.path().join("durable")).unwrap();
        for cut in start..full.len() {
            fs::write(&segment, &full[..cut]).unwrap();
            fs::write(dir.path().join("durable"), &bound).unwrap();
            assert_recovers_without_last(dir.path(), options, last, &format!("cut at {cut}"));
        }
    }
}

#[test]
fn a_garbled_tail_is_cut_at_every_byte() {
    // The file kept its length but the last write's bytes from `from` on
    // never landed (they read back as garbage).
    let dir = TempDir::new().unwrap();
    let last = 4;
    let (segment, full, start) = log_ending_in_one_record(dir.path(), FileOptions::default(), last);
    let bound = fs::read(dir.path().join("durable")).unwrap();
    for from in start..full.len() {
        let mut bytes = full.clone();
        bytes[from..].iter_mut().for_each(|b| *b = !*b);
        fs::write(&segment, &bytes).unwrap();
        fs::write(dir.path().join("durable"), &bound).unwrap();
        let what = format!("garbled from {from}");
        assert_recovers_without_last(dir.path(), FileOptions::default(), last, &what);
    }
}

fn expect_corrupt(result: Result<FileStorage<String>, Error>, file: &str) -> String {
    match result {
        Err(Error::Corrupt(message)) => {
            assert!(
                message.contains(file),
                "the message names {file}: {message}"
            );
            message
        }
        Err(other) => panic!("expected Error::Corrupt naming {file}, got {other:?}"),
        Ok(storage) => panic!("expected Error::Corrupt naming {file}, opened {storage:?}"),
    }
}

#[test]
fn a_flipped_bit_in_the_middle_is_corruption() {
    let dir = TempDir::new().unwrap();
    let (segment, full, _) = log_ending_in_one_record(dir.path(), FileOptions::default(), 5);
    let name = segment.file_name().unwrap().to_str().unwrap();
    // In the first record's length, payload CRC, header CRC, and payload.
    for offset in [8, 12, 16, 8 + 12 + 2] {
        let mut bytes = full.clone();
        bytes[offset] ^= 0x10;
        fs::write(&segment, &bytes).unwrap();
        let message = expect_corrupt(FileStorage::open(dir.path()), name);
        assert!(message.contains("at byte 8"), "{message}");
    }
    // In the magic.
    let mut bytes = full.clone();
    bytes[0] ^= 1;
    fs::write(&segment, &bytes).unwrap();
    expect_corrupt(FileStorage::open(dir.path()), name);
}

#[test]
fn damage_in_an_earlier_segment_is_corruption() {
    let dir = TempDir::new().unwrap();
    log_ending_in_one_record(dir.path(), SMALL, 12);
    let first = dir.path().join("log-000001.seg");
    let mut bytes = fs::read(&first).unwrap();
    // Even at the very end of the segment: only the last one may be torn.
    let end = bytes.len() - 1;
    bytes[end] ^= 1;
    fs::write(&first, &bytes).unwrap();
    expect_corrupt(FileStorage::open(dir.path()), "log-000001.seg");
    fs::write(&first, &bytes[..end]).unwrap();
    expect_corrupt(FileStorage::open(dir.path()), "log-000001.seg");
}

#[test]
fn a_missing_segment_is_corruption() {
    let dir = TempDir::new().unwrap();
    log_ending_in_one_record(dir.path(), SMALL, 12);
    fs::remove_file(dir.path().join("log-000002.seg")).unwrap();
    expect_corrupt(FileStorage::open(dir.path()), "log-000002.seg");
}

#[test]
fn garbage_files_are_errors() {
    for (name, content) in [
        ("hard_state", &b"garbage"[..]),
        ("hard_state", &b"DSYSHST1\0\0\0\0\0\0\0\0\0\0\0\0"[..]),
        ("snapshot", &b""[..]),
        ("snapshot", &b"DSYSSNP1 and then some"[..]),
        ("log-000001.seg", &b"not a log at all"[..]),
        ("log-000001.seg", &b""[..]),
    ] {
        let dir = TempDir::new().unwrap();
        drop(open(dir.path(), FileOptions::default()));
        fs::write(dir.path().join(name), content).unwrap();
        expect_corrupt(FileStorage::open(dir.path()), name);
    }
}

#[test]
fn a_deleted_only_segment_is_refused_not_taken_for_an_empty_log() {
    let dir = TempDir::new().unwrap();
    let mut storage = open(dir.path(), FileOptions::default());
    storage.append(&entries(1, 1..=5)).unwrap();
    drop(storage);
    fs::remove_file(dir.path().join("log-000001.seg")).unwrap();
    let message = expect_corrupt(FileStorage::open(dir.path()), "log-000001.seg");
    assert!(
        message.contains("missing") && message.contains("acknowledged"),
        "{message}"
    );
}

#[test]
fn a_sealed_segment_cut_at_a_record_boundary_is_refused() {
    // A cut at a record boundary leaves a valid log, shorter: only the
    // sealed length in the MANIFEST tells that entries were lost.
    let dir = TempDir::new().unwrap();
    log_ending_in_one_record(dir.path(), SMALL, 12);
    let first = dir.path().join("log-000001.seg");
    fs::write(&first, b"DSYSLOG1").unwrap();
    let message = expect_corrupt(FileStorage::open(dir.path()), "log-000001.seg");
    assert!(message.contains("were lost"), "{message}");
}

#[test]
fn a_lost_directory_or_manifest_is_refused() {
    let root = TempDir::new().unwrap();
    let dir = root.path().join("n0");
    // A node that must have state finds none: refused, not initialised.
    assert!(matches!(
        FileStorage::<String>::open_existing(&dir, FileOptions::default()),
        Err(Error::NoState(path)) if path == dir
    ));
    assert!(!dir.exists(), "nothing was created");
    // Initialised once, it opens as existing from then on.
    let mut storage = open(&dir, FileOptions::default());
    storage.append(&entries(1, 1..=2)).unwrap();
    drop(storage);
    let recovered = FileStorage::<String>::open_existing(&dir, FileOptions::default())
        .unwrap()
        .load()
        .unwrap();
    assert_eq!(recovered.entries, entries(1, 1..=2));
    // Without its MANIFEST, no open can tell what is missing.
    fs::remove_file(dir.join("MANIFEST")).unwrap();
    assert!(matches!(
        FileStorage::<String>::open_existing(&dir, FileOptions::default()),
        Err(Error::NoState(_))
    ));
    let message = expect_corrupt(FileStorage::open(&dir), "no MANIFEST");
    assert!(message.contains("n0"), "{message}");
}

#[test]
fn a_segment_a_crash_left_outside_the_manifest_is_removed() {
    // A roll writes the next segment, then the MANIFEST: a crash between
    // leaves an unlisted, empty segment behind.
    let dir = TempDir::new().unwrap();
    let mut storage = open(dir.path(), FileOptions::default());
    storage.append(&entries(1, 1..=3)).unwrap();
    drop(storage);
    fs::write(dir.path().join("log-000002.seg"), b"DSYSLOG1").unwrap();
    let mut storage = open(dir.path(), FileOptions::default());
    assert!(!dir.path().join("log-000002.seg").exists());
    storage.append(&entries(1, 4..=4)).unwrap();
    drop(storage);
    assert_eq!(reopened_entries(dir.path()), entries(1, 1..=4));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// One flipped bit anywhere in the log: before the last record it is
    /// corruption; in the last record it is a torn tail.
    #[test]
    fn any_flipped_bit_is_caught(bit in 0usize..1 << 16) {
        let dir = TempDir::new().unwrap();
        let last = 5;
        let (segment, full, start) = log_ending_in_one_record(dir.path(), FileOptions::default(), last);
        let bit = bit % (full.len() * 8);
        let mut bytes = full.clone();
        bytes[bit / 8] ^= 1 << (bit % 8);
        fs::write(&segment, &bytes).unwrap();
        if bit / 8 >= start {
            assert_recovers_without_last(dir.path(), FileOptions::default(), last, &format!("bit {bit}"));
        } else {
            expect_corrupt(FileStorage::open(dir.path()), "log-000001.seg");
        }
    }

    /// Random files never make recovery panic.
    #[test]
    fn random_files_never_panic(
        file in prop::sample::select(vec!["hard_state", "snapshot", "durable", "log-000001.seg", "log-000002.seg"]),
        with_magic in any::<bool>(),
        body in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let dir = TempDir::new().unwrap();
        log_ending_in_one_record(dir.path(), FileOptions::default(), 3);
        let magic: &[u8] = match file {
            "hard_state" => b"DSYSHST1",
            "snapshot" => b"DSYSSNP1",
            "durable" => b"DSYSDUR1",
            _ => b"DSYSLOG1",
        };
        let mut bytes = if with_magic { magic.to_vec() } else { Vec::new() };
        bytes.extend(body);
        fs::write(dir.path().join(file), &bytes).unwrap();
        if let Ok(mut storage) = FileStorage::<String>::open(dir.path()) {
            let _ = storage.load();
        }
    }
}

/// One step of the model test.
#[derive(Clone, Debug)]
enum Op {
    HardState(u64),
    /// Append `count` entries in `term` at the right place.
    Append {
        count: u64,
        term: u64,
    },
    /// Append one entry at `next index + shift` (rejected unless 0).
    AppendAt {
        shift: i64,
    },
    /// Truncate from `next index - back`.
    Truncate {
        back: u64,
    },
    /// A snapshot at `next index - back` (possibly behind the current one,
    /// or past the end).
    Snapshot {
        back: i64,
        term: u64,
    },
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0u64..5).prop_map(Op::HardState),
        5 => (0u64..4, 1u64..4).prop_map(|(count, term)| Op::Append { count, term }),
        1 => (-2i64..3).prop_map(|shift| Op::AppendAt { shift }),
        2 => (0u64..6).prop_map(|back| Op::Truncate { back }),
        2 => (-3i64..8, 1u64..4).prop_map(|(back, term)| Op::Snapshot { back, term }),
        2 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// FileStorage does what MemStorage does, across restarts.
    #[test]
    fn file_storage_matches_the_model(
        ops in prop::collection::vec(op(), 1..40),
        segment_bytes_max in prop::sample::select(vec![48u64, 200, 1 << 20]),
    ) {
        let options = FileOptions { segment_bytes_max };
        let dir = TempDir::new().unwrap();
        let mut file = Some(open(dir.path(), options));
        let mut model = MemStorage::<String>::new();
        for (step, op) in ops.iter().enumerate() {
            let storage = file.as_mut().unwrap();
            let state = model.load().unwrap();
            let next = state.entries.last().map_or(
                state.snapshot.as_ref().map_or(0, |s| s.meta.index) + 1,
                |e| e.index + 1,
            );
            let (got, want) = match *op {
                Op::HardState(term) => {
                    let hard = HardState { term, voted_for: None };
                    (storage.save_hard_state(&hard), model.save_hard_state(&hard))
                }
                Op::Append { count, term } => {
                    let batch: Vec<_> = (next..next + count).map(|i| entry(term, i)).collect();
                    (storage.append(&batch), model.append(&batch))
                }
                Op::AppendAt { shift } => {
                    let batch = [entry(9, next.saturating_add_signed(shift))];
                    (storage.append(&batch), model.append(&batch))
                }
                Op::Truncate { back } => {
                    let from = next.saturating_sub(back);
                    (storage.truncate(from), model.truncate(from))
                }
                Op::Snapshot { back, term } => {
                    let index = next.saturating_add_signed(-back).max(1);
                    let snap = snapshot(index, term);
                    (storage.save_snapshot(&snap), model.save_snapshot(&snap))
                }
                Op::Reopen => {
                    drop(file.take());
                    file = Some(open(dir.path(), options));
                    (Ok(()), Ok(()))
                }
            };
            prop_assert_eq!(got.is_ok(), want.is_ok(), "step {} {:?}: {:?} vs model {:?}", step, op, got, want);
            if let Err(e) = got {
                prop_assert!(matches!(e, Error::Contract(_)), "step {} {:?}: {:?}", step, op, e);
            }
            let loaded = file.as_mut().unwrap().load().unwrap();
            prop_assert_eq!(loaded, model.load().unwrap(), "step {} {:?}", step, op);
        }
    }
}

/// The MANIFEST in the documented format (`Manifest` in file.rs).
#[derive(Clone, Debug, serde::Serialize)]
struct Manifest {
    first: u64,
    sealed: Vec<u64>,
}

/// A log record in the documented format (`RecordOut`/`RecordIn` in
/// file.rs, same variants in the same order).
#[derive(Clone, Debug, serde::Serialize)]
enum Record {
    Append(Vec<Entry<String>>),
    Truncate(u64),
    Compact(u64),
    Reset(u64),
}

/// length, payload CRC, header CRC (over the first eight bytes), payload.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut bytes = (payload.len() as u32).to_le_bytes().to_vec();
    bytes.extend(crc32fast::hash(payload).to_le_bytes());
    let header_crc = crc32fast::hash(&bytes);
    bytes.extend(header_crc.to_le_bytes());
    bytes.extend(payload);
    bytes
}

fn write_log(dir: &Path, records: &[Record]) {
    let mut bytes = b"DSYSLOG1".to_vec();
    for record in records {
        bytes.extend(frame(&postcard::to_stdvec(record).unwrap()));
    }
    fs::write(dir.join("log-000001.seg"), bytes).unwrap();
    let mut manifest = b"DSYSMAN1".to_vec();
    let listed = Manifest {
        first: 1,
        sealed: vec![],
    };
    manifest.extend(frame(&postcard::to_stdvec(&listed).unwrap()));
    fs::write(dir.join("MANIFEST"), manifest).unwrap();
    // Nothing known to be synced: the weakest bound.
    write_durable(dir, [(1, 1), (0, 1)]);
}

/// One slot of the `durable` file, as documented: seq, next index, the
/// CRC32 of those 16 bytes, 4 zero bytes.
fn durable_slot(seq: u64, next_index: u64) -> Vec<u8> {
    let mut slot = seq.to_le_bytes().to_vec();
    slot.extend(next_index.to_le_bytes());
    let crc = crc32fast::hash(&slot);
    slot.extend(crc.to_le_bytes());
    slot.extend([0; 4]);
    slot
}

/// Writes the `durable` file with two slots, each `(seq, next index)`.
fn write_durable(dir: &Path, slots: [(u64, u64); 2]) {
    let mut bytes = b"DSYSDUR1".to_vec();
    for (seq, next) in slots {
        bytes.extend(durable_slot(seq, next));
    }
    fs::write(dir.join("durable"), bytes).unwrap();
}

#[test]
fn the_documented_format_is_what_is_read() {
    let dir = TempDir::new().unwrap();
    write_log(
        dir.path(),
        &[
            Record::Append(entries(1, 1..=4)),
            Record::Truncate(3),
            Record::Append(entries(2, 3..=5)),
            Record::Compact(2),
        ],
    );
    let mut snapshot_file = b"DSYSSNP1".to_vec();
    snapshot_file.extend(frame(&postcard::to_stdvec(&snapshot(2, 1)).unwrap()));
    fs::write(dir.path().join("snapshot"), snapshot_file).unwrap();
    let hard = HardState {
        term: 4,
        voted_for: Some(dsys_core::NodeId(1)),
    };
    let mut hard_state_file = b"DSYSHST1".to_vec();
    hard_state_file.extend(frame(&postcard::to_stdvec(&hard).unwrap()));
    fs::write(dir.path().join("hard_state"), hard_state_file).unwrap();

    // Slot 0 is the newer (seq 2): entries up to 5 were synced.
    write_durable(dir.path(), [(2, 6), (1, 3)]);
    let recovered = open(dir.path(), FileOptions::default()).load().unwrap();
    assert_eq!(recovered.hard_state, hard);
    assert_eq!(recovered.snapshot, Some(snapshot(2, 1)));
    assert_eq!(recovered.entries, entries(2, 3..=5));
    // A bound past the log's end is a lost tail.
    write_durable(dir.path(), [(2, 6), (3, 7)]);
    let message = expect_corrupt(FileStorage::open(dir.path()), "lost its tail");
    assert!(message.contains("entries up to 6 were synced"), "{message}");
}

/// Appends entries 1 to `last` in `dir`, one synced record each, and
/// returns where each record starts in the (single) segment.
fn appended_one_by_one(dir: &Path, last: u64) -> Vec<u64> {
    let mut storage = open(dir, FileOptions::default());
    (1..=last)
        .map(|i| {
            let start = fs::metadata(last_segment(dir)).unwrap().len();
            storage.append(&entries(1, i..=i)).unwrap();
            start
        })
        .collect()
}

#[test]
fn the_active_segment_cut_at_a_record_boundary_is_caught() {
    // Five synced appends; then the segment loses its last two records
    // whole, as `truncate` or a copy taken too early would leave it.
    let dir = TempDir::new().unwrap();
    let boundaries = appended_one_by_one(dir.path(), 5);
    let segment = last_segment(dir.path());
    let full = fs::read(&segment).unwrap();
    fs::write(&segment, &full[..boundaries[3] as usize]).unwrap();
    for result in [
        FileStorage::<String>::open(dir.path()),
        FileStorage::<String>::open_existing(dir.path(), FileOptions::default()),
    ] {
        let message = expect_corrupt(result, "lost its tail");
        assert!(
            message.contains("ends before index 4") && message.contains("entries up to 5"),
            "{message}"
        );
    }
    // Put back, it opens.
    fs::write(&segment, &full).unwrap();
    assert_eq!(reopened_entries(dir.path()), entries(1, 1..=5));
}

#[test]
fn truncations_and_snapshots_keep_the_bound_within_the_log() {
    let dir = TempDir::new().unwrap();
    let mut storage = open(dir.path(), FileOptions::default());
    storage.append(&entries(1, 1..=5)).unwrap();
    storage.truncate(3).unwrap();
    drop(storage);
    // The bound came down with the log: no false alarm.
    assert_eq!(reopened_entries(dir.path()), entries(1, 1..=2));
    let mut storage = open(dir.path(), FileOptions::default());
    storage.append(&entries(2, 3..=4)).unwrap();
    // A snapshot past the log's end: the log restarts after it.
    storage.save_snapshot(&snapshot(9, 2)).unwrap();
    drop(storage);
    let mut storage = open(dir.path(), FileOptions::default());
    assert!(storage.load().unwrap().entries.is_empty());
    storage.append(&entries(2, 10..=10)).unwrap();
    drop(storage);
    assert_eq!(reopened_entries(dir.path()), entries(2, 10..=10));
}

#[test]
fn a_damaged_durable_slot_falls_back_to_the_other_and_a_lost_file_is_refused() {
    let dir = TempDir::new().unwrap();
    let mut storage = open(dir.path(), FileOptions::default());
    for i in 1..=3 {
        storage.append(&entries(1, i..=i)).unwrap();
    }
    drop(storage);
    let path = dir.path().join("durable");
    let bytes = fs::read(&path).unwrap();
    // A torn write of either slot leaves the other, an older bound.
    for slot in [8, 32] {
        let mut torn = bytes.clone();
        torn[slot + 9] ^= 0xff;
        fs::write(&path, &torn).unwrap();
        assert_eq!(
            reopened_entries(dir.path()),
            entries(1, 1..=3),
            "slot at {slot}"
        );
    }
    let mut both = bytes.clone();
    both[8 + 9] ^= 0xff;
    both[32 + 9] ^= 0xff;
    fs::write(&path, &both).unwrap();
    expect_corrupt(FileStorage::open(dir.path()), "both slots are damaged");
    fs::write(&path, &bytes[..20]).unwrap();
    expect_corrupt(FileStorage::open(dir.path()), "not a durable-index file");
    fs::remove_file(&path).unwrap();
    expect_corrupt(FileStorage::open(dir.path()), "durable is missing");
    // Unreadable (here: a directory) is an I/O error, not a lost file.
    fs::create_dir(&path).unwrap();
    assert!(matches!(
        FileStorage::<String>::open(dir.path()),
        Err(Error::Io { .. })
    ));
}

#[test]
fn any_one_state_file_without_a_manifest_is_refused() {
    // A vote alone, a snapshot alone, a segment alone: each is a node's
    // state, and without the MANIFEST no open can tell what else is gone.
    for name in ["hard_state", "snapshot", "log-000001.seg"] {
        let dir = TempDir::new().unwrap();
        fs::write(dir.path().join(name), b"anything").unwrap();
        let message = expect_corrupt(FileStorage::open(dir.path()), "no MANIFEST");
        assert!(message.contains("holds Raft files"), "{name}: {message}");
    }
}

#[test]
fn a_torn_bound_write_leaves_the_bound_before_it() {
    // Each append writes the slot not holding the latest bound, so a torn
    // write leaves the previous append's bound: losing the last record
    // after that is still a lost tail, and so is losing the one before.
    let dir = TempDir::new().unwrap();
    let boundaries = appended_one_by_one(dir.path(), 4);
    let path = dir.path().join("durable");
    let mut bytes = fs::read(&path).unwrap();
    // Four appends after the two initial slots: seq 5 is the latest, in
    // slot 1 (at byte 32); tear it.
    bytes[32 + 9] ^= 0xff;
    fs::write(&path, &bytes).unwrap();
    let segment = last_segment(dir.path());
    let full = fs::read(&segment).unwrap();
    // Without entry 4 (the torn bound's append): opens, the bound is 4.
    fs::write(&segment, &full[..boundaries[3] as usize]).unwrap();
    assert_eq!(reopened_entries(dir.path()), entries(1, 1..=3));
    // Without entries 3 and 4: entry 3 was synced before the torn write.
    fs::write(&segment, &full[..boundaries[2] as usize]).unwrap();
    let message = expect_corrupt(FileStorage::open(dir.path()), "lost its tail");
    assert!(message.contains("entries up to 3"), "{message}");
}

fn any_index() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..8, Just(u64::MAX), Just(u64::MAX - 1)]
}

fn any_record() -> impl Strategy<Value = Record> {
    prop_oneof![
        (any_index(), 0u64..3).prop_map(|(start, count)| Record::Append(
            (0..count)
                .map(|k| entry(1, start.wrapping_add(k)))
                .collect()
        )),
        any_index().prop_map(Record::Truncate),
        any_index().prop_map(Record::Compact),
        any_index().prop_map(Record::Reset),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Well-framed records that make no sense (gaps, indices near u64::MAX,
    /// undecodable payloads) are errors or recover; they never panic, and
    /// neither do the operations after them.
    #[test]
    fn nonsense_records_never_panic(
        records in prop::collection::vec(any_record(), 0..8),
        snapshot_index in prop::option::of(any_index()),
        junk in prop::option::of(prop::collection::vec(any::<u8>(), 1..20)),
    ) {
        let dir = TempDir::new().unwrap();
        write_log(dir.path(), &records);
        if let Some(junk) = junk {
            let path = dir.path().join("log-000001.seg");
            let mut bytes = fs::read(&path).unwrap();
            bytes.extend(frame(&junk));
            fs::write(&path, bytes).unwrap();
        }
        if let Some(index) = snapshot_index {
            let mut file = b"DSYSSNP1".to_vec();
            file.extend(frame(&postcard::to_stdvec(&snapshot(index, 1)).unwrap()));
            fs::write(dir.path().join("snapshot"), file).unwrap();
        }
        if let Ok(mut storage) = FileStorage::<String>::open(dir.path())
            && let Ok(state) = storage.load() {
                let next = state
                    .entries
                    .last()
                    .map_or(state.snapshot.map_or(0, |s| s.meta.index), |e| e.index)
                    .saturating_add(1);
                let _ = storage.append(&entries(2, next..=next.saturating_add(1)));
                let _ = storage.truncate(next);
                let _ = storage.save_snapshot(&snapshot(next, 2));
                let _ = storage.append(&[entry(2, next.saturating_add(1))]);
            }
    }
}
