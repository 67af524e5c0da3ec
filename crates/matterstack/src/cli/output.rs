//! What the CLI draws for the layers below: transfer progress (the
//! [`Reporter`] it installs) and logs (the `tracing` subscriber).

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use matterstack_core::env_vars::{MATTERSTACK_LOG, MATTERSTACK_PROGRESS};
use matterstack_core::report::{Reporter, TransferProgress};

/// Sets up logging to standard error: `MATTERSTACK_LOG` (EnvFilter syntax)
/// if set, else `-v` info, `-vv` debug, `-vvv` trace, else nothing.
pub fn init_logging(verbose: u8) {
    let filter = match std::env::var(MATTERSTACK_LOG) {
        Ok(f) if !f.trim().is_empty() => f,
        _ => match verbose {
            0 => return,
            1 => "matterstack=info".to_string(),
            2 => "matterstack=debug".to_string(),
            _ => "matterstack=trace".to_string(),
        },
    };
    let filter = match tracing_subscriber::EnvFilter::try_new(&filter) {
        Ok(f) => f,
        Err(e) => {
            eprintln!(
                "warning: {MATTERSTACK_LOG}={filter:?} is not a filter ({e}); logging stays off. Example: {MATTERSTACK_LOG}=matterstack::transport=debug"
            );
            return;
        }
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Installs the transfer reporter: a bar per transfer on a terminal, plain
/// lines (every 10 %) when `MATTERSTACK_PROGRESS=1` forces it elsewhere,
/// nothing with `MATTERSTACK_PROGRESS=0` or off a terminal.
pub fn init_progress() {
    let tty = std::io::stderr().is_terminal();
    let reporter: Box<dyn Reporter> = match std::env::var(MATTERSTACK_PROGRESS).as_deref() {
        Ok("0") => return,
        Ok("1") if !tty => Box::new(Lines::default()),
        _ if tty => Box::new(Bars::default()),
        Ok("1") => Box::new(Lines::default()),
        _ => return,
    };
    matterstack_core::report::install(reporter);
}

/// Transfers as indicatif bars on standard error.
#[derive(Default)]
struct Bars {
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Reporter for Bars {
    fn transfer(&self, label: &str, p: &TransferProgress) {
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        let bar = bars.entry(label.to_string()).or_insert_with(|| {
            let b = ProgressBar::with_draw_target(Some(100), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template("{prefix} [{bar:30}] {pos:>3}% {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            b.set_prefix(label.to_string());
            b
        });
        bar.set_position(p.percent.into());
        bar.set_message(format!("{} {}", bytes(p.bytes), p.rate));
    }

    fn transfer_done(&self, label: &str) {
        if let Some(b) = self
            .bars
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(label)
        {
            b.finish();
        }
    }
}

/// Transfers as plain lines, one per 10 % step.
#[derive(Default)]
struct Lines {
    shown: Mutex<HashMap<String, u8>>,
}

impl Reporter for Lines {
    fn transfer(&self, label: &str, p: &TransferProgress) {
        let mut shown = self.shown.lock().unwrap_or_else(|e| e.into_inner());
        let step = p.percent / 10;
        if shown.get(label) != Some(&step) {
            shown.insert(label.to_string(), step);
            let mut e = std::io::stderr().lock();
            let _ = writeln!(e, "{label}: {}% {} {}", p.percent, bytes(p.bytes), p.rate);
        }
    }

    fn transfer_done(&self, label: &str) {
        self.shown
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(label);
    }
}

fn bytes(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}
