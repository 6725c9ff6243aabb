//! Capabilities for the untrusted origin: what lets a browser reach a session's candidate-made
//! content (VS Code, the candidate's app) on the origin that serves it, without any of the
//! platform's credentials.
//!
//! A capability names one session and one role, ends at a time, and sits in the URL's path
//! (`/sessions/{id}/{capability}/vscode/`): no cookie is set on that origin, so a page there
//! holds only the capability it was opened with, and a third-party-cookie block cannot break it.
//! It is an HMAC of the session, role and expiry keyed by that role's stored token hash:
//! rotating the role's link changes the key, so every capability made from the old link stops
//! working at once, on every node, with nothing to store.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::sessions::Role;
use crate::store::SessionRow;

/// How long a capability lasts: the VS Code workbench keeps the URL it was opened with for as
/// long as it stays open, so this covers a long interview; the link's rotation and the session's
/// end cut it short.
pub const LIFETIME_SECS: u64 = 8 * 3600;

/// A capability for `role` in `session`, valid until `expires` (Unix seconds).
pub fn issue(session: &SessionRow, role: Role, expires: u64) -> String {
    let mac = mac(session, role, expires);
    let role = match role {
        Role::Interviewer => 'i',
        Role::Candidate => 'c',
    };
    format!("{role}{expires}.{mac}")
}

/// The role a capability gives in `session` at `now` (Unix seconds), if it is one of its own
/// and has not expired.
pub fn check(session: &SessionRow, capability: &str, now: u64) -> Option<Role> {
    let (head, given) = capability.split_once('.')?;
    let role = match head.as_bytes().first()? {
        b'i' => Role::Interviewer,
        b'c' => Role::Candidate,
        _ => return None,
    };
    let expires: u64 = head[1..].parse().ok()?;
    if expires <= now || expires > now + LIFETIME_SECS + 60 {
        return None;
    }
    use subtle::ConstantTimeEq;
    bool::from(
        mac(session, role, expires)
            .as_bytes()
            .ct_eq(given.as_bytes()),
    )
    .then_some(role)
}

fn mac(session: &SessionRow, role: Role, expires: u64) -> String {
    let key = match role {
        Role::Interviewer => &session.interviewer_token_hash,
        Role::Candidate => &session.candidate_token_hash,
    };
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(
        format!(
            "interview-ide content\n{}\n{}\n{expires}",
            session.id,
            role.as_str()
        )
        .as_bytes(),
    );
    // 128 bits are plenty for a value that expires.
    let bytes = mac.finalize().into_bytes();
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str, interviewer: &str, candidate: &str) -> SessionRow {
        SessionRow {
            id: crate::ids::SessionId::parse(id).unwrap(),
            title: "t".into(),
            language: "python".into(),
            kind: "workspace".into(),
            exercise: None,
            interviewer_token_hash: interviewer.into(),
            candidate_token_hash: candidate.into(),
            created_at: 0,
            ended_at: None,
            policy: Default::default(),
            team_id: None,
            created_by: None,
        }
    }

    #[test]
    fn a_capability_opens_its_own_session_for_its_role_until_it_expires() {
        let s = session("abc", "ih", "ch");
        let now = 1_000_000;
        let cap = issue(&s, Role::Candidate, now + 60);
        assert_eq!(check(&s, &cap, now), Some(Role::Candidate));
        assert_eq!(
            check(&s, &issue(&s, Role::Interviewer, now + 60), now),
            Some(Role::Interviewer)
        );
        // Expired.
        assert_eq!(check(&s, &cap, now + 60), None);
        // Another session, or the same id with a rotated link.
        assert_eq!(check(&session("abd", "ih", "ch"), &cap, now), None);
        assert_eq!(check(&session("abc", "ih", "rotated"), &cap, now), None);
        // Tampered: another role, a later expiry, a cut MAC, garbage.
        assert_eq!(check(&s, &cap.replacen('c', "i", 1), now), None);
        assert_eq!(
            check(
                &s,
                &cap.replace(&format!("{}", now + 60), &format!("{}", now + 120)),
                now
            ),
            None
        );
        assert_eq!(check(&s, &cap[..cap.len() - 1], now), None);
        for junk in [
            "",
            ".",
            "c.",
            "x1.abc",
            "c99999999999999999999999.a",
            "cé.a",
        ] {
            assert_eq!(check(&s, junk, now), None, "{junk}");
        }
        // An expiry too far ahead was not made here.
        assert_eq!(
            check(
                &s,
                &issue(&s, Role::Candidate, now + LIFETIME_SECS * 2),
                now
            ),
            None
        );
    }
}
