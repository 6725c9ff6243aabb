//! Accounts and teams: sign-in, the security matrix (every route x every kind of caller),
//! session fixation, CSRF, logout, disabled users, revoked keys, brute force, the team's list,
//! the interviewer link (guest co-interviewer, rotation), invites, the audit log.

use std::time::{Duration, Instant};

use crate::common::*;
use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const PASSWORD: &str = "a-long-enough-password";

/// How a request identifies itself.
#[derive(Clone)]
enum Who {
    Nobody,
    Bearer(String),
    Cookie(String),
}

impl Who {
    fn apply(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Who::Nobody => req,
            Who::Bearer(token) => req.bearer_auth(token),
            Who::Cookie(cookie) => req.header("cookie", cookie),
        }
    }
}

/// A request the way the web app makes it (`X-Requested-With` on every call).
async fn call(
    base: &str,
    who: &Who,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = who
        .apply(http().request(method, format!("{base}{path}")))
        .header("x-requested-with", "interview-ide");
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

/// The `iide_account=...` pair of a response's Set-Cookie.
fn account_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("iide_account="))
        .map(|c| c.split(';').next().unwrap().to_string())
}

/// Signs in as the admin, and creates a new member of `team` (None: the admin's team) through an invite.
async fn invite_member(base: &str, admin: &Who, team: Option<&str>, email: &str) -> Who {
    let res = call(
        base,
        admin,
        Method::POST,
        "/api/admin/invites",
        Some(json!({"role": "interviewer", "team_id": team})),
    )
    .await;
    assert_eq!(res.status(), 201);
    let invite: Value = res.json().await.unwrap();
    let code = invite["code"].as_str().unwrap();
    assert!(
        invite["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/invite?code={code}"))
    );
    let res = call(
        base,
        &Who::Nobody,
        Method::POST,
        &format!("/api/auth/invites/{code}"),
        Some(json!({"email": email, "name": email, "password": PASSWORD})),
    )
    .await;
    assert_eq!(res.status(), 201, "accept the invite");
    let cookie = account_cookie(&res).expect("signed in on accepting");
    // An invite works once.
    let again = call(
        base,
        &Who::Nobody,
        Method::POST,
        &format!("/api/auth/invites/{code}"),
        Some(json!({"email": "x@example.com", "password": PASSWORD})),
    )
    .await;
    assert_eq!(again.status(), 404);
    Who::Cookie(cookie)
}

async fn new_key(base: &str, who: &Who, name: &str) -> (String, String) {
    let res = call(
        base,
        who,
        Method::POST,
        "/api/keys",
        Some(json!({"name": name})),
    )
    .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    (
        body["key"]["id"].as_str().unwrap().to_string(),
        body["secret"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn security_matrix_every_route_for_every_caller() {
    let t = TestServer::start().await;
    let base = t.url();
    let admin = Who::Cookie(sign_in(&base, ADMIN_EMAIL, ADMIN_PASSWORD).await);
    let res = call(
        &base,
        &admin,
        Method::POST,
        "/api/admin/teams",
        Some(json!({"name": "Other team"})),
    )
    .await;
    assert_eq!(res.status(), 201);
    let other_team = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let member = invite_member(&base, &admin, None, "member@example.com").await;
    let outsider = invite_member(&base, &admin, Some(&other_team), "outsider@example.com").await;
    let leaver = invite_member(&base, &admin, None, "leaver@example.com").await;
    let (_, leaver_key) = new_key(&base, &leaver, "leaver's script").await;
    let (revoked_id, revoked_key) = new_key(&base, &member, "old script").await;
    assert_eq!(
        call(
            &base,
            &member,
            Method::DELETE,
            &format!("/api/keys/{revoked_id}"),
            None
        )
        .await
        .status(),
        204
    );

    // The member creates the session: it belongs to the admin's (and the member's) team.
    let res = call(
        &base,
        &member,
        Method::POST,
        "/api/sessions",
        Some(json!({"title": "Secret title 7f3a"})),
    )
    .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    let candidate = Who::Bearer(created["candidate_token"].as_str().unwrap().to_string());
    let guest = Who::Bearer(created["interviewer_token"].as_str().unwrap().to_string());

    // Disabling works at once: the cookie and the key of the leaver stop.
    let users: Value = call(&base, &admin, Method::GET, "/api/admin/users", None)
        .await
        .json()
        .await
        .unwrap();
    let leaver_id = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "leaver@example.com")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        call(
            &base,
            &admin,
            Method::POST,
            &format!("/api/admin/users/{leaver_id}/disable"),
            None
        )
        .await
        .status(),
        204
    );

    let callers: Vec<(&str, Who)> = vec![
        ("signed out", Who::Nobody),
        ("candidate token", candidate.clone()),
        ("interviewer of another team", outsider.clone()),
        ("interviewer of the team", member.clone()),
        ("admin", admin.clone()),
        ("disabled user (cookie)", leaver.clone()),
        ("disabled user (key)", Who::Bearer(leaver_key.clone())),
        ("revoked key", Who::Bearer(revoked_key.clone())),
    ];
    let s = format!("/api/sessions/{id}");
    // Expected status per caller, in the order above.
    let routes: Vec<(Method, String, Option<Value>, [u16; 8])> = vec![
        (
            Method::GET,
            s.clone(),
            None,
            [401, 200, 403, 200, 200, 401, 401, 401],
        ),
        (
            Method::GET,
            format!("{s}/role"),
            None,
            [401, 200, 403, 200, 200, 401, 401, 401],
        ),
        (
            Method::PATCH,
            s.clone(),
            Some(json!({"title": "Renamed 7f3a"})),
            [401, 403, 403, 200, 200, 401, 401, 401],
        ),
        (
            Method::GET,
            format!("{s}/events"),
            None,
            [401, 403, 403, 200, 200, 401, 401, 401],
        ),
        (
            Method::GET,
            format!("{s}/scorecard"),
            None,
            [401, 403, 403, 200, 200, 401, 401, 401],
        ),
        (
            Method::GET,
            format!("{s}/report"),
            None,
            [401, 403, 403, 200, 200, 401, 401, 401],
        ),
        (
            Method::GET,
            format!("{s}/replay/main"),
            None,
            [401, 403, 403, 200, 200, 401, 401, 401],
        ),
        (
            Method::GET,
            format!("{s}/chat"),
            None,
            [401, 200, 403, 200, 200, 401, 401, 401],
        ),
        (
            Method::GET,
            format!("{s}/assistant"),
            None,
            [401, 200, 403, 200, 200, 401, 401, 401],
        ),
        // Interviewer-only document without an upgrade: past the role check it is a 400.
        (
            Method::GET,
            format!("{s}/docs/notes"),
            None,
            [401, 403, 403, 400, 400, 401, 401, 401],
        ),
        (
            Method::POST,
            "/api/sessions".into(),
            Some(json!({})),
            [401, 401, 201, 201, 201, 401, 401, 401],
        ),
        (
            Method::GET,
            "/api/sessions".into(),
            None,
            [401, 401, 200, 200, 200, 401, 401, 401],
        ),
        (
            Method::GET,
            "/api/auth/me".into(),
            None,
            [401, 401, 200, 200, 200, 401, 401, 401],
        ),
        (
            Method::GET,
            "/api/keys".into(),
            None,
            [401, 401, 200, 200, 200, 401, 401, 401],
        ),
        (
            Method::GET,
            "/api/keys?all=1".into(),
            None,
            [401, 401, 403, 403, 200, 401, 401, 401],
        ),
        (
            Method::POST,
            "/api/keys".into(),
            Some(json!({"name": "k"})),
            [401, 401, 201, 201, 201, 401, 401, 401],
        ),
        (
            Method::GET,
            "/api/admin/users".into(),
            None,
            [401, 401, 403, 403, 200, 401, 401, 401],
        ),
        (
            Method::GET,
            "/api/admin/teams".into(),
            None,
            [401, 401, 403, 403, 200, 401, 401, 401],
        ),
        (
            Method::POST,
            "/api/admin/teams".into(),
            Some(json!({"name": "T"})),
            [401, 401, 403, 403, 201, 401, 401, 401],
        ),
        (
            Method::POST,
            "/api/admin/invites".into(),
            Some(json!({})),
            [401, 401, 403, 403, 201, 401, 401, 401],
        ),
        (
            Method::GET,
            "/api/admin/audit".into(),
            None,
            [401, 401, 403, 403, 200, 401, 401, 401],
        ),
        (
            Method::GET,
            "/api/admin/sessions".into(),
            None,
            [401, 401, 403, 403, 200, 401, 401, 401],
        ),
        (
            Method::GET,
            format!("/api/admin/sessions/{id}/report"),
            None,
            [401, 401, 403, 403, 200, 401, 401, 401],
        ),
        (
            Method::POST,
            format!("/api/admin/users/{leaver_id}/disable"),
            None,
            [401, 401, 403, 403, 204, 401, 401, 401],
        ),
        // Last: it replaces the interviewer link.
        (
            Method::POST,
            format!("{s}/interviewer-link"),
            None,
            [401, 403, 403, 200, 200, 401, 401, 401],
        ),
    ];
    let mut failures = Vec::new();
    for (method, path, body, expected) in &routes {
        for ((name, who), want) in callers.iter().zip(expected) {
            let res = call(&base, who, method.clone(), path, body.clone()).await;
            let status = res.status().as_u16();
            let text = res.text().await.unwrap_or_default();
            if status != *want {
                failures.push(format!(
                    "{method} {path} as {name}: {status}, expected {want}: {text}"
                ));
            }
            // No leak: a refused caller never sees the session's title.
            if status >= 400 && text.contains("7f3a") {
                failures.push(format!(
                    "{method} {path} as {name}: the refusal shows the title"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Every other route of a session, and the library: a refused caller gets 401 (no valid
    // account or link) or 403 (the wrong role or team), never an answer; an allowed caller is
    // never refused (what it gets past the check, e.g. 404 for a pad's workspace, is the route's
    // business). Who may call it: both roles, the interviewer only, or the candidate only.
    let (both, interviewer, candidate_only) = ("both", "interviewer", "candidate");
    let session_routes: Vec<(Method, String, Option<Value>, &str)> = vec![
        (Method::GET, format!("{s}/question"), None, both),
        (
            Method::POST,
            format!("{s}/tests"),
            Some(json!({"language": "python", "code": "print(1)"})),
            both,
        ),
        (
            Method::POST,
            format!("{s}/execute"),
            Some(json!({"language": "bash", "code": "echo hi"})),
            both,
        ),
        (
            Method::POST,
            format!("{s}/runs"),
            Some(
                json!({"language": "python", "code": "print(1)", "stdout": "1\n", "stderr": "", "exit_code": 0, "duration_ms": 1}),
            ),
            both,
        ),
        (
            Method::POST,
            format!("{s}/activity"),
            Some(json!({"kind": "paste", "chars": 10})),
            both,
        ),
        (
            Method::POST,
            format!("{s}/join"),
            Some(json!({"name": "X"})),
            both,
        ),
        (
            Method::POST,
            format!("{s}/chat"),
            Some(json!({"message": "hi"})),
            candidate_only,
        ),
        (Method::GET, format!("{s}/docs/main"), None, both),
        (Method::GET, format!("{s}/workspace"), None, both),
        (Method::GET, format!("{s}/files"), None, both),
        (Method::GET, format!("{s}/terminal"), None, both),
        (
            Method::PUT,
            format!("{s}/scorecard"),
            Some(json!({"ratings": [], "summary": ""})),
            interviewer,
        ),
        (
            Method::PATCH,
            format!("{s}/assistant"),
            Some(json!({"mode": "off"})),
            interviewer,
        ),
        (Method::GET, format!("{s}/app/stats"), None, interviewer),
        (Method::GET, format!("{s}/chaos/status"), None, interviewer),
        (
            Method::POST,
            format!("{s}/chaos/activate"),
            Some(json!({"scenario": "net_errors"})),
            interviewer,
        ),
        (
            Method::POST,
            format!("{s}/chaos/checks"),
            Some(json!({})),
            interviewer,
        ),
        (
            Method::POST,
            format!("{s}/chaos/reset"),
            Some(json!({})),
            interviewer,
        ),
    ];
    for (method, path, body, allowed) in &session_routes {
        for ((name, who), fixed) in callers.iter().zip([
            Some(401),
            None,
            Some(403),
            None,
            None,
            Some(401),
            Some(401),
            Some(401),
        ]) {
            let want = match (*name, fixed) {
                (_, Some(code)) => Some(code),
                ("candidate token", _) if *allowed == interviewer => Some(403),
                ("interviewer of the team" | "admin", _) if *allowed == candidate_only => Some(403),
                _ => None,
            };
            let res = call(&base, who, method.clone(), path, body.clone()).await;
            let status = res.status().as_u16();
            let text = res.text().await.unwrap_or_default();
            match want {
                Some(code) if status != code => failures.push(format!(
                    "{method} {path} as {name}: {status}, expected {code}: {text}"
                )),
                None if status == 401 || status == 403 => failures.push(format!(
                    "{method} {path} as {name}: refused ({status}): {text}"
                )),
                _ => {}
            }
            if status >= 400 && text.contains("7f3a") {
                failures.push(format!(
                    "{method} {path} as {name}: the refusal shows the title"
                ));
            }
        }
    }
    // A question of the team (the admin's and the member's): another team's interviewer finds
    // nothing there, a candidate or a signed-out caller not even the library.
    let question = json!({"title": "Team matrix", "description": "x", "tests": [{"name": "a", "input": "", "expected": "1\n", "hidden": true}]});
    let res = call(
        &base,
        &member,
        Method::POST,
        "/api/questions",
        Some(question.clone()),
    )
    .await;
    assert_eq!(res.status(), 201);
    let q = format!(
        "/api/questions/{}",
        res.json::<Value>().await.unwrap()["id"].as_str().unwrap()
    );
    let library: Vec<(Method, String, Option<Value>, [u16; 8])> = vec![
        (
            Method::GET,
            "/api/questions".into(),
            None,
            [401, 401, 200, 200, 200, 401, 401, 401],
        ),
        (
            Method::POST,
            "/api/questions".into(),
            Some(question.clone()),
            [401, 401, 201, 201, 201, 401, 401, 401],
        ),
        (
            Method::GET,
            q.clone(),
            None,
            [401, 401, 404, 200, 200, 401, 401, 401],
        ),
        (
            Method::PUT,
            q.clone(),
            Some(question.clone()),
            [401, 401, 404, 200, 200, 401, 401, 401],
        ),
        (
            Method::DELETE,
            "/api/questions/no-such-question".into(),
            None,
            [401, 401, 404, 404, 404, 401, 401, 401],
        ),
        (
            Method::PUT,
            "/api/admin/questions/matrix-question".into(),
            Some(
                json!({"title": "Matrix", "description": "x", "tests": [{"name": "a", "input": "", "expected": "1\n"}]}),
            ),
            [401, 401, 403, 403, 200, 401, 401, 401],
        ),
        // The server's library is read-only through the team's routes.
        (
            Method::PUT,
            "/api/questions/matrix-question".into(),
            Some(question.clone()),
            [401, 401, 403, 403, 403, 401, 401, 401],
        ),
    ];
    for (method, path, body, expected) in &library {
        for ((name, who), want) in callers.iter().zip(expected) {
            let status = call(&base, who, method.clone(), path, body.clone())
                .await
                .status()
                .as_u16();
            if status != *want {
                failures.push(format!(
                    "{method} {path} as {name}: {status}, expected {want}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // The other team's list does not show the session; the team's does, with who made it.
    let theirs: Value = call(&base, &outsider, Method::GET, "/api/sessions", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(!theirs.to_string().contains(&id));
    let ours: Value = call(&base, &member, Method::GET, "/api/sessions", None)
        .await
        .json()
        .await
        .unwrap();
    let row = ours["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .expect("listed for the team");
    assert_eq!(row["created_by"], "member@example.com");
    assert_eq!(row["status"], "open");
    assert_eq!(row["kind"], "pad");

    // The old interviewer link stopped with the rotation.
    assert_eq!(
        call(&base, &guest, Method::GET, &s, None).await.status(),
        401
    );
}

#[tokio::test]
async fn a_team_member_opens_a_session_without_the_link_and_a_guest_uses_the_link() {
    let t = TestServer::start().await;
    let base = t.url();
    let admin = Who::Cookie(sign_in(&base, ADMIN_EMAIL, ADMIN_PASSWORD).await);
    let member = invite_member(&base, &admin, None, "colleague@example.com").await;
    let s = new_session(&base).await;

    // The colleague: interviewer by the team, on HTTP and on the live document (cookie only).
    let view: Value = call(
        &base,
        &member,
        Method::GET,
        &format!("/api/sessions/{}", s.id),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(view["role"], "interviewer");
    let Who::Cookie(cookie) = &member else {
        unreachable!()
    };
    let mut req = format!("{}/api/sessions/{}/docs/notes", t.ws_url(), s.id)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("the team member's cookie opens the notes");
    assert!(
        tokio::time::timeout(WAIT, ws.next()).await.is_ok(),
        "the server speaks y-websocket"
    );

    // A guest co-interviewer has the link and no account.
    let guest = Who::Bearer(s.interviewer.clone());
    let view: Value = call(
        &base,
        &guest,
        Method::GET,
        &format!("/api/sessions/{}", s.id),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(view["role"], "interviewer");
    // Rotating gives a new link; the old one stops.
    let res = call(
        &base,
        &member,
        Method::POST,
        &format!("/api/sessions/{}/interviewer-link", s.id),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let rotated: Value = res.json().await.unwrap();
    let new_token = rotated["interviewer_token"].as_str().unwrap();
    assert!(
        rotated["interviewer_url"]
            .as_str()
            .unwrap()
            .ends_with(new_token)
    );
    assert_eq!(
        call(
            &base,
            &guest,
            Method::GET,
            &format!("/api/sessions/{}", s.id),
            None
        )
        .await
        .status(),
        401
    );
    assert_eq!(
        call(
            &base,
            &Who::Bearer(new_token.into()),
            Method::GET,
            &format!("/api/sessions/{}", s.id),
            None
        )
        .await
        .status(),
        200
    );
    // The candidate link is untouched.
    assert_eq!(
        call(
            &base,
            &Who::Bearer(s.candidate.clone()),
            Method::GET,
            &format!("/api/sessions/{}", s.id),
            None
        )
        .await
        .status(),
        200
    );
}

#[tokio::test]
async fn sign_in_cookie_logout_fixation_and_csrf() {
    let t = TestServer::start().await;
    let base = t.url();
    let login = |body: Value| {
        http()
            .post(format!("{base}/api/auth/login"))
            .json(&body)
            .send()
    };

    // Wrong email and wrong password: one answer.
    let a = login(json!({"email": "nobody@example.com", "password": ADMIN_PASSWORD}))
        .await
        .unwrap();
    let b = login(json!({"email": ADMIN_EMAIL, "password": "not-the-password"}))
        .await
        .unwrap();
    assert_eq!(
        (a.status(), b.status()),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert!(a.headers().get("set-cookie").is_none());
    assert_eq!(a.text().await.unwrap(), b.text().await.unwrap());

    let res = login(json!({"email": "Admin@Example.com", "password": ADMIN_PASSWORD}))
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "emails compare without case");
    let set_cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(attr), "{attr} in {set_cookie}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "no Secure flag over plain http"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["email"], ADMIN_EMAIL);
    assert_eq!(body["user"]["role"], "admin");
    assert!(
        !body.to_string().contains("argon2"),
        "no password hash in answers"
    );
    let first = Who::Cookie(set_cookie.split(';').next().unwrap().to_string());
    assert_eq!(
        call(&base, &first, Method::GET, "/api/auth/me", None)
            .await
            .status(),
        200
    );

    // Fixation: signing in again in a browser that holds a cookie gives a new one and ends the old.
    let Who::Cookie(first_cookie) = &first else {
        unreachable!()
    };
    let res = http()
        .post(format!("{base}/api/auth/login"))
        .header("cookie", first_cookie)
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let second = Who::Cookie(account_cookie(&res).unwrap());
    assert_ne!(account_cookie(&res).unwrap(), *first_cookie);
    assert_eq!(
        call(&base, &first, Method::GET, "/api/auth/me", None)
            .await
            .status(),
        401,
        "the planted cookie never signs in"
    );
    // A made-up cookie is nobody.
    assert_eq!(
        call(
            &base,
            &Who::Cookie("iide_account=attacker-chosen".into()),
            Method::GET,
            "/api/auth/me",
            None
        )
        .await
        .status(),
        401
    );

    // CSRF: a write riding on the cookie from another origin is refused; from this origin it passes.
    let Who::Cookie(cookie) = &second else {
        unreachable!()
    };
    let host = base.trim_start_matches("http://");
    let res = http()
        .post(format!("{base}/api/sessions"))
        .header("cookie", cookie)
        .header("origin", "http://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = http()
        .post(format!("{base}/api/sessions"))
        .header("cookie", cookie)
        .header("origin", format!("http://{host}"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = http()
        .post(format!("{base}/api/auth/login"))
        .header("origin", "http://evil.example")
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        403,
        "no sign-in forms posted from other sites"
    );

    // Logout ends the sign-in on the server, not only in the browser.
    let res = call(&base, &second, Method::POST, "/api/auth/logout", None).await;
    assert_eq!(res.status(), 204);
    assert!(
        res.headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        call(&base, &second, Method::GET, "/api/auth/me", None)
            .await
            .status(),
        401
    );
    assert_eq!(
        call(
            &base,
            &second,
            Method::POST,
            "/api/sessions",
            Some(json!({}))
        )
        .await
        .status(),
        401
    );
}

#[tokio::test]
async fn a_hundred_wrong_passwords_are_refused_with_429_without_hashing_each() {
    let t = TestServer::start().await;
    let base = t.url();
    let started = Instant::now();
    let mut statuses = Vec::new();
    for _ in 0..100 {
        let res = http()
            .post(format!("{base}/api/auth/login"))
            .json(&json!({"email": ADMIN_EMAIL, "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    let elapsed = started.elapsed();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert!(
        statuses[..10].iter().all(|s| *s == 401),
        "the first failures are plain 401s: {statuses:?}"
    );
    assert_eq!(refused, 90, "then 429: {statuses:?}");
    // While locked, even the right password is refused for this account.
    let res = http()
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    // The server keeps serving others meanwhile.
    assert_eq!(
        http()
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let s = new_session(&base).await;
    assert_eq!(
        call(
            &base,
            &Who::Bearer(s.interviewer),
            Method::GET,
            &format!("/api/sessions/{}", s.id),
            None
        )
        .await
        .status(),
        200
    );
    eprintln!(
        "100 wrong passwords answered in {:.0} ms",
        elapsed.as_secs_f64() * 1000.0
    );

    let audit: Value = call(
        &base,
        &Who::Bearer(api_key(&base)),
        Method::GET,
        "/api/admin/audit?limit=500",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "sign_in_failed").count(),
        10
    );
    assert!(actions.contains(&"sign_in_throttled"));
}

#[tokio::test]
async fn the_team_list_filters_pages_and_the_audit_log_records_who_did_what() {
    let t = TestServer::start().await;
    let base = t.url();
    let admin = Who::Cookie(sign_in(&base, ADMIN_EMAIL, ADMIN_PASSWORD).await);
    let member = invite_member(&base, &admin, None, "lister@example.com").await;
    for title in ["Alpha backend", "Beta frontend", "Gamma backend"] {
        assert_eq!(
            call(
                &base,
                &member,
                Method::POST,
                "/api/sessions",
                Some(json!({"title": title}))
            )
            .await
            .status(),
            201
        );
    }
    let mine = new_session(&base).await; // by the admin's key
    let res = call(
        &base,
        &Who::Bearer(mine.interviewer.clone()),
        Method::POST,
        &format!("/api/sessions/{}/end", mine.id),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);

    let list = |q: &str| {
        let base = base.clone();
        let member = member.clone();
        let q = q.to_string();
        async move {
            call(
                &base,
                &member,
                Method::GET,
                &format!("/api/sessions{q}"),
                None,
            )
            .await
            .json::<Value>()
            .await
            .unwrap()
        }
    };
    let titles = |v: &Value| {
        v["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["title"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let all = list("").await;
    assert_eq!(all["total"], 4);
    assert_eq!(titles(&all)[0], "Test", "newest first");
    assert_eq!(
        titles(&list("?q=BACKEND").await),
        vec!["Gamma backend", "Alpha backend"]
    );
    assert_eq!(titles(&list("?status=ended").await), vec!["Test"]);
    assert_eq!(list("?status=open").await["total"], 3);
    assert_eq!(list("?mine=1").await["total"], 3);
    let page = list("?limit=2&offset=2").await;
    assert_eq!((page["total"].as_i64(), titles(&page).len()), (Some(4), 2));
    let res = call(
        &base,
        &member,
        Method::GET,
        "/api/sessions?status=maybe",
        None,
    )
    .await;
    assert_eq!(res.status(), 400);

    let audit: Value = call(&base, &admin, Method::GET, "/api/admin/audit", None)
        .await
        .json()
        .await
        .unwrap();
    let has = |action: &str, actor: &str| {
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == action && a["actor"] == actor)
    };
    assert!(has("session_created", "lister@example.com"), "{audit}");
    assert!(has("session_ended", "interviewer link"), "{audit}");
    assert!(has("user_invited", ADMIN_EMAIL));
    assert!(has("user_created", "lister@example.com"));
    assert!(has("key_created", ADMIN_EMAIL));
    assert!(has("sign_in", ADMIN_EMAIL));
    // Paging backwards by id.
    let first_id = audit[0]["id"].as_i64().unwrap();
    let older: Value = call(
        &base,
        &admin,
        Method::GET,
        &format!("/api/admin/audit?before={first_id}"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        older.as_array().unwrap().len(),
        audit.as_array().unwrap().len() - 1
    );
}

#[tokio::test]
async fn passwords_are_checked_for_length_and_admins_cannot_lock_themselves_out() {
    let t = TestServer::start().await;
    let base = t.url();
    let admin = Who::Cookie(sign_in(&base, ADMIN_EMAIL, ADMIN_PASSWORD).await);
    let invite: Value = call(
        &base,
        &admin,
        Method::POST,
        "/api/admin/invites",
        Some(json!({})),
    )
    .await
    .json()
    .await
    .unwrap();
    let code = invite["code"].as_str().unwrap();
    let res = call(
        &base,
        &Who::Nobody,
        Method::POST,
        &format!("/api/auth/invites/{code}"),
        Some(json!({"email": "short@example.com", "password": "short"})),
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("at least"));
    let res = call(
        &base,
        &Who::Nobody,
        Method::POST,
        &format!("/api/auth/invites/{code}"),
        Some(json!({"email": ADMIN_EMAIL, "password": PASSWORD})),
    )
    .await;
    assert_eq!(res.status(), 409, "an existing email");
    let me: Value = call(&base, &admin, Method::GET, "/api/auth/me", None)
        .await
        .json()
        .await
        .unwrap();
    let my_id = me["user"]["id"].as_str().unwrap();
    assert_eq!(
        call(
            &base,
            &admin,
            Method::POST,
            &format!("/api/admin/users/{my_id}/disable"),
            None
        )
        .await
        .status(),
        409
    );
    // Setup is over once an account exists.
    let config: Value = http()
        .get(format!("{base}/api/auth/config"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["setup_needed"], false);
    let res = call(
        &base,
        &Who::Nobody,
        Method::POST,
        "/api/auth/setup",
        Some(json!({"code": "guess", "email": "x@example.com", "password": PASSWORD})),
    )
    .await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn writes_riding_on_the_cookie_must_be_json_or_name_themselves() {
    let t = TestServer::start().await;
    let base = t.url();
    let cookie = sign_in(&base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let keys = || async {
        call(
            &base,
            &Who::Cookie(cookie.clone()),
            Method::GET,
            "/api/keys",
            None,
        )
        .await
        .json::<Vec<Value>>()
        .await
        .unwrap()
        .len()
    };
    let before = keys().await;
    // What a form or a simple cross-site fetch can send, from this very origin even: refused.
    for (content_type, body) in [
        ("text/plain", r#"{"name":"csrf"}"#),
        ("application/x-www-form-urlencoded", "name=csrf"),
        ("multipart/form-data; boundary=x", "--x--"),
    ] {
        let res = http()
            .post(format!("{base}/api/keys"))
            .header("cookie", &cookie)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 415, "{content_type}");
        assert!(res.text().await.unwrap().contains("application/json"));
    }
    // A body-less change (sign out) needs the header the web app sends.
    let res = http()
        .post(format!("{base}/api/auth/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    assert_eq!(keys().await, before, "nothing was made");
    assert_eq!(
        call(
            &base,
            &Who::Cookie(cookie.clone()),
            Method::GET,
            "/api/auth/me",
            None
        )
        .await
        .status(),
        200,
        "still signed in"
    );
    // JSON passes; so does a request that names its own credential (no cookie to ride on).
    let res = http()
        .post(format!("{base}/api/keys"))
        .header("cookie", &cookie)
        .json(&json!({"name": "json"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let s = crate::common::create_session(&base, json!({})).await;
    let res = http()
        .post(format!(
            "{base}/api/sessions/{}/end?token={}",
            s.id, s.interviewer
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_disabled_user_is_cut_off_at_once_and_their_keys_stay_revoked() {
    let t = TestServer::start().await;
    let base = t.url();
    let ws_base = base.replacen("http://", "ws://", 1);
    let admin = Who::Cookie(sign_in(&base, ADMIN_EMAIL, ADMIN_PASSWORD).await);
    let member = invite_member(&base, &admin, None, "leaver@example.com").await;
    let Who::Cookie(member_cookie) = &member else {
        unreachable!()
    };
    let (_, key) = new_key(&base, &member, "laptop").await;
    let users: Vec<Value> = call(&base, &admin, Method::GET, "/api/admin/users", None)
        .await
        .json()
        .await
        .unwrap();
    let id = users
        .iter()
        .find(|u| u["email"] == "leaver@example.com")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The member has the team's session open: its notes, signed in.
    let s = crate::common::create_session(&base, json!({})).await;
    let mut notes = Peer::connect_signed_in(&ws_base, &s.id, "notes", member_cookie).await;
    let mut other = Peer::connect(&ws_base, &s.id, "notes", &s.interviewer).await;
    other.append("before").await;
    assert!(
        notes
            .pump_until(WAIT, |p| p.text().contains("before"))
            .await,
        "the member reads the notes"
    );

    let disabled_at = std::time::Instant::now();
    assert_eq!(
        call(
            &base,
            &admin,
            Method::POST,
            &format!("/api/admin/users/{id}/disable"),
            None
        )
        .await
        .status(),
        204
    );
    assert!(
        notes.closed_with(Duration::from_secs(1)).await.is_some(),
        "the socket closes within a second"
    );
    eprintln!(
        "the disabled user's socket closed {} ms after the request",
        disabled_at.elapsed().as_millis()
    );
    other.append(" after").await;
    assert!(
        other
            .closed_with(Duration::from_millis(300))
            .await
            .is_none(),
        "the link holder stays"
    );
    assert_eq!(
        call(
            &base,
            &Who::Bearer(key.clone()),
            Method::GET,
            "/api/auth/me",
            None
        )
        .await
        .status(),
        401
    );
    // Enabled again: the keys made before stay revoked; signing in again works.
    assert_eq!(
        call(
            &base,
            &admin,
            Method::POST,
            &format!("/api/admin/users/{id}/enable"),
            None
        )
        .await
        .status(),
        204
    );
    assert_eq!(
        call(&base, &Who::Bearer(key), Method::GET, "/api/auth/me", None)
            .await
            .status(),
        401
    );
    let again = Who::Cookie(sign_in(&base, "leaver@example.com", PASSWORD).await);
    assert_eq!(
        call(&base, &again, Method::GET, "/api/auth/me", None)
            .await
            .status(),
        200
    );
}

/// A client whose connections come from `ip` (127.0.0.0/8 is all this machine's).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

#[tokio::test]
async fn parallel_guesses_cannot_pass_the_limit_and_never_lock_the_owner_out_elsewhere() {
    let t = TestServer::start().await;
    let base = t.url();
    let guesser = client_from("127.0.0.2");
    let login = |client: &reqwest::Client, password: &str, spoof: Option<&str>| {
        let mut req = client
            .post(format!("{base}/api/auth/login"))
            .json(&json!({"email": ADMIN_EMAIL, "password": password}));
        if let Some(ip) = spoof {
            req = req.header("x-forwarded-for", ip);
        }
        req.send()
    };
    // 30 guesses at once: each is counted before its password is checked.
    let guesses = futures_util::future::join_all(
        (0..30).map(|i| login(&guesser, &format!("guess-{i}"), None)),
    )
    .await;
    let statuses: Vec<u16> = guesses
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    let verified = statuses.iter().filter(|s| **s == 401).count();
    assert!(verified <= 10, "at most the limit verified: {statuses:?}");
    eprintln!(
        "30 parallel guesses: {verified} verified, {} refused before hashing",
        30 - verified
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        30 - verified
    );
    // The answer says how long.
    let res = login(&guesser, ADMIN_PASSWORD, None).await.unwrap();
    assert_eq!(
        res.status(),
        429,
        "the guessing address stays locked for this account"
    );
    assert_eq!(res.headers()["retry-after"], "900");
    assert!(res.text().await.unwrap().contains("15 minutes"));
    // A spoofed X-Forwarded-For changes nothing: this server trusts no proxy.
    assert_eq!(
        login(&guesser, ADMIN_PASSWORD, Some("203.0.113.7"))
            .await
            .unwrap()
            .status(),
        429
    );
    // The owner, from another address, signs in at once.
    assert_eq!(
        login(&client_from("127.0.0.3"), ADMIN_PASSWORD, None)
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn behind_a_proxy_only_the_address_it_added_counts() {
    // The server trusts its direct peer as its proxy (TRUST_FORWARDED_FOR): the client is the
    // right-most X-Forwarded-For entry; whatever a client wrote further left is not believed.
    let t = TestServer::start_with(|c| c.server.trust_forwarded_for = true).await;
    let base = t.url();
    let login = |xff: String, password: &'static str| {
        http()
            .post(format!("{base}/api/auth/login"))
            .header("x-forwarded-for", xff)
            .json(&json!({"email": ADMIN_EMAIL, "password": password}))
            .send()
    };
    for i in 0..10 {
        // A guesser rotating a made-up left-most entry, as the proxy appends its real address.
        assert_eq!(
            login(format!("198.51.100.{i}, 203.0.113.50"), "wrong")
                .await
                .unwrap()
                .status(),
            401
        );
    }
    assert_eq!(
        login("198.51.100.99, 203.0.113.50".into(), "wrong")
            .await
            .unwrap()
            .status(),
        429,
        "the rotation did not help"
    );
    assert_eq!(
        login("203.0.113.51".into(), ADMIN_PASSWORD)
            .await
            .unwrap()
            .status(),
        200,
        "the owner elsewhere"
    );
}

#[tokio::test]
async fn api_keys_do_what_their_scopes_say_expire_and_never_make_keys() {
    let t = TestServer::start().await;
    let base = t.url();
    let admin = Who::Cookie(sign_in(&base, ADMIN_EMAIL, ADMIN_PASSWORD).await);
    let make = |body: Value| {
        let admin = admin.clone();
        let base = base.clone();
        async move { call(&base, &admin, Method::POST, "/api/keys", Some(body)).await }
    };
    let res =
        make(json!({"name": "reader", "scopes": ["sessions:read"], "expires_in_days": 30})).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["key"]["scopes"], json!(["sessions:read"]));
    assert!(body["key"]["expires_at"].as_str().is_some());
    let reader = Who::Bearer(body["secret"].as_str().unwrap().to_string());
    let (_, writer) = new_key(&base, &admin, "default scopes").await;
    let writer = Who::Bearer(writer);
    // What each may do.
    assert_eq!(
        call(&base, &reader, Method::GET, "/api/sessions", None)
            .await
            .status(),
        200
    );
    assert_eq!(
        call(
            &base,
            &reader,
            Method::POST,
            "/api/sessions",
            Some(json!({}))
        )
        .await
        .status(),
        403
    );
    assert_eq!(
        call(
            &base,
            &writer,
            Method::POST,
            "/api/sessions",
            Some(json!({}))
        )
        .await
        .status(),
        201
    );
    assert_eq!(
        call(&base, &writer, Method::GET, "/api/admin/users", None)
            .await
            .status(),
        403,
        "admin needs the admin scope"
    );
    // No key makes, lists or revokes keys, whatever its scopes.
    let (_, all) = new_key_with(
        &base,
        &admin,
        json!({"name": "all", "scopes": ["sessions:read", "sessions:write", "admin"]}),
    )
    .await;
    let all = Who::Bearer(all);
    assert_eq!(
        call(&base, &all, Method::GET, "/api/admin/users", None)
            .await
            .status(),
        200
    );
    for who in [&reader, &writer, &all] {
        let res = call(&base, who, Method::POST, "/api/keys", Some(json!({"name": "successor", "scopes": ["sessions:read", "sessions:write", "admin"]}))).await;
        assert_eq!(res.status(), 403);
        assert_eq!(
            call(&base, who, Method::GET, "/api/keys", None)
                .await
                .status(),
            403
        );
    }
    // Bad asks, and the admin scope for an interviewer.
    for bad in [
        json!({"name": "x", "scopes": []}),
        json!({"name": "x", "scopes": ["root"]}),
        json!({"name": "x", "expires_in_days": 0}),
        json!({"name": "x", "expires_in_days": 5000}),
    ] {
        assert_eq!(make(bad.clone()).await.status(), 400, "{bad}");
    }
    let member = invite_member(&base, &admin, None, "member@example.com").await;
    assert_eq!(
        call(
            &base,
            &member,
            Method::POST,
            "/api/keys",
            Some(json!({"name": "x", "scopes": ["admin"]}))
        )
        .await
        .status(),
        403
    );
    // The admin page's list says what each key may do, until when, and when it was last used.
    let keys: Vec<Value> = call(&base, &admin, Method::GET, "/api/keys", None)
        .await
        .json()
        .await
        .unwrap();
    let reader_view = keys.iter().find(|k| k["name"] == "reader").unwrap();
    assert!(
        reader_view["last_used_at"].as_str().is_some(),
        "{reader_view}"
    );
    assert!(keys.iter().find(|k| k["name"] == "all").unwrap()["expires_at"].is_null());
    // Past its expiry a key is refused.
    let pool = sqlx::SqlitePool::connect(&t.db_url).await.unwrap();
    sqlx::query("UPDATE api_keys SET expires_at = 1 WHERE name = 'reader'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        call(&base, &reader, Method::GET, "/api/sessions", None)
            .await
            .status(),
        401
    );
}

async fn new_key_with(base: &str, who: &Who, body: Value) -> (String, String) {
    let res = call(base, who, Method::POST, "/api/keys", Some(body)).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    (
        body["key"]["id"].as_str().unwrap().to_string(),
        body["secret"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn over_https_the_sign_in_cookie_is_host_only_and_a_planted_twin_is_never_believed() {
    let t = TestServer::start_with(|c| {
        c.server.public_url = Some("https://interviews.example.com".into())
    })
    .await;
    let base = t.url();
    let res = http()
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let set = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set.starts_with("__Host-iide_account="), "{set}");
    for attr in ["Secure", "Path=/", "HttpOnly"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    assert!(!set.contains("Domain"), "host-only: {set}");
    let mine = set.split(';').next().unwrap().to_string();
    assert_eq!(
        call(
            &base,
            &Who::Cookie(mine.clone()),
            Method::GET,
            "/api/auth/me",
            None
        )
        .await
        .status(),
        200
    );
    // The old name means nothing over https.
    let value = mine.split_once('=').unwrap().1;
    assert_eq!(
        call(
            &base,
            &Who::Cookie(format!("iide_account={value}")),
            Method::GET,
            "/api/auth/me",
            None
        )
        .await
        .status(),
        401
    );
    // A second cookie of the same name (another origin of the host tossed one in): neither counts.
    let other = sign_in_https(&base).await;
    let twins = format!("{}; {mine}", other);
    assert_eq!(
        call(
            &base,
            &Who::Cookie(twins),
            Method::GET,
            "/api/auth/me",
            None
        )
        .await
        .status(),
        401
    );
}

async fn sign_in_https(base: &str) -> String {
    let res = http()
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}
