//! Which component calculations a many-body expansion needs: the same sets as QCManyBody's
//! `build_nbody_compute_list`, for each bsse treatment and n-body level.

use std::collections::{BTreeMap, BTreeSet};

use crate::settings::{Bsse, MbeSettings};

/// `(real fragments, basis fragments)`, 1-based, ascending.
pub type FragBas = (Vec<usize>, Vec<usize>);

/// n-body level → set of `(real, basis)` computations.
pub type ComputeList = BTreeMap<usize, BTreeSet<FragBas>>;

/// The compute lists of one model chemistry, keyed like QCManyBody's `compute_dict`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ComputeDict {
    /// Everything this model chemistry must compute.
    pub all: ComputeList,
    pub cp: ComputeList,
    pub nocp: ComputeList,
    pub vmfc_compute: ComputeList,
    pub vmfc_levels: ComputeList,
}

/// All `k`-combinations of `items`, in lexicographic order (like `itertools.combinations`).
pub fn combinations(items: &[usize], k: usize) -> Vec<Vec<usize>> {
    let n = items.len();
    let mut out = Vec::new();
    if k > n {
        return out;
    }
    let mut idx: Vec<usize> = (0..k).collect();
    loop {
        out.push(idx.iter().map(|&i| items[i]).collect());
        // find the rightmost index that can still move
        let mut i = k;
        loop {
            if i == 0 {
                return out;
            }
            i -= 1;
            if idx[i] != i + n - k {
                break;
            }
            if i == 0 {
                return out;
            }
        }
        idx[i] += 1;
        for j in i + 1..k {
            idx[j] = idx[j - 1] + 1;
        }
    }
}

/// Compute lists for one model chemistry covering `nbodies` (plus the supersystem correction when
/// `supersystem` is true), exactly as QCManyBody's `build_nbody_compute_list` builds them.
///
/// Never fails: `nbodies` are expected to lie in `1..=nfragments` (as [`crate::settings::settings`] ensures).
pub fn build_nbody_compute_list(
    bsse: &[Bsse],
    nfragments: usize,
    nbodies: &[usize],
    supersystem: bool,
    return_total_data: bool,
    supersystem_ie_only: bool,
    supersystem_max_nbody: usize,
) -> ComputeDict {
    let frags: Vec<usize> = (1..=nfragments).collect();
    let mut cp: ComputeList = nbodies.iter().map(|&nb| (nb, BTreeSet::new())).collect();
    let mut nocp = cp.clone();
    let mut vmfc_compute = cp.clone();
    let mut vmfc_levels = cp.clone();

    if bsse.contains(&Bsse::Cp) {
        let basis = frags.clone();
        if supersystem_ie_only {
            for sub in [1, nfragments] {
                for x in combinations(&frags, sub) {
                    cp.entry(nfragments).or_default().insert((x, basis.clone()));
                }
            }
        } else {
            // 1-body in the full basis cancels; monomers for totals use their own basis
            for &nb in nbodies.iter().filter(|&&nb| nb > 1) {
                for sub in 1..=nb {
                    for x in combinations(&frags, sub) {
                        cp.entry(nb).or_default().insert((x, basis.clone()));
                    }
                }
            }
        }
    }

    if bsse.contains(&Bsse::Nocp) {
        if supersystem_ie_only {
            for sub in [1, nfragments] {
                for x in combinations(&frags, sub) {
                    nocp.entry(nfragments).or_default().insert((x.clone(), x));
                }
            }
        } else {
            for &nb in nbodies {
                for sub in 1..=nb {
                    for x in combinations(&frags, sub) {
                        nocp.entry(nb).or_default().insert((x.clone(), x));
                    }
                }
            }
        }
    }

    if bsse.contains(&Bsse::Vmfc) {
        for &nb in nbodies {
            for combo in combinations(&frags, nb) {
                for interior in 1..=nb {
                    for x in combinations(&combo, interior) {
                        let item = (x, combo.clone());
                        vmfc_compute.entry(nb).or_default().insert(item.clone());
                        vmfc_levels.entry(combo.len()).or_default().insert(item);
                    }
                }
            }
        }
    }

    if return_total_data && nbodies.contains(&1) {
        let set = nocp.entry(1).or_default();
        for f in 1..=nfragments {
            set.insert((vec![f], vec![f]));
        }
    }

    if supersystem {
        for nb in 1..=supersystem_max_nbody {
            cp.entry(nb).or_default();
            vmfc_compute.entry(nb).or_default();
            let set = nocp.entry(nb).or_default();
            for sub in 1..=nb {
                for x in combinations(&frags, sub) {
                    set.insert((x.clone(), x));
                }
            }
        }
        nocp.entry(nfragments)
            .or_default()
            .insert((frags.clone(), frags.clone()));
    }

    let mut all: ComputeList = BTreeMap::new();
    for &nb in nbodies {
        let set = all.entry(nb).or_default();
        for src in [&cp, &nocp, &vmfc_compute] {
            if let Some(s) = src.get(&nb) {
                set.extend(s.iter().cloned());
            }
        }
    }
    if supersystem {
        for (nb, s) in &nocp {
            all.entry(*nb).or_default().extend(s.iter().cloned());
        }
    }

    ComputeDict {
        all,
        cp,
        nocp,
        vmfc_compute,
        vmfc_levels,
    }
}

/// The compute lists of every model chemistry, in the order of `settings.levels`.
pub fn compute_map(settings: &MbeSettings) -> Vec<(String, ComputeDict)> {
    settings
        .levels
        .iter()
        .map(|lvl| {
            (
                lvl.label.clone(),
                build_nbody_compute_list(
                    &settings.bsse,
                    settings.nfragments,
                    &lvl.nbodies,
                    lvl.supersystem,
                    settings.return_total_data,
                    settings.supersystem_ie_only,
                    settings.max_nbody,
                ),
            )
        })
        .collect()
}

/// Most component calculations a plan may hold; beyond this [`crate::plan()`] refuses the input
/// (the enumeration alone would exhaust memory long before anything could run).
pub const MAX_COMPONENTS: u128 = 2_000_000;

fn binomial(n: usize, k: usize) -> u128 {
    if k > n {
        return 0;
    }
    let k = k.min(n - k);
    let mut c: u128 = 1;
    for i in 0..k {
        // c * (n - i) is divisible by (i + 1) at every step
        c = match c.checked_mul((n - i) as u128) {
            Some(x) => x / (i + 1) as u128,
            None => return u128::MAX,
        };
    }
    c
}

/// An upper bound on the number of distinct component calculations of `settings` (sums of
/// binomial coefficients, saturating). Never fails.
pub fn estimated_components(settings: &MbeSettings) -> u128 {
    let nfr = settings.nfragments;
    let mut total: u128 = 0;
    let upto = |top: usize| -> u128 {
        (1..=top).fold(0u128, |acc, k| acc.saturating_add(binomial(nfr, k)))
    };
    for lvl in &settings.levels {
        if lvl.supersystem {
            total = total
                .saturating_add(upto(settings.max_nbody))
                .saturating_add(1);
        }
        let top = lvl.nbodies.iter().max().copied().unwrap_or(0);
        let per_basis = upto(top);
        for b in &settings.bsse {
            let n = match b {
                Bsse::Nocp | Bsse::Cp => per_basis,
                Bsse::Vmfc => lvl.nbodies.iter().fold(0u128, |acc, &nb| {
                    let subsets = 1u128.checked_shl(nb as u32).map_or(u128::MAX, |x| x - 1);
                    acc.saturating_add(binomial(nfr, nb).saturating_mul(subsets))
                }),
            };
            total = total.saturating_add(n);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_like_itertools() {
        assert_eq!(
            combinations(&[1, 2, 3, 4], 2),
            vec![
                vec![1, 2],
                vec![1, 3],
                vec![1, 4],
                vec![2, 3],
                vec![2, 4],
                vec![3, 4]
            ]
        );
        assert_eq!(combinations(&[1, 2, 3], 3), vec![vec![1, 2, 3]]);
        assert_eq!(combinations(&[1, 2, 3], 0), vec![Vec::<usize>::new()]);
        assert!(combinations(&[1, 2], 3).is_empty());
        assert_eq!(combinations(&(1..=10).collect::<Vec<_>>(), 3).len(), 120);
    }

    #[test]
    fn binomials() {
        assert_eq!(binomial(10, 3), 120);
        assert_eq!(binomial(4, 0), 1);
        assert_eq!(binomial(3, 4), 0);
        assert_eq!(binomial(100, 50), 100891344545564193334812497256);
        assert_eq!(binomial(1000, 500), u128::MAX);
    }
}
