//! The live documents a session has, and the rules of each: who may open it, whether clients
//! write it, whether it replays, which part the server owns. Everything else (collab, storage,
//! the HTTP edge, the cockpit) asks this type instead of comparing strings.

use std::fmt;

use crate::ids::SessionId;

/// A document of a session.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocName {
    /// The pad: text `code`, and the server's `meta` map (language, policy, end of session).
    Main,
    /// The shared code runs (array `runs`).
    Runs,
    /// The interviewer's private notes (text `notes`).
    Notes,
    /// The assistant conversation, written by the server only.
    Chat,
    /// A workspace file (text `content`), by its path relative to the workspace.
    File(String),
}

/// Documents of workspace files are named `file:<path>`.
pub const FILE_PREFIX: &str = "file:";

impl DocName {
    /// The name as it appears in URLs and storage; None for a name that is not a document.
    pub fn parse(name: &str) -> Option<DocName> {
        Some(match name {
            "main" => DocName::Main,
            "runs" => DocName::Runs,
            "notes" => DocName::Notes,
            "chat" => DocName::Chat,
            other => DocName::File(
                other
                    .strip_prefix(FILE_PREFIX)
                    .filter(|p| !p.is_empty())?
                    .to_string(),
            ),
        })
    }

    /// Whether a candidate may open it (read or write). Interviewers open every document.
    pub fn candidate_may_open(&self) -> bool {
        !matches!(self, DocName::Notes)
    }

    /// Whether clients' updates are applied; the others are written by the server alone.
    pub fn clients_write(&self) -> bool {
        !matches!(self, DocName::Chat)
    }

    /// Whether the interviewer can replay its history.
    pub fn replays(&self) -> bool {
        !matches!(self, DocName::Chat)
    }

    /// Whether it becomes read-only when the session ends (notes stay editable afterwards).
    pub fn freezes_when_ended(&self) -> bool {
        !matches!(self, DocName::Notes)
    }

    /// The top-level map that only the server writes: a client's change to it is undone.
    pub fn server_owned_map(&self) -> Option<&'static str> {
        match self {
            DocName::Main => Some("meta"),
            _ => None,
        }
    }

    /// The shared text that holds the document's text, for replay and reports.
    pub fn text_name(&self) -> Option<&'static str> {
        match self {
            DocName::Main => Some("code"),
            DocName::Notes => Some("notes"),
            DocName::File(_) => Some("content"),
            DocName::Runs | DocName::Chat => None,
        }
    }

    pub fn file_path(&self) -> Option<&str> {
        match self {
            DocName::File(path) => Some(path),
            _ => None,
        }
    }
}

impl fmt::Display for DocName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DocName::Main => f.write_str("main"),
            DocName::Runs => f.write_str("runs"),
            DocName::Notes => f.write_str("notes"),
            DocName::Chat => f.write_str("chat"),
            DocName::File(path) => write!(f, "{FILE_PREFIX}{path}"),
        }
    }
}

/// A document of one session: the unit that is loaded, stored and replayed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DocKey {
    pub session_id: SessionId,
    pub doc: DocName,
}

impl DocKey {
    pub fn new(session_id: SessionId, doc: DocName) -> DocKey {
        DocKey { session_id, doc }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in ["main", "runs", "notes", "chat", "file:app/main.py"] {
            assert_eq!(DocName::parse(name).unwrap().to_string(), name);
        }
        assert_eq!(DocName::parse("file:"), None);
        assert_eq!(DocName::parse("secrets"), None);
    }

    #[test]
    fn rules() {
        assert!(!DocName::Notes.candidate_may_open());
        assert!(DocName::File("a".into()).candidate_may_open());
        assert!(!DocName::Chat.clients_write());
        assert_eq!(DocName::Main.server_owned_map(), Some("meta"));
        assert_eq!(DocName::Runs.server_owned_map(), None);
        assert!(DocName::Notes.replays() && !DocName::Notes.freezes_when_ended());
    }
}
