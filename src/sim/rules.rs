//! The service's rules on what the host's token may do to hands (`docs/api.md#rules`):
//! the host's own hand is never raised, and under the strict hand rule the single
//! `Hand` call raises nobody else's either. Lowering is always allowed.

use super::api_error::ApiError;
use super::meeting::Meeting;
use crate::meeting::HandRule;

impl Meeting {
    /// `Hand` called with the host's token.
    pub(super) fn host_sets_hand(&mut self, pid: &str, raised: bool) -> Result<(), ApiError> {
        self.online(pid)?;
        self.check_raise([pid], raised, true)?;
        self.set_hand(pid, raised)
    }

    /// Refuses raising the host's hand, and — for the single call (`one`) under the
    /// strict rule — anyone else's. Checked before anything changes, so a refused
    /// batch changes nothing.
    pub(super) fn check_raise<'a>(
        &self,
        pids: impl IntoIterator<Item = &'a str>,
        raised: bool,
        one: bool,
    ) -> Result<(), ApiError> {
        if !raised {
            return Ok(());
        }
        let mut others = false;
        for pid in pids {
            if self.host.as_deref() == Some(pid) {
                return Err(ApiError::chair_forbidden_hand());
            }
            others = true;
        }
        if one && others && self.rules.hands == HandRule::Strict {
            return Err(ApiError::no_permission_operate_others());
        }
        Ok(())
    }
}
