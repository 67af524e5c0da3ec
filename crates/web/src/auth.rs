//! Who may talk to the server: the one-time token printed at start becomes
//! a session cookie (HttpOnly, SameSite=Strict); every request needs the
//! cookie, and every mutation also the session's CSRF token in the
//! `X-CSRF-Token` header.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::Shared;

/// The cookie that carries a session.
pub const COOKIE: &str = "ms_session";
/// The header a mutation carries its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A random token (256 bits, hex).
pub fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The server's tokens and sessions.
pub struct Auth {
    /// The start-up token, until it is exchanged for a session.
    one_time: Mutex<Option<String>>,
    /// Sessions: session id → its CSRF token.
    sessions: Mutex<HashMap<String, String>>,
}

impl Auth {
    /// Auth with the start-up token `token`.
    pub fn new(token: String) -> Auth {
        Auth {
            one_time: Mutex::new(Some(token)),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Exchanges the one-time token for a new session (once).
    fn exchange(&self, token: &str) -> Option<String> {
        let mut one = self.one_time.lock().unwrap_or_else(|p| p.into_inner());
        if one.as_deref() != Some(token) {
            return None;
        }
        *one = None;
        let session = random_token();
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(session.clone(), random_token());
        Some(session)
    }

    /// The CSRF token of a session.
    pub fn csrf(&self, session: &str) -> Option<String> {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(session)
            .cloned()
    }
}

/// The session a request's cookie names, if any.
pub fn session_of(req: &Request) -> Option<String> {
    let cookies = req.headers().get(header::COOKIE)?.to_str().ok()?;
    cookies.split(';').find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == COOKIE).then(|| v.to_string())
    })
}

fn refuse(status: StatusCode, why: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "error": why }).to_string(),
    )
        .into_response()
}

/// The middleware: exchange a `?token=`, then require a session, and for
/// mutations its CSRF token.
pub async fn guard(State(s): State<Shared>, req: Request, next: Next) -> Response {
    // `?token=…` on any page: a session cookie, and the same page without it.
    if let Some(q) = req.uri().query() {
        if let Some(token) = q.split('&').find_map(|kv| kv.strip_prefix("token=")) {
            return match s.auth.exchange(token) {
                Some(session) => Response::builder()
                    .status(StatusCode::SEE_OTHER)
                    .header(header::LOCATION, req.uri().path())
                    .header(
                        header::SET_COOKIE,
                        format!("{COOKIE}={session}; HttpOnly; SameSite=Strict; Path=/"),
                    )
                    .body(Body::empty())
                    .unwrap_or_default(),
                None => refuse(
                    StatusCode::UNAUTHORIZED,
                    "this token was already used or is not the server's: open the URL `matterstack serve` printed, in the browser that first opened it",
                ),
            };
        }
    }
    let Some(csrf) = session_of(&req).and_then(|sess| s.auth.csrf(&sess)) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "not signed in: open the URL `matterstack serve` printed (it carries a one-time token)",
        );
    };
    let mutation = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if mutation {
        let given = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if given != Some(csrf.as_str()) {
            return refuse(
                StatusCode::FORBIDDEN,
                "missing or wrong X-CSRF-Token header: a change must come from the pages this server served",
            );
        }
    }
    next.run(req).await
}
