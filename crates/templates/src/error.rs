//! Error types of the template library.
//!
//! Every error names what it is about (template, file, parameter, value) so that
//! a face can show it to the user unchanged.

use std::fmt;
use std::path::PathBuf;

/// One problem with one parameter value, found by validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// The parameter name as the user wrote it.
    pub param: String,
    /// What is wrong, already including the value and the rule.
    pub message: String,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "parameter '{}': {}", self.param, self.message)
    }
}

/// All problems found while validating one set of values (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<ParamError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// `template.toml` is malformed or inconsistent.
    #[error("template '{template}': {file}: {message}")]
    Manifest {
        /// Template name (or directory when the name is unknown).
        template: String,
        /// The file with the problem, usually `template.toml`.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A Jinja file does not parse.
    #[error("template '{template}': {file}:{line}:{column}: syntax error: {message}")]
    Syntax {
        /// Template name.
        template: String,
        /// File inside the template.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// A Jinja file uses a variable that is not a declared parameter.
    #[error("template '{template}': {file}: variable '{variable}' is used but not declared in template.toml{hint}")]
    Undeclared {
        /// Template name.
        template: String,
        /// File inside the template.
        file: String,
        /// The undeclared variable.
        variable: String,
        /// Either empty or ` (did you mean `x`?)`.
        hint: String,
    },
    /// Parameter values failed validation.
    #[error("{0}")]
    Validation(ValidationErrors),
    /// Rendering failed after validation succeeded (e.g. a filter refused a value).
    #[error("template '{template}': {file}{}: render error: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Render {
        /// Template name.
        template: String,
        /// File inside the template.
        file: String,
        /// 1-based line when known.
        line: Option<usize>,
        /// What went wrong.
        message: String,
    },
    /// A parameters file (TOML or JSON) could not be read as parameters.
    #[error("parameters file '{source_name}': {message}")]
    ParamsFile {
        /// File name or label of the input.
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// No template of that name in any searched location.
    #[error("no template named '{name}'{hint}")]
    NotFound {
        /// The name asked for.
        name: String,
        /// Either empty or ` (did you mean `x`?)`.
        hint: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Refused to write rendered files (e.g. the target exists or a file name escapes it).
    #[error("cannot write to {}: {message}", path.display())]
    Write {
        /// The path involved.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

impl From<ValidationErrors> for TemplateError {
    fn from(e: ValidationErrors) -> Self {
        TemplateError::Validation(e)
    }
}

/// Result alias of this crate.
pub type Result<T, E = TemplateError> = std::result::Result<T, E>;
