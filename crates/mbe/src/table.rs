//! The distinct component calculations of an expansion in compact form: a model chemistry index
//! and two ascending lists of 1-based fragments (real, basis), stored in one arena and found
//! again through an open-addressing hash table. No per-component allocation, no strings: the
//! enumeration and the assembly work on `u32` ids, and labels are only spelled on demand.

use std::fmt::Write as _;

use crate::label::python_json_string;

/// Marks an empty slot of the hash table.
const EMPTY: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rec {
    model: u32,
    /// Start of this entry's fragments in the arena: `nreal` real ones, then `nbasis` basis ones.
    start: usize,
    nreal: u32,
    nbasis: u32,
}

/// Distinct `(model, real fragments, basis fragments)` triples, each with a dense `u32` id
/// (ids are given in order of first insertion).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    frags: Vec<u32>,
    recs: Vec<Rec>,
    /// Open addressing: `(id, low 32 bits of its hash)`, id [`EMPTY`] for a free slot.
    slots: Vec<(u32, u32)>,
}

fn hash(model: u32, real: &[u32], basis: &[u32]) -> u64 {
    // FxHash-style mixing; the lengths keep ([1], [1, 2]) and ([1, 1], [2]) apart
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = (u64::from(model) ^ ((real.len() as u64) << 32)).wrapping_mul(K);
    for &f in real.iter().chain(basis) {
        h = (h.rotate_left(5) ^ u64::from(f)).wrapping_mul(K);
    }
    h
}

/// Slot of hash `h` in a table of `size` (a power of two) slots: the top bits of the product,
/// which depend on every input bit.
fn home(h: u64, size: usize) -> usize {
    if size <= 1 {
        return 0;
    }
    (h >> (64 - size.trailing_zeros())) as usize
}

impl Table {
    /// Number of distinct entries.
    pub fn len(&self) -> usize {
        self.recs.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    /// Model chemistry index of entry `id`.
    pub fn model(&self, id: u32) -> u32 {
        self.recs[id as usize].model
    }

    /// Real fragments (1-based, ascending) of entry `id`.
    pub fn real(&self, id: u32) -> &[u32] {
        let r = &self.recs[id as usize];
        &self.frags[r.start..r.start + r.nreal as usize]
    }

    /// Basis fragments (real + ghost; 1-based, ascending) of entry `id`.
    pub fn basis(&self, id: u32) -> &[u32] {
        let r = &self.recs[id as usize];
        let b = r.start + r.nreal as usize;
        &self.frags[b..b + r.nbasis as usize]
    }

    /// Number of real fragments of entry `id` (its n-body level).
    pub fn nreal(&self, id: u32) -> usize {
        self.recs[id as usize].nreal as usize
    }

    /// Number of basis fragments of entry `id`.
    pub fn nbasis(&self, id: u32) -> usize {
        self.recs[id as usize].nbasis as usize
    }

    fn same(&self, id: u32, model: u32, real: &[u32], basis: &[u32]) -> bool {
        let r = &self.recs[id as usize];
        let same_len =
            r.model == model && r.nreal as usize == real.len() && r.nbasis as usize == basis.len();
        same_len
            && self.frags[r.start..r.start + real.len() + basis.len()]
                .iter()
                .zip(real.iter().chain(basis))
                .all(|(a, b)| a == b)
    }

    /// `(slot, id)`: where `(model, real, basis)` is, or the free slot where it would go.
    fn slot_of(&self, h: u64, model: u32, real: &[u32], basis: &[u32]) -> (usize, Option<u32>) {
        let mask = self.slots.len() - 1;
        let mut i = home(h, self.slots.len());
        loop {
            match self.slots[i] {
                (EMPTY, _) => return (i, None),
                (id, tag) if tag == h as u32 && self.same(id, model, real, basis) => {
                    return (i, Some(id))
                }
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// The id of `(model, real, basis)`, if present. Never fails.
    pub fn find(&self, model: u32, real: &[u32], basis: &[u32]) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        self.slot_of(hash(model, real, basis), model, real, basis).1
    }

    /// The id of `(model, real, basis)`, added if new. Never fails (fragment lists are expected
    /// ascending, `real` a subset of `basis`, as the enumeration makes them).
    pub fn insert(&mut self, model: u32, real: &[u32], basis: &[u32]) -> u32 {
        if 2 * (self.recs.len() + 1) > self.slots.len() {
            self.rehash((2 * self.slots.len()).max(64));
        }
        let h = hash(model, real, basis);
        let (slot, found) = self.slot_of(h, model, real, basis);
        if let Some(id) = found {
            return id;
        }
        let id = self.recs.len() as u32;
        self.recs.push(Rec {
            model,
            start: self.frags.len(),
            nreal: real.len() as u32,
            nbasis: basis.len() as u32,
        });
        self.frags.extend_from_slice(real);
        self.frags.extend_from_slice(basis);
        self.slots[slot] = (id, h as u32);
        id
    }

    fn rehash(&mut self, size: usize) {
        self.slots = vec![(EMPTY, 0); size];
        let mask = size - 1;
        for id in 0..self.recs.len() as u32 {
            let h = hash(self.model(id), self.real(id), self.basis(id));
            let mut i = home(h, size);
            while self.slots[i].0 != EMPTY {
                i = (i + 1) & mask;
            }
            self.slots[i] = (id, h as u32);
        }
    }

    /// Appends entry `id`'s QCManyBody label (`["model", [1], [1, 2]]`) to `out`, with the
    /// model's name already spelled by [`python_json_string`].
    pub fn write_label(&self, id: u32, model_json: &str, out: &mut String) {
        let list = |v: &[u32], out: &mut String| {
            out.push('[');
            for (i, f) in v.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{f}");
            }
            out.push(']');
        };
        out.push('[');
        out.push_str(model_json);
        out.push_str(", ");
        list(self.real(id), out);
        out.push_str(", ");
        list(self.basis(id), out);
        out.push(']');
    }

    /// The id of the entry whose label is exactly `text` (spelled byte for byte as
    /// [`Table::write_label`] writes it; `models_json` are the models' spelled names by index).
    /// Any other text, or a label not in the table, gives `None`. Never fails.
    pub fn find_label(
        &self,
        text: &str,
        models_json: &[String],
        scratch: &mut Vec<u32>,
    ) -> Option<u32> {
        let rest = text.strip_prefix('[')?;
        let (model, rest) = models_json
            .iter()
            .enumerate()
            .find_map(|(i, m)| rest.strip_prefix(m.as_str()).map(|r| (i as u32, r)))?;
        scratch.clear();
        let rest = parse_list(rest.strip_prefix(", ")?, scratch)?;
        let nreal = scratch.len();
        let rest = parse_list(rest.strip_prefix(", ")?, scratch)?;
        if rest != "]" {
            return None;
        }
        let (real, basis) = scratch.split_at(nreal);
        self.find(model, real, basis)
    }
}

/// Parses `[1, 2, 3]` (canonical spelling: `", "` separators, no leading zeros) into `out`;
/// returns the text after the `]`.
fn parse_list<'a>(text: &'a str, out: &mut Vec<u32>) -> Option<&'a str> {
    let b = text.as_bytes();
    if b.first() != Some(&b'[') {
        return None;
    }
    let mut i = 1;
    if b.get(i) == Some(&b']') {
        return Some(&text[2..]);
    }
    loop {
        let start = i;
        let mut v: u32 = 0;
        while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            v = v.checked_mul(10)?.checked_add(u32::from(d - b'0'))?;
            i += 1;
        }
        if i == start || (b[start] == b'0') {
            return None;
        }
        out.push(v);
        match b.get(i) {
            Some(b']') => return Some(&text[i + 1..]),
            Some(b',') if b.get(i + 1) == Some(&b' ') => i += 2,
            _ => return None,
        }
    }
}

/// A model chemistry label as it appears inside component labels.
pub fn model_json(model: &str) -> String {
    python_json_string(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_find_and_labels_round_trip() {
        let mut t = Table::default();
        let a = t.insert(0, &[1], &[1, 2]);
        let b = t.insert(0, &[1, 2], &[1, 2]);
        let c = t.insert(1, &[1], &[1, 2]);
        assert_eq!((a, b, c), (0, 1, 2));
        assert_eq!(t.insert(0, &[1], &[1, 2]), a);
        assert_eq!(t.find(0, &[2], &[1, 2]), None);
        for i in 0..1000u32 {
            t.insert(2, &[i + 1], &[i + 1, i + 2]);
        }
        assert_eq!(t.len(), 1003);
        assert_eq!(t.find(2, &[500], &[500, 501]), Some(502));
        let models = vec![model_json("mp2"), model_json("(auto)"), model_json("é")];
        let mut scratch = Vec::new();
        for id in 0..t.len() as u32 {
            let mut s = String::new();
            t.write_label(id, &models[t.model(id) as usize], &mut s);
            assert_eq!(t.find_label(&s, &models, &mut scratch), Some(id), "{s}");
        }
        let mut s = String::new();
        t.write_label(a, &models[0], &mut s);
        assert_eq!(s, r#"["mp2", [1], [1, 2]]"#);
        for bad in [
            r#"["mp2", [1], [1,2]]"#,
            r#"["mp2", [01], [1, 2]]"#,
            r#"["mp2", [1], [1, 2]] "#,
            r#"["mp2",[1],[1, 2]]"#,
            r#"["mp3", [1], [1, 2]]"#,
            r#"["mp2", [2], [1, 2]]"#,
            r#"["mp2", [99999999999], [1, 2]]"#,
            "",
            "[",
        ] {
            assert_eq!(t.find_label(bad, &models, &mut scratch), None, "{bad}");
        }
    }
}
