//! The OpenAPI document of `/api`, kept by hand next to the routes: a test
//! checks that every route the router has is listed here and every route
//! listed here answers.

use axum::Json;
use serde_json::{json, Value};

/// Every API route: method, path (axum syntax), summary.
pub const ROUTES: &[(&str, &str, &str)] = &[
    ("get", "/api/openapi.json", "This document."),
    ("get", "/api/runs", "The runs (id, dir, workspace, state, counts, last activity, clusters)."),
    ("get", "/api/runs/{run}", "A run: state, counts, its tasks (RunView; ?offset=&limit= for a page), and the change-feed cursor."),
    ("delete", "/api/runs/{run}", "Delete a run (?remote=true: its cluster directories too; ?dry_run=true: only say what would go)."),
    ("get", "/api/runs/{run}/tasks/{task}", "A task: its view, the explanation of its state, and its resolved spec."),
    ("get", "/api/runs/{run}/tasks/{task}/logs", "A log's bytes from ?offset (stream=stdout|stderr|scheduler|file&name=); X-Log-Live, X-Log-Next-Offset."),
    ("get", "/api/runs/{run}/tasks/{task}/file", "Download one file of the task's directory (?name=, never through a link leaving it)."),
    ("post", "/api/runs/{run}/tasks/{task}/{action}", "cancel, retry or restart (body: {walltime, cores, memory, partition, qos, account, set})."),
    ("get", "/api/events", "Server-sent events: the run's change feed after ?since (?run=)."),
];

/// `GET /api/openapi.json`.
pub async fn document() -> Json<Value> {
    let mut paths = serde_json::Map::new();
    for (method, path, summary) in ROUTES {
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        entry[*method] = json!({
            "summary": summary,
            "parameters": params,
            "responses": {
                "200": {"description": "OK"},
                "400": {"description": "Bad input: {\"error\": …} naming the field and value"},
                "401": {"description": "Not signed in (open the URL `matterstack serve` printed)"},
                "403": {"description": "A change without the session's X-CSRF-Token header"},
                "404": {"description": "No such run, task or action"}
            }
        });
    }
    Json(json!({
        "openapi": "3.0.3",
        "info": {"title": "matterstack", "version": env!("CARGO_PKG_VERSION")},
        "components": {"securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": crate::auth::COOKIE}}},
        "security": [{"session": []}],
        "paths": paths
    }))
}
