//! JSON Schema (draft 2020-12) of a template's parameters, for form builders.

use serde_json::{json, Map, Value};

use crate::param::{ParamSpec, ParamType};
use crate::template::Template;

/// The JSON Schema of `t`'s parameters: an object schema with one property per
/// parameter (`type`, `title`, `description`, `default`, `minimum`, `maximum`, `enum`,
/// `pattern` for formatted strings), `required` for parameters without default that are
/// always required, `if`/`then` rules for `depends_on`, and `x-` annotations (`x-order`,
/// `x-units`, `x-kind`, `x-format`, `x-depends-on`) for things JSON Schema cannot say.
/// Never fails.
pub fn json_schema(t: &Template) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    let mut rules = Vec::new();
    for p in t.params() {
        props.insert(p.name.clone(), property(p));
        if p.required && p.default.is_none() {
            match &p.depends_on {
                None => required.push(Value::String(p.name.clone())),
                Some(dep) => rules.push(json!({
                    "if": {
                        "properties": { dep.param.clone(): { "enum": dep.values } },
                        "required": [dep.param],
                    },
                    "then": { "required": [p.name] },
                })),
            }
        }
    }
    let mut schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": t.name(),
        "description": t.manifest.description,
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": false,
        "x-program": t.manifest.program,
        "x-order": t.params().iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
    });
    if !rules.is_empty() {
        schema["allOf"] = Value::Array(rules);
    }
    schema
}

fn property(p: &ParamSpec) -> Value {
    let mut o = Map::new();
    let ty = match p.kind {
        ParamType::Integer => "integer",
        ParamType::Float => "number",
        ParamType::Boolean => "boolean",
        ParamType::Multiselect => "array",
        _ => "string",
    };
    o.insert("type".into(), json!(ty));
    o.insert("title".into(), json!(p.display_label()));
    if !p.help.is_empty() {
        o.insert("description".into(), json!(p.help));
    }
    if let Some(d) = &p.default {
        o.insert("default".into(), d.clone());
    }
    let num = |x: f64| -> Value {
        if p.kind == ParamType::Integer && x.fract() == 0.0 {
            json!(x as i64)
        } else {
            json!(x)
        }
    };
    if let Some(m) = p.min {
        o.insert("minimum".into(), num(m));
    }
    if let Some(m) = p.max {
        o.insert("maximum".into(), num(m));
    }
    match p.kind {
        ParamType::Select => {
            o.insert("enum".into(), json!(p.options));
        }
        ParamType::Multiselect => {
            o.insert(
                "items".into(),
                json!({ "type": "string", "enum": p.options }),
            );
            o.insert("uniqueItems".into(), json!(true));
        }
        ParamType::Structure => {
            let f = p.format.as_deref().unwrap_or("xyz");
            o.insert("contentMediaType".into(), json!(format!("chemical/x-{f}")));
        }
        _ => {}
    }
    if let Some(f) = &p.format {
        o.insert("x-format".into(), json!(f));
        let pattern = match f.as_str() {
            "name" => Some(r"^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63}$"),
            "opt_name" => Some(r"^([A-Za-z0-9_.][A-Za-z0-9_.-]{0,63})?$"),
            "memory" => Some(r"^\s*[0-9]+\s*[KkMmGgTt][Bb]?\s*$"),
            "walltime" => Some(r"^\s*([0-9]+-)?[0-9]+:[0-5][0-9]:[0-5][0-9]\s*$"),
            "index_list" => Some(r"^\s*([0-9]+(-[0-9]+)?(\s*,\s*[0-9]+(-[0-9]+)?)*)?\s*$"),
            "word_list" => Some(r"^[A-Za-z0-9_.+/:=@%,\s-]*$"),
            _ => None,
        };
        if let Some(pt) = pattern {
            o.insert("pattern".into(), json!(pt));
        }
    }
    if p.kind == ParamType::String && !p.multiline {
        o.insert("x-multiline".into(), json!(false));
    }
    o.insert("x-kind".into(), json!(p.kind.as_str()));
    if let Some(u) = &p.units {
        o.insert("x-units".into(), json!(u));
    }
    if !p.extensions.is_empty() {
        o.insert("x-extensions".into(), json!(p.extensions));
    }
    if let Some(dep) = &p.depends_on {
        o.insert(
            "x-depends-on".into(),
            json!({ "param": dep.param, "values": dep.values }),
        );
    }
    if p.required {
        o.insert("x-required".into(), json!(true));
    }
    Value::Object(o)
}
