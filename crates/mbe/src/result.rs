//! The data that goes into and comes out of the assembly: component results, quantities
//! (scalar or array) and the many-body outcome with QCManyBody's keys.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Map, Value};

use crate::error::MbeError;
use crate::input::flatten_numbers;
use crate::plan::Plan;
use crate::settings::{Bsse, Driver, McLevel};

/// The result of one component calculation. Gradients are `natom × 3` and hessians
/// `3·natom × 3·natom` of the component's own atoms (ghosts included), flat or nested.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentResult {
    pub energy: f64,
    #[serde(
        default,
        deserialize_with = "de_opt_flat",
        skip_serializing_if = "Option::is_none"
    )]
    pub gradient: Option<Vec<f64>>,
    #[serde(
        default,
        deserialize_with = "de_opt_flat",
        skip_serializing_if = "Option::is_none"
    )]
    pub hessian: Option<Vec<f64>>,
}

/// Read component results from JSON: an object mapping each label to
/// `{"energy": …, "gradient": […]?, "hessian": […]?}` (arrays flat or nested).
///
/// Fails with [`MbeError::Parse`] when the text is not such an object (a missing or non-numeric
/// energy included).
pub fn results_from_json(text: &str) -> Result<BTreeMap<String, ComponentResult>, MbeError> {
    serde_json::from_str(text).map_err(|e| MbeError::Parse(format!("component results JSON: {e}")))
}

impl ComponentResult {
    /// An energy-only result.
    pub fn energy(energy: f64) -> Self {
        ComponentResult {
            energy,
            gradient: None,
            hessian: None,
        }
    }
}

fn de_opt_flat<'de, D>(d: D) -> Result<Option<Vec<f64>>, D::Error>
where
    D: Deserializer<'de>,
{
    let v: Option<Value> = Option::deserialize(d)?;
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let mut out = Vec::new();
            flatten_numbers(&v, &mut out).map_err(serde::de::Error::custom)?;
            Ok(Some(out))
        }
    }
}

/// A scalar (energy) or a flat array (gradient `natom·3`, hessian `(3·natom)²`, row-major).
#[derive(Debug, Clone, PartialEq)]
pub enum Quantity {
    Scalar(f64),
    Array(Vec<f64>),
}

impl Quantity {
    /// A scalar from a one-element vector (`scalar` true), else an array.
    pub(crate) fn from_vec(scalar: bool, v: Vec<f64>) -> Quantity {
        if scalar {
            Quantity::Scalar(v.first().copied().unwrap_or(0.0))
        } else {
            Quantity::Array(v)
        }
    }

    /// The values as a slice (one element for a scalar).
    pub fn as_slice(&self) -> &[f64] {
        match self {
            Quantity::Scalar(x) => std::slice::from_ref(x),
            Quantity::Array(v) => v,
        }
    }

    /// The scalar, if this is one.
    pub fn as_scalar(&self) -> Option<f64> {
        match self {
            Quantity::Scalar(x) => Some(*x),
            Quantity::Array(_) => None,
        }
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Quantity::Scalar(x) => s.serialize_f64(*x),
            Quantity::Array(v) => v.serialize(s),
        }
    }
}

/// Everything `ManyBodyCore.analyze` returns, plus the ManyBodyResult properties.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ManyBodyOutcome {
    pub driver: Driver,
    /// The bsse types reported (requested ones plus free ones from single-level VMFC).
    pub bsse: Vec<Bsse>,
    pub return_bsse: Bsse,
    pub ret_energy: f64,
    pub ret_gradient: Option<Vec<f64>>,
    pub ret_hessian: Option<Vec<f64>>,
    /// `"1cp"`, `"2cp"`, … → cumulative energy through that n-body level (QCManyBody's flattened
    /// `energy_body_dict`).
    pub energy_body_dict: BTreeMap<String, f64>,
    /// bsse type → n-body → cumulative gradient (empty without gradients).
    pub gradient_body_dict: BTreeMap<String, BTreeMap<usize, Vec<f64>>>,
    /// bsse type → n-body → cumulative hessian (empty without hessians).
    pub hessian_body_dict: BTreeMap<String, BTreeMap<usize, Vec<f64>>>,
    /// QCManyBody's `results` (`nocp_corrected_total_energy_through_2_body`, …).
    pub results: BTreeMap<String, Quantity>,
    /// The driver's return value (energy, gradient or hessian).
    pub return_result: Quantity,
    /// ManyBodyResult properties: `results` plus calcinfo_*, nuclear_repulsion_energy, return_*.
    pub properties: BTreeMap<String, Value>,
    /// The component calculations used.
    pub nbody_number: usize,
    pub nfragments: usize,
    pub natom: usize,
    pub max_nbody: usize,
    pub supersystem_ie_only: bool,
    /// Model chemistry labels and their n-body levels, ordered (supersystem last).
    pub levels: Vec<McLevel>,
}

impl ManyBodyOutcome {
    /// A ManyBodyResult-style JSON document (QCManyBody's `ManyBodyResult` v1 field names; arrays flat).
    pub fn to_manybody_result(&self, plan: &Plan) -> Value {
        let mut props = Map::new();
        for (k, v) in &self.properties {
            props.insert(k.clone(), v.clone());
        }
        json!({
            "schema_name": "qcschema_manybodyresult",
            "schema_version": 1,
            "input_data": plan.input,
            "success": true,
            "properties": props,
            "return_result": self.return_result,
            "provenance": {"creator": "matterstack-mbe", "version": env!("CARGO_PKG_VERSION"), "routine": "matterstack_mbe::analyze"},
            "stdout": crate::report::summary_table(self),
            "extras": {},
        })
    }
}
