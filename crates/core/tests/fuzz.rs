//! Fuzz targets for the core's parsers of outside data (see `matterstack-fuzz`;
//! `MATTERSTACK_FUZZ_SECS` each): the workspace file `matterstack.toml` (and the
//! `when` conditions and `{{ tasks… }}` references inside it), `clusters.toml`,
//! the `job_info.json` records `sync` reads back from a cluster, and the responses
//! people give to human tasks. Seeds: the shipped examples, and records and
//! responses shaped like the ones matterstack writes.

use std::collections::BTreeMap;
use std::path::Path;

use matterstack_core::model::cluster::ClustersFile;
use matterstack_core::model::record::{validate_record, Origin};
use matterstack_core::model::refs::Context;
use matterstack_core::model::{response, WorkspaceSpec};
use matterstack_core::operators::slurm::JobInfo;
use matterstack_fuzz::{seeds, Target};

fn workspace_seeds() -> Vec<Vec<u8>> {
    let mut v = seeds::files(&seeds::repo("examples"), &["matterstack.toml"]);
    v.push(
        br#"[run]
cores = 4
planner = "python3 plan.py"
[[tasks]]
id = "opt"
template = "xtb/opt"
params = { structure = "water.xyz", charge = 0 }
inputs = ["water.xyz"]
[[tasks]]
id = "sweep"
command = "echo {{ sweep.x }} {{ tasks.opt.results.final_energy }}"
sweep = { x = [1, 2, 3] }
when = "tasks.opt.status == 'COMPLETED' and tasks.opt.results.final_energy < 0"
[[tasks]]
id = "human"
operator = "human"
schema = { type = "object", properties = { s = { type = "string" } } }
[[tasks]]
id = "files"
command = ["cat", "{{ tasks.opt.files['out.xyz'] }}"]
files_from = { opt = ["out.xyz"] }
resources = { walltime = "01:00:00", memory = "4G" }
"#
        .to_vec(),
    );
    v
}

#[test]
fn fuzz_workspace_toml() {
    let seeds = workspace_seeds();
    assert!(seeds.len() >= 3, "the examples are in the repository");
    Target::new("core-workspace-toml")
        .seeds(seeds)
        .run_text(|text| {
            let Ok(spec) = WorkspaceSpec::parse(text, Path::new("matterstack.toml")) else {
                return;
            };
            // A parsed workspace's conditions and references are evaluated
            // against empty upstreams: refused or answered, never a panic.
            let (up, files, point) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
            let ctx = Context::new(&up, &files, &point);
            for t in &spec.tasks {
                if let Some(w) = &t.when {
                    let _ = ctx.truth(w);
                }
                let _ = ctx.resolve(t);
            }
        });
}

#[test]
fn fuzz_clusters_toml() {
    Target::new("core-clusters-toml")
        .seed(
            "[clusters.hpc]\nhost = \"login.hpc.example.org\"\nuser = \"alice\"\nport = 22\nscheduler = \"slurm\"\nproject_root = \"~/ms\"\nscratch_root = \"/scratch/alice/ms\"\npartition = \"short\"\naccount = \"chem\"\nmax_jobs = 50\nssh_options = [\"ProxyJump=gw\"]\n\
             [clusters.pbs]\nhost = \"pbs.example.org\"\nscheduler = \"pbs\"\nproject_root = \"/home/a/ms\"\n",
        )
        .run_text(|text| {
            if let Ok(file) = ClustersFile::parse(text) {
                for p in file.clusters.values() {
                    let _ = p.destination();
                }
            }
        });
}

fn job_info_seed() -> Vec<u8> {
    let spec = "id = \"opt\"\noperator = \"slurm\"\ncluster = \"hpc\"\ncommand = \"xtb in.xyz --opt > out.log\"\ninputs = [\"in.xyz\"]\noutputs = [\"out.log\"]\nenv = { OMP_NUM_THREADS = \"4\" }\nwalltime = \"02:00:00\"\n";
    let json = serde_json::json!({
        "status": "COMPLETED", "scheduler_id": "4242", "started_at": 1_700_000_000_000i64,
        "ended_at": 1_700_000_360_000i64, "exit_code": 0, "schema": "matterstack.job_info/1",
        "run": "test", "task": "opt", "attempt": 1, "token": "0123456789abcdef",
        "cluster": "hpc", "job_name": "ms.opt.0123456789abcdef", "created_at": 1_699_999_990_000i64,
        "project_dir": "/home/a/ms/test-0123456789ab/opt/1",
        "scratch_dir": "/scratch/a/ms/test-0123456789ab/opt/1",
        "resources": {"cores": 4, "walltime": "02:00:00"}, "inputs": ["in.xyz"],
        "outputs": ["out.log"],
        "spec": serde_json::to_value(toml::from_str::<matterstack_core::model::TaskSpec>(spec).unwrap()).unwrap(),
        "run_uid": "0123456789ab"
    });
    serde_json::to_vec_pretty(&json).unwrap()
}

#[test]
fn fuzz_job_info_json() {
    let seed = job_info_seed();
    assert!(
        serde_json::from_slice::<JobInfo>(&seed).is_ok(),
        "the seed is a record matterstack would write"
    );
    Target::new("core-job-info-json")
        .seed(seed)
        .run_text(|text| {
            let Ok(info) = serde_json::from_str::<JobInfo>(text) else {
                return;
            };
            for operator in ["slurm", "pbs", "ssh"] {
                let origin = Origin {
                    cluster: "hpc",
                    operator,
                };
                if let Err(problems) = validate_record(&info.spec, origin) {
                    assert!(!problems.is_empty());
                }
            }
        });
}

#[test]
fn fuzz_human_response_json() {
    let schema = serde_json::json!({
        "type": "object", "required": ["s", "n"],
        "properties": {"s": {"type": "string", "maxLength": 40}, "n": {"type": "number", "minimum": 0}}
    });
    Target::new("core-human-response-json")
        .seed(r#"{"status": "COMPLETED", "data": {"s": "sample-1", "n": 3.5}, "error": null}"#)
        .seed(r#"{"status": "FAILED", "data": null, "error": "the crystal cracked"}"#)
        .run_text(move |text| {
            let _ = response::check(text, &schema);
            let _ = response::check(text, &response::default_schema());
        });
}

#[test]
fn a_huge_expression_is_refused_at_parse_not_a_stack_overflow() {
    for when in [
        format!("1{} > 0", " + 1".repeat(20_000)),
        format!("{}1", "not ".repeat(5_000)),
    ] {
        let text = format!("[[tasks]]\nid = \"t\"\ncommand = \"true\"\nwhen = {when:?}\n");
        let e = WorkspaceSpec::parse(&text, Path::new("matterstack.toml")).unwrap_err();
        assert!(
            e.to_string().contains("longer than the 1024 allowed"),
            "{e}"
        );
        let text = format!("[[tasks]]\nid = \"t\"\ncommand = \"echo {{{{ {when} }}}}\"\n");
        let e = WorkspaceSpec::parse(&text, Path::new("matterstack.toml")).unwrap_err();
        assert!(
            e.to_string().contains("longer than the 1024 allowed"),
            "{e}"
        );
    }
}
