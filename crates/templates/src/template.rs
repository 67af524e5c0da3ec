//! A template: its manifest (`template.toml`) and its Jinja files, checked at load.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Result, TemplateError, ValidationErrors};
use crate::param::ParamSpec;
use crate::render;
use crate::suggest;
use crate::value::{self, Values};

/// The contents of `template.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Name such as `psi4/energy`; equals the template's directory path in a library.
    pub name: String,
    /// One or two sentences.
    pub description: String,
    /// The program the template drives (`psi4`, `crystal`, `slurm`, …).
    pub program: String,
    /// Files to render; each is a Jinja file of the same name in the template directory.
    pub files: Vec<String>,
    /// Shell command that runs the calculation in the task directory (a Jinja string;
    /// every `{{ value }}` in it is one shell word, `| unquoted` opts out: see
    /// [`crate::shell`]).
    #[serde(default)]
    pub command: String,
    /// Shell lines to run before the command, e.g. sourcing `cry23.bashrc` (Jinja strings,
    /// values quoted like `command`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<String>,
    /// The program output file that the parser reads, relative to the task directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The output parser (see [`crate::parsers::PROGRAMS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parser: Option<String>,
    /// Files (Jinja strings) that make a checkpoint of a run, relative to the task
    /// directory: a restart continues from them (`md.cpt`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checkpoint: Vec<String>,
    /// Shell command (a Jinja string) of an attempt that continues from the checkpoint
    /// instead of starting over; run after the setup lines. Needs `checkpoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_command: Option<String>,
    /// Declared parameters, in form order.
    #[serde(default)]
    pub parameters: Vec<ParamSpec>,
}

/// Where a template came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "path", rename_all = "lowercase")]
pub enum Origin {
    /// Shipped inside the binary.
    Builtin,
    /// Loaded from this directory.
    Dir(std::path::PathBuf),
    /// Built from strings by the caller.
    Memory,
}

/// A loaded and checked template.
#[derive(Debug, Clone)]
pub struct Template {
    /// The manifest.
    pub manifest: Manifest,
    /// Jinja source of each rendered file, by file name.
    pub sources: BTreeMap<String, String>,
    /// Where it came from.
    pub origin: Origin,
}

/// The result of rendering: everything needed to run the calculation, in memory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rendered {
    /// Template name.
    pub template: String,
    /// Program the template drives.
    pub program: String,
    /// Rendered files by name.
    pub files: BTreeMap<String, String>,
    /// Rendered command.
    pub command: String,
    /// Rendered setup lines.
    pub setup: Vec<String>,
    /// Output file for the parser.
    pub output: Option<String>,
    /// Parser name.
    pub parser: Option<String>,
    /// Rendered checkpoint file names (empty: the template cannot be restarted).
    pub checkpoint: Vec<String>,
    /// Rendered restart command, without the setup lines.
    pub restart_command: Option<String>,
    /// The validated values used.
    pub values: Values,
}

/// `[a-z0-9_-]+(/[a-z0-9_-]+)*`
pub fn is_template_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('/').all(|seg| {
            !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        })
}

impl Rendered {
    /// The setup lines and the command as one shell script body (setup first, one per
    /// line), e.g. for the `command` parameter of `slurm/job` / `pbs/job`.
    pub fn shell_command(&self) -> String {
        let mut lines = self.setup.clone();
        lines.push(self.command.clone());
        lines.join("\n")
    }

    /// The setup lines and the restart command as one shell script body, when the
    /// template can continue from a checkpoint.
    pub fn restart_shell_command(&self) -> Option<String> {
        let restart = self.restart_command.as_ref()?;
        let mut lines = self.setup.clone();
        lines.push(restart.clone());
        Some(lines.join("\n"))
    }
}

impl Template {
    /// Builds a template from the text of `template.toml` and the file sources, and checks
    /// it: manifest fields, parameter declarations, Jinja syntax (file, line, column) and
    /// that every variable used is declared.
    ///
    /// `label` names the template in errors when the manifest cannot be read. Fails with
    /// [`TemplateError::Manifest`], [`TemplateError::Syntax`] or [`TemplateError::Undeclared`].
    pub fn from_sources(
        label: &str,
        manifest_text: &str,
        sources: BTreeMap<String, String>,
        origin: Origin,
    ) -> Result<Template> {
        let manifest: Manifest =
            toml::from_str(manifest_text).map_err(|e| TemplateError::Manifest {
                template: label.to_string(),
                file: "template.toml".into(),
                message: e.to_string().trim().replace('\n', " "),
            })?;
        let t = Template {
            manifest,
            sources,
            origin,
        };
        t.check()?;
        Ok(t)
    }

    /// Template name, e.g. `psi4/energy`.
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// Declared parameters in form order.
    pub fn params(&self) -> &[ParamSpec] {
        &self.manifest.parameters
    }

    fn manifest_err(&self, message: String) -> TemplateError {
        TemplateError::Manifest {
            template: self.manifest.name.clone(),
            file: "template.toml".into(),
            message,
        }
    }

    fn check(&self) -> Result<()> {
        let m = &self.manifest;
        if !is_template_name(&m.name) {
            return Err(self.manifest_err(format!(
                "name '{}' must be lower-case words joined by '/' (e.g. psi4/energy)",
                m.name
            )));
        }
        if m.files.is_empty() {
            return Err(self.manifest_err("`files` lists no file to render".into()));
        }
        let mut seen = BTreeSet::new();
        for f in &m.files {
            value::check_file_name(f).map_err(|e| self.manifest_err(format!("file '{f}': {e}")))?;
            if f == "template.toml" {
                return Err(self.manifest_err("template.toml cannot be a rendered file".into()));
            }
            if !seen.insert(f) {
                return Err(self.manifest_err(format!("file '{f}' is listed twice")));
            }
            if !self.sources.contains_key(f) {
                return Err(self.manifest_err(format!(
                    "file '{f}' is listed but missing from the template directory"
                )));
            }
        }
        if let Some(p) = &m.parser {
            if !crate::parsers::PROGRAMS.contains(&p.as_str()) {
                return Err(self.manifest_err(format!(
                    "parser '{p}' is not known (known: {}){}",
                    crate::parsers::PROGRAMS.join(", "),
                    suggest::hint(p, crate::parsers::PROGRAMS.iter().copied())
                )));
            }
        }
        if let Some(o) = &m.output {
            value::check_file_name(o)
                .map_err(|e| self.manifest_err(format!("output '{o}': {e}")))?;
        }
        if m.restart_command.is_some() && m.checkpoint.is_empty() {
            return Err(self.manifest_err(
                "`restart_command` needs `checkpoint`: the files the restart continues from".into(),
            ));
        }
        let mut names = BTreeSet::new();
        for p in &m.parameters {
            p.check().map_err(|e| self.manifest_err(e))?;
            if !names.insert(p.name.as_str()) {
                return Err(self.manifest_err(format!("parameter '{}' is declared twice", p.name)));
            }
        }
        for p in &m.parameters {
            if let Some(dep) = &p.depends_on {
                let Some(target) = m.parameters.iter().find(|q| q.name == dep.param) else {
                    return Err(self.manifest_err(format!(
                        "parameter '{}': depends_on names unknown parameter '{}'{}",
                        p.name,
                        dep.param,
                        suggest::hint(&dep.param, names.iter().copied())
                    )));
                };
                for v in &dep.values {
                    value::check_value(target, v).map_err(|e| {
                        self.manifest_err(format!(
                            "parameter '{}': depends_on value is not valid for '{}': {e}",
                            p.name, dep.param
                        ))
                    })?;
                }
            }
        }
        // Compile every Jinja text and check its variables.
        let declared: BTreeSet<&str> = names;
        for (file, src) in self.jinja_texts() {
            let used = render::variables(self.name(), &file, &src)?;
            let globals = render::global_names();
            for var in used {
                if !declared.contains(var.as_str()) && !globals.contains(&var.as_str()) {
                    return Err(TemplateError::Undeclared {
                        template: self.name().to_string(),
                        file,
                        hint: suggest::hint(&var, declared.iter().copied()),
                        variable: var,
                    });
                }
            }
        }
        Ok(())
    }

    /// Every Jinja text of the template as (label, source): the files, then `command`
    /// and `setup[i]` from the manifest.
    pub fn jinja_texts(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .manifest
            .files
            .iter()
            .map(|f| (f.clone(), self.sources.get(f).cloned().unwrap_or_default()))
            .collect();
        v.push((
            "template.toml:command".into(),
            self.manifest.command.clone(),
        ));
        for (i, s) in self.manifest.setup.iter().enumerate() {
            v.push((format!("template.toml:setup[{i}]"), s.clone()));
        }
        for (i, s) in self.manifest.checkpoint.iter().enumerate() {
            v.push((format!("template.toml:checkpoint[{i}]"), s.clone()));
        }
        if let Some(r) = &self.manifest.restart_command {
            v.push(("template.toml:restart_command".into(), r.clone()));
        }
        v
    }

    /// Declared parameters that no Jinja text of the template uses.
    pub fn unused_parameters(&self) -> Vec<String> {
        let mut used = BTreeSet::new();
        for (file, src) in self.jinja_texts() {
            if let Ok(vars) = render::variables(self.name(), &file, &src) {
                used.extend(vars);
            }
        }
        self.params()
            .iter()
            .filter(|p| !used.contains(&p.name))
            .map(|p| p.name.clone())
            .collect()
    }

    /// The declared defaults as an input map (parameters without a default are left out).
    pub fn defaults(&self) -> Map<String, Value> {
        self.params()
            .iter()
            .filter_map(|p| p.default.clone().map(|d| (p.name.clone(), d)))
            .collect()
    }

    /// Validates raw values (see [`value::validate`]).
    ///
    /// Fails with every problem found.
    pub fn validate(
        &self,
        input: &Map<String, Value>,
    ) -> std::result::Result<Values, ValidationErrors> {
        value::validate(self.params(), input)
    }

    /// Validates `key=value` arguments typed by this template's schema.
    ///
    /// Fails with every problem found.
    pub fn validate_assignments<S: AsRef<str>>(
        &self,
        args: &[S],
    ) -> std::result::Result<Values, ValidationErrors> {
        let map = value::parse_assignments(args)?;
        self.validate(&map)
    }

    /// Validates `input` and renders every file, the command and the setup lines in memory.
    ///
    /// Fails with [`TemplateError::Validation`] or [`TemplateError::Render`]; nothing is
    /// written anywhere.
    pub fn render(&self, input: &Map<String, Value>) -> Result<Rendered> {
        let values = self.validate(input)?;
        self.render_values(&values)
    }

    /// Renders already validated values (from [`Template::validate`]).
    ///
    /// Fails with [`TemplateError::Render`] naming the file and line, or
    /// [`TemplateError::Manifest`] when a checkpoint entry renders to an unusable file name.
    pub fn render_values(&self, values: &Values) -> Result<Rendered> {
        let mut files = BTreeMap::new();
        for f in &self.manifest.files {
            let src = self.sources.get(f).map(String::as_str).unwrap_or("");
            files.insert(f.clone(), render::render_text(self.name(), f, src, values)?);
        }
        let command = render::render_shell(
            self.name(),
            "template.toml:command",
            &self.manifest.command,
            values,
        )?
        .trim()
        .to_string();
        let mut setup = Vec::new();
        for (i, s) in self.manifest.setup.iter().enumerate() {
            let line =
                render::render_shell(self.name(), &format!("template.toml:setup[{i}]"), s, values)?;
            let line = line.trim();
            if !line.is_empty() {
                setup.push(line.to_string());
            }
        }
        let mut checkpoint = Vec::new();
        for (i, c) in self.manifest.checkpoint.iter().enumerate() {
            let label = format!("template.toml:checkpoint[{i}]");
            let name = render::render_text(self.name(), &label, c, values)?
                .trim()
                .to_string();
            value::check_file_name(&name).map_err(|e| {
                self.manifest_err(format!("checkpoint[{i}] renders to '{name}': {e}"))
            })?;
            checkpoint.push(name);
        }
        let restart_command = match &self.manifest.restart_command {
            Some(r) => Some(
                render::render_shell(self.name(), "template.toml:restart_command", r, values)?
                    .trim()
                    .to_string(),
            ),
            None => None,
        };
        Ok(Rendered {
            template: self.name().to_string(),
            program: self.manifest.program.clone(),
            files,
            command,
            setup,
            output: self.manifest.output.clone(),
            parser: self.manifest.parser.clone(),
            checkpoint,
            restart_command,
            values: values.clone(),
        })
    }

    /// JSON Schema of the parameters (see [`crate::schema::json_schema`]).
    pub fn json_schema(&self) -> Value {
        crate::schema::json_schema(self)
    }
}
