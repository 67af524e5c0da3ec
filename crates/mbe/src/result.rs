//! The data that goes into and comes out of the assembly: component results, quantities
//! (scalar or array) and the many-body outcome with QCManyBody's keys.

use std::collections::BTreeMap;

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Map, Value};

use crate::error::MbeError;
use crate::plan::Expansion;
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
    struct OptFlat;
    impl<'de> Visitor<'de> for OptFlat {
        type Value = Option<Vec<f64>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("null or a (nested) list of numbers")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            let mut out = Vec::new();
            FlatInto(&mut out).deserialize(d)?;
            Ok(Some(out))
        }
    }
    d.deserialize_option(OptFlat)
}

/// Appends a number or the numbers of a (nested) list to the vector, without an intermediate
/// `serde_json::Value`.
struct FlatInto<'a>(&'a mut Vec<f64>);

impl<'de> DeserializeSeed<'de> for FlatInto<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FlatInto<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("numbers")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.0.push(v);
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.0.push(v as f64);
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.0.push(v as f64);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(FlatInto(&mut *self.0))?.is_some() {}
        Ok(())
    }
}

/// Read component results from JSON (`{label: {"energy", "gradient"?, "hessian"?}}`) straight
/// into `exp`'s component ids: `out[id]` is the result of [`Expansion::label`]`(id)`, `None`
/// where the document has none. Labels that are not `exp`'s are checked and skipped. This is
/// [`results_from_json`] without a map of label strings (the fast path of `mbe analyze`).
///
/// Fails with [`MbeError::Parse`] when the text is not such an object, naming the label whose
/// value is malformed (a missing or non-numeric energy included).
pub fn results_for(exp: &Expansion, text: &str) -> Result<Vec<Option<ComponentResult>>, MbeError> {
    let mut out = vec![None; exp.len()];
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = ResultsSeed { exp, out: &mut out }
        .deserialize(&mut de)
        .and_then(|()| de.end());
    parsed.map_err(|e| MbeError::Parse(format!("component results JSON: {e}")))?;
    Ok(out)
}

struct ResultsSeed<'a> {
    exp: &'a Expansion,
    out: &'a mut Vec<Option<ComponentResult>>,
}

impl<'de> DeserializeSeed<'de> for ResultsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ResultsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "an object mapping component labels to {\"energy\", \"gradient\"?, \"hessian\"?}",
        )
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut key = String::new();
        let mut scratch = Vec::new();
        while let Some(id) = map.next_key_seed(KeySeed {
            exp: self.exp,
            key: &mut key,
            scratch: &mut scratch,
        })? {
            let r: ComponentResult = map
                .next_value()
                .map_err(|e| de::Error::custom(format!("{key}: {e}")))?;
            if let Some(id) = id {
                self.out[id as usize] = Some(r);
            }
        }
        Ok(())
    }
}

/// A map key: the component id of the label (`None` when it is not one of the expansion's);
/// the text is kept in `key` for error messages.
struct KeySeed<'a> {
    exp: &'a Expansion,
    key: &'a mut String,
    scratch: &'a mut Vec<u32>,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<u32>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<u32>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<u32>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a component label")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<u32>, E> {
        self.key.clear();
        self.key.push_str(v);
        Ok(self
            .exp
            .table
            .find_label(v, &self.exp.models_json, self.scratch))
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
    pub fn to_manybody_result(&self, plan: &Expansion) -> Value {
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
