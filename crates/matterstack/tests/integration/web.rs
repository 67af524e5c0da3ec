//! `matterstack serve` in a real browser: Debian's Chromium, headless,
//! driven over the DevTools protocol (a websocket; no browser download).
//! The pages follow a SLURM chain QUEUED → RUNNING → COMPLETED without a
//! reload, show a log, download a file byte for byte, cancel three selected
//! tasks, and delete a run with its cluster directories. Screenshots of the
//! pages go to `target/web-screenshots/` for a person to look at.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{ms_command, s, status, task_status};
use crate::testbed::testbed;

/// Chromium with one page, driven over its DevTools websocket.
struct Browser {
    child: Child,
    ws: tungstenite::WebSocket<TcpStream>,
    next: u64,
    _profile: tempfile::TempDir,
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser"].iter().find_map(|b| {
        let out = Command::new("sh")
            .args(["-c", &format!("command -v {b}")])
            .output()
            .ok()?;
        let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (!p.is_empty()).then(|| PathBuf::from(p))
    })
}

impl Browser {
    fn launch() -> Browser {
        let bin = chromium().expect("Debian's chromium is installed by scripts/testbed.sh");
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new(bin)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--window-size=1280,900",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let file = profile.path().join("DevToolsActivePort");
        let start = Instant::now();
        let port = loop {
            if let Ok(t) = std::fs::read_to_string(&file) {
                if let Some(p) = t.lines().next().and_then(|l| l.trim().parse::<u16>().ok()) {
                    break p;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "chromium did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        // A page target, then its websocket.
        let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            tcp,
            "PUT /json/new?about:blank HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        // DevTools keeps the connection open: read the body by its length.
        let mut reader = BufReader::new(tcp);
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        let mut raw = vec![0u8; len];
        reader.read_exact(&mut raw).unwrap();
        let body = String::from_utf8_lossy(&raw).into_owned();
        let target: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        let url = target["webSocketDebuggerUrl"].as_str().unwrap().to_string();
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (ws, _) = tungstenite::client(url.as_str(), stream).unwrap();
        let mut b = Browser {
            child,
            ws,
            next: 0,
            _profile: profile,
        };
        b.call("Page.enable", json!({}));
        b.call("Runtime.enable", json!({}));
        b
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        self.ws
            .send(tungstenite::Message::text(
                json!({"id": id, "method": method, "params": params}).to_string(),
            ))
            .unwrap();
        loop {
            let m = self.ws.read().unwrap();
            let Ok(text) = m.to_text() else { continue };
            let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    /// Evaluates `js` in the page (awaiting a promise) and returns its value.
    fn eval(&mut self, js: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
        );
        r["result"]["value"].clone()
    }

    fn goto(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url }));
        self.until("the page to load", Duration::from_secs(30), |b| {
            b.eval("document.readyState") == "complete" && b.eval("!!document.body") == true
        });
        // The confirmations a person would answer: yes.
        self.eval("window.confirm = () => true; true");
    }

    fn until(&mut self, what: &str, timeout: Duration, mut ok: impl FnMut(&mut Browser) -> bool) {
        let start = Instant::now();
        while !ok(self) {
            assert!(
                start.elapsed() < timeout,
                "waited for {what}; the page: {}",
                self.eval("document.body ? document.body.innerText : ''")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn screenshot(&mut self, name: &str) {
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../web-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(format!("{name}.png")),
            base64_decode(r["data"].as_str().unwrap()),
        )
        .unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter_map(val) {
        acc = (acc << 6) | u32::from(c);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// `matterstack serve` on `ws`; its URL with the one-time token.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(ws: &Path) -> Server {
        let mut child = ms_command()
            .args(["serve", s(ws), "--poll", "0.5"])
            .current_dir(ws)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        // Keep reading what it prints (a closed pipe would end it).
        std::thread::spawn(move || for _ in lines {});
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
            .unwrap_or_else(|| panic!("no URL in {first:?}"))
            .to_string();
        Server { child, url }
    }

    fn base(&self) -> &str {
        self.url.split("/?token=").next().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_pages_follow_a_slurm_chain_show_a_log_download_a_file_cancel_three_and_delete_a_run() {
    let tb = testbed();
    let c = crate::testbed::chain_and_naps(
        &tb,
        "sleep 3; echo hello-from-slurm; echo 'bytes: é ✓' > out.txt",
        "outputs = [\"out.txt\"]",
    );
    let run = c.ws.init("r");
    let server = Server::start(c.ws.path());
    let mut b = Browser::launch();
    // The token signs the browser in; the runs page lists the run.
    b.goto(&server.url);
    b.until("the runs page", Duration::from_secs(20), |b| {
        b.eval("document.querySelector('#runs tr[data-run=\"r\"]') !== null") == true
    });
    b.screenshot("runs");
    b.goto(&format!("{}/runs/r", server.base()));
    let state = |b: &mut Browser, task: &str| {
        b.eval(&format!(
            "(document.querySelector('#tasks tr[data-task=\"{task}\"] .status') || {{}}).textContent || ''"
        ))
        .as_str()
        .unwrap_or("")
        .to_string()
    };
    // The dependant's row goes QUEUED → RUNNING → COMPLETED, live.
    let mut seen: Vec<String> = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(90) {
        let st = state(&mut b, "then");
        if !st.is_empty() && seen.last() != Some(&st) {
            seen.push(st.clone());
        }
        if st == "COMPLETED" || st == "FAILED" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        crate::support::went_through(&seen, &["QUEUED", "RUNNING", "COMPLETED"]),
        "states seen in the page without a reload: {seen:?}"
    );
    b.screenshot("run");
    // Its page: the log, and a download equal to the run directory's file.
    b.goto(&format!("{}/runs/r/tasks/then", server.base()));
    b.until("the log", Duration::from_secs(30), |b| {
        b.eval("document.getElementById('log').textContent.includes('hello-from-slurm')") == true
    });
    b.screenshot("task");
    let got = b.eval(
        "fetch('/api/runs/r/tasks/then/file?name=out.txt').then(r => r.arrayBuffer()).then(a => Array.from(new Uint8Array(a)))",
    );
    let got: Vec<u8> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u8)
        .collect();
    assert_eq!(got, std::fs::read(run.join("tasks/then/out.txt")).unwrap());
    // Three sleeping tasks selected and cancelled from the run page.
    b.goto(&format!("{}/runs/r", server.base()));
    b.until("the naps running", Duration::from_secs(30), |b| {
        (1..=3).all(|i| state(b, &format!("nap{i}")) == "RUNNING")
    });
    b.eval(
        "for (const t of ['nap1','nap2','nap3']) document.querySelector(`.pick[value=\"${t}\"]`).checked = true; \
         document.querySelector('button[data-act=\"cancel\"]').click(); true",
    );
    b.until("three CANCELLED rows", Duration::from_secs(30), |b| {
        (1..=3).all(|i| state(b, &format!("nap{i}")) == "CANCELLED")
    });
    let st = status(&run);
    for i in 1..=3 {
        assert_eq!(
            task_status(&st, &format!("nap{i}"))["status"],
            "CANCELLED",
            "{st}"
        );
    }
    // Delete the run with its cluster directories.
    assert!(
        !c.job_infos().is_empty(),
        "the cluster holds the run's jobs"
    );
    b.eval("document.getElementById('delete-run').click(); true");
    b.until("back on the runs page", Duration::from_secs(30), |b| {
        b.eval("location.pathname") == "/"
    });
    assert!(!run.exists(), "the run directory is gone");
    assert!(c.job_infos().is_empty(), "the cluster directories are gone");
    b.screenshot("runs_after_delete");
}
