//! `qstat -f` text (Torque, and PBS Pro without `-F json`).
//!
//! ```text
//! Job Id: 179.host
//!     Job_Name = STDIN
//!     job_state = C
//!     Variable_List = PBS_O_HOME=/home/user,PBS_O_LOGNAME=user,
//! <TAB>PBS_O_PATH=/usr/bin,PBS_O_SHELL=/bin/bash
//!     exit_status = -1
//! ```

use std::collections::BTreeMap;

use super::PbsJob;
use crate::error::{ParseError, Parsed};

/// argv for a batched Torque query: `qstat -f <id> <id> …` (Torque keeps completed jobs in
/// state `C` for `keep_completed` seconds; its `-x` option means XML).
pub fn qstat_text_command(job_ids: &[String]) -> Vec<String> {
    let mut v = vec!["qstat".to_string(), "-f".to_string()];
    v.extend(job_ids.iter().cloned());
    v
}

/// `Some((key, value))` for an attribute line (`    key = value`).
fn attr_line(line: &str) -> Option<(&str, &str)> {
    if line.starts_with('\t') || !line.starts_with(' ') {
        return None;
    }
    let t = line.trim_start();
    let (k, v) = match t.split_once(" = ") {
        Some(kv) => kv,
        None => (t.strip_suffix(" =")?, ""),
    };
    let ok = k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    ok.then_some((k, v))
}

/// Parse `qstat -f` text. Never fails: lines outside a `Job Id:` block and jobs without a
/// known `job_state` are skipped with warnings.
///
/// Continuation lines (tab-indented, or indented lines that are not `key = value`) are
/// appended to the previous value with their leading whitespace removed and no separator,
/// since qstat wraps values at a fixed width, mid-word.
pub fn parse_qstat_text(text: &str) -> Parsed<PbsJob> {
    let mut out = Parsed::default();
    let mut cur: Option<(String, BTreeMap<String, String>, usize)> = None;
    let mut last_key: Option<String> = None;
    let finish = |cur: Option<(String, BTreeMap<String, String>, usize)>,
                  out: &mut Parsed<PbsJob>| {
        if let Some((id, attrs, line)) = cur {
            match PbsJob::from_attrs(&id, attrs) {
                Some(j) => out.rows.push(j),
                None => out.warnings.push(ParseError::new(
                    "PBS job without a known job_state",
                    Some(line),
                    &id,
                )),
            }
        }
    };
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(id) = line.strip_prefix("Job Id:") {
            finish(cur.take(), &mut out);
            cur = Some((id.trim().to_string(), BTreeMap::new(), lineno));
            last_key = None;
            continue;
        }
        let Some((_, attrs, _)) = cur.as_mut() else {
            out.warnings.push(ParseError::new(
                "line outside a 'Job Id:' block",
                Some(lineno),
                line,
            ));
            continue;
        };
        if let Some((k, v)) = attr_line(line) {
            attrs.insert(k.to_string(), v.to_string());
            last_key = Some(k.to_string());
        } else if let Some(v) = last_key.as_ref().and_then(|k| attrs.get_mut(k)) {
            v.push_str(line.trim_start());
        } else {
            out.warnings.push(ParseError::new(
                "unexpected line in qstat -f output",
                Some(lineno),
                line,
            ));
        }
    }
    finish(cur.take(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pbs::{PbsFlavor, PbsState};

    #[test]
    fn blocks_and_continuations() {
        let t = "Job Id: 1.h\n    Job_Name = a\n    job_state = R\n    Variable_List = A=1,\n\tB=2\n    comment =\n\nJob Id: 2.h\n    job_state = C\n    exit_status = 0\n";
        let p = parse_qstat_text(t);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(p.rows.len(), 2);
        assert_eq!(p.rows[0].attrs["Variable_List"], "A=1,B=2");
        assert_eq!(p.rows[0].comment, None);
        assert_eq!(p.rows[1].state, PbsState::Completed);
        assert_eq!(p.rows[1].exit_status, Some(0));
        assert_eq!(qstat_text_command(&["1.h".into()]), ["qstat", "-f", "1.h"]);
        let _ = p.rows[0].phase(PbsFlavor::Torque);
    }

    #[test]
    fn junk_never_panics() {
        let p = parse_qstat_text("qstat: Unknown Job Id 5.h\n    x = y\nJob Id: 3.h\n\tstray\n");
        assert_eq!(p.rows.len(), 0);
        assert_eq!(p.warnings.len(), 4);
        assert!(parse_qstat_text("").rows.is_empty());
    }
}
