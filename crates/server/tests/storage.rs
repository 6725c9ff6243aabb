//! The storage interface, against SQLite and (when `TEST_DATABASE_URL` is set) PostgreSQL.

mod common;

use std::time::Duration;

use common::*;
use interview_ide::store::{DocWrite, ParticipantRow, SessionRow, Store};

fn postgres_url() -> Option<String> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("SKIPPED: PostgreSQL storage test needs TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test)");
            None
        }
    }
}

async fn exercise_store(store: &Store) {
    let id = interview_ide::util::new_id();
    let session = SessionRow {
        id: id.clone(),
        title: "Storage test".into(),
        language: "python".into(),
        kind: "pad".into(),
        exercise: None,
        interviewer_token_hash: interview_ide::util::token_hash("i"),
        candidate_token_hash: interview_ide::util::token_hash("c"),
        created_at: 1_700_000_000_000,
        ended_at: None,
        policy: Default::default(),
    };
    store.create_session(&session, &[("main", vec![1, 2, 3])]).await.unwrap();
    let got = store.get_session(&id).await.unwrap().expect("stored");
    assert_eq!(got.title, "Storage test");
    assert_eq!(got.ended_at, None);
    assert!(store.get_session("missing").await.unwrap().is_none());

    store.set_language(&id, "go").await.unwrap();
    let policy = interview_ide::store::Policy { execution_enabled: false, time_limit_seconds: 3 };
    store.set_policy(&id, policy).await.unwrap();
    assert_eq!(store.get_session(&id).await.unwrap().unwrap().policy, policy);
    assert_eq!(store.get_session(&id).await.unwrap().unwrap().language, "go");

    for (n, name) in ["Ann", "Ben"].iter().enumerate() {
        store
            .add_participant(&ParticipantRow {
                id: format!("{id}-p{n}"),
                session_id: id.clone(),
                name: name.to_string(),
                color: "#ffffff".into(),
                role: "candidate".into(),
                joined_at: 1_700_000_000_000 + n as i64,
            })
            .await
            .unwrap();
    }
    let names: Vec<String> = store.participants(&id).await.unwrap().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["Ann", "Ben"]);

    store.add_event(&id, 5, "joined", Some("candidate"), r#"{"name":"Ann"}"#).await.unwrap();
    store.add_event(&id, 6, "left", None, "{}").await.unwrap();
    let events = store.events(&id).await.unwrap();
    assert_eq!(events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["joined", "left"]);
    assert_eq!(events[1].actor, None);

    // Loading = newest snapshot + the updates after it; the log keeps everything for replay.
    let upd = |at: i64, data: Vec<u8>| DocWrite::Update { session_id: id.clone(), doc: "main".into(), at, data };
    store.write_docs(&[upd(10, vec![4]), upd(11, vec![5])]).await.unwrap();
    let loaded = store.load_doc(&id, "main").await.unwrap();
    assert_eq!(loaded.snapshot, None);
    assert_eq!(loaded.updates, vec![vec![1, 2, 3], vec![4], vec![5]]);

    store
        .write_docs(&[DocWrite::Snapshot { session_id: id.clone(), doc: "main".into(), at: 12, state: vec![9, 9] }, upd(13, vec![6])])
        .await
        .unwrap();
    let loaded = store.load_doc(&id, "main").await.unwrap();
    assert_eq!(loaded.snapshot, Some(vec![9, 9]));
    assert_eq!(loaded.updates, vec![vec![6]], "only updates after the snapshot");
    let log = store.doc_log(&id, "main").await.unwrap();
    assert_eq!(log.iter().map(|(at, _)| *at).collect::<Vec<_>>(), [1_700_000_000_000, 10, 11, 13]);

    // Documents are per (session, name).
    assert!(store.load_doc(&id, "notes").await.unwrap().updates.is_empty());
    store.ping().await.unwrap();
}

#[tokio::test]
async fn sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}/nested/dir/db.sqlite", dir.path().display())).await.unwrap();
    exercise_store(&store).await;
    // Migrations are idempotent: connecting again to the same file works.
    let again = Store::connect(&format!("sqlite://{}/nested/dir/db.sqlite", dir.path().display())).await.unwrap();
    again.ping().await.unwrap();
}

#[tokio::test]
async fn postgres_store() {
    let Some(url) = postgres_url() else { return };
    let store = Store::connect(&url).await.expect("connect to TEST_DATABASE_URL");
    assert_eq!(store.backend(), interview_ide::store::Backend::Postgres);
    exercise_store(&store).await;
}

/// The whole server on PostgreSQL: edits converge and survive a restart.
#[tokio::test]
async fn postgres_server_persists_documents() {
    let Some(url) = postgres_url() else { return };
    let server = TestServer::start_on(&url, |_| {}).await;
    let ws = server.url().replacen("http", "ws", 1);
    let s = new_session(&server.url()).await;
    let mut a = Peer::connect(&ws, &s.id, "main", &s.interviewer).await;
    let mut b = Peer::connect(&ws, &s.id, "main", &s.candidate).await;
    a.pump(Duration::from_millis(100)).await;
    a.insert(0, "on postgres\n").await;
    assert!(b.pump_until(WAIT, |p| p.text().starts_with("on postgres\n")).await);
    let expected = b.text();
    drop((a, b));
    server.stop().await.unwrap();

    let server = TestServer::start_on(&url, |_| {}).await;
    let ws = server.url().replacen("http", "ws", 1);
    let mut c = Peer::connect(&ws, &s.id, "main", &s.candidate).await;
    assert!(c.pump_until(WAIT, |p| p.text() == expected).await);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn unsupported_database_url_is_a_clear_error() {
    let err = Store::connect("mysql://localhost/x").await.err().expect("refused");
    assert!(err.to_string().contains("sqlite://"), "{err}");
}

/// A write storage refuses (its session is gone) does not drop the other writes of its batch.
#[tokio::test]
async fn a_refused_write_does_not_lose_the_rest_of_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}/db.sqlite", dir.path().display())).await.unwrap();
    let id = interview_ide::util::new_id();
    let session = SessionRow {
        id: id.clone(),
        title: "t".into(),
        language: "python".into(),
        kind: "pad".into(),
        exercise: None,
        interviewer_token_hash: "x".into(),
        candidate_token_hash: "y".into(),
        created_at: 1,
        ended_at: None,
        policy: Default::default(),
    };
    store.create_session(&session, &[]).await.unwrap();
    let (persister, _task) = interview_ide::collab::Persister::start(store.clone(), Duration::from_millis(50), Default::default());
    let write = |session_id: &str, data: u8| DocWrite::Update { session_id: session_id.into(), doc: "main".into(), at: 2, data: vec![data] };
    persister.write(write(&id, 1));
    persister.write(write("no-such-session", 2));
    persister.write(write(&id, 3));
    persister.flush().await;
    assert_eq!(store.load_doc(&id, "main").await.unwrap().updates, vec![vec![1], vec![3]]);
}
