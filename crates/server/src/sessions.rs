//! Sessions, roles and participants: who may do what in a session.

use std::sync::Arc;

use serde::Serialize;
use yrs::{Doc, GetString, Map, ReadTxn, StateVector, Text, Transact, WriteTxn};

use crate::collab::{Collab, RoomKey};
use crate::docname::DocName;
use crate::ids::SessionId;
use crate::store::{ParticipantRow, Policy, SessionRow, Store, StoreError};
use crate::util::{new_id, new_token, now_ms, rfc3339, token_hash, token_matches};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Interviewer,
    Candidate,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Interviewer => "interviewer",
            Role::Candidate => "candidate",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("no such session")]
    NotFound,
    #[error("missing or invalid token")]
    Unauthorized,
    #[error("only the interviewer can do that")]
    Forbidden,
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type Result<T> = std::result::Result<T, SessionError>;

/// A language the pad offers: id (Monaco's language id), display name, starter code.
pub struct Language {
    pub id: &'static str,
    pub name: &'static str,
    pub starter: &'static str,
}

pub const LANGUAGES: &[Language] = &[
    Language {
        id: "python",
        name: "Python",
        starter: "def greet(name: str) -> str:\n    return f\"Hello, {name}!\"\n\n\nprint(greet(\"world\"))\n",
    },
    Language {
        id: "javascript",
        name: "JavaScript",
        starter: "function greet(name) {\n  return `Hello, ${name}!`;\n}\n\nconsole.log(greet(\"world\"));\n",
    },
    Language {
        id: "typescript",
        name: "TypeScript",
        starter: "function greet(name: string): string {\n  return `Hello, ${name}!`;\n}\n\nconsole.log(greet(\"world\"));\n",
    },
    Language {
        id: "java",
        name: "Java",
        starter: "class Main {\n    public static void main(String[] args) {\n        System.out.println(\"Hello, world!\");\n    }\n}\n",
    },
    Language {
        id: "go",
        name: "Go",
        starter: "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"Hello, world!\")\n}\n",
    },
    Language {
        id: "rust",
        name: "Rust",
        starter: "fn main() {\n    println!(\"Hello, world!\");\n}\n",
    },
    Language {
        id: "c",
        name: "C",
        starter: "#include <stdio.h>\n\nint main(void) {\n    printf(\"Hello, world!\\n\");\n    return 0;\n}\n",
    },
    Language {
        id: "cpp",
        name: "C++",
        starter: "#include <iostream>\n\nint main() {\n    std::cout << \"Hello, world!\" << std::endl;\n}\n",
    },
    Language {
        id: "ruby",
        name: "Ruby",
        starter: "def greet(name)\n  \"Hello, #{name}!\"\nend\n\nputs greet(\"world\")\n",
    },
    Language {
        id: "bash",
        name: "Bash",
        starter: "greet() {\n  echo \"Hello, $1!\"\n}\n\ngreet world\n",
    },
    Language {
        id: "sql",
        name: "SQL",
        starter: "SELECT 'Hello, world!' AS greeting;\n",
    },
    Language {
        id: "plaintext",
        name: "Plain text",
        starter: "",
    },
];

pub fn language(id: &str) -> Option<&'static Language> {
    LANGUAGES.iter().find(|l| l.id == id)
}

/// Participant colours: saturated enough to tell apart, light enough for dark backgrounds.
const PALETTE: &[&str] = &[
    "#4fc1ff", "#f48771", "#b5cea8", "#c586c0", "#dcdcaa", "#4ec9b0", "#ce9178", "#9cdcfe",
    "#d7ba7d", "#f14c4c", "#89d185", "#e2c08d",
];

pub const DEFAULT_TITLE: &str = "Untitled interview";
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_NAME_CHARS: usize = 64;

/// What creating a session hands out. The tokens are shown once and never stored in clear.
#[derive(Debug, Serialize)]
pub struct Created {
    pub id: SessionId,
    pub interviewer_token: String,
    pub candidate_token: String,
    pub interviewer_url: String,
    pub candidate_url: String,
}

/// What a new session is made from (`Lifecycle::create`). Every part may be left out:
/// `NewSession::default()` is a Python pad with the default title, owned by no team.
#[derive(Debug, Clone, Default)]
pub struct NewSession {
    pub title: Option<String>,
    /// A language id of `LANGUAGES`; None: the first one.
    pub language: Option<String>,
    /// The exercise of a workspace session (already validated); None: a pad.
    pub exercise: Option<String>,
    pub owner: Option<Owner>,
    /// The question of the library the pad starts from.
    pub question: Option<FromQuestion>,
}

/// A session made from a question of the library: the question, and its starter code in the
/// session's language (which replaces the language's own).
#[derive(Debug, Clone)]
pub struct FromQuestion {
    pub id: String,
    pub starter: String,
}

/// A session made by `Sessions::prepare`, before it is stored.
pub struct Prepared {
    pub row: SessionRow,
    pub created: Created,
    /// The pad's first state (starter code, language, policy) as a Yjs update.
    pub pad: Vec<u8>,
}

#[derive(Debug, Serialize)]
pub struct ParticipantView {
    pub id: String,
    pub name: String,
    pub color: String,
    pub role: String,
    pub joined_at: String,
}

impl From<ParticipantRow> for ParticipantView {
    fn from(p: ParticipantRow) -> Self {
        ParticipantView {
            id: p.id,
            name: p.name,
            color: p.color,
            role: p.role,
            joined_at: rfc3339(p.joined_at),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SessionView {
    pub id: SessionId,
    pub title: String,
    pub language: String,
    pub kind: String,
    pub exercise: Option<String>,
    pub created_at: String,
    pub ended_at: Option<String>,
    pub policy: Policy,
    pub participants: Vec<ParticipantView>,
    pub role: Role,
}

/// A change to the session's policy; absent fields stay as they are.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyChange {
    pub execution_enabled: Option<bool>,
    pub time_limit_seconds: Option<i64>,
}

pub const MAX_TIME_LIMIT_SECONDS: i64 = 120;

/// A finished code run, as the browser that ran it reports it for the timeline.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunReport {
    pub run_id: String,
    pub language: String,
    pub status: String,
    pub duration_ms: u64,
    pub output_bytes: Option<u64>,
}

const RUN_STATUSES: &[&str] = &["ok", "error", "timeout", "stopped"];

/// Something a participant's page noticed that the interviewer's timeline shows: a large paste
/// into the editor (`chars`), or the window losing focus (`duration_ms` away, sent on return).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    pub kind: String,
    pub chars: Option<u64>,
    pub duration_ms: Option<u64>,
}

/// A request's standing in a session, resolved from its token or from a signed-in account.
#[derive(Debug, Clone)]
pub struct Caller {
    pub session: SessionRow,
    pub role: Role,
    /// The email of the signed-in account acting (None: a link holder).
    pub account: Option<String>,
}

/// Who a new session belongs to: a team, and the user who created it.
#[derive(Debug, Clone)]
pub struct Owner {
    pub team_id: String,
    pub user_id: String,
}

impl Caller {
    pub fn require_interviewer(&self) -> Result<()> {
        if self.role == Role::Interviewer {
            Ok(())
        } else {
            Err(SessionError::Forbidden)
        }
    }

    /// Changes to an ended session are refused: it keeps its final state.
    pub fn require_open(&self) -> Result<()> {
        if self.session.ended_at.is_none() {
            Ok(())
        } else {
            Err(SessionError::Conflict("the session has ended".into()))
        }
    }
}

#[derive(Clone)]
pub struct Sessions {
    store: Store,
    collab: Arc<Collab>,
    public_url: String,
}

impl Sessions {
    pub fn new(store: Store, collab: Arc<Collab>, public_url: String) -> Sessions {
        Sessions {
            store,
            collab,
            public_url,
        }
    }

    /// A new session, not yet stored: its row, the links to hand out and the pad's first state.
    /// With an exercise it is a workspace session. `Lifecycle::create` stores it.
    pub fn prepare(&self, new: &NewSession) -> Result<Prepared> {
        let title = clean_text(
            new.title.as_deref().unwrap_or(DEFAULT_TITLE),
            MAX_TITLE_CHARS,
            "title",
        )?;
        let lang = match new.language.as_deref() {
            None => &LANGUAGES[0],
            Some(id) => language(id).ok_or_else(|| {
                SessionError::Invalid(format!(
                    "unknown language '{id}'; expected one of: {}",
                    LANGUAGES
                        .iter()
                        .map(|l| l.id)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?,
        };
        let id = SessionId::random();
        let interviewer_token = new_token();
        let candidate_token = new_token();
        let row = SessionRow {
            id: id.clone(),
            title,
            language: lang.id.to_string(),
            kind: if new.exercise.is_some() {
                "workspace"
            } else {
                "pad"
            }
            .into(),
            exercise: new.exercise.clone(),
            interviewer_token_hash: token_hash(&interviewer_token),
            candidate_token_hash: token_hash(&candidate_token),
            created_at: now_ms(),
            ended_at: None,
            policy: Policy::default(),
            team_id: new.owner.as_ref().map(|o| o.team_id.clone()),
            created_by: new.owner.as_ref().map(|o| o.user_id.clone()),
        };
        let starter = new
            .question
            .as_ref()
            .map_or(lang.starter, |q| q.starter.as_str());
        let pad = initial_pad(lang, starter, row.policy);
        let link = |token: &str| format!("{}/session/{}?token={}", self.public_url, id, token);
        let created = Created {
            interviewer_url: link(&interviewer_token),
            candidate_url: link(&candidate_token),
            id,
            interviewer_token,
            candidate_token,
        };
        Ok(Prepared { row, created, pad })
    }

    /// Resolves the role of a token in a session. Unknown session: NotFound; no token, a wrong
    /// one, or one of another session: Unauthorized. Both hashes are always compared.
    pub async fn authorize(&self, id: &SessionId, token: Option<&str>) -> Result<Caller> {
        let session = self
            .store
            .get_session(id)
            .await?
            .ok_or(SessionError::NotFound)?;
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or(SessionError::Unauthorized)?;
        let is_interviewer = token_matches(token, &session.interviewer_token_hash);
        let is_candidate = token_matches(token, &session.candidate_token_hash);
        let role = match (is_interviewer, is_candidate) {
            (true, _) => Role::Interviewer,
            (_, true) => Role::Candidate,
            _ => return Err(SessionError::Unauthorized),
        };
        Ok(Caller {
            session,
            role,
            account: None,
        })
    }

    /// A new link of `role` for the session (interviewer only); the old one stops working at once
    /// (the caller ends the connections opened with it).
    pub async fn rotate_link(&self, caller: &Caller, role: Role) -> Result<(String, String)> {
        caller.require_interviewer()?;
        caller.require_open()?;
        let token = new_token();
        self.store
            .set_token_hash(
                &caller.session.id,
                role == Role::Candidate,
                &token_hash(&token),
            )
            .await?;
        let url = format!(
            "{}/session/{}?token={}",
            self.public_url, caller.session.id, token
        );
        Ok((token, url))
    }

    /// The caller with the session as stored now (after a change).
    pub async fn reload(&self, caller: &Caller) -> Result<Caller> {
        let session = self
            .store
            .get_session(&caller.session.id)
            .await?
            .ok_or(SessionError::NotFound)?;
        Ok(Caller {
            session,
            role: caller.role,
            account: caller.account.clone(),
        })
    }

    pub async fn view(&self, caller: &Caller) -> Result<SessionView> {
        let s = &caller.session;
        let participants = self
            .store
            .participants(&s.id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
        Ok(SessionView {
            id: s.id.clone(),
            title: s.title.clone(),
            language: s.language.clone(),
            kind: s.kind.clone(),
            exercise: s.exercise.clone(),
            created_at: rfc3339(s.created_at),
            ended_at: s.ended_at.map(rfc3339),
            policy: s.policy,
            participants,
            role: caller.role,
        })
    }

    pub async fn join(&self, caller: &Caller, name: &str) -> Result<ParticipantView> {
        let name = clean_text(name, MAX_NAME_CHARS, "name")?;
        let existing = self.store.participants(&caller.session.id).await?;
        let color = PALETTE[existing.len() % PALETTE.len()].to_string();
        let row = ParticipantRow {
            id: new_id(),
            session_id: caller.session.id.to_string(),
            name,
            color,
            role: caller.role.as_str().to_string(),
            joined_at: now_ms(),
        };
        self.store.add_participant(&row).await?;
        self.event(
            &caller.session.id,
            "joined",
            caller.role,
            serde_json::json!({"participant": row.id, "name": row.name}),
        )
        .await;
        Ok(row.into())
    }

    /// Changes the pad's language for everyone: stored, and written into the live document's
    /// `meta` map so every open editor switches at once.
    pub async fn set_language(&self, caller: &Caller, language_id: &str) -> Result<()> {
        caller.require_open()?;
        let lang = language(language_id)
            .ok_or_else(|| SessionError::Invalid(format!("unknown language '{language_id}'")))?;
        self.store.set_language(&caller.session.id, lang.id).await?;
        let room = self
            .collab
            .open(RoomKey::new(caller.session.id.clone(), DocName::Main))
            .await?;
        room.server_change(|txn| {
            let meta = txn.get_or_insert_map("meta");
            meta.insert(txn, "language", lang.id);
        })
        .map_err(|e| SessionError::Invalid(e.to_string()))?;
        self.event(
            &caller.session.id,
            "language_changed",
            caller.role,
            serde_json::json!({"from": caller.session.language, "to": lang.id}),
        )
        .await;
        Ok(())
    }

    /// Replaces the pad's code with `new` if it still is exactly `old` (nobody has typed since):
    /// a question's starter follows the language only until someone edits it.
    pub async fn replace_untouched_code(
        &self,
        caller: &Caller,
        old: &str,
        new: &str,
    ) -> Result<bool> {
        caller.require_open()?;
        let room = self
            .collab
            .open(RoomKey::new(caller.session.id.clone(), DocName::Main))
            .await?;
        let mut replaced = false;
        room.server_change(|txn| {
            let code = txn.get_or_insert_text("code");
            if code.get_string(&*txn) == old {
                let len = code.len(&*txn);
                code.remove_range(txn, 0, len);
                code.insert(txn, 0, new);
                replaced = true;
            }
        })
        .map_err(|e| SessionError::Invalid(e.to_string()))?;
        Ok(replaced)
    }

    /// Changes what the candidate may use; interviewer only. Written into the live `meta` map too.
    pub async fn set_policy(&self, caller: &Caller, change: &PolicyChange) -> Result<()> {
        caller.require_interviewer()?;
        caller.require_open()?;
        let mut policy = caller.session.policy;
        if let Some(enabled) = change.execution_enabled {
            policy.execution_enabled = enabled;
        }
        if let Some(limit) = change.time_limit_seconds {
            if !(1..=MAX_TIME_LIMIT_SECONDS).contains(&limit) {
                return Err(SessionError::Invalid(format!(
                    "time_limit_seconds must be between 1 and {MAX_TIME_LIMIT_SECONDS}"
                )));
            }
            policy.time_limit_seconds = limit;
        }
        self.store.set_policy(&caller.session.id, policy).await?;
        let room = self
            .collab
            .open(RoomKey::new(caller.session.id.clone(), DocName::Main))
            .await?;
        room.server_change(|txn| {
            let meta = txn.get_or_insert_map("meta");
            meta.insert(txn, "execution_enabled", policy.execution_enabled);
            meta.insert(txn, "time_limit_seconds", policy.time_limit_seconds);
        })
        .map_err(|e| SessionError::Invalid(e.to_string()))?;
        self.event(
            &caller.session.id,
            "policy_changed",
            caller.role,
            serde_json::json!(policy),
        )
        .await;
        Ok(())
    }

    /// Records a code run on the timeline. Refused (Conflict) for the candidate while execution is off.
    pub async fn record_run(&self, caller: &Caller, run: &RunReport) -> Result<()> {
        caller.require_open()?;
        if caller.role == Role::Candidate && !caller.session.policy.execution_enabled {
            return Err(SessionError::Conflict(
                "code execution is turned off for this session".into(),
            ));
        }
        if language(&run.language).is_none() {
            return Err(SessionError::Invalid(format!(
                "unknown language '{}'",
                run.language
            )));
        }
        if !RUN_STATUSES.contains(&run.status.as_str()) {
            return Err(SessionError::Invalid(format!(
                "status must be one of: {}",
                RUN_STATUSES.join(", ")
            )));
        }
        if run.run_id.is_empty() || run.run_id.len() > 64 {
            return Err(SessionError::Invalid(
                "run_id must be 1..=64 characters".into(),
            ));
        }
        self.event(
            &caller.session.id,
            "code_run",
            caller.role,
            serde_json::json!({"run_id": run.run_id, "language": run.language, "status": run.status, "duration_ms": run.duration_ms, "output_bytes": run.output_bytes}),
        )
        .await;
        Ok(())
    }

    /// Records page activity on the timeline (either role; the interviewer reads it).
    pub async fn record_activity(
        &self,
        caller: &Caller,
        participant: Option<&str>,
        activity: &Activity,
    ) -> Result<()> {
        caller.require_open()?;
        let data = match activity.kind.as_str() {
            "large_paste" => {
                serde_json::json!({"chars": activity.chars.ok_or_else(|| SessionError::Invalid("large_paste needs chars".into()))?})
            }
            "focus_lost" => {
                serde_json::json!({"duration_ms": activity.duration_ms.ok_or_else(|| SessionError::Invalid("focus_lost needs duration_ms".into()))?})
            }
            other => {
                return Err(SessionError::Invalid(format!(
                    "unknown activity '{other}'; expected large_paste or focus_lost"
                )));
            }
        };
        let mut data = data;
        if let Some(p) = participant {
            let row = self
                .store
                .participants(&caller.session.id)
                .await?
                .into_iter()
                .find(|r| r.id == p);
            match row {
                Some(row) if row.role == caller.role.as_str() => {
                    data["participant"] = row.id.into();
                    data["name"] = row.name.into();
                }
                Some(_) => {
                    return Err(SessionError::Invalid(
                        "that participant has the other role: a page reports only for its own"
                            .into(),
                    ));
                }
                None => {
                    return Err(SessionError::Invalid(
                        "no such participant in this session".into(),
                    ));
                }
            }
        }
        self.event(&caller.session.id, &activity.kind, caller.role, data)
            .await;
        Ok(())
    }

    pub async fn set_title(&self, caller: &Caller, title: &str) -> Result<()> {
        caller.require_interviewer()?;
        let title = clean_text(title, MAX_TITLE_CHARS, "title")?;
        self.store.set_title(&caller.session.id, &title).await?;
        Ok(())
    }

    /// Records a timeline event; losing one must not fail the action it describes.
    pub async fn event(
        &self,
        session_id: &SessionId,
        kind: &str,
        actor: Role,
        data: serde_json::Value,
    ) {
        if let Err(e) = self
            .store
            .add_event(
                session_id,
                now_ms(),
                kind,
                Some(actor.as_str()),
                &data.to_string(),
            )
            .await
        {
            tracing::warn!(session = %session_id, kind, error = %e, "could not record an event");
        }
    }
}

/// The first state of a pad: the starter code, the language and the policy.
fn initial_pad(lang: &Language, starter: &str, policy: Policy) -> Vec<u8> {
    let doc = Doc::new();
    let code = doc.get_or_insert_text("code");
    let meta = doc.get_or_insert_map("meta");
    {
        let mut txn = doc.transact_mut();
        code.insert(&mut txn, 0, starter);
        meta.insert(&mut txn, "language", lang.id);
        meta.insert(&mut txn, "execution_enabled", policy.execution_enabled);
        meta.insert(&mut txn, "time_limit_seconds", policy.time_limit_seconds);
    }
    doc.transact()
        .encode_state_as_update_v1(&StateVector::default())
}

/// Trims and validates a user-supplied line of text.
fn clean_text(value: &str, max_chars: usize, what: &str) -> Result<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(SessionError::Invalid(format!("{what} must not be empty")));
    }
    if value.chars().count() > max_chars {
        return Err(SessionError::Invalid(format!(
            "{what} is longer than {max_chars} characters"
        )));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(SessionError::Invalid(format!(
            "{what} must not contain control characters"
        )));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collab::{PersistSettings, Persister};

    async fn sessions(dir: &std::path::Path) -> Sessions {
        let store = Store::connect(&format!("sqlite://{}/db.sqlite", dir.display()))
            .await
            .unwrap();
        let docs: Arc<dyn crate::store::DocStore> = Arc::new(store.clone());
        let settings = PersistSettings {
            flush_interval: std::time::Duration::from_millis(50),
            max_pending_bytes: 1 << 20,
        };
        let (persister, _) = Persister::start(
            docs.clone(),
            settings,
            Default::default(),
            Default::default(),
        );
        let minute = std::time::Duration::from_secs(60);
        let collab = Collab::new(
            docs,
            persister,
            None,
            100,
            minute,
            minute,
            Default::default(),
        );
        Sessions::new(store, collab, "http://iide.test".into())
    }

    fn pad_code(pad: &[u8]) -> String {
        use yrs::updates::decoder::Decode;
        let doc = Doc::new();
        doc.transact_mut()
            .apply_update(yrs::Update::decode_v1(pad).unwrap())
            .unwrap();
        let code = doc.get_or_insert_text("code");
        code.get_string(&doc.transact())
    }

    #[tokio::test]
    async fn a_new_session_is_made_from_what_is_given_and_defaults_for_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let sessions = sessions(dir.path()).await;

        let pad = sessions.prepare(&NewSession::default()).unwrap();
        assert_eq!(pad.row.title, DEFAULT_TITLE);
        assert_eq!(pad.row.language, LANGUAGES[0].id);
        assert_eq!((pad.row.kind.as_str(), pad.row.exercise), ("pad", None));
        assert_eq!(pad.row.team_id, None);
        assert_eq!(pad_code(&pad.pad), LANGUAGES[0].starter);
        assert_eq!(pad.created.id, pad.row.id);
        assert!(pad.created.candidate_url.contains(pad.row.id.as_str()));

        let from_question = sessions
            .prepare(&NewSession {
                title: Some("Two sums".into()),
                language: Some("go".into()),
                exercise: None,
                owner: Some(Owner {
                    team_id: "team".into(),
                    user_id: "user".into(),
                }),
                question: Some(FromQuestion {
                    id: "q1".into(),
                    starter: "package main // two sums\n".into(),
                }),
            })
            .unwrap();
        assert_eq!(from_question.row.title, "Two sums");
        assert_eq!(from_question.row.language, "go");
        assert_eq!(from_question.row.team_id.as_deref(), Some("team"));
        assert_eq!(from_question.row.created_by.as_deref(), Some("user"));
        assert_eq!(pad_code(&from_question.pad), "package main // two sums\n");

        let workspace = sessions
            .prepare(&NewSession {
                exercise: Some("trading-backend".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(workspace.row.kind, "workspace");
        assert_eq!(workspace.row.exercise.as_deref(), Some("trading-backend"));

        let unknown = NewSession {
            language: Some("cobol".into()),
            ..Default::default()
        };
        assert!(matches!(
            sessions.prepare(&unknown),
            Err(SessionError::Invalid(_))
        ));
    }
}
