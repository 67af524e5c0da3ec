//! Checks of the molecule of a ManyBodyInput: geometry, elements, fragments (cover every atom
//! once, in order), fragment charges and multiplicities.

use crate::elements::atomic_number;
use crate::error::MbeError;
use crate::input::ManyBodyInput;

/// The facts about the molecule the expansion needs.
pub(crate) struct CheckedMolecule {
    pub(crate) fragment_sizes: Vec<usize>,
    pub(crate) fragment_starts: Vec<usize>,
    pub(crate) fragment_charges: Vec<f64>,
    pub(crate) fragment_multiplicities: Vec<u32>,
    pub(crate) atomic_numbers: Vec<u32>,
    pub(crate) real: Vec<bool>,
}

pub(crate) fn truncate(s: &str) -> String {
    if s.chars().count() > 80 {
        let t: String = s.chars().take(77).collect();
        format!("{t}...")
    } else {
        s.to_string()
    }
}

pub(crate) fn check_molecule(input: &ManyBodyInput) -> Result<CheckedMolecule, MbeError> {
    let mol = &input.molecule;
    let natom = mol.symbols.len();
    if natom == 0 {
        return Err(MbeError::field(
            "molecule.symbols",
            "[]",
            "give at least two atoms in two fragments",
        ));
    }
    if mol.geometry.len() != 3 * natom {
        return Err(MbeError::field(
            "molecule.geometry",
            format!("{} numbers", mol.geometry.len()),
            format!(
                "give 3 coordinates (bohr) per atom: {} numbers for {natom} symbols",
                3 * natom
            ),
        ));
    }
    if let Some(i) = mol.geometry.iter().position(|x| !x.is_finite()) {
        return Err(MbeError::field(
            format!("molecule.geometry[{i}]"),
            format!("{}", mol.geometry[i]),
            "coordinates must be finite numbers",
        ));
    }
    let atomic_numbers: Vec<u32> = match &mol.atomic_numbers {
        Some(z) if z.len() == natom => z.clone(),
        Some(z) => {
            return Err(MbeError::field(
                "molecule.atomic_numbers",
                format!("{} entries", z.len()),
                format!("give one atomic number per symbol ({natom}) or leave the field out"),
            ))
        }
        None => {
            let mut z = Vec::with_capacity(natom);
            for (i, s) in mol.symbols.iter().enumerate() {
                z.push(atomic_number(s).ok_or_else(|| {
                    MbeError::field(
                        format!("molecule.symbols[{i}]"),
                        format!("{s:?}"),
                        "use an element symbol such as \"O\" or \"He\"",
                    )
                })?);
            }
            z
        }
    };
    let real = match &mol.real {
        Some(r) if r.len() == natom => r.clone(),
        Some(r) => {
            return Err(MbeError::field(
                "molecule.real",
                format!("{} entries", r.len()),
                format!("give one flag per atom ({natom}) or leave the field out"),
            ))
        }
        None => vec![true; natom],
    };

    let fragments = match &mol.fragments {
        Some(f) if !f.is_empty() => f,
        _ => {
            return Err(MbeError::field(
                "molecule.fragments",
                "missing",
                "list the 0-based atom indices of each fragment, e.g. [[0, 1, 2], [3, 4, 5]] (at least two fragments)",
            ))
        }
    };
    let mut owner: Vec<Option<usize>> = vec![None; natom];
    for (ifr, frag) in fragments.iter().enumerate() {
        if frag.is_empty() {
            return Err(MbeError::field(
                format!("molecule.fragments[{ifr}]"),
                "[]",
                "every fragment needs at least one atom; remove the empty fragment",
            ));
        }
        for &a in frag {
            if a < 0 {
                return Err(MbeError::field(
                    format!("molecule.fragments[{ifr}]"),
                    format!("{a}"),
                    format!("atom indices are 0-based and non-negative (0..{natom})"),
                ));
            }
            if a as u64 >= natom as u64 {
                return Err(MbeError::FragmentAtomOutOfRange {
                    atom: a as usize,
                    fragment: ifr,
                    natom,
                });
            }
            let a = a as usize;
            if let Some(first) = owner[a] {
                return Err(MbeError::OverlappingFragments {
                    atom: a,
                    first,
                    second: ifr,
                });
            }
            owner[a] = Some(ifr);
        }
    }
    let missing: Vec<usize> = (0..natom).filter(|&a| owner[a].is_none()).collect();
    if !missing.is_empty() {
        return Err(MbeError::MissingFragmentAtoms {
            atoms: missing,
            natom,
        });
    }
    let nfr = fragments.len();
    if nfr < 2 {
        return Err(MbeError::field(
            "molecule.fragments",
            format!("{fragments:?}"),
            "a many-body expansion needs at least two fragments; split the molecule into fragments",
        ));
    }
    let flat: Vec<i64> = fragments.iter().flatten().copied().collect();
    if flat.iter().enumerate().any(|(i, &a)| a != i as i64) {
        return Err(MbeError::field(
            "molecule.fragments",
            truncate(&format!("{fragments:?}")),
            "fragments must list the atoms in order, fragment after fragment (e.g. [[0, 1, 2], [3, 4, 5]]); reorder the atoms so each fragment is a contiguous block (QCManyBody has the same rule)",
        ));
    }
    let fragment_sizes: Vec<usize> = fragments.iter().map(|f| f.len()).collect();
    let mut fragment_starts = Vec::with_capacity(nfr);
    let mut start = 0;
    for s in &fragment_sizes {
        fragment_starts.push(start);
        start += s;
    }

    let fragment_charges = match &mol.fragment_charges {
        Some(c) if c.len() == nfr => {
            // No molecule carries a charge of a million electrons; beyond
            // that, electron counts would overflow.
            if let Some(i) = c.iter().position(|x| !(x.is_finite() && x.abs() < 1e6)) {
                return Err(MbeError::field(
                    format!("molecule.fragment_charges[{i}]"),
                    format!("{}", c[i]),
                    "charges must be finite numbers of electrons, e.g. -1, 0 or 2",
                ));
            }
            c.clone()
        }
        Some(c) => {
            return Err(MbeError::field(
                "molecule.fragment_charges",
                format!("{c:?}"),
                format!("give one charge per fragment ({nfr} values)"),
            ))
        }
        None => match mol.molecular_charge {
            Some(q) if q != 0.0 => {
                return Err(MbeError::field(
                    "molecule.fragment_charges",
                    "missing",
                    format!("molecular_charge is {q}: say which fragments carry it with fragment_charges ({nfr} values)"),
                ))
            }
            _ => vec![0.0; nfr],
        },
    };
    if let Some(q) = mol.molecular_charge {
        let sum: f64 = fragment_charges.iter().sum();
        if (sum - q).abs() > 1e-6 {
            return Err(MbeError::field(
                "molecule.molecular_charge",
                format!("{q}"),
                format!("it must equal the sum of fragment_charges ({sum}); fix one of the two"),
            ));
        }
    }
    let electrons: Vec<Option<i64>> = (0..nfr)
        .map(|ifr| {
            let z: i64 = (fragment_starts[ifr]..fragment_starts[ifr] + fragment_sizes[ifr])
                .filter(|&a| real[a])
                .map(|a| atomic_numbers[a] as i64)
                .sum();
            let q = fragment_charges[ifr];
            if q.fract() == 0.0 {
                Some(z - q as i64)
            } else {
                None
            }
        })
        .collect();
    let fragment_multiplicities: Vec<u32> = match &mol.fragment_multiplicities {
        Some(m) if m.len() == nfr => {
            let mut out = Vec::with_capacity(nfr);
            for (i, &x) in m.iter().enumerate() {
                if !(x.is_finite() && x >= 1.0 && x.fract() == 0.0 && x < 1e6) {
                    return Err(MbeError::field(
                        format!("molecule.fragment_multiplicities[{i}]"),
                        format!("{x}"),
                        "multiplicities are integers ≥ 1 (1 singlet, 2 doublet, …)",
                    ));
                }
                let x = x as u32;
                if let Some(ne) = electrons[i] {
                    if ne < 0 || (ne % 2) != ((x as i64 - 1) % 2) {
                        return Err(MbeError::field(
                            format!("molecule.fragment_multiplicities[{i}]"),
                            format!("{x}"),
                            format!("fragment {i} has {ne} electrons, so its multiplicity must be {}; fix the charge or the multiplicity", if ne % 2 == 0 { "odd (1, 3, …)" } else { "even (2, 4, …)" }),
                        ));
                    }
                }
                out.push(x);
            }
            out
        }
        Some(m) => {
            return Err(MbeError::field(
                "molecule.fragment_multiplicities",
                format!("{m:?}"),
                format!("give one multiplicity per fragment ({nfr} values)"),
            ))
        }
        None => {
            // lowest spin the electron count allows, fragment by fragment
            let derived: Vec<u32> = electrons
                .iter()
                .map(|ne| match ne {
                    Some(n) if n % 2 != 0 => 2,
                    _ => 1,
                })
                .collect();
            let coupled = derived.iter().map(|m| m - 1).sum::<u32>() + 1;
            if let Some(m) = mol.molecular_multiplicity {
                if m != coupled as f64 {
                    return Err(MbeError::field(
                        "molecule.fragment_multiplicities",
                        "missing",
                        format!("molecular_multiplicity is {m} but the fragments' lowest spins give {coupled}; say which fragments carry the unpaired electrons with fragment_multiplicities ({nfr} values)"),
                    ));
                }
            }
            derived
        }
    };

    Ok(CheckedMolecule {
        fragment_sizes,
        fragment_starts,
        fragment_charges,
        fragment_multiplicities,
        atomic_numbers,
        real,
    })
}
