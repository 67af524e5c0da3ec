//! The plan of a many-body expansion: every distinct component calculation with its atoms
//! (real and ghost), charge, multiplicity, model chemistry and a cost estimate.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::enumerate::{compute_map, estimated_components, ComputeDict, MAX_COMPONENTS};
use crate::error::MbeError;
use crate::input::ManyBodyInput;
use crate::settings::{programs, settings, supports_ghosts, Bsse, Driver, MbeSettings};
use crate::table::{model_json, Table};

/// One component calculation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Component {
    /// The QCManyBody label, e.g. `["mp2", [1], [1, 2]]`; the key for its result in [`crate::analyze()`].
    pub label: String,
    /// Model chemistry label (key of `specification.specification`).
    pub model: String,
    /// Real fragments, 1-based.
    pub real: Vec<usize>,
    /// Basis fragments (real + ghost), 1-based.
    pub basis: Vec<usize>,
    /// Ghost-only fragments, 1-based.
    pub ghost: Vec<usize>,
    pub program: String,
    pub method: String,
    pub basis_set: Option<String>,
    /// Program keywords of the model chemistry.
    pub keywords: Map<String, Value>,
    /// What to compute (the many-body driver; it overrides the atomic specification's).
    pub driver: Driver,
    /// Atoms of the basis fragments in parent order (ghost atoms included).
    pub symbols: Vec<String>,
    /// Flat xyz in bohr, 3 per atom of `symbols`.
    pub geometry: Vec<f64>,
    /// Per atom: real (true) or ghost (false).
    pub real_atoms: Vec<bool>,
    /// Per atom: its 0-based index in the parent molecule.
    pub parent_atoms: Vec<usize>,
    /// 0-based atom indices of each basis fragment within this component.
    pub fragments: Vec<Vec<usize>>,
    /// Ghost fragments have charge 0 and multiplicity 1.
    pub fragment_charges: Vec<f64>,
    pub fragment_multiplicities: Vec<u32>,
    pub molecular_charge: f64,
    /// High-spin coupling of the real fragments: Σ(mᵢ − 1) + 1, as qcelemental derives it.
    pub molecular_multiplicity: u32,
    /// Electrons of the real atoms (nuclear charges minus molecular charge).
    pub n_electrons: f64,
    /// Relative cost estimate: (Σ nuclear charges of all atoms, ghosts included)³ — ghosts carry
    /// basis functions, so this tracks basis size. Used to schedule largest first.
    pub cost: f64,
}

impl Component {
    /// The component molecule as a QCSchema molecule (what QCManyBody's `iterate_molecules` yields:
    /// fragment order kept, ghosts flagged in `real`, `fix_com` and `fix_orientation` set).
    pub fn qcschema_molecule(&self) -> Value {
        json!({
            "schema_name": "qcschema_molecule",
            "schema_version": 2,
            "symbols": self.symbols,
            "geometry": self.geometry,
            "real": self.real_atoms,
            "fragments": self.fragments,
            "fragment_charges": self.fragment_charges,
            "fragment_multiplicities": self.fragment_multiplicities,
            "molecular_charge": self.molecular_charge,
            "molecular_multiplicity": self.molecular_multiplicity,
            "fix_com": true,
            "fix_orientation": true,
        })
    }

    /// The component as a QCSchema `AtomicInput` (what QCManyBody hands to QCEngine): molecule,
    /// the many-body driver, model and program keywords.
    pub fn atomic_input(&self) -> Value {
        let mut model = Map::new();
        model.insert("method".into(), Value::String(self.method.clone()));
        model.insert(
            "basis".into(),
            self.basis_set
                .clone()
                .map(Value::String)
                .unwrap_or(Value::Null),
        );
        json!({
            "schema_name": "qcschema_input",
            "schema_version": 1,
            "molecule": self.qcschema_molecule(),
            "driver": self.driver.as_str(),
            "model": model,
            "keywords": self.keywords,
            "extras": {"matterstack_mbe_label": self.label, "program": self.program},
        })
    }

    /// Number of atoms (real + ghost): the row count of this component's gradient.
    pub fn natom(&self) -> usize {
        self.symbols.len()
    }
}

/// A checked input and its expansion without atoms: the settings, the distinct component
/// calculations as compact ids (model chemistry, real and basis fragments) and QCManyBody's
/// compute lists over them. This is all [`crate::analyze_expansion`] needs; build it with
/// [`expansion()`] (cheap: no molecules, no label strings).
#[derive(Debug, Clone, PartialEq)]
pub struct Expansion {
    pub input: ManyBodyInput,
    pub settings: MbeSettings,
    /// The distinct component calculations (model index = position in `settings.levels`).
    pub(crate) table: Table,
    /// Per model chemistry (same order as `settings.levels`), QCManyBody's compute lists.
    pub(crate) compute: Vec<ComputeDict>,
    /// Model chemistry labels as spelled inside component labels, by model index.
    pub(crate) models_json: Vec<String>,
}

impl Expansion {
    /// Number of distinct component calculations.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when the expansion has no component calculation (never, for a valid input).
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The label of component `id` (`0..len()`), spelled as QCManyBody spells it.
    pub fn label(&self, id: u32) -> String {
        let mut s = String::with_capacity(32);
        self.table
            .write_label(id, &self.models_json[self.table.model(id) as usize], &mut s);
        s
    }

    /// The id of the component whose label is exactly `label`, if it is one of this expansion's.
    pub fn find_label(&self, label: &str) -> Option<u32> {
        self.table
            .find_label(label, &self.models_json, &mut Vec::new())
    }

    /// Atoms (real and ghost) of component `id`: the atoms of its basis fragments.
    pub fn natom(&self, id: u32) -> usize {
        self.table
            .basis(id)
            .iter()
            .map(|&f| self.settings.fragment_sizes[f as usize - 1])
            .sum()
    }

    /// Calls `f(i, a)` for each atom of component `id`: `i` its index in the component, `a` its
    /// 0-based index in the whole molecule.
    pub(crate) fn for_each_atom(&self, id: u32, mut f: impl FnMut(usize, usize)) {
        let s = &self.settings;
        let mut i = 0;
        for &fr in self.table.basis(id) {
            let start = s.fragment_starts[fr as usize - 1];
            for a in start..start + s.fragment_sizes[fr as usize - 1] {
                f(i, a);
                i += 1;
            }
        }
    }
}

/// A checked input and the component calculations it needs, with their atoms. Build it with
/// [`plan()`]: [`crate::analyze()`] trusts its fields to be consistent with each other.
/// It dereferences to its [`Expansion`] (`plan.settings`, `plan.input`).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub expansion: Expansion,
    /// Distinct components, largest cost first (ties by label).
    pub components: Vec<Component>,
    /// Per component (same order), its id in the expansion.
    pub(crate) ids: Vec<u32>,
}

impl std::ops::Deref for Plan {
    type Target = Expansion;
    fn deref(&self) -> &Expansion {
        &self.expansion
    }
}

impl Plan {
    /// The component with this label, if planned.
    pub fn component(&self, label: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.label == label)
    }

    /// All labels, sorted.
    pub fn labels(&self) -> BTreeSet<String> {
        self.components.iter().map(|c| c.label.clone()).collect()
    }

    /// Number of components per model chemistry and per n-body (number of real fragments).
    pub fn counts(&self) -> BTreeMap<String, BTreeMap<usize, usize>> {
        let mut out: BTreeMap<String, BTreeMap<usize, usize>> = BTreeMap::new();
        for c in &self.components {
            *out.entry(c.model.clone())
                .or_default()
                .entry(c.real.len())
                .or_default() += 1;
        }
        out
    }
}

/// Check `input` and enumerate its distinct component calculations (deduplicated across bsse
/// types and levels: exactly the set QCManyBody's `iterate_molecules` yields), without building
/// their molecules.
///
/// Fails on everything [`crate::settings::settings`] rejects, and with
/// [`MbeError::InvalidField`] on `max_nbody` when the expansion would need more than
/// [`MAX_COMPONENTS`] calculations, and with [`MbeError::GhostsUnsupported`] when a component
/// with ghost atoms (cp or vmfc) would run in a program without ghost atoms (see
/// [`supports_ghosts`]).
pub fn expansion(input: &ManyBodyInput) -> Result<Expansion, MbeError> {
    let settings = settings(input)?;
    let estimate = estimated_components(&settings);
    if estimate > MAX_COMPONENTS {
        return Err(MbeError::field(
            "specification.keywords.max_nbody",
            format!("{} (with {} fragments)", settings.max_nbody, settings.nfragments),
            format!("that needs up to {estimate} component calculations (limit {MAX_COMPONENTS}); lower max_nbody or use fewer, larger fragments"),
        ));
    }
    let (table, compute) = compute_map(&settings);
    let mut specs = Vec::with_capacity(settings.levels.len());
    for lvl in &settings.levels {
        let spec = input
            .specification
            .specification
            .get(&lvl.label)
            .ok_or_else(|| {
                MbeError::field(
                    "specification.specification",
                    format!("{:?}", programs(input).keys().collect::<Vec<_>>()),
                    format!("add model chemistry {:?}", lvl.label),
                )
            })?;
        specs.push(spec);
    }
    let ghosts: Vec<bool> = specs.iter().map(|s| supports_ghosts(&s.program)).collect();
    for id in 0..table.len() as u32 {
        let model = table.model(id) as usize;
        let spec = specs[model];
        if table.nbasis(id) != table.nreal(id) && !ghosts[model] {
            let needs: Vec<&str> = settings
                .bsse
                .iter()
                .filter(|b| **b != Bsse::Nocp)
                .map(|b| b.as_str())
                .collect();
            return Err(MbeError::GhostsUnsupported {
                model: settings.levels[model].label.clone(),
                program: spec.program.clone(),
                bsse: needs.join(", "),
            });
        }
    }
    let models_json = settings
        .levels
        .iter()
        .map(|l| model_json(&l.label))
        .collect();
    Ok(Expansion {
        input: input.clone(),
        settings,
        table,
        compute,
        models_json,
    })
}

/// Check `input` and list every distinct component calculation it needs (deduplicated across
/// bsse types and levels), exactly the set QCManyBody's `iterate_molecules` yields, each with its
/// atoms, ghosts, charge, multiplicity and cost.
///
/// Fails as [`expansion()`] does.
pub fn plan(input: &ManyBodyInput) -> Result<Plan, MbeError> {
    let exp = expansion(input)?;
    let settings = &exp.settings;
    let mol = &input.molecule;
    let table = &exp.table;

    let mut components = Vec::with_capacity(table.len());
    for id in 0..table.len() as u32 {
        let model = &settings.levels[table.model(id) as usize].label;
        let spec = &input.specification.specification[model];
        let real: Vec<usize> = table.real(id).iter().map(|&f| f as usize).collect();
        let basis: Vec<usize> = table.basis(id).iter().map(|&f| f as usize).collect();
        let ghost: Vec<usize> = basis
            .iter()
            .copied()
            .filter(|f| !real.contains(f))
            .collect();

        let mut symbols = Vec::new();
        let mut geometry = Vec::new();
        let mut real_atoms = Vec::new();
        let mut parent_atoms = Vec::new();
        let mut fragments = Vec::new();
        let mut fragment_charges = Vec::new();
        let mut fragment_multiplicities = Vec::new();
        let mut z_all = 0.0_f64;
        let mut z_real = 0.0_f64;
        for &f in &basis {
            let is_real = real.contains(&f);
            let start = settings.fragment_starts[f - 1];
            let size = settings.fragment_sizes[f - 1];
            let mut idx = Vec::with_capacity(size);
            for a in start..start + size {
                idx.push(symbols.len());
                symbols.push(mol.symbols[a].clone());
                geometry.extend_from_slice(&mol.geometry[3 * a..3 * a + 3]);
                let atom_real = is_real && settings.real[a];
                real_atoms.push(atom_real);
                parent_atoms.push(a);
                let z = settings.atomic_numbers[a] as f64;
                z_all += z;
                if atom_real {
                    z_real += z;
                }
            }
            fragments.push(idx);
            if is_real {
                fragment_charges.push(settings.fragment_charges[f - 1]);
                fragment_multiplicities.push(settings.fragment_multiplicities[f - 1]);
            } else {
                fragment_charges.push(0.0);
                fragment_multiplicities.push(1);
            }
        }
        let molecular_charge: f64 = real.iter().map(|&f| settings.fragment_charges[f - 1]).sum();
        let molecular_multiplicity: u32 = real
            .iter()
            .map(|&f| settings.fragment_multiplicities[f - 1] - 1)
            .sum::<u32>()
            + 1;
        components.push((
            id,
            Component {
                label: exp.label(id),
                model: model.clone(),
                real,
                basis,
                ghost,
                program: spec.program.clone(),
                method: spec.model.method.clone(),
                basis_set: spec.model.basis.clone(),
                keywords: spec.keywords.clone(),
                driver: settings.driver,
                symbols,
                geometry,
                real_atoms,
                parent_atoms,
                fragments,
                fragment_charges,
                fragment_multiplicities,
                molecular_charge,
                molecular_multiplicity,
                n_electrons: z_real - molecular_charge,
                cost: z_all.powi(3),
            },
        ));
    }
    components.sort_by(|(_, a), (_, b)| {
        b.cost
            .partial_cmp(&a.cost)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.label.cmp(&b.label))
    });
    let (ids, components) = components.into_iter().unzip();
    Ok(Plan {
        expansion: exp,
        components,
        ids,
    })
}
