//! The `matterstack` binary: a thin face over `matterstack_core::app`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
