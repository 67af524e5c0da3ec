//! Rendering a hand-made bundle: hostile strings stay text, one timeline bar
//! per attempt, plots for shared numeric results, nothing external.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;

const EVIL: &str = r#"<script>alert("x")</script><img src="http://evil.example/x.png">"#;

fn attempt(n: u32, kind: &str, parent: Option<u32>, status: &str, t: i64) -> AttemptEvidence {
    AttemptEvidence {
        n,
        kind: kind.into(),
        parent,
        status: status.into(),
        operator: "local".into(),
        host: Some("box".into()),
        external_id: Some("123".into()),
        token: format!("tok{n}"),
        queued_at: iso(t),
        started_at: Some(iso(t + 10)),
        ended_at: Some(iso(t + 500)),
        wait_s: Some(0.01),
        run_s: Some(0.49),
        exit_code: Some(if status == "FAILED" { 3 } else { 0 }),
        reason: (status == "FAILED").then(|| EVIL.to_string()),
        resources: Some(json!({"cores": 1, "partition": EVIL, "qos": null})),
        lineage: kind.into(),
        logs: vec![],
        ms: (t, Some(t + 10), Some(t + 500)),
    }
}

fn task(
    id: &str,
    status: &str,
    attempts: Vec<AttemptEvidence>,
    results: Option<Value>,
) -> TaskEvidence {
    let spec: TaskSpec = serde_json::from_value(json!({"id": id, "command": EVIL})).unwrap();
    TaskEvidence {
        id: id.into(),
        status: status.into(),
        template: None,
        params: Default::default(),
        command: Some(EVIL.into()),
        operator: "local".into(),
        cluster: None,
        resources: Resources {
            cores: 1,
            memory: None,
            walltime: None,
            partition: None,
            qos: None,
            account: None,
            gres: None,
            constraint: None,
        },
        depends_on: vec![],
        retries: 1,
        retries_used: 0,
        allow_failure: false,
        results,
        reason: None,
        exit_code: Some(0),
        attempts,
        inputs: vec![],
        outputs: vec![FileEntry {
            path: EVIL.into(),
            size: 1,
            sha256: "00".into(),
        }],
        missing_outputs: vec![],
        spec,
        effective_spec: None,
    }
}

fn bundle() -> Evidence {
    let tasks = vec![
        task(
            "flaky",
            "COMPLETED",
            vec![
                attempt(1, "run", None, "FAILED", 1_000),
                attempt(2, "retry", Some(1), "COMPLETED", 2_000),
            ],
            Some(json!({"final_energy": -5.07, "values": {"gap": 1.0}})),
        ),
        task(
            "sp",
            "COMPLETED",
            vec![attempt(1, "run", None, "COMPLETED", 1_500)],
            Some(json!({"final_energy": -5.1, "program": EVIL})),
        ),
        task("later", "PENDING", vec![], None),
    ];
    Evidence {
        schema: SCHEMA,
        run: RunInfo {
            id: "r1".into(),
            dir: "/runs/r1".into(),
            workspace: EVIL.into(),
            description: Some(EVIL.into()),
            created_at: iso(0),
            status: "RUNNING".into(),
            paused: None,
            core_budget: 2,
            exported_at: iso(3_000),
            matterstack_version: "0.1.0".into(),
            host: files::host_info(),
            workspace_sha256: "ab".into(),
            workspace_toml: String::new(),
            exported_ms: 3_000,
        },
        counts: BTreeMap::from([("COMPLETED".to_string(), 2), ("PENDING".to_string(), 1)]),
        software: Software {
            matterstack: "0.1.0".into(),
            programs: vec![],
            parsed: vec![],
        },
        tasks,
        events: vec![EventEvidence {
            at: iso(1),
            task: Some("flaky".into()),
            message: EVIL.into(),
        }],
    }
}

#[test]
fn the_page_escapes_every_user_string_and_references_nothing_outside() {
    let ev = bundle();
    let plots = svg::result_plots(&ev);
    let page = html::render(&ev, &plots);
    assert!(!page.contains("<script"), "raw markup leaked");
    assert!(!page.contains("<img"), "raw markup leaked");
    assert!(page.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
    for attr in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "url(http",
    ] {
        assert!(!page.contains(attr), "external reference {attr}");
    }
    assert!(!page.contains("xmlns"), "inline SVG needs no namespace URL");
}

#[test]
fn the_timeline_has_one_bar_per_attempt_and_an_arrow_per_continuation() {
    let ev = bundle();
    let t = svg::timeline(&ev);
    assert_eq!(t.matches("<rect class=\"bar ").count(), 3);
    assert_eq!(t.matches("class=\"lineage\"").count(), 1);
    assert!(t.contains("data-task=\"flaky\" data-attempt=\"2\""));
    assert!(t.contains("#2 retry"));
    // Colour by outcome.
    assert!(t.contains(r##"class="bar FAILED" data-task="flaky" data-attempt="1""##));
}

#[test]
fn shared_numeric_results_are_plotted_and_lone_ones_are_not() {
    let ev = bundle();
    let keys: Vec<String> = svg::result_plots(&ev).into_iter().map(|p| p.key).collect();
    assert_eq!(keys, ["final_energy"]);
}

#[test]
fn the_markdown_lists_tasks_and_lineage_without_raw_markup() {
    let md = markdown::render(&bundle());
    for id in ["flaky", "sp", "later"] {
        assert!(md.contains(&format!("| `{id}` |")), "{id} missing:\n{md}");
    }
    assert!(md.contains("| 2 | retry | #1 | COMPLETED |"), "{md}");
    // Prose is escaped; commands stay literal inside code spans.
    assert!(md.contains(r#"\<script\>alert("x")\</script\>"#), "{md}");
    assert!(md.contains(&format!("| `{EVIL}` |")), "{md}");
    for line in md.lines().filter(|l| l.contains("<script")) {
        let literal = ["\\<script", "`<script", "\"<script"];
        assert!(
            literal.iter().any(|l| line.contains(l)),
            "raw markup: {line}"
        );
    }
}
