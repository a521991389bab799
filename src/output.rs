//! Standard output for every command, and the log lines held back from standard error
//! while a full-screen console owns the terminal. A ground module: the commands and
//! the command line both write through it, so neither has to reach into the other.

use std::collections::VecDeque;

use crate::error::Error;

/// Writes to stdout; a reader that went away (`emcee actions | head -1`) is not an error.
pub(crate) fn print_out(text: &str) -> Result<(), Error> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io("cannot write to standard output", e))
        }
        _ => Ok(()),
    }
}

/// Log lines kept at most while held back; older ones are dropped, and counted.
const HELD_LINES: usize = 200;

/// Log lines held back, and how many were dropped; `None` when not holding back.
type Held = Option<(VecDeque<String>, usize)>;
static HELD: std::sync::Mutex<Held> = std::sync::Mutex::new(None);

fn held() -> std::sync::MutexGuard<'static, Held> {
    HELD.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// From now on log lines are kept rather than written: a console draws on the screen.
pub(crate) fn hold_stderr() {
    held().get_or_insert_with(|| (VecDeque::new(), 0));
}

/// Writes the log lines held back, and writes the next ones as they come.
pub(crate) fn release_stderr() {
    use std::io::Write;
    let Some((lines, dropped)) = held().take() else {
        return;
    };
    let mut stderr = std::io::stderr().lock();
    if dropped > 0 {
        let _ = writeln!(
            stderr,
            "({dropped} earlier log lines were dropped while the console was up)"
        );
    }
    for line in lines {
        let _ = stderr.write_all(line.as_bytes());
    }
}

/// Keeps `line` if log lines are held back (true), else leaves it to be written.
pub(crate) fn held_back(line: &str) -> bool {
    let mut held = held();
    let Some((lines, dropped)) = held.as_mut() else {
        return false;
    };
    if lines.len() == HELD_LINES {
        lines.pop_front();
        *dropped += 1;
    }
    lines.push_back(line.to_owned());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_are_held_back_bounded_and_then_let_through() {
        assert!(!held_back("before\n"));
        hold_stderr();
        for n in 0..HELD_LINES + 3 {
            assert!(held_back(&format!("line {n}\n")));
        }
        {
            let held = held();
            let (lines, dropped) = held.as_ref().unwrap();
            assert_eq!(lines.len(), HELD_LINES);
            assert_eq!(*dropped, 3);
            assert_eq!(lines[0], "line 3\n");
        }
        release_stderr();
        assert!(!held_back("after\n"));
    }
}
