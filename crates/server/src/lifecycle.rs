//! A session's life in one place: creation (with rollback of what was half made), its end,
//! its deletion, and the sweep that deletes workspaces of sessions ended long ago. The HTTP
//! routes only call these; every part a session owns (its row, its documents, its workspace,
//! its open connections) is made and unmade here, in a fixed order.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;
use yrs::{Map, WriteTxn};

use crate::cluster::{Control, Node};
use crate::collab::{Collab, RoomKey};
use crate::docname::{DocKey, DocName};
use crate::ids::SessionId;
use crate::redis_keys::{self, Lease};
use crate::sessions::{Caller, Created, NewSession, Role, SessionError, Sessions};
use crate::store::{DocStore, DocWrite, SessionRow, Store};
use crate::util::now_ms;
use crate::workspace::{WorkspaceError, Workspaces};

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
}

impl From<crate::store::StoreError> for LifecycleError {
    fn from(e: crate::store::StoreError) -> Self {
        LifecycleError::Session(e.into())
    }
}

#[derive(Clone)]
pub struct Lifecycle {
    store: Store,
    docs: Arc<dyn DocStore>,
    sessions: Sessions,
    collab: Arc<Collab>,
    workspaces: Arc<Workspaces>,
    cluster: Option<Arc<Node>>,
    /// Cluster mode: the workspaces whose lease this node holds (it renews them).
    owned: Arc<Mutex<HashSet<SessionId>>>,
    /// One takeover at a time on this node.
    adopting: Arc<tokio::sync::Mutex<()>>,
}

/// Where a workspace runs, in cluster mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    Here,
    /// On another live node, reached at `url`.
    At {
        node: String,
        url: String,
    },
}

/// A workspace's owner holds its lease and renews it every `LEASE_RENEWAL`; a node that dies
/// stops renewing, and its heartbeat (cluster::NODE_TTL) says so before the lease runs out.
const WORKSPACE_LEASE: Duration = Duration::from_secs(30);
const LEASE_RENEWAL: Duration = Duration::from_secs(5);

impl Lifecycle {
    pub fn new(
        store: Store,
        docs: Arc<dyn DocStore>,
        sessions: Sessions,
        collab: Arc<Collab>,
        workspaces: Arc<Workspaces>,
        cluster: Option<Arc<Node>>,
    ) -> Lifecycle {
        Lifecycle {
            store,
            docs,
            sessions,
            collab,
            workspaces,
            cluster,
            owned: Default::default(),
            adopting: Default::default(),
        }
    }

    /// Where the workspace of `session` runs; in cluster mode a workspace whose node died (or
    /// that has no owner) is taken over here: rebuilt from the exercise and the stored file
    /// documents, its app restarted, and the move written on the timeline.
    pub async fn place_workspace(&self, session: &SessionRow) -> Result<Placement, LifecycleError> {
        let Some(node) = &self.cluster else {
            return Ok(Placement::Here);
        };
        let lease = Lease::workspace(&session.id);
        for _ in 0..5 {
            if self.owned.lock().contains(&session.id) {
                return Ok(Placement::Here);
            }
            let holder = node.lease_holder(&lease).await.map_err(|e| {
                WorkspaceError::Unavailable(format!(
                    "the cluster cannot tell where this workspace runs: {e}"
                ))
            })?;
            match holder {
                Some(id) if id == node.id => {
                    self.adopt(session, None).await?;
                    return Ok(Placement::Here);
                }
                Some(id) => {
                    if let Some(info) = node.node(&id).await {
                        return Ok(Placement::At {
                            node: id,
                            url: info.url,
                        });
                    }
                    // Its node stopped beating: take the workspace over.
                    if node.take_lease_from(&lease, &id, WORKSPACE_LEASE).await {
                        self.adopt(session, Some(&id)).await?;
                        return Ok(Placement::Here);
                    }
                }
                None => {
                    if node.lease(&lease, WORKSPACE_LEASE).await {
                        self.adopt(session, None).await?;
                        return Ok(Placement::Here);
                    }
                }
            }
        }
        Err(WorkspaceError::Unavailable(
            "the cluster could not agree where this workspace runs; try again".into(),
        )
        .into())
    }

    /// Makes this node the workspace's owner (its lease is already held here).
    async fn adopt(&self, session: &SessionRow, from: Option<&str>) -> Result<(), LifecycleError> {
        let Some(node) = &self.cluster else {
            return Ok(());
        };
        let _one = self.adopting.lock().await;
        if self.owned.lock().contains(&session.id) {
            return Ok(());
        }
        let id = &session.id;
        let exercise = session
            .exercise
            .as_deref()
            .ok_or_else(|| WorkspaceError::NotFound("this session has no workspace".into()))?;
        let home = node
            .lease_holder(&Lease::workspace_home(id))
            .await
            .ok()
            .flatten();
        let reuse =
            home.as_deref() == Some(node.id.as_str()) && self.workspaces.get(session).await.is_ok();
        let mut restored = 0;
        if !reuse {
            // A copy left here by an earlier time is stale: start from the exercise again.
            self.workspaces.remove(id).await;
            self.workspaces.create(id, exercise).await?;
            restored = self.restore_files(session).await;
        }
        node.set_permanent(&Lease::workspace_home(id)).await;
        self.owned.lock().insert(id.clone());
        node.set_workspaces(self.owned.lock().len());
        if let Ok(ws) = self.workspaces.get(session).await {
            ws.app.start();
        }
        let moved = home.as_deref().is_some_and(|h| h != node.id);
        if moved || from.is_some() {
            let from = from.map(str::to_string).or(home);
            tracing::warn!(session = %id, node = %node.id, from = ?from, files = restored, "took over a workspace whose node stopped answering");
            self.sessions
                .event(
                    id,
                    "workspace_moved",
                    Role::Interviewer,
                    serde_json::json!({"to": node.id, "from": from, "files_restored": restored}),
                )
                .await;
        }
        Ok(())
    }

    /// Writes every stored file document of the session into its (new) workspace; how many.
    async fn restore_files(&self, session: &SessionRow) -> usize {
        let Some(node) = &self.cluster else { return 0 };
        let Ok(ws) = self.workspaces.get(session).await else {
            return 0;
        };
        let mut names: HashSet<String> = self
            .docs
            .doc_names(&session.id)
            .await
            .unwrap_or_default()
            .into_iter()
            .collect();
        names.extend(
            node.keys(&redis_keys::file_doc_streams_of(&session.id))
                .await
                .iter()
                .filter_map(|k| redis_keys::doc_of_stream(&session.id, k))
                .map(|doc| doc.to_string()),
        );
        let mut restored = 0;
        for name in names {
            let Some(doc) = DocName::parse(&name) else {
                continue;
            };
            let Some(rel) = doc.file_path().map(str::to_string) else {
                continue;
            };
            let Ok(room) = self
                .collab
                .open(RoomKey::new(session.id.clone(), doc.clone()))
                .await
            else {
                continue;
            };
            let text = room.read(|d| {
                use yrs::{GetString, Transact};
                let t = d.get_or_insert_text(crate::workspace::sync::TEXT);
                t.get_string(&d.transact())
            });
            drop(room);
            if ws
                .files
                .write(&rel, text.as_bytes(), ws.sandbox.uid)
                .is_ok()
            {
                restored += 1;
            }
        }
        if restored > 0 {
            let _ = ws
                .sandbox
                .helper
                .give_to(&ws.sandbox.session_id, ws.sandbox.uid, true)
                .await;
        }
        restored
    }

    /// Cluster mode: renews the leases of the workspaces this node owns, and gives up (stops)
    /// one whose lease another node took.
    fn spawn_lease_renewal(&self, node: Arc<Node>, stop: CancellationToken) {
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(LEASE_RENEWAL);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let owned: Vec<SessionId> = this.owned.lock().iter().cloned().collect();
                for id in owned {
                    if !node.lease(&Lease::workspace(&id), WORKSPACE_LEASE).await
                        && node.lease_holder(&Lease::workspace(&id)).await.is_ok()
                    {
                        tracing::warn!(session = %id, "another node took this workspace over; stopping the copy here");
                        this.owned.lock().remove(&id);
                        this.workspaces.stop(&id);
                    }
                }
                node.set_workspaces(this.owned.lock().len());
            }
        });
    }

    /// Cluster mode: acts on the ends and deletions made through the other nodes, until `stop`.
    pub fn follow(&self, node: &Arc<Node>, stop: CancellationToken) {
        self.spawn_lease_renewal(node.clone(), stop.clone());
        let this = self.clone();
        node.follow_controls(stop, move |control| {
            let this = this.clone();
            async move {
                match control {
                    Control::Ended { session } => {
                        this.collab.freeze_session(&session);
                        this.workspaces.stop(&session);
                    }
                    Control::Deleted { session } => {
                        this.collab.discard_session(&session);
                        this.workspaces.remove(&session).await;
                        this.owned.lock().remove(&session);
                    }
                    // Connections act on these (connections.rs).
                    Control::Revoked { .. } => {}
                }
            }
        });
    }

    /// Creates a session: its row, the pad's first state and, for a workspace session, the
    /// workspace. If a later step fails, the earlier ones are undone: no half-made session stays.
    /// With a question, the pad starts from the question's starter code and the session keeps
    /// which question it came from.
    pub async fn create(&self, new: NewSession) -> Result<Created, LifecycleError> {
        let prepared = self.sessions.prepare(&new)?;
        let id = prepared.row.id.clone();
        self.store.create_session(&prepared.row).await?;
        let pad = DocWrite::Update {
            key: DocKey::new(id.clone(), DocName::Main),
            seq: 1,
            at: prepared.row.created_at,
            data: prepared.pad,
        };
        if let Err(e) = self.docs.write(std::slice::from_ref(&pad)).await {
            self.undo_create(&id).await;
            return Err(e.into());
        }
        if let Some(q) = &new.question
            && let Err(e) = self.store.set_session_question(&id, &q.id).await
        {
            self.undo_create(&id).await;
            return Err(e.into());
        }
        if let Some(exercise) = &new.exercise {
            if let Err(e) = self.workspaces.create(&id, exercise).await {
                self.undo_create(&id).await;
                return Err(e.into());
            }
            if let Some(node) = &self.cluster {
                // The workspace runs where it was made.
                node.lease(&Lease::workspace(&id), WORKSPACE_LEASE).await;
                node.set_permanent(&Lease::workspace_home(&id)).await;
                self.owned.lock().insert(id.clone());
            }
        }
        self.sessions
            .event(
                &id,
                "session_created",
                Role::Interviewer,
                serde_json::json!({"language": prepared.row.language}),
            )
            .await;
        Ok(prepared.created)
    }

    async fn undo_create(&self, id: &SessionId) {
        self.workspaces.remove(id).await;
        if let Err(e) = self.docs.delete_session(id).await {
            tracing::warn!(session = %id, error = %e, "could not undo a half-made session's documents");
        }
        if let Err(e) = self.store.delete_session(id).await {
            tracing::warn!(session = %id, error = %e, "could not undo a half-made session");
        }
    }

    /// Ends the session: the pad and the runs freeze in their final state for everyone, live,
    /// and the workspace stops running anything.
    pub async fn end(&self, caller: &Caller) -> Result<(), SessionError> {
        caller.require_interviewer()?;
        let id = &caller.session.id;
        let at = now_ms();
        if !self.store.end_session(id, at).await? {
            return Err(SessionError::Conflict(
                "the session has already ended".into(),
            ));
        }
        let main = self
            .collab
            .open(RoomKey::new(id.clone(), DocName::Main))
            .await?;
        // Written before freezing: open pages learn of the end through the document itself.
        let _ = main.server_change(|txn| {
            let meta = txn.get_or_insert_map("meta");
            meta.insert(txn, "ended_at", at);
        });
        main.freeze();
        let runs = self
            .collab
            .open(RoomKey::new(id.clone(), DocName::Runs))
            .await?;
        runs.freeze();
        self.workspaces.stop(id);
        if let Some(node) = &self.cluster {
            node.announce(Control::Ended {
                session: id.clone(),
            })
            .await;
        }
        self.store
            .add_event(
                id,
                at,
                "session_ended",
                Some(Role::Interviewer.as_str()),
                "{}",
            )
            .await?;
        Ok(())
    }

    /// Deletes a session and everything it owns; false if there was no such session. The row
    /// goes first, so no new request is authorized; then open connections close, and the
    /// documents and the workspace are deleted.
    pub async fn delete(&self, id: &SessionId) -> Result<bool, SessionError> {
        if !self.store.delete_session(id).await? {
            return Ok(false);
        }
        self.collab.discard_session(id);
        if let Some(node) = &self.cluster {
            node.announce(Control::Deleted {
                session: id.clone(),
            })
            .await;
            node.delete_matching(&redis_keys::doc_streams_of(id)).await;
        }
        self.docs.delete_session(id).await?;
        self.workspaces.remove(id).await;
        if let Some(node) = &self.cluster {
            self.owned.lock().remove(id);
            node.release(&Lease::workspace(id)).await;
            node.release(&Lease::workspace_home(id)).await;
        }
        Ok(true)
    }

    /// Deletes workspaces whose session is gone or ended longer ago than the retention period,
    /// until `stop`.
    pub fn spawn_retention_sweep(&self, stop: CancellationToken) {
        let this = self.clone();
        tokio::spawn(async move {
            let retention = this.workspaces.settings.retention;
            // Every 10 minutes, or more often when the retention period is shorter than that.
            let period = (retention / 4).clamp(Duration::from_secs(1), Duration::from_secs(600));
            let mut tick = tokio::time::interval(period);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let retention_ms = retention.as_millis() as i64;
                for id in this.workspaces.on_disk() {
                    let expired = match this.store.get_session(&id).await {
                        Ok(None) => true,
                        Ok(Some(s)) => s.ended_at.is_some_and(|at| now_ms() - at > retention_ms),
                        Err(_) => false,
                    };
                    if expired {
                        tracing::info!(session = %id, "deleting an expired workspace");
                        this.workspaces.remove(&id).await;
                    }
                }
            }
        });
    }
}
