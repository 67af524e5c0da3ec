//! `matterstack serve`: the local web face. Pages are rendered on the
//! server ([`pages`]) with a little plain JavaScript for the live parts;
//! they use the JSON API ([`api`], described at `/api/openapi.json`). It
//! binds 127.0.0.1 only (unless `--listen`, with a warning), and every
//! request is authenticated ([`auth`]). The runs shown are driven by the
//! embedded driver.

pub mod api;
pub mod auth;
pub mod openapi;
pub mod pages;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use std::collections::BTreeMap;

use axum::routing::{delete, get, post, MethodRouter};
use axum::Router;
use matterstack_core::app::driver::{Driver, DriverHandle, DriverOptions};

/// How the server starts.
#[derive(Debug, Clone)]
pub struct Options {
    /// Workspaces whose runs are shown (all indexed runs when empty).
    pub workspaces: Vec<PathBuf>,
    /// Where to listen (default 127.0.0.1 on `port`).
    pub listen: Option<SocketAddr>,
    /// The port on 127.0.0.1 (0: any free one).
    pub port: u16,
    /// Drive the runs shown.
    pub drive: bool,
    /// The driver's pass interval.
    pub poll: Duration,
}

/// What every handler sees.
pub struct ServerState {
    /// Workspaces shown (empty: all indexed runs).
    pub workspaces: Vec<PathBuf>,
    /// Tokens and sessions.
    pub auth: auth::Auth,
    /// The embedded driver.
    pub driver: Option<DriverHandle>,
}

/// The state, shared.
pub type Shared = Arc<ServerState>;

/// The handler of an API route of [`openapi::ROUTES`].
///
/// Panics on a route without a handler: a test builds the router.
fn handler(method: &str, path: &str) -> MethodRouter<Shared> {
    match (method, path) {
        ("get", "/api/openapi.json") => get(openapi::document),
        ("get", "/api/runs") => get(api::list_runs),
        ("get", "/api/runs/{run}") => get(api::get_run),
        ("delete", "/api/runs/{run}") => delete(api::delete_run),
        ("get", "/api/runs/{run}/tasks/{task}") => get(api::get_task),
        ("get", "/api/runs/{run}/tasks/{task}/logs") => get(api::get_logs),
        ("get", "/api/runs/{run}/tasks/{task}/file") => get(api::get_file),
        ("post", "/api/runs/{run}/tasks/{task}/{action}") => post(api::act),
        ("get", "/api/events") => get(api::events),
        other => panic!("no handler for the documented route {other:?}"),
    }
}

/// The routes: the pages, and every API route of the OpenAPI document
/// (the router is built from it, so the two cannot differ).
pub fn router(state: Shared) -> Router {
    let mut api: BTreeMap<&str, MethodRouter<Shared>> = BTreeMap::new();
    for (method, path, _) in openapi::ROUTES {
        let h = handler(method, path);
        let merged = match api.remove(path) {
            Some(m) => m.merge(h),
            None => h,
        };
        api.insert(path, merged);
    }
    let mut r = Router::new()
        .route("/", get(pages::runs))
        .route("/runs/{run}", get(pages::run))
        .route("/runs/{run}/tasks/{task}", get(pages::task))
        .route("/assets/app.js", get(pages::script))
        .route("/assets/app.css", get(pages::style));
    for (path, m) in api {
        r = r.route(path, m);
    }
    r.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        auth::guard,
    ))
    .with_state(state)
}

/// Starts the server; `ready` gets the URL to open (with the one-time
/// token) once it listens. Runs until the process ends.
///
/// Fails when the address cannot be bound or a workspace's runs cannot be
/// read.
pub fn serve(opts: Options, ready: impl FnOnce(&str)) -> Result<(), Box<dyn std::error::Error>> {
    let dirs = matterstack_core::app::runs::targets(&opts.workspaces)?;
    let driver = if opts.drive {
        let mut d = Driver::new(DriverOptions {
            poll: opts.poll,
            forever: true,
            ..DriverOptions::default()
        });
        for dir in &dirs {
            d.add_dir(dir, None)?;
        }
        let h = d.handle();
        std::thread::spawn(move || d.drive(|_| {}));
        Some(h)
    } else {
        None
    };
    let token = auth::random_token();
    let workspaces = opts
        .workspaces
        .iter()
        .filter_map(|w| w.canonicalize().ok())
        .collect();
    let state = Arc::new(ServerState {
        workspaces,
        auth: auth::Auth::new(token.clone()),
        driver,
    });
    let addr = opts
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], opts.port)));
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        ready(&format!("http://{bound}/?token={token}"));
        axum::serve(listener, router(state)).await?;
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
