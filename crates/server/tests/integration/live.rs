//! Live documents over the y-websocket protocol: convergence, awareness, bad input.

use std::time::Duration;

use crate::common::*;
use yrs::sync::{Message, SyncMessage};
use yrs::updates::encoder::Encode;

#[tokio::test]
async fn two_clients_converge_including_concurrent_edits() {
    let t = TestServer::start().await;
    let s = new_session(&t.url()).await;
    let mut a = Peer::connect(&t.ws_url(), &s.id, "main", &s.interviewer).await;
    let mut b = Peer::connect(&t.ws_url(), &s.id, "main", &s.candidate).await;
    // Both receive the starter code from the server.
    assert!(a.pump_until(WAIT, |p| p.text().contains("greet")).await);
    assert!(b.pump_until(WAIT, |p| p.text().contains("greet")).await);

    a.insert(0, "# from A\n").await;
    assert!(
        b.pump_until(WAIT, |p| p.text().starts_with("# from A\n"))
            .await,
        "B sees A's edit"
    );

    // Concurrent edits at the same spot: both sides end with the same text holding both edits.
    a.insert(0, "AAA").await;
    b.insert(0, "BBB").await;
    let both = |p: &Peer| p.text().contains("AAA") && p.text().contains("BBB");
    assert!(a.pump_until(WAIT, both).await);
    assert!(b.pump_until(WAIT, both).await);
    assert_eq!(a.text(), b.text());
}

#[tokio::test]
async fn late_joiner_gets_the_whole_document() {
    let t = TestServer::start().await;
    let s = new_session(&t.url()).await;
    let mut a = Peer::connect(&t.ws_url(), &s.id, "main", &s.interviewer).await;
    a.pump(Duration::from_millis(200)).await;
    for i in 0..50 {
        a.append(&format!("line {i}\n")).await;
    }
    a.pump(Duration::from_millis(200)).await;
    let mut late = Peer::connect(&t.ws_url(), &s.id, "main", &s.candidate).await;
    let expected = a.text();
    assert!(
        late.pump_until(WAIT, |p| p.text() == expected).await,
        "late joiner converges"
    );
}

#[tokio::test]
async fn awareness_is_relayed_and_removed_when_a_client_leaves() {
    let t = TestServer::start().await;
    let s = new_session(&t.url()).await;
    let mut a = Peer::connect(&t.ws_url(), &s.id, "main", &s.interviewer).await;
    let mut b = Peer::connect(&t.ws_url(), &s.id, "main", &s.candidate).await;
    a.pump(Duration::from_millis(100)).await;
    b.pump(Duration::from_millis(100)).await;

    b.set_awareness(4242, r##"{"user":{"name":"Bob","color":"#4fc1ff"}}"##)
        .await;
    assert!(
        a.pump_until(
            WAIT,
            |p| matches!(p.awareness.get(&4242), Some(Some(s)) if s.contains("Bob"))
        )
        .await
    );

    // A newcomer gets the current awareness states on connect.
    let mut c = Peer::connect(&t.ws_url(), &s.id, "main", &s.interviewer).await;
    assert!(
        c.pump_until(WAIT, |p| matches!(p.awareness.get(&4242), Some(Some(_))))
            .await
    );

    drop(b);
    assert!(
        a.pump_until(WAIT, |p| p.awareness.get(&4242) == Some(&None))
            .await,
        "A sees Bob leave"
    );
    assert!(
        c.pump_until(WAIT, |p| p.awareness.get(&4242) == Some(&None))
            .await,
        "C sees Bob leave"
    );
}

/// After each kind of bad input the offending connection is closed with a clear code, and the
/// room keeps working for everyone else with its content intact.
#[tokio::test]
async fn bad_frames_close_only_that_connection() {
    let t = TestServer::start_with(|c| {
        c.storage.max_frame_bytes = 64 * 1024;
        c.storage.max_messages_per_second = 50;
    })
    .await;
    let s = new_session(&t.url()).await;
    let mut good = Peer::connect(&t.ws_url(), &s.id, "main", &s.interviewer).await;
    good.pump(Duration::from_millis(100)).await;
    good.insert(0, "KEEP ME\n").await;
    good.pump(Duration::from_millis(100)).await;

    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("unknown sync step", vec![0, 7, 1, 2], 1002),
        ("truncated update", vec![0, 2, 200, 1, 5], 1002),
        (
            "update that is not a yrs update",
            {
                let mut m = vec![0, 2, 10];
                m.extend([0xff; 10]);
                m
            },
            1002,
        ),
        (
            "invalid awareness JSON",
            Message::Awareness(yrs::sync::awareness::AwarenessUpdate {
                clients: [(
                    yrs::block::ClientID::new(7),
                    yrs::sync::awareness::AwarenessUpdateEntry {
                        clock: 1,
                        json: "{nope".into(),
                    },
                )]
                .into_iter()
                .collect(),
            })
            .encode_v1(),
            1002,
        ),
        ("empty frame", vec![], 1002),
        (
            "oversized frame",
            {
                let mut m = Message::Sync(SyncMessage::Update(vec![0; 100 * 1024])).encode_v1();
                m.truncate(100 * 1024);
                m
            },
            1009,
        ),
        ("frame far over the limit", vec![0; 1024 * 1024], 1009),
    ];
    for (what, frame, code) in cases {
        let mut bad = Peer::connect(&t.ws_url(), &s.id, "main", &s.candidate).await;
        bad.send_raw(frame).await;
        let ended = bad.closed_with(WAIT).await;
        match ended {
            Some(Ended::Closed(Some(got))) => assert_eq!(got, code, "{what}"),
            // A frame beyond the transport limit may be cut off before a close frame is read.
            Some(Ended::Error(_)) | Some(Ended::Closed(None)) if code == 1009 => {}
            other => panic!("{what}: expected close {code}, got {other:?}"),
        }
    }

    // A text frame is not y-websocket.
    let mut text = Peer::connect(&t.ws_url(), &s.id, "main", &s.candidate).await;
    use futures_util::SinkExt;
    text.ws
        .send(tokio_tungstenite::tungstenite::Message::Text(
            "hello".into(),
        ))
        .await
        .unwrap();
    assert_eq!(
        text.closed_with(WAIT).await,
        Some(Ended::Closed(Some(1003)))
    );

    // Flooding: more than the per-connection rate closes with 1008.
    let mut flood = Peer::connect(&t.ws_url(), &s.id, "main", &s.candidate).await;
    for _ in 0..500 {
        flood.send(Message::AwarenessQuery).await;
    }
    assert_eq!(
        flood.closed_with(WAIT).await,
        Some(Ended::Closed(Some(1008)))
    );

    // The room is unharmed: the good client still edits and a fresh client sees everything.
    good.insert(0, "STILL HERE\n").await;
    let mut fresh = Peer::connect(&t.ws_url(), &s.id, "main", &s.interviewer).await;
    assert!(
        fresh
            .pump_until(WAIT, |p| p.text().starts_with("STILL HERE\nKEEP ME\n"))
            .await,
        "room intact"
    );
}

#[tokio::test]
async fn sessions_do_not_share_documents() {
    let t = TestServer::start().await;
    let s1 = new_session(&t.url()).await;
    let s2 = new_session(&t.url()).await;
    let mut a = Peer::connect(&t.ws_url(), &s1.id, "main", &s1.interviewer).await;
    let mut b = Peer::connect(&t.ws_url(), &s2.id, "main", &s2.interviewer).await;
    a.pump(Duration::from_millis(100)).await;
    a.insert(0, "only in s1").await;
    b.pump(Duration::from_millis(500)).await;
    assert!(!b.text().contains("only in s1"));
    // A token of session 1 does not open session 2.
    assert_eq!(
        Peer::try_connect(&t.ws_url(), &s2.id, "main", &s1.candidate)
            .await
            .err(),
        Some(401)
    );
}

/// A client that stops reading falls behind the room's fan-out buffer; when it reads again it
/// is resynced with the whole document instead of silently missing edits.
#[tokio::test]
async fn a_client_that_falls_behind_is_resynced() {
    let t = TestServer::start_with(|c| c.storage.max_messages_per_second = 100_000).await;
    let s = new_session(&t.url()).await;
    let mut slow = Peer::connect(&t.ws_url(), &s.id, "main", &s.candidate).await;
    slow.pump(Duration::from_millis(100)).await;
    let mut writer = Peer::connect(&t.ws_url(), &s.id, "main", &s.interviewer).await;
    writer.pump(Duration::from_millis(100)).await;
    // ~10 MB of edits: more than the socket buffers hold, so the server's send to `slow` blocks
    // while the room's buffer (128 frames) overflows behind it.
    let chunk = "x".repeat(16 * 1024);
    for _ in 0..700 {
        writer.append(&chunk).await;
    }
    writer.pump(Duration::from_millis(200)).await;
    let expected = writer.text();
    assert!(
        slow.pump_until(Duration::from_secs(20), |p| p.text() == expected)
            .await,
        "slow client converged"
    );
    let metrics = http()
        .get(format!("{}/metrics", t.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let resyncs: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("iide_ws_resyncs_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        resyncs >= 1,
        "the slow client was resynced (resyncs = {resyncs})"
    );
}

/// A client that never reads (its socket full, a frozen tab) stalls nobody: the others keep
/// editing and see each other's edits at once, and the server keeps reading the silent client's
/// own edits. When it reads again it catches up with the whole document.
#[tokio::test]
async fn a_slow_reader_cannot_stall_the_room() {
    let t = TestServer::start_with(|c| c.storage.max_messages_per_second = 100_000).await;
    let s = new_session(&t.url()).await;
    let mut silent = Peer::connect(&t.ws_url(), &s.id, "main", &s.candidate).await;
    silent.pump(Duration::from_millis(100)).await;
    let mut a = Peer::connect(&t.ws_url(), &s.id, "main", &s.interviewer).await;
    let mut b = Peer::connect(&t.ws_url(), &s.id, "main", &s.interviewer).await;
    a.pump(Duration::from_millis(100)).await;
    b.pump(Duration::from_millis(100)).await;
    // ~8 MB crosses the room while `silent` reads nothing: far more than its socket buffers.
    let chunk = "y".repeat(16 * 1024);
    for round in 0..250 {
        a.append(&chunk).await;
        let want = a.text().len();
        assert!(
            b.pump_until(WAIT, |p| p.text().len() == want).await,
            "B sees A's edit {round} while a reader is stuck"
        );
        b.append("b").await;
        let want = b.text().len();
        assert!(
            a.pump_until(WAIT, |p| p.text().len() == want).await,
            "A sees B's edit {round}"
        );
    }
    // The silent client can still write: its edit reaches the others although it reads nothing.
    silent.insert(0, "from the silent one\n").await;
    assert!(
        a.pump_until(WAIT, |p| p.text().starts_with("from the silent one\n"))
            .await
    );
    let expected = a.text();
    assert!(
        silent
            .pump_until(Duration::from_secs(20), |p| p.text() == expected)
            .await,
        "the silent client catches up"
    );
}

/// The pad's `meta` map (language, policy, end of session) is the server's: a client that writes
/// it directly is overruled, so the others never see a spoofed value.
#[tokio::test]
async fn clients_cannot_rewrite_the_servers_meta_map() {
    let t = TestServer::start().await;
    let s = new_session(&t.url()).await;
    let mut mallory = Peer::connect(&t.ws_url(), &s.id, "main", &s.candidate).await;
    assert!(
        mallory
            .pump_until(WAIT, |p| p.meta("language").as_deref() == Some("python"))
            .await
    );
    let update = {
        use yrs::{Map, Text, Transact};
        let meta = mallory.doc.get_or_insert_map("meta");
        let code = mallory.doc.get_or_insert_text("code");
        let mut txn = mallory.doc.transact_mut();
        meta.insert(&mut txn, "language", "cobol");
        meta.insert(&mut txn, "ended_at", 1);
        meta.remove(&mut txn, "execution_enabled");
        // A legitimate edit in the same update still lands.
        code.insert(&mut txn, 0, "# legit\n");
        txn.encode_update_v1()
    };
    mallory
        .send(yrs::sync::Message::Sync(yrs::sync::SyncMessage::Update(
            update,
        )))
        .await;
    mallory.pump(Duration::from_millis(200)).await;

    let mut other = Peer::connect(&t.ws_url(), &s.id, "main", &s.interviewer).await;
    assert!(
        other
            .pump_until(WAIT, |p| p.text().starts_with("# legit\n"))
            .await,
        "the code edit applies"
    );
    assert_eq!(other.meta("language").as_deref(), Some("python"));
    assert_eq!(other.meta("ended_at"), None);
    assert_eq!(other.meta("execution_enabled").as_deref(), Some("true"));
    // The server's own changes still go through.
    http()
        .patch(format!("{}/api/sessions/{}", t.url(), s.id))
        .bearer_auth(&s.candidate)
        .json(&serde_json::json!({"language": "go"}))
        .send()
        .await
        .unwrap();
    assert!(
        other
            .pump_until(WAIT, |p| p.meta("language").as_deref() == Some("go"))
            .await
    );
}

/// Documents are kept encoded between the server's own reads and writes: clients' edits are
/// appended to the encoded form without a live `Doc` (that is the memory saving), and everything
/// a user sees is the same: both sides converge, a late joiner gets the whole document, the
/// server's own change unpacks it, and a restart loads what was typed.
#[tokio::test]
async fn edits_to_a_packed_document_need_no_live_doc_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}/packed.db", dir.path().display());
    let tweak = |c: &mut interview_ide::Config| {
        c.storage.doc_live_seconds = 0;
        c.storage.room_idle_seconds = 1;
    };
    let server = TestServer::start_on(&db_url, tweak).await;
    let (base, ws) = (server.url(), server.url().replacen("http://", "ws://", 1));
    let s = new_session(&base).await;
    let mut a = Peer::connect(&ws, &s.id, "main", &s.interviewer).await;
    let mut b = Peer::connect(&ws, &s.id, "main", &s.candidate).await;
    assert!(a.pump_until(WAIT, |p| p.text().contains("greet")).await);
    assert!(b.pump_until(WAIT, |p| p.text().contains("greet")).await);
    // Loaded documents are kept packed; the janitor packs one the server needed.
    let deadline = std::time::Instant::now() + WAIT;
    while metric(&base, "iide_docs_live").await > 0.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the document is packed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let unpacks = metric(&base, "iide_doc_unpacks_total").await;

    // Both type at the end of the text, interleaved, as in the same-spot benchmark.
    for i in 0..40 {
        a.append(&format!("a{i} ")).await;
        b.append(&format!("b{i} ")).await;
        a.pump(Duration::from_millis(5)).await;
        b.pump(Duration::from_millis(5)).await;
    }
    let converged = |p: &Peer| p.text().contains("a39 ") && p.text().contains("b39 ");
    assert!(a.pump_until(WAIT, converged).await && b.pump_until(WAIT, converged).await);
    assert!(
        b.pump_until(WAIT, |p| p.text() == a.text()).await,
        "both hold the same text"
    );
    assert_eq!(
        metric(&base, "iide_doc_unpacks_total").await,
        unpacks,
        "clients' edits were appended without a live Doc"
    );
    assert_eq!(metric(&base, "iide_docs_live").await, 0.0);

    let mut late = Peer::connect(&ws, &s.id, "main", &s.candidate).await;
    let expected = a.text();
    assert!(
        late.pump_until(WAIT, |p| p.text() == expected).await,
        "a late joiner gets the whole document"
    );

    // The server's own change needs a Doc: it is unpacked, and everyone sees the change.
    http()
        .patch(format!("{base}/api/sessions/{}", s.id))
        .bearer_auth(&s.candidate)
        .json(&serde_json::json!({"language": "go"}))
        .send()
        .await
        .unwrap();
    assert!(
        a.pump_until(WAIT, |p| p.meta("language").as_deref() == Some("go"))
            .await
    );
    assert!(metric(&base, "iide_doc_unpacks_total").await > unpacks);
    let deadline = std::time::Instant::now() + WAIT;
    while metric(&base, "iide_docs_live").await > 0.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "packed again once the server no longer needs it"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    drop((a, b, late));
    server.stop().await.unwrap();
    let server = TestServer::start_on(&db_url, tweak).await;
    let ws = server.url().replacen("http://", "ws://", 1);
    let mut again = Peer::connect(&ws, &s.id, "main", &s.interviewer).await;
    assert!(
        again.pump_until(WAIT, |p| p.text() == expected).await,
        "what was typed survives a restart"
    );
}
