//! dsys-replication's integration tests: each file is a module of this one test
//! binary (`autotests = false` in Cargo.toml), because each binary links
//! the whole crate and its dependencies. Run one file's tests with
//! `cargo test -p dsys-replication --test replication FILE::`.

#[path = "support/faults.rs"]
mod faults;
#[path = "support/oracle.rs"]
mod oracle;

#[path = "active.rs"]
mod active;
#[path = "checkers.rs"]
mod checkers;
#[path = "consensus_kv.rs"]
mod consensus_kv;
#[path = "differential.rs"]
mod differential;
#[path = "jepsen.rs"]
mod jepsen;
#[path = "mutants.rs"]
mod mutants;
#[path = "primary_backup.rs"]
mod primary_backup;
