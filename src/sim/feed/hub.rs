//! What the feed keeps beside the meetings, below the emulator's state that holds it:
//! open connections per meeting (bounded), the admin API's request to drop them all,
//! the emulator stopping, which connections have a change to look at, and the feed's
//! fault options.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::clock::{Busy, Clock};
use crate::duration::Duration;

/// Feed connections open at once per meeting; further upgrades are closed.
const MAX_CONNECTIONS_PER_MEETING: usize = 64;

/// The feed's fault options (under `feed` in `PUT /_sim/faults`), applied to
/// connections opened from then on. Each is deterministic: the same calls
/// give the same faults, whatever the seed.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FeedFaults {
    /// Drop the socket, without a close frame, once this many pushed messages
    /// (snapshots and increments) have been sent on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_after: Option<u64>,
    /// Hold every pushed message this long before sending it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    /// Never send the N-th incremental message of a connection (counted from 1,
    /// across types); its version number is used up all the same, leaving a gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lose_nth: Option<u64>,
}

impl FeedFaults {
    pub(in crate::sim) fn is_none(&self) -> bool {
        *self == FeedFaults::default()
    }
}

/// What the feed keeps beside the meetings: connections per meeting, and the
/// admin API's request to drop every open socket.
#[derive(Debug)]
pub(crate) struct Hub {
    connections: Mutex<HashMap<String, usize>>,
    pub(super) drops: watch::Sender<u64>,
    /// Turns once the emulator stops: every feed closes with 1001 (going away).
    pub(super) closing: watch::Sender<bool>,
    /// Each open connection's claim on a virtual clock while it has a change to look
    /// at, so that time does not move on before it has pushed what changed.
    looking: Mutex<Vec<Weak<Looking>>>,
}

/// A connection's change not looked at yet, counted busy on the emulator's clock.
#[derive(Debug, Default)]
pub(super) struct Looking(Mutex<Option<Busy>>);

impl Looking {
    /// The claim, for the connection that is about to look.
    pub(super) fn take(&self) -> Option<Busy> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            connections: Mutex::new(HashMap::new()),
            drops: watch::Sender::new(0),
            closing: watch::Sender::new(false),
            looking: Mutex::new(Vec::new()),
        }
    }
}

impl Hub {
    /// Counts a connection to `meeting` in, unless it already has the most allowed.
    pub(super) fn admit(self: &Arc<Self>, meeting: &str) -> Option<Slot> {
        let mut connections = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        let count = connections.entry(meeting.to_owned()).or_default();
        if *count >= MAX_CONNECTIONS_PER_MEETING {
            return None;
        }
        *count += 1;
        Some(Slot {
            hub: Arc::clone(self),
            meeting: meeting.to_owned(),
        })
    }

    /// A connection's claim, counted busy whenever the state changes until it looks.
    pub(super) fn watch(&self) -> Arc<Looking> {
        let looking = Arc::new(Looking::default());
        let mut all = self.looking.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|l| l.strong_count() > 0);
        all.push(Arc::downgrade(&looking));
        looking
    }

    /// The state may have changed: on a virtual clock, every open connection counts as
    /// busy until it has looked (and what it pushed is on the socket).
    pub(in crate::sim) fn changed(&self, clock: &Arc<dyn Clock>) {
        if !clock.is_virtual() {
            return;
        }
        let mut all = self.looking.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|looking| match looking.upgrade() {
            Some(looking) => {
                looking
                    .0
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert_with(|| clock.busy());
                true
            }
            None => false,
        });
    }

    pub(in crate::sim) fn count(&self, meeting: &str) -> usize {
        let connections = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        connections.get(meeting).copied().unwrap_or(0)
    }

    /// Drops every open feed socket at once (`POST /_sim/feed/drop`).
    pub(in crate::sim) fn drop_all(&self) {
        self.drops.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Closes every open feed, for good: the emulator is stopping.
    pub(in crate::sim) fn close_all(&self) {
        self.closing.send_replace(true);
    }
}

/// One counted connection; counted out when dropped.
pub(super) struct Slot {
    hub: Arc<Hub>,
    meeting: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut connections = self
            .hub
            .connections
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(count) = connections.get_mut(&self.meeting) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                connections.remove(&self.meeting);
            }
        }
    }
}
