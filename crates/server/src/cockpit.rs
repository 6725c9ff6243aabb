//! The interviewer's cockpit: the timeline, replay of documents at any time, ending a session,
//! the scorecard and the self-contained report.

use std::sync::Arc;

use serde::Serialize;
use yrs::updates::decoder::Decode;
use yrs::types::ToJson;
use yrs::{Array, Doc, GetString, Map, ReadTxn, StateVector, Transact, Update, WriteTxn};

use crate::collab::{Collab, RoomKey};
pub use crate::report::{EventView, Rating, Scorecard};
use crate::sessions::{Caller, Role, SessionError};
use crate::store::{Store, StoredDoc};
use crate::util::now_ms;

type Result<T> = std::result::Result<T, SessionError>;

/// A document as it was at a moment.
#[derive(Debug, Serialize)]
pub struct DocAt {
    pub at_ms: i64,
    /// The text of the document's main `Y.Text` (`code` for the pad, `notes` for notes).
    pub text: String,
    /// The whole state as a Yjs update (base64), for clients that render more than text.
    pub update: String,
}

/// Documents whose history the interviewer can replay.
pub const REPLAYABLE_DOCS: &[&str] = &["main", "runs", "notes"];
/// Workspace files' documents (`file:<path>`) replay too.
const FILE_DOC_PREFIX: &str = "file:";

fn replayable(caller: &Caller, doc: &str) -> Result<()> {
    let file = doc.starts_with(FILE_DOC_PREFIX) && caller.session.kind == "workspace";
    if REPLAYABLE_DOCS.contains(&doc) || file {
        Ok(())
    } else {
        Err(SessionError::Invalid(format!("no replay for document '{}'", doc.chars().take(100).collect::<String>())))
    }
}

#[derive(Clone)]
pub struct Cockpit {
    store: Store,
    collab: Arc<Collab>,
}

impl Cockpit {
    pub fn new(store: Store, collab: Arc<Collab>) -> Cockpit {
        Cockpit { store, collab }
    }

    pub async fn events(&self, caller: &Caller) -> Result<Vec<EventView>> {
        caller.require_interviewer()?;
        Ok(self.store.events(&caller.session.id).await?.into_iter().map(Into::into).collect())
    }

    /// Ends the session: the pad and the runs freeze in their final state for everyone, live.
    pub async fn end(&self, caller: &Caller) -> Result<()> {
        caller.require_interviewer()?;
        let at = now_ms();
        if !self.store.end_session(&caller.session.id, at).await? {
            return Err(SessionError::Conflict("the session has already ended".into()));
        }
        let main = self.collab.open(RoomKey { session_id: caller.session.id.clone(), doc: "main".into() }).await?;
        // Written before freezing: open pages learn of the end through the document itself.
        let _ = main.server_change(|txn| {
            let meta = txn.get_or_insert_map("meta");
            meta.insert(txn, "ended_at", at);
        });
        main.freeze();
        let runs = self.collab.open(RoomKey { session_id: caller.session.id.clone(), doc: "runs".into() }).await?;
        runs.freeze();
        self.store.add_event(&caller.session.id, at, "session_ended", Some(Role::Interviewer.as_str()), "{}").await?;
        Ok(())
    }

    /// The document as it was at `at_ms`, rebuilt from the newest checkpoint before it.
    pub async fn doc_at(&self, caller: &Caller, doc: &str, at_ms: i64) -> Result<DocAt> {
        caller.require_interviewer()?;
        replayable(caller, doc)?;
        let stored = self.store.load_doc_at(&caller.session.id, doc, at_ms).await?;
        let doc_state = rebuild(&stored);
        let text_name = match doc {
            "notes" => "notes",
            d if d.starts_with(FILE_DOC_PREFIX) => crate::workspace::sync::TEXT,
            _ => "code",
        };
        let text = doc_state.get_or_insert_text(text_name).get_string(&doc_state.transact());
        let update = doc_state.transact().encode_state_as_update_v1(&StateVector::default());
        use base64::Engine;
        Ok(DocAt { at_ms, text, update: base64::engine::general_purpose::STANDARD.encode(update) })
    }

    /// When each replayable document changed (the marks of the replay bar).
    pub async fn change_times(&self, caller: &Caller, doc: &str) -> Result<Vec<i64>> {
        caller.require_interviewer()?;
        replayable(caller, doc)?;
        Ok(self.store.doc_change_times(&caller.session.id, doc).await?)
    }

    pub async fn scorecard(&self, caller: &Caller) -> Result<Scorecard> {
        caller.require_interviewer()?;
        Ok(self.store.scorecard(&caller.session.id).await?.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default())
    }

    pub async fn set_scorecard(&self, caller: &Caller, card: &Scorecard) -> Result<()> {
        caller.require_interviewer()?;
        if card.ratings.len() > 20 {
            return Err(SessionError::Invalid("at most 20 ratings".into()));
        }
        for r in &card.ratings {
            if !(1..=4).contains(&r.score) {
                return Err(SessionError::Invalid(format!("score of '{}' must be 1 to 4", r.skill)));
            }
            if r.skill.trim().is_empty() || r.skill.len() > 100 || r.comment.len() > 5000 {
                return Err(SessionError::Invalid("a rating needs a skill (up to 100 characters) and a comment up to 5000".into()));
            }
        }
        if card.summary.len() > 20_000 {
            return Err(SessionError::Invalid("summary is longer than 20000 characters".into()));
        }
        let json = serde_json::to_string(card).map_err(|e| SessionError::Invalid(e.to_string()))?;
        self.store.set_scorecard(&caller.session.id, &json).await?;
        Ok(())
    }

    /// The whole session as one self-contained HTML page that opens offline.
    pub async fn report(&self, caller: &Caller) -> Result<String> {
        caller.require_interviewer()?;
        let id = &caller.session.id;
        let code = self.current_text(id, "main", "code").await?;
        let notes = self.current_text(id, "notes", "notes").await?;
        let runs = self.current_runs(id).await?;
        let participants = self.store.participants(id).await?;
        let events: Vec<EventView> = self.store.events(id).await?.into_iter().map(Into::into).collect();
        let scorecard = self.store.scorecard(id).await?.and_then(|s| serde_json::from_str::<Scorecard>(&s).ok()).unwrap_or_default();
        Ok(crate::report::render(&crate::report::ReportData {
            session: &caller.session,
            participants: &participants,
            code: &code,
            runs: &runs,
            notes: &notes,
            events: &events,
            scorecard: &scorecard,
        }))
    }

    async fn current_text(&self, session_id: &str, doc: &str, text: &str) -> Result<String> {
        let room = self.collab.open(RoomKey { session_id: session_id.into(), doc: doc.into() }).await?;
        Ok(room.read(|d| d.get_or_insert_text(text).get_string(&d.transact())))
    }

    /// The shared runs (see docs/API.md, document `runs`) as JSON.
    async fn current_runs(&self, session_id: &str) -> Result<Vec<serde_json::Value>> {
        let room = self.collab.open(RoomKey { session_id: session_id.into(), doc: "runs".into() }).await?;
        Ok(room.read(|d| {
            let runs = d.get_or_insert_array("runs");
            let txn = d.transact();
            runs.iter(&txn)
                .filter_map(|item| match item {
                    yrs::Out::YMap(map) => serde_json::to_value(map.to_json(&txn)).ok(),
                    yrs::Out::Any(any) => serde_json::to_value(any).ok(),
                    _ => None,
                })
                .collect()
        }))
    }
}

fn rebuild(stored: &StoredDoc) -> Doc {
    let doc = Doc::new();
    {
        let mut txn = doc.transact_mut();
        for data in stored.snapshot.iter().chain(stored.updates.iter()) {
            if let Ok(update) = Update::decode_v1(data) {
                let _ = txn.apply_update(update);
            }
        }
    }
    doc
}
