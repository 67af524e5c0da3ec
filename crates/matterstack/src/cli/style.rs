//! Colour, only on a terminal and only without NO_COLOR.

use std::io::IsTerminal;

fn enabled(stream_is_tty: bool) -> bool {
    stream_is_tty
        && std::env::var_os(matterstack_core::env_vars::NO_COLOR).is_none_or(|v| v.is_empty())
}

/// True when colour may be used on standard output.
pub fn color_on() -> bool {
    enabled(std::io::stdout().is_terminal())
}

/// `error` in bold red on a terminal.
pub fn error_label() -> String {
    if enabled(std::io::stderr().is_terminal()) {
        "\x1b[1;31merror\x1b[0m".to_string()
    } else {
        "error".to_string()
    }
}

/// A task or run status, coloured by meaning when stdout is a terminal.
pub fn status(s: &str) -> String {
    if !enabled(std::io::stdout().is_terminal()) {
        return s.to_string();
    }
    let code = match s {
        "COMPLETED" => "32",
        "FAILED" => "31",
        "RUNNING" => "36",
        "QUEUED" => "34",
        "WAITING_EXTERNAL" | "PAUSED" => "35",
        "CANCELLED" | "SKIPPED" => "33",
        _ => "2",
    };
    format!("\x1b[{code}m{s}\x1b[0m")
}
