//! The four mutual exclusion algorithms in the simulator, one module each (one test binary: each binary links the whole crate).

#[path = "algorithms/central_server.rs"]
mod central_server;
#[path = "algorithms/maekawa.rs"]
mod maekawa;
#[path = "algorithms/ricart_agrawala.rs"]
mod ricart_agrawala;
#[path = "algorithms/token_recovery.rs"]
mod token_recovery;
#[path = "algorithms/token_ring.rs"]
mod token_ring;
