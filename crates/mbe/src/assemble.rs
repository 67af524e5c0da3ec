//! Assembly: from the component results, the total and interaction energies, gradients and
//! hessians for each bsse treatment and n-body level — the same numbers, keys and operation
//! order as QCManyBody's `ManyBodyCore.analyze` (`_analyze`, `_assemble_nbody_components`).
//! Sums of component data use the exact [`crate::fsum::fsum`], as QCManyBody's `math.fsum`
//! does for energies.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::collect::collect_vars;
use crate::enumerate::ComputeDict;
use crate::error::MbeError;
use crate::fsum::Fsum;
use crate::plan::{Expansion, Plan};
use crate::result::{ComponentResult, ManyBodyOutcome, Quantity};
use crate::settings::{Bsse, Driver, MbeSettings, McLevel};
use crate::vecops::{add_scaled, diff, sub_assign};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prop {
    Energy,
    Gradient,
    Hessian,
}

impl Prop {
    fn as_str(self) -> &'static str {
        match self {
            Prop::Energy => "energy",
            Prop::Gradient => "gradient",
            Prop::Hessian => "hessian",
        }
    }
}

type BodyDict = BTreeMap<Bsse, Vec<(usize, Vec<f64>)>>;

/// Assemble the many-body results of `plan` from its component results (keyed by label).
///
/// Results for labels not in the plan are ignored. Fails as [`analyze_expansion`] does.
pub fn analyze(
    plan: &Plan,
    results: &BTreeMap<String, ComponentResult>,
) -> Result<ManyBodyOutcome, MbeError> {
    let mut by_id: Vec<Option<&ComponentResult>> = vec![None; plan.expansion.len()];
    for (c, &id) in plan.components.iter().zip(&plan.ids) {
        by_id[id as usize] = results.get(&c.label);
    }
    analyze_expansion(&plan.expansion, &by_id)
}

/// Assemble the many-body results of `exp` from its component results, `results[id]` for
/// component `id` (see [`Expansion::label`] and [`crate::results_for`]).
///
/// Fails with [`MbeError::MissingComponents`] naming every planned label without a result (or
/// when `results` is not one entry per component); [`MbeError::MissingProperty`] naming every
/// component without a gradient (hessian) when the driver needs it or other components have one;
/// [`MbeError::BadComponent`] for a gradient/hessian of the wrong length for the component's
/// atoms or a non-finite number.
pub fn analyze_expansion(
    exp: &Expansion,
    results: &[Option<&ComponentResult>],
) -> Result<ManyBodyOutcome, MbeError> {
    let s = &exp.settings;
    if results.len() != exp.len() {
        return Err(MbeError::MissingComponents {
            count: exp.len(),
            labels: format!(
                "(internal) {} results given for {} components",
                results.len(),
                exp.len()
            ),
        });
    }
    let mut missing: Vec<String> = (0..exp.len() as u32)
        .filter(|&id| results[id as usize].is_none())
        .map(|id| exp.label(id))
        .collect();
    if !missing.is_empty() {
        missing.sort();
        return Err(MbeError::MissingComponents {
            count: missing.len(),
            labels: missing.join(", "),
        });
    }
    let results: Vec<&ComponentResult> = results.iter().flatten().copied().collect();

    let props = choose_properties(exp, &results)?;
    for (id, r) in results.iter().enumerate() {
        check(exp, id as u32, r, &props)?;
    }
    let data = Data {
        exp,
        results: &results,
    };

    let n = s.natom;
    let mut body_dicts: BTreeMap<&'static str, BodyDict> = BTreeMap::new();
    let mut rets: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    for &prop in &props {
        let len = match prop {
            Prop::Energy => 1,
            Prop::Gradient => 3 * n,
            Prop::Hessian => 9 * n * n,
        };
        let (ret, body) = analyze_property(&data, prop, len)?;
        rets.insert(prop.as_str(), ret);
        body_dicts.insert(prop.as_str(), body);
    }

    // results (collect_vars), per property and bsse type
    let mut results_map: BTreeMap<String, Quantity> = BTreeMap::new();
    for &prop in &props {
        for &bt in &s.bsse {
            let body = &body_dicts[prop.as_str()][&bt];
            collect_vars(s, bt, prop.as_str(), body, &mut results_map)?;
        }
    }

    let energy_body = &body_dicts["energy"];
    let mut energy_body_dict = BTreeMap::new();
    for (bt, entries) in energy_body {
        for (nb, v) in entries {
            energy_body_dict.insert(format!("{nb}{}", bt.as_str()), v[0]);
        }
    }
    let nested = |prop: &str| -> BTreeMap<String, BTreeMap<usize, Vec<f64>>> {
        body_dicts
            .get(prop)
            .map(|b| {
                b.iter()
                    .map(|(bt, entries)| {
                        (bt.as_str().to_string(), entries.iter().cloned().collect())
                    })
                    .collect()
            })
            .unwrap_or_default()
    };

    let ret_energy = rets["energy"][0];
    let ret_gradient = rets.get("gradient").cloned();
    let ret_hessian = rets.get("hessian").cloned();
    let return_result = match s.driver {
        Driver::Energy => Quantity::Scalar(ret_energy),
        Driver::Gradient => Quantity::Array(ret_gradient.clone().unwrap_or_default()),
        Driver::Hessian => Quantity::Array(ret_hessian.clone().unwrap_or_default()),
    };

    let mut properties: BTreeMap<String, Value> = results_map
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or(Value::Null)))
        .collect();
    properties.insert("calcinfo_nmc".into(), json!(s.levels.len()));
    properties.insert("calcinfo_nfr".into(), json!(s.nfragments));
    properties.insert("calcinfo_natom".into(), json!(s.natom));
    properties.insert("calcinfo_nmbe".into(), json!(exp.len()));
    properties.insert(
        "nuclear_repulsion_energy".into(),
        json!(nuclear_repulsion(exp)),
    );
    properties.insert("return_energy".into(), json!(ret_energy));
    match s.driver {
        Driver::Energy => {}
        Driver::Gradient => {
            properties.insert("return_gradient".into(), json!(ret_gradient));
        }
        Driver::Hessian => {
            if let Some(g) = &ret_gradient {
                properties.insert("return_gradient".into(), json!(g));
            }
            properties.insert("return_hessian".into(), json!(ret_hessian));
        }
    }

    Ok(ManyBodyOutcome {
        driver: s.driver,
        bsse: s.bsse.clone(),
        return_bsse: s.return_bsse,
        ret_energy,
        ret_gradient,
        ret_hessian,
        energy_body_dict,
        gradient_body_dict: nested("gradient"),
        hessian_body_dict: nested("hessian"),
        results: results_map,
        return_result,
        properties,
        nbody_number: exp.len(),
        nfragments: s.nfragments,
        natom: s.natom,
        max_nbody: s.max_nbody,
        supersystem_ie_only: s.supersystem_ie_only,
        levels: s.levels.clone(),
    })
}

/// Energy always; gradient (hessian) when the driver needs it or any component has one — then
/// every component must have it.
fn choose_properties(exp: &Expansion, results: &[&ComponentResult]) -> Result<Vec<Prop>, MbeError> {
    let s = &exp.settings;
    let mut props = vec![Prop::Energy];
    for (prop, needed) in [
        (Prop::Gradient, s.driver == Driver::Gradient),
        (Prop::Hessian, s.driver == Driver::Hessian),
    ] {
        let has = |r: &ComponentResult| match prop {
            Prop::Gradient => r.gradient.is_some(),
            _ => r.hessian.is_some(),
        };
        let any = results.iter().any(|r| has(r));
        if any || needed {
            let mut lacking: Vec<String> = results
                .iter()
                .enumerate()
                .filter(|(_, r)| !has(r))
                .map(|(id, _)| exp.label(id as u32))
                .collect();
            if !lacking.is_empty() {
                lacking.sort();
                return Err(MbeError::MissingProperty {
                    property: prop.as_str().into(),
                    count: lacking.len(),
                    labels: lacking.join(", "),
                });
            }
            // every component has it (or there are no components: zeros, like QCManyBody's no-op case)
            props.push(prop);
        }
    }
    Ok(props)
}

/// Checks one component's result: a finite energy, and for each of `props` an array of the
/// component's size (gradients natom × 3, hessians 3·natom × 3·natom, ghosts included) with
/// finite numbers.
fn check(exp: &Expansion, id: u32, r: &ComponentResult, props: &[Prop]) -> Result<(), MbeError> {
    let bad = |prop: Prop, problem: String| MbeError::BadComponent {
        label: exp.label(id),
        property: prop.as_str().into(),
        problem,
    };
    if !r.energy.is_finite() {
        return Err(bad(
            Prop::Energy,
            format!("{} is not a finite number", r.energy),
        ));
    }
    let nat = exp.natom(id);
    for &prop in props {
        let (values, expected) = match prop {
            Prop::Energy => continue,
            Prop::Gradient => (r.gradient.as_deref().unwrap_or(&[]), 3 * nat),
            Prop::Hessian => (r.hessian.as_deref().unwrap_or(&[]), 9 * nat * nat),
        };
        if values.len() != expected {
            let shape = match prop {
                Prop::Gradient => format!("{nat} atoms × 3"),
                _ => format!("{m} × {m} for {nat} atoms", m = 3 * nat),
            };
            return Err(bad(
                prop,
                format!(
                    "{} numbers, expected {expected} ({shape}, ghosts included, in basis-fragment order)",
                    values.len()
                ),
            ));
        }
        if values.iter().any(|x| !x.is_finite()) {
            return Err(bad(prop, "holds a non-finite number".into()));
        }
    }
    Ok(())
}

/// The checked component results of an expansion, by component id.
struct Data<'a> {
    exp: &'a Expansion,
    results: &'a [&'a ComponentResult],
}

impl Data<'_> {
    /// `sum_cluster_data`: the exact sum of the listed components' property as a full-system
    /// array (`len` numbers), VMFC terms with alternating sign by n-body. Component gradients
    /// (natom × 3) and hessians (3·natom × 3·natom) of the component's atoms, ghosts included,
    /// go to the rows and columns of those atoms in the whole molecule (QCManyBody's
    /// `resize_gradient`/`resize_hessian`); every element is one correctly rounded sum.
    fn sum(
        &self,
        prop: Prop,
        ids: impl IntoIterator<Item = u32>,
        vmfc_nb: Option<usize>,
        len: usize,
    ) -> Vec<f64> {
        let table = &self.exp.table;
        let weight = |id: u32| match vmfc_nb {
            Some(nb) if (nb - table.nreal(id)) % 2 == 1 => -1.0,
            _ => 1.0,
        };
        match prop {
            Prop::Energy => {
                let mut acc = Fsum::new();
                for id in ids {
                    acc.add(weight(id) * self.results[id as usize].energy);
                }
                vec![acc.value()]
            }
            Prop::Gradient => {
                let mut cols = vec![Fsum::new(); len];
                for id in ids {
                    let w = weight(id);
                    let g = self.results[id as usize].gradient.as_deref().unwrap_or(&[]);
                    self.exp.for_each_atom(id, |i, a| {
                        for x in 0..3 {
                            cols[3 * a + x].add(w * g[3 * i + x]);
                        }
                    });
                }
                cols.iter().map(Fsum::value).collect()
            }
            Prop::Hessian => {
                let nn = 3 * self.exp.settings.natom;
                let mut cols = vec![Fsum::new(); len];
                let mut atoms = Vec::new();
                for id in ids {
                    let w = weight(id);
                    let h = self.results[id as usize].hessian.as_deref().unwrap_or(&[]);
                    atoms.clear();
                    self.exp.for_each_atom(id, |_, a| atoms.push(a));
                    let m = 3 * atoms.len();
                    for (i, &a) in atoms.iter().enumerate() {
                        for (j, &b) in atoms.iter().enumerate() {
                            for x in 0..3 {
                                let src = (3 * i + x) * m + 3 * j;
                                let dst = (3 * a + x) * nn + 3 * b;
                                for y in 0..3 {
                                    cols[dst + y].add(w * h[src + y]);
                                }
                            }
                        }
                    }
                }
                cols.iter().map(Fsum::value).collect()
            }
        }
    }
}

/// Nuclear repulsion of the real atoms of the whole molecule, in Eh (same loop as qcelemental).
fn nuclear_repulsion(exp: &Expansion) -> f64 {
    let s = &exp.settings;
    let g = &exp.input.molecule.geometry;
    let mut nre = 0.0;
    for a in 0..s.natom {
        for b in 0..a {
            let za = if s.real[a] { s.atomic_numbers[a] } else { 0 };
            let zb = if s.real[b] { s.atomic_numbers[b] } else { 0 };
            let dx = g[3 * a] - g[3 * b];
            let dy = g[3 * a + 1] - g[3 * b + 1];
            let dz = g[3 * a + 2] - g[3 * b + 2];
            let dist = (dx * dx + dy * dy + dz * dz).sqrt();
            nre += (za * zb) as f64 / dist;
        }
    }
    nre
}

fn comb(n: usize, k: usize) -> f64 {
    if k > n {
        return 0.0;
    }
    let k = k.min(n - k);
    let mut c: u128 = 1;
    for i in 0..k {
        c = c * (n - i) as u128 / (i + 1) as u128;
    }
    c as f64
}

/// `acc += Σ_{k=1..nb} C(nfr−k−1, nb−k) (−1)^(nb−k) by[k]`, term by term in QCManyBody's order:
/// the n-body total from the k-body sums (valid for nb < nfr).
fn inclusion_exclusion(by: &[Vec<f64>], nb: usize, nfr: usize, acc: &mut [f64]) {
    for (k, v) in by.iter().enumerate().take(nb + 1).skip(1) {
        let take = comb(nfr - k - 1, nb - k);
        let sign = if (nb - k).is_multiple_of(2) {
            1.0
        } else {
            -1.0
        };
        add_scaled(acc, take * sign, v);
    }
}

/// `_assemble_nbody_components` for one model chemistry: cumulative body dicts (index = n-body)
/// for cp, nocp and vmfc.
fn assemble_mc(
    d: &Data<'_>,
    prop: Prop,
    level: &McLevel,
    dict: &ComputeDict,
    len: usize,
) -> BTreeMap<Bsse, Vec<Vec<f64>>> {
    let s: &MbeSettings = &d.exp.settings;
    let table = &d.exp.table;
    let (nbodies, bsse): (Vec<usize>, Vec<Bsse>) = if level.supersystem {
        ((1..=s.max_nbody).collect(), vec![Bsse::Nocp])
    } else {
        (level.nbodies.clone(), s.bsse.clone())
    };
    let top = nbodies.last().copied().unwrap_or(0);
    let nfr = s.nfragments;
    let zero = vec![0.0; len];

    // the union over the levels' lists, by n-body (ids ascending, distinct)
    let mut cp_list: Vec<Vec<u32>> = vec![Vec::new(); top + 1];
    let mut nocp_list: Vec<Vec<u32>> = vec![Vec::new(); top + 1];
    for nb in &nbodies {
        if let Some(ids) = dict.cp.get(nb) {
            for &id in ids {
                if table.nbasis(id) != 1 && table.nreal(id) <= top {
                    cp_list[table.nreal(id)].push(id);
                }
            }
        }
        if let Some(ids) = dict.nocp.get(nb) {
            for &id in ids {
                if table.nreal(id) <= top {
                    nocp_list[table.nreal(id)].push(id);
                }
            }
        }
    }
    for list in cp_list.iter_mut().chain(nocp_list.iter_mut()) {
        list.sort_unstable();
        list.dedup();
    }
    let mut cp_by = vec![zero.clone(); top + 1];
    let mut nocp_by = vec![zero.clone(); top + 1];
    let mut vmfc_by = vec![zero.clone(); top + 1];
    for nb in 1..=top {
        cp_by[nb] = d.sum(prop, cp_list[nb].iter().copied(), None, len);
        nocp_by[nb] = d.sum(prop, nocp_list[nb].iter().copied(), None, len);
        if let Some(ids) = dict.vmfc_levels.get(&nb) {
            vmfc_by[nb] = d.sum(prop, ids.iter().copied(), Some(nb), len);
        }
    }
    let monomer_sum = if nbodies.contains(&1) {
        let monomers = dict.nocp.get(&1).into_iter().flatten().copied();
        d.sum(
            prop,
            monomers.filter(|&id| table.nbasis(id) == 1),
            None,
            len,
        )
    } else {
        zero.clone()
    };

    let mut cp_body = vec![zero.clone(); top + 1];
    let mut nocp_body = vec![zero.clone(); top + 1];
    let mut vmfc_body = vec![zero.clone(); top + 1];

    if bsse.contains(&Bsse::Cp) {
        let mut bsse_corr = zero.clone();
        for nb in 1..=top {
            if nb == nfr {
                cp_body[nb] = diff(&cp_by[nb], &bsse_corr);
                continue;
            }
            inclusion_exclusion(&cp_by, nb, nfr, &mut cp_body[nb]);
            if nb == 1 {
                bsse_corr = diff(&cp_body[1], &monomer_sum);
                cp_body[1] = monomer_sum.clone();
            } else {
                sub_assign(&mut cp_body[nb], &bsse_corr);
            }
        }
    }
    if bsse.contains(&Bsse::Nocp) {
        for nb in 1..=top {
            if nb == nfr {
                nocp_body[nb] = nocp_by[nb].clone();
                continue;
            }
            inclusion_exclusion(&nocp_by, nb, nfr, &mut nocp_body[nb]);
        }
    }
    if bsse.contains(&Bsse::Vmfc) {
        for &nb in &nbodies {
            for v in vmfc_by.iter().take(nb + 1).skip(1) {
                add_scaled(&mut vmfc_body[nb], 1.0, v);
            }
        }
    }
    let mut out = BTreeMap::new();
    out.insert(Bsse::Cp, cp_body);
    out.insert(Bsse::Nocp, nocp_body);
    out.insert(Bsse::Vmfc, vmfc_body);
    out
}

/// `_analyze` for one property: the return value and the cumulative body dict per bsse type
/// (entries in QCManyBody's insertion order).
fn analyze_property(
    d: &Data<'_>,
    prop: Prop,
    len: usize,
) -> Result<(Vec<f64>, BodyDict), MbeError> {
    let exp = d.exp;
    let s = &exp.settings;
    let mut result = vec![0.0; len];
    let mut contribution: BodyDict = s.bsse.iter().map(|b| (*b, Vec::new())).collect();

    let mut ordered: Vec<(&McLevel, &ComputeDict)> = s
        .levels
        .iter()
        .zip(&exp.compute)
        .filter(|(l, _)| !l.supersystem)
        .collect();
    ordered.sort_by(|a, b| b.0.nbodies.cmp(&a.0.nbodies));

    for (level, dict) in ordered {
        let asm = assemble_mc(d, prop, level, dict, len);
        for &n in level.nbodies.iter().rev() {
            let mut per_bt: BTreeMap<Bsse, Vec<f64>> = BTreeMap::new();
            for &bt in &s.bsse {
                let mut v = vec![0.0; len];
                for m in [n - 1, n] {
                    if m == 0 {
                        continue;
                    }
                    let sign = if m == n { 1.0 } else { -1.0 };
                    add_scaled(&mut v, sign, &asm[&bt][m]);
                }
                per_bt.insert(bt, v);
            }
            add_scaled(&mut result, 1.0, &per_bt[&s.return_bsse]);
            for &bt in &s.bsse {
                if let Some(list) = contribution.get_mut(&bt) {
                    list.push((n, per_bt[&bt].clone()));
                }
            }
        }
    }

    if let Some(ss_label) = &s.supersystem {
        let (model, (level, dict)) = s
            .levels
            .iter()
            .zip(&exp.compute)
            .enumerate()
            .find(|(_, (l, _))| l.supersystem)
            .ok_or_else(|| {
                MbeError::field(
                    "specification.keywords.levels",
                    "supersystem",
                    "internal: no supersystem level",
                )
            })?;
        let asm = assemble_mc(d, prop, level, dict, len);
        let all: Vec<u32> = (1..=s.nfragments as u32).collect();
        let ss_id = exp.table.find(model as u32, &all, &all).ok_or_else(|| {
            let all: Vec<usize> = (1..=s.nfragments).collect();
            MbeError::MissingComponents {
                count: 1,
                labels: crate::label::Label::new(ss_label.clone(), all.clone(), all).to_string(),
            }
        })?;
        let ss_result = d.sum(prop, [ss_id], None, len);
        let v = diff(&ss_result, &asm[&Bsse::Nocp][s.max_nbody]);
        add_scaled(&mut result, 1.0, &v);
        for &bt in &s.bsse {
            if let Some(list) = contribution.get_mut(&bt) {
                if let Some(entry) = list.iter_mut().find(|(k, _)| *k == s.nfragments) {
                    entry.1 = v.clone();
                } else {
                    list.push((s.nfragments, v.clone()));
                }
            }
        }
    }

    let mut body: BodyDict = BTreeMap::new();
    for &bt in &s.bsse {
        let contribs = &contribution[&bt];
        let mut entries = Vec::new();
        for (n, _) in contribs {
            let mut acc = vec![0.0; len];
            for i in 1..=*n {
                if let Some((_, c)) = contribs.iter().find(|(k, _)| *k == i) {
                    add_scaled(&mut acc, 1.0, c);
                }
            }
            entries.push((*n, acc));
        }
        body.insert(bt, entries);
    }

    if !s.return_total_data {
        if let Some((_, one)) = body[&s.return_bsse].iter().find(|(k, _)| *k == 1) {
            sub_assign(&mut result, one);
        }
    }
    Ok((result, body))
}
