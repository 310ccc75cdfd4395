//! Physical and logical time in the simulator, one module each (one test binary: each binary links the whole crate).

#[path = "time/logical.rs"]
mod logical;
#[path = "time/physical.rs"]
mod physical;
