//! How values cross a shell boundary. Every value that matterstack puts into
//! a shell command line — locally now, over SSH later — goes through
//! [`quote`]; nothing else builds shell text from user values.

mod quote;

pub use quote::{quote, quote_all};
