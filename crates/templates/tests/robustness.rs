//! No panic on arbitrary input: parsers, value validation and rendering are fed
//! pseudo-random text built from the markers they look for.

use matterstack_templates::{builtin, builtin_names, parsers};
use serde_json::{Map, Value};

/// A small deterministic generator (no extra dependency).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() as usize) % items.len()]
    }
}

const FRAGMENTS: &[&str] = &[
    "Total Energy =",
    "@matterstack current energy:",
    "* CCSD total energy =",
    "-Total Gradient:",
    "Psi4 ",
    " release",
    "Psi4 release",
    "@RHF iter ",
    ":",
    "Could not converge",
    "Error: ",
    "| TOTAL ENERGY",
    "| GRADIENT NORM",
    "[ERROR]",
    "-1- ",
    "abnormal termination of xtb",
    "total:",
    "* wall-time:",
    "GEOMETRY OPTIMIZATION CONVERGED AFTER",
    "Energies (kJ/mol)",
    "Step",
    "Time",
    "Potential Energy  =",
    "Maximum force     =",
    "on atom",
    "Fatal error:",
    "Performance:",
    "ETITLE:",
    "ENERGY:",
    "TS",
    "POTENTIAL",
    "WallClock:",
    "CPUTime:",
    "Memory:",
    "FATAL ERROR:",
    "WRITING VELOCITIES TO RESTART FILE AT STEP",
    "== SCF ENDED -",
    "E(AU)",
    "CYCLES",
    "TOTAL ENERGY(DFT)(AU)(",
    ")",
    "(AU)(",
    "OPT END - CONVERGED",
    "E(AU):",
    "POINTS",
    "ERROR ****",
    "TTTTTTTTTTTTTTT",
    "TELAPSE",
    "TCPU",
    "EEEEEEEEEE TERMINATION",
    " ",
    "  ",
    "\n",
    "\n",
    "\t",
    "-",
    "1",
    "2.5",
    "-1.0E+02",
    "1D-3",
    "nan",
    "inf",
    "x",
    "é",
    "∞",
    "***",
    "=",
    "|",
    "(",
    "CRYSTAL",
    "*  CRYSTAL23  *",
    "0 d, 0 h, 0 min, 1 sec",
];

fn random_text(rng: &mut Lcg, len: usize) -> String {
    (0..len).map(|_| rng.pick(FRAGMENTS)).collect()
}

#[test]
fn parsers_never_panic() {
    let mut rng = Lcg(42);
    let iters: usize = std::env::var("FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    for _ in 0..iters {
        let n = (rng.next() % 60) as usize;
        let text = random_text(&mut rng, n);
        for p in parsers::PROGRAMS {
            let o = parsers::parse_output(p, &text).unwrap();
            let _ = serde_json::to_string(&o).unwrap();
        }
    }
}

#[test]
fn validation_and_rendering_never_panic() {
    let mut rng = Lcg(7);
    let values: &[&str] = &[
        "",
        " ",
        "0",
        "-1",
        "1",
        "99999999999999999999",
        "1e400",
        "-0",
        "1.5",
        "abc",
        "true",
        "1-3",
        "0-0",
        "5-2",
        "1,2,x",
        "64GB",
        "64",
        "GB",
        "1-25:00:00",
        "00:00:00",
        "{{ x }}",
        "{% raw %}",
        "../x",
        "/abs",
        "a b",
        "a\nb",
        "é",
        "3\nw\nO 0 0 0\nH 0 0 1\nH 1 0 0\n",
        "12 0 0 0",
        "0 0 0 1 1 1",
        "1 2 3",
    ];
    for name in builtin_names() {
        let t = builtin(name).unwrap();
        for _ in 0..300 {
            let mut m = Map::new();
            for p in t.params() {
                if rng.next().is_multiple_of(3) {
                    m.insert(p.name.clone(), Value::String(rng.pick(values).to_string()));
                }
            }
            if rng.next().is_multiple_of(5) {
                m.insert("not_a_param".into(), Value::Bool(true));
            }
            if let Ok(v) = t.validate(&m) {
                // rendering may refuse (e.g. a lattice that does not fit), never panics
                let _ = t.render_values(&v);
            }
        }
    }
}

#[test]
fn values_are_not_evaluated_as_templates() {
    let t = builtin("slurm/job").unwrap();
    let v = t
        .validate_assignments(&["command=echo {{ job_name }} {% if x %}"])
        .unwrap();
    let r = t.render_values(&v).unwrap();
    assert!(r.files["job.sh"].contains("echo {{ job_name }} {% if x %}"));
}
