//! The Jinja environment (strict, no loader: templates cannot read files) and rendering.

use std::collections::BTreeSet;

use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior};

use crate::error::{Result, TemplateError};
use crate::structure;
use crate::value::{self, Values};

/// Names of functions the environment provides that are not parameters.
pub fn global_names() -> Vec<&'static str> {
    vec!["range", "dict", "namespace", "debug"]
}

/// A fresh environment: strict undefined, trailing newline kept, blocks trimmed, no
/// auto-escaping, no loader, plus this crate's filters.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_debug(true);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    crate::shell::add_filters(&mut env);
    env.add_filter("xyz_atoms", xyz_atoms);
    env.add_filter("index_list", index_list);
    env.add_filter("slurm_mem", slurm_mem);
    env.add_filter("pbs_mem", pbs_mem);
    env.add_filter("walltime_hms", walltime_hms);
    env.add_filter("fortran", fortran);
    env.add_filter("crystal_lattice", crystal_lattice);
    env
}

fn invalid(msg: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg)
}

fn xyz_atoms(text: &str) -> std::result::Result<minijinja::Value, Error> {
    let atoms = structure::parse_xyz(text).map_err(invalid)?;
    Ok(minijinja::Value::from_serialize(&atoms))
}

fn index_list(text: &str) -> std::result::Result<minijinja::Value, Error> {
    let v = value::parse_index_list(text).map_err(invalid)?;
    Ok(minijinja::Value::from_serialize(&v))
}

fn mem_parts(text: &str) -> std::result::Result<(String, char), Error> {
    value::parse_memory_mb(text).map_err(invalid)?;
    let t = text.trim();
    let digits: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
    let unit = t[digits.len()..]
        .trim()
        .chars()
        .next()
        .map(|c| c.to_ascii_uppercase())
        .unwrap_or('M');
    Ok((digits, unit))
}

/// `64GB` → `64G` (SLURM `--mem` suffixes K, M, G, T).
fn slurm_mem(text: &str) -> std::result::Result<String, Error> {
    let (n, u) = mem_parts(text)?;
    Ok(format!("{n}{u}"))
}

/// `64GB` → `64gb` (PBS `mem=` units kb, mb, gb, tb).
fn pbs_mem(text: &str) -> std::result::Result<String, Error> {
    let (n, u) = mem_parts(text)?;
    Ok(format!("{n}{}b", u.to_ascii_lowercase()))
}

/// `1-02:00:00` → `26:00:00` (PBS has no day field).
fn walltime_hms(text: &str) -> std::result::Result<String, Error> {
    let s = value::parse_walltime_s(text).map_err(invalid)?;
    Ok(format!("{}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60))
}

/// A number written the Fortran-friendly way: floats always with a decimal point.
fn fortran(v: minijinja::Value) -> String {
    if v.is_integer() {
        return v.to_string();
    }
    match f64::try_from(v.clone()) {
        Ok(x) => {
            let s = format!("{x}");
            if s.contains('.') || s.contains('e') || !x.is_finite() {
                s
            } else {
                format!("{s}.0")
            }
        }
        Err(_) => v.to_string(),
    }
}

/// Number of lattice parameters CRYSTAL reads for a space group (the minimal set:
/// triclinic a b c α β γ, monoclinic a b c β, orthorhombic a b c, tetragonal, trigonal
/// and hexagonal a c (or a α in the rhombohedral setting), cubic a).
pub fn crystal_lattice_count(space_group: i64) -> Option<(usize, &'static str)> {
    Some(match space_group {
        1..=2 => (6, "triclinic: a b c alpha beta gamma"),
        3..=15 => (4, "monoclinic: a b c beta"),
        16..=74 => (3, "orthorhombic: a b c"),
        75..=142 => (2, "tetragonal: a c"),
        143..=194 => (2, "trigonal/hexagonal: a c"),
        195..=230 => (1, "cubic: a"),
        _ => return None,
    })
}

/// `lattice | crystal_lattice(space_group)`: the lattice parameters, refused when their
/// number does not fit the space group.
fn crystal_lattice(lattice: &str, space_group: i64) -> std::result::Result<String, Error> {
    let words: Vec<&str> = lattice.split_whitespace().collect();
    let (n, what) = crystal_lattice_count(space_group).ok_or_else(|| {
        invalid(format!(
            "space group {space_group} is not between 1 and 230"
        ))
    })?;
    if words.len() != n {
        return Err(invalid(format!(
            "space group {space_group} needs {n} lattice parameter{} ({what}), got {}: {:?}",
            if n == 1 { "" } else { "s" },
            words.len(),
            lattice.trim()
        )));
    }
    Ok(words.join(" "))
}

fn column_of(src: &str, offset: usize) -> usize {
    let offset = offset.min(src.len());
    let mut start = offset;
    while start > 0 && !src.is_char_boundary(start) {
        start -= 1;
    }
    let before = &src[..start];
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    before[line_start..].chars().count() + 1
}

fn syntax_error(template: &str, file: &str, src: &str, e: &Error) -> TemplateError {
    let line = e.line().unwrap_or(1);
    let column = match e.range() {
        Some(r) => column_of(src, r.start),
        None => 1,
    };
    TemplateError::Syntax {
        template: template.to_string(),
        file: file.to_string(),
        line,
        column,
        message: e.detail().unwrap_or(&e.kind().to_string()).to_string(),
    }
}

/// Compiles `src` and returns the top-level variables it reads.
///
/// Fails with [`TemplateError::Syntax`] (file, line, column) when it does not parse.
pub fn variables(template: &str, file: &str, src: &str) -> Result<BTreeSet<String>> {
    let env = environment();
    let tmpl = env
        .template_from_named_str(file, src)
        .map_err(|e| syntax_error(template, file, src, &e))?;
    Ok(tmpl.undeclared_variables(false).into_iter().collect())
}

/// Renders `src` with `values`.
///
/// Fails with [`TemplateError::Syntax`] or [`TemplateError::Render`] (file, line, message).
pub fn render_text(template: &str, file: &str, src: &str, values: &Values) -> Result<String> {
    render_with(environment(), template, file, src, values)
}

/// Renders a shell command (`command`, `setup`, `restart_command`): every `{{ value }}`
/// is one shell word (see [`crate::shell`]; opt out with `| unquoted`).
///
/// Fails like [`render_text`].
pub fn render_shell(template: &str, file: &str, src: &str, values: &Values) -> Result<String> {
    let mut env = environment();
    crate::shell::make_shell(&mut env);
    render_with(env, template, file, src, values)
}

fn render_with(
    env: Environment<'static>,
    template: &str,
    file: &str,
    src: &str,
    values: &Values,
) -> Result<String> {
    let tmpl = env
        .template_from_named_str(file, src)
        .map_err(|e| syntax_error(template, file, src, &e))?;
    tmpl.render(minijinja::Value::from_serialize(values))
        .map_err(|e| TemplateError::Render {
            template: template.to_string(),
            file: file.to_string(),
            line: e.line(),
            message: e.detail().unwrap_or(&e.kind().to_string()).to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters() {
        let mut v = Values::new();
        v.insert("m".into(), json!("64GB"));
        v.insert("w".into(), json!("1-02:03:04"));
        v.insert("x".into(), json!(2.0));
        v.insert("i".into(), json!(3));
        let out = render_text(
            "t",
            "f",
            "{{ m | slurm_mem }} {{ m | pbs_mem }} {{ w | walltime_hms }} {{ x | fortran }} {{ i | fortran }}",
            &v,
        )
        .unwrap();
        assert_eq!(out, "64G 64gb 26:03:04 2.0 3");
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let e = variables("t", "input.dat", "line one\n  {{ foo + }}\n").unwrap_err();
        match e {
            TemplateError::Syntax {
                line, column, file, ..
            } => {
                assert_eq!(file, "input.dat");
                assert_eq!(line, 2);
                assert!(column > 1, "column {column}");
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn strict_undefined() {
        let e = render_text("t", "f", "{{ nope }}", &Values::new()).unwrap_err();
        assert!(matches!(e, TemplateError::Render { .. }), "{e}");
    }

    #[test]
    fn lattice_counts() {
        let mut v = Values::new();
        v.insert("l".into(), json!("4.5937 2.9587"));
        v.insert("sg".into(), json!(136));
        assert_eq!(
            render_text("t", "f", "{{ l | crystal_lattice(sg) }}", &v).unwrap(),
            "4.5937 2.9587"
        );
        v.insert("sg".into(), json!(225));
        let e = render_text("t", "f", "{{ l | crystal_lattice(sg) }}", &v)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("space group 225 needs 1 lattice parameter (cubic: a), got 2"),
            "{e}"
        );
    }

    #[test]
    fn column_counts_chars() {
        assert_eq!(column_of("ab\ncdé{{", 7), 4);
        assert_eq!(column_of("x", 0), 1);
    }
}
