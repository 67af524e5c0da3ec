//! Parameter values: reading them (`key=value` strings, TOML, JSON) and validating
//! them against the declared schema. Pure; never panics on user input.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{ParamError, TemplateError, ValidationErrors};
use crate::param::{ParamSpec, ParamType};
use crate::structure::check_structure;
use crate::suggest;

/// Validated values: every declared parameter has an entry (null when it has no value
/// and none is needed), typed as declared.
pub type Values = BTreeMap<String, Value>;

/// Reads `name=value` arguments into an untyped map (values stay strings; the schema
/// types them in [`validate`]).
///
/// Fails, listing every bad argument, when one has no `=`, an empty name, or a name
/// given twice.
pub fn parse_assignments<S: AsRef<str>>(
    args: &[S],
) -> Result<Map<String, Value>, ValidationErrors> {
    let mut map = Map::new();
    let mut errors = Vec::new();
    for arg in args {
        let arg = arg.as_ref();
        match arg.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                let k = k.trim().to_string();
                if map.contains_key(&k) {
                    errors.push(ParamError {
                        param: k,
                        message: "given twice".into(),
                    });
                } else {
                    map.insert(k, Value::String(v.to_string()));
                }
            }
            _ => errors.push(ParamError {
                param: arg.to_string(),
                message: "expected name=value".into(),
            }),
        }
    }
    if errors.is_empty() {
        Ok(map)
    } else {
        Err(ValidationErrors(errors))
    }
}

/// Reads a TOML parameters file (a flat table `name = value`).
///
/// Fails with [`TemplateError::ParamsFile`] naming `source_name` when the text is not TOML.
pub fn params_from_toml(
    text: &str,
    source_name: &str,
) -> Result<Map<String, Value>, TemplateError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| TemplateError::ParamsFile {
        source_name: source_name.to_string(),
        message: e.to_string().trim().to_string(),
    })?;
    match serde_json::to_value(table) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(TemplateError::ParamsFile {
            source_name: source_name.to_string(),
            message: "could not convert the table to parameter values".into(),
        }),
    }
}

/// Reads a JSON parameters file (an object `{"name": value}`).
///
/// Fails with [`TemplateError::ParamsFile`] when the text is not JSON or not an object.
pub fn params_from_json(
    text: &str,
    source_name: &str,
) -> Result<Map<String, Value>, TemplateError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(TemplateError::ParamsFile {
            source_name: source_name.to_string(),
            message: "expected a JSON object of parameter values".into(),
        }),
        Err(e) => Err(TemplateError::ParamsFile {
            source_name: source_name.to_string(),
            message: e.to_string(),
        }),
    }
}

/// Validates `input` against `params`: unknown names (with a suggestion), types, ranges,
/// options, formats, structures and required values (respecting `depends_on`). Missing
/// values take their default, or null.
///
/// Fails with every problem found, each naming parameter, value and rule.
pub fn validate(
    params: &[ParamSpec],
    input: &Map<String, Value>,
) -> Result<Values, ValidationErrors> {
    let mut errors = Vec::new();
    let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
    for key in input.keys() {
        if !names.contains(&key.as_str()) {
            let hint = suggest::hint(key, names.iter().copied());
            errors.push(ParamError {
                param: key.clone(),
                message: format!(
                    "unknown parameter{hint}; this template takes: {}",
                    names.join(", ")
                ),
            });
        }
    }
    let mut values = Values::new();
    let mut missing = Vec::new();
    for p in params {
        match input.get(&p.name).filter(|v| !v.is_null()) {
            Some(v) => match check_value(p, v) {
                Ok(v) => {
                    values.insert(p.name.clone(), v);
                }
                Err(message) => {
                    errors.push(ParamError {
                        param: p.name.clone(),
                        message,
                    });
                    values.insert(p.name.clone(), Value::Null);
                }
            },
            None => {
                let v = p
                    .default
                    .as_ref()
                    .and_then(|d| check_value(p, d).ok())
                    .unwrap_or(Value::Null);
                if v.is_null() && p.required {
                    missing.push(p);
                }
                values.insert(p.name.clone(), v);
            }
        }
    }
    for p in missing {
        if is_relevant(p, &values) {
            let mut message = format!("missing required {} value", p.kind.as_str());
            if let Some(dep) = &p.depends_on {
                message.push_str(&format!(
                    " (needed because '{}' is {})",
                    dep.param,
                    show(values.get(&dep.param).unwrap_or(&Value::Null))
                ));
            }
            if !p.help.is_empty() {
                message.push_str(&format!(": {}", p.help));
            }
            errors.push(ParamError {
                param: p.name.clone(),
                message,
            });
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(ValidationErrors(errors))
    }
}

/// Whether a parameter matters given the other values (always true without `depends_on`).
pub fn is_relevant(p: &ParamSpec, values: &Values) -> bool {
    match &p.depends_on {
        None => true,
        Some(dep) => {
            let v = values.get(&dep.param).unwrap_or(&Value::Null);
            dep.values.iter().any(|w| same(v, w))
        }
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Shows a value in an error message: strings quoted, everything else as JSON.
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) if s.contains('\n') => {
            let first = s.lines().next().unwrap_or("");
            format!("{:?}…", first)
        }
        _ => v.to_string(),
    }
}

fn show_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

fn range_msg(p: &ParamSpec) -> String {
    match (p.min, p.max) {
        (Some(a), Some(b)) => format!("min {}, max {}", show_num(a), show_num(b)),
        (Some(a), None) => format!("min {}", show_num(a)),
        (None, Some(b)) => format!("max {}", show_num(b)),
        (None, None) => String::new(),
    }
}

fn check_range(p: &ParamSpec, x: f64, shown: &str) -> Result<(), String> {
    let low = p.min.is_some_and(|m| x < m);
    let high = p.max.is_some_and(|m| x > m);
    if low || high {
        return Err(format!(
            "value {shown} is out of range ({}{})",
            range_msg(p),
            p.units
                .as_ref()
                .map(|u| format!(", in {u}"))
                .unwrap_or_default()
        ));
    }
    Ok(())
}

/// Types and checks one value against one declaration; returns the normalised value.
/// Strings are accepted for every type and parsed by the declared type.
///
/// Fails with a message naming the value and the rule it breaks.
pub fn check_value(p: &ParamSpec, v: &Value) -> Result<Value, String> {
    match p.kind {
        ParamType::String => {
            let s = as_text(v).ok_or_else(|| format!("{} is not a string", show(v)))?;
            if !p.multiline && (s.contains('\n') || s.contains('\r')) {
                return Err(format!(
                    "{} contains a line break; this parameter takes one line",
                    show(v)
                ));
            }
            if s.chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
            {
                return Err(format!("{} contains a control character", show(v)));
            }
            if let Some(f) = &p.format {
                check_format(f, &s)?;
            }
            Ok(Value::String(s))
        }
        ParamType::Integer => {
            let n = match v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            }
            .ok_or_else(|| format!("{} is not an integer", show(v)))?;
            check_range(p, n as f64, &n.to_string())?;
            Ok(Value::from(n))
        }
        ParamType::Float => {
            let x = match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            }
            .filter(|x| x.is_finite())
            .ok_or_else(|| format!("{} is not a number", show(v)))?;
            check_range(p, x, &show_num(x))?;
            Ok(Value::from(x))
        }
        ParamType::Boolean => match v {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Ok(Value::Bool(true)),
                "false" | "no" | "off" | "0" => Ok(Value::Bool(false)),
                _ => Err(format!("{} is not a boolean (use true or false)", show(v))),
            },
            _ => Err(format!("{} is not a boolean (use true or false)", show(v))),
        },
        ParamType::Select => {
            let s = as_text(v).ok_or_else(|| format!("{} is not a string", show(v)))?;
            check_option(p, &s)?;
            Ok(Value::String(s))
        }
        ParamType::Multiselect => {
            let items: Vec<String> = match v {
                Value::Array(a) => a
                    .iter()
                    .map(|x| as_text(x).ok_or_else(|| format!("{} is not a string", show(x))))
                    .collect::<Result<_, _>>()?,
                Value::String(s) => s
                    .split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect(),
                _ => return Err(format!("{} is not a list of options", show(v))),
            };
            for (i, it) in items.iter().enumerate() {
                check_option(p, it)?;
                if items[..i].contains(it) {
                    return Err(format!("value \"{it}\" is listed twice"));
                }
            }
            Ok(Value::Array(items.into_iter().map(Value::String).collect()))
        }
        ParamType::File => {
            let s = as_text(v).ok_or_else(|| format!("{} is not a file name", show(v)))?;
            check_file_name(&s).map_err(|m| format!("{}: {m}", show(v)))?;
            if !p.extensions.is_empty() && !p.extensions.iter().any(|e| s.ends_with(e.as_str())) {
                return Err(format!(
                    "{} does not end with one of [{}]",
                    show(v),
                    p.extensions.join(", ")
                ));
            }
            Ok(Value::String(s))
        }
        ParamType::Structure => {
            let s = as_text(v).ok_or_else(|| "structure must be given as text".to_string())?;
            let fmt = p.format.as_deref().unwrap_or("xyz");
            check_structure(fmt, &s)
                .map_err(|m| format!("{} is not a valid structure: {m}", show(v)))?;
            Ok(Value::String(s))
        }
    }
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn check_option(p: &ParamSpec, s: &str) -> Result<(), String> {
    if p.options.iter().any(|o| o == s) {
        return Ok(());
    }
    let hint = suggest::hint(s, p.options.iter().map(String::as_str));
    let list: Vec<String> = p.options.iter().map(|o| format!("{o:?}")).collect();
    Err(format!(
        "value {s:?} is not one of [{}]{hint}",
        list.join(", ")
    ))
}

pub use matterstack_boundary::check_file_name;

/// Checks a `string` value against a named format.
fn check_format(format: &str, s: &str) -> Result<(), String> {
    match format {
        "name" => {
            let ok = !s.is_empty()
                && s.len() <= 64
                && !s.starts_with('-')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "{s:?} is not a valid name (1 to 64 of A-Z a-z 0-9 _ . -, not starting with -)"
                ))
            }
        }
        "opt_name" if s.is_empty() => Ok(()),
        "opt_name" => check_format("name", s),
        "memory" => parse_memory_mb(s).map(|_| ()),
        "walltime" => parse_walltime_s(s).map(|_| ()),
        "index_list" => parse_index_list(s).map(|_| ()),
        "file_list" => {
            for f in s.split_whitespace() {
                check_file_name(f).map_err(|m| format!("{f:?} in the file list: {m}"))?;
            }
            Ok(())
        }
        "word_list" => {
            for w in s.split_whitespace() {
                if !w
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.+/-:=@%,".contains(c))
                {
                    return Err(format!(
                        "{w:?} is not a plain word (letters, digits and _ . + / - : = @ % ,)"
                    ));
                }
            }
            Ok(())
        }
        "number_list" => {
            let words: Vec<&str> = s.split_whitespace().collect();
            if words.is_empty() {
                return Err("expected at least one number".into());
            }
            for w in words {
                if !w.parse::<f64>().is_ok_and(f64::is_finite) {
                    return Err(format!("{w:?} is not a number"));
                }
            }
            Ok(())
        }
        "crystal_atoms" => check_crystal_atoms(s),
        "band_path" => check_band_path(s),
        "vector3" => {
            let words: Vec<&str> = s.split_whitespace().collect();
            if words.len() != 3
                || !words
                    .iter()
                    .all(|w| w.parse::<f64>().is_ok_and(f64::is_finite))
            {
                return Err(format!("{s:?} is not three numbers `x y z`"));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Checks CRYSTAL atom lines: `Z x y z` per non-empty line (Z a positive integer, e.g.
/// 12 or 208 for an ECP); at least one line.
pub fn check_crystal_atoms(s: &str) -> Result<(), String> {
    let mut n = 0;
    for (i, line) in s.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        let bad = || {
            format!(
                "line {}: expected `Z x y z` (atomic number and three coordinates), found {:?}",
                i + 1,
                line.trim()
            )
        };
        if f.len() != 4 || !f[0].parse::<u32>().is_ok_and(|z| z >= 1) {
            return Err(bad());
        }
        if !f[1..]
            .iter()
            .all(|x| x.parse::<f64>().is_ok_and(f64::is_finite))
        {
            return Err(bad());
        }
        n += 1;
    }
    if n == 0 {
        return Err("no atom lines".into());
    }
    Ok(())
}

/// Checks a CRYSTAL band path: one segment per non-empty line, six integers
/// `I1 I2 I3 J1 J2 J3` (start and end point in units of 1/ISS); at least one line.
pub fn check_band_path(s: &str) -> Result<(), String> {
    let mut n = 0;
    for (i, line) in s.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        if f.len() != 6 || !f.iter().all(|x| x.parse::<i64>().is_ok()) {
            return Err(format!(
                "line {}: expected six integers `I1 I2 I3 J1 J2 J3`, found {:?}",
                i + 1,
                line.trim()
            ));
        }
        n += 1;
    }
    if n == 0 {
        return Err("no path segments".into());
    }
    Ok(())
}

/// Parses a memory amount with a unit (`64GB`, `500M`, `2gb`, `1T`) into megabytes.
///
/// Fails when the number or the unit is missing or unknown.
pub fn parse_memory_mb(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
    let unit = t[digits.len()..].trim().to_ascii_uppercase();
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a memory amount (write e.g. 64GB or 500MB)"))?;
    let mult = match unit.trim_end_matches('B') {
        "K" => return Ok(n.div_ceil(1024)),
        "M" => 1,
        "G" => 1024,
        "T" => 1024 * 1024,
        _ => {
            return Err(format!(
                "{s:?} has no valid unit (write e.g. 64GB or 500MB; units K, M, G, T)"
            ))
        }
    };
    if n == 0 {
        return Err(format!("{s:?} is zero"));
    }
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// Parses a walltime `HH:MM:SS` or `D-HH:MM:SS` into seconds.
///
/// Fails when the form is wrong or minutes/seconds are 60 or more.
pub fn parse_walltime_s(s: &str) -> Result<u64, String> {
    let err = || format!("{s:?} is not a walltime (write HH:MM:SS or D-HH:MM:SS)");
    let t = s.trim();
    let (days, hms) = match t.split_once('-') {
        Some((d, rest)) => (d.parse::<u64>().map_err(|_| err())?, rest),
        None => (0, t),
    };
    let parts: Vec<&str> = hms.split(':').collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(err());
    }
    let h: u64 = parts[0].parse().map_err(|_| err())?;
    let m: u64 = parts[1].parse().map_err(|_| err())?;
    let sec: u64 = parts[2].parse().map_err(|_| err())?;
    if m >= 60 || sec >= 60 {
        return Err(format!("{s:?}: minutes and seconds must be below 60"));
    }
    // Checked: a walltime of more years than a u64 holds is an error, not a panic.
    let total = days
        .checked_mul(86400)
        .and_then(|d| h.checked_mul(3600).and_then(|h| d.checked_add(h)))
        .and_then(|t| t.checked_add(m * 60 + sec))
        .filter(|t| *t <= 100 * 366 * 86400)
        .ok_or_else(|| format!("{s:?} is longer than any cluster allows (at most 100 years)"))?;
    if total == 0 {
        return Err(format!("{s:?} is zero"));
    }
    Ok(total)
}

/// Parses a 1-based index list like `1,2,5-7` (empty means none).
///
/// Fails on a non-number, a zero, or a reversed range.
pub fn parse_index_list(s: &str) -> Result<Vec<u64>, String> {
    let mut out = Vec::new();
    for item in s.split(',').map(str::trim).filter(|x| !x.is_empty()) {
        let bad =
            || format!("{item:?} in {s:?} is not an index or range like 4-6 (indices start at 1)");
        let (a, b) = match item.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (item, item),
        };
        let a: u64 = a.parse().map_err(|_| bad())?;
        let b: u64 = b.parse().map_err(|_| bad())?;
        if a == 0 || b < a || b - a > 100_000 {
            return Err(bad());
        }
        out.extend(a..=b);
        if out.len() > 100_000 {
            return Err(format!("{s:?} lists more than 100000 indices"));
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn specs() -> Vec<ParamSpec> {
        toml::from_str::<toml::Table>(
            r#"
[[p]]
name = "basis"
type = "select"
options = ["cc-pVDZ", "cc-pVTZ"]
default = "cc-pVDZ"
[[p]]
name = "charge"
type = "integer"
default = 0
min = -10
max = 10
[[p]]
name = "cores"
type = "integer"
required = true
min = 1
[[p]]
name = "pressure"
type = "float"
units = "bar"
required = true
depends_on = { param = "ensemble", values = ["npt"] }
[[p]]
name = "ensemble"
type = "select"
options = ["nvt", "npt"]
default = "nvt"
[[p]]
name = "props"
type = "multiselect"
options = ["dipole", "mulliken"]
default = []
"#,
        )
        .unwrap()["p"]
            .clone()
            .try_into()
            .unwrap()
    }

    fn check(args: &[&str]) -> Result<Values, ValidationErrors> {
        validate(&specs(), &parse_assignments(args).unwrap())
    }

    #[test]
    fn typed_from_strings() {
        let v = check(&["cores=4", "charge=-1", "props=dipole, mulliken"]).unwrap();
        assert_eq!(v["cores"], json!(4));
        assert_eq!(v["charge"], json!(-1));
        assert_eq!(v["basis"], json!("cc-pVDZ"));
        assert_eq!(v["props"], json!(["dipole", "mulliken"]));
        assert_eq!(v["pressure"], Value::Null);
    }

    #[test]
    fn messages_name_param_value_rule() {
        let e = check(&["cores=4", "basis=cc-pvdz"])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "parameter 'basis': value \"cc-pvdz\" is not one of [\"cc-pVDZ\", \"cc-pVTZ\"] (did you mean `cc-pVDZ`?)"
        );
        let e = check(&["cores=4", "charge=abc"]).unwrap_err().to_string();
        assert_eq!(e, "parameter 'charge': \"abc\" is not an integer");
        let e = check(&["cores=4", "charge=11"]).unwrap_err().to_string();
        assert_eq!(
            e,
            "parameter 'charge': value 11 is out of range (min -10, max 10)"
        );
        let e = check(&[]).unwrap_err().to_string();
        assert_eq!(e, "parameter 'cores': missing required integer value");
        let e = check(&["cores=1", "bassis=x"]).unwrap_err().to_string();
        assert!(
            e.starts_with("parameter 'bassis': unknown parameter (did you mean `basis`?)"),
            "{e}"
        );
    }

    #[test]
    fn depends_on_controls_required() {
        assert!(check(&["cores=1"]).is_ok());
        let e = check(&["cores=1", "ensemble=npt"]).unwrap_err().to_string();
        assert!(e.contains("parameter 'pressure': missing required float value (needed because 'ensemble' is \"npt\")"), "{e}");
        assert!(check(&["cores=1", "ensemble=npt", "pressure=1.01325"]).is_ok());
    }

    #[test]
    fn all_errors_reported() {
        let e = check(&["charge=x", "basis=y"]).unwrap_err();
        assert_eq!(e.0.len(), 3);
    }

    #[test]
    fn assignments_errors() {
        let e = parse_assignments(&["a=1", "a=2", "b"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("parameter 'a': given twice"));
        assert!(e.contains("parameter 'b': expected name=value"));
    }

    #[test]
    fn files() {
        let t = params_from_toml("cores = 2\nbasis = \"cc-pVTZ\"\n", "p.toml").unwrap();
        assert_eq!(validate(&specs(), &t).unwrap()["basis"], json!("cc-pVTZ"));
        let j = params_from_json("{\"cores\": 3}", "p.json").unwrap();
        assert_eq!(validate(&specs(), &j).unwrap()["cores"], json!(3));
        assert!(params_from_json("[1]", "p.json").is_err());
        assert!(params_from_toml("a = ", "p.toml")
            .unwrap_err()
            .to_string()
            .contains("p.toml"));
        let j = params_from_json("{\"cores\": 2.5}", "p.json").unwrap();
        assert!(validate(&specs(), &j)
            .unwrap_err()
            .to_string()
            .contains("2.5 is not an integer"));
    }

    #[test]
    fn formats() {
        assert_eq!(parse_memory_mb("64GB").unwrap(), 65536);
        assert_eq!(parse_memory_mb("500m").unwrap(), 500);
        assert!(parse_memory_mb("64").is_err());
        assert!(parse_memory_mb("GB").is_err());
        assert_eq!(parse_walltime_s("1-02:00:00").unwrap(), 93600);
        assert_eq!(parse_walltime_s("48:00:00").unwrap(), 172800);
        assert!(parse_walltime_s("1:60:00").is_err());
        // Found by the fuzzer: overflowed instead of failing.
        assert!(parse_walltime_s("9222036854775807:0:0").is_err());
        assert!(parse_walltime_s("99999999999999-00:00:01").is_err());
        assert!(parse_walltime_s("2h").is_err());
        assert_eq!(parse_index_list("4-6, 1").unwrap(), vec![1, 4, 5, 6]);
        assert!(parse_index_list("0").is_err());
        assert!(parse_index_list("5-3").is_err());
        assert!(check_file_name("../x").is_err());
        assert!(check_file_name("/etc/passwd").is_err());
        assert!(check_file_name("in/x.pdb").is_ok());
    }
}
