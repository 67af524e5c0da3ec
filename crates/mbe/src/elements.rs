//! Element symbols and atomic numbers (needed for electron counts, costs and nuclear repulsion).

const SYMBOLS: [&str; 118] = [
    "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S", "Cl",
    "Ar", "K", "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As",
    "Se", "Br", "Kr", "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In",
    "Sn", "Sb", "Te", "I", "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb",
    "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl",
    "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U", "Np", "Pu", "Am", "Cm", "Bk",
    "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh",
    "Fl", "Mc", "Lv", "Ts", "Og",
];

/// Atomic number of an element symbol (case-insensitive; "D" and "T" count as hydrogen).
/// Returns `None` for anything that is not an element.
pub fn atomic_number(symbol: &str) -> Option<u32> {
    let s = symbol.trim();
    if s.eq_ignore_ascii_case("D") || s.eq_ignore_ascii_case("T") {
        return Some(1);
    }
    SYMBOLS
        .iter()
        .position(|e| e.eq_ignore_ascii_case(s))
        .map(|i| i as u32 + 1)
}

/// Canonical capitalisation of an element symbol ("HE" → "He"); `None` if not an element.
pub fn canonical_symbol(symbol: &str) -> Option<&'static str> {
    let s = symbol.trim();
    SYMBOLS.iter().find(|e| e.eq_ignore_ascii_case(s)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(atomic_number("H"), Some(1));
        assert_eq!(atomic_number("he"), Some(2));
        assert_eq!(atomic_number("O"), Some(8));
        assert_eq!(atomic_number("Og"), Some(118));
        assert_eq!(atomic_number("Xx"), None);
        assert_eq!(canonical_symbol("NE"), Some("Ne"));
    }
}
