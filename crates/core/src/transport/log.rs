//! An optional log of every command a transport runs, one line each
//! (`<ms since epoch> <destination> <label>`), appended to the file named by
//! `MATTERSTACK_TRANSPORT_LOG`. Tests and benchmarks count scheduler
//! commands and connections from it. Scripts are not logged: they may
//! carry user data.

use std::io::Write;

/// Appends one line for a command, if logging is on. Never fails.
pub fn record(destination: &str, label: &str) {
    let Some(path) = std::env::var_os(crate::env_vars::MATTERSTACK_TRANSPORT_LOG) else {
        return;
    };
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{} {destination} {label}", crate::store::now_ms());
    }
}
