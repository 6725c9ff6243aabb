//! Every Redis key and pub/sub channel of cluster mode, made here and nowhere else, so that what
//! lives in Redis can be read in one place and no two parts can make the same key for different
//! things. Everything starts with `iide:`. Session ids have no `:` and no glob character
//! (`ids::SessionId`), so a session's keys never look like another session's, and a pattern of
//! one session's keys matches no other's.
//!
//! | key | type | what lives there | expiry |
//! |---|---|---|---|
//! | `iide:doc:{session}:{doc}` | stream | a live document's updates, in order (`collab::relay`) | trimmed after compaction; deleted with the session |
//! | `iide:aw:{session}:{doc}` | pub/sub | the document's awareness (cursors, presence) | - |
//! | `iide:control` | pub/sub | session ends and deletions, revoked standings (`cluster::Control`) | - |
//! | `iide:node:{node}` | string | a node's heartbeat: its URL and load (`cluster::NodeInfo`) | `cluster::NODE_TTL` |
//! | `iide:lease:workspace:{session}` | string | the node running the session's workspace | renewed by its owner |
//! | `iide:lease:workspace-home:{session}` | string | the node the workspace last ran on (its copy on disk) | none; deleted with the session |
//! | `iide:lease:compact:{session}:{doc}` | string | the node compacting the document's stream | the compaction's lease |
//! | `iide:lease:assistant:{session}` | string | the node streaming the session's assistant reply | the reply's lease |
//! | `iide:limit:{limit}:{key}:{minute}` | counter | a rate limit's count in one minute (`Limit`) | 120 s |
//! | `iide:tmp:setup-code` | string | the first admin's setup code | its lifetime |
//! | `iide:tmp:sso:{state}` | string | an OpenID Connect sign-in in progress | its lifetime |
//! | `iide:count:sign-in-attempts:{who}` | counter | failed sign-ins (by address, email or both) | the throttle's window |

use crate::docname::{DocKey, DocName};
use crate::ids::SessionId;

/// The stream of a live document's updates: every node appends what it applies and reads what
/// the others wrote.
pub fn doc_stream(key: &DocKey) -> String {
    format!("iide:doc:{}:{}", key.session_id, key.doc)
}

/// The SCAN pattern of every document stream of a session.
pub fn doc_streams_of(session: &SessionId) -> String {
    format!("iide:doc:{session}:*")
}

/// The SCAN pattern of a session's workspace-file document streams (`file:<path>`).
pub fn file_doc_streams_of(session: &SessionId) -> String {
    format!("iide:doc:{session}:{}*", crate::docname::FILE_PREFIX)
}

/// The document of one of `session`'s stream keys (None for any other key).
pub fn doc_of_stream(session: &SessionId, stream: &str) -> Option<DocName> {
    let name = stream.strip_prefix(&format!("iide:doc:{session}:"))?;
    DocName::parse(name)
}

/// The pub/sub channel of a document's awareness.
pub fn awareness_channel(key: &DocKey) -> String {
    format!("iide:aw:{}:{}", key.session_id, key.doc)
}

/// The pub/sub channel of `cluster::Control` messages.
pub const CONTROL_CHANNEL: &str = "iide:control";

/// A node's heartbeat.
pub fn node(id: &str) -> String {
    format!("iide:node:{id}")
}

/// The SCAN pattern of every node's heartbeat.
pub const NODES: &str = "iide:node:*";

/// A lease: a key naming the node that holds it (see `cluster::Node::lease`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease(String);

impl Lease {
    /// Held by the node running the session's workspace.
    pub fn workspace(session: &SessionId) -> Lease {
        Lease(format!("iide:lease:workspace:{session}"))
    }

    /// The node a workspace last ran on (kept with no expiry): a node that finds itself there
    /// can reuse its copy on disk instead of rebuilding it.
    pub fn workspace_home(session: &SessionId) -> Lease {
        Lease(format!("iide:lease:workspace-home:{session}"))
    }

    /// Held by the node compacting a document's stream.
    pub fn compaction(key: &DocKey) -> Lease {
        Lease(format!("iide:lease:compact:{}:{}", key.session_id, key.doc))
    }

    /// Held by the node streaming the session's assistant reply: one reply at a time.
    pub fn assistant_reply(session: &SessionId) -> Lease {
        Lease(format!("iide:lease:assistant:{session}"))
    }

    pub fn key(&self) -> &str {
        &self.0
    }
}

/// A rate limit shared by every node: one counter per minute (see `cluster::Node::allow`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit(String);

impl Limit {
    /// Sessions created from one client address.
    pub fn session_creation(client: &std::net::IpAddr) -> Limit {
        Limit(format!("iide:limit:create:{client}"))
    }

    /// Assistant messages of one session.
    pub fn assistant(session: &SessionId) -> Limit {
        Limit(format!("iide:limit:assistant:{session}"))
    }

    /// The counter of minute `minute` (milliseconds since the epoch / 60,000).
    pub fn key(&self, minute: i64) -> String {
        format!("{}:{minute}", self.0)
    }
}

/// A value every node can read for a while (see `cluster::Node::put_temporary`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Temporary(String);

impl Temporary {
    /// The first admin's setup code.
    pub fn setup_code() -> Temporary {
        Temporary("iide:tmp:setup-code".into())
    }

    /// An OpenID Connect sign-in in progress, by its `state`.
    pub fn sso(state: &str) -> Temporary {
        Temporary(format!("iide:tmp:sso:{state}"))
    }

    pub fn key(&self) -> &str {
        &self.0
    }
}

/// Events counted in a window (see `cluster::Node::count_event`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter(String);

impl Counter {
    /// Failed sign-ins of `who` (an address, an email, or the pair).
    pub fn sign_in_attempts(who: &str) -> Counter {
        Counter(format!("iide:count:sign-in-attempts:{who}"))
    }

    pub fn key(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// `pattern` as SCAN MATCH reads it, for the `*` these patterns use.
    fn matches(pattern: &str, key: &str) -> bool {
        match pattern.split_once('*') {
            None => pattern == key,
            Some((head, tail)) => key.strip_prefix(head).is_some_and(|rest| {
                (0..=rest.len())
                    .filter(|i| rest.is_char_boundary(*i))
                    .any(|i| matches(tail, &rest[i..]))
            }),
        }
    }

    fn all_keys(session: &SessionId) -> Vec<String> {
        let docs = [
            DocName::Main,
            DocName::Runs,
            DocName::Notes,
            DocName::Chat,
            DocName::File("app/main.py".into()),
            DocName::File("a:b".into()),
        ];
        let mut keys = Vec::new();
        for doc in docs {
            let key = DocKey::new(session.clone(), doc);
            keys.push(doc_stream(&key));
            keys.push(awareness_channel(&key));
            keys.push(Lease::compaction(&key).key().to_string());
        }
        keys.push(Lease::workspace(session).key().to_string());
        keys.push(Lease::workspace_home(session).key().to_string());
        keys.push(Lease::assistant_reply(session).key().to_string());
        keys.push(Limit::assistant(session).key(1));
        keys
    }

    #[test]
    fn no_two_keys_collide() {
        let session = SessionId::parse("s1").unwrap();
        let mut keys = all_keys(&session);
        keys.extend([
            CONTROL_CHANNEL.to_string(),
            node("node-a"),
            Limit::session_creation(&"10.0.0.1".parse().unwrap()).key(1),
            Temporary::setup_code().key().to_string(),
            Temporary::sso("xyz").key().to_string(),
            Counter::sign_in_attempts("a@b.c").key().to_string(),
        ]);
        // The format is what nodes of the previous version read and write.
        assert_eq!(
            doc_stream(&DocKey::new(session.clone(), DocName::Main)),
            "iide:doc:s1:main"
        );
        assert_eq!(Lease::workspace(&session).key(), "iide:lease:workspace:s1");
        let distinct: BTreeSet<&String> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len(), "{keys:#?}");
        assert!(keys.iter().all(|k| k.starts_with("iide:")));
        // Another session (even one whose id starts with this one's) has none of these keys.
        let other = all_keys(&SessionId::parse("s1-x").unwrap());
        assert!(other.iter().all(|k| !distinct.contains(k)));
    }

    #[test]
    fn a_sessions_patterns_match_its_document_streams_only() {
        let session = SessionId::parse("s1").unwrap();
        let file = DocKey::new(session.clone(), DocName::File("src/app.py".into()));
        let main = DocKey::new(session.clone(), DocName::Main);
        let elsewhere = DocKey::new(SessionId::parse("s1-x").unwrap(), DocName::Main);
        let streams = doc_streams_of(&session);
        assert!(matches(&streams, &doc_stream(&main)));
        assert!(matches(&streams, &doc_stream(&file)));
        assert!(!matches(&streams, &doc_stream(&elsewhere)));
        for key in all_keys(&session)
            .iter()
            .filter(|k| !k.starts_with("iide:doc:"))
        {
            assert!(!matches(&streams, key), "{key}");
        }
        let files = file_doc_streams_of(&session);
        assert!(matches(&files, &doc_stream(&file)));
        assert!(!matches(&files, &doc_stream(&main)));
        assert_eq!(
            doc_of_stream(&session, &doc_stream(&file)),
            Some(file.doc.clone())
        );
        assert_eq!(doc_of_stream(&session, &doc_stream(&elsewhere)), None);
    }
}
