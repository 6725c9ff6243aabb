//! Just enough HTTP/1.1 to create interview-ide sessions before a run (one request per
//! connection, `Connection: close`), so the load generator needs no HTTP client stack.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `http://host:port[/prefix]` -> (`host:port`, `/prefix` without trailing slash).
pub fn split_base(base: &str) -> Result<(String, String), String> {
    let rest = base
        .strip_prefix("http://")
        .ok_or_else(|| format!("only http:// base URLs are supported: {base}"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    if authority.is_empty() {
        return Err(format!("no host in {base}"));
    }
    let authority = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Ok((authority, path.to_string()))
}

pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

pub async fn request(
    authority: &str,
    method: &str,
    path: &str,
    body: &str,
    api_key: Option<&str>,
) -> Result<Response, String> {
    let mut tcp = TcpStream::connect(authority)
        .await
        .map_err(|e| format!("connect {authority}: {e}"))?;
    let auth = api_key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(req.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw)
        .await
        .map_err(|e| format!("read: {e}"))?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("malformed HTTP response (no header end)")?;
    let head = std::str::from_utf8(&raw[..head_end]).map_err(|_| "non-UTF-8 HTTP header")?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("malformed HTTP status line")?;
    let body = &raw[head_end + 4..];
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("transfer-encoding:")
            && l.to_ascii_lowercase().contains("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    Ok(Response { status, body })
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = b
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk")?;
        let size_str = std::str::from_utf8(&b[..line_end]).map_err(|_| "bad chunk size")?;
        let size = usize::from_str_radix(size_str.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| "bad chunk size")?;
        b = &b[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if b.len() < size {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&b[..size]);
        b = b.get(size + 2..).unwrap_or(&[]);
    }
}

#[derive(serde::Deserialize)]
struct Created {
    id: String,
    interviewer_token: String,
}

/// Creates one interview-ide session and returns the path (with the token as query) of its
/// document `doc`, below the base URL's prefix: any node of a cluster serves it.
pub async fn create_session(
    authority: &str,
    prefix: &str,
    doc: &str,
    api_key: Option<&str>,
) -> Result<String, String> {
    // Retry 429s briefly: the per-address creation limit may be set low on the server.
    for attempt in 0..5 {
        let resp = request(
            authority,
            "POST",
            &format!("{prefix}/api/sessions"),
            "{}",
            api_key,
        )
        .await?;
        match resp.status {
            201 | 200 => {
                let c: Created = serde_json::from_slice(&resp.body)
                    .map_err(|e| format!("POST /api/sessions: unexpected body ({e})"))?;
                return Ok(format!(
                    "/api/sessions/{}/docs/{doc}?token={}",
                    c.id, c.interviewer_token
                ));
            }
            429 if attempt < 4 => {
                tokio::time::sleep(std::time::Duration::from_millis(500 << attempt)).await
            }
            s => {
                return Err(format!(
                    "POST /api/sessions answered {s}: {}{}",
                    String::from_utf8_lossy(&resp.body),
                    if s == 429 {
                        " (start the server with a higher session-creation limit)"
                    } else if s == 401 {
                        " (pass an API key with --api-key)"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    Err("POST /api/sessions: still rate limited".into())
}

/// Counters from an interview-ide `/metrics` page (Prometheus text), by metric name.
pub async fn metrics(
    authority: &str,
    prefix: &str,
) -> Option<std::collections::HashMap<String, f64>> {
    let resp = request(authority, "GET", &format!("{prefix}/metrics"), "", None)
        .await
        .ok()?;
    if resp.status != 200 {
        return None;
    }
    let text = String::from_utf8_lossy(&resp.body);
    Some(
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (name, value) = l.rsplit_once(' ')?;
                Some((name.trim().to_string(), value.trim().parse().ok()?))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            split_base("http://127.0.0.1:8080").unwrap(),
            ("127.0.0.1:8080".into(), "".into())
        );
        assert_eq!(
            split_base("http://h/prefix/").unwrap(),
            ("h:80".into(), "/prefix".into())
        );
        assert!(split_base("https://h").is_err());
    }

    #[test]
    fn responses_plain_and_chunked() {
        let r = parse_response(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (201, &b"{}"[..]));
        let r = parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap();
        assert_eq!(r.body, b"abcde");
        assert!(parse_response(b"garbage").is_err());
    }
}
