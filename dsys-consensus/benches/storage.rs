//! FileStorage's synced append against a bare synced append measured in the
//! same run: what the log's framing, checksums and bookkeeping (and its
//! `durable` bound, one more small write and sync per append) cost over
//! the sync every durable log pays.
//!
//! Run with `cargo bench -p dsys-consensus --features bench --bench storage`. Both sides
//! write in a temporary directory (the system's temp dir: on tmpfs the
//! syncs are nearly free and the ratio shows the CPU cost; on a disk they
//! dominate).

use std::fs::OpenOptions;
use std::hint::black_box;
use std::io::Write;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use dsys_consensus::raft::{Entry, FileStorage, Payload, Storage};

/// Appends per iteration.
const APPENDS: u64 = 64;

fn entry(index: u64) -> Entry<String> {
    Entry {
        index,
        term: 1,
        payload: Payload::Command {
            session: None,
            command: format!("command {index}"),
        },
    }
}

fn appends(c: &mut Criterion) {
    let mut group = c.benchmark_group("append_synced");
    group.bench_function("file_storage", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("a temp dir"),
            |dir| {
                let mut storage = FileStorage::<String>::open(dir.path()).expect("open");
                for i in 1..=APPENDS {
                    storage.append(&[entry(i)]).expect("append");
                }
                black_box(storage);
                dir
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("baseline_bare_file", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("a temp dir"),
            |dir| {
                let mut file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(dir.path().join("log"))
                    .expect("open");
                for i in 1..=APPENDS {
                    let bytes = format!("command {i}");
                    file.write_all(bytes.as_bytes()).expect("write");
                    file.sync_data().expect("sync");
                }
                dir
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, appends);
criterion_main!(benches);
