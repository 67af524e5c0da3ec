//! Checking a [`ManyBodyInput`] and turning it into normalised settings, with the same rules as
//! QCManyBody's `ManyBodyComputer` validators and `ManyBodyCore.__init__` (bsse aliases, default
//! `return_total_data`, `levels` ↔ `max_nbody`, the free nocp/cp that single-level VMFC gives).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::MbeError;
use crate::input::ManyBodyInput;
use crate::molecule::{check_molecule, truncate};

/// A basis-set superposition error treatment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bsse {
    /// No counterpoise correction: every cluster in its own basis.
    Nocp,
    /// Boys–Bernardi counterpoise: every cluster in the full-cluster basis.
    Cp,
    /// Valiron–Mayer function counterpoise.
    Vmfc,
}

impl Bsse {
    /// The lowercase name used in result keys (`nocp`, `cp`, `vmfc`).
    pub fn as_str(self) -> &'static str {
        match self {
            Bsse::Nocp => "nocp",
            Bsse::Cp => "cp",
            Bsse::Vmfc => "vmfc",
        }
    }

    /// Long name, as in QCManyBody's printed tables.
    pub fn formal(self) -> &'static str {
        match self {
            Bsse::Nocp => "Non-Counterpoise Corrected",
            Bsse::Cp => "Counterpoise Corrected",
            Bsse::Vmfc => "Valiron-Mayer Function Counterpoise",
        }
    }

    /// Short name, as in QCManyBody's printed tables.
    pub fn abbr(self) -> &'static str {
        match self {
            Bsse::Nocp => "NoCP",
            Bsse::Cp => "CP",
            Bsse::Vmfc => "VMFC",
        }
    }

    /// Parse a bsse name or alias (case-insensitive): nocp, cp, vmfc, ssfc (= cp), mbe and none (= nocp).
    ///
    /// Fails with [`MbeError::UnknownBsseType`] for anything else.
    pub fn parse(s: &str) -> Result<Bsse, MbeError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "nocp" | "mbe" | "none" => Ok(Bsse::Nocp),
            "cp" | "ssfc" => Ok(Bsse::Cp),
            "vmfc" => Ok(Bsse::Vmfc),
            _ => Err(MbeError::UnknownBsseType {
                value: s.to_string(),
            }),
        }
    }
}

/// What the many-body expansion returns: energy, gradient or hessian.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    Energy,
    Gradient,
    Hessian,
}

impl Driver {
    /// `energy`, `gradient` or `hessian`.
    pub fn as_str(self) -> &'static str {
        match self {
            Driver::Energy => "energy",
            Driver::Gradient => "gradient",
            Driver::Hessian => "hessian",
        }
    }
}

/// One model chemistry and the n-body levels it covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McLevel {
    /// The label (key of `specification.specification`).
    pub label: String,
    /// Contiguous n-body levels computed at this model chemistry (empty for a supersystem-only one).
    pub nbodies: Vec<usize>,
    /// Whether this model chemistry also computes the supersystem correction.
    pub supersystem: bool,
}

/// Normalised, validated many-body settings (the equivalent of QCManyBody's `ManyBodyCore` state).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MbeSettings {
    pub driver: Driver,
    /// The bsse types as requested (deduplicated, aliases resolved).
    pub requested_bsse: Vec<Bsse>,
    /// The bsse types computed: the requested ones plus the nocp/cp that single-level VMFC gives for free.
    pub bsse: Vec<Bsse>,
    /// The first requested bsse type: it decides `ret_energy` and friends.
    pub return_bsse: Bsse,
    pub max_nbody: usize,
    pub return_total_data: bool,
    pub supersystem_ie_only: bool,
    /// Model chemistries ordered by their lowest n-body level; a supersystem-only one is last.
    pub levels: Vec<McLevel>,
    /// The model chemistry of the supersystem correction, if `levels` has a `supersystem` key.
    pub supersystem: Option<String>,
    pub nfragments: usize,
    pub natom: usize,
    /// Atoms per fragment.
    pub fragment_sizes: Vec<usize>,
    /// First atom (0-based) of each fragment.
    pub fragment_starts: Vec<usize>,
    pub fragment_charges: Vec<f64>,
    pub fragment_multiplicities: Vec<u32>,
    /// Atomic number of each atom.
    pub atomic_numbers: Vec<u32>,
    /// Real (true) / ghost (false) flag of each atom of the parent molecule.
    pub real: Vec<bool>,
}

impl MbeSettings {
    /// The model chemistry entry for `label`, if any.
    pub fn level(&self, label: &str) -> Option<&McLevel> {
        self.levels.iter().find(|l| l.label == label)
    }

    /// Number of distinct model chemistries.
    pub fn n_model_chemistries(&self) -> usize {
        self.levels.len()
    }
}

/// Check `input` and normalise it.
///
/// Fails on: a driver other than energy/gradient/hessian; an empty molecule, a geometry whose
/// length is not 3 × atoms or that holds non-finite numbers, an unknown element symbol; missing
/// fragments or fewer than two, atom indices out of range, negative, overlapping, missing, or not
/// in order fragment after fragment; fragment charges/multiplicities of the wrong length,
/// non-integral or < 1 multiplicities, multiplicities that contradict the electron count,
/// fragment charges that do not add up to `molecular_charge`; an unknown or empty bsse_type;
/// embedding charges; `max_nbody` < 1 or > number of fragments; malformed `levels` keys,
/// duplicate model chemistries in `levels`, levels naming a model chemistry absent from
/// `specification.specification`; `supersystem_ie_only` with `max_nbody` ≠ number of fragments,
/// with vmfc, or with several model chemistries.
pub fn settings(input: &ManyBodyInput) -> Result<MbeSettings, MbeError> {
    let spec = &input.specification;
    let driver = match spec.driver.trim().to_ascii_lowercase().as_str() {
        "energy" => Driver::Energy,
        "gradient" => Driver::Gradient,
        "hessian" => Driver::Hessian,
        other => {
            return Err(MbeError::field(
                "specification.driver",
                format!("{other:?}"),
                "use \"energy\", \"gradient\" or \"hessian\"",
            ))
        }
    };
    let mol = check_molecule(input)?;
    let nfr = mol.fragment_sizes.len();
    let kw = &spec.keywords;

    // bsse_type: ordered set, aliases resolved
    let raw_bsse = kw
        .bsse_type
        .as_ref()
        .map(|b| b.to_vec())
        .unwrap_or_else(|| vec!["cp".to_string()]);
    let mut requested_bsse: Vec<Bsse> = Vec::new();
    for b in &raw_bsse {
        let parsed = Bsse::parse(b)?;
        if !requested_bsse.contains(&parsed) {
            requested_bsse.push(parsed);
        }
    }
    if requested_bsse.is_empty() {
        return Err(MbeError::field(
            "specification.keywords.bsse_type",
            "[]",
            "give at least one of \"nocp\", \"cp\", \"vmfc\"",
        ));
    }
    if let Some(ec) = &kw.embedding_charges {
        if !ec.is_null() {
            return Err(MbeError::field(
                "specification.keywords.embedding_charges",
                truncate(&ec.to_string()),
                "embedding charges are experimental in QCManyBody and not supported here; remove the field",
            ));
        }
    }

    // levels (sorted, supersystem last) and max_nbody, as ManyBodyComputer's validators do
    let mut levels: Vec<(usize, String)> = Vec::new();
    let mut supersystem: Option<String> = None;
    match &kw.levels {
        None => levels.push((nfr, "(auto)".to_string())),
        Some(map) => {
            for (k, v) in map {
                if k.trim().eq_ignore_ascii_case("supersystem") {
                    supersystem = Some(v.clone());
                    continue;
                }
                let nb: usize = match k.trim().parse::<usize>() {
                    Ok(n) if n >= 1 => n,
                    _ => {
                        return Err(MbeError::field(
                            format!("specification.keywords.levels.{k}"),
                            format!("{k:?}"),
                            "levels keys must be n-body levels 1, 2, … or \"supersystem\"",
                        ))
                    }
                };
                if nb > nfr {
                    return Err(MbeError::field(
                        format!("specification.keywords.levels.{k}"),
                        format!("{nb}"),
                        format!("an n-body level cannot exceed the number of fragments ({nfr})"),
                    ));
                }
                levels.push((nb, v.clone()));
            }
            levels.sort_by_key(|(nb, _)| *nb);
            if levels.is_empty() {
                return Err(MbeError::field(
                    "specification.keywords.levels",
                    format!("{map:?}"),
                    "give at least one numeric n-body level, e.g. {\"1\": \"hi\", \"2\": \"lo\"}",
                ));
            }
            let mut seen: Vec<&String> = levels.iter().map(|(_, v)| v).collect();
            if let Some(ss) = &supersystem {
                seen.push(ss);
            }
            for (i, a) in seen.iter().enumerate() {
                if seen[..i].contains(a) {
                    return Err(MbeError::field(
                        "specification.keywords.levels",
                        format!("{map:?}"),
                        format!("model chemistry {a:?} appears twice; give each level its own label (copy the specification under a second name)"),
                    ));
                }
            }
        }
    }
    let levels_max = levels.last().map(|(nb, _)| *nb).unwrap_or(nfr);
    let max_nbody = match kw.max_nbody {
        None => levels_max,
        Some(v) if v < 1 || v as u64 > nfr as u64 => {
            return Err(MbeError::MaxNbodyOutOfRange {
                value: v,
                nfragments: nfr,
            })
        }
        Some(v) => {
            let v = v as usize;
            if v != levels_max {
                // QCManyBody: a max_nbody that contradicts levels replaces them with one "(auto)" level
                levels = vec![(v, "(auto)".to_string())];
                supersystem = None;
            }
            v
        }
    };

    let return_total_data = kw
        .return_total_data
        .unwrap_or(!matches!(driver, Driver::Energy));
    let supersystem_ie_only = kw.supersystem_ie_only.unwrap_or(false);
    if supersystem_ie_only {
        if max_nbody != nfr {
            return Err(MbeError::field(
                "specification.keywords.supersystem_ie_only",
                "true",
                format!("it needs max_nbody = number of fragments ({nfr}), but max_nbody is {max_nbody}; set max_nbody to {nfr} or supersystem_ie_only to false"),
            ));
        }
        if requested_bsse.contains(&Bsse::Vmfc) {
            return Err(MbeError::field(
                "specification.keywords.supersystem_ie_only",
                "true",
                "it cannot be combined with bsse_type \"vmfc\" (no savings possible); use \"cp\" or set supersystem_ie_only to false",
            ));
        }
        if levels.len() > 1 || supersystem.is_some() {
            return Err(MbeError::field(
                "specification.keywords.supersystem_ie_only",
                "true",
                "it works with a single model chemistry only (QCManyBody fails on multilevel input with it); drop `levels` or set supersystem_ie_only to false",
            ));
        }
    }

    // model chemistries must exist
    for label in levels.iter().map(|(_, l)| l).chain(supersystem.iter()) {
        if !spec.specification.contains_key(label) {
            let known: Vec<&String> = spec.specification.keys().collect();
            return Err(MbeError::field(
                "specification.specification",
                format!("{known:?}"),
                format!("the n-body levels use model chemistry {label:?}, which has no entry there; add specification.specification.{label:?} (or rename the level)"),
            ));
        }
    }

    // expand levels into contiguous n-body ranges per model chemistry
    let mut mc_levels: Vec<McLevel> = Vec::new();
    let mut prev = 0;
    for (nb, label) in &levels {
        mc_levels.push(McLevel {
            label: label.clone(),
            nbodies: (prev + 1..=*nb).collect(),
            supersystem: false,
        });
        prev = *nb;
    }
    if let Some(ss) = &supersystem {
        mc_levels.push(McLevel {
            label: ss.clone(),
            nbodies: Vec::new(),
            supersystem: true,
        });
    }

    // single-model-chemistry VMFC gives nocp, and cp when max_nbody == nfr, for free
    let mut bsse = requested_bsse.clone();
    if bsse.contains(&Bsse::Vmfc) && mc_levels.len() == 1 {
        if !bsse.contains(&Bsse::Nocp) {
            bsse.push(Bsse::Nocp);
        }
        if !bsse.contains(&Bsse::Cp) && max_nbody == nfr {
            bsse.push(Bsse::Cp);
        }
    }

    Ok(MbeSettings {
        driver,
        return_bsse: requested_bsse[0],
        requested_bsse,
        bsse,
        max_nbody,
        return_total_data,
        supersystem_ie_only,
        levels: mc_levels,
        supersystem,
        nfragments: nfr,
        natom: mol.atomic_numbers.len(),
        fragment_sizes: mol.fragment_sizes,
        fragment_starts: mol.fragment_starts,
        fragment_charges: mol.fragment_charges,
        fragment_multiplicities: mol.fragment_multiplicities,
        atomic_numbers: mol.atomic_numbers,
        real: mol.real,
    })
}

/// Which programs can run ghost atoms (basis functions without nuclei or electrons), needed for
/// cp and vmfc components. Semi-empirical, tight-binding and machine-learned potentials cannot.
///
/// Never fails; unknown programs are assumed to support ghosts.
pub fn supports_ghosts(program: &str) -> bool {
    const NO_GHOSTS: [&str; 9] = [
        "xtb", "tblite", "dftbplus", "dftb+", "mopac", "torchani", "aimnet2", "mace", "openmm",
    ];
    let p = program.trim().to_ascii_lowercase();
    !NO_GHOSTS.contains(&p.as_str())
}

/// Model chemistry label → program, for the labels used by `settings`.
pub(crate) fn programs(input: &ManyBodyInput) -> BTreeMap<String, String> {
    input
        .specification
        .specification
        .iter()
        .map(|(k, v)| (k.clone(), v.program.clone()))
        .collect()
}
