//! The storage interface, against SQLite and (when `TEST_DATABASE_URL` is set) PostgreSQL.

use std::time::Duration;

use crate::common::*;
use interview_ide::collab::persist::PendingDoc;
use interview_ide::collab::{PersistSettings, Persister};
use interview_ide::docname::{DocKey, DocName};
use interview_ide::ids::SessionId;
use interview_ide::store::{DocStore, DocWrite, ParticipantRow, SessionRow, Store};
use yrs::updates::decoder::Decode;
use yrs::{GetString, Text, Transact};

fn postgres_url() -> Option<String> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!(
                "SKIPPED: PostgreSQL storage test needs TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test)"
            );
            None
        }
    }
}

async fn exercise_store(store: &Store) {
    let id = SessionId::random();
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
        team_id: None,
        created_by: None,
    };
    store.create_session(&session).await.unwrap();
    let got = store.get_session(&id).await.unwrap().expect("stored");
    assert_eq!(got.title, "Storage test");
    assert_eq!(got.ended_at, None);
    assert!(store.get_session("missing").await.unwrap().is_none());

    store.set_language(&id, "go").await.unwrap();
    let policy = interview_ide::store::Policy {
        execution_enabled: false,
        time_limit_seconds: 3,
    };
    store.set_policy(&id, policy).await.unwrap();
    assert_eq!(
        store.get_session(&id).await.unwrap().unwrap().policy,
        policy
    );
    assert_eq!(
        store.get_session(&id).await.unwrap().unwrap().language,
        "go"
    );

    for (n, name) in ["Ann", "Ben"].iter().enumerate() {
        store
            .add_participant(&ParticipantRow {
                id: format!("{id}-p{n}"),
                session_id: id.to_string(),
                name: name.to_string(),
                color: "#ffffff".into(),
                role: "candidate".into(),
                joined_at: 1_700_000_000_000 + n as i64,
            })
            .await
            .unwrap();
    }
    let names: Vec<String> = store
        .participants(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["Ann", "Ben"]);

    store
        .add_event(&id, 5, "joined", Some("candidate"), r#"{"name":"Ann"}"#)
        .await
        .unwrap();
    store.add_event(&id, 6, "left", None, "{}").await.unwrap();
    let events = store.events(&id).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["joined", "left"]
    );
    assert_eq!(events[1].actor, None);

    exercise_doc_store(store, &id).await;
    // Deleting the session's documents leaves nothing to load.
    store.delete_session(&id).await.unwrap();
    store.ping().await.unwrap();
    exercise_accounts(store).await;
}

/// Teams, users, sign-ins, keys, invites, the audit log and the team's list, on either backend
/// (the optional filters are `$n IS NULL OR ...`, which both dialects must accept with typed NULLs).
async fn exercise_accounts(store: &Store) {
    use interview_ide::store::{ApiKeyRow, InviteRow, SessionFilter, TeamRow, UserRow};
    let n = interview_ide::util::new_id();
    let team = TeamRow {
        id: format!("team-{n}"),
        name: "Team".into(),
        created_at: 1,
    };
    store.create_team(&team).await.unwrap();
    let user = UserRow {
        id: format!("user-{n}"),
        email: format!("{n}@example.com").to_lowercase(),
        name: "U".into(),
        password_hash: Some("$argon2id$x".into()),
        role: "interviewer".into(),
        team_id: team.id.clone(),
        created_at: 1,
        disabled_at: None,
    };
    store.create_user(&user).await.unwrap();
    assert_eq!(
        store.user_by_email(&user.email).await.unwrap().unwrap().id,
        user.id
    );
    store
        .create_login(&format!("login-{n}"), &user.id, 1, i64::MAX)
        .await
        .unwrap();
    assert!(
        store
            .login_user(&format!("login-{n}"), 2)
            .await
            .unwrap()
            .is_some()
    );
    let key = ApiKeyRow {
        id: format!("key-{n}"),
        user_id: user.id.clone(),
        name: "k".into(),
        key_hash: format!("kh-{n}"),
        prefix: "iide_x".into(),
        created_at: 1,
        revoked_at: None,
        scopes: "sessions:read".into(),
        expires_at: Some(1_000),
        last_used_at: None,
    };
    store.create_api_key(&key).await.unwrap();
    let (_, scopes) = store
        .api_key_user(&key.key_hash, 2)
        .await
        .unwrap()
        .expect("a live key");
    assert_eq!(scopes, "sessions:read");
    assert_eq!(
        store.api_keys(Some(&user.id)).await.unwrap()[0].last_used_at,
        Some(2),
        "its use is recorded"
    );
    assert!(
        store
            .api_key_user(&key.key_hash, 1_000)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert_eq!(store.api_keys(Some(&user.id)).await.unwrap().len(), 1);
    assert!(!store.api_keys(None).await.unwrap().is_empty());
    assert!(
        !store
            .revoke_api_key(&key.id, 5, Some("someone else"))
            .await
            .unwrap()
    );
    assert!(
        store
            .revoke_api_key(&key.id, 5, Some(&user.id))
            .await
            .unwrap()
    );
    assert!(
        store
            .api_key_user(&key.key_hash, 2)
            .await
            .unwrap()
            .is_none()
    );
    // Disabling ends the sign-ins.
    assert!(store.set_user_disabled(&user.id, Some(9)).await.unwrap());
    assert!(
        store
            .login_user(&format!("login-{n}"), 10)
            .await
            .unwrap()
            .is_none()
    );

    let invite = InviteRow {
        code_hash: format!("inv-{n}"),
        team_id: team.id.clone(),
        role: "interviewer".into(),
        created_by: user.id.clone(),
        created_at: 1,
        expires_at: i64::MAX,
    };
    store.create_invite(&invite).await.unwrap();
    assert!(store.invite(&invite.code_hash, 2).await.unwrap().is_some());
    let invited = UserRow {
        id: format!("invited-{n}"),
        email: format!("invited-{n}@example.com").to_lowercase(),
        ..user.clone()
    };
    assert!(
        store
            .accept_invite(&invite.code_hash, &invited)
            .await
            .unwrap()
    );
    assert!(
        !store
            .accept_invite(
                &invite.code_hash,
                &UserRow {
                    id: format!("again-{n}"),
                    email: format!("again-{n}@x.com"),
                    ..user.clone()
                }
            )
            .await
            .unwrap()
    );

    for (i, title) in ["Alpha", "Beta"].iter().enumerate() {
        let mut s = session_row(&sid(&format!("s{i}-{n}")));
        s.title = title.to_string();
        s.team_id = Some(team.id.clone());
        s.created_by = Some(if i == 0 {
            user.id.clone()
        } else {
            invited.id.clone()
        });
        store.create_session(&s).await.unwrap();
    }
    store.end_session(&format!("s1-{n}"), 3).await.unwrap();
    let list = |f: SessionFilter| async move { store.team_sessions(&f).await.unwrap() };
    let team_only = SessionFilter {
        team_id: Some(team.id.clone()),
        limit: 10,
        ..Default::default()
    };
    let (rows, total) = list(team_only.clone()).await;
    assert_eq!((rows.len(), total), (2, 2));
    assert_eq!(rows[0].creator_email.as_deref(), Some(user.email.as_str()));
    let (rows, _) = list(SessionFilter {
        search: Some("alp".into()),
        ..team_only.clone()
    })
    .await;
    assert_eq!(
        rows.iter()
            .map(|r| r.session.title.as_str())
            .collect::<Vec<_>>(),
        ["Alpha"]
    );
    let (rows, _) = list(SessionFilter {
        status: Some("ended".into()),
        ..team_only.clone()
    })
    .await;
    assert_eq!(
        rows.iter()
            .map(|r| r.session.title.as_str())
            .collect::<Vec<_>>(),
        ["Beta"]
    );
    let (_, total) = list(SessionFilter {
        created_by: Some(user.id.clone()),
        status: Some("open".into()),
        ..team_only.clone()
    })
    .await;
    assert_eq!(total, 1);
    let (_, total) = list(SessionFilter {
        limit: 1,
        offset: 1,
        ..team_only.clone()
    })
    .await;
    assert_eq!(total, 2);

    store
        .add_audit(1, Some(&user.email), "sign_in", None, "{}")
        .await
        .unwrap();
    let audit = store.audit(10, None).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.actor.as_deref() == Some(user.email.as_str()))
    );
    for i in 0..2 {
        store.delete_session(&format!("s{i}-{n}")).await.unwrap();
    }
}

/// Loading = the newest snapshot + the updates it does not cover; replay reads as of a time.
async fn exercise_doc_store(store: &Store, id: &SessionId) {
    let main = DocKey::new(id.clone(), DocName::Main);
    let upd = |seq: i64, at: i64, data: Vec<u8>| DocWrite::Update {
        key: main.clone(),
        seq,
        at,
        data,
    };
    store
        .write(&[upd(1, 10, vec![1]), upd(2, 11, vec![2])])
        .await
        .unwrap();
    let loaded = store.load(&main, None).await.unwrap();
    assert_eq!(loaded.snapshot, None);
    assert_eq!(loaded.updates, vec![vec![1], vec![2]]);
    assert_eq!(loaded.last_seq, 2);

    // Update 3 is stored before a snapshot that only holds updates 1 and 2 (another writer was
    // faster): the snapshot claims exactly what it covers, so update 3 still loads after it.
    store.write(&[upd(3, 12, vec![3])]).await.unwrap();
    store
        .write(&[
            DocWrite::Snapshot {
                key: main.clone(),
                covers_seq: 2,
                at: 13,
                state: vec![9, 9],
            },
            upd(4, 14, vec![4]),
        ])
        .await
        .unwrap();
    let loaded = store.load(&main, None).await.unwrap();
    assert_eq!(loaded.snapshot, Some(vec![9, 9]));
    assert_eq!(
        loaded.updates,
        vec![vec![3], vec![4]],
        "every update the snapshot does not cover"
    );
    assert_eq!(loaded.last_seq, 4);

    // As of a time: the snapshot written by then and the updates up to it.
    let past = store.load(&main, Some(12)).await.unwrap();
    assert_eq!(past.snapshot, None);
    assert_eq!(past.updates, vec![vec![1], vec![2], vec![3]]);
    assert_eq!(store.change_times(&main).await.unwrap(), [10, 11, 12, 14]);

    // A sequence number is stored once: a second writer of the same update is refused, not merged in silently.
    assert!(store.write(&[upd(4, 15, vec![44])]).await.is_err());
    assert_eq!(
        store.load(&main, None).await.unwrap().updates,
        vec![vec![3], vec![4]]
    );

    // A long batch, cut into INSERTs of a few fixed sizes (128 + 32 + 8 + 2 + 1 here), keeps
    // every update and its order.
    let many: Vec<DocWrite> = (5..5 + 171)
        .map(|seq| upd(seq, 20 + seq, seq.to_le_bytes().to_vec()))
        .collect();
    store.write(&many).await.unwrap();
    let loaded = store.load(&main, None).await.unwrap();
    assert_eq!(loaded.last_seq, 175);
    assert_eq!(loaded.updates.len(), 2 + 171);
    assert_eq!(
        loaded.updates[2..],
        many.iter()
            .map(|w| match w {
                DocWrite::Update { data, .. } => data.clone(),
                _ => unreachable!(),
            })
            .collect::<Vec<_>>()[..]
    );

    // Documents are per (session, name).
    assert!(
        store
            .load(&DocKey::new(id.clone(), DocName::Notes), None)
            .await
            .unwrap()
            .updates
            .is_empty()
    );
    store.delete_session(id).await.unwrap();
    let gone = store.load(&main, None).await.unwrap();
    assert!(gone.snapshot.is_none() && gone.updates.is_empty());
}

#[tokio::test]
async fn sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!(
        "sqlite://{}/nested/dir/db.sqlite",
        dir.path().display()
    ))
    .await
    .unwrap();
    exercise_store(&store).await;
    // Migrations are idempotent: connecting again to the same file works.
    let again = Store::connect(&format!(
        "sqlite://{}/nested/dir/db.sqlite",
        dir.path().display()
    ))
    .await
    .unwrap();
    again.ping().await.unwrap();
}

#[tokio::test]
async fn postgres_store() {
    let Some(url) = postgres_url() else { return };
    let store = Store::connect(&url)
        .await
        .expect("connect to TEST_DATABASE_URL");
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
    assert!(
        b.pump_until(WAIT, |p| p.text().starts_with("on postgres\n"))
            .await
    );
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
    let err = Store::connect("mysql://localhost/x")
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("sqlite://"), "{err}");
}

fn sid(s: &str) -> SessionId {
    SessionId::parse(s).unwrap()
}

fn session_row(id: &SessionId) -> SessionRow {
    SessionRow {
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
        team_id: None,
        created_by: None,
    }
}

fn start_persister(store: &Store, flush_ms: u64) -> Persister {
    let docs: std::sync::Arc<dyn DocStore> = std::sync::Arc::new(store.clone());
    let settings = PersistSettings {
        flush_interval: Duration::from_millis(flush_ms),
        max_pending_bytes: 1 << 20,
    };
    Persister::start(docs, settings, Default::default(), Default::default()).0
}

/// Yrs updates of one client typing `text` a character at a time.
fn keystrokes(text: &str) -> Vec<Vec<u8>> {
    let doc = yrs::Doc::with_client_id(7);
    let code = doc.get_or_insert_text("code");
    text.chars()
        .enumerate()
        .map(|(i, c)| {
            let mut txn = doc.transact_mut();
            code.insert(&mut txn, i as u32, &c.to_string());
            txn.encode_update_v1()
        })
        .collect()
}

/// A write storage refuses (its session is gone) does not drop the other writes of its batch.
#[tokio::test]
async fn a_refused_write_does_not_lose_the_rest_of_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}/db.sqlite", dir.path().display()))
        .await
        .unwrap();
    let id = SessionId::random();
    store.create_session(&session_row(&id)).await.unwrap();
    let persister = start_persister(&store, 50);
    let ours = PendingDoc::new(DocKey::new(id.clone(), DocName::Main));
    let orphan = PendingDoc::new(DocKey::new(sid("no-such-session"), DocName::Main));
    let typed = keystrokes("ab");
    persister.update(&ours, 1, typed[0].clone());
    persister.update(&orphan, 1, typed[0].clone());
    persister.update(&ours, 2, typed[1].clone());
    persister.flush().await;
    let stored = store
        .load(&DocKey::new(id, DocName::Main), None)
        .await
        .unwrap();
    assert_eq!(stored.last_seq, 2);
    let doc = interview_ide::collab::rebuild(
        &DocKey::new(sid("x"), DocName::Main),
        &stored,
        &Default::default(),
    );
    assert_eq!(
        doc.get_or_insert_text("code").get_string(&doc.transact()),
        "ab"
    );
}

/// Storage follows documents, not keystrokes: what one document received during a flush
/// interval is stored as one merged row, and rebuilds to the same text.
#[tokio::test]
async fn a_documents_updates_are_merged_per_flush() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}/db.sqlite", dir.path().display()))
        .await
        .unwrap();
    let id = SessionId::random();
    store.create_session(&session_row(&id)).await.unwrap();
    let persister = start_persister(&store, 60_000);
    let key = DocKey::new(id.clone(), DocName::Main);
    let pending = PendingDoc::new(key.clone());
    let text = "def answer():\n    return 42\n";
    // Sequence numbers from 2: the document's first state (seq 1) keeps a row of its own.
    for (n, update) in keystrokes(text).into_iter().enumerate() {
        persister.update(&pending, n as i64 + 2, update);
    }
    persister.flush().await;
    let stored = store.load(&key, None).await.unwrap();
    assert_eq!(
        stored.updates.len(),
        1,
        "one row for {} keystrokes",
        text.len()
    );
    assert_eq!(stored.last_seq, text.len() as i64 + 1);
    let merged = yrs::Update::decode_v1(&stored.updates[0]).expect("a valid update");
    let doc = yrs::Doc::new();
    doc.transact_mut().apply_update(merged).unwrap();
    assert_eq!(
        doc.get_or_insert_text("code").get_string(&doc.transact()),
        text
    );
}

/// A stored update that cannot be read is counted and reported, and the rest still loads.
#[tokio::test]
async fn an_unreadable_stored_update_is_counted_not_hidden() {
    let metrics = interview_ide::metrics::Metrics::default();
    let typed = keystrokes("ok");
    let stored = interview_ide::store::StoredDoc {
        snapshot: None,
        updates: vec![typed[0].clone(), vec![0xff, 0x13, 0x37], typed[1].clone()],
        last_seq: 3,
        covers_seq: 0,
    };
    let doc =
        interview_ide::collab::rebuild(&DocKey::new(sid("s"), DocName::Main), &stored, &metrics);
    assert_eq!(
        doc.get_or_insert_text("code").get_string(&doc.transact()),
        "ok"
    );
    assert!(
        metrics
            .render()
            .contains("iide_doc_stored_updates_skipped_total 1"),
        "{}",
        metrics.render()
    );
}
