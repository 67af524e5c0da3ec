// matterstack's pages: live parts in plain JavaScript, over the JSON API.
"use strict";
const csrf = document.querySelector('meta[name="csrf"]').content;
const body = document.body.dataset;
const api = (path, opts = {}) => fetch(path, {
  credentials: "same-origin",
  ...opts,
  headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json", ...(opts.headers || {}) },
});
const say = (text) => { document.getElementById("message").textContent = text; };
const enc = encodeURIComponent;

async function act(task, action, changes) {
  const r = await api(`/api/runs/${enc(body.run)}/tasks/${enc(task)}/${action}`, {
    method: "POST", body: JSON.stringify(changes || {}),
  });
  const j = await r.json().catch(() => ({}));
  say(r.ok ? `${action}: ${task}` : `${action} ${task}: ${j.error}`);
  return r.ok;
}

function follow(onChange) {
  const es = new EventSource(`/api/events?run=${enc(body.run)}&since=${body.cursor || 0}`);
  es.onmessage = (m) => onChange(JSON.parse(m.data));
}

if (body.page === "runs") {
  const f = document.getElementById("filter");
  f.addEventListener("input", () => {
    const q = f.value.toLowerCase();
    for (const tr of document.querySelectorAll("#runs tbody tr")) {
      tr.hidden = q && !tr.textContent.toLowerCase().includes(q);
    }
  });
  for (const th of document.querySelectorAll("#runs th[data-key]")) {
    th.addEventListener("click", () => {
      const tb = document.querySelector("#runs tbody");
      const i = [...th.parentNode.children].indexOf(th);
      const rows = [...tb.rows].sort((a, b) => a.cells[i].textContent.localeCompare(b.cells[i].textContent));
      rows.forEach((r) => tb.appendChild(r));
    });
  }
  setInterval(async () => {
    const r = await api("/api/runs");
    if (!r.ok) return;
    for (const run of await r.json()) {
      const tr = document.querySelector(`#runs tr[data-run="${CSS.escape(run.id)}"]`);
      if (tr) { tr.cells[1].textContent = run.state; tr.cells[1].className = `state s-${run.state}`; }
    }
  }, 2000);
}

if (body.page === "run") {
  follow((c) => {
    const tr = document.querySelector(`#tasks tr[data-task="${CSS.escape(c.task)}"]`);
    if (!tr) return;
    if (c.kind === "task") {
      tr.querySelector(".status").textContent = c.status;
      tr.querySelector(".status").className = `status state s-${c.status}`;
      tr.querySelector(".why").textContent = c.reason || "";
    } else {
      if (c.job) tr.querySelector(".job").textContent = c.job;
      tr.querySelector(".attempts").textContent = c.n;
      if (c.status === "QUEUED" || c.status === "RUNNING") {
        tr.querySelector(".status").textContent = c.status;
        tr.querySelector(".status").className = `status state s-${c.status}`;
        if (c.status === "QUEUED") tr.querySelector(".why").textContent = c.detail || "queued";
      }
    }
  });
  document.getElementById("all").addEventListener("change", (e) => {
    document.querySelectorAll(".pick").forEach((b) => { b.checked = e.target.checked; });
  });
  for (const b of document.querySelectorAll("button[data-act]")) {
    b.addEventListener("click", async () => {
      const picked = [...document.querySelectorAll(".pick:checked")].map((x) => x.value);
      if (!picked.length) { say("select tasks first"); return; }
      if (!confirm(`${b.dataset.act} ${picked.length} task(s): ${picked.join(", ")}?`)) return;
      for (const t of picked) await act(t, b.dataset.act);
    });
  }
  document.getElementById("delete-run").addEventListener("click", async () => {
    const plan = await api(`/api/runs/${enc(body.run)}?remote=true&dry_run=true`, { method: "DELETE" });
    const p = await plan.json();
    if (!plan.ok) { say(p.error); return; }
    const remote = Object.entries(p.remote || {}).flatMap(([c, r]) => r.removed.map((d) => `${c}:${d}`));
    const what = [`the run directory ${p.dir}`, ...p.cancelled.map((t) => `cancel ${t}`), ...remote].join("\n");
    if (!confirm(`Delete run ${p.run}? This removes:\n${what}`)) return;
    const r = await api(`/api/runs/${enc(body.run)}?remote=true`, { method: "DELETE" });
    if (r.ok) location.href = "/"; else say((await r.json()).error);
  });
}

if (body.page === "task") {
  const log = document.getElementById("log");
  const stream = document.getElementById("stream");
  let offset = 0;
  async function tail() {
    const r = await fetch(`/api/runs/${enc(body.run)}/tasks/${enc(body.task)}/logs?stream=${stream.value}&offset=${offset}`,
      { credentials: "same-origin" });
    if (!r.ok) return true;
    const text = await r.text();
    if (text) { log.textContent += text; log.scrollTop = log.scrollHeight; }
    offset = Number(r.headers.get("X-Log-Next-Offset") || offset);
    return r.headers.get("X-Log-Live") === "true";
  }
  stream.addEventListener("change", () => { log.textContent = ""; offset = 0; tail(); });
  (async function loop() { const live = await tail(); setTimeout(loop, live ? 1000 : 5000); })();
  follow((c) => {
    if (c.task !== body.task || c.kind !== "task") return;
    const s = document.getElementById("task-state");
    s.textContent = c.status; s.className = `state s-${c.status}`;
  });
  for (const b of document.querySelectorAll("button[data-act]")) {
    b.addEventListener("click", async () => {
      const changes = {};
      const w = document.getElementById("walltime").value.trim();
      const c = document.getElementById("cores").value.trim();
      if (b.dataset.act === "restart") { if (w) changes.walltime = w; if (c) changes.cores = Number(c); }
      if (!confirm(`${b.dataset.act} ${body.task}?`)) return;
      await act(body.task, b.dataset.act, changes);
    });
  }
}
