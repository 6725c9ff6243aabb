//! The interviewer's cockpit: the timeline, replay of documents at any time, ending a session,
//! the scorecard and the self-contained report.

use std::sync::Arc;

use serde::Serialize;
use yrs::types::ToJson;
use yrs::{Array, GetString, ReadTxn, StateVector, Transact};

use crate::collab::{Collab, RoomKey};
use crate::docname::{DocKey, DocName};
use crate::ids::SessionId;
pub use crate::report::{EventView, Rating, Scorecard};
use crate::sessions::{Caller, SessionError};
use crate::store::Store;

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

/// The replayable document named `doc` (workspace files only in workspace sessions).
fn replayable(caller: &Caller, doc: &str) -> Result<DocName> {
    match DocName::parse(doc) {
        Some(DocName::File(_)) if caller.session.kind != "workspace" => None,
        Some(name) if name.replays() => Some(name),
        _ => None,
    }
    .ok_or_else(|| {
        SessionError::Invalid(format!(
            "no replay for document '{}'",
            doc.chars().take(100).collect::<String>()
        ))
    })
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
        Ok(self
            .store
            .events(&caller.session.id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// The document as it was at `at_ms`, rebuilt from the newest checkpoint before it.
    pub async fn doc_at(&self, caller: &Caller, doc: &str, at_ms: i64) -> Result<DocAt> {
        caller.require_interviewer()?;
        let name = replayable(caller, doc)?;
        let text_name = name.text_name();
        let doc_state = self
            .collab
            .doc_at(&DocKey::new(caller.session.id.clone(), name), at_ms)
            .await?;
        let text = text_name
            .map(|t| {
                doc_state
                    .get_or_insert_text(t)
                    .get_string(&doc_state.transact())
            })
            .unwrap_or_default();
        let update = doc_state
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        use base64::Engine;
        Ok(DocAt {
            at_ms,
            text,
            update: base64::engine::general_purpose::STANDARD.encode(update),
        })
    }

    /// When each replayable document changed (the marks of the replay bar).
    pub async fn change_times(&self, caller: &Caller, doc: &str) -> Result<Vec<i64>> {
        caller.require_interviewer()?;
        let name = replayable(caller, doc)?;
        Ok(self
            .collab
            .change_times(&DocKey::new(caller.session.id.clone(), name))
            .await?)
    }

    pub async fn scorecard(&self, caller: &Caller) -> Result<Scorecard> {
        caller.require_interviewer()?;
        Ok(self
            .store
            .scorecard(&caller.session.id)
            .await?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    pub async fn set_scorecard(&self, caller: &Caller, card: &Scorecard) -> Result<()> {
        caller.require_interviewer()?;
        if card.ratings.len() > 20 {
            return Err(SessionError::Invalid("at most 20 ratings".into()));
        }
        for r in &card.ratings {
            if !(1..=4).contains(&r.score) {
                return Err(SessionError::Invalid(format!(
                    "score of '{}' must be 1 to 4",
                    r.skill
                )));
            }
            if r.skill.trim().is_empty() || r.skill.len() > 100 || r.comment.len() > 5000 {
                return Err(SessionError::Invalid(
                    "a rating needs a skill (up to 100 characters) and a comment up to 5000".into(),
                ));
            }
        }
        if card.summary.len() > 20_000 {
            return Err(SessionError::Invalid(
                "summary is longer than 20000 characters".into(),
            ));
        }
        let json = serde_json::to_string(card).map_err(|e| SessionError::Invalid(e.to_string()))?;
        self.store.set_scorecard(&caller.session.id, &json).await?;
        Ok(())
    }

    /// The whole session as one self-contained HTML page that opens offline.
    pub async fn report(&self, caller: &Caller) -> Result<String> {
        caller.require_interviewer()?;
        let id = &caller.session.id;
        let code = self.current_text(id, DocName::Main).await?;
        let notes = self.current_text(id, DocName::Notes).await?;
        let runs = self.current_runs(id).await?;
        let participants = self.store.participants(id).await?;
        let events: Vec<EventView> = self
            .store
            .events(id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
        let scorecard = self
            .store
            .scorecard(id)
            .await?
            .and_then(|s| serde_json::from_str::<Scorecard>(&s).ok())
            .unwrap_or_default();
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

    async fn current_text(&self, session_id: &SessionId, doc: DocName) -> Result<String> {
        let text = doc.text_name().unwrap_or("code");
        let room = self
            .collab
            .open(RoomKey::new(session_id.clone(), doc))
            .await?;
        Ok(room.read(|d| d.get_or_insert_text(text).get_string(&d.transact())))
    }

    /// The shared runs (see docs/API.md, document `runs`) as JSON.
    async fn current_runs(&self, session_id: &SessionId) -> Result<Vec<serde_json::Value>> {
        let room = self
            .collab
            .open(RoomKey::new(session_id.clone(), DocName::Runs))
            .await?;
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
