//! Open connections (WebSockets) by whom they act for, so that withdrawing a standing ends them
//! at once: a rotated link ends the connections opened with the old one, a disabled account
//! ends its own. In cluster mode the withdrawal is announced, and every node ends its part.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::cluster::{Control, Node};
use crate::ids::SessionId;
use crate::sessions::{Caller, Role};

/// Whom a connection acts for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Holder {
    /// A session link (its token, or a capability made from it) of one role.
    Link { session: SessionId, role: Role },
    /// A signed-in account, by email.
    Account { email: String },
}

impl Holder {
    pub fn of(caller: &Caller) -> Holder {
        match &caller.account {
            Some(email) => Holder::Account {
                email: email.to_ascii_lowercase(),
            },
            None => Holder::Link {
                session: caller.session.id.clone(),
                role: caller.role,
            },
        }
    }

    /// The form the cluster's control messages carry.
    fn key(&self) -> String {
        match self {
            Holder::Link { session, role } => format!("link:{session}:{}", role.as_str()),
            Holder::Account { email } => format!("account:{email}"),
        }
    }

    fn from_key(key: &str) -> Option<Holder> {
        if let Some(email) = key.strip_prefix("account:") {
            return Some(Holder::Account {
                email: email.to_string(),
            });
        }
        let (session, role) = key.strip_prefix("link:")?.rsplit_once(':')?;
        let role = match role {
            "interviewer" => Role::Interviewer,
            "candidate" => Role::Candidate,
            _ => return None,
        };
        Some(Holder::Link {
            session: SessionId::parse(session)?,
            role,
        })
    }
}

pub struct Connections {
    /// The server's own stop: every connection's token is its child.
    shutdown: CancellationToken,
    open: Mutex<HashMap<Holder, HashMap<u64, CancellationToken>>>,
    next: AtomicU64,
    node: Option<Arc<Node>>,
}

/// A registered connection: `ended` fires when its holder's standing is withdrawn (or the server
/// stops). Dropping it unregisters the connection.
pub struct Registration {
    pub ended: CancellationToken,
    holder: Holder,
    id: u64,
    connections: Arc<Connections>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut open = self.connections.open.lock();
        if let Some(of_holder) = open.get_mut(&self.holder) {
            of_holder.remove(&self.id);
            if of_holder.is_empty() {
                open.remove(&self.holder);
            }
        }
    }
}

impl Connections {
    pub fn new(shutdown: CancellationToken, node: Option<Arc<Node>>) -> Arc<Connections> {
        Arc::new(Connections {
            shutdown,
            open: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
            node,
        })
    }

    /// Registers a connection of `caller`.
    pub fn register(self: &Arc<Self>, caller: &Caller) -> Registration {
        let holder = Holder::of(caller);
        let ended = self.shutdown.child_token();
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.open
            .lock()
            .entry(holder.clone())
            .or_default()
            .insert(id, ended.clone());
        Registration {
            ended,
            holder,
            id,
            connections: self.clone(),
        }
    }

    /// Ends every connection of `holder`, here and (in cluster mode) on the other nodes.
    pub async fn end(&self, holder: Holder) {
        self.end_here(&holder);
        if let Some(node) = &self.node {
            node.announce(Control::Revoked {
                holder: holder.key(),
            })
            .await;
        }
    }

    fn end_here(&self, holder: &Holder) -> usize {
        let ended = self.open.lock().remove(holder).unwrap_or_default();
        for token in ended.values() {
            token.cancel();
        }
        if !ended.is_empty() {
            tracing::info!(
                connections = ended.len(),
                "connections ended: their standing was withdrawn"
            );
        }
        ended.len()
    }

    /// Ends what other nodes withdraw.
    pub fn follow(self: &Arc<Self>, node: &Arc<Node>, stop: CancellationToken) {
        let this = self.clone();
        node.follow_controls(stop, move |control| {
            if let Control::Revoked { holder } = control
                && let Some(holder) = Holder::from_key(&holder)
            {
                this.end_here(&holder);
            }
            std::future::ready(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_cross_the_cluster_unchanged() {
        for h in [
            Holder::Link {
                session: SessionId::parse("a-b_c").unwrap(),
                role: Role::Candidate,
            },
            Holder::Link {
                session: SessionId::parse("x").unwrap(),
                role: Role::Interviewer,
            },
            Holder::Account {
                email: "a@b.c".into(),
            },
        ] {
            assert_eq!(Holder::from_key(&h.key()), Some(h));
        }
        assert_eq!(Holder::from_key("link:x:admin"), None);
        assert_eq!(Holder::from_key("nope"), None);
    }
}
