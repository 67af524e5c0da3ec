//! In-process timing of the assembly path `matterstack mbe analyze` takes: parse the input,
//! enumerate (label-only), read the component results by id, assemble. Best of REPEAT (default
//! 20) per phase, in milliseconds. Used by bench/mbe/README.md and for profiling.
//!
//! `cargo run --release -p matterstack-mbe --example analyze_timing -- INPUT.json COMPONENTS.json`

use std::time::Instant;

use matterstack_mbe::{analyze_expansion, expansion, results_for, ManyBodyInput};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(input), Some(components)) = (args.get(1), args.get(2)) else {
        return Err("usage: analyze_timing INPUT.json COMPONENTS.json".into());
    };
    let repeat: usize = std::env::var("REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let input_text = std::fs::read_to_string(input)?;
    let results_text = std::fs::read_to_string(components)?;
    let mut best = [f64::INFINITY; 4];
    let mut ret = 0.0;
    let mut n = 0;
    for _ in 0..repeat {
        let t0 = Instant::now();
        let parsed = ManyBodyInput::from_json(&input_text)?;
        let t1 = Instant::now();
        let exp = expansion(&parsed)?;
        let t2 = Instant::now();
        let results = results_for(&exp, &results_text)?;
        let t3 = Instant::now();
        let by_id: Vec<_> = results.iter().map(Option::as_ref).collect();
        let out = analyze_expansion(&exp, &by_id)?;
        let t4 = Instant::now();
        for (b, d) in best.iter_mut().zip([t1 - t0, t2 - t1, t3 - t2, t4 - t3]) {
            *b = b.min(d.as_secs_f64() * 1e3);
        }
        ret = out.ret_energy;
        n = exp.len();
    }
    println!(
        "{n} components, ret_energy {ret:.12}: parse input {:.3} ms, expansion {:.3} ms, read results {:.3} ms, assemble {:.3} ms (best of {repeat})",
        best[0], best[1], best[2], best[3]
    );
    Ok(())
}
