//! QCManyBody's `collect_vars`: the named results (`cp_corrected_total_energy_through_2_body`,
//! `nocp_corrected_interaction_gradient`, …) from a cumulative body dict.

use std::collections::BTreeMap;

use crate::error::MbeError;
use crate::result::Quantity;
use crate::settings::{Bsse, MbeSettings};
use crate::vecops::diff;

/// `collect_vars`: the named results of one property and bsse type.
pub(crate) fn collect_vars(
    s: &MbeSettings,
    bt: Bsse,
    prop: &str,
    body: &[(usize, Vec<f64>)],
    out: &mut BTreeMap<String, Quantity>,
) -> Result<(), MbeError> {
    let get = |nb: usize| -> Result<&Vec<f64>, MbeError> {
        body.iter()
            .find(|(k, _)| *k == nb)
            .map(|(_, v)| v)
            .ok_or_else(|| MbeError::BadComponent {
                label: format!("{}-body {}", nb, bt.as_str()),
                property: prop.into(),
                problem: "no data for this n-body level (internal)".into(),
            })
    };
    let b = bt.as_str();
    let p = prop;
    let q = |v: Vec<f64>| Quantity::from_vec(prop == "energy", v);
    let one = get(1)?;
    let len = one.len();
    let tot = one.iter().any(|x| *x != 0.0);
    let mut range: Vec<usize> = body.iter().map(|(k, _)| *k).collect();
    range.sort_unstable();
    let max_nbody = s.max_nbody;
    let mut put = |k: String, v: Vec<f64>| {
        out.insert(k, q(v));
    };

    if tot {
        put(format!("{b}_corrected_total_{p}"), get(max_nbody)?.clone());
    }
    put(
        format!("{b}_corrected_interaction_{p}"),
        diff(get(max_nbody)?, one),
    );
    put(
        format!("{b}_corrected_interaction_{p}_through_1_body"),
        vec![0.0; len],
    );

    let nfr = range.last().copied().unwrap_or(1);
    if s.supersystem_ie_only {
        put(
            format!("{b}_corrected_interaction_{p}_through_{nfr}_body"),
            diff(get(nfr)?, one),
        );
        if nfr == 2 {
            put(
                format!("{b}_corrected_2_body_contribution_to_{p}"),
                diff(get(2)?, get(1)?),
            );
        }
        if tot {
            for nb in [1, nfr] {
                put(
                    format!("{b}_corrected_total_{p}_through_{nb}_body"),
                    get(nb)?.clone(),
                );
            }
        }
    } else if s.supersystem.is_some() {
        put(
            format!("{b}_corrected_interaction_{p}"),
            diff(get(nfr)?, one),
        );
        for nb in 2..=max_nbody {
            put(
                format!("{b}_corrected_interaction_{p}_through_{nb}_body"),
                diff(get(nb)?, one),
            );
            put(
                format!("{b}_corrected_{nb}_body_contribution_to_{p}"),
                diff(get(nb)?, get(nb - 1)?),
            );
        }
        put(
            format!("{b}_corrected_interaction_{p}_through_{nfr}_body"),
            diff(get(nfr)?, one),
        );
        put(
            format!("{b}_corrected_{nfr}_body_contribution_to_{p}"),
            diff(get(nfr)?, get(max_nbody)?),
        );
        if tot {
            put(format!("{b}_corrected_total_{p}"), get(nfr)?.clone());
            for &nb in &range {
                put(
                    format!("{b}_corrected_total_{p}_through_{nb}_body"),
                    get(nb)?.clone(),
                );
            }
        }
    } else {
        let top = range.last().copied().unwrap_or(1);
        for nb in 2..=top {
            put(
                format!("{b}_corrected_interaction_{p}_through_{nb}_body"),
                diff(get(nb)?, one),
            );
            put(
                format!("{b}_corrected_{nb}_body_contribution_to_{p}"),
                diff(get(nb)?, get(nb - 1)?),
            );
        }
        if tot {
            for &nb in &range {
                put(
                    format!("{b}_corrected_total_{p}_through_{nb}_body"),
                    get(nb)?.clone(),
                );
            }
        }
    }
    Ok(())
}
