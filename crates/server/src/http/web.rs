//! The built web app: embedded in the binary (or read from `--web-dir`), with the SPA fallback
//! and the security headers every page gets.

use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use super::AppState;

#[derive(RustEmbed)]
#[folder = "../../web/dist"]
struct Embedded;

/// Content-Security-Policy of every response: nothing from other origins, no inline scripts.
/// Inline styles are allowed because Monaco sets them; WebAssembly compilation is allowed for
/// the in-browser Python runtime.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; \
frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

/// The platform's policy: the above, and frames only from the untrusted origin (VS Code).
pub fn csp(untrusted_origin: &str) -> String {
    format!("{CSP}; frame-src {untrusted_origin}")
}

/// The policy of the code-run workers (assets named `sandbox*`): a dedicated worker takes its
/// CSP from its script's response, so code run there may evaluate code and load the Python
/// runtime from `/pyodide/`, and reach nothing else: not the API, not other origins.
fn sandbox_csp(origin: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'; connect-src {origin}/pyodide/; \
         worker-src 'none'; base-uri 'none'; form-action 'none'"
    )
}

pub async fn serve(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    if let Some(mut response) = asset(state.config.server.web_dir.as_deref(), path).await {
        if path.starts_with("assets/sandbox") {
            let scheme = if state.config.public_url().starts_with("https://") {
                "https"
            } else {
                "http"
            };
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            if let Ok(value) = HeaderValue::from_str(&sandbox_csp(&format!("{scheme}://{host}"))) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_SECURITY_POLICY, value);
            }
        }
        return response;
    }
    // Client-side routes (/session/...) get the app; a missing file with an extension is a 404.
    if path != "index.html"
        && Path::new(path).extension().is_some()
        && !path.starts_with("session/")
    {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    match asset(state.config.server.web_dir.as_deref(), "index.html").await {
        Some(response) => response,
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The web app is not built. Run ./scripts/start.sh (it builds web/ and then the server).",
        )
            .into_response(),
    }
}

async fn asset(web_dir: Option<&Path>, path: &str) -> Option<Response> {
    let bytes: Vec<u8> = match web_dir {
        Some(dir) => tokio::fs::read(safe_join(dir, path)?).await.ok()?,
        None => Embedded::get(path)?.data.into_owned(),
    };
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    // Hashed build outputs and the Python runtime (under a versioned folder) never change;
    // everything else is revalidated.
    let cache = if path.starts_with("assets/") || path.starts_with("pyodide/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Response::builder()
        .header(
            header::CONTENT_TYPE,
            HeaderValue::from_str(mime.as_ref()).ok()?,
        )
        .header(header::CACHE_CONTROL, cache)
        .body(Body::from(bytes))
        .ok()
}

/// Joins a request path under the web folder, refusing anything that could escape it.
fn safe_join(dir: &Path, path: &str) -> Option<PathBuf> {
    let mut out = dir.to_path_buf();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => out.push(part),
            _ => return None,
        }
    }
    out.is_file().then_some(out)
}
