//! Light checks of structure text (xyz, pdb, cif): enough to catch a wrong or
//! truncated file before a calculation is submitted. Pure; never panics.

use serde::Serialize;

/// One atom of an xyz structure; coordinates are kept as written (no precision lost).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct XyzAtom {
    /// Element symbol (or label) as written.
    pub symbol: String,
    /// x coordinate text.
    pub x: String,
    /// y coordinate text.
    pub y: String,
    /// z coordinate text.
    pub z: String,
}

/// Parses xyz text: an atom count line, a comment line, then that many atom lines
/// `symbol x y z`. Trailing blank lines are allowed.
///
/// Fails with a message naming the line when the count is missing or wrong, a line
/// has fewer than four fields, or a coordinate is not a number.
pub fn parse_xyz(text: &str) -> Result<Vec<XyzAtom>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let first = lines.first().map(|l| l.trim()).unwrap_or("");
    if first.is_empty() {
        return Err("xyz: line 1 must be the number of atoms, found an empty line".into());
    }
    let n: usize = first
        .parse()
        .map_err(|_| format!("xyz: line 1 must be the number of atoms, found \"{first}\""))?;
    if n == 0 {
        return Err("xyz: line 1 says 0 atoms".into());
    }
    let body: Vec<&str> = lines.iter().skip(2).copied().collect();
    let atom_lines: Vec<&str> = {
        let mut v = body.clone();
        while v.last().is_some_and(|l| l.trim().is_empty()) {
            v.pop();
        }
        v
    };
    if atom_lines.len() != n {
        return Err(format!(
            "xyz: line 1 says {n} atoms but {} atom lines follow the comment line",
            atom_lines.len()
        ));
    }
    let mut atoms = Vec::with_capacity(n);
    for (i, line) in atom_lines.iter().enumerate() {
        let lineno = i + 3;
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 {
            return Err(format!(
                "xyz: line {lineno} must be `symbol x y z`, found \"{}\"",
                line.trim()
            ));
        }
        if !f[0].chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            || !f[0].chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!(
                "xyz: line {lineno}: \"{}\" is not an element symbol",
                f[0]
            ));
        }
        for c in &f[1..4] {
            if !is_number(c) {
                return Err(format!("xyz: line {lineno}: \"{c}\" is not a number"));
            }
        }
        atoms.push(XyzAtom {
            symbol: f[0].to_string(),
            x: f[1].to_string(),
            y: f[2].to_string(),
            z: f[3].to_string(),
        });
    }
    Ok(atoms)
}

/// Checks pdb text: at least one `ATOM`/`HETATM` record whose coordinate columns
/// (31–54) hold numbers. Returns the atom count; fails naming the bad line.
pub fn check_pdb(text: &str) -> Result<usize, String> {
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        if !(line.starts_with("ATOM  ") || line.starts_with("HETATM")) {
            continue;
        }
        let coords = line
            .get(30..54)
            .ok_or_else(|| format!("pdb: line {}: record too short for coordinates", i + 1))?;
        for k in 0..3 {
            let field = coords.get(k * 8..k * 8 + 8).unwrap_or("").trim();
            if !is_number(field) {
                return Err(format!(
                    "pdb: line {}: coordinate \"{field}\" is not a number",
                    i + 1
                ));
            }
        }
        n += 1;
    }
    if n == 0 {
        return Err("pdb: no ATOM or HETATM records".into());
    }
    Ok(n)
}

/// Checks cif text: the three cell lengths are numbers and an `_atom_site_` loop has at
/// least one row. Returns the number of atom-site rows; fails naming what is missing.
pub fn check_cif(text: &str) -> Result<usize, String> {
    for tag in ["_cell_length_a", "_cell_length_b", "_cell_length_c"] {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(tag))
            .ok_or_else(|| format!("cif: missing {tag}"))?;
        let v = line.split_whitespace().nth(1).unwrap_or("");
        let v = v.split('(').next().unwrap_or("");
        if !is_number(v) {
            return Err(format!("cif: {tag} \"{v}\" is not a number"));
        }
    }
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].eq_ignore_ascii_case("loop_") {
            let mut j = i + 1;
            let mut tags = 0;
            let mut atom_site = false;
            while j < lines.len() && lines[j].starts_with('_') {
                atom_site |= lines[j].starts_with("_atom_site_");
                tags += 1;
                j += 1;
            }
            if atom_site && tags > 0 {
                let rows = lines[j..]
                    .iter()
                    .take_while(|l| {
                        !l.is_empty() && !l.starts_with('_') && !l.eq_ignore_ascii_case("loop_")
                    })
                    .filter(|l| !l.starts_with('#'))
                    .count();
                if rows > 0 {
                    return Ok(rows);
                }
                return Err("cif: the _atom_site_ loop has no rows".into());
            }
            i = j;
        } else {
            i += 1;
        }
    }
    Err("cif: no loop_ with _atom_site_ entries".into())
}

/// Checks structure text of the given format (`xyz`, `pdb`, `cif`); returns the atom count.
pub fn check_structure(format: &str, text: &str) -> Result<usize, String> {
    match format {
        "xyz" => parse_xyz(text).map(|a| a.len()),
        "pdb" => check_pdb(text),
        "cif" => check_cif(text),
        other => Err(format!("unknown structure format '{other}'")),
    }
}

fn is_number(s: &str) -> bool {
    s.parse::<f64>().is_ok_and(f64::is_finite)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WATER: &str = "3\nwater\nO 0.0 0.0 0.1173\nH 0.0 0.7572 -0.4692\nH 0.0 -0.7572 -0.4692\n";

    #[test]
    fn xyz_ok() {
        let a = parse_xyz(WATER).unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a[1].y, "0.7572");
    }

    #[test]
    fn xyz_errors() {
        assert!(parse_xyz("").unwrap_err().contains("line 1"));
        assert!(parse_xyz("x\n\n").unwrap_err().contains("\"x\""));
        assert!(parse_xyz("4\nc\nO 0 0 0\n")
            .unwrap_err()
            .contains("says 4 atoms but 1"));
        assert!(parse_xyz("1\nc\nO 0 zero 0\n")
            .unwrap_err()
            .contains("line 3"));
        assert!(parse_xyz("1\nc\nO 0 0\n")
            .unwrap_err()
            .contains("symbol x y z"));
    }

    #[test]
    fn pdb_and_cif() {
        let pdb =
            "ATOM      1  OH2 TIP3W   1       0.000   0.000   0.117  1.00  0.00      WT1  O\nEND\n";
        assert_eq!(check_pdb(pdb).unwrap(), 1);
        assert!(check_pdb("HEADER x\n").is_err());
        assert!(check_pdb("ATOM      1  OH2 TIP3W   1       0.000   abc     0.117\n").is_err());
        let cif = "data_x\n_cell_length_a 5.43(1)\n_cell_length_b 5.43\n_cell_length_c 5.43\nloop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nSi1 0 0 0\n";
        assert_eq!(check_cif(cif).unwrap(), 1);
        assert!(check_cif("data_x\n")
            .unwrap_err()
            .contains("_cell_length_a"));
        assert!(check_structure("mol2", "").is_err());
    }
}
