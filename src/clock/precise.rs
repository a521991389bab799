//! The last stretch of a real-time wait on a kernel timer (Linux's `timerfd`), which
//! wakes the runtime within tens of microseconds of its instant, where tokio's own
//! timer fires on the millisecond tick after it. The wait then needs to watch the
//! clock only for a fraction of a millisecond instead of for the whole last
//! milliseconds, which costs CPU and, on a busy machine, invites the scheduler to
//! preempt the process just before its cue.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// A one-shot timer on the monotonic clock (the one [`std::time::Instant`] reads).
pub(super) struct Timer(AsyncFd<OwnedFd>);

impl Timer {
    /// A timer that expires `after` from now. Fails where the kernel refuses a timer
    /// (the caller then watches the clock instead). Needs a runtime with I/O enabled,
    /// as every runtime of the crate is.
    pub(super) fn after(after: Duration) -> io::Result<Timer> {
        // SAFETY: timerfd_create takes no pointers; a non-negative result is a new file
        // descriptor that nothing else owns, so OwnedFd may close it.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: see above: `fd` is open and owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            // At least a nanosecond: an all-zero value would disarm the timer.
            #[allow(clippy::unnecessary_fallible_conversions)] // `c_long` is 32 bits on some targets
            it_value: libc::timespec {
                tv_sec: libc::time_t::try_from(after.as_secs()).unwrap_or(libc::time_t::MAX),
                tv_nsec: libc::c_long::try_from(after.subsec_nanos().max(1)).unwrap_or(1),
            },
        };
        // SAFETY: `spec` is a valid itimerspec that outlives the call; the old value
        // is not asked for (null).
        let set = unsafe { libc::timerfd_settime(fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if set < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the OwnedFd moves into the AsyncFd, which keeps it open (and the same
        // descriptor) until it is dropped.
        let registered = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) };
        Ok(Timer(registered?))
    }

    /// Until the timer has expired.
    pub(super) async fn expired(&self) -> io::Result<()> {
        loop {
            let mut guard = self.0.readable().await?;
            let read = guard.try_io(|fd| {
                let mut count = [0u8; 8];
                // SAFETY: `count` is 8 writable bytes, the size a timerfd read needs.
                let n =
                    unsafe { libc::read(fd.as_raw_fd(), count.as_mut_ptr().cast(), count.len()) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(())
                }
            });
            match read {
                Ok(result) => return result,
                // Readable was stale (WouldBlock): wait for the next readiness.
                Err(_would_block) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_timer_expires_at_its_time_not_before() {
        for micros in [1, 300, 2_500] {
            let after = Duration::from_micros(micros);
            let started = std::time::Instant::now();
            Timer::after(after).unwrap().expired().await.unwrap();
            let took = started.elapsed();
            assert!(took >= after, "{micros} µs: {took:?}");
            // Far finer than tokio's millisecond ticks, with room for a busy machine.
            assert!(
                took < after + Duration::from_millis(50),
                "{micros} µs: {took:?}"
            );
        }
    }
}
