//! Simulator features, one module each (one test binary: each binary links the whole crate).

#[path = "sim_features/byzantine.rs"]
mod byzantine;
#[path = "sim_features/failure_detector.rs"]
mod failure_detector;
#[path = "sim_features/scheduler.rs"]
mod scheduler;
#[path = "sim_features/timers.rs"]
mod timers;
