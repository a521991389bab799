//! The console's terminal loop: raw mode and the alternate screen (given back on quit,
//! on error and on panic), and one `select!` over the terminal's events, the run's
//! messages and a one-second tick for the countdowns. It draws only when something
//! changed or a second passed, so that an idle console costs next to nothing.

use std::io::Stdout;
use std::path::Path;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use crossterm::{cursor, execute, terminal};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc;

use super::DisplayMute;
use super::keys::{self, Action};
use super::ui::{Status, Ui};
use super::view;
use crate::control::client::{Connection, Receiver, Sender};
use crate::control::protocol::{ClientMessage, ServerMessage, ShowState, Via};
use crate::error::Error;

/// How long the outcome stays up once the run is over, if no key is pressed.
const OUTCOME_FOR: Duration = Duration::from_secs(5);

/// How the console ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Left {
    /// The operator pressed `q`: the run goes on without this console.
    Detached,
    /// The run is over (its outcome, as its last state said it).
    RunOver(String),
}

/// Whether `NO_COLOR` asks for no colours (set and not empty).
pub(crate) fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty())
}

/// Runs a console on this process's terminal against the run listening at `socket`,
/// until the operator quits or the run is over. While it runs, `mute` (the plain
/// display of a run in this same process) is silent.
pub(crate) async fn attach(socket: &Path, mute: Option<DisplayMute>) -> Result<Left, Error> {
    // Dropped last, whichever way this returns: the screen is given back before the
    // plain lines resume.
    let _muted = mute.map(Muted::new);
    let (connection, run) = Connection::open(socket).await?;
    let (mut sender, receiver) = connection.split();
    sender.send(&ClientMessage::Subscribe).await?;
    let messages = forward(receiver);
    let mut screen = Screen::enter()?;
    let state = ShowState {
        run: Some(run),
        ..ShowState::default()
    };
    let left = Console::new(state, no_color())
        .run(&mut screen, &mut sender, messages)
        .await;
    drop(screen);
    left
}

/// The run's messages, read in a task of their own: a line half read when the
/// `select!` picks another branch must not be lost.
fn forward(mut receiver: Receiver) -> mpsc::Receiver<Result<ServerMessage, Error>> {
    let (tell, heard) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let message = match receiver.recv().await {
                Ok(Some(message)) => Ok(message),
                Ok(None) => break,
                Err(error) => Err(error),
            };
            let failed = message.is_err();
            if tell.send(message).await.is_err() || failed {
                break;
            }
        }
    });
    heard
}

/// The plain display kept silent while the console is up, and let speak again after,
/// whichever way the console leaves.
struct Muted(DisplayMute);

impl Muted {
    fn new(mute: DisplayMute) -> Muted {
        mute.set(true);
        Muted(mute)
    }
}

impl Drop for Muted {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

/// Whether this process's terminal is in the console's modes, for the panic hook.
static ON_SCREEN: AtomicBool = AtomicBool::new(false);

/// The terminal in raw mode on the alternate screen; given back when dropped.
struct Screen {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl Screen {
    fn enter() -> Result<Screen, Error> {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                // The message must land on the normal screen, in cooked mode.
                if ON_SCREEN.swap(false, Ordering::SeqCst) {
                    restore();
                }
                previous(info);
            }));
        });
        let failed = |e: std::io::Error| Error::io("cannot set up the terminal", e);
        terminal::enable_raw_mode().map_err(failed)?;
        ON_SCREEN.store(true, Ordering::SeqCst);
        let screen = execute!(
            std::io::stdout(),
            terminal::EnterAlternateScreen,
            cursor::Hide
        )
        .map_err(failed)
        .and_then(|()| Terminal::new(CrosstermBackend::new(std::io::stdout())).map_err(failed));
        match screen {
            Ok(terminal) => {
                // Log lines would be written over the console: kept until it leaves.
                crate::output::hold_stderr();
                Ok(Screen { terminal })
            }
            Err(error) => {
                if ON_SCREEN.swap(false, Ordering::SeqCst) {
                    restore();
                }
                Err(error)
            }
        }
    }

    fn draw(&mut self, state: &ShowState, ui: &Ui) -> Result<(), Error> {
        self.terminal
            .draw(|frame| view::draw(frame, state, ui))
            .map(drop)
            .map_err(|e| Error::io("cannot draw the console", e))
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        if ON_SCREEN.swap(false, Ordering::SeqCst) {
            restore();
        }
    }
}

/// The terminal as it was: cooked mode, the normal screen, the cursor shown, and the
/// log lines held back while the console was up written.
fn restore() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        terminal::LeaveAlternateScreen,
        cursor::Show
    );
    crate::output::release_stderr();
}

/// The console's state between draws.
struct Console {
    state: ShowState,
    ui: Ui,
    /// When the shown state arrived: countdowns go on from it.
    state_at: Instant,
}

impl Console {
    fn new(state: ShowState, no_color: bool) -> Console {
        Console {
            state,
            ui: Ui::new(!no_color),
            state_at: Instant::now(),
        }
    }

    fn draw(&mut self, screen: &mut Screen) -> Result<(), Error> {
        self.ui.since_state = self.state_at.elapsed();
        if let Ok(size) = screen.terminal.size() {
            self.ui.too_small =
                size.width < super::ui::MIN_WIDTH || size.height < super::ui::MIN_HEIGHT;
        }
        screen.draw(&self.state, &self.ui)
    }

    async fn run(
        mut self,
        screen: &mut Screen,
        sender: &mut Sender,
        mut messages: mpsc::Receiver<Result<ServerMessage, Error>>,
    ) -> Result<Left, Error> {
        let mut events = EventStream::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        self.draw(screen)?;
        loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(Ok(TermEvent::Key(key))) => {
                        if key.kind != KeyEventKind::Press {
                            continue;
                        }
                        if let Some(left) = self.key(key, sender).await {
                            return Ok(left);
                        }
                    }
                    // Drawn again at the new size: the draw notices it and clears
                    // the screen itself (asking the terminal nothing, unlike a clear).
                    Some(Ok(TermEvent::Resize(..))) => {}
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(Error::io("cannot read the terminal", e)),
                    None => return Ok(Left::Detached),
                },
                message = messages.recv() => match message {
                    Some(Ok(ServerMessage::State(state))) => {
                        self.state = *state;
                        self.state_at = Instant::now();
                    }
                    Some(Ok(ServerMessage::Reply(reply))) => {
                        self.ui.status = Some(Status { ok: reply.ok, message: reply.message });
                    }
                    Some(Ok(ServerMessage::Hello { .. })) => continue,
                    Some(Err(error)) => {
                        self.ui.status = Some(Status { ok: false, message: error.to_string() });
                        return self.over(screen, &mut events).await;
                    }
                    None => return self.over(screen, &mut events).await,
                },
                _ = tick.tick() => {}
            }
            self.draw(screen)?;
        }
    }

    /// Acts on a key; what ends the console.
    async fn key(&mut self, key: crossterm::event::KeyEvent, sender: &mut Sender) -> Option<Left> {
        let action = keys::action(key, &self.ui, &self.state);
        self.ui.confirm_abort = false;
        match action {
            Action::Send(command) => {
                let message = ClientMessage::Command {
                    command,
                    via: Via::Console,
                };
                if let Err(error) = sender.send(&message).await {
                    self.ui.status = Some(Status {
                        ok: false,
                        message: error.to_string(),
                    });
                }
            }
            Action::AskAbort => self.ui.confirm_abort = true,
            Action::KeepGoing => {
                self.ui.status = Some(Status {
                    ok: true,
                    message: "not aborted: the show goes on".into(),
                });
            }
            Action::Select(by) => self.ui.select(&self.state, by),
            Action::Help => self.ui.help = !self.ui.help,
            Action::Say(message) => self.ui.status = Some(Status { ok: false, message }),
            Action::Quit => return Some(Left::Detached),
            Action::Nothing => {}
        }
        None
    }

    /// The run closed the connection: its outcome stays up until a key, or a few
    /// seconds.
    async fn over(mut self, screen: &mut Screen, events: &mut EventStream) -> Result<Left, Error> {
        let outcome = self
            .state
            .finished
            .clone()
            .unwrap_or_else(|| "the run closed the connection".into());
        self.ui.confirm_abort = false;
        self.ui.help = false;
        self.ui.ended = Some(outcome.clone());
        self.draw(screen)?;
        let deadline = tokio::time::sleep(OUTCOME_FOR);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                () = &mut deadline => break,
                event = events.next() => match event {
                    Some(Ok(TermEvent::Key(key))) if key.kind == KeyEventKind::Press => break,
                    Some(Ok(_)) => self.draw(screen)?,
                    Some(Err(_)) | None => break,
                },
            }
        }
        Ok(Left::RunOver(outcome))
    }
}
