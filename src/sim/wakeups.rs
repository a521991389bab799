//! The emulator's schedule carried out at its instants: seeded arrivals, departures and
//! hands, invitations answering, meetings reaching their scheduled end. The state
//! carries out whatever is due each time it is locked; this task locks it at each due
//! instant, waiting passively on the emulator's clock, so that the push feeds send a
//! change at its scheduled moment — on virtual time before a driver moves past it, on
//! real time at once rather than on a feed's next tick.

use std::sync::{Arc, Weak};

use tokio::task::JoinHandle;

use super::state::Sim;

/// Starts the task; it ends with the emulator (or when aborted).
pub(super) fn spawn(sim: &Arc<Sim>) -> JoinHandle<()> {
    tokio::spawn(run(Arc::downgrade(sim)))
}

async fn run(sim: Weak<Sim>) {
    let Some(mut changes) = sim.upgrade().map(|sim| sim.changes()) else {
        return;
    };
    loop {
        // Seen before looking: whatever changes the schedule from here wakes us again.
        changes.borrow_and_update();
        let (clock, next) = {
            let Some(sim) = sim.upgrade() else {
                return;
            };
            let state = sim.lock();
            let next = state.next_due(sim.clock.now());
            (Arc::clone(&sim.clock), next)
        };
        let due = async {
            match next {
                Some(at) => clock.wake_at(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            busy = due => {
                let Some(sim) = sim.upgrade() else {
                    return;
                };
                // Locking carries it out; each feed claims the clock before this lets go.
                drop(sim.lock());
                drop(busy);
            }
            changed = changes.changed() => {
                // The emulator is gone.
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::meeting::MeetingSeed;
    use crate::sim::Seed;

    #[tokio::test]
    async fn on_real_time_a_scheduled_hand_is_carried_out_at_its_moment_unasked() {
        let meeting: MeetingSeed = serde_json::from_value(serde_json::json!({
            "host_password": "host-pw-123",
            "participants": [
                {"name": "Alice Zhang", "role": "host"},
                {"name": "Bob Li", "raises_hand_after": "300ms"},
            ],
        }))
        .unwrap();
        let started = Instant::now();
        let handle = crate::sim::start(Seed {
            meetings: vec![meeting],
            ..Seed::default()
        })
        .await
        .unwrap();
        let mut changes = handle.sim.changes();
        changes.borrow_and_update();
        // Nobody calls and no feed is open: only the wake-up locks the state.
        tokio::time::timeout(Duration::from_secs(5), changes.changed())
            .await
            .expect("carried out unasked")
            .unwrap();
        let after = started.elapsed();
        assert!(after >= Duration::from_millis(300), "{after:?}");
        let meeting = handle.meetings().remove(0);
        assert!(
            meeting
                .participants
                .iter()
                .any(|p| p.name == "Bob Li" && p.hand)
        );
        handle.stop().await;
    }
}
