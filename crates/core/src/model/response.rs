//! A person's answer to a `human` task: `response.json`,
//! `{"status": "COMPLETED" | "FAILED", "data": {…}, "error": null | "…"}`,
//! whose `data` must satisfy the task's JSON Schema. Pure: text in, verdict
//! out.

use serde_json::Value;

/// A validated response.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// True for `COMPLETED`, false for `FAILED`.
    pub completed: bool,
    /// The data (an object; the task's results).
    pub data: Value,
    /// The person's error message, for `FAILED`.
    pub error: Option<String>,
}

/// The schema used when a human task declares none: any object.
pub fn default_schema() -> Value {
    serde_json::json!({"type": "object"})
}

/// Checks that `schema` is a usable JSON Schema (at `init`).
pub fn check_schema(schema: &Value) -> Result<(), String> {
    jsonschema::validator_for(schema)
        .map(|_| ())
        .map_err(|e| format!("schema is not a valid JSON Schema: {e}"))
}

/// The most a response may hold: it is stored in the run (and rendered into
/// downstream commands), so it stays small.
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// Parses and validates a response against `schema`.
///
/// Fails with a message naming what is wrong: not JSON, a missing or
/// unknown field, a status other than COMPLETED/FAILED, or each schema
/// violation with its JSON path.
pub fn check(text: &str, schema: &Value) -> Result<Response, String> {
    if text.len() > MAX_RESPONSE_BYTES {
        return Err(format!(
            "response is larger than the {} KiB a response may hold; put large data in a file the next task reads and answer with its name",
            MAX_RESPONSE_BYTES >> 10
        ));
    }
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("response is not valid JSON: {e}"))?;
    let Value::Object(o) = &v else {
        return Err(
            "response must be a JSON object with \"status\", \"data\" and \"error\"".into(),
        );
    };
    if let Some(k) = o
        .keys()
        .find(|k| !matches!(k.as_str(), "status" | "data" | "error"))
    {
        return Err(format!(
            "response has an unknown field \"{k}\"; it holds only \"status\", \"data\" and \"error\""
        ));
    }
    let completed = match o.get("status").and_then(Value::as_str) {
        Some("COMPLETED") => true,
        Some("FAILED") => false,
        Some(other) => {
            return Err(format!(
                "response status \"{other}\" is not allowed; use \"COMPLETED\" or \"FAILED\""
            ))
        }
        None => return Err("response has no \"status\" (\"COMPLETED\" or \"FAILED\")".into()),
    };
    let error = match o.get("error") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(format!(
                "response \"error\" must be a string or null, not {other}"
            ))
        }
    };
    let data = o
        .get("data")
        .cloned()
        .unwrap_or(Value::Object(Default::default()));
    if !completed {
        return Ok(Response {
            completed,
            data,
            error: error.or_else(|| Some("no reason given".into())),
        });
    }
    let validator = jsonschema::validator_for(schema)
        .map_err(|e| format!("the task's schema is not a valid JSON Schema: {e}"))?;
    let problems: Vec<String> = validator
        .iter_errors(&data)
        .map(|e| {
            let path = e.instance_path().to_string();
            let at = if path.is_empty() {
                "data".to_string()
            } else {
                format!("data{path}")
            };
            format!("{at}: {e}")
        })
        .collect();
    if !problems.is_empty() {
        return Err(format!(
            "response data does not match the task's schema: {}",
            problems.join("; ")
        ));
    }
    Ok(Response {
        completed,
        data,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Value {
        serde_json::json!({
            "type": "object",
            "required": ["approved", "temperature"],
            "properties": {
                "approved": {"type": "boolean"},
                "temperature": {"type": "number", "minimum": 0}
            }
        })
    }

    #[test]
    fn accepts_a_valid_response() {
        let r = check(
            r#"{"status": "COMPLETED", "data": {"approved": true, "temperature": 300}, "error": null}"#,
            &schema(),
        )
        .unwrap();
        assert!(r.completed);
        assert_eq!(r.data["temperature"], 300);
    }

    #[test]
    fn names_schema_violations_with_their_paths() {
        let e = check(
            r#"{"status": "COMPLETED", "data": {"approved": "yes", "temperature": -1}}"#,
            &schema(),
        )
        .unwrap_err();
        assert!(e.contains("data/approved") && e.contains("boolean"), "{e}");
        assert!(
            e.contains("data/temperature") && e.contains("minimum") || e.contains("less than"),
            "{e}"
        );
        let e = check(r#"{"status": "COMPLETED", "data": {}}"#, &schema()).unwrap_err();
        assert!(e.contains("approved") && e.contains("required"), "{e}");
    }

    #[test]
    fn rejects_bad_envelopes() {
        assert!(check("nope", &schema())
            .unwrap_err()
            .contains("not valid JSON"));
        assert!(check(r#"{"status": "DONE"}"#, &schema())
            .unwrap_err()
            .contains("\"DONE\" is not allowed"));
        assert!(check(r#"{"status": "COMPLETED", "extra": 1}"#, &schema())
            .unwrap_err()
            .contains("unknown field \"extra\""));
        let r = check(
            r#"{"status": "FAILED", "error": "sample broke"}"#,
            &schema(),
        )
        .unwrap();
        assert!(!r.completed);
        assert_eq!(r.error.as_deref(), Some("sample broke"));
    }
}
