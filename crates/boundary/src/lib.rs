//! The pieces every layer uses where data crosses a trust boundary (see
//! `docs/SECURITY.md`): one quoting function for values that reach a shell,
//! one check for names and relative paths that come from outside. Pure: no IO.

pub mod names;
pub mod quote;

pub use names::check_file_name;
pub use quote::sh_quote;
