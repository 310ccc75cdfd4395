//! The ring and bully elections in the simulator, one module each (one test binary: each binary links the whole crate).

#[path = "elections/bully.rs"]
mod bully;
#[path = "elections/ring.rs"]
mod ring;
