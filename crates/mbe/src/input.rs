//! The ManyBodyInput document (QCManyBody's `qcschema_manybodyinput`, schema version 1), read
//! exactly as `qcmanybody.models.v1.ManyBodyInput(...).json()` writes it.
//!
//! The structs are deliberately lenient (unknown fields are kept, enumerations are plain strings):
//! checking happens in [`crate::settings()`], where every problem becomes an [`MbeError`] that names
//! the field, the value and the fix, instead of a generic deserialisation message.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::error::MbeError;

/// QCManyBody's `ManyBodyInput` (v1): what to expand (molecule) and how (specification).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManyBodyInput {
    #[serde(default = "schema_input")]
    pub schema_name: String,
    #[serde(default = "one")]
    pub schema_version: u32,
    pub specification: ManyBodySpecification,
    pub molecule: Molecule,
    #[serde(default)]
    pub extras: Map<String, Value>,
}

/// `ManyBodySpecification`: keywords, driver and one model chemistry per label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManyBodySpecification {
    #[serde(default = "schema_spec")]
    pub schema_name: String,
    #[serde(default = "one")]
    pub schema_version: u32,
    #[serde(default)]
    pub keywords: ManyBodyKeywords,
    #[serde(default)]
    pub protocols: Map<String, Value>,
    /// `energy`, `gradient` or `hessian` (checked in [`crate::settings()`]).
    pub driver: String,
    /// Model chemistry label → atomic specification. A single specification (an object with a
    /// `model` field) is accepted too and stored under the label `(auto)`, as QCManyBody does.
    #[serde(deserialize_with = "de_specifications")]
    pub specification: BTreeMap<String, AtomicSpecification>,
    #[serde(default)]
    pub extras: Map<String, Value>,
}

/// `ManyBodyKeywords`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManyBodyKeywords {
    #[serde(default = "schema_keywords")]
    pub schema_name: String,
    #[serde(default = "one")]
    pub schema_version: u32,
    /// One string or a list; the first decides the returned value. Default `["cp"]`.
    #[serde(default)]
    pub bsse_type: Option<OneOrMany>,
    #[serde(default)]
    pub embedding_charges: Option<Value>,
    /// Default: false for energies, true for gradients and hessians.
    #[serde(default)]
    pub return_total_data: Option<bool>,
    /// n-body level ("1", "2", …, or "supersystem") → model chemistry label.
    #[serde(default, deserialize_with = "de_levels")]
    pub levels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub max_nbody: Option<i64>,
    #[serde(default)]
    pub supersystem_ie_only: Option<bool>,
}

impl Default for ManyBodyKeywords {
    fn default() -> Self {
        ManyBodyKeywords {
            schema_name: schema_keywords(),
            schema_version: 1,
            bsse_type: None,
            embedding_charges: None,
            return_total_data: None,
            levels: None,
            max_nbody: None,
            supersystem_ie_only: None,
        }
    }
}

/// A string or a list of strings (QCManyBody accepts both for `bsse_type`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    /// The values as a list.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// QCSchema `AtomicSpecification`: one model chemistry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AtomicSpecification {
    #[serde(default)]
    pub keywords: Map<String, Value>,
    pub program: String,
    #[serde(default = "schema_atomic")]
    pub schema_name: String,
    #[serde(default = "one")]
    pub schema_version: u32,
    /// Ignored for planning: the many-body driver overrides it, as in QCManyBody.
    #[serde(default)]
    pub driver: Option<String>,
    pub model: ModelSpec,
    #[serde(default)]
    pub protocols: Map<String, Value>,
    #[serde(default)]
    pub extras: Map<String, Value>,
}

/// Method and basis of a model chemistry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub method: String,
    #[serde(default)]
    pub basis: Option<String>,
}

/// QCSchema molecule, as qcelemental writes it (geometry in bohr, 0-based fragments).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Molecule {
    #[serde(default = "schema_molecule")]
    pub schema_name: String,
    #[serde(default)]
    pub schema_version: Option<u32>,
    pub symbols: Vec<String>,
    /// Flat `[x0, y0, z0, x1, …]` in bohr; a nested `[[x, y, z], …]` list is accepted too.
    #[serde(deserialize_with = "de_flat_f64")]
    pub geometry: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub molecular_charge: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub molecular_multiplicity: Option<f64>,
    /// 0-based atom indices per fragment (signed here so that a negative index is a clear error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fragments: Option<Vec<Vec<i64>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fragment_charges: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fragment_multiplicities: Option<Vec<f64>>,
    /// Per-atom real (true) or ghost (false) flags; all real when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub real: Option<Vec<bool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atomic_numbers: Option<Vec<u32>>,
    /// Every other field (provenance, masses, fix_com, …) is kept unchanged.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl ManyBodyInput {
    /// Read a ManyBodyInput JSON document (as written by QCManyBody).
    ///
    /// Fails with [`MbeError::Parse`] when the text is not JSON or lacks a required field
    /// (`specification`, `specification.driver`, `specification.specification`, `molecule`,
    /// `molecule.symbols`, `molecule.geometry`) or has a field of the wrong type.
    pub fn from_json(text: &str) -> Result<Self, MbeError> {
        serde_json::from_str(text).map_err(|e| MbeError::Parse(format!("JSON ManyBodyInput: {e}")))
    }

    /// The document as JSON (same field names as QCManyBody). Never fails (a serialisation
    /// failure, impossible for these types, would give `{}`).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}

fn one() -> u32 {
    1
}
fn schema_input() -> String {
    "qcschema_manybodyinput".into()
}
fn schema_spec() -> String {
    "qcschema_manybodyspecification".into()
}
fn schema_keywords() -> String {
    "qcschema_manybodykeywords".into()
}
fn schema_atomic() -> String {
    "qcschema_atomicspecification".into()
}
fn schema_molecule() -> String {
    "qcschema_molecule".into()
}

fn de_specifications<'de, D>(d: D) -> Result<BTreeMap<String, AtomicSpecification>, D::Error>
where
    D: Deserializer<'de>,
{
    let v = Value::deserialize(d)?;
    let is_single = v.as_object().is_some_and(|o| o.contains_key("model"));
    if is_single {
        let spec: AtomicSpecification =
            serde_json::from_value(v).map_err(serde::de::Error::custom)?;
        let mut m = BTreeMap::new();
        m.insert("(auto)".to_string(), spec);
        Ok(m)
    } else {
        serde_json::from_value(v).map_err(serde::de::Error::custom)
    }
}

fn de_levels<'de, D>(d: D) -> Result<Option<BTreeMap<String, String>>, D::Error>
where
    D: Deserializer<'de>,
{
    let v: Option<Map<String, Value>> = Option::deserialize(d)?;
    let Some(map) = v else { return Ok(None) };
    let mut out = BTreeMap::new();
    for (k, val) in map {
        let label = match val {
            Value::String(s) => s,
            other => {
                return Err(serde::de::Error::custom(format!(
                    "levels.{k} must be a model chemistry label (a string), got {other}"
                )))
            }
        };
        out.insert(k, label);
    }
    Ok(Some(out))
}

fn de_flat_f64<'de, D>(d: D) -> Result<Vec<f64>, D::Error>
where
    D: Deserializer<'de>,
{
    let v = Value::deserialize(d)?;
    let mut out = Vec::new();
    flatten_numbers(&v, &mut out).map_err(serde::de::Error::custom)?;
    Ok(out)
}

/// Flatten a number or a (nested) list of numbers into `out`.
pub(crate) fn flatten_numbers(v: &Value, out: &mut Vec<f64>) -> Result<(), String> {
    match v {
        Value::Number(n) => {
            out.push(n.as_f64().ok_or_else(|| format!("{n} is not a number"))?);
            Ok(())
        }
        Value::Array(items) => {
            for item in items {
                flatten_numbers(item, out)?;
            }
            Ok(())
        }
        other => Err(format!("expected numbers, found {other}")),
    }
}
