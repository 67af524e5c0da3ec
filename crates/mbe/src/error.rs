//! Errors of the many-body library. Every message names the field, the offending value and the fix.

use thiserror::Error;

/// Everything that can go wrong while reading an input, planning or assembling.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MbeError {
    /// The input text is not valid JSON/TOML or does not have the ManyBodyInput shape.
    #[error("cannot read the many-body input: {0}")]
    Parse(String),

    /// A field has a value that is not allowed; `fix` says what to do instead.
    #[error("invalid value for `{field}`: {value}; {fix}")]
    InvalidField {
        field: String,
        value: String,
        fix: String,
    },

    /// `molecule.fragments` lists an atom in more than one fragment.
    #[error(
        "invalid value for `molecule.fragments`: atom index {atom} appears in fragment {first} and in fragment {second} (0-based fragment numbers); each atom must belong to exactly one fragment"
    )]
    OverlappingFragments {
        atom: usize,
        first: usize,
        second: usize,
    },

    /// `molecule.fragments` leaves some atoms out.
    #[error(
        "invalid value for `molecule.fragments`: atom indices {atoms:?} (0-based) are in no fragment; add them to a fragment so the fragments cover all {natom} atoms"
    )]
    MissingFragmentAtoms { atoms: Vec<usize>, natom: usize },

    /// `molecule.fragments` names an atom that does not exist.
    #[error(
        "invalid value for `molecule.fragments`: atom index {atom} in fragment {fragment} is out of range; the molecule has {natom} atoms (valid indices 0..{natom})"
    )]
    FragmentAtomOutOfRange {
        atom: usize,
        fragment: usize,
        natom: usize,
    },

    /// `max_nbody` is not between 1 and the number of fragments.
    #[error(
        "invalid value for `specification.keywords.max_nbody`: {value}; it must be between 1 and the number of fragments ({nfragments})"
    )]
    MaxNbodyOutOfRange { value: i64, nfragments: usize },

    /// A bsse_type other than nocp, cp, vmfc (or their aliases).
    #[error(
        "invalid value for `specification.keywords.bsse_type`: {value:?}; use one or more of \"nocp\", \"cp\", \"vmfc\" (aliases: \"ssfc\" = cp, \"mbe\"/\"none\" = nocp)"
    )]
    UnknownBsseType { value: String },

    /// Counterpoise-type components (ghost atoms) would be sent to a program that has no ghost atoms.
    #[error(
        "invalid value for `specification.specification.{model}.program`: {program:?} has no ghost atoms, but bsse_type {bsse:?} needs ghost-atom calculations at model chemistry {model:?}; use bsse_type \"nocp\" for this model chemistry or a program with ghost atoms (psi4, nwchem, pyscf, …)"
    )]
    GhostsUnsupported {
        model: String,
        program: String,
        bsse: String,
    },

    /// Component results are missing for `analyze`.
    #[error(
        "missing component results ({count}): {labels}; run these component calculations (or pass their results) before assembling"
    )]
    MissingComponents { count: usize, labels: String },

    /// Some component results lack a property (gradient or hessian) that others have or the driver needs.
    #[error(
        "missing `{property}` in {count} component results: {labels}; give every component a {property} (the driver or other components need it) or none at all"
    )]
    MissingProperty {
        property: String,
        count: usize,
        labels: String,
    },

    /// A component result has the wrong size or a non-finite value.
    #[error("invalid component result for `{label}`.{property}: {problem}")]
    BadComponent {
        label: String,
        property: String,
        problem: String,
    },

    /// A component label cannot be parsed.
    #[error(
        "invalid component label {label:?}: {problem}; labels look like [\"mp2\", [1], [1, 2]] (model chemistry, 1-based real fragments, 1-based basis fragments)"
    )]
    BadLabel { label: String, problem: String },
}

impl MbeError {
    /// Shorthand for [`MbeError::InvalidField`].
    pub fn field(
        field: impl Into<String>,
        value: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        MbeError::InvalidField {
            field: field.into(),
            value: value.into(),
            fix: fix.into(),
        }
    }
}
