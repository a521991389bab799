//! What each action does against the API. Participant actions resolve their selector
//! against the online list; fan-out uses the batch call where there is one; mass
//! changes (`lower_all_hands`, `mute_all`) read the list back and finish the job, so
//! that success means the meeting is in the intended state.

use std::collections::HashSet;
use std::time::Instant;

use reqwest::Method;
use serde_json::{Value, json};

use super::event::Event;
use super::executor::{Executor, StepCtx, StepFailure, waited};
use super::retry::Backoff;
use crate::error::ExitCode;
use crate::meeting::wire::{
    AttendeeBody, AttendeeType, BatchHandsBody, CohostBody, DurationBody, GuestUnmuteBody,
    HandsBody, HangUpBody, InviteBody, LiveBody, LockBody, MuteBody, MuteMeetingBody, RecordBody,
    RenameBody, SetRoleBody,
};
use crate::meeting::{Api, Participant, Roster};
use crate::mmc::{Failure, Request, Response};
use crate::node::Node;
use crate::playbook::action::{
    Action, DeviceType, HandRaised, HttpMethod, LogLevel, Wait, WaitFor,
};
use crate::playbook::{Selector, SelectorMatch};
use crate::yaml::Spanned;

/// The service takes at most this many pids per batch call from emcee; its own limit is
/// higher, but smaller batches keep each call quick and its failure cheap.
pub const BATCH: usize = 100;
/// Calls made at once when the API has no batch call for a change to many people.
pub const FANOUT: usize = 4;
/// Rounds of read-back and retry before a mass change is called a failure.
const READ_BACK_ROUNDS: usize = 3;

type Done = Result<(Value, Option<String>), StepFailure>;

impl Executor<'_> {
    pub(super) async fn perform(
        &mut self,
        name: &'static str,
        args: &Spanned<Node>,
        ctx: &mut StepCtx,
    ) -> Done {
        // `assert` takes expressions, evaluated below, not templates.
        let rendered = if name == "assert" {
            args.to_json()
        } else {
            self.engine
                .render_node(args, &self.vars)
                .map_err(|e| self.template_failure(e))?
        };
        let action = Action::from_parts(name, rendered).map_err(|(path, message)| {
            let pos = Node::pos_at(args, &path);
            StepFailure::new(format!("{}: {name}: {message}", self.position(pos)))
        })?;
        match action {
            Action::Broadcast(who) => {
                self.one(ctx, &who, Request::to(Api::Broadcast), "broadcasting")
                    .await
            }
            Action::RollCall(who) => {
                self.one(ctx, &who, Request::to(Api::RollCall), "roll call for")
                    .await
            }
            Action::SetHost(who) => {
                self.one(
                    ctx,
                    &who,
                    Request::call(
                        Api::Role,
                        &SetRoleBody {
                            apply_chair: true.into(),
                            chairman_pwd: None,
                        },
                    ),
                    "host is now",
                )
                .await
            }
            Action::SetCohost(who) => {
                self.one(
                    ctx,
                    &who,
                    Request::call(
                        Api::Cohost,
                        &CohostBody {
                            is_cohost: true.into(),
                        },
                    ),
                    "co-host:",
                )
                .await
            }
            Action::UnsetCohost(who) => {
                self.one(
                    ctx,
                    &who,
                    Request::call(
                        Api::Cohost,
                        &CohostBody {
                            is_cohost: false.into(),
                        },
                    ),
                    "no longer co-host:",
                )
                .await
            }
            Action::RaiseHand(who) => self.hands(ctx, &who, true).await,
            Action::LowerHand(who) => self.hands(ctx, &who, false).await,
            Action::Mute(who) => {
                self.each(
                    ctx,
                    &who,
                    Request::call(
                        Api::Mute,
                        &MuteBody {
                            is_mute: true.into(),
                        },
                    ),
                    "muted",
                )
                .await
            }
            Action::Unmute(who) => {
                self.each(
                    ctx,
                    &who,
                    Request::call(
                        Api::Mute,
                        &MuteBody {
                            is_mute: false.into(),
                        },
                    ),
                    "unmuted",
                )
                .await
            }
            Action::HangUp(who) => self.hang_up(ctx, &who).await,
            Action::Rename(rename) => {
                let target = self.single(ctx, &rename.who).await?;
                let body = RenameBody {
                    participant_id: Some(target.pid.clone()),
                    number: target.phone.clone(),
                    new_name: rename.to.clone(),
                };
                self.call(ctx, Request::call(Api::Rename, &body)).await?;
                Ok((
                    json!({"pid": target.pid, "name": rename.to}),
                    Some(format!("{} is now {}", target.name, rename.to)),
                ))
            }
            Action::LowerAllHands(_) => self.lower_all_hands(ctx).await,
            Action::MuteAll(args) => self.mute_all(ctx, args.allow_self_unmute).await,
            Action::UnmuteAll(_) => {
                let body = MuteMeetingBody {
                    is_mute: false.into(),
                    allow_unmute_by_oneself: None,
                };
                self.simple(
                    ctx,
                    Request::call(Api::MuteMeeting, &body),
                    "everyone unmuted",
                )
                .await
            }
            Action::AllowSelfUnmute(allow) => {
                let detail = if allow {
                    "self-unmute allowed"
                } else {
                    "self-unmute not allowed"
                };
                self.simple(
                    ctx,
                    Request::call(
                        Api::GuestUnmute,
                        &GuestUnmuteBody {
                            allow_unmute_by_oneself: allow.into(),
                        },
                    ),
                    detail,
                )
                .await
            }
            Action::CancelBroadcast(_) => {
                self.call(ctx, Request::to(Api::CancelBroadcast)).await?;
                Ok((json!({}), Some("broadcast cancelled".into())))
            }
            Action::Lock(_) => {
                let request = Request::call(
                    Api::Lock,
                    &LockBody {
                        is_lock: true.into(),
                    },
                );
                self.simple(ctx, request, "locked").await
            }
            Action::Unlock(_) => {
                let request = Request::call(
                    Api::Lock,
                    &LockBody {
                        is_lock: false.into(),
                    },
                );
                self.simple(ctx, request, "unlocked").await
            }
            Action::StartRecording(_) => {
                let request = Request::call(
                    Api::Record,
                    &RecordBody {
                        is_record: true.into(),
                    },
                );
                self.simple(ctx, request, "recording").await
            }
            Action::StopRecording(_) => {
                let request = Request::call(
                    Api::Record,
                    &RecordBody {
                        is_record: false.into(),
                    },
                );
                self.simple(ctx, request, "recording stopped").await
            }
            Action::StartLive(_) => {
                let request = Request::call(
                    Api::Live,
                    &LiveBody {
                        is_live: true.into(),
                    },
                );
                self.simple(ctx, request, "live").await
            }
            Action::StopLive(_) => {
                let request = Request::call(
                    Api::Live,
                    &LiveBody {
                        is_live: false.into(),
                    },
                );
                self.simple(ctx, request, "live stopped").await
            }
            Action::EndMeeting(_) => {
                self.call(ctx, Request::to(Api::Stop)).await?;
                Ok((json!({}), Some("meeting ended".into())))
            }
            Action::Extend(extend) => {
                let body = DurationBody {
                    auto: extend.auto.into(),
                    duration: (!extend.auto).then_some(i64::from(extend.minutes)),
                };
                let detail = if extend.auto {
                    "automatic extension on".to_owned()
                } else {
                    format!("extended by {} minutes", extend.minutes)
                };
                self.simple(ctx, Request::call(Api::Duration, &body), &detail)
                    .await
            }
            Action::Invite(invite) => {
                let attendees = invite
                    .0
                    .iter()
                    .map(|p| {
                        AttendeeBody::new(p.name.clone(), p.phone.clone(), attendee_type(p.kind))
                    })
                    .collect();
                let names: Vec<&str> = invite.0.iter().map(|p| p.name.as_str()).collect();
                let request = Request::call(Api::Invite, &InviteBody { attendees });
                self.call(ctx, request).await?;
                Ok((
                    json!({"invited": names}),
                    Some(format!("invited {}", names.join(", "))),
                ))
            }
            Action::Participants(filter) => {
                let roster = self.roster(ctx).await?;
                let name = filter.name.as_deref().map(crate::playbook::fold_name);
                let selected: Vec<&Participant> = roster
                    .participants
                    .iter()
                    .filter(|p| {
                        name.as_ref()
                            .is_none_or(|n| crate::playbook::fold_name(&p.name) == *n)
                            && filter.role.is_none_or(|r| p.role == r.to_string())
                            && filter.hand.is_none_or(|h| p.hand == h)
                            && filter.mute.is_none_or(|m| p.mute == m)
                            && filter.video.is_none_or(|v| p.video == v)
                    })
                    .collect();
                let count = selected.len();
                Ok((
                    serde_json::to_value(&selected).unwrap_or(Value::Null),
                    Some(format!("{count} of {} online", roster.participants.len())),
                ))
            }
            Action::Wait(wait) => self.wait(ctx, &wait, args.pos).await,
            Action::WaitFor(wait_for) => self.wait_for(ctx, &wait_for, args.pos).await,
            Action::Log(log) => {
                self.emit(Event::Message {
                    id: ctx.id.clone(),
                    level: log.level,
                    // A message rendered from a secret is shown as `***`, never in part.
                    text: if self.engine.secrets().shows_secret(&json!(log.msg)) {
                        crate::template::MASK.to_owned()
                    } else {
                        log.msg.clone()
                    },
                });
                Ok((json!({"msg": log.msg}), None))
            }
            Action::Assert(assert) => {
                for expression in &assert.that {
                    let value = self
                        .engine
                        .eval(expression, args.pos, &self.vars)
                        .map_err(|e| self.template_failure(e))?;
                    if !value.is_true() {
                        let message = match &assert.msg {
                            Some(msg) => format!("assertion failed: {msg} ({expression})"),
                            None => format!("assertion failed: {expression}"),
                        };
                        return Err(StepFailure::new(message));
                    }
                }
                Ok((json!({}), Some(format!("{} true", assert.that.len()))))
            }
            Action::Include(_) => Err(StepFailure::new(format!(
                "{}: include was not resolved when the playbook was loaded",
                self.position(args.pos)
            ))),
            Action::Set(values) => {
                let names: Vec<String> = values.keys().cloned().collect();
                for (name, value) in values {
                    self.vars.set(name, value);
                }
                Ok((json!({}), Some(format!("set {}", names.join(", ")))))
            }
            Action::Http(http) => {
                let method = match http.method {
                    HttpMethod::Get => Method::GET,
                    HttpMethod::Put => Method::PUT,
                    HttpMethod::Post => Method::POST,
                    HttpMethod::Delete => Method::DELETE,
                };
                let request = crate::mmc::Request {
                    method,
                    path: http.path,
                    query: http.query.into_iter().collect(),
                    body: http.body,
                };
                let response = match self.call(ctx, request).await {
                    Ok(response) => response,
                    Err(failure) => return Err(failure),
                };
                if let Some(expected) = http.expect
                    && response.status != expected
                {
                    return Err(StepFailure::new(format!(
                        "expected HTTP {expected}, got {}",
                        response.status
                    )));
                }
                Ok((
                    json!({"status": response.status, "body": response.body}),
                    Some(format!("HTTP {}", response.status)),
                ))
            }
        }
    }

    /// One API call, retried on transient failures as the step's policy says.
    pub(super) async fn call(
        &mut self,
        ctx: &mut StepCtx,
        request: Request,
    ) -> Result<Response, StepFailure> {
        let client = std::sync::Arc::clone(&self.client);
        let clock = std::sync::Arc::clone(&self.timeline.clock);
        let spec = ctx.retry;
        let deadline = ctx.limit.at();
        // Each retry is shown as it happens, before its wait.
        send_with_retry(&client, &request, &spec, &clock, deadline, |retry| {
            ctx.retries += 1;
            self.counts.retries += 1;
            self.emit(Event::Retry {
                id: ctx.id.clone(),
                name: ctx.name.clone(),
                attempt: retry.attempt,
                attempts: retry.attempts,
                delay: retry.delay,
                reason: retry.reason,
            });
        })
        .await
    }

    async fn simple(&mut self, ctx: &mut StepCtx, request: Request, detail: &str) -> Done {
        self.call(ctx, request).await?;
        Ok((json!({}), Some(detail.to_owned())))
    }

    pub(super) async fn roster(&mut self, ctx: &mut StepCtx) -> Result<Roster, StepFailure> {
        let response = self.call(ctx, Request::to(Api::RealTimeInfo)).await?;
        Roster::parse(&response.body).map_err(StepFailure::new)
    }

    /// Who a selector means. A selector by id alone goes straight to the call (the API
    /// answers for an unknown id); anything else is matched against the online list.
    async fn resolve(
        &mut self,
        ctx: &mut StepCtx,
        who: &Selector,
    ) -> Result<Vec<Participant>, StepFailure> {
        if let Selector::Match(SelectorMatch {
            id: Some(id),
            name: None,
            phone: None,
            role: None,
            ..
        }) = who
        {
            return Ok(vec![Participant::by_id(id)]);
        }
        let roster = self.roster(ctx).await?;
        let found: Vec<Participant> = who.select(&roster).into_iter().cloned().collect();
        match found.len() {
            0 => Err(StepFailure::new(format!(
                "no participant matches `{who}`; {}",
                who.nobody(&roster)
            ))),
            1 => Ok(found),
            n if who.all() => {
                let _ = n;
                Ok(found)
            }
            n => {
                let listed: Vec<String> = found
                    .iter()
                    .map(|p| format!("{} ({}, pid {})", p.name, p.phone, p.pid))
                    .collect();
                Err(StepFailure::new(format!(
                    "`{who}` matches {n} participants: {}; select by id or phone, or add `all: true` to act on all of them",
                    listed.join("; ")
                )))
            }
        }
    }

    /// A selector that must name exactly one person.
    async fn single(
        &mut self,
        ctx: &mut StepCtx,
        who: &Selector,
    ) -> Result<Participant, StepFailure> {
        let mut found = self.resolve(ctx, who).await?;
        if found.len() > 1 {
            return Err(StepFailure::new(format!(
                "this action takes one participant, but `{who}` matches {}",
                found.len()
            )));
        }
        Ok(found.remove(0))
    }

    /// A call aimed at one participant; an unknown id is reported with who is online.
    async fn call_for(
        &mut self,
        ctx: &mut StepCtx,
        request: Request,
        target: &Participant,
    ) -> Result<(), StepFailure> {
        match self.call(ctx, request).await {
            Err(failure) if failure.participant_gone => {
                let online = self
                    .roster(ctx)
                    .await
                    .map(|r| r.describe())
                    .unwrap_or_default();
                Err(StepFailure::new(format!(
                    "participant {} is not online; {online}",
                    target.name
                )))
            }
            other => other.map(|_| ()),
        }
    }

    async fn one(
        &mut self,
        ctx: &mut StepCtx,
        who: &Selector,
        request: Request,
        verb: &str,
    ) -> Done {
        let target = self.single(ctx, who).await?;
        let request = request.participant(&target.pid);
        self.call_for(ctx, request, &target).await?;
        Ok((
            json!({"pid": target.pid, "name": target.name}),
            Some(format!("{verb} {}", target.name)),
        ))
    }

    /// The same call for each matched participant: several at once (at most
    /// [`FANOUT`]), since the API has no batch call for it. The rate limit and the retry
    /// policy apply to each; the first failure stops the rest.
    async fn each(
        &mut self,
        ctx: &mut StepCtx,
        who: &Selector,
        request: Request,
        verb: &'static str,
    ) -> Done {
        let targets = self.resolve(ctx, who).await?;
        if let [target] = &targets[..] {
            let request = request.participant(&target.pid);
            self.call_for(ctx, request, target).await?;
            return Ok((
                targets_json(&targets),
                Some(format!("{verb} {}", target.name)),
            ));
        }
        let total = targets.len();
        // One call each, at the rate limit: the step's inherited time limit grows by as
        // long as that takes, so that a fan-out over hundreds can finish.
        if let Some(paced) = crate::plan::timeline::fan_out_time(total, self.client.rate_limit()) {
            ctx.limit.extend_default(paced.unsigned_abs());
        }
        let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(FANOUT));
        let (notes, mut heard) = tokio::sync::mpsc::unbounded_channel::<RetryNote>();
        let mut tasks = tokio::task::JoinSet::new();
        for target in &targets {
            let (client, clock, permits, notes) = (
                std::sync::Arc::clone(&self.client),
                std::sync::Arc::clone(&self.timeline.clock),
                std::sync::Arc::clone(&permits),
                notes.clone(),
            );
            let (request, spec, deadline, name) = (
                request.clone().participant(&target.pid),
                ctx.retry,
                ctx.limit.at(),
                target.name.clone(),
            );
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let result = send_with_retry(&client, &request, &spec, &clock, deadline, |note| {
                    let _ = notes.send(note);
                })
                .await;
                (name, result)
            });
        }
        drop(notes);
        let mut done = 0;
        loop {
            tokio::select! {
                Some(note) = heard.recv() => {
                    ctx.retries += 1;
                    self.counts.retries += 1;
                    self.emit(Event::Retry { id: ctx.id.clone(), name: ctx.name.clone(), attempt: note.attempt, attempts: note.attempts, delay: note.delay, reason: note.reason });
                }
                finished = tasks.join_next() => match finished {
                    None => break,
                    Some(Ok((_, Ok(_)))) => {
                        done += 1;
                        self.progress(ctx, verb, done, total);
                    }
                    Some(Ok((name, Err(failure)))) => {
                        tasks.abort_all();
                        return Err(StepFailure { message: format!("{name}: {}", failure.message), ..failure });
                    }
                    Some(Err(error)) => {
                        tasks.abort_all();
                        return Err(StepFailure::new(format!("a call was lost: {error}")));
                    }
                },
            }
        }
        Ok((
            targets_json(&targets),
            Some(format!("{verb} {}", names(&targets))),
        ))
    }

    fn progress(&mut self, ctx: &StepCtx, what: &'static str, done: usize, total: usize) {
        self.emit(Event::Progress {
            id: ctx.id.clone(),
            name: ctx.name.clone(),
            what,
            done,
            total,
        });
    }

    async fn hands(&mut self, ctx: &mut StepCtx, who: &Selector, raise: bool) -> Done {
        let targets = self.resolve(ctx, who).await?;
        if let [target] = &targets[..] {
            let body = HandsBody {
                hands_state: raise.into(),
            };
            let request = Request::call(Api::Hands, &body).participant(&target.pid);
            self.call_for(ctx, request, target).await?;
        } else {
            let pids: Vec<String> = targets.iter().map(|t| t.pid.clone()).collect();
            self.batch_hands(ctx, &pids, raise).await?;
        }
        let verb = if raise {
            "raised the hand of"
        } else {
            "lowered the hand of"
        };
        Ok((
            targets_json(&targets),
            Some(format!("{verb} {}", names(&targets))),
        ))
    }

    /// Batch hand calls in chunks; a pid that left meanwhile is dropped, not an error.
    async fn batch_hands(
        &mut self,
        ctx: &mut StepCtx,
        pids: &[String],
        raise: bool,
    ) -> Result<(), StepFailure> {
        let total = pids.len();
        let mut done = 0;
        for batch in pids.chunks(BATCH) {
            let mut chunk: Vec<String> = batch.to_vec();
            loop {
                let body = BatchHandsBody {
                    hands_state: raise.into(),
                    pids: chunk.clone(),
                };
                let request = Request::call(Api::BatchHands, &body);
                match self.call(ctx, request).await {
                    Ok(_) => break,
                    Err(failure) if failure.participant_gone => {
                        // Someone in the chunk left: keep those still online and try again.
                        let online: HashSet<String> = self
                            .roster(ctx)
                            .await?
                            .participants
                            .into_iter()
                            .map(|p| p.pid)
                            .collect();
                        let before = chunk.len();
                        chunk.retain(|pid| online.contains(pid));
                        if chunk.is_empty() {
                            break;
                        }
                        if chunk.len() == before {
                            return Err(failure);
                        }
                    }
                    Err(failure) => return Err(failure),
                }
            }
            // Those who left count as handled: the whole batch is done.
            done += batch.len();
            self.progress(ctx, "hands", done, total);
        }
        Ok(())
    }

    async fn lower_all_hands(&mut self, ctx: &mut StepCtx) -> Done {
        let started = Instant::now();
        let roster = self.roster(ctx).await?;
        let mut raised: Vec<String> = roster
            .participants
            .iter()
            .filter(|p| p.hand)
            .map(|p| p.pid.clone())
            .collect();
        let first = raised.len();
        let mut rounds = 0;
        while !raised.is_empty() {
            if rounds == READ_BACK_ROUNDS {
                let roster = self.roster(ctx).await?;
                let still: Vec<&str> = roster
                    .participants
                    .iter()
                    .filter(|p| raised.contains(&p.pid))
                    .map(|p| p.name.as_str())
                    .collect();
                return Err(StepFailure::new(format!(
                    "hands still up after {READ_BACK_ROUNDS} rounds: {}",
                    still.join(", ")
                )));
            }
            rounds += 1;
            self.batch_hands(ctx, &raised, false).await?;
            // Read back: only those still online with a hand up are left to do.
            let roster = self.roster(ctx).await?;
            let lowered: HashSet<&String> = raised.iter().collect();
            raised = roster
                .participants
                .iter()
                .filter(|p| p.hand && lowered.contains(&p.pid))
                .map(|p| p.pid.clone())
                .collect();
        }
        let detail = match first {
            0 => "no hands up".to_owned(),
            n => format!(
                "lowered {n} hand{} in {}",
                if n == 1 { "" } else { "s" },
                waited(crate::report::varying(started.elapsed()))
            ),
        };
        Ok((json!({"lowered": first, "rounds": rounds}), Some(detail)))
    }

    async fn mute_all(&mut self, ctx: &mut StepCtx, allow_self_unmute: bool) -> Done {
        let body = MuteMeetingBody {
            is_mute: true.into(),
            allow_unmute_by_oneself: Some(allow_self_unmute.into()),
        };
        self.call(ctx, Request::call(Api::MuteMeeting, &body))
            .await?;
        let mut fixed = 0;
        for _ in 0..READ_BACK_ROUNDS {
            let roster = self.roster(ctx).await?;
            let open: Vec<Participant> = roster
                .participants
                .into_iter()
                .filter(|p| !p.mute && p.role != "host")
                .collect();
            if open.is_empty() {
                let detail = match fixed {
                    0 => "everyone but the host muted".to_owned(),
                    n => format!("everyone but the host muted ({n} muted again after read-back)"),
                };
                return Ok((json!({"muted_again": fixed}), Some(detail)));
            }
            for participant in &open {
                let request = Request::call(
                    Api::Mute,
                    &MuteBody {
                        is_mute: true.into(),
                    },
                )
                .participant(&participant.pid);
                match self.call(ctx, request).await {
                    Ok(_) => fixed += 1,
                    // They left meanwhile: nothing to mute.
                    Err(failure) if failure.participant_gone => {}
                    Err(failure) => return Err(failure),
                }
            }
        }
        Err(StepFailure::new(
            "some participants are still unmuted after read-back",
        ))
    }

    async fn hang_up(&mut self, ctx: &mut StepCtx, who: &Selector) -> Done {
        let targets = self.resolve(ctx, who).await?;
        let body = HangUpBody {
            bulk_hang_up_participants: targets.iter().map(|t| t.pid.clone()).collect(),
        };
        let request = Request::call(Api::HangUp, &body);
        match self.call(ctx, request).await {
            Err(failure) if failure.participant_gone => {
                let online = self
                    .roster(ctx)
                    .await
                    .map(|r| r.describe())
                    .unwrap_or_default();
                Err(StepFailure::new(format!(
                    "not everyone to hang up is online; {online}"
                )))
            }
            other => other.map(|_| ()),
        }?;
        Ok((
            targets_json(&targets),
            Some(format!("hung up {}", names(&targets))),
        ))
    }
}

impl Executor<'_> {
    async fn wait(&mut self, ctx: &StepCtx, wait: &Wait, pos: crate::yaml::Pos) -> Done {
        let now = self.timeline.clock.now();
        let (until, what) = match wait {
            Wait::For(duration) => (
                now.checked_add(duration.signed())
                    .unwrap_or(jiff::Timestamp::MAX),
                format!("waited {duration}"),
            ),
            Wait::Until(cue) => {
                let at = cue
                    .resolve(self.timeline.start, &self.timeline.zone)
                    .map_err(|e| StepFailure::new(format!("{}: {e}", self.position(pos))))?;
                if at <= now {
                    return Ok((json!({}), Some(format!("{cue} had already passed"))));
                }
                (at, format!("waited until {}", self.timeline.show(at)))
            }
        };
        self.emit(Event::Waiting {
            id: ctx.id.clone(),
            name: ctx.name.clone(),
            until: self.timeline.show(until),
            left: crate::report::varying(until.duration_since(now).unsigned_abs()),
        });
        self.sleep_until(until).await;
        Ok((json!({}), Some(what)))
    }

    async fn wait_for(&mut self, ctx: &mut StepCtx, wait: &WaitFor, pos: crate::yaml::Pos) -> Done {
        wait.validate()
            .map_err(|e| StepFailure::new(format!("{}: wait_for: {e}", self.position(pos))))?;
        let clock = std::sync::Arc::clone(&self.timeline.clock);
        let started = clock.now();
        let deadline = started
            .checked_add(wait.timeout.signed())
            .unwrap_or(jiff::Timestamp::MAX);
        let mut announced = false;
        loop {
            let roster = self.roster(ctx).await?;
            if self.satisfied(wait, &roster, pos)? {
                let waited = crate::duration::human(crate::report::varying(
                    clock.now().duration_since(started).unsigned_abs(),
                ));
                return Ok((
                    roster.as_json(),
                    Some(format!("{} after {waited}", wait.describe())),
                ));
            }
            let now = clock.now();
            if now >= deadline {
                return Err(StepFailure::new(format!(
                    "waited {} for {}; {} ({} online)",
                    wait.timeout,
                    wait.describe(),
                    roster.describe(),
                    roster.participants.len()
                )));
            }
            if !announced {
                announced = true;
                self.emit(Event::Waiting {
                    id: ctx.id.clone(),
                    name: ctx.name.clone(),
                    until: format!(
                        "{} (at the latest {})",
                        wait.describe(),
                        self.timeline.show(deadline)
                    ),
                    left: crate::report::varying(deadline.duration_since(now).unsigned_abs()),
                });
            }
            let next = now
                .checked_add(wait.poll.signed())
                .unwrap_or(deadline)
                .min(deadline);
            self.sleep_until(next).await;
        }
    }

    fn satisfied(
        &self,
        wait: &WaitFor,
        roster: &Roster,
        pos: crate::yaml::Pos,
    ) -> Result<bool, StepFailure> {
        if let Some(who) = &wait.joined {
            return Ok(!who.select(roster).is_empty());
        }
        if let Some(count) = wait.count {
            return Ok(count.holds(roster.participants.len()));
        }
        if let Some(hand) = &wait.hand_raised {
            return Ok(match hand {
                HandRaised::Anyone => roster.participants.iter().any(|p| p.hand),
                HandRaised::Who(who) => who.select(roster).iter().any(|p| p.hand),
            });
        }
        let condition = wait.condition.as_deref().unwrap_or("false");
        let mut vars = self.vars.clone();
        vars.set("participants", roster.as_json());
        let value = self
            .engine
            .eval(condition, pos, &vars)
            .map_err(|e| self.template_failure(e))?;
        Ok(value.is_true())
    }
}

/// One retry about to happen.
pub(super) struct RetryNote {
    attempt: u32,
    attempts: u32,
    delay: std::time::Duration,
    reason: String,
}

/// One API call, retried on transient failures as `spec` says, waiting on the run's
/// clock (so a rehearsal on virtual time does not wait); `on_retry` hears of each
/// retry before its wait. A `Retry-After` that outlasts the step's `deadline` fails
/// the call at once rather than run the step out of time.
async fn send_with_retry(
    client: &crate::mmc::Client,
    request: &Request,
    spec: &crate::playbook::RetrySpec,
    clock: &crate::clock::SharedClock,
    deadline: Option<tokio::time::Instant>,
    mut on_retry: impl FnMut(RetryNote),
) -> Result<Response, StepFailure> {
    let mut backoff = Backoff::new(spec);
    let mut attempt = 1;
    loop {
        match client.send(request).await {
            Ok(response) => return Ok(response),
            Err(failure) if failure.retryable() => match backoff.next(failure.retry_after()) {
                Some(delay)
                    if failure.retry_after().is_some()
                        && !clock.is_virtual()
                        && deadline.is_some_and(|d| tokio::time::Instant::now() + delay > d) =>
                {
                    let mut step = api_failure(client, failure, attempt);
                    step.message = format!(
                        "{}: throttled, retry after {} s, beyond the step's time limit",
                        step.message,
                        delay.as_secs_f64().ceil()
                    );
                    return Err(step);
                }
                Some(delay) => {
                    attempt += 1;
                    on_retry(RetryNote {
                        attempt,
                        attempts: backoff.attempts,
                        delay,
                        reason: failure.brief(),
                    });
                    let until = clock
                        .now()
                        .checked_add(delay)
                        .unwrap_or(jiff::Timestamp::MAX);
                    clock.sleep_until(until).await;
                }
                None => return Err(api_failure(client, failure, attempt)),
            },
            Err(failure) => return Err(api_failure(client, failure, attempt)),
        }
    }
}

/// A call's final failure. Until the API has given (or accepted) a token, whatever
/// went wrong (refused, unreachable, no answer, not JSON) means it cannot be used:
/// exit 3. After that a failure is the step's own: exit 1.
fn api_failure(client: &crate::mmc::Client, failure: Failure, attempts: u32) -> StepFailure {
    let tries = if attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    };
    StepFailure {
        message: format!("{failure}{tries}"),
        exit: if client.connected() {
            ExitCode::Failed
        } else {
            ExitCode::Unreachable
        },
        participant_gone: failure.is_participant_not_found(),
    }
}

/// The invite call's type of what the playbook says is called.
fn attendee_type(kind: DeviceType) -> AttendeeType {
    match kind {
        DeviceType::Normal => AttendeeType::Normal,
        DeviceType::Terminal => AttendeeType::Terminal,
        DeviceType::Outside => AttendeeType::Outside,
        DeviceType::Mobile => AttendeeType::Mobile,
        DeviceType::Ideahub => AttendeeType::Ideahub,
        DeviceType::Board => AttendeeType::Board,
    }
}

fn names(targets: &[Participant]) -> String {
    match targets {
        [] => "nobody".into(),
        [one] => one.name.clone(),
        many if many.len() <= 3 => many
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        many => format!("{} participants", many.len()),
    }
}

fn targets_json(targets: &[Participant]) -> Value {
    Value::Array(
        targets
            .iter()
            .map(|t| json!({"pid": t.pid, "name": t.name}))
            .collect(),
    )
}

impl LogLevel {
    pub fn label(self) -> &'static str {
        match self {
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
        }
    }
}
