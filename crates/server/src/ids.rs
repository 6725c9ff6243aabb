//! Identifiers passed between modules, typed so that one kind of id (or any string) cannot be
//! passed where another is meant. Documents have their own types in `docname`.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

/// A session's id: 1 to 64 URL-safe characters (ASCII letters, digits, `-` and `_`); new ids are
/// 12 of them (`SessionId::random`). The shape is checked once, where an id comes from outside
/// (a URL, another node's message, a folder's name), so an id is safe as it is in a path segment,
/// a cookie's name, a Redis key (it has no `:` to collide with) and a file name (no `/`, no `..`).
/// Ids read back from the database are trusted: only this type wrote them.
///
/// It reads as a `&str` (`Deref`, `AsRef`, `Borrow`) but is made only by `parse` or `random`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, sqlx::Type)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct SessionId(String);

impl SessionId {
    pub const MAX_LEN: usize = 64;

    /// A new random id: 72 bits, URL-safe base64.
    pub fn random() -> SessionId {
        use base64::Engine;
        use rand::RngCore;
        let mut bytes = [0u8; 9];
        rand::rng().fill_bytes(&mut bytes);
        SessionId(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// `s` as a session id, if it has the shape of one.
    pub fn parse(s: &str) -> Option<SessionId> {
        let valid = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| SessionId(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Not a session id: the text has characters other than letters, digits, `-` and `_`, or is
/// empty or too long.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a session id")]
pub struct BadSessionId;

impl FromStr for SessionId {
    type Err = BadSessionId;
    fn from_str(s: &str) -> Result<SessionId, BadSessionId> {
        SessionId::parse(s).ok_or(BadSessionId)
    }
}

impl TryFrom<String> for SessionId {
    type Error = BadSessionId;
    fn try_from(s: String) -> Result<SessionId, BadSessionId> {
        SessionId::parse(&s).ok_or(BadSessionId)
    }
}

/// Deserializing checks the shape, as `parse` does (control messages from other nodes, for one).
impl<'de> serde::Deserialize<'de> for SessionId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SessionId, D::Error> {
        let s = String::deserialize(d)?;
        SessionId::parse(&s).ok_or_else(|| serde::de::Error::custom("not a session id"))
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Deref for SessionId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SessionId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Maps keyed by `SessionId` can be looked up with a `&str`.
impl Borrow<str> for SessionId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for SessionId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for SessionId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl From<SessionId> for String {
    fn from(id: SessionId) -> String {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape() {
        let id = SessionId::random();
        assert_eq!(id.len(), 12);
        assert_eq!(SessionId::parse(&id), Some(id.clone()));
        for good in ["a", "AbC-_09", &"x".repeat(SessionId::MAX_LEN)] {
            assert!(SessionId::parse(good).is_some(), "{good}");
        }
        for bad in [
            "",
            "..",
            "a/b",
            "a:b",
            "a b",
            "é",
            "a%2Fb",
            &"x".repeat(SessionId::MAX_LEN + 1),
        ] {
            assert!(SessionId::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn serde_is_the_bare_string_and_checks_the_shape() {
        let id = SessionId::parse("abc_DEF-1").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"abc_DEF-1\"");
        assert_eq!(
            serde_json::from_str::<SessionId>("\"abc_DEF-1\"").unwrap(),
            id
        );
        assert!(serde_json::from_str::<SessionId>("\"a:b\"").is_err());
    }
}
