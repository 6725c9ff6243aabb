//! The HTTP API contract, line by line, and the role matrix.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn create_session_returns_tokens_and_links() {
    let t = TestServer::start().await;
    let s = create_session(
        &t.url(),
        json!({"title": "Backend pairing", "language": "typescript"}),
    )
    .await;
    let b = &s.body;
    for key in [
        "id",
        "interviewer_token",
        "candidate_token",
        "interviewer_url",
        "candidate_url",
    ] {
        assert!(b[key].is_string(), "{key} present");
    }
    assert_ne!(s.interviewer, s.candidate);
    assert!(
        s.interviewer.len() >= 22 && s.candidate.len() >= 22,
        "at least 128 bits each"
    );
    assert_eq!(
        b["interviewer_url"],
        format!("{}/session/{}?token={}", t.url(), s.id, s.interviewer)
    );
    assert_eq!(
        b["candidate_url"],
        format!("{}/session/{}?token={}", t.url(), s.id, s.candidate)
    );

    let got: Value = http()
        .get(format!("{}/api/sessions/{}", t.url(), s.id))
        .bearer_auth(&s.interviewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["title"], "Backend pairing");
    assert_eq!(got["language"], "typescript");
    assert_eq!(got["role"], "interviewer");
    assert!(got["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(got["participants"], json!([]));
    assert!(
        got.get("exercise_info").is_none(),
        "only workspace sessions have exercise_info: {got}"
    );
}

#[tokio::test]
async fn create_session_defaults_and_validation() {
    let t = TestServer::start().await;
    // An empty body is a session with defaults.
    let res = http()
        .post(format!("{}/api/sessions", t.url()))
        .bearer_auth(api_key(&t.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!id.is_empty());

    for (body, why) in [
        (json!({"language": "brainfuck"}), "unknown language"),
        (json!({"title": ""}), "empty title"),
        (json!({"title": "x".repeat(201)}), "title too long"),
        (json!({"title": 42}), "title not a string"),
        (json!({"colour": "red"}), "unknown field"),
    ] {
        let res = post_session(&t.url(), body).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{why}");
        assert!(
            res.json::<Value>().await.unwrap()["error"].is_string(),
            "{why}: JSON error"
        );
    }
    let res = http()
        .post(format!("{}/api/sessions", t.url()))
        .bearer_auth(api_key(&t.url()))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(
        res.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("JSON")
    );
}

#[tokio::test]
async fn oversized_body_is_413() {
    let t = TestServer::start_with(|c| c.server.max_body_bytes = 1024).await;
    let body = json!({"title": "x".repeat(5000)});
    let res = post_session(&t.url(), body).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.json::<Value>().await.unwrap()["error"].is_string());
}

#[tokio::test]
async fn session_creation_is_rate_limited_per_address() {
    let t = TestServer::start_with(|c| c.server.max_sessions_per_minute = 3).await;
    for _ in 0..3 {
        assert_eq!(post_session(&t.url(), json!({})).await.status(), 201);
    }
    let res = post_session(&t.url(), json!({})).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    assert!(res.json::<Value>().await.unwrap()["error"].is_string());
}

#[tokio::test]
async fn role_comes_from_the_token_in_header_query_or_cookie() {
    let t = TestServer::start().await;
    let s = new_session(&t.url()).await;
    let role_url = format!("{}/api/sessions/{}/role", t.url(), s.id);

    let by_header: Value = http()
        .get(&role_url)
        .bearer_auth(&s.candidate)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_header, json!({"role": "candidate"}));
    let by_query: Value = http()
        .get(format!("{role_url}?token={}", s.interviewer))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_query, json!({"role": "interviewer"}));

    // Join sets an HttpOnly, SameSite=Strict cookie that alone authenticates later requests.
    let res = http()
        .post(format!("{}/api/sessions/{}/join", t.url(), s.id))
        .bearer_auth(&s.candidate)
        .json(&json!({"name": "Ada"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(cookie.contains(&format!("Path=/api/sessions/{}", s.id)));
    let pair = cookie.split(';').next().unwrap().to_string();
    let by_cookie: Value = http()
        .get(&role_url)
        .header("cookie", &pair)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_cookie, json!({"role": "candidate"}));

    // An explicit token wins over the cookie: two tabs of one browser keep their own roles.
    let both: Value = http()
        .get(&role_url)
        .header("cookie", &pair)
        .bearer_auth(&s.interviewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(both, json!({"role": "interviewer"}));
}

#[tokio::test]
async fn join_returns_a_participant_and_lists_it() {
    let t = TestServer::start().await;
    let s = new_session(&t.url()).await;
    let join = |token: String, name: &'static str| {
        let url = format!("{}/api/sessions/{}/join", t.url(), s.id);
        async move {
            http()
                .post(url)
                .bearer_auth(token)
                .json(&json!({"name": name}))
                .send()
                .await
                .unwrap()
        }
    };
    let a: Value = join(s.interviewer.clone(), "Grace")
        .await
        .json()
        .await
        .unwrap();
    let b: Value = join(s.candidate.clone(), "  Alan  ")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(a["role"], "interviewer");
    assert_eq!(b["role"], "candidate");
    assert_eq!(b["name"], "Alan", "names are trimmed");
    assert_ne!(a["color"], b["color"], "participants get distinct colours");
    assert!(a["color"].as_str().unwrap().starts_with('#'));

    let got: Value = http()
        .get(format!("{}/api/sessions/{}", t.url(), s.id))
        .bearer_auth(&s.candidate)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = got["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Grace", "Alan"]);

    for bad in [
        json!({}),
        json!({"name": ""}),
        json!({"name": "x".repeat(65)}),
        json!({"name": "a\u{0007}b"}),
    ] {
        let res = http()
            .post(format!("{}/api/sessions/{}/join", t.url(), s.id))
            .bearer_auth(&s.candidate)
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn language_change_reaches_storage_and_the_live_document() {
    let t = TestServer::start().await;
    let s = new_session(&t.url()).await;
    let mut peer = Peer::connect(&t.ws_url(), &s.id, "main", &s.interviewer).await;
    assert!(
        peer.pump_until(WAIT, |p| p.meta("language").as_deref() == Some("python"))
            .await
    );

    // Either role may change the language; only the interviewer may rename the session.
    let res = http()
        .patch(format!("{}/api/sessions/{}", t.url(), s.id))
        .bearer_auth(&s.candidate)
        .json(&json!({"language": "javascript"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["language"], "javascript");
    assert!(
        peer.pump_until(WAIT, |p| p.meta("language").as_deref()
            == Some("javascript"))
            .await,
        "open editors switch"
    );

    let res = http()
        .patch(format!("{}/api/sessions/{}", t.url(), s.id))
        .bearer_auth(&s.candidate)
        .json(&json!({"title": "mine now"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = http()
        .patch(format!("{}/api/sessions/{}", t.url(), s.id))
        .bearer_auth(&s.interviewer)
        .json(&json!({"title": "Renamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["title"], "Renamed");
    let res = http()
        .patch(format!("{}/api/sessions/{}", t.url(), s.id))
        .bearer_auth(&s.interviewer)
        .json(&json!({"language": "cobol"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn languages_and_health_endpoints() {
    let t = TestServer::start().await;
    let langs: Value = http()
        .get(format!("{}/api/languages", t.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = langs
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    for needed in ["python", "javascript", "typescript"] {
        assert!(ids.contains(&needed));
    }
    assert_eq!(
        http()
            .get(format!("{}/healthz", t.url()))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        http()
            .get(format!("{}/readyz", t.url()))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let metrics = http()
        .get(format!("{}/metrics", t.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("iide_ws_connections "));
    let res = http()
        .get(format!("{}/api/nope", t.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.json::<Value>().await.unwrap()["error"].is_string());
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let t = TestServer::start().await;
    for path in ["/", "/session/abc", "/api/languages", "/healthz"] {
        let res = http()
            .get(format!("{}{path}", t.url()))
            .send()
            .await
            .unwrap();
        let h = res.headers();
        let csp = h.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(
            csp.contains("default-src 'self'")
                && !csp.contains("script-src 'self' 'unsafe-inline'"),
            "{path}"
        );
        assert_eq!(
            h.get("x-content-type-options").unwrap(),
            "nosniff",
            "{path}"
        );
        assert_eq!(h.get("referrer-policy").unwrap(), "no-referrer", "{path}");
        assert_eq!(
            h.get("cross-origin-opener-policy").unwrap(),
            "same-origin",
            "{path}"
        );
    }
}

/// Every session route against every kind of caller.
#[tokio::test]
async fn role_matrix() {
    let t = TestServer::start().await;
    let s = new_session(&t.url()).await;
    let other = new_session(&t.url()).await;
    let base = format!("{}/api/sessions/{}", t.url(), s.id);

    #[derive(Clone, Copy, Debug)]
    enum Who {
        Interviewer,
        Candidate,
        Nobody,
        Garbage,
        OtherSession,
    }
    let token = |who: Who| match who {
        Who::Interviewer => Some(s.interviewer.clone()),
        Who::Candidate => Some(s.candidate.clone()),
        Who::Nobody => None,
        Who::Garbage => Some("not-a-token".to_string()),
        Who::OtherSession => Some(other.interviewer.clone()),
    };
    let all = [
        Who::Interviewer,
        Who::Candidate,
        Who::Nobody,
        Who::Garbage,
        Who::OtherSession,
    ];
    // (method, path, body, expected status per caller)
    let routes: Vec<(&str, String, Value, [u16; 5])> = vec![
        ("GET", base.clone(), Value::Null, [200, 200, 401, 401, 401]),
        (
            "GET",
            format!("{base}/role"),
            Value::Null,
            [200, 200, 401, 401, 401],
        ),
        (
            "POST",
            format!("{base}/join"),
            json!({"name": "X"}),
            [201, 201, 401, 401, 401],
        ),
        (
            "PATCH",
            base.clone(),
            json!({"language": "python"}),
            [200, 200, 401, 401, 401],
        ),
        (
            "PATCH",
            base.clone(),
            json!({"title": "T"}),
            [200, 403, 401, 401, 401],
        ),
        (
            "PATCH",
            base.clone(),
            json!({"policy": {"time_limit_seconds": 5}}),
            [200, 403, 401, 401, 401],
        ),
        (
            "POST",
            format!("{base}/runs"),
            json!({"run_id": "r1", "language": "python", "status": "ok", "duration_ms": 12}),
            [201, 201, 401, 401, 401],
        ),
        (
            "GET",
            format!("{base}/events"),
            Value::Null,
            [200, 403, 401, 401, 401],
        ),
        (
            "GET",
            format!("{base}/replay/main"),
            Value::Null,
            [200, 403, 401, 401, 401],
        ),
        (
            "GET",
            format!("{base}/replay/notes"),
            Value::Null,
            [200, 403, 401, 401, 401],
        ),
        (
            "GET",
            format!("{base}/scorecard"),
            Value::Null,
            [200, 403, 401, 401, 401],
        ),
        (
            "PUT",
            format!("{base}/scorecard"),
            json!({"ratings": []}),
            [200, 403, 401, 401, 401],
        ),
        (
            "GET",
            format!("{base}/report"),
            Value::Null,
            [200, 403, 401, 401, 401],
        ),
        // Last: it ends the session.
        (
            "POST",
            format!("{base}/end"),
            Value::Null,
            [200, 403, 401, 401, 401],
        ),
    ];
    for (method, url, body, expected) in &routes {
        for (who, want) in all.iter().zip(expected) {
            let mut req = http().request(method.parse().unwrap(), url);
            if let Some(tok) = token(*who) {
                req = req.bearer_auth(tok);
            }
            if !body.is_null() {
                req = req.json(body);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status().as_u16(), *want, "{method} {url} as {who:?}");
            if *want >= 400 && *want != 409 {
                assert!(
                    res.json::<Value>().await.unwrap()["error"].is_string(),
                    "{method} {url} as {who:?}: JSON error"
                );
            }
        }
    }
    // Live documents: `main` for both roles, `notes` refused to the candidate at the upgrade.
    let ws = t.ws_url();
    let docs: [(&str, [u16; 5]); 4] = [
        ("main", [101, 101, 401, 401, 401]),
        ("runs", [101, 101, 401, 401, 401]),
        ("notes", [101, 403, 401, 401, 401]),
        ("secret", [404, 404, 401, 401, 401]),
    ];
    for (doc, expected) in docs {
        for (who, want) in all.iter().zip(expected) {
            let tok = token(*who).unwrap_or_default();
            let got = match Peer::try_connect(&ws, &s.id, doc, &tok).await {
                Ok(_) => 101,
                Err(status) => status,
            };
            assert_eq!(got, want, "doc {doc} as {who:?}");
        }
    }
    // Unknown session: 404 whatever the token.
    let res = http()
        .get(format!("{}/api/sessions/doesnotexist", t.url()))
        .bearer_auth(&s.interviewer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        Peer::try_connect(&ws, "doesnotexist", "main", &s.interviewer)
            .await
            .err(),
        Some(404)
    );
}

#[tokio::test]
async fn interviewer_sets_the_policy_and_open_pages_follow() {
    let t = TestServer::start().await;
    let s = new_session(&t.url()).await;
    let url = format!("{}/api/sessions/{}", t.url(), s.id);
    let got: Value = http()
        .get(&url)
        .bearer_auth(&s.candidate)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        got["policy"],
        json!({"execution_enabled": true, "time_limit_seconds": 10})
    );

    let mut page = Peer::connect(&t.ws_url(), &s.id, "main", &s.candidate).await;
    assert!(
        page.pump_until(WAIT, |p| p.meta("execution_enabled").as_deref()
            == Some("true"))
            .await
    );

    // The candidate cannot change it, not even together with a change they may make.
    let res = http()
        .patch(&url)
        .bearer_auth(&s.candidate)
        .json(&json!({"policy": {"execution_enabled": true}, "language": "go"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let unchanged: Value = http()
        .get(&url)
        .bearer_auth(&s.candidate)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        unchanged["language"], "python",
        "nothing applied from a refused request"
    );

    let res = http()
        .patch(&url)
        .bearer_auth(&s.interviewer)
        .json(&json!({"policy": {"execution_enabled": false, "time_limit_seconds": 3}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["policy"],
        json!({"execution_enabled": false, "time_limit_seconds": 3})
    );
    assert!(
        page.pump_until(WAIT, |p| p.meta("execution_enabled").as_deref()
            == Some("false")
            && p.meta("time_limit_seconds").as_deref() == Some("3"))
            .await
    );

    for bad in [
        json!({"policy": {"time_limit_seconds": 0}}),
        json!({"policy": {"time_limit_seconds": 121}}),
        json!({"policy": {"sudo": true}}),
    ] {
        let res = http()
            .patch(&url)
            .bearer_auth(&s.interviewer)
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }

    // With execution off, the candidate's runs are refused; the interviewer's still count.
    let run = json!({"run_id": "r1", "language": "python", "status": "ok", "duration_ms": 5});
    let res = http()
        .post(format!("{url}/runs"))
        .bearer_auth(&s.candidate)
        .json(&run)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let res = http()
        .post(format!("{url}/runs"))
        .bearer_auth(&s.interviewer)
        .json(&run)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = http()
        .post(format!("{url}/runs"))
        .bearer_auth(&s.interviewer)
        .json(
            &json!({"run_id": "r2", "language": "python", "status": "exploded", "duration_ms": 5}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn sandbox_workers_get_a_policy_without_network() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("index.html"), "<!doctype html>").unwrap();
    std::fs::write(
        dir.path().join("assets/sandbox-js.worker-abc.js"),
        "postMessage(1)",
    )
    .unwrap();
    std::fs::write(dir.path().join("assets/app-abc.js"), "1").unwrap();
    let web_dir = dir.path().to_path_buf();
    let t = TestServer::start_with(|c| c.server.web_dir = Some(web_dir)).await;

    let res = http()
        .get(format!("{}/assets/sandbox-js.worker-abc.js", t.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csp = res
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let host = t.url().trim_start_matches("http://").to_string();
    assert!(
        csp.contains(&format!("connect-src http://{host}/pyodide/;")),
        "{csp}"
    );
    assert!(csp.contains("default-src 'none'"), "{csp}");

    let res = http()
        .get(format!("{}/assets/app-abc.js", t.url()))
        .send()
        .await
        .unwrap();
    let csp = res
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        csp.contains("connect-src 'self'"),
        "ordinary assets keep the page policy"
    );
    // Paths cannot escape the web folder.
    let res = http()
        .get(format!("{}/assets/..%2F..%2Fetc%2Fpasswd", t.url()))
        .send()
        .await
        .unwrap();
    assert!(!res.text().await.unwrap().contains("root:"));
}

/// `/metrics` tells an outsider how busy the server is and what it runs: it answers a direct
/// request from this machine, or anyone with the metrics token, and nobody through a proxy.
#[tokio::test]
async fn metrics_answer_this_machine_or_the_metrics_token_only() {
    let s = TestServer::start().await;
    let metrics = format!("{}/metrics", s.url());
    assert_eq!(
        http().get(&metrics).send().await.unwrap().status(),
        StatusCode::OK
    );
    // Through a reverse proxy every request comes from loopback: the proxy's header gives it away.
    assert_eq!(
        http()
            .get(&metrics)
            .header("x-forwarded-for", "203.0.113.9")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        http()
            .get(&metrics)
            .header("forwarded", "for=203.0.113.9")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );

    let t =
        TestServer::start_with(|c| c.server.metrics_token = Some("metrics-secret".into())).await;
    let metrics = format!("{}/metrics", t.url());
    assert_eq!(
        http().get(&metrics).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        http()
            .get(&metrics)
            .bearer_auth("metrics-secreT")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let res = http()
        .get(&metrics)
        .bearer_auth("metrics-secret")
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("iide_"));
}

/// Served over https, every answer asks the browser to keep to https for the host; over plain
/// http (a laptop) it does not.
#[tokio::test]
async fn https_deployments_send_strict_transport_security() {
    let s = TestServer::start_with(|c| {
        c.server.public_url = Some("https://interviews.example.com".into())
    })
    .await;
    for path in ["/healthz", "/api/auth/me", "/"] {
        let res = http()
            .get(format!("{}{path}", s.url()))
            .send()
            .await
            .unwrap();
        let hsts = res
            .headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(hsts.starts_with("max-age=63072000"), "{path}: {hsts:?}");
    }
    let plain = TestServer::start().await;
    let res = http()
        .get(format!("{}/healthz", plain.url()))
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("strict-transport-security").is_none());
}
