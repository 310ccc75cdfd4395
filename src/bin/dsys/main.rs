//! The `dsys` command line: every algorithm dsys ships, through
//! [`dsys::cli`] (which your own binary can call with your own algorithms).

fn main() -> std::process::ExitCode {
    dsys::cli::run(dsys::cli::Registry::standard())
}
