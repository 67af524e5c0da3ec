//! Component labels, `["model", [real fragments], [basis fragments]]` with 1-based fragments,
//! spelled byte for byte as QCManyBody's `labeler` writes them (Python `json.dumps`, which uses
//! `", "` separators and escapes every non-printable or non-ASCII character as `\uXXXX`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::MbeError;

/// One component calculation: a model chemistry, the real fragments and the basis fragments
/// (real plus ghost), all fragments 1-based and ascending.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Label {
    pub model: String,
    pub real: Vec<usize>,
    pub basis: Vec<usize>,
}

impl Label {
    /// A label from its parts (fragments 1-based).
    pub fn new(model: impl Into<String>, real: Vec<usize>, basis: Vec<usize>) -> Label {
        Label {
            model: model.into(),
            real,
            basis,
        }
    }

    /// Fragments present only as ghosts (in `basis`, not in `real`), ascending.
    pub fn ghost(&self) -> Vec<usize> {
        self.basis
            .iter()
            .copied()
            .filter(|f| !self.real.contains(f))
            .collect()
    }

    /// Parse a label string as written by QCManyBody (`["mp2", [1], [1, 2]]`).
    ///
    /// Fails with [`MbeError::BadLabel`] when the text is not a JSON array of a string and two
    /// lists of positive integers, or when the real fragments are not a subset of the basis ones.
    pub fn parse(text: &str) -> Result<Label, MbeError> {
        let bad = |problem: &str| MbeError::BadLabel {
            label: text.to_string(),
            problem: problem.to_string(),
        };
        let (model, real, basis): (serde_json::Value, Vec<i64>, Vec<i64>) =
            serde_json::from_str(text)
                .map_err(|e| bad(&format!("not a 3-element JSON array ({e})")))?;
        let model = match model {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        let to_frags = |v: Vec<i64>| -> Result<Vec<usize>, MbeError> {
            v.into_iter()
                .map(|x| {
                    if x >= 1 {
                        Ok(x as usize)
                    } else {
                        Err(bad("fragment numbers are 1-based positive integers"))
                    }
                })
                .collect()
        };
        let real = to_frags(real)?;
        let basis = to_frags(basis)?;
        if real.iter().any(|f| !basis.contains(f)) {
            return Err(bad("every real fragment must also be a basis fragment"));
        }
        Ok(Label { model, real, basis })
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &[usize]| {
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        write!(
            f,
            "[{}, [{}], [{}]]",
            python_json_string(&self.model),
            list(&self.real),
            list(&self.basis)
        )
    }
}

/// A string as Python's `json.dumps` writes it with the default `ensure_ascii=True`.
pub fn python_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling_matches_qcmanybody() {
        let l = Label::new("mp2", vec![1], vec![1, 2]);
        assert_eq!(l.to_string(), r#"["mp2", [1], [1, 2]]"#);
        assert_eq!(
            Label::new("(auto)", vec![1, 2, 3], vec![1, 2, 3]).to_string(),
            r#"["(auto)", [1, 2, 3], [1, 2, 3]]"#
        );
        // json.dumps(["é\"x"]) == '["\\u00e9\\"x"]'
        assert_eq!(python_json_string("é\"x"), r#""\u00e9\"x""#);
        assert_eq!(python_json_string("𝄞"), r#""\ud834\udd1e""#);
        assert_eq!(python_json_string("a\u{7f}"), r#""a\u007f""#);
    }

    #[test]
    fn parse_round_trip() {
        let l = Label::parse(r#"["mp2", [1], [1, 2]]"#).unwrap();
        assert_eq!(l, Label::new("mp2", vec![1], vec![1, 2]));
        assert_eq!(l.ghost(), vec![2]);
        assert_eq!(Label::parse(&l.to_string()).unwrap(), l);
        assert!(Label::parse("mp2 1 2").is_err());
        assert!(Label::parse(r#"["mp2", [0], [0]]"#).is_err());
        assert!(Label::parse(r#"["mp2", [3], [1, 2]]"#).is_err());
    }
}
