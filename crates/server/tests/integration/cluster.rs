//! Cluster mode: two server processes on one PostgreSQL database and one Redis. Needs
//! TEST_DATABASE_URL and TEST_REDIS_URL (both skip with a message when unset); the Redis restart
//! test runs its own redis-server (AOF on) so the machine's Redis is never restarted.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::*;
use interview_ide::docname::{DocKey, DocName};
use interview_ide::ids::SessionId;

/// The Redis stream of a session's pad.
fn main_stream(session: &str) -> String {
    let session = SessionId::parse(session).unwrap();
    interview_ide::redis_keys::doc_stream(&DocKey::new(session, DocName::Main))
}

fn urls() -> Option<(String, String)> {
    match (
        std::env::var("TEST_DATABASE_URL"),
        std::env::var("TEST_REDIS_URL"),
    ) {
        (Ok(db), Ok(redis)) => Some((db, redis)),
        _ => {
            eprintln!(
                "SKIPPED: cluster tests need TEST_DATABASE_URL (postgres://...) and TEST_REDIS_URL (redis://...)"
            );
            None
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One node: the real binary in cluster mode.
struct Node {
    child: Option<Child>,
    port: u16,
    /// The untrusted origin's listener.
    untrusted_port: u16,
    id: String,
    db: String,
    redis: String,
    extra: Vec<String>,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Node {
    async fn start(id: &str, db: &str, redis: &str, extra: &[&str]) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut node = Node {
            child: None,
            port,
            untrusted_port: free_port(),
            // Tests run side by side on one Redis: ids must not meet.
            id: format!("{id}-{port}"),
            db: db.to_string(),
            redis: redis.to_string(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            log: dir.path().join("node.log"),
            _dir: dir,
        };
        node.spawn().await;
        node
    }

    async fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_interview-ide"))
            .args([
                "--bind",
                &format!("127.0.0.1:{}", self.port),
                "--untrusted-bind",
                &format!("127.0.0.1:{}", self.untrusted_port),
                "--database-url",
                &self.db,
                "--redis-url",
                &self.redis,
                "--node-id",
                &self.id,
            ])
            .args([
                "--workspaces-dir",
                &self._dir.path().join("ws").display().to_string(),
            ])
            .args(["--max-sessions-per-minute", "1000"])
            .args(admin_args())
            .args(&self.extra)
            .env("RUST_LOG", "info,sqlx=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("binary starts");
        self.child = Some(child);
        self.wait_ready().await;
    }

    async fn wait_ready(&self) {
        for _ in 0..200 {
            if let Ok(res) = http().get(format!("{}/readyz", self.base())).send().await
                && res.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "node {} did not become ready; log:\n{}",
            self.id,
            self.log_text()
        );
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn ws(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// SIGKILL: nothing of the node's shutdown runs.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn two_nodes(db: &str, redis: &str, extra: &[&str]) -> (Node, Node) {
    let a = Node::start("node-a", db, redis, extra).await;
    let b = Node::start("node-b", db, redis, extra).await;
    authenticate_helpers(&a.base()).await;
    (a, b)
}

/// Edits cross nodes both ways, cursors too, a late joiner gets everything, and an end made
/// through one node freezes the document for clients of the other.
#[tokio::test]
async fn edits_cursors_and_the_end_of_a_session_cross_nodes() {
    let Some((db, redis)) = urls() else { return };
    let (a, b) = two_nodes(&db, &redis, &[]).await;
    let s = new_session(&a.base()).await;
    let mut on_a = Peer::connect(&a.ws(), &s.id, "main", &s.interviewer).await;
    let mut on_b = Peer::connect(&b.ws(), &s.id, "main", &s.candidate).await;
    on_a.pump(Duration::from_millis(200)).await;
    on_b.pump(Duration::from_millis(200)).await;

    on_a.append("written on A\n").await;
    assert!(
        on_b.pump_until(WAIT, |p| p.text().contains("written on A"))
            .await,
        "A's edit reaches B: {:?}",
        on_b.text()
    );
    on_b.append("written on B\n").await;
    assert!(
        on_a.pump_until(WAIT, |p| p.text().contains("written on B"))
            .await,
        "B's edit reaches A: {:?}",
        on_a.text()
    );

    on_a.set_awareness(4242, r#"{"user":{"name":"Ada"},"cursor":{"anchor":3}}"#)
        .await;
    assert!(
        on_b.pump_until(WAIT, |p| p
            .awareness
            .get(&4242)
            .and_then(|s| s.as_deref())
            .is_some_and(|s| s.contains("Ada")))
            .await,
        "A's cursor reaches B"
    );
    on_b.set_awareness(4343, r#"{"user":{"name":"Bo"}}"#).await;
    assert!(
        on_a.pump_until(WAIT, |p| p
            .awareness
            .get(&4343)
            .is_some_and(|s| s.is_some()))
            .await,
        "B's presence reaches A"
    );

    // A late joiner on B gets what was written through A, and A's cursor (re-announced).
    on_a.pump(Duration::from_millis(100)).await;
    let expected = on_a.text();
    let mut late = Peer::connect(&b.ws(), &s.id, "main", &s.candidate).await;
    assert!(
        late.pump_until(WAIT, |p| p.text() == expected).await,
        "late joiner on B: {:?} vs {expected:?}",
        late.text()
    );

    // A cursor leaves with its connection, on the other node too.
    drop(on_a);
    assert!(
        on_b.pump_until(WAIT, |p| p.awareness.get(&4242) == Some(&None))
            .await,
        "A's cursor is removed on B when A's client leaves"
    );

    // The end, made through A, freezes B's copy.
    let res = http()
        .post(format!("{}/api/sessions/{}/end", a.base(), s.id))
        .bearer_auth(&s.interviewer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "end the session");
    assert!(
        on_b.pump_until(WAIT, |p| p.meta("ended_at").is_some())
            .await,
        "B's client learns of the end"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    on_b.append("after the end").await;
    on_b.pump(Duration::from_millis(300)).await;
    let mut check = Peer::connect(&a.ws(), &s.id, "main", &s.interviewer).await;
    check.pump_until(WAIT, |p| p.text() == expected).await;
    check.pump(Duration::from_millis(300)).await;
    assert_eq!(
        check.text(),
        expected,
        "an edit sent to B after the end is refused"
    );
}

/// kill -9 of a node while its client types: the client reconnects to the other node and
/// finds every edit that reached the stream; after a restart nothing is duplicated or lost.
#[tokio::test]
async fn kill_9_of_a_node_loses_no_edit_that_reached_redis() {
    let Some((db, redis)) = urls() else { return };
    let (mut a, b) = two_nodes(&db, &redis, &[]).await;
    let s = new_session(&a.base()).await;
    let mut typist = Peer::connect(&a.ws(), &s.id, "main", &s.candidate).await;
    let mut watcher = Peer::connect(&b.ws(), &s.id, "main", &s.interviewer).await;
    typist.pump(Duration::from_millis(200)).await;
    for i in 0..60 {
        typist.append(&format!("line {i}\n")).await;
        if i % 10 == 0 {
            typist.pump(Duration::from_millis(20)).await;
        }
    }
    let typed = typist.text();
    // What B has seen went through A's stream: wait for it, then kill A mid-session.
    assert!(
        watcher.pump_until(WAIT, |p| p.text() == typed).await,
        "B follows A: {:?}",
        watcher.text()
    );
    a.kill();

    let mut again = Peer::connect(&b.ws(), &s.id, "main", &s.candidate).await;
    assert!(
        again.pump_until(WAIT, |p| p.text() == typed).await,
        "the typist's edits are on B after A died"
    );
    again.append("after the crash\n").await;
    let expected = format!("{typed}after the crash\n");
    assert!(watcher.pump_until(WAIT, |p| p.text() == expected).await);

    a.spawn().await;
    let mut back = Peer::connect(&a.ws(), &s.id, "main", &s.interviewer).await;
    assert!(
        back.pump_until(WAIT, |p| p.text() == expected).await,
        "restarted A: {:?}",
        back.text()
    );
    back.pump(Duration::from_millis(300)).await;
    assert_eq!(
        back.text(),
        expected,
        "nothing duplicated after A's restart"
    );
}

/// Compaction under sustained load: both nodes race to compact one document; the stored
/// snapshot rebuilds the same text, no entry is stored twice, and the stream stays short.
#[tokio::test]
async fn racing_compactors_keep_one_correct_history_and_a_short_stream() {
    let Some((db, redis)) = urls() else { return };
    let extra = [
        "--compact-every-updates",
        "20",
        "--stream-keep-seconds",
        "1",
        "--room-idle-seconds",
        "1",
    ];
    let (a, b) = two_nodes(&db, &redis, &extra).await;
    let s = new_session(&a.base()).await;
    let mut on_a = Peer::connect(&a.ws(), &s.id, "main", &s.candidate).await;
    let mut on_b = Peer::connect(&b.ws(), &s.id, "main", &s.interviewer).await;
    on_a.pump(Duration::from_millis(200)).await;
    on_b.pump(Duration::from_millis(200)).await;
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let stream = main_stream(&s.id);
    let mut lengths = Vec::new();
    // ~4 s of typing on both nodes, 2 x 50 edits/s.
    for round in 0..200 {
        on_a.append(&format!("a{round} ")).await;
        on_b.append(&format!("b{round} ")).await;
        on_a.pump(Duration::from_millis(10)).await;
        on_b.pump(Duration::from_millis(10)).await;
        if round % 25 == 24 {
            let len: i64 = redis::cmd("XLEN")
                .arg(&stream)
                .query_async(&mut conn)
                .await
                .unwrap();
            lengths.push(len);
        }
    }
    assert!(on_a.pump_until(WAIT, |p| p.text().contains("b199")).await);
    assert!(on_b.pump_until(WAIT, |p| p.text().contains("a199")).await);
    on_a.pump(Duration::from_millis(200)).await;
    let text = on_a.text();
    assert_eq!(text, on_b.text(), "both nodes converge");
    let compactions = metric(&a.base(), "iide_cluster_compactions_total").await
        + metric(&b.base(), "iide_cluster_compactions_total").await;
    assert!(
        compactions >= 5.0,
        "compactions ran during the load ({compactions})"
    );
    // The stream stays short: 800 entries went through it, it never held them all.
    let longest = *lengths.iter().max().unwrap();
    assert!(longest < 400, "stream length over time: {lengths:?}");

    // Both leave; the rooms unload (and compact); a third node rebuilds the text from PostgreSQL
    // and what is left of the stream.
    drop(on_a);
    drop(on_b);
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let c = Node::start("node-c", &db, &redis, &extra).await;
    let mut fresh = Peer::connect(&c.ws(), &s.id, "main", &s.interviewer).await;
    assert!(
        fresh.pump_until(WAIT, |p| p.text() == text).await,
        "rebuilt: {:?}",
        fresh.text()
    );

    // Every stored row has its own sequence number: no entry was stored twice.
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db).await.unwrap();
    let rows = sqlx::query("SELECT COUNT(*) AS n, COUNT(DISTINCT seq) AS d FROM doc_updates WHERE session_id = $1 AND doc = 'main'").bind(&s.id).fetch_one(&pool).await.unwrap();
    let (n, d): (i64, i64) = (rows.get("n"), rows.get("d"));
    assert_eq!(n, d, "no duplicated rows");
    let snapshots: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM doc_snapshots WHERE session_id = $1 AND doc = 'main'",
    )
    .bind(&s.id)
    .fetch_one(&pool)
    .await
    .unwrap()
    .get("n");
    assert!(snapshots >= 1, "a snapshot was stored");
}

/// Redis restarted (AOF on): nodes say not ready while it is down and recover by themselves;
/// nothing that reached Redis is lost.
#[tokio::test]
async fn a_redis_restart_loses_nothing_and_nodes_recover_by_themselves() {
    let Some((db, _)) = urls() else { return };
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: the Redis restart test needs redis-server on PATH");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let start_redis = || {
        Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .args(["--dir", &dir.path().display().to_string()])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts")
    };
    let redis_url = format!("redis://127.0.0.1:{port}");
    let mut redis = start_redis();
    wait_for_port(port).await;
    let (a, b) = two_nodes(&db, &redis_url, &[]).await;
    let s = new_session(&a.base()).await;
    let mut on_a = Peer::connect(&a.ws(), &s.id, "main", &s.candidate).await;
    let mut on_b = Peer::connect(&b.ws(), &s.id, "main", &s.interviewer).await;
    on_a.pump(Duration::from_millis(200)).await;
    for i in 0..20 {
        on_a.append(&format!("before {i}\n")).await;
    }
    let before = on_a.text();
    assert!(
        on_b.pump_until(WAIT, |p| p.text() == before).await,
        "B follows A before the restart"
    );

    redis.kill().unwrap();
    redis.wait().unwrap();
    let mut not_ready = false;
    for _ in 0..40 {
        let status = http()
            .get(format!("{}/readyz", b.base()))
            .send()
            .await
            .unwrap()
            .status();
        if status == 503 {
            not_ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(not_ready, "a node without Redis says it is not ready");

    let mut redis = start_redis();
    wait_for_port(port).await;
    a.wait_ready().await;
    b.wait_ready().await;
    // Both clients reconnect as the browser's provider would, and edit again.
    let mut on_a = Peer::connect(&a.ws(), &s.id, "main", &s.candidate).await;
    let mut on_b = Peer::connect(&b.ws(), &s.id, "main", &s.interviewer).await;
    assert!(
        on_a.pump_until(WAIT, |p| p.text() == before).await,
        "A after the restart: {:?}",
        on_a.text()
    );
    assert!(
        on_b.pump_until(WAIT, |p| p.text() == before).await,
        "B after the restart: {:?}",
        on_b.text()
    );
    on_a.append("after\n").await;
    let expected = format!("{before}after\n");
    assert!(
        on_b.pump_until(Duration::from_secs(15), |p| p.text() == expected)
            .await,
        "edits cross nodes again: {:?}",
        on_b.text()
    );
    redis.kill().unwrap();
    redis.wait().unwrap();
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// A private PostgreSQL server (initdb in a temporary folder) that a test may crash and restart
/// without touching the machine's. None (with a message) when the binaries are not installed.
struct PrivatePostgres {
    child: Option<Child>,
    bin: std::path::PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl PrivatePostgres {
    fn start() -> Option<PrivatePostgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .map(|e| e.path().join("bin"))
            .find(|b| b.join("initdb").exists());
        let Some(bin) = bin else {
            eprintln!(
                "SKIPPED: the PostgreSQL outage test needs initdb (Debian's postgresql package)"
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        // PostgreSQL refuses to run as root: as root, run it as the postgres user.
        if is_root() {
            Command::new("chown")
                .args(["-R", "postgres:postgres", &dir.path().display().to_string()])
                .status()
                .unwrap();
        }
        let mut pg = PrivatePostgres {
            child: None,
            bin,
            dir,
            port: free_port(),
        };
        let data = pg.data();
        let out = pg
            .command("initdb")
            .args([
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "--encoding=UTF8",
                "--locale=C",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg.spawn();
        Some(pg)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn command(&self, tool: &str) -> Command {
        let tool = self.bin.join(tool).display().to_string();
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", &tool]);
            c
        } else {
            Command::new(tool)
        }
    }

    fn spawn(&mut self) {
        let child = self
            .command("postgres")
            .args([
                "-D",
                &self.data(),
                "-p",
                &self.port.to_string(),
                "-k",
                &self.dir.path().display().to_string(),
            ])
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=on"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("postgres starts");
        self.child = Some(child);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// An immediate shutdown: every backend is killed, nothing is checkpointed, the next start
    /// runs crash recovery. Run through runuser, the postmaster is runuser's child: signal it.
    fn crash(&mut self) {
        let pid_file = std::fs::read_to_string(self.dir.path().join("data/postmaster.pid"))
            .unwrap_or_default();
        match pid_file.lines().next().map(str::trim) {
            Some(pid) if !pid.is_empty() => {
                Command::new("kill").args(["-QUIT", pid]).status().unwrap();
            }
            _ => {
                if let Some(child) = self.child.as_mut() {
                    let _ = child.kill();
                }
            }
        }
        if let Some(mut child) = self.child.take() {
            child.wait().unwrap();
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.crash();
        }
    }
}

/// PostgreSQL crashes in the middle of an interview: the documents already open go on crossing
/// nodes through Redis, the nodes say they are not ready, and once PostgreSQL is back the
/// compaction catches up; nothing typed during the outage is lost, not even from PostgreSQL
/// alone (the Redis stream is deleted before the last check).
#[tokio::test]
async fn a_postgres_crash_keeps_open_documents_live_and_loses_nothing() {
    let Some((_, redis)) = urls() else { return };
    let Some(mut pg) = PrivatePostgres::start() else {
        return;
    };
    wait_for_port(pg.port).await;
    let extra = ["--compact-every-updates", "20"];
    let (a, b) = two_nodes(&pg.url(), &redis, &extra).await;
    let s = new_session(&a.base()).await;
    let mut on_a = Peer::connect(&a.ws(), &s.id, "main", &s.candidate).await;
    let mut on_b = Peer::connect(&b.ws(), &s.id, "main", &s.interviewer).await;
    on_a.pump(Duration::from_millis(200)).await;
    for i in 0..30 {
        on_a.append(&format!("before {i}\n")).await;
    }
    let before = on_a.text();
    assert!(
        on_b.pump_until(WAIT, |p| p.text() == before).await,
        "B follows A before the crash"
    );

    pg.crash();
    // Typing goes on, on both nodes, and crosses them: live documents do not need PostgreSQL.
    for i in 0..40 {
        on_a.append(&format!("during {i}\n")).await;
        on_b.append(&format!("b during {i}\n")).await;
        on_a.pump(Duration::from_millis(10)).await;
    }
    assert!(
        on_b.pump_until(WAIT, |p| p.text().contains("during 39\n")
            && p.text().contains("b during 39\n"))
            .await,
        "B follows A during the outage: {:?}",
        on_b.text()
    );
    assert!(
        on_a.pump_until(WAIT, |p| p.text().contains("b during 39\n"))
            .await,
        "A follows B during the outage"
    );
    let status = http()
        .get(format!("{}/readyz", a.base()))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(
        status, 503,
        "a node without its database says it is not ready"
    );

    pg.spawn();
    wait_for_port(pg.port).await;
    a.wait_ready().await;
    b.wait_ready().await;
    on_a.append("after\n").await;
    on_a.pump(Duration::from_millis(200)).await;
    let text = on_a.text();
    assert!(
        on_b.pump_until(WAIT, |p| p.text() == text).await,
        "both nodes hold the same text"
    );

    // The interviewer's replay compacts first: everything goes into PostgreSQL. Without the
    // stream, a fresh node must rebuild the whole text from PostgreSQL alone.
    let mut replayed = false;
    for _ in 0..50 {
        let res = http()
            .get(format!("{}/api/sessions/{}/replay/main", b.base(), s.id))
            .bearer_auth(&s.interviewer)
            .send()
            .await
            .unwrap();
        if res.status() == 200 {
            replayed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(replayed, "replay answers once PostgreSQL is back");
    drop((on_a, on_b));
    drop((a, b));
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: i64 = redis::cmd("DEL")
        .arg(main_stream(&s.id))
        .query_async(&mut conn)
        .await
        .unwrap();
    let c = Node::start("node-c", &pg.url(), &redis, &extra).await;
    let mut fresh = Peer::connect(&c.ws(), &s.id, "main", &s.interviewer).await;
    assert!(
        fresh.pump_until(WAIT, |p| p.text() == text).await,
        "rebuilt from PostgreSQL alone: {:?}",
        fresh.text()
    );
}

/// Failed sign-ins count for the whole cluster: guesses spread over two nodes are throttled as
/// they would be on one.
#[tokio::test]
async fn failed_sign_ins_are_counted_across_nodes() {
    let Some((db, redis)) = urls() else { return };
    let (a, b) = two_nodes(&db, &redis, &["--trust-forwarded-for"]).await;
    // Counters outlive a run (15 min): a fresh account name and client address every time.
    let run = format!("{}-{}", std::process::id(), free_port());
    let email = format!("guess-{run}@example.com");
    let address = format!(
        "10.{}.{}.{}",
        free_port() % 250,
        free_port() % 250,
        free_port() % 250
    );
    let attempt = |base: String| {
        let (email, address) = (email.clone(), address.clone());
        async move {
            let body = serde_json::json!({"email": email, "password": "not the password"});
            http()
                .post(format!("{base}/api/auth/login"))
                .header("x-forwarded-for", address)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for i in 0..10 {
        let node = if i % 2 == 0 { a.base() } else { b.base() };
        assert_eq!(
            attempt(node).await,
            401,
            "failure {i} is an ordinary refusal"
        );
    }
    assert_eq!(
        attempt(a.base()).await,
        429,
        "the 11th guess is throttled on A"
    );
    assert_eq!(attempt(b.base()).await, 429, "and on B");
}

/// Cluster mode refuses SQLite with a clear message.
#[tokio::test]
async fn cluster_mode_needs_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_interview-ide"))
        .args([
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            &format!("sqlite://{}/db.sqlite", dir.path().display()),
            "--redis-url",
            "redis://127.0.0.1:6379",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs PostgreSQL"), "{err}");
}

/// A second node under a live node's id refuses to start, saying why, instead of taking the
/// other's workspaces and requests.
#[tokio::test]
async fn a_node_id_in_use_is_refused() {
    let Some((db, redis)) = urls() else { return };
    let a = Node::start("taken", &db, &redis, &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_interview-ide"))
        .args([
            "--bind",
            &format!("127.0.0.1:{}", free_port()),
            "--untrusted-bind",
            "127.0.0.1:0",
            "--database-url",
            &db,
            "--redis-url",
            &redis,
            "--node-id",
            &a.id,
        ])
        .args(["--workspaces-dir", &dir.path().display().to_string()])
        .args(admin_args())
        .output()
        .await
        .unwrap();
    assert!(!out.status.success(), "the second node must not start");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("belongs to a live node"), "{err}");
    assert_eq!(
        http()
            .get(format!("{}/readyz", a.base()))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "the first node carries on"
    );
}

async fn wait_for_port(port: u16) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("port {port} did not open");
}

/// A workspace made through A is used through B (files, terminal, app, a file's live document);
/// after kill -9 of A it comes back on B with the candidate's edit, and the timeline says so.
#[tokio::test]
async fn a_workspace_is_served_through_any_node_and_survives_its_node() {
    let Some((db, redis)) = urls() else { return };
    if !workspaces_ready("cluster workspace tests") {
        return;
    }
    let exercises = format!("{}/../../exercises", env!("CARGO_MANIFEST_DIR"));
    let extra = ["--exercises-dir", exercises.as_str()];
    let (mut a, b) = two_nodes(&db, &redis, &extra).await;
    let s = workspace_session(&a.base()).await;
    let get = |base: String, path: &str| {
        let url = format!("{base}/api/sessions/{}{path}", s.id);
        let token = s.candidate.clone();
        async move {
            http()
                .get(url)
                .bearer_auth(token)
                .timeout(Duration::from_secs(30))
                .send()
                .await
                .unwrap()
        }
    };

    // Through B, served by A.
    let res = get(b.base(), "/app/stocks").await;
    assert_eq!(res.status(), 200, "the app answers through B");
    // The untrusted origin too: B's listener forwards to A, whose platform listener serves
    // those routes to a forwarded request only.
    let links: serde_json::Value = get(b.base(), "/content").await.json().await.unwrap();
    let app = links["app"].as_str().unwrap();
    let path = &app[app.find("/sessions/").unwrap()..];
    let res = http()
        .get(format!("http://127.0.0.1:{}{path}stocks", b.untrusted_port))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the app through B's untrusted origin");
    assert_eq!(
        res.headers()["cross-origin-resource-policy"],
        "cross-origin"
    );
    let res = http()
        .get(format!("{}{path}stocks", a.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        404,
        "never on a platform listener to a browser"
    );
    let files: serde_json::Value = get(b.base(), "/files").await.json().await.unwrap();
    assert!(files.to_string().contains("app/models.py"), "{files}");
    let mut file = Peer::try_connect_file(&b.ws(), &s.id, "app/models.py", &s.candidate)
        .await
        .expect("a file's document through B");
    assert!(
        file.pump_until(WAIT, |p| p.text().contains("class")).await,
        "the file's text arrives"
    );
    file.append("\n# edited through node B\n").await;
    let mut on_disk = false;
    for _ in 0..50 {
        let body = get(b.base(), "/files/content?path=app/models.py")
            .await
            .text()
            .await
            .unwrap();
        if body.contains("edited through node B") {
            on_disk = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(on_disk, "the edit reached the workspace's disk on A");
    let (mut term, _) = tokio_tungstenite::connect_async(format!(
        "{}/api/sessions/{}/terminal?token={}",
        b.ws(),
        s.id,
        s.candidate
    ))
    .await
    .expect("terminal through B");
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as WsMessage;
    let line = serde_json::json!({"type": "input", "data": "echo node-$((40+2))\r"}).to_string();
    term.send(WsMessage::Text(line.into())).await.unwrap();
    let mut output = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !output.contains("node-42") {
        match tokio::time::timeout_at(deadline, term.next()).await {
            Ok(Some(Ok(WsMessage::Binary(b)))) => output.push_str(&String::from_utf8_lossy(&b)),
            Ok(Some(Ok(_))) => {}
            _ => break,
        }
    }
    assert!(
        output.contains("node-42"),
        "the terminal through B runs commands: {output}"
    );
    drop(term);
    drop(file);

    // A dies; the next requests through B bring the workspace back there.
    a.kill();
    let mut back = false;
    for _ in 0..60 {
        if get(b.base(), "/app/stocks").await.status() == 200 {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        back,
        "the workspace's app answers again on B after A died; B's log:\n{}",
        b.log_text()
    );
    let body = get(b.base(), "/files/content?path=app/models.py")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("edited through node B"),
        "the candidate's edit came back with the workspace"
    );
    let events: serde_json::Value = http()
        .get(format!("{}/api/sessions/{}/events", b.base(), s.id))
        .bearer_auth(&s.interviewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        events.to_string().contains("workspace_moved"),
        "the interviewer's timeline says the workspace moved: {events}"
    );
}

/// A link replaced through one node ends the connections opened with it on the other.
#[tokio::test]
async fn a_rotated_link_ends_its_connections_on_every_node() {
    let Some((db, redis)) = urls() else { return };
    let (a, b) = two_nodes(&db, &redis, &[]).await;
    let s = new_session(&a.base()).await;
    let mut on_b = Peer::connect(&b.ws(), &s.id, "main", &s.candidate).await;
    let mut interviewer_on_b = Peer::connect(&b.ws(), &s.id, "main", &s.interviewer).await;
    on_b.pump(Duration::from_millis(200)).await;
    let res = http()
        .post(format!("{}/api/sessions/{}/candidate-link", a.base(), s.id))
        .bearer_auth(&s.interviewer)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let ended = on_b.closed_with(Duration::from_secs(2)).await;
    assert_eq!(
        ended,
        Some(Ended::Closed(Some(4403))),
        "the candidate's socket on B ends"
    );
    assert!(
        interviewer_on_b
            .closed_with(Duration::from_millis(300))
            .await
            .is_none(),
        "the interviewer's stays"
    );
}
