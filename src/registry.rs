//! Every algorithm `dsys sim` can run. Each algorithm crate exports an
//! `Algorithm` constant ([`crate::core::scenario::Algorithm`]); adding one to
//! the CLI is one line in [`algorithms`].

use crate::core::scenario::Algorithm;

/// The registered algorithms, in the order `dsys list` prints them.
pub fn algorithms() -> Vec<Algorithm> {
    vec![
        crate::core::ping_pong::ALGORITHM,
        crate::core::failure_detector::ALGORITHM,
        crate::net::rpc::ALGORITHM,
        crate::clocks::cristian::ALGORITHM,
        crate::clocks::berkeley::ALGORITHM,
        crate::clocks::ntp::ALGORITHM,
        crate::clocks::lamport::ALGORITHM,
        crate::clocks::vector::ALGORITHM,
        crate::clocks::snapshot::ALGORITHM,
        crate::mutex::central_server::ALGORITHM,
        crate::mutex::token_ring::ALGORITHM,
        crate::mutex::ricart_agrawala::ALGORITHM,
        crate::mutex::maekawa::ALGORITHM,
        crate::election::ring::ALGORITHM,
        crate::election::bully::ALGORITHM,
        crate::consensus::raft::simulation::ALGORITHM,
        crate::consensus::paxos::simulation::ALGORITHM,
        crate::consensus::multi_paxos::simulation::ALGORITHM,
        crate::consensus::byzantine_generals::simulation::ALGORITHM,
        crate::consensus::dolev_strong::simulation::ALGORITHM,
    ]
}

/// The algorithm registered under `name`, if any.
pub fn find(name: &str) -> Option<Algorithm> {
    algorithms().into_iter().find(|a| a.name == name)
}
