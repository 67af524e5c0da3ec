//! Server-rendered pages (minijinja; templates and assets embedded in the
//! binary). Values are escaped by the template engine; the live parts are
//! `assets/app.js` over the JSON API.

use axum::extract::{Path, Query, Request, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use matterstack_core::app::runs::{self, RunFilter};
use matterstack_core::app::{Run, TaskState};
use minijinja::{context, Environment};
use serde_json::Value;

use crate::api::{blocking, run_dir, ApiError};
use crate::Shared;

const LAYOUT: &str = include_str!("../assets/layout.html");
const RUNS: &str = include_str!("../assets/runs.html");
const RUN: &str = include_str!("../assets/run.html");
const TASK: &str = include_str!("../assets/task.html");
const SCRIPT: &str = include_str!("../assets/app.js");
const STYLE: &str = include_str!("../assets/app.css");

fn env() -> Environment<'static> {
    let mut e = Environment::new();
    e.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    for (name, src) in [
        ("layout.html", LAYOUT),
        ("runs.html", RUNS),
        ("run.html", RUN),
        ("task.html", TASK),
    ] {
        // The embedded templates are ours and parse (a test renders each).
        let _ = e.add_template(name, src);
    }
    e
}

fn render(name: &str, ctx: minijinja::Value) -> Result<Html<String>, ApiError> {
    env()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map(Html)
        .map_err(|e| ApiError(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

fn csrf(s: &Shared, req: &Request) -> String {
    crate::auth::session_of(req)
        .and_then(|sess| s.auth.csrf(&sess))
        .unwrap_or_default()
}

fn ago(now: i64, then: Option<i64>) -> String {
    let Some(t) = then else {
        return String::new();
    };
    let s = ((now - t) / 1000).max(0);
    match s {
        0..=59 => format!("{s}s ago"),
        60..=3599 => format!("{}m ago", s / 60),
        3600..=86_399 => format!("{}h ago", s / 3600),
        _ => format!("{}d ago", s / 86_400),
    }
}

/// `GET /`: the runs.
pub async fn runs(State(s): State<Shared>, req: Request) -> Result<Response, ApiError> {
    let token = csrf(&s, &req);
    let ws = s.workspaces.clone();
    let rows = blocking(move || {
        let now = matterstack_core::store::now_ms();
        Ok(runs::list(&RunFilter {
            workspaces: ws,
            state: None,
        })?
        .into_iter()
        .map(|r| {
            let (done, total) = r.progress();
            serde_json::json!({
                "id": r.id,
                "state": r.state.as_str(),
                "done": done,
                "total": total,
                "failed": r.counts.get(&TaskState::Failed).copied().unwrap_or(0),
                "workspace": r.workspace.display().to_string(),
                "activity": ago(now, r.last_activity),
            })
        })
        .collect::<Vec<Value>>())
    })
    .await?;
    Ok(render(
        "runs.html",
        context! { title => "Runs", page => "runs", csrf => token, runs => rows },
    )?
    .into_response())
}

/// Tasks per page of the run page.
pub const PAGE: usize = 500;

/// `GET /runs/{run}[?page=N]`: a run's tasks (a page of [`PAGE`]), live.
pub async fn run(
    State(s): State<Shared>,
    Path(run): Path<String>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    req: Request,
) -> Result<Response, ApiError> {
    let token = csrf(&s, &req);
    let id = run.clone();
    let page: usize = match q.get("page") {
        None => 1,
        Some(p) => p.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
            ApiError(
                axum::http::StatusCode::BAD_REQUEST,
                format!("page \"{p}\": give a page number from 1"),
            )
        })?,
    };
    let (view, cursor) = blocking(move || {
        let dir = run_dir(&s, &run)?;
        let mut r = Run::open(&dir)?;
        let cursor = r.events_cursor()?;
        Ok((r.view_page((page - 1) * PAGE, Some(PAGE))?, cursor))
    })
    .await?;
    let total: u64 = view.counts.values().sum();
    let pages = (total as usize).div_ceil(PAGE).max(1);
    let counts: Vec<String> = view
        .counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(st, n)| format!("{n} {}", st.as_str().to_lowercase()))
        .collect();
    Ok(render(
        "run.html",
        context! {
            title => format!("Run {id}"), page => "run", csrf => token, run_id => id,
            cursor => cursor, run => minijinja::Value::from_serialize(&view), counts => counts.join(", "),
            page_no => page, pages => pages, total => total,
            prev => (page > 1).then(|| page - 1), next => (page < pages).then(|| page + 1),
        },
    )?
    .into_response())
}

/// `GET /runs/{run}/tasks/{task}`: a task's overview, live log, results.
pub async fn task(
    State(s): State<Shared>,
    Path((run, task)): Path<(String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    let token = csrf(&s, &req);
    let (id, tid) = (run.clone(), task.clone());
    let (view, explanation, spec, cursor) = blocking(move || {
        let dir = run_dir(&s, &run)?;
        let mut r = Run::open(&dir)?;
        let explanation = r.explain(&task)?;
        let spec = r.task_spec(&task)?;
        let cursor = r.events_cursor()?;
        let view = Some(r.task_view(&task)?);
        Ok((view, explanation, spec, cursor))
    })
    .await?;
    let command = match &spec.command {
        Some(matterstack_core::model::Command::Shell(c)) => c.clone(),
        Some(matterstack_core::model::Command::Argv(a)) => a.join(" "),
        None => String::new(),
    };
    let results = view
        .as_ref()
        .and_then(|t| t.results.as_ref())
        .map(|r| serde_json::to_string_pretty(r).unwrap_or_default())
        .unwrap_or_default();
    Ok(render(
        "task.html",
        context! {
            title => format!("{id} › {tid}"), page => "task", csrf => token, run_id => id,
            task_id => tid, cursor => cursor,
            task => minijinja::Value::from_serialize(&view),
            explanation => minijinja::Value::from_serialize(&explanation),
            spec => minijinja::Value::from_serialize(&spec),
            command => command, results => results,
        },
    )?
    .into_response())
}

/// `GET /assets/app.js`.
pub async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
        .into_response()
}

/// `GET /assets/app.css`.
pub async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}
