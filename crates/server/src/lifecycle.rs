//! A session's life in one place: creation (with rollback of what was half made), its end,
//! its deletion, and the sweep that deletes workspaces of sessions ended long ago. The HTTP
//! routes only call these; every part a session owns (its row, its documents, its workspace,
//! its open connections) is made and unmade here, in a fixed order.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use yrs::{Map, WriteTxn};

use crate::collab::{Collab, RoomKey};
use crate::docname::{DocKey, DocName};
use crate::sessions::{Caller, Created, Owner, Role, SessionError, Sessions};
use crate::store::{DocStore, DocWrite, Store};
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
}

/// A session made from a question of the library.
pub struct FromQuestion {
    pub id: String,
    pub starter: String,
}

impl Lifecycle {
    pub fn new(store: Store, docs: Arc<dyn DocStore>, sessions: Sessions, collab: Arc<Collab>, workspaces: Arc<Workspaces>) -> Lifecycle {
        Lifecycle { store, docs, sessions, collab, workspaces }
    }

    /// Creates a session: its row, the pad's first state and, for a workspace session, the
    /// workspace. If a later step fails, the earlier ones are undone: no half-made session stays.
    /// With `question`, the pad starts from the question's starter code and the session keeps
    /// which question it came from.
    pub async fn create(&self, title: Option<&str>, language: Option<&str>, exercise: Option<&str>, owner: Option<&Owner>, question: Option<FromQuestion>) -> Result<Created, LifecycleError> {
        let new = self.sessions.prepare(title, language, exercise, owner, question.as_ref().map(|q| q.starter.as_str()))?;
        let id = new.row.id.clone();
        self.store.create_session(&new.row).await?;
        let pad = DocWrite::Update { key: DocKey::new(id.clone(), DocName::Main), seq: 1, at: new.row.created_at, data: new.pad };
        if let Err(e) = self.docs.write(std::slice::from_ref(&pad)).await {
            self.undo_create(&id).await;
            return Err(e.into());
        }
        if let Some(q) = &question {
            if let Err(e) = self.store.set_session_question(&id, &q.id).await {
                self.undo_create(&id).await;
                return Err(e.into());
            }
        }
        if let Some(exercise) = exercise {
            if let Err(e) = self.workspaces.create(&id, exercise).await {
                self.undo_create(&id).await;
                return Err(e.into());
            }
        }
        self.sessions.event(&id, "session_created", Role::Interviewer, serde_json::json!({"language": new.row.language})).await;
        Ok(new.created)
    }

    async fn undo_create(&self, id: &str) {
        self.workspaces.remove(id);
        if let Err(e) = self.docs.delete_session(id).await {
            tracing::warn!(session = id, error = %e, "could not undo a half-made session's documents");
        }
        if let Err(e) = self.store.delete_session(id).await {
            tracing::warn!(session = id, error = %e, "could not undo a half-made session");
        }
    }

    /// Ends the session: the pad and the runs freeze in their final state for everyone, live,
    /// and the workspace stops running anything.
    pub async fn end(&self, caller: &Caller) -> Result<(), SessionError> {
        caller.require_interviewer()?;
        let id = &caller.session.id;
        let at = now_ms();
        if !self.store.end_session(id, at).await? {
            return Err(SessionError::Conflict("the session has already ended".into()));
        }
        let main = self.collab.open(RoomKey::new(id.clone(), DocName::Main)).await?;
        // Written before freezing: open pages learn of the end through the document itself.
        let _ = main.server_change(|txn| {
            let meta = txn.get_or_insert_map("meta");
            meta.insert(txn, "ended_at", at);
        });
        main.freeze();
        let runs = self.collab.open(RoomKey::new(id.clone(), DocName::Runs)).await?;
        runs.freeze();
        self.workspaces.stop(id);
        self.store.add_event(id, at, "session_ended", Some(Role::Interviewer.as_str()), "{}").await?;
        Ok(())
    }

    /// Deletes a session and everything it owns; false if there was no such session. The row
    /// goes first, so no new request is authorized; then open connections close, and the
    /// documents and the workspace are deleted.
    pub async fn delete(&self, id: &str) -> Result<bool, SessionError> {
        if !self.store.delete_session(id).await? {
            return Ok(false);
        }
        self.collab.discard_session(id);
        self.docs.delete_session(id).await?;
        self.workspaces.remove(id);
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
                        this.workspaces.remove(&id);
                    }
                }
            }
        });
    }
}
