//! Every command a transport runs is a `tracing` event (target
//! `matterstack::transport`, level debug: destination and label), and, when
//! `MATTERSTACK_TRANSPORT_LOG` names a file, one line appended there
//! (`<ms since epoch> <destination> <label>`): tests and benchmarks count
//! scheduler commands and connections from it. Scripts are never logged:
//! they may carry user data.

use std::io::Write;

/// Appends one line for a command, if logging is on. Never fails.
pub fn record(destination: &str, label: &str) {
    tracing::debug!(target: "matterstack::transport", destination, label, "command");
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
