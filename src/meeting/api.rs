//! Every call of the meeting-control API, once: its method and its path. The client
//! builds its requests from [`Api`], the emulator routes by it, and the action
//! catalogue names its calls with it, so the three cannot drift apart.

use std::fmt;

/// The HTTP method of a call, without tying this module to an HTTP library: the
/// client and the emulator each turn it into their own type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Put,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The paths of the meeting-control calls: the one place their common prefix is
/// written. `control!("/lock")` is a `&'static str` made at compile time.
macro_rules! control {
    ($tail:literal) => {
        concat!("/v1/mmc/control/conferences", $tail)
    };
}

/// What every meeting-control path starts with.
pub(crate) const CONTROL_PREFIX: &str = control!("");

/// A method's name as a literal, for `concat!`.
macro_rules! verb {
    (Get) => {
        "GET"
    };
    (Put) => {
        "PUT"
    };
    (Post) => {
        "POST"
    };
}

/// Declares [`Api`] from one line per call, so a call's method and path are written
/// together and every table below is generated from the same line.
macro_rules! calls {
    ($($(#[$doc:meta])* $name:ident = $method:ident ($($path:tt)+);)+) => {
        /// One call of the API.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Api {
            $($(#[$doc])* $name,)+
        }

        impl Api {
            /// Every call, in the order of the reference.
            pub const ALL: &'static [Api] = &[$(Api::$name,)+];

            pub fn method(self) -> Method {
                match self {
                    $(Api::$name => Method::$method,)+
                }
            }

            /// The path after the endpoint.
            pub fn path(self) -> &'static str {
                match self {
                    $(Api::$name => concat!($($path)+),)+
                }
            }

            /// `PUT /v1/mmc/control/conferences/lock`: how messages and the action
            /// reference name the call.
            pub fn describe(self) -> &'static str {
                match self {
                    $(Api::$name => concat!(verb!($method), " ", $($path)+),)+
                }
            }
        }
    };
}

calls! {
    /// Obtains or keeps alive the control token (`X-Password` or the token itself).
    Token = Get (control!("/token"));
    WsToken = Get (control!("/wsToken"));
    /// The online list and the meeting's roles: [`RealTimeInfo`](super::wire::RealTimeInfo).
    RealTimeInfo = Get (control!("/realTimeInfo"));
    Broadcast = Put (control!("/participants/broadcast"));
    CancelBroadcast = Put (control!("/cancelBroadcast"));
    RollCall = Put (control!("/participants/rollCall"));
    Hands = Put (control!("/participants/hands"));
    BatchHands = Put (control!("/participants/batch/hands"));
    Mute = Put (control!("/participants/mute"));
    MuteMeeting = Put (control!("/mute"));
    GuestUnmute = Put (control!("/mute/guestUnMute"));
    Role = Put (control!("/participants/role"));
    Cohost = Put (control!("/participants/cohost"));
    Lock = Put (control!("/lock"));
    Record = Put (control!("/record"));
    Live = Put (control!("/live"));
    HangUp = Post (control!("/participants/delete"));
    Invite = Post (control!("/participants"));
    Rename = Put (control!("/participants/name"));
    Duration = Put (control!("/duration"));
    Stop = Put (control!("/stop"));
    /// Lets one person (`participantID`, known from the feed) or everyone waiting in.
    AllowWaiting = Put (control!("/allowWaitingParticipant"));
    /// Moves one online participant into the waiting room.
    MoveToWaitingRoom = Put (control!("/moveToWaitingRoom"));
    /// Moves several online participants into the waiting room in one call.
    BatchMoveToWaitingRoom = Put (control!("/batchMoveToWaitingRoom"));
    /// The account login, outside meeting control.
    AccountLogin = Post ("/v1/usg/acs/auth/account");
    /// Starts (activates) a meeting, with the account login's `X-Access-Token`.
    StartMeeting = Post ("/v1/mmc/management/conferences/start");
}

impl Api {
    /// The call with this method and path, if it is one of the contract's.
    pub fn find(method: &str, path: &str) -> Option<Api> {
        Api::ALL
            .iter()
            .copied()
            .find(|api| api.method().as_str() == method && api.path() == path)
    }

    /// Whether this is a meeting-control call (under the control prefix).
    pub fn is_control(self) -> bool {
        self.path()
            .starts_with(Api::Token.path().trim_end_matches("/token"))
    }
}

/// The push feed's WebSocket path, appended to the token answer's `wsURL`, with its
/// query parameters `confID` (the conference id) and `tmpToken` (a one-shot token).
pub(crate) const FEED_PATH: &str = "/cms/open/websocket/confctl/increment/conn";

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_has_its_own_method_and_path() {
        for (index, api) in Api::ALL.iter().enumerate() {
            assert_eq!(api.describe(), format!("{} {}", api.method(), api.path()));
            assert_eq!(Api::find(api.method().as_str(), api.path()), Some(*api));
            assert!(
                Api::ALL[..index]
                    .iter()
                    .all(|other| other.path() != api.path()),
                "{api}: one path, one call"
            );
        }
        assert!(Api::Lock.is_control());
        assert!(!Api::AccountLogin.is_control());
        assert!(!Api::StartMeeting.is_control());
    }
}
