//! Progress the lower layers report and the faces draw. Nothing below the
//! faces writes to the terminal: a transfer reports its progress here, and
//! the face that installed a [`Reporter`] (the CLI: indicatif on a
//! terminal, plain lines otherwise; the web UI: its event stream) shows it.
//! Without one, nothing is reported, and rsync is not even asked for it.

use std::sync::OnceLock;

/// One progress record of a transfer (rsync's `--info=progress2` totals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferProgress {
    /// Bytes moved so far.
    pub bytes: u64,
    /// Percent of the whole transfer.
    pub percent: u8,
    /// The rate as rsync prints it (`10.5MB/s`).
    pub rate: String,
}

impl TransferProgress {
    /// Parses a record: `"  1,234,567  42%  10.5MB/s  0:00:03 (xfr#3, to-chk=0/7)"`.
    ///
    /// `None` when the text is not one.
    pub fn parse(record: &str) -> Option<TransferProgress> {
        let mut words = record.split_whitespace();
        let bytes = words.next()?.replace(',', "").parse().ok()?;
        let percent = words.next()?.strip_suffix('%')?.parse().ok()?;
        let rate = words.next().unwrap_or("").to_string();
        Some(TransferProgress {
            bytes,
            percent,
            rate,
        })
    }
}

/// What faces are told as work goes on.
pub trait Reporter: Send + Sync {
    /// A transfer named `label` (`stage user@host`) made progress.
    fn transfer(&self, label: &str, progress: &TransferProgress);

    /// The transfer named `label` ended (successfully or not).
    fn transfer_done(&self, label: &str);
}

static REPORTER: OnceLock<Box<dyn Reporter>> = OnceLock::new();

/// Installs the process's reporter (once; a second call is refused and
/// returns false).
pub fn install(reporter: Box<dyn Reporter>) -> bool {
    REPORTER.set(reporter).is_ok()
}

/// The installed reporter, if any.
pub(crate) fn reporter() -> Option<&'static dyn Reporter> {
    REPORTER.get().map(|r| &**r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rsync_totals() {
        assert_eq!(
            TransferProgress::parse("10,240 100%    9.77MB/s    0:00:00 (xfr#2, to-chk=0/3)"),
            Some(TransferProgress {
                bytes: 10240,
                percent: 100,
                rate: "9.77MB/s".into()
            })
        );
        assert_eq!(
            TransferProgress::parse("sending incremental file list"),
            None
        );
    }
}
