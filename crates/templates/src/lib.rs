//! `matterstack-templates`: typed input-file templates, the shipped template library,
//! and program output parsers.
//!
//! Pure library: the only file-system access is in [`dir`] (loading a template from a
//! directory, writing rendered files) and in [`library::find`]/[`library::list`], which
//! read template directories. Nothing here spawns processes or touches the network.
//! Templates cannot include files from disk (the Jinja environment has no loader).
//!
//! ```
//! use matterstack_templates::{library, value};
//! let t = library::builtin("psi4/energy").unwrap();
//! let values = t.validate_assignments(&["basis=cc-pvtz"]).unwrap();
//! let rendered = t.render_values(&values).unwrap();
//! assert!(rendered.files["input.dat"].contains("basis cc-pvtz"));
//! assert_eq!(rendered.command, "psi4 -n 1 input.dat output.dat");
//! let err = t.validate_assignments(&["basis=cc-pVTZ"]).unwrap_err();
//! assert!(err.to_string().contains("parameter 'basis': value \"cc-pVTZ\" is not one of"));
//! # let _ = value::parse_assignments(&["a=1"]);
//! ```

#![warn(missing_docs)]

pub mod dir;
pub mod error;
pub mod library;
pub mod param;
pub mod parsers;
pub mod render;
pub mod schema;
pub mod shell;
pub mod structure;
pub mod suggest;
pub mod template;
pub mod value;

pub use dir::{load_dir, render_to_dir, write_rendered};
pub use error::{ParamError, Result, TemplateError, ValidationErrors};
pub use library::{builtin, builtin_names, find, list, search_dirs};
pub use param::{DependsOn, ParamSpec, ParamType};
pub use parsers::{parse_output, parser_for, ParsedOutput};
pub use schema::json_schema;
pub use template::{Manifest, Origin, Rendered, Template};
pub use value::{params_from_json, params_from_toml, parse_assignments, validate, Values};
