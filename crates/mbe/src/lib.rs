//! # matterstack-mbe
//!
//! A pure many-body expansion (MBE) library whose numbers equal MolSSI QCManyBody 0.8's:
//! read a QCManyBody `ManyBodyInput` (or a short TOML form), [`plan()`] the component
//! calculations (labels `["model", [real], [basis]]`, atoms, ghosts, charge, multiplicity, cost),
//! and [`analyze()`] their results into total/interaction energies, gradients and hessians per
//! bsse treatment (nocp, cp, vmfc) and level (multilevel, supersystem).
//!
//! For assembly alone there is a lighter path: [`expansion()`] enumerates the components as
//! compact ids without building their molecules, [`results_for`] reads a results JSON straight
//! into those ids, and [`analyze_expansion`] assembles (what `matterstack mbe analyze` uses).
//!
//! No IO: every function takes strings or structs and returns values or [`MbeError`]s.
//!
//! ```
//! use std::collections::BTreeMap;
//! use matterstack_mbe::{analyze, plan, ComponentResult, ManyBodyInput};
//!
//! let input = ManyBodyInput::from_toml(r#"
//! method = "hf"
//! basis = "sto-3g"
//! program = "psi4"
//! bsse_type = "nocp"
//! xyz = """
//! He 0 0 0
//! --
//! He 0 0 3
//! """
//! "#).unwrap();
//! let p = plan(&input).unwrap();
//! assert_eq!(p.components.len(), 3);
//! let results: BTreeMap<String, ComponentResult> = p.components.iter()
//!     .map(|c| (c.label.clone(), ComponentResult::energy(-2.8 * c.real.len() as f64 - 0.001 * (c.real.len() as f64 - 1.0))))
//!     .collect();
//! let out = analyze(&p, &results).unwrap();
//! assert!((out.ret_energy + 0.001).abs() < 1e-12);
//! ```

#![forbid(unsafe_code)]

pub mod assemble;
mod collect;
pub mod elements;
pub mod enumerate;
pub mod error;
pub mod fsum;
pub mod input;
pub mod label;
mod molecule;
pub mod plan;
pub mod report;
pub mod result;
pub mod settings;
#[cfg(feature = "toml")]
pub mod short;
pub mod table;
mod vecops;

pub use assemble::{analyze, analyze_expansion};
pub use error::MbeError;
pub use fsum::{fsum, Fsum};
pub use input::{
    AtomicSpecification, ManyBodyInput, ManyBodyKeywords, ManyBodySpecification, ModelSpec,
    Molecule,
};
pub use label::Label;
pub use plan::{expansion, plan, Component, Expansion, Plan};
pub use report::{interaction_energy_svg, summary_table};
pub use result::{results_for, results_from_json, ComponentResult, ManyBodyOutcome, Quantity};
pub use settings::{settings, supports_ghosts, Bsse, Driver, MbeSettings, McLevel};
