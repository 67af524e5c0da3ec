//! Assembly: from the component results, the total and interaction energies, gradients and
//! hessians for each bsse treatment and n-body level — the same numbers, keys and operation
//! order as QCManyBody's `ManyBodyCore.analyze` (`_analyze`, `_assemble_nbody_components`).
//! Sums of component data use the exact [`crate::fsum::fsum`], as QCManyBody's `math.fsum`
//! does for energies.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{json, Value};

use crate::collect::collect_vars;
use crate::enumerate::{ComputeDict, FragBas};
use crate::error::MbeError;
use crate::fsum::fsum_vectors;
use crate::plan::{Component, Plan};
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
/// Results for labels not in the plan are ignored. Fails with [`MbeError::MissingComponents`]
/// naming every planned label without a result; [`MbeError::MissingProperty`] naming every
/// component without a gradient (hessian) when the driver needs it or other components have
/// one; [`MbeError::BadComponent`] for a gradient/hessian of the wrong length for the component's
/// atoms or a non-finite number.
pub fn analyze(
    plan: &Plan,
    results: &BTreeMap<String, ComponentResult>,
) -> Result<ManyBodyOutcome, MbeError> {
    let s = &plan.settings;
    let missing: Vec<&str> = plan
        .components
        .iter()
        .filter(|c| !results.contains_key(&c.label))
        .map(|c| c.label.as_str())
        .collect();
    if !missing.is_empty() {
        let mut sorted = missing.clone();
        sorted.sort();
        return Err(MbeError::MissingComponents {
            count: sorted.len(),
            labels: sorted.join(", "),
        });
    }

    let props = choose_properties(plan, results)?;

    // check, and expand gradients/hessians to the full system
    let n = s.natom;
    let mut data: BTreeMap<&'static str, HashMap<&str, HashMap<FragBas, Vec<f64>>>> =
        BTreeMap::new();
    for c in &plan.components {
        let r = &results[&c.label];
        if !r.energy.is_finite() {
            return Err(MbeError::BadComponent {
                label: c.label.clone(),
                property: "energy".into(),
                problem: format!("{} is not a finite number", r.energy),
            });
        }
        let key = (c.real.clone(), c.basis.clone());
        for &prop in &props {
            let value = expand(c, r, prop, n)?;
            data.entry(prop.as_str())
                .or_default()
                .entry(c.model.as_str())
                .or_default()
                .insert(key.clone(), value);
        }
    }

    let empty: HashMap<&str, HashMap<FragBas, Vec<f64>>> = HashMap::new();
    let mut body_dicts: BTreeMap<&'static str, BodyDict> = BTreeMap::new();
    let mut rets: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    for &prop in &props {
        let len = match prop {
            Prop::Energy => 1,
            Prop::Gradient => 3 * n,
            Prop::Hessian => 9 * n * n,
        };
        let pdata = data.get(prop.as_str()).unwrap_or(&empty);
        let (ret, body) = analyze_property(plan, pdata, len)?;
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
    properties.insert("calcinfo_nmbe".into(), json!(plan.components.len()));
    properties.insert(
        "nuclear_repulsion_energy".into(),
        json!(nuclear_repulsion(plan)),
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
        nbody_number: plan.components.len(),
        nfragments: s.nfragments,
        natom: s.natom,
        max_nbody: s.max_nbody,
        supersystem_ie_only: s.supersystem_ie_only,
        levels: s.levels.clone(),
    })
}

/// Energy always; gradient (hessian) when the driver needs it or any component has one — then
/// every component must have it.
fn choose_properties(
    plan: &Plan,
    results: &BTreeMap<String, ComponentResult>,
) -> Result<Vec<Prop>, MbeError> {
    let s = &plan.settings;
    let mut props = vec![Prop::Energy];
    for (prop, needed) in [
        (Prop::Gradient, s.driver == Driver::Gradient),
        (Prop::Hessian, s.driver == Driver::Hessian),
    ] {
        let has = |c: &&Component| {
            results.get(&c.label).is_some_and(|r| match prop {
                Prop::Gradient => r.gradient.is_some(),
                _ => r.hessian.is_some(),
            })
        };
        let any = plan.components.iter().any(|c| has(&c));
        if any || needed {
            let mut lacking: Vec<&str> = plan
                .components
                .iter()
                .filter(|c| !has(c))
                .map(|c| c.label.as_str())
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

/// One component's property as a full-system array: gradients (natom × 3) and hessians
/// (3·natom × 3·natom) of the component's atoms, ghosts included, are placed at the rows and
/// columns of those atoms in the whole molecule (QCManyBody's `resize_gradient`/`resize_hessian`).
fn expand(c: &Component, r: &ComponentResult, prop: Prop, n: usize) -> Result<Vec<f64>, MbeError> {
    let bad = |problem: String| MbeError::BadComponent {
        label: c.label.clone(),
        property: prop.as_str().into(),
        problem,
    };
    let nat = c.natom();
    let (values, expected) = match prop {
        Prop::Energy => return Ok(vec![r.energy]),
        Prop::Gradient => (r.gradient.as_deref().unwrap_or(&[]), 3 * nat),
        Prop::Hessian => (r.hessian.as_deref().unwrap_or(&[]), 9 * nat * nat),
    };
    if values.len() != expected {
        let shape = match prop {
            Prop::Gradient => format!("{nat} atoms × 3"),
            _ => format!("{m} × {m} for {nat} atoms", m = 3 * nat),
        };
        return Err(bad(format!(
            "{} numbers, expected {expected} ({shape}, ghosts included, in basis-fragment order)",
            values.len()
        )));
    }
    if values.iter().any(|x| !x.is_finite()) {
        return Err(bad("holds a non-finite number".into()));
    }
    if prop == Prop::Gradient {
        let mut full = vec![0.0; 3 * n];
        for (i, &a) in c.parent_atoms.iter().enumerate() {
            full[3 * a..3 * a + 3].copy_from_slice(&values[3 * i..3 * i + 3]);
        }
        return Ok(full);
    }
    let (m, nn) = (3 * nat, 3 * n);
    let mut full = vec![0.0; nn * nn];
    for (i, &a) in c.parent_atoms.iter().enumerate() {
        for (j, &b) in c.parent_atoms.iter().enumerate() {
            for x in 0..3 {
                let src = (3 * i + x) * m + 3 * j;
                let dst = (3 * a + x) * nn + 3 * b;
                full[dst..dst + 3].copy_from_slice(&values[src..src + 3]);
            }
        }
    }
    Ok(full)
}

/// Nuclear repulsion of the real atoms of the whole molecule, in Eh (same loop as qcelemental).
fn nuclear_repulsion(plan: &Plan) -> f64 {
    let s = &plan.settings;
    let g = &plan.input.molecule.geometry;
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

/// `sum_cluster_data`: exact sum of the listed components (VMFC: alternating sign by n-body).
fn sum_cluster(
    data: &HashMap<FragBas, Vec<f64>>,
    list: impl IntoIterator<Item = FragBas>,
    model: &str,
    vmfc_nb: Option<usize>,
    len: usize,
) -> Result<Vec<f64>, MbeError> {
    let mut terms: Vec<(f64, &[f64])> = Vec::new();
    for fb in list {
        let v = data.get(&fb).ok_or_else(|| MbeError::MissingComponents {
            count: 1,
            labels: crate::label::Label::new(model, fb.0.clone(), fb.1.clone()).to_string(),
        })?;
        let w = match vmfc_nb {
            Some(nb) if (nb - fb.0.len()) % 2 == 1 => -1.0,
            _ => 1.0,
        };
        terms.push((w, v.as_slice()));
    }
    Ok(fsum_vectors(terms, len))
}

/// `_assemble_nbody_components` for one model chemistry: cumulative body dicts (index = n-body)
/// for cp, nocp and vmfc.
fn assemble_mc(
    s: &MbeSettings,
    level: &McLevel,
    dict: &ComputeDict,
    data: &HashMap<FragBas, Vec<f64>>,
    len: usize,
) -> Result<BTreeMap<Bsse, Vec<Vec<f64>>>, MbeError> {
    let (nbodies, bsse): (Vec<usize>, Vec<Bsse>) = if level.supersystem {
        ((1..=s.max_nbody).collect(), vec![Bsse::Nocp])
    } else {
        (level.nbodies.clone(), s.bsse.clone())
    };
    let top = nbodies.last().copied().unwrap_or(0);
    let nfr = s.nfragments;
    let zero = vec![0.0; len];

    let mut cp_list: Vec<BTreeSet<FragBas>> = vec![BTreeSet::new(); top + 1];
    let mut nocp_list: Vec<BTreeSet<FragBas>> = vec![BTreeSet::new(); top + 1];
    for nb in &nbodies {
        if let Some(set) = dict.cp.get(nb) {
            for v in set.iter().filter(|v| v.1.len() != 1 && v.0.len() <= top) {
                cp_list[v.0.len()].insert(v.clone());
            }
        }
        if let Some(set) = dict.nocp.get(nb) {
            for w in set.iter().filter(|w| w.0.len() <= top) {
                nocp_list[w.0.len()].insert(w.clone());
            }
        }
    }
    let mut cp_by = vec![zero.clone(); top + 1];
    let mut nocp_by = vec![zero.clone(); top + 1];
    let mut vmfc_by = vec![zero.clone(); top + 1];
    for nb in 1..=top {
        cp_by[nb] = sum_cluster(data, cp_list[nb].iter().cloned(), &level.label, None, len)?;
        nocp_by[nb] = sum_cluster(data, nocp_list[nb].iter().cloned(), &level.label, None, len)?;
        if let Some(set) = dict.vmfc_levels.get(&nb) {
            vmfc_by[nb] = sum_cluster(data, set.iter().cloned(), &level.label, Some(nb), len)?;
        }
    }
    let monomer_sum = if nbodies.contains(&1) {
        let monomers: Vec<FragBas> = dict
            .nocp
            .get(&1)
            .map(|set| set.iter().filter(|v| v.1.len() == 1).cloned().collect())
            .unwrap_or_default();
        sum_cluster(data, monomers, &level.label, None, len)?
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
    Ok(out)
}

/// `_analyze` for one property: the return value and the cumulative body dict per bsse type
/// (entries in QCManyBody's insertion order).
fn analyze_property(
    plan: &Plan,
    data: &HashMap<&str, HashMap<FragBas, Vec<f64>>>,
    len: usize,
) -> Result<(Vec<f64>, BodyDict), MbeError> {
    let s = &plan.settings;
    let empty = HashMap::new();
    let mut result = vec![0.0; len];
    let mut contribution: BodyDict = s.bsse.iter().map(|b| (*b, Vec::new())).collect();

    let mut ordered: Vec<(&McLevel, &ComputeDict)> = s
        .levels
        .iter()
        .filter(|l| !l.supersystem)
        .filter_map(|l| {
            plan.compute
                .iter()
                .find(|(mc, _)| *mc == l.label)
                .map(|(_, d)| (l, d))
        })
        .collect();
    ordered.sort_by(|a, b| b.0.nbodies.cmp(&a.0.nbodies));

    for (level, dict) in ordered {
        let mc_data = data.get(level.label.as_str()).unwrap_or(&empty);
        if mc_data.is_empty() && level.nbodies != [1] && dict.all.values().any(|s| !s.is_empty()) {
            return Err(MbeError::MissingComponents {
                count: 1,
                labels: format!("all components of model chemistry {:?}", level.label),
            });
        }
        let asm = assemble_mc(s, level, dict, mc_data, len)?;
        for &n in level.nbodies.iter().rev() {
            let mut per_bt: BTreeMap<Bsse, Vec<f64>> = BTreeMap::new();
            for &bt in &s.bsse {
                let mut d = vec![0.0; len];
                for m in [n - 1, n] {
                    if m == 0 {
                        continue;
                    }
                    let sign = if m == n { 1.0 } else { -1.0 };
                    add_scaled(&mut d, sign, &asm[&bt][m]);
                }
                per_bt.insert(bt, d);
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
        let level = s.levels.iter().find(|l| l.supersystem).ok_or_else(|| {
            MbeError::field(
                "specification.keywords.levels",
                "supersystem",
                "internal: no supersystem level",
            )
        })?;
        let dict = plan
            .compute
            .iter()
            .find(|(mc, _)| mc == ss_label)
            .map(|(_, d)| d)
            .ok_or_else(|| {
                MbeError::field(
                    "specification.keywords.levels",
                    "supersystem",
                    "internal: no compute list",
                )
            })?;
        let mc_data = data.get(ss_label.as_str()).unwrap_or(&empty);
        let asm = assemble_mc(s, level, dict, mc_data, len)?;
        let all: Vec<usize> = (1..=s.nfragments).collect();
        let ss_result = mc_data.get(&(all.clone(), all.clone())).ok_or_else(|| {
            MbeError::MissingComponents {
                count: 1,
                labels: crate::label::Label::new(ss_label.clone(), all.clone(), all).to_string(),
            }
        })?;
        let d = diff(ss_result, &asm[&Bsse::Nocp][s.max_nbody]);
        add_scaled(&mut result, 1.0, &d);
        for &bt in &s.bsse {
            if let Some(list) = contribution.get_mut(&bt) {
                if let Some(entry) = list.iter_mut().find(|(k, _)| *k == s.nfragments) {
                    entry.1 = d.clone();
                } else {
                    list.push((s.nfragments, d.clone()));
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
