//! The JSON API under `/api` (the pages use it too). Every handler runs its
//! application call on a blocking thread; errors are JSON
//! `{"error": "…"}` with a 4xx naming the field and value for bad input.

use std::path::PathBuf;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::stream::{self, Stream};
use matterstack_core::app::overrides::Overrides;
use matterstack_core::app::runs::{self, RunFilter};
use matterstack_core::app::{LogStream, Run};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::Shared;

/// An API error: its status and message.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.0,
            [(header::CONTENT_TYPE, "application/json")],
            json!({ "error": self.1 }).to_string(),
        )
            .into_response()
    }
}

impl From<matterstack_core::Error> for ApiError {
    fn from(e: matterstack_core::Error) -> ApiError {
        let status = if e.is_user_error() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        ApiError(status, e.to_string())
    }
}

type R<T> = Result<T, ApiError>;

/// Runs `f` on a blocking thread (the application API does file and
/// network IO).
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> R<T> + Send + 'static) -> R<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

/// The directory of the run the runs list shows as `id`.
///
/// Fails with 404 naming the id.
pub fn run_dir(s: &Shared, id: &str) -> R<PathBuf> {
    let list = runs::list(&RunFilter {
        workspaces: s.workspaces.clone(),
        state: None,
    })?;
    list.into_iter()
        .find(|r| r.id == id)
        .map(|r| r.dir)
        .ok_or_else(|| {
            ApiError(
                StatusCode::NOT_FOUND,
                format!("run \"{id}\": no such run here; GET /api/runs lists them"),
            )
        })
}

/// `GET /api/runs`.
pub async fn list_runs(State(s): State<Shared>) -> R<Response> {
    let ws = s.workspaces.clone();
    let list = blocking(move || {
        Ok(runs::list(&RunFilter {
            workspaces: ws,
            state: None,
        })?)
    })
    .await?;
    Ok(Json(list).into_response())
}

/// The query of `GET /api/runs/{run}`: a page of its tasks.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// From the `offset`-th task (declaration order).
    #[serde(default)]
    offset: usize,
    /// At most this many tasks (default: all).
    #[serde(default)]
    limit: Option<usize>,
}

/// `GET /api/runs/{run}[?offset=&limit=]`.
pub async fn get_run(
    State(s): State<Shared>,
    Path(run): Path<String>,
    Query(q): Query<PageQuery>,
) -> R<Response> {
    let view = blocking(move || {
        let dir = run_dir(&s, &run)?;
        let mut r = Run::open(&dir)?;
        let cursor = r.events_cursor()?;
        let view = r.view_page(q.offset, q.limit)?;
        let mut v = serde_json::to_value(view).unwrap_or(Value::Null);
        v["cursor"] = json!(cursor);
        Ok(v)
    })
    .await?;
    Ok(Json(view).into_response())
}

/// `GET /api/runs/{run}/tasks/{task}`.
pub async fn get_task(
    State(s): State<Shared>,
    Path((run, task)): Path<(String, String)>,
) -> R<Response> {
    let v = blocking(move || {
        let dir = run_dir(&s, &run)?;
        let mut r = Run::open(&dir)?;
        let explanation = r.explain(&task)?;
        let spec = r.task_spec(&task)?;
        let t = r.task_view(&task)?;
        Ok(json!({ "task": t, "explanation": explanation, "spec": spec }))
    })
    .await?;
    Ok(Json(v).into_response())
}

/// The query of the logs route.
#[derive(Debug, Deserialize)]
pub struct LogQuery {
    /// `stdout` (default), `stderr`, `file` (with `name`), `scheduler`.
    #[serde(default)]
    stream: Option<String>,
    /// The file, for `stream=file`.
    #[serde(default)]
    name: Option<String>,
    /// Read from this byte.
    #[serde(default)]
    offset: Option<u64>,
}

/// `GET /api/runs/{run}/tasks/{task}/logs?stream=stdout|stderr|scheduler|file&name=&offset=`:
/// the log's bytes from `offset` (read from the cluster while the job
/// runs); headers `X-Log-Live` and `X-Log-Next-Offset` tell what comes next.
pub async fn get_logs(
    State(s): State<Shared>,
    Path((run, task)): Path<(String, String)>,
    Query(q): Query<LogQuery>,
) -> R<Response> {
    let (bytes, live, next) = blocking(move || {
        let dir = run_dir(&s, &run)?;
        let mut r = Run::open(&dir)?;
        let (stream, file) = match (q.stream.as_deref().unwrap_or("stdout"), q.name.as_deref()) {
            ("stdout", _) => (LogStream::Stdout, None),
            // The scheduler's own log of a job is its stderr (SLURM's
            // messages: TIME LIMIT, CANCELLED, OOM).
            ("stderr" | "scheduler", _) => (LogStream::Stderr, None),
            ("file", Some(n)) => (LogStream::Stdout, Some(n.to_string())),
            ("file", None) => {
                return Err(ApiError(
                    StatusCode::BAD_REQUEST,
                    "stream=file needs name=FILE (a file in the task's directory, e.g. name=output.dat)".into(),
                ))
            }
            (other, _) => {
                return Err(ApiError(
                    StatusCode::BAD_REQUEST,
                    format!("stream \"{other}\": use stdout, stderr, scheduler or file"),
                ))
            }
        };
        let mut target = r.log(&task, stream, file.as_deref(), None)?;
        if file.is_none() && stream == LogStream::Stdout {
            target = r.log_or_program_output(target)?;
        }
        let offset = q.offset.unwrap_or(0);
        let chunk = r.read_log(&target, offset)?;
        let next = offset + chunk.bytes.len() as u64;
        Ok((chunk.bytes, chunk.live, next))
    })
    .await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_string(),
            ),
            (
                header::HeaderName::from_static("x-log-live"),
                live.to_string(),
            ),
            (
                header::HeaderName::from_static("x-log-next-offset"),
                next.to_string(),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// The body of a restart or retry (every field optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Changes {
    walltime: Option<String>,
    cores: Option<u32>,
    memory: Option<String>,
    partition: Option<String>,
    qos: Option<String>,
    account: Option<String>,
    #[serde(default)]
    set: Vec<String>,
}

/// `POST /api/runs/{run}/tasks/{task}/{cancel|retry|restart}` (retry and
/// restart take `{walltime, cores, memory, partition, qos, account, set}`).
pub async fn act(
    State(s): State<Shared>,
    Path((run, task, action)): Path<(String, String, String)>,
    body: Option<Json<Changes>>,
) -> R<Response> {
    let driver = s.driver.clone();
    let out = blocking(move || {
        let dir = run_dir(&s, &run)?;
        let mut r = Run::open(&dir)?;
        let c = body.map(|b| b.0).unwrap_or_default();
        let o = Overrides {
            walltime: c.walltime,
            cores: c.cores,
            memory: c.memory,
            partition: c.partition,
            qos: c.qos,
            account: c.account,
            set: c.set,
        };
        let v = match action.as_str() {
            "cancel" => {
                serde_json::to_value(r.cancel(std::slice::from_ref(&task))?).unwrap_or(Value::Null)
            }
            "retry" => json!({ "retried": r.retry(&task, &o)? }),
            "restart" => serde_json::to_value(r.restart(&task, &o)?).unwrap_or(Value::Null),
            other => {
                return Err(ApiError(
                    StatusCode::NOT_FOUND,
                    format!("action \"{other}\": use cancel, retry or restart"),
                ))
            }
        };
        if action != "cancel" {
            if let Some(d) = &driver {
                d.add(dir);
            }
        }
        Ok(v)
    })
    .await?;
    Ok(Json(out).into_response())
}

/// The query of `DELETE /api/runs/{run}`.
#[derive(Debug, Deserialize)]
pub struct DeleteQuery {
    /// Also remove its directories on clusters.
    #[serde(default)]
    remote: bool,
    /// Only say what would go.
    #[serde(default)]
    dry_run: bool,
}

/// `DELETE /api/runs/{run}?remote=true[&dry_run=true]`.
pub async fn delete_run(
    State(s): State<Shared>,
    Path(run): Path<String>,
    Query(q): Query<DeleteQuery>,
) -> R<Response> {
    let driver = s.driver.clone();
    let report = blocking(move || {
        let dir = run_dir(&s, &run)?;
        if !q.dry_run {
            if let Some(d) = &driver {
                d.remove(dir.clone());
            }
        }
        Ok(
            Run::open(&dir)?.delete(matterstack_core::app::delete::DeleteOptions {
                remote: q.remote,
                dry_run: q.dry_run,
            })?,
        )
    })
    .await?;
    Ok(Json(report).into_response())
}

/// The query of the files route.
#[derive(Debug, Deserialize)]
pub struct FileQuery {
    /// The file, relative to the task's directory.
    name: String,
}

/// `GET /api/runs/{run}/tasks/{task}/file?name=…`: one file of the task's
/// directory, as it is (never through a link that leaves the directory).
pub async fn get_file(
    State(s): State<Shared>,
    Path((run, task)): Path<(String, String)>,
    Query(q): Query<FileQuery>,
) -> R<Response> {
    let (name, bytes) = blocking(move || {
        let dir = run_dir(&s, &run)?;
        matterstack_core::model::ids::check_id("task", &task)
            .map_err(|e| ApiError(StatusCode::BAD_REQUEST, e))?;
        let root = dir.join("tasks").join(&task);
        let path = matterstack_core::files::regular_file_in(&root, &q.name)
            .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("name \"{}\": {e}", q.name)))?;
        let bytes = std::fs::read(&path)
            .map_err(|e| ApiError(StatusCode::NOT_FOUND, format!("name \"{}\": {e}", q.name)))?;
        Ok((q.name, bytes))
    })
    .await?;
    let file = name.rsplit('/').next().unwrap_or("file").replace('"', "");
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// The query of the events route.
#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    /// The run to follow.
    run: String,
    /// The last change seen (0: from the start).
    #[serde(default)]
    since: i64,
}

/// `GET /api/events?run=&since=` (server-sent events): the run's change
/// feed after `since`, as it grows; each event's `id` is its cursor.
pub async fn events(
    State(s): State<Shared>,
    Query(q): Query<EventsQuery>,
) -> R<Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>>> {
    let dir = {
        let s = s.clone();
        let run = q.run.clone();
        blocking(move || run_dir(&s, &run)).await?
    };
    let state = (dir, q.since, Vec::<Event>::new());
    let stream = stream::unfold(state, |(dir, cursor, mut queue)| async move {
        loop {
            if let Some(e) = queue.pop() {
                return Some((Ok(e), (dir, cursor, queue)));
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            let d = dir.clone();
            let got = tokio::task::spawn_blocking(move || {
                Run::open(&d).and_then(|mut r| r.events_since(cursor, 1000))
            })
            .await;
            let Ok(Ok(batch)) = got else {
                continue;
            };
            let next = batch.cursor;
            let mut events: Vec<Event> = batch
                .changes
                .iter()
                .map(|c| {
                    Event::default()
                        .id(c.id.to_string())
                        .data(serde_json::to_string(c).unwrap_or_default())
                })
                .collect();
            events.reverse();
            queue = events;
            return match queue.pop() {
                Some(e) => Some((Ok(e), (dir, next, queue))),
                // Nothing new: a comment keeps the connection alive.
                None => Some((Ok(Event::default().comment("")), (dir, next, queue))),
            };
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
