//! A playbook's selectors against a live meeting's lineup, before the show: whether
//! each picks out the one person it should, among who is online and, failing that,
//! among who is invited. The answer is a warning or nothing; matching itself is the
//! selector language's ([`Selector::select`]), so that the look and the run agree.

use super::Lineup;
use crate::meeting::{Participant, Roster};
use crate::playbook::Selector;

/// What is worth a warning about `selector` in `lineup`: nobody matched (online or
/// invited), several matched where one is wanted, or the one matched is not in the
/// meeting yet (ringing, joining, or only invited). `None` when it is fine.
pub(crate) fn warning(selector: &Selector, lineup: &Lineup) -> Option<String> {
    let online = selector.select(&lineup.roster);
    match online.as_slice() {
        [_] => None,
        [] => arriving(selector, lineup),
        _ if selector.all() => None,
        several => Some(format!(
            "`{selector}` matches {} people online: {}; add id, phone or role to pick one, or `all: true` for every one",
            several.len(),
            list(several)
        )),
    }
}

/// A selector that matches nobody in the meeting, against those on the way.
fn arriving(selector: &Selector, lineup: &Lineup) -> Option<String> {
    let arriving = Roster {
        participants: lineup.arriving.clone(),
        arriving: Vec::new(),
    };
    let found = selector.select(&arriving);
    match found.as_slice() {
        [] => invited(selector, lineup),
        [one] => Some(format!(
            "`{selector}` is {} {}, not in the meeting yet",
            describe(one),
            state_word(one.state)
        )),
        several => Some(format!(
            "`{selector}` matches {} people, none in the meeting yet: {}",
            several.len(),
            list(several)
        )),
    }
}

/// A selector that matches nobody online, against the invitees who are not online.
/// Invitees carry no id and no role, so only names and phones are looked for.
fn invited(selector: &Selector, lineup: &Lineup) -> Option<String> {
    let nobody = || {
        Some(format!(
            "`{selector}` matches nobody in the meeting or among its invitees; {}",
            shortened(selector.nobody(&lineup.roster), &lineup.roster)
        ))
    };
    if let Selector::Match(m) = selector
        && (m.id.is_some() || m.role.is_some())
    {
        return nobody();
    }
    let absent = Roster {
        participants: lineup
            .invited
            .iter()
            .filter(|i| !lineup.is_online(i))
            .map(|i| Participant {
                phone: i.phone.clone(),
                ..Participant::by_id(&i.name)
            })
            .collect(),
        arriving: Vec::new(),
    };
    match selector.select(&absent).as_slice() {
        [] => nobody(),
        [one] => Some(format!(
            "`{selector}` is {}, invited but not in the meeting now",
            invitee(one)
        )),
        several => {
            let names: Vec<String> = several.iter().map(|p| invitee(p)).collect();
            let pick = if selector.all() {
                ""
            } else {
                "; add phone to pick one"
            };
            Some(format!(
                "`{selector}` matches {} invitees, none in the meeting now: {}{pick}",
                several.len(),
                names.join(", ")
            ))
        }
    }
}

/// Most people a warning lists by name: in a big meeting the list would drown the
/// warning.
const MAX_LISTED: usize = 20;

/// Why nobody matched, with the list of who is online cut to a count in a big meeting.
fn shortened(why: String, roster: &Roster) -> String {
    let online = roster.describe();
    match why.strip_suffix(online.as_str()) {
        Some(head) if roster.participants.len() > MAX_LISTED => {
            format!("{head}{} people are online", roster.participants.len())
        }
        _ => why,
    }
}

/// `Bob Li (guest, +8613800000002)`: enough to tell two people of one name apart.
fn describe(p: &Participant) -> String {
    if p.phone.is_empty() {
        format!("{} ({})", p.name, p.role)
    } else {
        format!("{} ({}, {})", p.name, p.role, p.phone)
    }
}

fn invitee(p: &Participant) -> String {
    if p.phone.is_empty() {
        p.name.clone()
    } else {
        format!("{} ({})", p.name, p.phone)
    }
}

fn list(people: &[&Participant]) -> String {
    people
        .iter()
        .map(|p| describe(p))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What `realTimeInfo`'s `state` says of someone listed who is not in the meeting.
fn state_word(state: u8) -> &'static str {
    match state {
        0 => "in the meeting",
        1 => "ringing",
        2 => "joining",
        _ => "in an unknown state",
    }
}

#[cfg(test)]
mod tests {
    use super::super::Invitee;
    use super::*;
    use crate::playbook::{RoleMatch, SelectorMatch};

    fn person(name: &str, phone: &str, role: &'static str, state: u8) -> Participant {
        Participant {
            phone: phone.into(),
            role,
            state,
            ..Participant::by_id(name)
        }
    }

    fn lineup() -> Lineup {
        Lineup {
            roster: Roster {
                participants: vec![
                    person("Alice Zhang", "+1", "host", 0),
                    person("Bob Li", "+2", "guest", 0),
                    person("Bob Li", "+3", "cohost", 0),
                ],
                arriving: Vec::new(),
            },
            arriving: vec![
                person("Frank Wu", "+6", "guest", 1),
                person("Gina Ho", "+7", "guest", 2),
                person("Gina Ho", "+9", "guest", 1),
            ],
            invited: vec![
                Invitee {
                    name: "Alice Zhang".into(),
                    phone: "+1".into(),
                },
                Invitee {
                    name: "Heidi Sun".into(),
                    phone: "+8".into(),
                },
            ],
        }
    }

    fn name(text: &str) -> Selector {
        Selector::Name(text.into())
    }

    #[test]
    fn one_person_in_the_meeting_is_fine() {
        assert_eq!(warning(&name("alice  zhang"), &lineup()), None);
        let host = Selector::Match(SelectorMatch {
            role: Some(RoleMatch::Host),
            ..Default::default()
        });
        assert_eq!(warning(&host, &lineup()), None);
    }

    #[test]
    fn several_people_need_picking_out_unless_all_are_meant() {
        let text = warning(&name("Bob Li"), &lineup()).unwrap();
        assert_eq!(
            text,
            "`Bob Li` matches 2 people online: Bob Li (guest, +2), Bob Li (cohost, +3); add id, phone or role to pick one, or `all: true` for every one"
        );
        let all = Selector::Match(SelectorMatch {
            name: Some("Bob Li".into()),
            all: true,
            ..Default::default()
        });
        assert_eq!(warning(&all, &lineup()), None);
        let one = Selector::Match(SelectorMatch {
            name: Some("Bob Li".into()),
            role: Some(RoleMatch::Cohost),
            ..Default::default()
        });
        assert_eq!(warning(&one, &lineup()), None);
    }

    #[test]
    fn ringing_and_invited_people_are_not_there_yet() {
        assert_eq!(
            warning(&name("Frank Wu"), &lineup()).unwrap(),
            "`Frank Wu` is Frank Wu (guest, +6) ringing, not in the meeting yet"
        );
        assert_eq!(
            warning(&name("Gina Ho"), &lineup()).unwrap(),
            "`Gina Ho` matches 2 people, none in the meeting yet: Gina Ho (guest, +7), Gina Ho (guest, +9)"
        );
        assert_eq!(
            warning(&name("heidi sun"), &lineup()).unwrap(),
            "`heidi sun` is Heidi Sun (+8), invited but not in the meeting now"
        );
    }

    #[test]
    fn nobody_says_who_is_closest() {
        let text = warning(&name("Alice Zang"), &lineup()).unwrap();
        assert!(
            text.starts_with("`Alice Zang` matches nobody in the meeting or among its invitees; closest: Alice Zhang"),
            "{text}"
        );
        // An id is only ever online: invitees have none.
        let id = Selector::Match(SelectorMatch {
            id: Some("Heidi Sun".into()),
            ..Default::default()
        });
        assert!(warning(&id, &lineup()).unwrap().contains("matches nobody"));
    }

    #[test]
    fn a_big_meeting_is_counted_not_listed() {
        let mut big = lineup();
        for n in 0..MAX_LISTED {
            big.roster
                .participants
                .push(person(&format!("Guest {n}"), "", "guest", 0));
        }
        let text = warning(&name("Alice Zang"), &big).unwrap();
        assert!(
            text.ends_with("closest: Alice Zhang; 23 people are online"),
            "{text}"
        );
        assert!(!text.contains("Guest 3"), "{text}");
    }
}
