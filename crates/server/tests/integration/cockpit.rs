//! The interviewer's cockpit: timeline, replay, ending a session, scorecard, report, admin.

use std::time::Duration;

use crate::common::*;
use serde_json::{Value, json};

async fn get(url: &str, token: &str) -> reqwest::Response {
    http().get(url).bearer_auth(token).send().await.unwrap()
}

#[tokio::test]
async fn timeline_lists_what_happened_in_order_for_the_interviewer_only() {
    let t = TestServer::start().await;
    let s = new_session(&t.url()).await;
    let base = format!("{}/api/sessions/{}", t.url(), s.id);
    http()
        .post(format!("{base}/join"))
        .bearer_auth(&s.candidate)
        .json(&json!({"name": "Cleo"}))
        .send()
        .await
        .unwrap();
    http()
        .patch(&base)
        .bearer_auth(&s.candidate)
        .json(&json!({"language": "go"}))
        .send()
        .await
        .unwrap();
    http()
        .post(format!("{base}/runs"))
        .bearer_auth(&s.candidate)
        .json(&json!({"run_id": "r", "language": "go", "status": "error", "duration_ms": 30}))
        .send()
        .await
        .unwrap();
    let who: Value = http()
        .post(format!("{base}/join"))
        .bearer_auth(&s.candidate)
        .json(&json!({"name": "Cleo"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let activity = format!(
        "{base}/activity?participant={}",
        who["id"].as_str().unwrap()
    );
    let res = http()
        .post(&activity)
        .bearer_auth(&s.candidate)
        .json(&json!({"kind": "large_paste", "chars": 1200}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    http()
        .post(&activity)
        .bearer_auth(&s.candidate)
        .json(&json!({"kind": "focus_lost", "duration_ms": 8000}))
        .send()
        .await
        .unwrap();
    for bad in [
        json!({"kind": "mining"}),
        json!({"kind": "large_paste"}),
        json!({"kind": "focus_lost", "chars": 1}),
    ] {
        assert_eq!(
            http()
                .post(&activity)
                .bearer_auth(&s.candidate)
                .json(&bad)
                .send()
                .await
                .unwrap()
                .status(),
            400,
            "{bad}"
        );
    }
    http()
        .post(format!("{base}/end"))
        .bearer_auth(&s.interviewer)
        .send()
        .await
        .unwrap();

    let events: Value = get(&format!("{base}/events"), &s.interviewer)
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "session_created",
            "joined",
            "language_changed",
            "code_run",
            "joined",
            "large_paste",
            "focus_lost",
            "session_ended"
        ]
    );
    assert_eq!(events[5]["data"]["chars"], 1200);
    assert_eq!(events[5]["data"]["name"], "Cleo");
    assert_eq!(events[6]["data"]["duration_ms"], 8000);
    let joined = &events[1];
    assert_eq!(joined["actor"], "candidate");
    assert_eq!(joined["data"]["name"], "Cleo");
    assert!(joined["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(events[3]["data"]["status"], "error");

    assert_eq!(
        get(&format!("{base}/events"), &s.candidate).await.status(),
        403
    );
    assert_eq!(
        http()
            .get(format!("{base}/events"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn replay_rebuilds_the_document_at_any_moment() {
    // Snapshots every 3 updates, so replay crosses checkpoints.
    let t = TestServer::start_with(|c| {
        c.storage.snapshot_every_updates = 3;
        c.storage.flush_interval_ms = 10;
    })
    .await;
    let s = new_session(&t.url()).await;
    let mut a = Peer::connect(&t.ws_url(), &s.id, "main", &s.candidate).await;
    a.pump(Duration::from_millis(100)).await;
    let mut moments = Vec::new();
    for i in 0..8 {
        a.append(&format!("step{i};")).await;
        a.pump(Duration::from_millis(60)).await;
        moments.push((interview_ide::util::now_ms(), a.text()));
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    for (at, expected) in &moments {
        let got: Value = get(
            &format!("{}/api/sessions/{}/replay/main?at={at}", t.url(), s.id),
            &s.interviewer,
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(got["text"].as_str().unwrap(), expected, "state at {at}");
    }
    let got: Value = get(
        &format!("{}/api/sessions/{}/replay/main", t.url(), s.id),
        &s.interviewer,
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(
        got["changes"].as_array().unwrap().len() >= 9,
        "creation + 8 edits"
    );
    let res = get(
        &format!("{}/api/sessions/{}/replay/main", t.url(), s.id),
        &s.candidate,
    )
    .await;
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn ending_a_session_freezes_it_for_everyone() {
    let t = TestServer::start().await;
    let s = new_session(&t.url()).await;
    let base = format!("{}/api/sessions/{}", t.url(), s.id);
    let mut cand = Peer::connect(&t.ws_url(), &s.id, "main", &s.candidate).await;
    cand.pump(Duration::from_millis(100)).await;
    cand.insert(0, "before end\n").await;
    cand.pump(Duration::from_millis(100)).await;

    assert_eq!(
        http()
            .post(format!("{base}/end"))
            .bearer_auth(&s.candidate)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let res = http()
        .post(format!("{base}/end"))
        .bearer_auth(&s.interviewer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.json::<Value>().await.unwrap()["ended_at"].is_string());
    assert!(
        cand.pump_until(WAIT, |p| p.meta("ended_at").is_some())
            .await,
        "open pages learn of the end live"
    );

    // Edits after the end are ignored; the final state stays.
    cand.insert(0, "after end\n").await;
    cand.pump(Duration::from_millis(200)).await;
    let mut viewer = Peer::connect(&t.ws_url(), &s.id, "main", &s.interviewer).await;
    assert!(
        viewer
            .pump_until(WAIT, |p| p.text().starts_with("before end\n"))
            .await
    );
    assert!(!viewer.text().contains("after end"));

    assert_eq!(
        http()
            .post(format!("{base}/end"))
            .bearer_auth(&s.interviewer)
            .send()
            .await
            .unwrap()
            .status(),
        409
    );
    let run = json!({"run_id": "r", "language": "python", "status": "ok", "duration_ms": 1});
    assert_eq!(
        http()
            .post(format!("{base}/runs"))
            .bearer_auth(&s.candidate)
            .json(&run)
            .send()
            .await
            .unwrap()
            .status(),
        409
    );
    assert_eq!(
        http()
            .patch(&base)
            .bearer_auth(&s.candidate)
            .json(&json!({"language": "go"}))
            .send()
            .await
            .unwrap()
            .status(),
        409
    );
    // The links still open the final state.
    assert_eq!(get(&base, &s.candidate).await.status(), 200);
}

#[tokio::test]
async fn report_is_one_self_contained_html_file() {
    let t = TestServer::start().await;
    let s = new_session(&t.url()).await;
    let base = format!("{}/api/sessions/{}", t.url(), s.id);
    let mut cand = Peer::connect(&t.ws_url(), &s.id, "main", &s.candidate).await;
    cand.pump(Duration::from_millis(100)).await;
    cand.insert(0, "print('<script>alert(1)</script>')\n").await;
    let mut notes = Peer::connect(&t.ws_url(), &s.id, "notes", &s.interviewer).await;
    notes.pump(Duration::from_millis(100)).await;
    {
        use yrs::{Text, Transact};
        let text = notes.doc.get_or_insert_text("notes");
        let update = {
            let mut txn = notes.doc.transact_mut();
            text.insert(&mut txn, 0, "Good instincts on edge cases");
            txn.encode_update_v1()
        };
        notes
            .send(yrs::sync::Message::Sync(yrs::sync::SyncMessage::Update(
                update,
            )))
            .await;
    }
    notes.pump(Duration::from_millis(200)).await;
    let card = json!({"ratings": [{"skill": "Problem solving", "score": 3, "comment": "Clear plan"}], "summary": "Hire"});
    assert_eq!(
        http()
            .put(format!("{base}/scorecard"))
            .bearer_auth(&s.candidate)
            .json(&card)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        http()
            .put(format!("{base}/scorecard"))
            .bearer_auth(&s.interviewer)
            .json(&card)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let bad = json!({"ratings": [{"skill": "x", "score": 9}]});
    assert_eq!(
        http()
            .put(format!("{base}/scorecard"))
            .bearer_auth(&s.interviewer)
            .json(&bad)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let got: Value = get(&format!("{base}/scorecard"), &s.interviewer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["ratings"][0]["score"], 3);

    let res = get(&format!("{base}/report"), &s.interviewer).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let html = res.text().await.unwrap();
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "code is escaped"
    );
    assert!(!html.contains("<script"), "no script at all");
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "nothing loaded from elsewhere"
    );
    for needle in [
        "Good instincts on edge cases",
        "Problem solving",
        "Clear plan",
        "session_created",
    ] {
        assert!(html.contains(needle), "report has {needle}");
    }
    assert_eq!(
        get(&format!("{base}/report"), &s.candidate).await.status(),
        403
    );
}

#[tokio::test]
async fn operator_lists_and_deletes_sessions_with_the_admin_token() {
    let t = TestServer::start_with(|c| c.server.admin_token = Some("operator-secret-token".into()))
        .await;
    let s = new_session(&t.url()).await;
    let keep = new_session(&t.url()).await;
    let admin = format!("{}/api/admin/sessions", t.url());
    assert_eq!(http().get(&admin).send().await.unwrap().status(), 401);
    assert_eq!(get(&admin, "wrong").await.status(), 401);
    assert_eq!(
        get(&admin, &s.interviewer).await.status(),
        401,
        "a session token is not the admin token"
    );
    let list: Value = get(&admin, "operator-secret-token")
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&s.id.as_str()) && ids.contains(&keep.id.as_str()));
    assert_eq!(list[0]["status"], "open");

    let mut peer = Peer::connect(&t.ws_url(), &s.id, "main", &s.candidate).await;
    peer.pump(Duration::from_millis(100)).await;
    let res = http()
        .delete(format!("{admin}/{}", s.id))
        .bearer_auth("operator-secret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        peer.closed_with(WAIT).await,
        Some(Ended::Closed(Some(4404))),
        "open pages are closed"
    );
    assert_eq!(
        get(
            &format!("{}/api/sessions/{}", t.url(), s.id),
            &s.interviewer
        )
        .await
        .status(),
        404
    );
    let store = interview_ide::store::Store::connect(&t.db_url)
        .await
        .unwrap();
    assert!(store.events(&s.id).await.unwrap().is_empty());
    use interview_ide::store::DocStore;
    let main = interview_ide::docname::DocKey::new(
        interview_ide::ids::SessionId::parse(&s.id).unwrap(),
        interview_ide::docname::DocName::Main,
    );
    assert!(
        store.change_times(&main).await.unwrap().is_empty(),
        "the documents are deleted"
    );
    assert_eq!(
        get(
            &format!("{}/api/sessions/{}", t.url(), keep.id),
            &keep.interviewer
        )
        .await
        .status(),
        200
    );
    let res = http()
        .delete(format!("{admin}/{}", s.id))
        .bearer_auth("operator-secret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn admin_api_without_a_token_needs_an_admin_account() {
    let t = TestServer::start().await;
    let res = get(&format!("{}/api/admin/sessions", t.url()), "anything").await;
    assert_eq!(res.status(), 401);
    let res = get(
        &format!("{}/api/admin/sessions", t.url()),
        &api_key(&t.url()),
    )
    .await;
    assert_eq!(res.status(), 200, "an admin's key is enough");
}

#[tokio::test]
async fn a_candidate_cannot_forge_the_interviewers_timeline() {
    let t = TestServer::start().await;
    let s = new_session(&t.url()).await;
    let base = format!("{}/api/sessions/{}", t.url(), s.id);
    let join = |token: &str, name: &str| {
        http()
            .post(format!("{base}/join"))
            .bearer_auth(token.to_string())
            .json(&json!({"name": name}))
            .send()
    };
    let interviewer: Value = join(&s.interviewer, "Ivy")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let candidate: Value = join(&s.candidate, "Cleo")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let report = |token: &str, participant: &str| {
        http()
            .post(format!("{base}/activity?participant={participant}"))
            .bearer_auth(token.to_string())
            .json(&json!({"kind": "focus_lost", "duration_ms": 60000}))
            .send()
    };
    // The candidate files "the interviewer looked away" under the interviewer: refused.
    assert_eq!(
        report(&s.candidate, interviewer["id"].as_str().unwrap())
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(report(&s.candidate, "made-up").await.unwrap().status(), 400);
    assert_eq!(
        report(&s.candidate, candidate["id"].as_str().unwrap())
            .await
            .unwrap()
            .status(),
        201
    );
    // Flooding the timeline: past the budget, 429; the interviewer's own budget is untouched.
    let mut statuses = Vec::new();
    for i in 0..80 {
        let res = http().post(format!("{base}/runs")).bearer_auth(&s.candidate).json(&json!({"run_id": format!("r{i}"), "language": "python", "status": "ok", "duration_ms": 1})).send().await.unwrap();
        statuses.push(res.status().as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(statuses.iter().filter(|s| **s == 201).count() <= 60);
    assert_eq!(
        report(&s.interviewer, interviewer["id"].as_str().unwrap())
            .await
            .unwrap()
            .status(),
        201
    );
    let events: Value = get(&format!("{base}/events"), &s.interviewer)
        .await
        .json()
        .await
        .unwrap();
    let forged = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["kind"] == "focus_lost"
                && e["actor"] == "candidate"
                && e["data"]["participant"] == interviewer["id"]
        })
        .count();
    assert_eq!(forged, 0);
}
