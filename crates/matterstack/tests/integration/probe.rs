//! Cluster truths checked early: `cluster probe` records what the testbed
//! offers (partitions `debug`, unlimited, and `short`, 10 minutes), then
//! `init` and `cluster test` refuse what it cannot give, all at once.

use crate::testbed::{slurm_task, testbed, ClusterWs};

#[test]
fn probe_records_partitions_and_init_refuses_what_the_cluster_cannot_give() {
    let tb = testbed();
    let c = ClusterWs::plain(&tb, &slurm_task("ok", "true", ""));
    let out = c.ws.ms(&["cluster", "probe", "testbed", "--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let probe = out.json();
    let part = |n: &str| {
        probe["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == n)
            .unwrap_or_else(|| panic!("no partition {n}: {probe}"))
            .clone()
    };
    assert_eq!(part("debug")["default"], true);
    assert!(part("debug").get("max_time_s").is_none(), "{probe}");
    assert_eq!(part("short")["max_time_s"], 600);
    assert!(part("short")["cpus_per_node"].as_u64().unwrap() >= 1);
    // It is recorded in the profile, with when.
    let file = std::fs::read_to_string(c.ws.path().join("clusters.toml")).unwrap();
    assert!(
        file.contains("[clusters.testbed.probe]") && file.contains("at = "),
        "{file}"
    );
    // A table for people too.
    let table = c.ws.ms(&["cluster", "probe", "testbed"]);
    assert!(
        table.stdout.contains("short") && table.stdout.contains("10.0 min"),
        "{table:?}"
    );

    // A run that fits is made.
    assert_eq!(c.ws.ms(&["init", ".", "--run-id", "fits"]).code, 0);

    // A misspelt partition and a walltime over `short`'s limit: both
    // reported by one init, which makes nothing.
    c.ws.file(
        "matterstack.toml",
        &[
            slurm_task("gpu", "true", "partition = \"gpuu\""),
            slurm_task("long", "true", "partition = \"short\"\nwalltime = \"1h\""),
            slurm_task("typo", "true", "partition = \"shrt\""),
        ]
        .concat(),
    );
    let out = c.ws.ms(&["init", ".", "--run-id", "bad"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("\"gpuu\"") && out.stderr.contains("did you mean"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean \"short\""),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("walltime 1h") && out.stderr.contains("debug allow"),
        "{}",
        out.stderr
    );
    assert!(!c.ws.path().join("runs/bad").exists());

    // `cluster test` refuses a default partition the cluster does not have,
    // and a QOS the probe did not find (the testbed has no accounting, so
    // its QOS list is written here as a cluster with accounting gives it).
    let toml = file
        .replace(
            "partition = \"debug\"",
            "partition = \"gpuu\"\nqos = \"nromal\"",
        )
        .replace(
            "[clusters.testbed.probe]",
            "[clusters.testbed.probe]\nqos = [\"normal\", \"long\"]",
        );
    c.ws.file("clusters.toml", &toml);
    let out = c.ws.ms(&["cluster", "test", "testbed"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("gpuu") && out.stderr.contains("did you mean"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean \"normal\""),
        "{}",
        out.stderr
    );
}
