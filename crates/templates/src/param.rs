//! Parameter declarations: the typed schema a template declares in `template.toml`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    /// Free text (one line unless `multiline = true`); `format` may restrict it.
    String,
    /// A whole number; `min`/`max` apply.
    Integer,
    /// A real number; `min`/`max` apply.
    Float,
    /// `true` or `false`.
    Boolean,
    /// One of `options`.
    Select,
    /// A list of distinct values, each one of `options`.
    Multiselect,
    /// A relative file name inside the task directory; `extensions` may restrict it.
    File,
    /// The text of a molecular or crystal structure; `format` is `xyz`, `pdb` or `cif`.
    Structure,
}

impl ParamType {
    /// The name used in `template.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Integer => "integer",
            ParamType::Float => "float",
            ParamType::Boolean => "boolean",
            ParamType::Select => "select",
            ParamType::Multiselect => "multiselect",
            ParamType::File => "file",
            ParamType::Structure => "structure",
        }
    }
}

/// A parameter that only matters when another parameter has one of some values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DependsOn {
    /// The parameter this one depends on.
    pub param: String,
    /// The values of `param` for which this parameter is relevant.
    pub values: Vec<Value>,
}

/// Formats a `string` parameter may be restricted to.
pub const STRING_FORMATS: &[&str] = &[
    "name",
    "opt_name",
    "memory",
    "walltime",
    "index_list",
    "file_list",
    "word_list",
    "number_list",
    "crystal_atoms",
    "band_path",
    "vector3",
];
/// Formats a `structure` parameter may declare.
pub const STRUCTURE_FORMATS: &[&str] = &["xyz", "pdb", "cif"];

/// One declared parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    /// Name used in the Jinja files and on the command line (`[a-z_][a-z0-9_]*`).
    pub name: String,
    /// The type.
    #[serde(rename = "type")]
    pub kind: ParamType,
    /// Short label for forms; the name is used when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// One or two sentences for forms and `--help`.
    #[serde(default)]
    pub help: String,
    /// Value used when none is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// Smallest allowed value (integer and float).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest allowed value (integer and float).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Allowed values (select and multiselect).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// A value must be given (or a default exist) when the parameter is relevant.
    #[serde(default)]
    pub required: bool,
    /// Relevant only when another parameter has one of some values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<DependsOn>,
    /// Units shown next to the value (e.g. `K`, `fs`, `GB`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<String>,
    /// `string`: one of [`STRING_FORMATS`]; `structure`: one of [`STRUCTURE_FORMATS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// `file`: allowed file name endings (e.g. `.psf`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<String>,
    /// `string`: line breaks allowed.
    #[serde(default)]
    pub multiline: bool,
}

impl ParamSpec {
    /// Checks the declaration itself (not a value). Returns a message naming the problem.
    ///
    /// Fails when the name is not an identifier, select types lack options, `min > max`,
    /// a format does not fit the type, or the default does not validate.
    pub fn check(&self) -> Result<(), String> {
        if !is_identifier(&self.name) {
            return Err(format!(
                "parameter name '{}' must match [a-z_][a-z0-9_]*",
                self.name
            ));
        }
        let n = &self.name;
        match self.kind {
            ParamType::Select | ParamType::Multiselect if self.options.is_empty() => {
                return Err(format!(
                    "parameter '{n}': type {} needs `options`",
                    self.kind.as_str()
                ));
            }
            ParamType::Integer | ParamType::Float => {}
            _ if self.min.is_some() || self.max.is_some() => {
                return Err(format!(
                    "parameter '{n}': min/max only apply to integer and float"
                ));
            }
            _ => {}
        }
        if let (Some(lo), Some(hi)) = (self.min, self.max) {
            if lo > hi {
                return Err(format!(
                    "parameter '{n}': min {lo} is greater than max {hi}"
                ));
            }
        }
        if !self.options.is_empty()
            && !matches!(self.kind, ParamType::Select | ParamType::Multiselect)
        {
            return Err(format!(
                "parameter '{n}': options only apply to select and multiselect"
            ));
        }
        if let Some(f) = &self.format {
            let allowed = match self.kind {
                ParamType::String => STRING_FORMATS,
                ParamType::Structure => STRUCTURE_FORMATS,
                _ => &[][..],
            };
            if !allowed.contains(&f.as_str()) {
                return Err(format!(
                    "parameter '{n}': format '{f}' is not valid for type {} (allowed: {})",
                    self.kind.as_str(),
                    if allowed.is_empty() {
                        "none".to_string()
                    } else {
                        allowed.join(", ")
                    }
                ));
            }
        }
        if self.kind == ParamType::Structure && self.format.is_none() {
            return Err(format!(
                "parameter '{n}': structure parameters need `format` (xyz, pdb or cif)"
            ));
        }
        if let Some(dep) = &self.depends_on {
            if dep.param == self.name {
                return Err(format!("parameter '{n}': depends_on names itself"));
            }
            if dep.values.is_empty() {
                return Err(format!(
                    "parameter '{n}': depends_on needs at least one value"
                ));
            }
        }
        if let Some(d) = &self.default {
            crate::value::check_value(self, d)
                .map_err(|m| format!("parameter '{n}': default is invalid: {m}"))?;
        }
        Ok(())
    }

    /// The label for forms (the name when no label is declared).
    pub fn display_label(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.name)
    }
}

/// `[a-z_][a-z0-9_]*`
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_lowercase() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(toml_text: &str) -> ParamSpec {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn identifier_rule() {
        assert!(is_identifier("basis"));
        assert!(is_identifier("_x1"));
        assert!(!is_identifier("1x"));
        assert!(!is_identifier("Basis"));
        assert!(!is_identifier("a-b"));
        assert!(!is_identifier(""));
    }

    #[test]
    fn bad_declarations() {
        let s = spec("name = 'x'\ntype = 'select'\n");
        assert!(s.check().unwrap_err().contains("needs `options`"));
        let s = spec("name = 'x'\ntype = 'integer'\nmin = 5\nmax = 1\n");
        assert!(s.check().unwrap_err().contains("greater than max"));
        let s = spec("name = 'x'\ntype = 'integer'\nmin = 1\ndefault = 0\n");
        assert!(s.check().unwrap_err().contains("default is invalid"));
        let s = spec("name = 'x'\ntype = 'structure'\n");
        assert!(s.check().unwrap_err().contains("need `format`"));
        let s = spec("name = 'x'\ntype = 'string'\nformat = 'xyz'\n");
        assert!(s.check().unwrap_err().contains("not valid for type string"));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let r: Result<ParamSpec, _> = toml::from_str("name = 'x'\ntype = 'string'\nmaximum = 3\n");
        assert!(r.is_err());
    }
}
