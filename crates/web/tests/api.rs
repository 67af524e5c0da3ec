//! The server over real HTTP on 127.0.0.1: the one-time token and the
//! session cookie, CSRF on every change, every documented route, bad input
//! named, downloads confined to the task's directory.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::OnceLock;

use matterstack_core::app::{init, InitOptions, Run};

struct Reply {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_lowercase(), v.to_string()))
        .collect::<HashMap<_, _>>();
    // Chunked bodies: join the chunks.
    let body = if headers
        .get("transfer-encoding")
        .is_some_and(|t| t == "chunked")
    {
        let mut out = String::new();
        let mut rest = rest;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&after[..n.min(after.len())]);
            rest = after.get(n + 2..).unwrap_or("");
        }
        out
    } else {
        rest.to_string()
    };
    Reply {
        status,
        headers,
        body,
    }
}

struct Server {
    addr: String,
    cookie: String,
    csrf: String,
    run_id: String,
    run: PathBuf,
    _ws: tempfile::TempDir,
}

/// One server for the whole test binary, over a workspace with one run of
/// two sleeping tasks and a finished one, signed in once.
fn server() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| {
        let home = tempfile::tempdir().unwrap().keep();
        // SAFETY: set once, before any thread of this test binary reads them.
        unsafe {
            std::env::set_var("HOME", &home);
            std::env::set_var("XDG_DATA_HOME", home.join("data"));
            std::env::set_var("XDG_CONFIG_HOME", home.join("config"));
            std::env::set_var("XDG_CACHE_HOME", home.join("cache"));
        }
        let ws = tempfile::tempdir().unwrap();
        std::fs::write(
            ws.path().join("matterstack.toml"),
            "[run]\ncores = 4\n[[tasks]]\nid = \"done\"\ncommand = \"echo hello > out.txt\"\n[[tasks]]\nid = \"nap1\"\ncommand = \"sleep 20\"\n[[tasks]]\nid = \"nap2\"\ncommand = \"sleep 20\"\n",
        )
        .unwrap();
        let run = init(ws.path(), &InitOptions { run_id: Some("r1".into()) }).unwrap();
        let mut r = Run::open(&run).unwrap();
        r.step().unwrap();
        for _ in 0..100 {
            r.step().unwrap();
            if r.view().unwrap().tasks[0].status == matterstack_core::app::TaskState::Completed {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let w = ws.path().to_path_buf();
        std::thread::spawn(move || {
            matterstack_web::serve(
                matterstack_web::Options {
                    workspaces: vec![w],
                    listen: None,
                    port: 0,
                    drive: false,
                    poll: std::time::Duration::from_secs(1),
                },
                |url| tx.send(url.to_string()).unwrap(),
            )
            .unwrap();
        });
        let url = rx.recv().unwrap();
        let rest = url.strip_prefix("http://").unwrap();
        let (addr, path) = rest.split_once('/').unwrap();
        let addr = addr.to_string();
        // Without the cookie: refused.
        assert_eq!(http(&addr, "GET", "/api/runs", &[], "").status, 401);
        assert_eq!(http(&addr, "GET", "/", &[], "").status, 401);
        // The token signs in once.
        let signed = http(&addr, "GET", &format!("/{path}"), &[], "");
        assert_eq!(signed.status, 303);
        let set = signed.headers["set-cookie"].clone();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
        let cookie = set.split(';').next().unwrap().to_string();
        assert_eq!(http(&addr, "GET", &format!("/{path}"), &[], "").status, 401, "the token is one-time");
        let page = http(&addr, "GET", "/", &[("Cookie", &cookie)], "");
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = page
            .body
            .split("name=\"csrf\" content=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_string();
        Server {
            addr,
            cookie,
            csrf,
            run_id: "r1".into(),
            run,
            _ws: ws,
        }
    })
}

fn get(path: &str) -> Reply {
    let s = server();
    http(&s.addr, "GET", path, &[("Cookie", &s.cookie)], "")
}

fn json(r: &Reply) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.body))
}

#[test]
fn every_documented_route_answers_and_the_document_lists_them() {
    let s = server();
    let doc = json(&get("/api/openapi.json"));
    for (method, path, _) in matterstack_web::openapi::ROUTES {
        assert!(
            doc["paths"][*path][*method].is_object(),
            "{method} {path} missing from the document"
        );
        let task = if path.ends_with("{action}") {
            "nap2"
        } else {
            "done"
        };
        let concrete = path
            .replace("{run}", &s.run_id)
            .replace("{task}", task)
            .replace("{action}", "cancel");
        let concrete = match *path {
            "/api/runs/{run}/tasks/{task}/file" => format!("{concrete}?name=out.txt"),
            "/api/events" => continue, // a stream: tested below
            "/api/runs/{run}" if *method == "delete" => format!("{concrete}?dry_run=true"),
            _ => concrete,
        };
        // (Other tests here act on the run at the same time: a delete's dry
        // run waits for their lock.)
        let mut r = Reply {
            status: 0,
            headers: HashMap::new(),
            body: String::new(),
        };
        for _ in 0..50 {
            r = http(
                &s.addr,
                &method.to_uppercase(),
                &concrete,
                &[
                    ("Cookie", &s.cookie),
                    ("X-CSRF-Token", &s.csrf),
                    ("Content-Type", "application/json"),
                ],
                if *method == "post" { "{}" } else { "" },
            );
            if !r.body.contains("being driven by another") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(
            r.status < 400,
            "{method} {concrete}: {} {}",
            r.status,
            r.body
        );
    }
    // And nothing else under /api.
    assert_eq!(get("/api/secrets").status, 404);
}

#[test]
fn runs_run_and_task_views() {
    let s = server();
    let runs = json(&get("/api/runs"));
    assert!(
        runs.as_array().unwrap().iter().any(|r| r["id"] == "r1"),
        "{runs}"
    );
    let run = json(&get("/api/runs/r1"));
    assert_eq!(run["tasks"].as_array().unwrap().len(), 3);
    // A page of a run: its counts are the whole run's.
    let page = json(&get("/api/runs/r1?offset=1&limit=1"));
    assert_eq!(page["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(page["tasks"][0]["id"], "nap1");
    let total: u64 = page["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, 3);
    assert!(run["cursor"].as_i64().unwrap() > 0);
    let task = json(&get("/api/runs/r1/tasks/done"));
    assert_eq!(task["task"]["status"], "COMPLETED");
    assert_eq!(task["spec"]["command"], "echo hello > out.txt");
    let page = get("/runs/r1");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("nap1") && page.body.contains("data-page=\"run\""));
    let page = get("/runs/r1/tasks/done");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("echo hello &gt; out.txt"),
        "values are escaped"
    );
    let _ = s;
}

#[test]
fn bad_input_is_named_and_changes_nothing() {
    let r = get("/api/runs/nosuch");
    assert_eq!(r.status, 404);
    assert!(json(&r)["error"].as_str().unwrap().contains("\"nosuch\""));
    let r = get("/runs/r1?page=0");
    assert_eq!(r.status, 400);
    assert!(r.body.contains("page \\\"0\\\""), "{}", r.body);
    let r = get("/api/runs/r1/tasks/done/logs?stream=bogus");
    assert_eq!(r.status, 400);
    assert!(json(&r)["error"]
        .as_str()
        .unwrap()
        .contains("stream \"bogus\""));
    let r = get("/api/runs/r1/tasks/nope");
    assert_eq!(r.status, 400);
    assert!(json(&r)["error"].as_str().unwrap().contains("nope"));
    let s = server();
    let r = http(
        &s.addr,
        "POST",
        "/api/runs/r1/tasks/done/restart",
        &[
            ("Cookie", &s.cookie),
            ("X-CSRF-Token", &s.csrf),
            ("Content-Type", "application/json"),
        ],
        "{\"walltime\": \"soon\"}",
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("soon"), "{}", r.body);
    let r = http(
        &s.addr,
        "POST",
        "/api/runs/r1/tasks/done/launch",
        &[("Cookie", &s.cookie), ("X-CSRF-Token", &s.csrf)],
        "",
    );
    assert_eq!(r.status, 404);
}

#[test]
fn a_change_needs_the_csrf_token() {
    let s = server();
    let status = |t: &str| {
        let v = json(&get("/api/runs/r1"));
        v["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == t)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status("nap1"), "RUNNING");
    let r = http(
        &s.addr,
        "POST",
        "/api/runs/r1/tasks/nap1/cancel",
        &[("Cookie", &s.cookie)],
        "",
    );
    assert_eq!(r.status, 403);
    let r = http(
        &s.addr,
        "POST",
        "/api/runs/r1/tasks/nap1/cancel",
        &[("Cookie", &s.cookie), ("X-CSRF-Token", "not-it")],
        "",
    );
    assert_eq!(r.status, 403);
    assert_eq!(status("nap1"), "RUNNING", "refused changes change nothing");
    let r = http(
        &s.addr,
        "POST",
        "/api/runs/r1/tasks/nap1/cancel",
        &[("Cookie", &s.cookie), ("X-CSRF-Token", &s.csrf)],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(status("nap1"), "CANCELLED");
    // A delete without the token is refused too, and the run stays.
    let r = http(
        &s.addr,
        "DELETE",
        "/api/runs/r1?remote=true",
        &[("Cookie", &s.cookie)],
        "",
    );
    assert_eq!(r.status, 403);
    assert!(s.run.join("state.sqlite").is_file());
}

#[test]
fn downloads_stay_in_the_task_directory() {
    let s = server();
    let r = get("/api/runs/r1/tasks/done/file?name=out.txt");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        std::fs::read_to_string(s.run.join("tasks/done/out.txt")).unwrap()
    );
    assert!(r.headers["content-disposition"].contains("out.txt"));
    for bad in [
        "../../state.sqlite",
        "..%2F..%2Fstate.sqlite",
        "/etc/passwd",
    ] {
        let r = get(&format!("/api/runs/r1/tasks/done/file?name={bad}"));
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    std::os::unix::fs::symlink("/etc/passwd", s.run.join("tasks/done/link")).unwrap();
    let r = get("/api/runs/r1/tasks/done/file?name=link");
    assert_eq!(r.status, 400, "a link out of the directory: {}", r.body);
}

#[test]
fn the_event_stream_sends_the_runs_changes() {
    let s = server();
    let mut stream = TcpStream::connect(&s.addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET /api/events?run=r1&since=0 HTTP/1.1\r\nHost: x\r\nCookie: {}\r\n\r\n",
        s.cookie
    )
    .unwrap();
    let mut got = String::new();
    let mut buf = [0u8; 4096];
    while !got.contains("\"task\":\"done\"") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "stream ended: {got}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(got.contains("text/event-stream"), "{got}");
    assert!(got.contains("id: "), "{got}");
}
