//! lxc-rs consoles. Today: the console ring buffer that backs `console_log`, and the size
//! rules of `lxc.console.buffer.size` / `lxc.console.size`. The pty allocation, console attach
//! and the monitor-side draining join it with the core's reactor seam (issue 9).

pub mod attach;
pub mod error;
pub mod io;
pub mod keys;
pub mod ring;
pub mod size;
pub mod sys;
pub mod tty;

pub use attach::ConsoleExt;
pub use error::{Error, Result};
pub use io::{ConsoleRing, LogFile};
pub use ring::{Empty, LogRequest, RingBuffer};
pub use tty::{Terminals, Tty};
