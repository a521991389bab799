//! Standard output for every command. A ground module: the commands and the command
//! line both write through it, so neither has to reach into the other to print.

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
