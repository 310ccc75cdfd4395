//! The command line's and the registry's tests: each file is a module of
//! this one test binary (`autotests = false` in Cargo.toml), because each
//! binary links the whole crate and its dependencies. Run one file's tests
//! with `cargo test --release --test commands FILE::`.

#[path = "support/cli.rs"]
mod support_cli;

#[path = "cli.rs"]
mod cli;
#[path = "cli_settings.rs"]
mod cli_settings;
#[path = "history_cli.rs"]
mod history_cli;
#[path = "model_checkable.rs"]
mod model_checkable;
#[path = "registry.rs"]
mod registry;
#[path = "tutorial_order.rs"]
mod tutorial_order;
