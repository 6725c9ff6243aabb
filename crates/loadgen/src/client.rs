//! One simulated editor: a WebSocket speaking y-websocket, a yrs document it edits on a
//! jittered schedule, and the bookkeeping that turns received updates into deliveries.

use crate::stats::Shared;
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use yrs::encoding::read::Cursor;
use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
use yrs::sync::protocol::MessageReader;
use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::{Decode, DecoderV1};
use yrs::updates::encoder::Encode;
use yrs::{
    Assoc, ClientID, Doc, GetString, IndexedSequence, ReadTxn, StickyIndex, Text, TextRef,
    Transact, Update,
};

/// When the edit phase runs; sent to every client once all connections are up.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub edit_start: Instant,
    pub edit_end: Instant,
    /// Mean time between two edits of one client.
    pub interval: Duration,
}

pub struct ClientSpec {
    /// Global index; the Yjs client id is `idx + 1`, so a receiver maps ids back to senders.
    pub idx: usize,
    pub room: usize,
    pub url: String,
    pub connect_at: Instant,
    pub connect_timeout: Duration,
    pub read_buffer: usize,
    pub seed: u64,
}

type Ws = WebSocketStream<CountedTcp>;

/// The client's TCP socket, counting the reads that return data and the writes, so the report
/// can compare WebSocket frames with system calls (does the server coalesce frames?).
struct CountedTcp {
    tcp: TcpStream,
    sh: Arc<Shared>,
}

impl AsyncRead for CountedTcp {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.tcp).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.sh.c.tcp_reads.fetch_add(1, Relaxed);
        }
        r
    }
}

impl AsyncWrite for CountedTcp {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.tcp).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(_))) {
            self.sh.c.tcp_writes.fetch_add(1, Relaxed);
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// Delivery progress of one peer's edits at this receiver, in Yjs clock units.
#[derive(Default)]
struct PeerTrack {
    /// All clocks below this have arrived.
    have: u32,
    /// Ranges that arrived ahead of a gap (a real client would keep them pending too).
    pending: Vec<Range<u32>>,
}

pub async fn run(
    sh: Arc<Shared>,
    spec: ClientSpec,
    mut plan_rx: watch::Receiver<Option<Plan>>,
    mut stop_rx: watch::Receiver<bool>,
) {
    tokio::time::sleep_until(spec.connect_at.into()).await;
    let connected = tokio::time::timeout(
        spec.connect_timeout,
        connect(&sh, &spec.url, spec.read_buffer),
    )
    .await;
    let ws = match connected {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => return connect_failed(&sh, e),
        Err(_) => return connect_failed(&sh, "connect timed out".into()),
    };
    sh.room_live[spec.room].fetch_add(1, Relaxed);
    sh.c.connect_ok.fetch_add(1, Relaxed);
    sh.c.connect_done.fetch_add(1, Relaxed);

    let mut client = Client::new(sh.clone(), &spec);
    let stopped_by_us = client.session(ws, &mut plan_rx, &mut stop_rx).await;
    sh.room_live[spec.room].fetch_sub(1, Relaxed);
    if !stopped_by_us {
        sh.c.closed_early.fetch_add(1, Relaxed);
    }
}

fn connect_failed(sh: &Shared, e: String) {
    sh.c.connect_failed.fetch_add(1, Relaxed);
    sh.c.connect_done.fetch_add(1, Relaxed);
    sh.error(format!("connect: {e}"));
}

async fn connect(sh: &Arc<Shared>, url: &str, read_buffer: usize) -> Result<Ws, String> {
    let addr = host_port(url)?;
    let tcp = TcpStream::connect(&addr)
        .await
        .map_err(|e| format!("tcp {addr}: {e}"))?;
    // Edits are tiny frames: without NODELAY, Nagle + delayed ACK add tens of milliseconds.
    tcp.set_nodelay(true)
        .map_err(|e| format!("set_nodelay: {e}"))?;
    // tungstenite zero-fills its read buffer on every read: the 128 KiB default costs more
    // CPU than the protocol itself with thousands of small frames. With 4 KiB, one read takes
    // at most 4 KiB off the socket.
    let cfg = WebSocketConfig::default()
        .read_buffer_size(read_buffer)
        .write_buffer_size(0);
    let tcp = CountedTcp {
        tcp,
        sh: sh.clone(),
    };
    match tokio_tungstenite::client_async_with_config(url, tcp, Some(cfg)).await {
        Ok((ws, _)) => Ok(ws),
        Err(tungstenite::Error::Http(resp)) => {
            Err(format!("handshake refused: HTTP {}", resp.status()))
        }
        Err(e) => Err(format!("handshake: {e}")),
    }
}

/// `ws://host:port/path` -> `host:port` (port 80 when absent).
pub fn host_port(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| format!("only ws:// URLs are supported: {url}"))?;
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    if authority.is_empty() {
        return Err(format!("no host in {url}"));
    }
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
        && !authority.ends_with(']');
    Ok(if has_port {
        authority.to_string()
    } else {
        format!("{authority}:80")
    })
}

struct Client {
    sh: Arc<Shared>,
    idx: usize,
    /// Global index of the first client of this room.
    room_base: usize,
    doc: Doc,
    text: TextRef,
    peers: Vec<PeerTrack>,
    next_seq: usize,
    rng: u64,
    awareness_clock: u32,
    /// Where this client types next (apply mode: others' text moves it).
    cursor: Option<StickyIndex>,
}

impl Client {
    fn new(sh: Arc<Shared>, spec: &ClientSpec) -> Self {
        let doc = Doc::with_client_id(spec.idx as u64 + 1);
        let text = doc.get_or_insert_text("code");
        let cpr = sh.clients_per_room;
        Client {
            room_base: spec.room * cpr,
            idx: spec.idx,
            doc,
            text,
            peers: (0..cpr).map(|_| PeerTrack::default()).collect(),
            next_seq: 0,
            rng: spec.seed
                ^ (spec.idx as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ 0xD1B5_4A32_D192_ED03,
            awareness_clock: 0,
            cursor: None,
            sh,
        }
    }

    /// This client's awareness state as a y-websocket message, with a new clock.
    fn awareness(&mut self, cursor: Option<u32>) -> Vec<u8> {
        self.awareness_clock += 1;
        let user = format!(
            r##""user":{{"name":"loadgen {}","color":"#30bced"}}"##,
            self.idx
        );
        let json = match cursor {
            Some(c) => format!(r#"{{{user},"cursor":{{"anchor":{c},"head":{c}}}}}"#),
            None => format!("{{{user}}}"),
        };
        let update = AwarenessUpdate {
            clients: HashMap::from([(
                ClientID::new(self.idx as u64 + 1),
                AwarenessUpdateEntry {
                    clock: self.awareness_clock,
                    json: json.into(),
                },
            )]),
        };
        Message::Awareness(update).encode_v1()
    }

    /// Uniform in [0, 1).
    fn random(&mut self) -> f64 {
        // splitmix64: tiny, good enough for schedule jitter.
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Drives the connection until the run stops it (returns true) or it ends on its own
    /// (returns false; the reason is logged).
    async fn session(
        &mut self,
        mut ws: Ws,
        plan_rx: &mut watch::Receiver<Option<Plan>>,
        stop_rx: &mut watch::Receiver<bool>,
    ) -> bool {
        // What a y-websocket client sends on open: its state vector, then its awareness.
        let step1 =
            Message::Sync(SyncMessage::SyncStep1(self.doc.transact().state_vector())).encode_v1();
        let hello = [step1, self.awareness(None)];
        for frame in hello {
            if let Err(e) = self.send(&mut ws, frame).await {
                return self.fail_send(e);
            }
        }

        let mut plan: Option<Plan> = None;
        let mut next_edit = Instant::now();
        let timer = tokio::time::sleep(Duration::from_secs(3600));
        tokio::pin!(timer);
        let mut editing = false;
        // Both signals are awaited through futures built once: building a fresh `changed()`
        // future on every loop turn costs a Notify registration per received frame.
        let stop = async {
            while stop_rx.changed().await.is_ok() {
                if *stop_rx.borrow() {
                    return;
                }
            }
        };
        tokio::pin!(stop);
        let plan_signal = async {
            loop {
                if plan_rx.changed().await.is_err() {
                    return None;
                }
                if let Some(p) = *plan_rx.borrow_and_update() {
                    return Some(p);
                }
            }
        };
        tokio::pin!(plan_signal);
        let mut waiting_for_plan = true;

        let stopped = loop {
            tokio::select! {
                biased;
                _ = &mut stop => break true,
                frame = ws.next() => {
                    let frame = match frame {
                        Some(Ok(f)) => f,
                        Some(Err(e)) => {
                            self.sh.error(format!("read: {e}"));
                            break false;
                        }
                        None => {
                            self.sh.error("connection closed by server without a close frame");
                            break false;
                        }
                    };
                    match self.on_frame(&mut ws, frame).await {
                        Ok(true) => {}
                        Ok(false) => break false,
                        Err(e) => return self.fail_send(e),
                    }
                }
                p = &mut plan_signal, if waiting_for_plan => {
                    waiting_for_plan = false;
                    let Some(p) = p else { break true };
                    // Spread first edits over one interval so clients do not fire together.
                    next_edit = p.edit_start + p.interval.mul_f64(self.random());
                    timer.as_mut().reset(next_edit.into());
                    editing = true;
                    plan = Some(p);
                }
                _ = &mut timer, if editing => {
                    let Some(p) = plan else { editing = false; continue };
                    if next_edit >= p.edit_end {
                        editing = false;
                        continue;
                    }
                    if let Err(e) = self.edit(&mut ws).await {
                        return self.fail_send(e);
                    }
                    // Open loop: the next edit is scheduled from the previous *scheduled* time,
                    // so a slow server gets a burst, not a politely reduced load.
                    next_edit += p.interval.mul_f64(0.5 + self.random());
                    timer.as_mut().reset(next_edit.into());
                }
            }
        };

        if stopped && self.sh.apply {
            // Every replica of a room must end with the same text; the run compares digests.
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            self.text.get_string(&self.doc.transact()).hash(&mut h);
            self.sh.digests[self.idx].store(h.finish() | 1, Relaxed);
        }
        if stopped {
            // Polite close; the server's reply or EOF ends it. Errors here are not counted.
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                let _ = ws.close(None).await;
                while let Some(Ok(_)) = ws.next().await {}
            })
            .await;
        }
        stopped
    }

    fn fail_send(&self, e: tungstenite::Error) -> bool {
        self.sh.c.send_errors.fetch_add(1, Relaxed);
        self.sh.error(format!("send: {e}"));
        false
    }

    async fn send(&self, ws: &mut Ws, frame: Vec<u8>) -> Result<(), tungstenite::Error> {
        self.sh.c.frames_out.fetch_add(1, Relaxed);
        self.sh.c.bytes_out.fetch_add(frame.len() as u64, Relaxed);
        ws.send(WsMessage::binary(frame)).await
    }

    async fn edit(&mut self, ws: &mut Ws) -> Result<(), tungstenite::Error> {
        let seq = self.next_seq;
        let slots = &self.sh.send_times[self.idx];
        if seq >= slots.len() {
            if seq == slots.len() {
                self.sh.c.slots_exhausted.fetch_add(1, Relaxed);
                self.next_seq += 1;
            }
            return Ok(());
        }
        self.next_seq += 1;
        let len = self.sh.edit_len as usize;
        let token: String = (0..len)
            .map(|i| (b'a' + ((seq + i) % 26) as u8) as char)
            .collect();
        let update = {
            let mut txn = self.doc.transact_mut();
            // Type at our own cursor, right after our previous edit, as a person does: the
            // consecutive characters of one author then merge into few Yjs items everywhere.
            // In decode mode the local document holds only our own text, so that is its end.
            // Same spot: at the end of the whole text as our replica holds it (others' edits
            // included), so the clients of a room interleave their edits at one place.
            let at = match &self.cursor {
                _ if self.sh.same_spot => self.text.len(&txn),
                Some(c) => c
                    .get_offset(&txn)
                    .map(|o| o.index)
                    .unwrap_or_else(|| self.text.len(&txn)),
                None => self.text.len(&txn),
            };
            self.text.insert(&mut txn, at, &token);
            if self.sh.apply && !self.sh.same_spot {
                self.cursor = self.text.sticky_index(&txn, at + len as u32, Assoc::Before);
            }
            txn.encode_update_v1()
        };
        let frame = Message::Sync(SyncMessage::Update(update)).encode_v1();

        let now = self.sh.ns(Instant::now());
        slots[seq].store(now + 1, Relaxed);
        self.sh.c.edits_sent.fetch_add(1, Relaxed);
        let live = self.sh.room_live[self.room_base / self.sh.clients_per_room].load(Relaxed);
        let others = live.saturating_sub(1) as u64;
        self.sh.c.deliveries_expected_all.fetch_add(others, Relaxed);
        if self
            .sh
            .window
            .get()
            .is_some_and(|w| now >= w.start_ns && now < w.end_ns)
        {
            self.sh.c.edits_sent_window.fetch_add(1, Relaxed);
            self.sh.c.deliveries_expected.fetch_add(others, Relaxed);
        }
        self.send(ws, frame).await?;
        if self.sh.awareness_per_edit {
            let at = {
                let txn = self.doc.transact();
                match &self.cursor {
                    Some(c) => c.get_offset(&txn).map(|o| o.index).unwrap_or(0),
                    None => self.text.len(&txn),
                }
            };
            let cursor = self.awareness(Some(at));
            self.send(ws, cursor).await?;
        }
        Ok(())
    }

    /// Handles one WebSocket frame. Ok(false): the server closed the connection.
    async fn on_frame(
        &mut self,
        ws: &mut Ws,
        frame: WsMessage,
    ) -> Result<bool, tungstenite::Error> {
        let data = match frame {
            WsMessage::Binary(data) => data,
            WsMessage::Close(close) => {
                let what = match close {
                    Some(c) => format!("closed by server: code {} {}", u16::from(c.code), c.reason),
                    None => "closed by server: no close code".to_string(),
                };
                self.sh.error(what);
                return Ok(false);
            }
            // tungstenite answers pings itself.
            WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_) => return Ok(true),
            WsMessage::Text(_) => {
                self.protocol_error("text frame (y-websocket frames are binary)".into());
                return Ok(true);
            }
        };
        self.sh.c.frames_in.fetch_add(1, Relaxed);
        self.sh.c.bytes_in.fetch_add(data.len() as u64, Relaxed);

        let mut decoder = DecoderV1::new(Cursor::new(&data));
        let mut replies: Vec<Vec<u8>> = Vec::new();
        for msg in MessageReader::new(&mut decoder) {
            match msg {
                Ok(Message::Sync(SyncMessage::SyncStep1(sv))) => {
                    let diff = self.doc.transact().encode_diff_v1(&sv);
                    replies.push(Message::Sync(SyncMessage::SyncStep2(diff)).encode_v1());
                }
                Ok(Message::Sync(SyncMessage::SyncStep2(u) | SyncMessage::Update(u))) => {
                    self.on_update(&u)
                }
                Ok(Message::AwarenessQuery) => replies.push(self.awareness(None)),
                Ok(Message::Auth(Some(reason))) => {
                    self.sh.error(format!("permission denied: {reason}"));
                    return Ok(false);
                }
                Ok(Message::Awareness(_) | Message::Auth(None) | Message::Custom(..)) => {}
                Err(e) => {
                    self.protocol_error(format!("undecodable y-websocket message: {e}"));
                    break;
                }
            }
        }
        for reply in replies {
            self.send(ws, reply).await?;
        }
        Ok(true)
    }

    fn protocol_error(&self, msg: String) {
        self.sh.c.protocol_errors.fetch_add(1, Relaxed);
        self.sh.error(msg);
    }

    /// Turns an update into deliveries: which clock ranges of which peers it completes.
    fn on_update(&mut self, bytes: &[u8]) {
        let update = match Update::decode_v1(bytes) {
            Ok(u) => u,
            Err(e) => return self.protocol_error(format!("undecodable update: {e}")),
        };
        let own = self.idx as u64 + 1;
        let (base, cpr) = (self.room_base, self.sh.clients_per_room);
        let peer_of = move |id: u64| -> Option<usize> {
            let g = (id as usize).checked_sub(1)?;
            (g >= base && g < base + cpr && id != own).then(|| g - base)
        };

        if self.sh.apply {
            // Integrate like a real client; the document's state vector then says exactly
            // what is in (out-of-order blocks stay pending inside yrs).
            let ins = update.insertions(true);
            if ins.client_ids().any(|c| c.get() == own) {
                self.sh.c.echoes.fetch_add(1, Relaxed);
            }
            let touched: Vec<usize> = ins.client_ids().filter_map(|c| peer_of(c.get())).collect();
            if let Err(e) = self.doc.transact_mut().apply_update(update) {
                return self.protocol_error(format!("update does not apply: {e}"));
            }
            if touched.is_empty() {
                return;
            }
            let sv = self.doc.transact().state_vector();
            let now = self.sh.ns(Instant::now());
            for local in touched {
                let clock = sv.get(&ClientID::new((self.room_base + local) as u64 + 1));
                self.advance(local, clock, now);
            }
        } else {
            // Decode only: the blocks' clock ranges per client are enough to know which edits
            // arrived, at a fraction of the cost of integrating them.
            let now = self.sh.ns(Instant::now());
            for (client, ranges) in update.insertions(true).iter() {
                let id = client.get();
                if id == own {
                    self.sh.c.echoes.fetch_add(1, Relaxed);
                    continue;
                }
                let Some(local) = peer_of(id) else { continue };
                for r in ranges.iter() {
                    self.add_range(local, r.clone(), now);
                }
            }
        }
    }

    fn add_range(&mut self, local: usize, r: Range<u32>, now: u64) {
        let t = &mut self.peers[local];
        if r.end <= t.have {
            return; // duplicate
        }
        if r.start > t.have {
            t.pending.push(r);
            return;
        }
        let mut have = r.end;
        // Pull in pending ranges that now connect.
        loop {
            let before = t.pending.len();
            t.pending.retain(|p| {
                if p.start <= have {
                    have = have.max(p.end);
                    false
                } else {
                    true
                }
            });
            if t.pending.len() == before {
                break;
            }
        }
        self.advance(local, have, now);
    }

    /// Peer `local` is now complete up to `clock`: every edit it covers is delivered.
    fn advance(&mut self, local: usize, clock: u32, now: u64) {
        let len = self.sh.edit_len;
        let old = self.peers[local].have;
        if clock <= old {
            return;
        }
        self.peers[local].have = clock;
        let sender = self.room_base + local;
        for seq in (old / len)..(clock / len) {
            self.sh.delivered(sender, self.idx, seq as usize, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::host_port;

    #[test]
    fn host_port_from_ws_urls() {
        assert_eq!(
            host_port("ws://127.0.0.1:1234/room-1").unwrap(),
            "127.0.0.1:1234"
        );
        assert_eq!(
            host_port("ws://localhost/a?token=x").unwrap(),
            "localhost:80"
        );
        assert_eq!(host_port("ws://[::1]:9000/x").unwrap(), "[::1]:9000");
        assert!(host_port("wss://example.test/x").is_err());
        assert!(host_port("ws:///x").is_err());
    }
}
