//! Which component calculations a many-body expansion needs: the same sets as QCManyBody's
//! `build_nbody_compute_list`, for each bsse treatment and n-body level.

use std::collections::BTreeMap;

use crate::settings::{Bsse, MbeSettings};
use crate::table::Table;

/// n-body level → ids (in the expansion's [`Table`]) of the `(real, basis)` computations,
/// ascending and distinct (a set, as QCManyBody's).
pub type ComputeList = BTreeMap<usize, Vec<u32>>;

/// The compute lists of one model chemistry, keyed like QCManyBody's `compute_dict`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ComputeDict {
    pub cp: ComputeList,
    pub nocp: ComputeList,
    pub vmfc_compute: ComputeList,
    pub vmfc_levels: ComputeList,
}

/// Calls `f` with every `k`-combination of `items`, in lexicographic order (like
/// `itertools.combinations`), reusing one buffer.
pub fn for_each_combination(items: &[u32], k: usize, mut f: impl FnMut(&[u32])) {
    let n = items.len();
    if k > n {
        return;
    }
    let mut idx: Vec<usize> = (0..k).collect();
    let mut buf: Vec<u32> = idx.iter().map(|&i| items[i]).collect();
    loop {
        f(&buf);
        // find the rightmost index that can still move
        let mut i = k;
        loop {
            if i == 0 {
                return;
            }
            i -= 1;
            if idx[i] != i + n - k {
                break;
            }
            if i == 0 {
                return;
            }
        }
        idx[i] += 1;
        buf[i] = items[idx[i]];
        for j in i + 1..k {
            idx[j] = idx[j - 1] + 1;
            buf[j] = items[idx[j]];
        }
    }
}

/// All `k`-combinations of `items`, in lexicographic order (like `itertools.combinations`).
pub fn combinations(items: &[u32], k: usize) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    for_each_combination(items, k, |c| out.push(c.to_vec()));
    out
}

/// What [`build_nbody_compute_list`] needs to know about the expansion besides the level.
#[derive(Debug, Clone, Copy)]
pub struct ListOptions<'a> {
    pub bsse: &'a [Bsse],
    pub nfragments: usize,
    pub return_total_data: bool,
    pub supersystem_ie_only: bool,
    pub supersystem_max_nbody: usize,
}

/// Compute lists for model chemistry `model` covering `nbodies` (plus the supersystem correction
/// when `supersystem` is true), exactly as QCManyBody's `build_nbody_compute_list` builds them;
/// every computation is added to `table`.
///
/// Never fails: `nbodies` are expected to lie in `1..=nfragments` (as [`crate::settings::settings`] ensures).
pub fn build_nbody_compute_list(
    table: &mut Table,
    model: u32,
    nbodies: &[usize],
    supersystem: bool,
    o: &ListOptions<'_>,
) -> ComputeDict {
    let nfr = o.nfragments;
    let frags: Vec<u32> = (1..=nfr as u32).collect();
    let empty: ComputeList = nbodies.iter().map(|&nb| (nb, Vec::new())).collect();
    let mut cp = empty.clone();
    let mut nocp = empty.clone();
    let mut vmfc_compute = empty.clone();
    let mut vmfc_levels = empty;

    // (x, basis) for every x of each size in `sizes`
    let add = |list: &mut Vec<u32>, sizes: &[usize], own_basis: bool, t: &mut Table| {
        for &sub in sizes {
            for_each_combination(&frags, sub, |x| {
                let basis = if own_basis { x } else { &frags[..] };
                list.push(t.insert(model, x, basis));
            });
        }
    };
    let ie_sizes = [1, nfr];

    if o.bsse.contains(&Bsse::Cp) {
        if o.supersystem_ie_only {
            add(cp.entry(nfr).or_default(), &ie_sizes, false, table);
        } else {
            // 1-body in the full basis cancels; monomers for totals use their own basis
            for &nb in nbodies.iter().filter(|&&nb| nb > 1) {
                let sizes: Vec<usize> = (1..=nb).collect();
                add(cp.entry(nb).or_default(), &sizes, false, table);
            }
        }
    }

    if o.bsse.contains(&Bsse::Nocp) {
        if o.supersystem_ie_only {
            add(nocp.entry(nfr).or_default(), &ie_sizes, true, table);
        } else {
            for &nb in nbodies {
                let sizes: Vec<usize> = (1..=nb).collect();
                add(nocp.entry(nb).or_default(), &sizes, true, table);
            }
        }
    }

    if o.bsse.contains(&Bsse::Vmfc) {
        for &nb in nbodies {
            let mut ids = Vec::new();
            for_each_combination(&frags, nb, |combo| {
                for interior in 1..=nb {
                    for_each_combination(combo, interior, |x| {
                        ids.push(table.insert(model, x, combo));
                    });
                }
            });
            vmfc_compute.entry(nb).or_default().extend_from_slice(&ids);
            // keyed by the basis size, which is nb
            vmfc_levels.entry(nb).or_default().extend(ids);
        }
    }

    if o.return_total_data && nbodies.contains(&1) {
        add(nocp.entry(1).or_default(), &[1], true, table);
    }

    if supersystem {
        for nb in 1..=o.supersystem_max_nbody {
            cp.entry(nb).or_default();
            vmfc_compute.entry(nb).or_default();
            let sizes: Vec<usize> = (1..=nb).collect();
            add(nocp.entry(nb).or_default(), &sizes, true, table);
        }
        let all = table.insert(model, &frags, &frags);
        nocp.entry(nfr).or_default().push(all);
    }

    for list in [&mut cp, &mut nocp, &mut vmfc_compute, &mut vmfc_levels] {
        for ids in list.values_mut() {
            ids.sort_unstable();
            ids.dedup();
        }
    }
    ComputeDict {
        cp,
        nocp,
        vmfc_compute,
        vmfc_levels,
    }
}

/// The distinct computations of every model chemistry (model index = position in
/// `settings.levels`) and their compute lists, in the order of `settings.levels`.
pub fn compute_map(settings: &MbeSettings) -> (Table, Vec<ComputeDict>) {
    let mut table = Table::default();
    let o = ListOptions {
        bsse: &settings.bsse,
        nfragments: settings.nfragments,
        return_total_data: settings.return_total_data,
        supersystem_ie_only: settings.supersystem_ie_only,
        supersystem_max_nbody: settings.max_nbody,
    };
    let dicts = settings
        .levels
        .iter()
        .enumerate()
        .map(|(i, lvl)| {
            build_nbody_compute_list(&mut table, i as u32, &lvl.nbodies, lvl.supersystem, &o)
        })
        .collect();
    (table, dicts)
}

/// Most component calculations a plan may hold; beyond this [`crate::plan()`] refuses the input.
/// 100,000 quantum-chemistry jobs is far beyond any expansion worth running (and an all-body
/// expansion of 20 fragments, a million components, took 30 s just to plan in a debug build:
/// the fuzzer's hang).
pub const MAX_COMPONENTS: u128 = 100_000;

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
        assert_eq!(combinations(&[1, 2, 3], 0), vec![Vec::<u32>::new()]);
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
