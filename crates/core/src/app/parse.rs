//! `parse PROGRAM FILE`: an output parser run on any file — an old output a
//! user wants to check, a running job's partial output, the real-output
//! corpus. The same parsers the engine runs on finished attempts.

use std::path::Path;

use matterstack_templates::parsers::{ParsedOutput, PROGRAMS};

use crate::{Error, Result};

/// The largest file `parse` reads (program outputs are text; a bigger file
/// is almost always the wrong one).
pub const MAX_OUTPUT_BYTES: u64 = 2 << 30;

/// Parses `file` as output of `program`. Fails with a user error naming the
/// program (with the known ones) or the file.
pub fn parse_file(program: &str, file: &Path) -> Result<ParsedOutput> {
    if !PROGRAMS.contains(&program) {
        return Err(Error::Input(format!(
            "program \"{program}\" has no parser; use one of: {}",
            PROGRAMS.join(", ")
        )));
    }
    let cannot = |e: std::io::Error| {
        Error::Input(format!(
            "{}: cannot read it: {e}; give the program's output file",
            file.display()
        ))
    };
    let meta = std::fs::metadata(file).map_err(cannot)?;
    if !meta.is_file() {
        return Err(Error::Input(format!(
            "{}: not a file; give the program's output file",
            file.display()
        )));
    }
    if meta.len() > MAX_OUTPUT_BYTES {
        return Err(Error::Input(format!(
            "{}: {} bytes is more than the {} GiB parse reads; is it an output file?",
            file.display(),
            meta.len(),
            MAX_OUTPUT_BYTES >> 30
        )));
    }
    let bytes = std::fs::read(file).map_err(cannot)?;
    // Outputs are text; a stray non-UTF-8 byte (a Fortran code's Latin-1
    // unit) does not stop the parse.
    let text = String::from_utf8_lossy(&bytes);
    matterstack_templates::parse_output(program, &text)
        .ok_or_else(|| Error::Input(format!("program \"{program}\" has no parser")))
}
