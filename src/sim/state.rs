//! The emulator's whole state behind one lock: meetings, tokens, identifiers, faults
//! and the request log. Handlers take the lock briefly and never across an await.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use indexmap::IndexMap;
use jiff::{SignedDuration, Timestamp};

use super::api_error::ApiError;
use super::faults::{FaultConfig, Faults};
use super::ids::Ids;
use super::invitations::Ringing;
use super::meeting::Meeting;
use super::request_log::RequestLog;
use super::schedule::{ConfState, Waiting};
use super::seed::Seed;
use crate::clock::SharedClock;
use crate::meeting::wire::AttendeeBody;
use crate::meeting::{MeetingId, MeetingSeed, ParticipantSeed};

/// The service's control tokens last half an hour.
pub const DEFAULT_TOKEN_TTL: SignedDuration = SignedDuration::from_mins(30);
/// Account access tokens last 12 hours.
pub(super) const ACCESS_TOKEN_TTL: SignedDuration = SignedDuration::from_hours(12);

#[derive(Debug, Clone)]
pub(super) struct Grant {
    pub meeting_id: String,
    /// 1 for a host token; the emulator issues host tokens only.
    pub role: u8,
    pub expires: Timestamp,
    /// The meeting's session it was issued in: a reopened meeting refuses it.
    pub session: u32,
}

/// How long a push-feed token opens the feed.
pub(super) const WS_TOKEN_TTL: SignedDuration = SignedDuration::from_secs(60);

/// A one-shot push-feed token.
#[derive(Debug, Clone)]
pub(super) struct WsGrant {
    pub meeting_id: String,
    pub issued: Timestamp,
}

/// Something a rehearsal participant does at a set time.
#[derive(Debug, Clone)]
enum Happening {
    Join(Box<ParticipantSeed>),
    Leave,
    RaiseHand,
    /// An invited callee answers or fails.
    Settle(Box<Ringing>),
    /// Someone arrives in the waiting room.
    Wait(Box<ParticipantSeed>),
}

#[derive(Debug, Clone)]
struct Scheduled {
    at: Timestamp,
    meeting: String,
    /// Which seeded participant: their pid once they have joined.
    who: u64,
    what: Happening,
}

#[derive(Debug)]
pub(super) struct SimState {
    seed: Seed,
    rng_seed: u64,
    pub meetings: IndexMap<String, Meeting>,
    pub tokens: HashMap<String, Grant>,
    pub access_tokens: HashMap<String, Timestamp>,
    pub ids: Ids,
    pub faults: Faults,
    pub log: RequestLog,
    /// Arrivals, departures and hands to come, in time order.
    scheduled: Vec<Scheduled>,
    /// One-shot tokens that open the push feed, with the meeting each is for.
    pub ws_tokens: HashMap<String, WsGrant>,
    /// Seeded participants of scheduled meetings, who join when theirs starts.
    pub waiting: Vec<Waiting>,
    /// Seeded participants' pids, once joined.
    pub arrived: HashMap<u64, String>,
    next_who: u64,
}

impl SimState {
    fn build(seed: Seed, rng_seed: u64, now: Timestamp) -> SimState {
        let mut state = SimState {
            meetings: IndexMap::new(),
            tokens: HashMap::new(),
            access_tokens: HashMap::new(),
            ids: Ids::new(rng_seed),
            faults: Faults::new(FaultConfig::default(), rng_seed),
            log: RequestLog::default(),
            seed: Seed::default(),
            rng_seed,
            scheduled: Vec::new(),
            ws_tokens: HashMap::new(),
            waiting: Vec::new(),
            arrived: HashMap::new(),
            next_who: 0,
        };
        for meeting in &seed.meetings {
            // A seed that passed `Seed::parse` has valid, distinct meetings; only a
            // schedule mixing a duration and an instant is checked here.
            if let Err(error) = state.add_meeting(meeting, now) {
                tracing::warn!(target: "emcee::sim", "a seeded meeting is left out: {}", error.msg);
            }
        }
        state.seed = seed;
        state
    }

    /// Adds a meeting, generating its id when the seed has none.
    pub(super) fn add_meeting(
        &mut self,
        seed: &MeetingSeed,
        now: Timestamp,
    ) -> Result<&Meeting, ApiError> {
        seed.validate().map_err(ApiError::sim_bad_request)?;
        let id = match &seed.id {
            Some(MeetingId(id)) if self.meetings.contains_key(id) => {
                return Err(ApiError::sim_conflict(format!(
                    "meeting {id} already exists"
                )));
            }
            Some(MeetingId(id)) => id.clone(),
            None => loop {
                let id = self.ids.meeting_id();
                if !self.meetings.contains_key(&id) {
                    break id;
                }
            },
        };
        let meeting = Meeting::from_seed(seed, id.clone(), now)?;
        let ended = meeting.is_ended();
        self.meetings.insert(id.clone(), meeting);
        if !ended {
            for participant in &seed.participants {
                // A validated seed has at most one host and few enough co-hosts.
                let _ = self.add_participant(&id, participant, now, true);
            }
            for person in &seed.waiting_room {
                self.add_to_waiting_room(&id, person, now);
            }
            // Scripted joins due at once take effect before anyone looks.
            self.apply_due(now);
        }
        Ok(&self.meetings[&id])
    }

    /// Adds a participant now, or schedules their arrival; schedules what they do
    /// later. Returns the pid when they joined at once. A `seeded` participant is part
    /// of the meeting as described: present from its start, and without `joins_after`
    /// in a scheduled meeting, joining when it starts; anyone else joins by the rules
    /// of [`SimState::join_now`], and is refused as the service would refuse them.
    pub(super) fn add_participant(
        &mut self,
        meeting_id: &str,
        spec: &ParticipantSeed,
        now: Timestamp,
        seeded: bool,
    ) -> Result<Option<String>, ApiError> {
        spec.validate().map_err(ApiError::sim_bad_request)?;
        let state = self.meeting(meeting_id)?.state;
        let who = self.next_who;
        self.next_who += 1;
        let at = |after: crate::duration::Duration| {
            now.checked_add(after.signed()).unwrap_or(Timestamp::MAX)
        };
        let mut joined = None;
        let join = || Happening::Join(Box::new(spec.clone()));
        match spec.joins_after {
            Some(after) if !after.is_zero() => self.schedule(at(after), meeting_id, who, join()),
            None if seeded && state == ConfState::Schedule => self.waiting.push(Waiting {
                meeting: meeting_id.to_owned(),
                who,
                spec: spec.clone(),
            }),
            _ if seeded && state == ConfState::Created => {
                let meeting = self
                    .meetings
                    .get_mut(meeting_id)
                    .ok_or_else(|| ApiError::sim_not_found(format!("no meeting {meeting_id}")))?;
                let pid = meeting.add(spec, &mut self.ids)?;
                self.arrived.insert(who, pid.clone());
                joined = Some(pid);
            }
            // `joins_after: 0s` in a scheduled meeting: a scripted join, right away.
            _ if seeded => self.schedule(now, meeting_id, who, join()),
            _ => joined = Some(self.join_now(meeting_id, who, spec, now)?),
        }
        if let Some(after) = spec.leaves_after {
            self.schedule(at(after), meeting_id, who, Happening::Leave);
        }
        if let Some(after) = spec.raises_hand_after {
            self.schedule(at(after), meeting_id, who, Happening::RaiseHand);
        }
        Ok(joined)
    }

    /// Puts a seeded person in the waiting room now, or when their `joins_after` is due.
    fn add_to_waiting_room(&mut self, meeting_id: &str, spec: &ParticipantSeed, now: Timestamp) {
        let who = self.next_who;
        self.next_who += 1;
        match spec.joins_after {
            Some(after) if !after.is_zero() => {
                let at = now.checked_add(after.signed()).unwrap_or(Timestamp::MAX);
                self.schedule(at, meeting_id, who, Happening::Wait(Box::new(spec.clone())));
            }
            _ => {
                if let Some(meeting) = self.meetings.get_mut(meeting_id) {
                    // A validated seed: nothing here can be refused.
                    let _ = meeting.add_waiting(spec, &mut self.ids);
                }
            }
        }
    }

    /// The invite call: callees ring now, and their outcomes are scheduled.
    pub(super) fn invite(
        &mut self,
        meeting_id: &str,
        attendees: &[AttendeeBody],
        now: Timestamp,
    ) -> Result<(), ApiError> {
        let meeting = self
            .meetings
            .get_mut(meeting_id)
            .ok_or_else(ApiError::token_invalid)?;
        for call in meeting.invite(attendees, &mut self.ids)? {
            let who = self.next_who;
            self.next_who += 1;
            self.schedule(
                call.due(now),
                meeting_id,
                who,
                Happening::Settle(Box::new(call)),
            );
        }
        Ok(())
    }

    fn schedule(&mut self, at: Timestamp, meeting: &str, who: u64, what: Happening) {
        // After everything due at the same instant: events keep the order they were given.
        let index = self.scheduled.partition_point(|s| s.at <= at);
        self.scheduled.insert(
            index,
            Scheduled {
                at,
                meeting: meeting.to_owned(),
                who,
                what,
            },
        );
    }

    /// The next instant something scheduled is due after `now`: a scripted happening,
    /// or a held meeting's scheduled end.
    pub(super) fn next_due(&self, now: Timestamp) -> Option<Timestamp> {
        let happening = self.scheduled.iter().map(|s| s.at).find(|at| *at > now);
        let end = self
            .meetings
            .values()
            .filter(|m| m.state == ConfState::Created && m.ends_at > now)
            .map(|m| m.ends_at)
            .min();
        happening.into_iter().chain(end).min()
    }

    /// Carries out everything scheduled up to `now`, in time order: scripted
    /// happenings, and meetings reaching their scheduled end.
    fn apply_due(&mut self, now: Timestamp) -> bool {
        let mut applied = false;
        loop {
            let next = self.scheduled.first().map(|s| s.at).filter(|at| *at <= now);
            match (next, self.next_end(now)) {
                // At the same instant, what people do comes before the end.
                (Some(next), Some((end, id))) if end < next => {
                    self.apply_end(&id, Some(next), now);
                }
                (Some(_), _) => self.apply_next_happening(now),
                (None, Some((_, id))) => self.apply_end(&id, None, now),
                (None, None) => break,
            }
            applied = true;
        }
        applied
    }

    fn apply_next_happening(&mut self, now: Timestamp) {
        let due = self.scheduled.remove(0);
        let Some(meeting) = self.meetings.get(&due.meeting) else {
            return;
        };
        if meeting.is_ended() {
            return;
        }
        let pid = self.arrived.get(&due.who).cloned();
        match (due.what, pid) {
            (Happening::Settle(call), _) => {
                if let Some(meeting) = self.meetings.get_mut(&due.meeting) {
                    meeting.settle(&call);
                }
            }
            (Happening::Wait(spec), _) => {
                if let Some(meeting) = self.meetings.get_mut(&due.meeting) {
                    let _ = meeting.add_waiting(&spec, &mut self.ids);
                }
            }
            (Happening::Join(spec), _) => {
                if let Err(error) = self.join_now(&due.meeting, due.who, &spec, now) {
                    tracing::info!(
                        target: "emcee::sim",
                        "{} is not admitted to meeting {}: {} {}",
                        spec.name,
                        due.meeting,
                        error.code,
                        error.msg
                    );
                }
            }
            // Someone who never got in, or already left, has nothing to do.
            (Happening::Leave, Some(pid)) => {
                if let Some(meeting) = self.meetings.get_mut(&due.meeting) {
                    let _ = meeting.depart(&pid, super::meeting::LEFT);
                }
            }
            (Happening::RaiseHand, Some(pid)) => {
                if let Some(meeting) = self.meetings.get_mut(&due.meeting) {
                    let _ = meeting.set_hand(&pid, true);
                }
            }
            (_, None) => {}
        }
    }

    /// Removes a meeting with its tokens and everything scheduled in it, so that a
    /// meeting added later under the same id starts clean.
    pub(super) fn forget_meeting(&mut self, id: &str) {
        self.meetings.shift_remove(id);
        self.tokens.retain(|_, grant| grant.meeting_id != id);
        self.scheduled.retain(|s| s.meeting != id);
        self.waiting.retain(|w| w.meeting != id);
    }

    pub(super) fn meeting(&self, id: &str) -> Result<&Meeting, ApiError> {
        self.meetings
            .get(id)
            .ok_or_else(|| ApiError::sim_not_found(format!("no meeting {id}")))
    }

    pub(super) fn meeting_mut(&mut self, id: &str) -> Result<&mut Meeting, ApiError> {
        self.meetings
            .get_mut(id)
            .ok_or_else(|| ApiError::sim_not_found(format!("no meeting {id}")))
    }

    pub(super) fn token_ttl(&self) -> SignedDuration {
        self.faults
            .token_ttl()
            .or(self.seed.token_ttl)
            .map_or(DEFAULT_TOKEN_TTL, |ttl| ttl.signed())
    }

    /// Checks a control token against the meeting it is used on.
    pub(super) fn check_token(
        &self,
        token: &str,
        meeting_id: &str,
        now: Timestamp,
    ) -> Result<&Grant, ApiError> {
        let session = self.meetings.get(meeting_id).map(|m| m.session);
        match self.tokens.get(token) {
            Some(grant)
                if grant.meeting_id == meeting_id
                    && grant.expires > now
                    && Some(grant.session) == session =>
            {
                Ok(grant)
            }
            _ => Err(ApiError::token_invalid()),
        }
    }

    /// Issues a new host token for a meeting, forgetting tokens that have expired.
    pub(super) fn issue_token(&mut self, meeting_id: &str, now: Timestamp) -> (String, Grant) {
        self.tokens.retain(|_, grant| grant.expires > now);
        let token = self.ids.token();
        let grant = Grant {
            meeting_id: meeting_id.to_owned(),
            role: 1,
            expires: now.checked_add(self.token_ttl()).unwrap_or(Timestamp::MAX),
            session: self.meetings.get(meeting_id).map_or(0, |m| m.session),
        };
        self.tokens.insert(token.clone(), grant.clone());
        (token, grant)
    }

    /// Keeps a token alive: the same string with a later expiry, or — when the
    /// rotation fault is on — a new string, the old one retired. `None` for a token
    /// the emulator does not know.
    pub(super) fn keep_alive(&mut self, token: &str, now: Timestamp) -> Option<(String, Grant)> {
        let mut grant = self.tokens.remove(token)?;
        grant.expires = now.checked_add(self.token_ttl()).unwrap_or(Timestamp::MAX);
        let token = if self.faults.rotate_on_keepalive() {
            self.ids.token()
        } else {
            token.to_owned()
        };
        self.tokens.insert(token.clone(), grant.clone());
        Some((token, grant))
    }

    /// Issues a one-shot push-feed token for a meeting, forgetting those expired.
    pub(super) fn issue_ws_token(&mut self, meeting_id: &str, now: Timestamp) -> String {
        self.ws_tokens
            .retain(|_, grant| now.duration_since(grant.issued) < WS_TOKEN_TTL);
        let token = self.ids.token();
        self.ws_tokens.insert(
            token.clone(),
            WsGrant {
                meeting_id: meeting_id.to_owned(),
                issued: now,
            },
        );
        token
    }

    /// Spends a push-feed token: true when it was issued for this meeting less than
    /// a minute ago and not used before. Spent either way.
    pub(super) fn spend_ws_token(&mut self, token: &str, meeting_id: &str, now: Timestamp) -> bool {
        match self.ws_tokens.remove(token) {
            Some(grant) => {
                grant.meeting_id == meeting_id
                    && now.duration_since(grant.issued) < WS_TOKEN_TTL
                    && grant.issued <= now
            }
            None => false,
        }
    }

    pub(super) fn seed_accounts(&self) -> &[super::seed::AccountSeed] {
        &self.seed.accounts
    }

    pub(super) fn set_faults(&mut self, config: FaultConfig) {
        self.faults = Faults::new(config, self.rng_seed);
    }
}

/// The emulator: its state and the clock it reads.
#[derive(Debug)]
pub(super) struct Sim {
    state: Mutex<SimState>,
    pub clock: SharedClock,
    request_counter: AtomicU64,
    request_prefix: u64,
    base_url: OnceLock<String>,
    /// Ticks whenever the state may have changed, so push feeds look for changes.
    changes: tokio::sync::watch::Sender<u64>,
    /// The push feeds' own bookkeeping (connections, drop requests).
    pub feeds: Arc<super::feed::hub::Hub>,
}

/// The locked state; letting it go tells the push feeds to look for changes.
pub(super) struct StateGuard<'a> {
    guard: MutexGuard<'a, SimState>,
    sim: &'a Sim,
    notify: bool,
}

impl Deref for StateGuard<'_> {
    type Target = SimState;
    fn deref(&self) -> &SimState {
        &self.guard
    }
}

impl DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut SimState {
        self.notify = true;
        &mut self.guard
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        if self.notify {
            // Each open feed counts as busy on the clock until it has looked.
            self.sim.feeds.changed(&self.sim.clock);
            self.sim.changes.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

impl Sim {
    pub(super) fn new(seed: Seed, rng_seed: u64, clock: SharedClock) -> Sim {
        let now = clock.now();
        Sim {
            state: Mutex::new(SimState::build(seed, rng_seed, now)),
            clock,
            request_counter: AtomicU64::new(0),
            request_prefix: splitmix64(rng_seed),
            base_url: OnceLock::new(),
            changes: tokio::sync::watch::Sender::new(0),
            feeds: Arc::default(),
        }
    }

    /// The state, with everything scheduled up to now carried out first, so that every
    /// reader sees the meeting as it is at this instant of the emulator's clock.
    pub(super) fn lock(&self) -> StateGuard<'_> {
        // A handler never panics while holding the lock; if one ever did, the state
        // it left is still the best answer available.
        let mut guard = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let notify = guard.apply_due(self.clock.now());
        StateGuard {
            guard,
            sim: self,
            notify,
        }
    }

    /// Carries out what is due and makes every push feed look, whatever changed.
    pub(super) fn touch(&self) {
        let mut state = self.lock();
        let _: &mut SimState = &mut state;
    }

    /// Tells the push feeds when the state may have changed.
    pub(super) fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Back to the seed: meetings, identifiers, tokens, faults and the log. The clock
    /// keeps its time.
    pub(super) fn reset(&self) {
        let mut state = self.lock();
        let seed = state.seed.clone();
        let rng_seed = state.rng_seed;
        *state = SimState::build(seed, rng_seed, self.clock.now());
    }

    /// A fresh `X-Request-Id`: 32 hex characters, as the service's.
    pub(super) fn next_request_id(&self) -> String {
        let n = self.request_counter.fetch_add(1, Ordering::Relaxed);
        format!("{:016x}{n:016x}", self.request_prefix)
    }

    pub(super) fn set_base_url(&self, url: String) {
        let _ = self.base_url.set(url);
    }

    pub(super) fn base_url(&self) -> &str {
        self.base_url
            .get()
            .map_or("http://127.0.0.1", String::as_str)
    }
}

/// One step of SplitMix64: spreads a small seed such as 0 over all 64 bits.
fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
