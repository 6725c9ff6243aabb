//! Reverse proxying to a sandboxed process's Unix socket (the app, code-server): HTTP/1.1 with
//! streaming bodies, and WebSocket upgrades piped through.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, Request, Response, StatusCode, header};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;

/// Headers that belong to one hop, not to the request (RFC 9110 7.6.1).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "proxy-authorization",
    "proxy-authenticate",
];

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("the upstream is not answering: {0}")]
    Connect(std::io::Error),
    #[error("the upstream failed: {0}")]
    Upstream(hyper::Error),
}

fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_ascii_lowercase()))
        .filter(|n| !(keep_upgrade && n == "upgrade"))
        .filter_map(|n| HeaderName::from_bytes(n.as_bytes()).ok())
        .collect();
    for n in named {
        headers.remove(n);
    }
    for n in HOP_BY_HOP {
        if keep_upgrade && *n == "connection" {
            continue;
        }
        headers.remove(*n);
    }
    if !keep_upgrade {
        headers.remove(header::UPGRADE);
    }
}

/// A server on a Unix socket with a few kept-alive connections to it: opening a connection per
/// request costs the app's server more than the request itself.
pub struct Upstream {
    pub socket: PathBuf,
    idle: Mutex<Vec<SendRequest<Body>>>,
}

const MAX_IDLE: usize = 8;

impl Upstream {
    pub fn new(socket: PathBuf) -> Upstream {
        Upstream {
            socket,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Sends `req` and returns the answer; upgrades go through `forward` on a fresh connection.
    pub async fn send(&self, req: Request<Body>) -> Result<Response<Body>, ProxyError> {
        if req.headers().contains_key(header::UPGRADE) {
            return forward(&self.socket, req).await;
        }
        let (mut parts, body) = req.into_parts();
        strip_hop_by_hop(&mut parts.headers, false);
        let req = Request::from_parts(parts, body);
        let reused = {
            let mut idle = self.idle.lock();
            idle.retain(|s| !s.is_closed());
            let ready = idle.iter().position(|s| s.is_ready());
            ready.map(|i| idle.swap_remove(i))
        };
        let mut sender = match reused {
            Some(s) => s,
            None => {
                let stream = tokio::net::UnixStream::connect(&self.socket)
                    .await
                    .map_err(ProxyError::Connect)?;
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(ProxyError::Upstream)?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                sender
            }
        };
        let res = sender
            .send_request(req)
            .await
            .map_err(ProxyError::Upstream)?;
        // Back in the pool: it is ready again once this answer's body is read.
        {
            let mut idle = self.idle.lock();
            if idle.len() < MAX_IDLE {
                idle.push(sender);
            }
        }
        let (mut parts, body) = res.into_parts();
        strip_hop_by_hop(&mut parts.headers, false);
        Ok(Response::from_parts(parts, Body::new(body)))
    }

    /// Drops kept-alive connections (the app restarted).
    pub fn clear(&self) {
        self.idle.lock().clear();
    }
}

/// Sends `req` to the server on `socket` over a new connection and returns its answer. A
/// WebSocket (or other) upgrade is completed on both sides and the two connections are piped.
pub async fn forward(socket: &Path, req: Request<Body>) -> Result<Response<Body>, ProxyError> {
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(ProxyError::Connect)?;
    forward_over(stream, req).await
}

/// Like `forward`, to a server at a TCP address (`host:port`): another node of the cluster.
pub async fn forward_tcp(addr: &str, req: Request<Body>) -> Result<Response<Body>, ProxyError> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(ProxyError::Connect)?;
    let _ = stream.set_nodelay(true);
    forward_over(stream, req).await
}

async fn forward_over<S>(stream: S, mut req: Request<Body>) -> Result<Response<Body>, ProxyError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let upgrade = req.headers().get(header::UPGRADE).is_some();
    let client_upgrade = if upgrade {
        req.extensions_mut().remove::<hyper::upgrade::OnUpgrade>()
    } else {
        None
    };
    strip_hop_by_hop(req.headers_mut(), upgrade);
    if upgrade {
        req.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("upgrade"),
        );
    }
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(ProxyError::Upstream)?;
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    let mut res = sender
        .send_request(req)
        .await
        .map_err(ProxyError::Upstream)?;
    if res.status() == StatusCode::SWITCHING_PROTOCOLS {
        if let Some(client) = client_upgrade {
            let upstream = hyper::upgrade::on(&mut res);
            tokio::spawn(async move {
                if let (Ok(c), Ok(u)) = (client.await, upstream.await) {
                    let _ =
                        tokio::io::copy_bidirectional(&mut TokioIo::new(c), &mut TokioIo::new(u))
                            .await;
                }
            });
        }
        let (parts, _) = res.into_parts();
        return Ok(Response::from_parts(parts, Body::empty()));
    }
    let (mut parts, body) = res.into_parts();
    strip_hop_by_hop(&mut parts.headers, false);
    Ok(Response::from_parts(parts, Body::new(body)))
}

/// Removes the platform's own credentials (session token, cookie) before a request reaches a
/// process the candidate controls.
pub fn strip_credentials(headers: &mut HeaderMap) {
    headers.remove(header::AUTHORIZATION);
    let kept: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|c| !c.name().starts_with("iide_") && !c.name().starts_with("__Host-iide_"))
        .map(|c| c.stripped().to_string())
        .collect();
    headers.remove(header::COOKIE);
    if !kept.is_empty()
        && let Ok(v) = header::HeaderValue::from_str(&kept.join("; "))
    {
        headers.insert(header::COOKIE, v);
    }
}

/// Answer headers that change a browser's state for the whole host (cookies, stored data,
/// HSTS, other protocols, service-worker scope, reporting): a process the candidate controls
/// must not set them on the platform's host.
const BROWSER_STATE: &[&str] = &[
    "set-cookie",
    "set-cookie2",
    "clear-site-data",
    "strict-transport-security",
    "public-key-pins",
    "public-key-pins-report-only",
    "alt-svc",
    "service-worker-allowed",
    "nel",
    "report-to",
    "reporting-endpoints",
];

pub fn strip_browser_state(headers: &mut HeaderMap) {
    for n in BROWSER_STATE {
        headers.remove(*n);
    }
}

/// A path and query without the `token` parameter.
pub fn without_token(path: &str, query: Option<&str>) -> String {
    let rest: Vec<&str> = query
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("token="))
        .collect();
    if rest.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", rest.join("&"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_platforms_cookies_never_reach_the_app() {
        let mut h = axum::http::HeaderMap::new();
        h.append(
            "cookie",
            "iide_account=a; theme=dark; __Host-iide_account=b"
                .parse()
                .unwrap(),
        );
        h.append("cookie", "iide_s1=t;app_session=xyz".parse().unwrap());
        h.append("authorization", "Bearer t".parse().unwrap());
        super::strip_credentials(&mut h);
        assert_eq!(h.get_all("cookie").iter().count(), 1);
        assert_eq!(h["cookie"], "theme=dark; app_session=xyz");
        assert!(h.get("authorization").is_none());
    }

    #[test]
    fn an_answer_cannot_change_the_browsers_state_for_the_host() {
        let mut h = axum::http::HeaderMap::new();
        for (k, v) in [
            ("set-cookie", "iide_account=x; Path=/"),
            ("clear-site-data", "\"*\""),
            ("strict-transport-security", "max-age=1"),
            ("content-type", "text/html"),
            ("x-app", "kept"),
        ] {
            h.append(k, v.parse().unwrap());
        }
        super::strip_browser_state(&mut h);
        let mut left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        left.sort();
        assert_eq!(left, vec!["content-type", "x-app"]);
    }
}
