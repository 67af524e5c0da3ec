//! Renders a template into a directory: `cargo run --example render -- NAME OUTDIR [key=value ...]`.
//! Prints the command to run there. Used to check shipped templates against real programs.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: render NAME OUTDIR [key=value ...]");
        return ExitCode::from(2);
    }
    let result = matterstack_templates::find(&args[0], &[]).and_then(|t| {
        let values = t.validate_assignments(&args[2..])?;
        let r = t.render_values(&values)?;
        matterstack_templates::write_rendered(&r, &PathBuf::from(&args[1]))?;
        Ok(r)
    });
    match result {
        Ok(r) => {
            for s in &r.setup {
                println!("{s}");
            }
            println!("{}", r.command);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
