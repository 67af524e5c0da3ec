//! Being polite to clusters: rate limiting, retry delays and telling transient transport
//! failures from permanent ones. Time and randomness are arguments, never read here.

mod backoff;
mod bucket;
mod ssh;

pub use backoff::Backoff;
pub use bucket::{PolitenessError, TokenBucket};
pub use ssh::{classify_ssh_failure, FailureClass, FailureReason, SshFailureKind};
