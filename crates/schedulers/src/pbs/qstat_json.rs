//! PBS Pro `qstat -f -F json -x` (batched).

use std::collections::BTreeMap;

use serde_json::Value;

use super::PbsJob;
use crate::error::{ParseError, Parsed};

/// argv for one batched PBS Pro query including finished jobs:
/// `qstat -f -F json -x <id> <id> …`.
///
/// PBS Pro prints the jobs it knows and, for unknown ids, `qstat: Unknown Job Id <id>` on
/// stderr with a non-zero exit; the caller still parses stdout. Ids should come from
/// [`super::parse_qsub`].
pub fn qstat_json_command(job_ids: &[String]) -> Vec<String> {
    let mut v: Vec<String> = ["qstat", "-f", "-F", "json", "-x"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.extend(job_ids.iter().cloned());
    v
}

fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        Value::Array(items) => {
            let joined: Vec<String> = items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            out.insert(prefix.to_string(), joined.join(","));
        }
        Value::Null => {}
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// Parse PBS Pro's JSON (`{"timestamp":…, "pbs_version":…, "Jobs": {"1234.server": {…}}}`).
///
/// Errors when the text is not JSON, not an object, or `Jobs` is not an object. No `Jobs`
/// key means no jobs (PBS Pro omits it). A job without a known `job_state` is skipped with a
/// warning. Scalars of any JSON type are accepted as text (PBS Pro prints numeric job names
/// as numbers). Some PBS Pro versions emit invalid JSON (unescaped characters in
/// `Variable_List`); then fall back to `qstat -f` text and [`super::parse_qstat_text`].
pub fn parse_qstat_json(text: &str) -> Result<Parsed<PbsJob>, ParseError> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| ParseError::new(format!("qstat JSON does not parse: {e}"), None, text))?;
    let top = v
        .as_object()
        .ok_or_else(|| ParseError::new("qstat JSON is not an object", None, text))?;
    let mut out = Parsed::default();
    let jobs = match top.get("Jobs") {
        None => return Ok(out),
        Some(Value::Object(j)) => j,
        Some(_) => {
            return Err(ParseError::new(
                "qstat JSON \"Jobs\" is not an object",
                None,
                text,
            ))
        }
    };
    for (id, attrs_v) in jobs {
        let mut attrs = BTreeMap::new();
        flatten("", attrs_v, &mut attrs);
        match PbsJob::from_attrs(id, attrs) {
            Some(j) => out.rows.push(j),
            None => out.warnings.push(ParseError::new(
                "PBS job without a known job_state",
                None,
                &format!("{id}: {attrs_v}"),
            )),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pbs::{PbsFlavor, PbsState};
    use crate::Phase;

    #[test]
    fn command() {
        assert_eq!(
            qstat_json_command(&["1.s".into(), "2.s".into()]),
            ["qstat", "-f", "-F", "json", "-x", "1.s", "2.s"]
        );
    }

    #[test]
    fn minimal_and_errors() {
        let t = r#"{"timestamp":1,"pbs_version":"22.05","pbs_server":"s","Jobs":{
            "1.s":{"Job_Name":123,"job_state":"F","Exit_status":0,"Resource_List":{"ncpus":4,"walltime":"01:00:00"}},
            "2.s":{"Job_Name":"x","job_state":"??"},
            "3.s":{"job_state":"Q","comment":"Not Running: Insufficient amount of resource: ncpus"}}}"#;
        let p = parse_qstat_json(t).unwrap();
        assert_eq!(p.rows.len(), 2);
        assert_eq!(p.warnings.len(), 1);
        let j = &p.rows[0];
        assert_eq!(j.name.as_deref(), Some("123"));
        assert_eq!(j.state, PbsState::Finished);
        assert_eq!(j.attrs["Resource_List.ncpus"], "4");
        assert_eq!(
            j.phase(PbsFlavor::Pro),
            Phase::Finished { exit_code: Some(0) }
        );
        assert_eq!(
            p.rows[1].phase(PbsFlavor::Pro),
            Phase::Queued {
                reason: Some("Not Running: Insufficient amount of resource: ncpus".into())
            }
        );
        assert!(parse_qstat_json(r#"{"timestamp":1}"#)
            .unwrap()
            .rows
            .is_empty());
        for bad in [
            "",
            "not json",
            "[1]",
            r#"{"Jobs":[1]}"#,
            r#"{"Jobs":{"1.s":"#,
        ] {
            assert!(parse_qstat_json(bad).is_err(), "{bad:?}");
        }
    }
}
