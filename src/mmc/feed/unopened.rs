//! Why the meeting's feed could not be opened, and whether trying again can help: a
//! meeting the API says is over never opens again.

/// Why the feed could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unopened {
    pub why: String,
    /// The API said the meeting is over: trying again cannot open it.
    pub meeting_ended: bool,
}

impl Unopened {
    /// A call on the way was refused; the feed is opened only for a meeting the run
    /// already had a token for, so a "not started" answer means it has ended.
    pub(super) fn refused(failure: crate::mmc::Failure) -> Unopened {
        Unopened {
            meeting_ended: failure.ends_meeting(true),
            why: failure.to_string(),
        }
    }
}

impl From<String> for Unopened {
    fn from(why: String) -> Unopened {
        Unopened {
            why,
            meeting_ended: false,
        }
    }
}

impl std::fmt::Display for Unopened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.why)
    }
}
