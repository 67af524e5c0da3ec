//! Mutations of a seed input: the damage outside data really shows (cut files, flipped
//! bytes, repeated or missing lines, numbers that overflow, text cut inside a UTF-8
//! character) plus splices of other seeds, so a parser meets its own markers in odd places.

use crate::rng::Rng;

/// Delimiters the parsers split on, inserted at random places.
const DELIMITERS: &[&[u8]] = &[
    b"\n", b"\r\n", b"\r", b"\t", b" ", b"  ", b"|", b",", b":", b";", b"=", b"\"", b"'", b"{",
    b"}", b"[", b"]", b"(", b")", b"#", b"\\", b"/", b".", b"-", b"+", b"*", b"$", b"%", b"\0",
    b"[[", b"]]", b"\"\"\"", b"{{", b"}}", b"..", b"../", b"\x1e",
];

/// What a number is replaced by: the values that overflow, are not finite, or are not
/// numbers at all.
const NUMBERS: &[&str] = &[
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "1e309",
    "-1e309",
    "1e-400",
    "-1",
    "-0",
    "0",
    "-2147483649",
    "2147483648",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "99999999999999999999999999999999999999",
    "1.",
    ".5",
    "1e",
    "--1",
    "0x1F",
    "1D+05",
    "1,5",
    "",
    "*******",
];

/// Characters of more than one byte, put where a parser might slice by byte offset.
const MULTIBYTE: &[&str] = &[
    "é", "€", "𝄞", "\u{feff}", "\u{a0}", "\u{2028}", "\u{301}", "Å", "−", "\u{fffd}",
];

/// Applies 1 to 6 random mutations to `input`, drawing splice material from `others`.
/// The result is never longer than `max_len` bytes.
pub fn mutate(rng: &mut Rng, input: &mut Vec<u8>, others: &[Vec<u8>], max_len: usize) {
    let n = 1 + rng.below(6);
    for _ in 0..n {
        mutate_once(rng, input, others);
        if input.len() > max_len {
            input.truncate(max_len);
        }
    }
}

fn mutate_once(rng: &mut Rng, b: &mut Vec<u8>, others: &[Vec<u8>]) {
    match rng.below(17) {
        0 => flip_bit(rng, b),
        1 => set_byte(rng, b),
        2 => {
            let at = rng.below(b.len() + 1);
            b.truncate(at);
        }
        3 => cut_inside_char(rng, b),
        4 => insert_multibyte(rng, b),
        5 => delete_range(rng, b),
        6 => duplicate_lines(rng, b),
        7 => delete_line(rng, b),
        8 => swap_lines(rng, b),
        9 => splice(rng, b, others),
        10 => insert_line_from(rng, b, others),
        11 | 12 => insert_delimiter(rng, b),
        13 | 14 => replace_number(rng, b),
        15 => repeat_chunk(rng, b),
        _ => insert_word_from(rng, b, others),
    }
}

fn flip_bit(rng: &mut Rng, b: &mut [u8]) {
    if !b.is_empty() {
        let i = rng.below(b.len());
        b[i] ^= 1 << rng.below(8);
    }
}

fn set_byte(rng: &mut Rng, b: &mut [u8]) {
    if !b.is_empty() {
        let i = rng.below(b.len());
        b[i] = *rng.pick(&[
            0u8, 0xff, 0x80, 0xc3, b'\n', b'"', b'0', b'9', b'-', b' ', 0x7f,
        ]);
    }
}

/// Truncates in the middle of a multi-byte character when there is one.
fn cut_inside_char(rng: &mut Rng, b: &mut Vec<u8>) {
    let starts: Vec<usize> = (0..b.len()).filter(|&i| b[i] >= 0xc0).collect();
    if starts.is_empty() {
        insert_multibyte(rng, b);
        let starts: Vec<usize> = (0..b.len()).filter(|&i| b[i] >= 0xc0).collect();
        if let Some(&s) = starts.first() {
            b.truncate(s + 1);
        }
        return;
    }
    let s = *rng.pick(&starts);
    b.truncate((s + 1).min(b.len()));
}

fn insert_multibyte(rng: &mut Rng, b: &mut Vec<u8>) {
    let at = char_boundary_near(b, rng.below(b.len() + 1));
    let c = rng.pick(MULTIBYTE).as_bytes();
    b.splice(at..at, c.iter().copied());
}

fn delete_range(rng: &mut Rng, b: &mut Vec<u8>) {
    if b.is_empty() {
        return;
    }
    let start = rng.below(b.len());
    let cap = if rng.one_in(4) { 4096 } else { 32 };
    let len = 1 + rng.below((b.len() - start).min(cap));
    b.drain(start..start + len);
}

/// Byte ranges of the lines of `b` (each including its newline).
fn lines(b: &[u8]) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' {
            v.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < b.len() {
        v.push((start, b.len()));
    }
    v
}

fn duplicate_lines(rng: &mut Rng, b: &mut Vec<u8>) {
    let ls = lines(b);
    if ls.is_empty() {
        return;
    }
    let first = rng.below(ls.len());
    let last = (first + rng.below(4)).min(ls.len() - 1);
    let (s, e) = (ls[first].0, ls[last].1);
    let mut chunk = b[s..e].to_vec();
    if chunk.last() != Some(&b'\n') {
        chunk.push(b'\n');
    }
    let times = if rng.one_in(8) { 2 + rng.below(30) } else { 1 };
    let copies: Vec<u8> = chunk.repeat(times);
    b.splice(s..s, copies);
}

fn delete_line(rng: &mut Rng, b: &mut Vec<u8>) {
    let ls = lines(b);
    if !ls.is_empty() {
        let (s, e) = *rng.pick(&ls);
        b.drain(s..e);
    }
}

fn swap_lines(rng: &mut Rng, b: &mut Vec<u8>) {
    let ls = lines(b);
    if ls.len() < 2 {
        return;
    }
    let (i, j) = (rng.below(ls.len()), rng.below(ls.len()));
    let (lo, hi) = (ls[i.min(j)], ls[i.max(j)]);
    if lo == hi {
        return;
    }
    let mut out = Vec::with_capacity(b.len() + 1);
    out.extend_from_slice(&b[..lo.0]);
    out.extend_from_slice(&b[hi.0..hi.1]);
    if out.last() != Some(&b'\n') {
        out.push(b'\n');
    }
    out.extend_from_slice(&b[lo.1..hi.0]);
    out.extend_from_slice(&b[lo.0..lo.1]);
    out.extend_from_slice(&b[hi.1..]);
    *b = out;
}

/// Replaces the tail of `b` from a random point with the tail of another seed.
fn splice(rng: &mut Rng, b: &mut Vec<u8>, others: &[Vec<u8>]) {
    if others.is_empty() {
        return;
    }
    let o = rng.pick(others);
    let at = rng.below(b.len() + 1);
    let from = rng.below(o.len() + 1);
    b.truncate(at);
    b.extend_from_slice(&o[from..o.len().min(from + 4096)]);
}

fn insert_line_from(rng: &mut Rng, b: &mut Vec<u8>, others: &[Vec<u8>]) {
    if others.is_empty() {
        return;
    }
    let o = rng.pick(others);
    let ls = lines(o);
    if ls.is_empty() {
        return;
    }
    let (s, e) = *rng.pick(&ls);
    let mut line = o[s..e].to_vec();
    if line.last() != Some(&b'\n') {
        line.push(b'\n');
    }
    let here = lines(b);
    let at = if here.is_empty() {
        0
    } else {
        rng.pick(&here).0
    };
    b.splice(at..at, line);
}

fn insert_word_from(rng: &mut Rng, b: &mut Vec<u8>, others: &[Vec<u8>]) {
    if others.is_empty() {
        return;
    }
    let o = rng.pick(others);
    if o.is_empty() {
        return;
    }
    let start = rng.below(o.len());
    let end = o[start..]
        .iter()
        .position(|c| c.is_ascii_whitespace())
        .map_or(o.len(), |p| start + p);
    let word = o[start..end.min(start + 64)].to_vec();
    let at = rng.below(b.len() + 1);
    b.splice(at..at, word);
}

fn insert_delimiter(rng: &mut Rng, b: &mut Vec<u8>) {
    let d = *rng.pick(DELIMITERS);
    let times = if rng.one_in(6) { 1 + rng.below(64) } else { 1 };
    let at = rng.below(b.len() + 1);
    b.splice(at..at, d.repeat(times));
}

/// Replaces one run of digits (with its sign, point and exponent) by a hostile number.
fn replace_number(rng: &mut Rng, b: &mut Vec<u8>) {
    let starts: Vec<usize> = (0..b.len())
        .filter(|&i| b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_digit()))
        .collect();
    let replacement: Vec<u8> = if rng.one_in(10) {
        b"9".repeat(1 + rng.below(400))
    } else {
        rng.pick(NUMBERS).as_bytes().to_vec()
    };
    if starts.is_empty() {
        let at = rng.below(b.len() + 1);
        b.splice(at..at, replacement);
        return;
    }
    let mut s = *rng.pick(&starts);
    if s > 0 && matches!(b[s - 1], b'-' | b'+') {
        s -= 1;
    }
    let mut e = s + 1;
    while e < b.len()
        && matches!(
            b[e],
            b'0'..=b'9' | b'.' | b'e' | b'E' | b'd' | b'D' | b'+' | b'-'
        )
    {
        e += 1;
    }
    b.splice(s..e, replacement);
}

/// Repeats a short chunk many times (finds work that grows faster than the input).
fn repeat_chunk(rng: &mut Rng, b: &mut Vec<u8>) {
    if b.is_empty() {
        return;
    }
    let s = rng.below(b.len());
    let e = (s + 1 + rng.below(16)).min(b.len());
    let chunk = b[s..e].to_vec();
    let copies = chunk.repeat(16 + rng.below(2000));
    b.splice(e..e, copies);
}

/// The nearest UTF-8 character start at or before `i`.
fn char_boundary_near(b: &[u8], mut i: usize) -> usize {
    i = i.min(b.len());
    while i > 0 && i < b.len() && (b[i] & 0xc0) == 0x80 {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_stay_under_the_limit_and_change_the_input() {
        let seed = b"a = 1\nb = \"x\"\n[t]\nc = 2.5e3\n".to_vec();
        let others = vec![b"Total Energy = -76.02\n".to_vec()];
        let mut rng = Rng::new(42);
        let mut changed = 0;
        for _ in 0..5000 {
            let mut b = seed.clone();
            mutate(&mut rng, &mut b, &others, 256);
            assert!(b.len() <= 256);
            changed += usize::from(b != seed);
        }
        assert!(changed > 4500, "only {changed} of 5000 inputs changed");
    }

    #[test]
    fn a_number_is_replaced_whole() {
        let mut rng = Rng::new(3);
        let mut seen_nan = false;
        for _ in 0..500 {
            let mut b = b"x = -12.5e3\n".to_vec();
            replace_number(&mut rng, &mut b);
            let s = String::from_utf8(b).unwrap();
            assert!(s.starts_with("x = "), "{s:?}");
            assert!(s.ends_with('\n'), "{s:?}");
            seen_nan |= s == "x = NaN\n";
        }
        assert!(seen_nan);
    }

    #[test]
    fn a_cut_inside_a_character_leaves_invalid_utf8() {
        let mut rng = Rng::new(9);
        let mut b = "energy €\n".as_bytes().to_vec();
        cut_inside_char(&mut rng, &mut b);
        assert!(std::str::from_utf8(&b).is_err());
    }
}
