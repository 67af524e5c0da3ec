//! NWChem components: an input deck (`input.nw`) whose embedded Python block runs the
//! calculation and writes `result.json` (`{"energy", "gradient"?}`) at full precision. Ghost
//! atoms are NWChem `bq` centres (`bqO`) carrying the element's basis functions
//! (`bqO library O <basis>`), so cp and vmfc work, gradients on ghosts included.

use matterstack_mbe::{Component, Driver};

use crate::{Error, Result};

/// The shell command of an NWChem component (run in the task directory).
pub(super) const COMMAND: &str = "rm -f result.json mol.db mol.movecs && \
     nwchem input.nw > nwchem.out 2>&1 && test -s result.json || \
     { tail -n 30 nwchem.out >&2; echo \"nwchem failed: see $PWD/nwchem.out\" >&2; exit 1; }";

/// NWChem's module (and `task` operation) and the DFT functional, for a method name.
fn method(c: &Component) -> Result<(&'static str, Option<&'static str>)> {
    let m = c.method.trim().to_ascii_lowercase();
    Ok(match m.as_str() {
        "hf" | "scf" => ("scf", None),
        "mp2" => ("mp2", None),
        "b3lyp" => ("dft", Some("b3lyp")),
        "pbe0" => ("dft", Some("pbe0")),
        "pbe" => ("dft", Some("xpbe96 cpbe96")),
        "blyp" => ("dft", Some("becke88 lyp")),
        _ => {
            return Err(Error::Input(format!(
                "invalid value for `specification.specification.{}.model.method`: {:?}; with nwchem `mbe run` takes \"hf\", \"mp2\", \"b3lyp\", \"pbe0\", \"pbe\" or \"blyp\"",
                c.model, c.method
            )))
        }
    })
}

/// The input deck of a component.
///
/// Fails with [`Error::Input`] for a hessian, a method it does not know, a missing basis,
/// program keywords (none are taken), a non-integer charge, or a symbol that is no element.
pub(super) fn deck(c: &Component) -> Result<String> {
    let field = |f: &str| format!("specification.specification.{}.{f}", c.model);
    if c.driver == Driver::Hessian {
        return Err(Error::Input(format!(
            "invalid value for `specification.driver`: \"hessian\" with nwchem (model chemistry {:?}); `mbe run` takes energies and gradients from nwchem: use driver \"energy\" or \"gradient\"",
            c.model
        )));
    }
    let (module, xc) = method(c)?;
    let basis = super::required_basis(c, "nwchem")?;
    if !basis
        .chars()
        .all(|ch| ch.is_ascii_alphanumeric() || "-+*()_,".contains(ch))
    {
        return Err(Error::Input(format!(
            "invalid value for `{}`: {basis:?}; give an NWChem library basis name such as \"6-31g*\"",
            field("model.basis")
        )));
    }
    if let Some(k) = c.keywords.keys().next() {
        return Err(Error::Input(format!(
            "invalid keyword `{}`: {k}; `mbe run` takes no program keywords for nwchem (convergence is set tight: scf thresh 1e-8, tol2e 1e-14); remove it",
            field("keywords")
        )));
    }
    let charge = super::integer_charge(c, "nwchem")?;
    let mult = c.molecular_multiplicity.max(1);

    let mut geometry = String::new();
    let mut elements: Vec<(&'static str, bool)> = Vec::new();
    for (i, sym) in c.symbols.iter().enumerate() {
        let el = matterstack_mbe::elements::canonical_symbol(sym).ok_or_else(|| {
            Error::Input(format!(
                "invalid value for `molecule.symbols`: {sym:?}; give element symbols"
            ))
        })?;
        let real = c.real_atoms[i];
        let tag = if real {
            el.to_string()
        } else {
            format!("bq{el}")
        };
        let g = &c.geometry[3 * i..3 * i + 3];
        geometry.push_str(&format!("  {tag} {:?} {:?} {:?}\n", g[0], g[1], g[2]));
        if !elements.contains(&(el, real)) {
            elements.push((el, real));
        }
    }
    let mut basis_block = String::new();
    for (el, real) in &elements {
        let tag = if *real {
            el.to_string()
        } else {
            format!("bq{el}")
        };
        basis_block.push_str(&format!("  {tag} library {el} {basis}\n"));
    }
    // Pople and STO sets are Cartesian, correlation-consistent and def2 ones spherical (as psi4)
    let b = basis.to_ascii_lowercase();
    let spherical = if b.contains("cc-p") || b.starts_with("def2") {
        " spherical"
    } else {
        ""
    };

    let reference = if mult > 1 { "uhf" } else { "rhf" };
    let mut methods = format!(
        "scf\n  nopen {}\n  {reference}\n  thresh 1e-8\n  tol2e 1e-14\n  maxiter 200\nend\n",
        mult - 1
    );
    if let Some(xc) = xc {
        methods = format!(
            "dft\n  xc {xc}\n  mult {mult}\n  convergence energy 1e-10\n  grid fine\n  tolerances tight\nend\n"
        );
    }
    let call = match c.driver {
        Driver::Gradient => format!(
            "  (energy, gradient) = task_gradient('{module}')\n  out = {{'energy': energy, 'gradient': list(gradient)}}\n"
        ),
        _ => format!("  energy = task_energy('{module}')\n  out = {{'energy': energy}}\n"),
    };
    Ok(format!(
        "# matterstack mbe component {label}\n\
         start mol\npermanent_dir .\nscratch_dir .\n\
         geometry units bohr noautoz nocenter noautosym\n{geometry}end\n\
         basis{spherical}\n{basis_block}end\n\
         charge {charge}\n{methods}\
         python\n  import json\n{call}  if ga_nodeid() == 0:\n    with open('result.json', 'w') as fh:\n      json.dump(out, fh)\nend\n\
         task python\n",
        label = c.label.replace('\n', " "),
        charge = charge,
    ))
}
