//! `template list | show | render`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use matterstack_core::app::templates;

#[derive(Debug, Subcommand)]
pub(crate) enum TemplateCmd {
    /// List the templates (workspace, user, shipped).
    #[command(after_help = "Example:\n  matterstack template list")]
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a template's parameters.
    #[command(
        after_help = "Example:\n  matterstack template show psi4/energy\n  matterstack template show psi4/energy --json-schema"
    )]
    Show {
        /// The template (e.g. psi4/energy).
        name: String,
        /// Print the parameters as JSON Schema (for forms).
        #[arg(long)]
        json_schema: bool,
    },
    /// Render a template into a directory.
    #[command(
        after_help = "Example:\n  matterstack template render psi4/energy --set basis=cc-pvdz --set method=mp2 -o calc/"
    )]
    Render {
        /// The template.
        name: String,
        /// A parameter value KEY=VALUE (repeat).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Parameter values from a TOML or JSON file.
        #[arg(long, value_name = "FILE")]
        params: Option<PathBuf>,
        /// The output directory (must not exist, or hold none of the files).
        #[arg(short = 'o', long = "output", value_name = "DIR")]
        output: PathBuf,
    },
}

pub fn dispatch(cmd: TemplateCmd) -> Result<ExitCode> {
    let ws = Some(Path::new("."));
    match cmd {
        TemplateCmd::List { json } => {
            let all = templates::list(ws);
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                let width = all.iter().map(|e| e.name.len()).max().unwrap_or(4).max(4);
                for e in &all {
                    match &e.error {
                        Some(err) => println!("{:<width$}  BROKEN: {err}", e.name),
                        None => println!("{:<width$}  {}", e.name, e.description),
                    }
                }
            }
        }
        TemplateCmd::Show { name, json_schema } => {
            let t = templates::find(&name, ws)?;
            if json_schema {
                println!("{}", serde_json::to_string_pretty(&t.json_schema())?);
                return Ok(ExitCode::SUCCESS);
            }
            println!("{} — {}", t.manifest.name, t.manifest.description);
            println!(
                "program: {}   files: {}",
                t.manifest.program,
                t.manifest.files.join(", ")
            );
            println!("command: {}", t.manifest.command);
            println!();
            println!(
                "{:<20} {:<12} {:<24} {:<16} HELP",
                "PARAMETER", "TYPE", "DEFAULT", "RULE"
            );
            for p in t.params() {
                let default = p.default.as_ref().map_or("(required)".to_string(), |d| {
                    let s = match d {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    let first = s.lines().next().unwrap_or("").to_string();
                    if first.len() > 22 || s.contains('\n') {
                        format!("{}…", &first[..first.len().min(21)])
                    } else {
                        first
                    }
                });
                let mut rule = Vec::new();
                if let Some(min) = p.min {
                    rule.push(format!(">= {min}"));
                }
                if let Some(max) = p.max {
                    rule.push(format!("<= {max}"));
                }
                if !p.options.is_empty() {
                    rule.push(p.options.join("|"));
                }
                if let Some(u) = &p.units {
                    rule.push(format!("[{u}]"));
                }
                println!(
                    "{:<20} {:<12} {:<24} {:<16} {}",
                    p.name,
                    p.kind.as_str(),
                    default,
                    rule.join(" "),
                    p.help
                );
            }
        }
        TemplateCmd::Render {
            name,
            set,
            params,
            output,
        } => {
            let values = templates::params_from_args(&set, params.as_deref())?;
            let r = templates::render_to_dir(&name, &values, &output, ws)?;
            for f in r.files.keys() {
                println!("wrote {}", output.join(f).display());
            }
            println!("run it with: {}", r.shell_command());
        }
    }
    Ok(ExitCode::SUCCESS)
}
