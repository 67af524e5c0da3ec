use std::path::Path;

use serde_json::json;

use super::*;
use crate::Error;

fn parse(text: &str) -> Result<WorkspaceSpec, Vec<String>> {
    WorkspaceSpec::parse(text, Path::new("matterstack.toml")).map_err(|e| match e {
        Error::Spec { problems, .. } => problems,
        other => panic!("{other}"),
    })
}

fn ids(spec: &WorkspaceSpec) -> Vec<&str> {
    spec.tasks.iter().map(|t| t.id.as_str()).collect()
}

fn task<'a>(spec: &'a WorkspaceSpec, id: &str) -> &'a TaskSpec {
    spec.tasks.iter().find(|t| t.id == id).unwrap()
}

#[test]
fn a_list_gives_one_task_per_value_with_ids_from_the_values() {
    let spec = parse(
        r#"
        [[tasks]]
        id = "scan"
        command = "run --x {{ x }} --again {{x}} > out.txt"
        sweep = { x = [0.1, 0.2, 0.3] }
        "#,
    )
    .unwrap();
    assert_eq!(ids(&spec), ["scan.x-0.1", "scan.x-0.2", "scan.x-0.3"]);
    let t = task(&spec, "scan.x-0.2");
    assert_eq!(
        t.command,
        Some(Command::Shell("run --x 0.2 --again 0.2 > out.txt".into()))
    );
    assert_eq!(t.env["MS_SWEEP_X"], "0.2");
    assert_eq!(t.sweep_of.as_deref(), Some("scan"));
    assert!(t.sweep.is_empty());
}

#[test]
fn several_keys_make_the_grid_first_key_slowest() {
    let spec = parse(
        r#"
        [[tasks]]
        id = "g"
        command = ["prog", "{{ b }}", "--a={{ a }}"]
        sweep = { b = ["u", "v"], a = [1, 2, 3] }
        "#,
    )
    .unwrap();
    assert_eq!(
        ids(&spec),
        [
            "g.a-1.b-u",
            "g.a-1.b-v",
            "g.a-2.b-u",
            "g.a-2.b-v",
            "g.a-3.b-u",
            "g.a-3.b-v"
        ]
    );
    assert_eq!(
        task(&spec, "g.a-3.b-u").command,
        Some(Command::Argv(vec![
            "prog".into(),
            "u".into(),
            "--a=3".into()
        ]))
    );
}

#[test]
fn explicit_points() {
    let spec = parse(
        r#"
        [[tasks]]
        id = "p"
        command = "echo {{ x }} {{ y }}"
        sweep = { points = [{ x = 1, y = true }, { y = false, x = 5 }] }
        "#,
    )
    .unwrap();
    assert_eq!(ids(&spec), ["p.x-1.y-true", "p.x-5.y-false"]);
    assert_eq!(
        task(&spec, "p.x-5.y-false").command,
        Some(Command::Shell("echo 5 false".into()))
    );
}

#[test]
fn other_expressions_are_left_for_later() {
    let spec = parse(
        r#"
        [[tasks]]
        id = "opt"
        command = "true"
        [[tasks]]
        id = "s"
        command = "calc {{ x }} {{ tasks.opt.exit_code }} {{ y }} {{ x | int }} {{"
        depends_on = ["opt"]
        sweep = { x = [7] }
        "#,
    )
    .unwrap();
    // The command refers to an upstream value, so it is rendered at launch and
    // takes the point's values there (as data), not as text now.
    assert_eq!(
        task(&spec, "s.x-7").command,
        Some(Command::Shell(
            "calc {{ x }} {{ tasks.opt.exit_code }} {{ y }} {{ x | int }} {{".into()
        ))
    );
    assert_eq!(task(&spec, "s.x-7").sweep_point["x"], serde_json::json!(7));
}

#[test]
fn f3_a_sweep_value_that_looks_like_a_reference_is_data_not_a_template() {
    let spec = parse(
        r#"
        [[tasks]]
        id = "opt"
        command = "true"
        [[tasks]]
        id = "other"
        command = "true"
        [[tasks]]
        id = "s"
        command = "prog {{ x }} {{ tasks.opt.exit_code }}"
        sweep = { x = ["{{ tasks.other.status }} $(touch pwned)"] }
        "#,
    )
    .unwrap();
    let t = spec.tasks.iter().find(|t| t.sweep_of.is_some()).unwrap();
    // The value named no task: only the command's own reference is a dependency.
    assert_eq!(t.depends_on, vec!["opt".to_string()]);
    let mut up = std::collections::BTreeMap::new();
    up.insert(
        "opt".to_string(),
        crate::model::refs::Upstream {
            status: "COMPLETED".into(),
            exit_code: Some(0),
            ..Default::default()
        },
    );
    let ctx = crate::model::refs::Context::new(&up, &Default::default(), &t.sweep_point);
    assert_eq!(
        ctx.resolve(t).unwrap().command,
        Some(Command::Shell(
            "prog '{{ tasks.other.status }} $(touch pwned)' 0".into()
        ))
    );
}

#[test]
fn values_reach_env_walltime_inputs_and_are_quoted_in_shell_commands() {
    let spec = parse(
        r#"
        [[tasks]]
        id = "s"
        command = "echo {{ name }} > {{ name }}.txt"
        env = { LABEL = "run-{{ name }}", MS_SWEEP_NAME = "mine" }
        walltime = "{{ t }}"
        inputs = ["data/{{ t }}.in"]
        sweep = { points = [{ name = "a b;rm -rf x", t = "5m" }] }
        "#,
    )
    .unwrap();
    let t = &spec.tasks[0];
    assert_eq!(t.id, "s.name-a_b_rm_-rf_x.t-5m");
    assert_eq!(
        t.command,
        Some(Command::Shell(
            "echo 'a b;rm -rf x' > 'a b;rm -rf x'.txt".into()
        ))
    );
    assert_eq!(
        t.env["LABEL"], "run-a b;rm -rf x",
        "env values are not quoted"
    );
    assert_eq!(t.env["MS_SWEEP_NAME"], "mine", "the task's own env wins");
    assert_eq!(t.env["MS_SWEEP_T"], "5m");
    assert_eq!(t.walltime.as_deref(), Some("5m"));
    assert_eq!(t.walltime_secs(), Some(300));
    assert_eq!(t.inputs, ["data/5m.in"]);
}

#[test]
fn template_tasks_get_typed_params() {
    let spec = parse(
        r#"
        [[tasks]]
        id = "t"
        template = "xtb/opt"
        params = { charge = "{{ q }}", title = "q={{ q }}" }
        sweep = { q = [0, -1], gfn = ["1", "2"] }
        "#,
    )
    .unwrap();
    assert_eq!(spec.tasks.len(), 4);
    let t = task(&spec, "t.gfn-2.q--1");
    assert_eq!(t.params["charge"], json!(-1), "the typed value");
    assert_eq!(t.params["title"], json!("q=-1"));
    assert_eq!(t.params["gfn"], json!("2"), "an unused key becomes a param");
    assert!(
        !t.params.contains_key("q"),
        "a key used in a param is not added"
    );
    // The same key given as a param and swept is refused.
    let p = parse(
        "[[tasks]]\nid = \"t\"\ntemplate = \"xtb/opt\"\nparams = { gfn = \"2\" }\nsweep = { gfn = [\"1\"] }\n",
    )
    .unwrap_err();
    assert!(
        p[0].contains("params.gfn is given and gfn is also swept"),
        "{p:?}"
    );
}

#[test]
fn depending_on_a_swept_task_means_all_its_points() {
    let spec = parse(
        r#"
        [[tasks]]
        id = "prep"
        command = "true"
        [[tasks]]
        id = "scan"
        command = "echo {{ x }}"
        depends_on = ["prep"]
        sweep = { x = [1, 2] }
        [[tasks]]
        id = "gather"
        command = "cat ../scan.*/out"
        depends_on = ["scan", "prep"]
        "#,
    )
    .unwrap();
    assert_eq!(ids(&spec), ["prep", "scan.x-1", "scan.x-2", "gather"]);
    assert_eq!(task(&spec, "scan.x-1").depends_on, ["prep"]);
    assert_eq!(task(&spec, "scan.x-2").depends_on, ["prep"]);
    assert_eq!(
        task(&spec, "gather").depends_on,
        ["scan.x-1", "scan.x-2", "prep"]
    );
}

#[test]
fn colliding_ids_are_made_unique_and_odd_values_stay_valid_ids() {
    let spec = parse(
        r#"
        [[tasks]]
        id = "s.v-a_b"
        command = "true"
        [[tasks]]
        id = "s"
        command = "echo {{ v }}"
        sweep = { v = ["a b", "a/b", "..", "x.", "é"] }
        "#,
    )
    .unwrap();
    assert_eq!(
        ids(&spec),
        [
            "s.v-a_b",
            "s.v-a_b_2",
            "s.v-a_b_3",
            "s.v-._",
            "s.v-x_",
            "s.v-_"
        ]
    );
}

#[test]
fn a_point_id_is_validated_like_any_id() {
    let long = "a".repeat(120);
    let p = parse(&format!(
        "[[tasks]]\nid = \"{long}\"\ncommand = \"true\"\nsweep = {{ x = [12345678] }}\n"
    ))
    .unwrap_err();
    assert!(p[0].contains("characters long (at most 128)"), "{p:?}");
}

#[test]
fn bad_sweeps_name_task_field_value_and_fix() {
    let p = parse(
        r#"
        [[tasks]]
        id = "a"
        command = "true"
        sweep = { x = [] }
        [[tasks]]
        id = "b"
        command = "true"
        sweep = { x = [1, [2, 3]], y = [{ z = 1 }] }
        [[tasks]]
        id = "c"
        command = "true"
        sweep = { "1x" = [1], y = 3 }
        [[tasks]]
        id = "d"
        command = "true"
        sweep = { points = [{ x = 1 }, { y = 2 }, 3] }
        [[tasks]]
        id = "e"
        command = "true"
        sweep = { points = [{ x = 1 }], y = [1] }
        [[tasks]]
        id = "f"
        command = "true"
        sweep = { k = [1], K = [2] }
        [[tasks]]
        id = "g"
        command = "true"
        sweep_of = "x"
        "#,
    )
    .unwrap_err();
    let all = p.join("\n");
    for needle in [
        "task \"a\": sweep.x is an empty list; give at least one value",
        "task \"b\": sweep.x[1] = [2,3] is not a scalar; sweep values must be strings, numbers or booleans",
        "task \"b\": sweep.y[0] = {\"z\":1} is not a scalar",
        "task \"c\": sweep key \"1x\" is not an identifier",
        "task \"c\": sweep.y = 3 is not a list; give the values as a list, e.g. y = [1, 2, 3]",
        "task \"d\": sweep.points[1] names the keys [y] but sweep.points[0] names [x]",
        "task \"d\": sweep.points[2] = 3 is not a table of values",
        "task \"e\": sweep.points cannot be combined with other sweep keys",
        "task \"f\": sweep keys \"K\" and \"k\" differ only in case",
        "task \"g\": sweep_of and sweep_point are set by matterstack",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
}

#[test]
fn more_than_ten_thousand_points_are_refused() {
    let xs: Vec<String> = (0..101).map(|i| i.to_string()).collect();
    let list = xs.join(", ");
    let p = parse(&format!(
        "[[tasks]]\nid = \"big\"\ncommand = \"true\"\nsweep = {{ x = [{list}], y = [{list}] }}\n"
    ))
    .unwrap_err();
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].contains("sweep has 10201 (101 × 101) points; at most 10000 per task"),
        "{p:?}"
    );
    // Exactly 10,000 is fine.
    let ok: Vec<String> = (0..100).map(|i| i.to_string()).collect();
    let list = ok.join(", ");
    let spec = parse(&format!(
        "[[tasks]]\nid = \"big\"\ncommand = \"true\"\nsweep = {{ x = [{list}], y = [{list}] }}\n"
    ))
    .unwrap();
    assert_eq!(spec.tasks.len(), 10_000);
}

#[test]
fn files_from_a_swept_task_is_refused_with_the_way_out() {
    let p = parse(
        r#"
        [[tasks]]
        id = "s"
        command = "true"
        sweep = { x = [1, 2] }
        [[tasks]]
        id = "g"
        command = "true"
        depends_on = ["s"]
        files_from = { s = ["out"] }
        "#,
    )
    .unwrap_err();
    assert!(
        p[0].contains("files_from names the swept task \"s\"") && p[0].contains("\"s.x-1\""),
        "{p:?}"
    );
}

#[test]
fn a_spec_without_sweeps_is_unchanged_and_round_trips() {
    let text = "[[tasks]]\nid = \"a\"\ncommand = \"echo {{ x }}\"\n";
    let spec = parse(text).unwrap();
    assert_eq!(
        spec.tasks[0].command,
        Some(Command::Shell("echo {{ x }}".into()))
    );
    let json = serde_json::to_value(&spec.tasks[0]).unwrap();
    assert!(json.get("sweep").is_none() && json.get("sweep_of").is_none());
    let swept = parse("[[tasks]]\nid = \"a\"\ncommand = \"true\"\nsweep = { x = [1] }\n").unwrap();
    let json = serde_json::to_value(&swept.tasks[0]).unwrap();
    assert_eq!(json["sweep_of"], "a");
    let back: TaskSpec = serde_json::from_value(json).unwrap();
    assert_eq!(back, swept.tasks[0]);
}

#[test]
fn placeholders_are_whitespace_tolerant_and_exact() {
    let point: Point = vec![("x".into(), json!(3))];
    let mut used = HashSet::new();
    assert_eq!(
        substitute(
            "{{x}}{{ x }}{{   x\t}}{{ xx }}{{ x}",
            &point,
            false,
            &mut used
        ),
        "333{{ xx }}{{ x}"
    );
    assert_eq!(placeholder_only("  {{ x }} "), Some("x"));
    assert_eq!(placeholder_only("{{ x }}!"), None);
}
