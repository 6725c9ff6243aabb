//! Cluster mode: several nodes behind one URL, sharing PostgreSQL (rows, snapshots) and Redis
//! (live document streams, awareness, control messages, leases, shared counters). Off unless
//! REDIS_URL is set; then this is each node's handle on Redis and on the other nodes.
//!
//! Redis is used only through standard commands (streams, pub/sub, SET NX PX, INCR): no cluster
//! protocol of our own. Every key is made in `redis_keys`, which says what each one holds.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::config::ClusterConfig;
use crate::ids::SessionId;
use crate::redis_keys::{self, CONTROL_CHANNEL, Counter, Lease, Limit, Temporary};

/// How long a node's heartbeat lives without renewal: a node silent for this long is dead.
pub const NODE_TTL: Duration = Duration::from_secs(6);
const HEARTBEAT: Duration = Duration::from_secs(2);

/// Something every node must act on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Control {
    /// The session ended: its documents freeze everywhere.
    Ended { session: SessionId },
    /// The session was deleted: every connection to it closes, its workspace goes.
    Deleted { session: SessionId },
    /// A standing was withdrawn (a rotated link, a disabled account): its connections end.
    Revoked { holder: String },
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ControlMessage {
    from: String,
    #[serde(flatten)]
    control: Control,
}

/// A live node as its heartbeat describes it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NodeInfo {
    pub id: String,
    pub url: String,
    /// Workspaces running on it (what placement balances).
    pub workspaces: usize,
}

pub struct Node {
    pub id: String,
    /// How the other nodes reach this one.
    pub url: String,
    client: redis::Client,
    conn: ConnectionManager,
    /// Whether Redis answered the last time a loop of this node used it.
    up: AtomicBool,
    /// Workspaces running here, for the heartbeat.
    workspaces: AtomicUsize,
    control: broadcast::Sender<Control>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cluster mode (REDIS_URL) needs PostgreSQL: set DATABASE_URL=postgres://...")]
    NeedsPostgres,
    #[error(
        "the node id '{id}' belongs to a live node at {url}: give every node its own --node-id (NODE_ID)"
    )]
    DuplicateId { id: String, url: String },
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

impl Node {
    /// Connects to Redis, checks that it keeps what it is given, and starts the heartbeat and
    /// the control subscription (until `stop`).
    pub async fn join(
        config: &ClusterConfig,
        redis_url: &str,
        default_url: String,
        stop: CancellationToken,
    ) -> Result<Arc<Node>, ClusterError> {
        let client = redis::Client::open(redis_url)?;
        let manager = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_with_config(client.clone(), manager).await?;
        let id = config
            .node_id
            .clone()
            .unwrap_or_else(|| format!("node-{:08x}", rand::random::<u32>()));
        let url = config
            .advertise_url
            .clone()
            .unwrap_or(default_url)
            .trim_end_matches('/')
            .to_string();
        let (control, _) = broadcast::channel(256);
        let node = Arc::new(Node {
            id,
            url,
            client,
            conn,
            up: AtomicBool::new(true),
            workspaces: AtomicUsize::new(0),
            control,
        });
        node.check_durability().await;
        node.claim_id().await?;
        node.beat().await;
        tracing::info!(node = %node.id, url = %node.url, "cluster mode: joined");
        tokio::spawn(node.clone().heartbeat(stop.clone()));
        tokio::spawn(node.clone().listen_control(stop));
        Ok(node)
    }

    /// A connection for commands (it reconnects by itself).
    pub fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// A fresh connection of its own, for a blocking read or a subscription.
    pub async fn dedicated(
        &self,
        response_timeout: Option<Duration>,
    ) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(response_timeout);
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
    }

    pub async fn pubsub(&self) -> redis::RedisResult<redis::aio::PubSub> {
        self.client.get_async_pubsub().await
    }

    /// Records whether Redis answered (what /readyz reports).
    pub fn mark(&self, up: bool) {
        if self.up.swap(up, Ordering::Relaxed) != up {
            if up {
                tracing::info!(node = %self.id, "redis is reachable again");
            } else {
                tracing::error!(node = %self.id, "redis is unreachable: live edits cannot cross nodes until it is back");
            }
        }
    }

    /// Whether this node can serve: Redis answers a PING now.
    pub async fn ready(&self) -> bool {
        let mut conn = self.conn();
        let ok = matches!(
            tokio::time::timeout(
                Duration::from_secs(1),
                redis::cmd("PING").query_async::<String>(&mut conn)
            )
            .await,
            Ok(Ok(_))
        );
        self.mark(ok);
        ok
    }

    /// Redis must keep what it acknowledged: appendonly (AOF) on and no eviction. Anything else
    /// can lose edits on a Redis restart or under memory pressure, so say so loudly.
    async fn check_durability(&self) {
        let mut conn = self.conn();
        let get = |name: &'static str| {
            let mut conn = conn.clone();
            async move {
                redis::cmd("CONFIG")
                    .arg("GET")
                    .arg(name)
                    .query_async::<Vec<String>>(&mut conn)
                    .await
                    .ok()
                    .and_then(|v| v.get(1).cloned())
            }
        };
        match (get("appendonly").await, get("maxmemory-policy").await) {
            (Some(aof), Some(policy)) => {
                if aof != "yes" {
                    tracing::warn!(
                        "REDIS DURABILITY: appendonly is '{aof}': a Redis restart loses live edits not yet compacted into PostgreSQL. Run Redis with --appendonly yes"
                    );
                }
                if policy != "noeviction" {
                    tracing::warn!(
                        "REDIS DURABILITY: maxmemory-policy is '{policy}': Redis may evict document streams under memory pressure. Run Redis with --maxmemory-policy noeviction"
                    );
                }
            }
            _ => tracing::warn!(
                "REDIS DURABILITY: could not read Redis' configuration (CONFIG GET refused); make sure it runs with appendonly yes and maxmemory-policy noeviction"
            ),
        }
        let _ = redis::cmd("PING").query_async::<String>(&mut conn).await;
    }

    /// Two live nodes under one id would take each other's workspaces and requests. The same
    /// id at the same URL is this node restarted; another URL must first stop beating.
    async fn claim_id(&self) -> Result<(), ClusterError> {
        let deadline = tokio::time::Instant::now() + NODE_TTL + HEARTBEAT;
        loop {
            match self.node(&self.id).await {
                Some(other) if other.url != self.url => {
                    if tokio::time::Instant::now() >= deadline {
                        return Err(ClusterError::DuplicateId {
                            id: self.id.clone(),
                            url: other.url,
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                _ => return Ok(()),
            }
        }
    }

    /// Sets how many workspaces run here (sent with the next heartbeat).
    pub fn set_workspaces(&self, n: usize) {
        self.workspaces.store(n, Ordering::Relaxed);
    }

    async fn beat(&self) {
        let info = NodeInfo {
            id: self.id.clone(),
            url: self.url.clone(),
            workspaces: self.workspaces.load(Ordering::Relaxed),
        };
        let mut conn = self.conn();
        let json = serde_json::to_string(&info).unwrap_or_default();
        let res: redis::RedisResult<()> = conn
            .set_options(
                redis_keys::node(&self.id),
                json,
                redis::SetOptions::default()
                    .with_expiration(redis::SetExpiry::PX(NODE_TTL.as_millis() as u64)),
            )
            .await;
        self.mark(res.is_ok());
    }

    async fn heartbeat(self: Arc<Self>, stop: CancellationToken) {
        let mut tick = tokio::time::interval(HEARTBEAT);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => self.beat().await,
            }
        }
        // Leaving: the others stop sending work here at once instead of after NODE_TTL.
        let mut conn = self.conn();
        let _: redis::RedisResult<()> = conn.del(redis_keys::node(&self.id)).await;
    }

    /// The nodes alive now (their heartbeat has not expired), this one included.
    pub async fn nodes(&self) -> Vec<NodeInfo> {
        let mut conn = self.conn();
        let keys: Vec<String> = scan(&mut conn, redis_keys::NODES).await;
        if keys.is_empty() {
            return Vec::new();
        }
        let values: Vec<Option<String>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .unwrap_or_default();
        values
            .into_iter()
            .flatten()
            .filter_map(|v| serde_json::from_str(&v).ok())
            .collect()
    }

    /// A live node by id.
    pub async fn node(&self, id: &str) -> Option<NodeInfo> {
        let mut conn = self.conn();
        let v: Option<String> = conn.get(redis_keys::node(id)).await.ok().flatten();
        v.and_then(|v| serde_json::from_str(&v).ok())
    }

    /// Tells every node (this one included, through the same channel) to act on `control`.
    pub async fn announce(&self, control: Control) {
        let message = serde_json::to_string(&ControlMessage {
            from: self.id.clone(),
            control: control.clone(),
        })
        .unwrap_or_default();
        let mut conn = self.conn();
        let res: redis::RedisResult<()> = conn.publish(CONTROL_CHANNEL, message).await;
        if let Err(e) = res {
            tracing::error!(?control, error = %e, "could not tell the other nodes");
        }
    }

    /// Control messages from the other nodes.
    pub fn controls(&self) -> broadcast::Receiver<Control> {
        self.control.subscribe()
    }

    /// Runs `handle` on each control message from the other nodes, one after another, until `stop`.
    pub fn follow_controls<F, Fut>(&self, stop: CancellationToken, mut handle: F)
    where
        F: FnMut(Control) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let mut controls = self.controls();
        tokio::spawn(async move {
            loop {
                let control = tokio::select! {
                    _ = stop.cancelled() => break,
                    c = controls.recv() => c,
                };
                match control {
                    Ok(control) => handle(control).await,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "missed control messages from other nodes")
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
    }

    async fn listen_control(self: Arc<Self>, stop: CancellationToken) {
        let mut delay = Duration::from_millis(100);
        while !stop.is_cancelled() {
            let mut pubsub = match self.pubsub().await {
                Ok(p) => p,
                Err(_) => {
                    tokio::select! { _ = stop.cancelled() => break, _ = tokio::time::sleep(delay) => {} }
                    delay = (delay * 2).min(Duration::from_secs(2));
                    continue;
                }
            };
            if pubsub.subscribe(CONTROL_CHANNEL).await.is_err() {
                continue;
            }
            delay = Duration::from_millis(100);
            let mut messages = pubsub.on_message();
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    message = messages.next() => {
                        let Some(message) = message else { break };
                        match serde_json::from_slice::<ControlMessage>(message.get_payload_bytes()) {
                            Ok(m) if m.from != self.id => { let _ = self.control.send(m.control); }
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error = %e, "ignoring a control message that does not parse"),
                        }
                    }
                }
            }
        }
    }

    /// Takes `lease` for `ttl` if nobody holds it (or this node already does); true when this
    /// node holds it now.
    pub async fn lease(&self, lease: &Lease, ttl: Duration) -> bool {
        let mut conn = self.conn();
        // Take it if free; extend it if it is ours; otherwise leave it.
        let script = redis::Script::new(
            "local v = redis.call('GET', KEYS[1]) \
             if v == false or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end \
             return 0",
        );
        let held: redis::RedisResult<i64> = script
            .key(lease.key())
            .arg(&self.id)
            .arg(ttl.as_millis() as u64)
            .invoke_async(&mut conn)
            .await;
        matches!(held, Ok(1))
    }

    /// Takes `lease` from `dead` (a node whose heartbeat expired), unless someone else took it
    /// first; true when this node holds it now.
    pub async fn take_lease_from(&self, lease: &Lease, dead: &str, ttl: Duration) -> bool {
        let mut conn = self.conn();
        let script = redis::Script::new(
            "local v = redis.call('GET', KEYS[1]) \
             if v == false or v == ARGV[1] or v == ARGV[3] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end \
             return 0",
        );
        let held: redis::RedisResult<i64> = script
            .key(lease.key())
            .arg(&self.id)
            .arg(ttl.as_millis() as u64)
            .arg(dead)
            .invoke_async(&mut conn)
            .await;
        matches!(held, Ok(1))
    }

    /// The keys matching `pattern`.
    pub async fn keys(&self, pattern: &str) -> Vec<String> {
        let mut conn = self.conn();
        scan(&mut conn, pattern).await
    }

    /// Records this node under `lease` with no expiry (e.g. where a workspace last ran).
    pub async fn set_permanent(&self, lease: &Lease) {
        let mut conn = self.conn();
        let _: redis::RedisResult<()> = conn.set(lease.key(), &self.id).await;
    }

    /// Who holds `lease`, if anyone.
    pub async fn lease_holder(&self, lease: &Lease) -> redis::RedisResult<Option<String>> {
        let mut conn = self.conn();
        conn.get(lease.key()).await
    }

    /// Gives `lease` back, if this node holds it.
    pub async fn release(&self, lease: &Lease) {
        let mut conn = self.conn();
        let script = redis::Script::new(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
        );
        let _: redis::RedisResult<i64> = script
            .key(lease.key())
            .arg(&self.id)
            .invoke_async(&mut conn)
            .await;
    }

    /// A fixed-window rate limit shared by every node: true if one more event fits in
    /// `per_minute`. None when Redis does not answer (the caller decides locally).
    pub async fn allow(&self, limit: &Limit, per_minute: u32) -> Option<bool> {
        let counter = limit.key(crate::util::now_ms() / 60_000);
        let mut conn = self.conn();
        let (count,): (u64,) = redis::pipe()
            .atomic()
            .incr(&counter, 1u64)
            .expire(&counter, 120)
            .ignore()
            .query_async(&mut conn)
            .await
            .ok()?;
        Some(count <= u64::from(per_minute))
    }

    /// Keeps `value` under `key` for `ttl`, for every node to read (a sign-in in progress). With
    /// `only_if_new`, an existing value stays; either way the value now stored is returned.
    pub async fn put_temporary(
        &self,
        key: &Temporary,
        value: &str,
        ttl: Duration,
        only_if_new: bool,
    ) -> redis::RedisResult<String> {
        let mut conn = self.conn();
        let script = redis::Script::new(
            "if ARGV[3] == '1' then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') \
             else redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end \
             return redis.call('GET', KEYS[1])",
        );
        script
            .key(key.key())
            .arg(value)
            .arg(ttl.as_millis() as u64)
            .arg(if only_if_new { "1" } else { "0" })
            .invoke_async(&mut conn)
            .await
    }

    /// The value under `key`, if any and not expired.
    pub async fn temporary(&self, key: &Temporary) -> redis::RedisResult<Option<String>> {
        let mut conn = self.conn();
        conn.get(key.key()).await
    }

    /// Takes the value under `key` away (GETDEL): one node, once, gets it.
    pub async fn take_temporary(&self, key: &Temporary) -> redis::RedisResult<Option<String>> {
        let mut conn = self.conn();
        redis::cmd("GETDEL")
            .arg(key.key())
            .query_async(&mut conn)
            .await
    }

    /// Counts one more event under `key`, in a window of `window` from the first one; returns
    /// the count so far (failed sign-ins, counted for the whole cluster).
    pub async fn count_event(&self, key: &Counter, window: Duration) -> redis::RedisResult<u64> {
        let mut conn = self.conn();
        let script = redis::Script::new(
            "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n",
        );
        script
            .key(key.key())
            .arg(window.as_millis() as u64)
            .invoke_async(&mut conn)
            .await
    }

    /// Takes one event back from `key`'s count (an attempt that turned out not to count).
    pub async fn uncount_event(&self, key: &Counter) -> redis::RedisResult<()> {
        let mut conn = self.conn();
        let script = redis::Script::new(
            "if redis.call('GET', KEYS[1]) and tonumber(redis.call('GET', KEYS[1])) > 0 then redis.call('DECR', KEYS[1]) end return 0",
        );
        script
            .key(key.key())
            .invoke_async::<i64>(&mut conn)
            .await
            .map(|_| ())
    }

    /// Events counted under `key` in its current window.
    pub async fn event_count(&self, key: &Counter) -> redis::RedisResult<u64> {
        let mut conn = self.conn();
        let n: Option<u64> = conn.get(key.key()).await?;
        Ok(n.unwrap_or(0))
    }

    pub async fn forget_events(&self, key: &Counter) -> redis::RedisResult<()> {
        let mut conn = self.conn();
        conn.del(key.key()).await
    }

    /// Deletes the keys matching `pattern` (e.g. every document stream of a deleted session).
    pub async fn delete_matching(&self, pattern: &str) {
        let mut conn = self.conn();
        let keys = scan(&mut conn, pattern).await;
        for chunk in keys.chunks(500) {
            let _: redis::RedisResult<()> = conn.del(chunk).await;
        }
    }
}

async fn scan(conn: &mut ConnectionManager, pattern: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let res: redis::RedisResult<(u64, Vec<String>)> = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await;
        let Ok((next, batch)) = res else { break };
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    keys
}
