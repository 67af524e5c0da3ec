//! A small seeded mutation fuzzer that runs under plain `cargo test` on stable Rust.
//!
//! Each crate's `tests/fuzz.rs` declares one [`Target`] per parser of outside data
//! (workspace and template TOML, `job_info.json`, scheduler replies, exit markers,
//! QCSchema input, program outputs): real inputs as seeds, then mutated inputs
//! ([`mutate`]) until a time budget runs out, checking that the parser never panics
//! and never hangs on one input. Errors are values: a parser may refuse an input, never
//! crash on it.
//!
//! * `MATTERSTACK_FUZZ_SECS` — seconds per target (default 2; CI's longer runs set 60).
//! * `MATTERSTACK_FUZZ_SEED` — the RNG seed (default: from the clock; always printed).
//!
//! Each target prints `fuzz <target>: N executions in S s, 0 panics (seed …)` straight to
//! stderr, past the test harness's capture, so the CI log shows the counts. A panic or a
//! hang fails the test with the seed, the panic message and the smallest input found that
//! still fails, which is also written to a file named in the message.

mod mutate;
mod rng;
mod run;
pub mod seeds;

pub use mutate::mutate;
pub use rng::Rng;
pub use run::{Stats, Target};
