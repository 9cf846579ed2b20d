//! The small init of an application container (`execute`): pid 1 forks the command, forwards
//! the signals a supervisor sends to it, reaps every zombie, and exits with the command's
//! status (128 + N for a signal death).

use std::ffi::CString;
use std::os::unix::fs::OpenOptionsExt;

use super::sync::Channel;
use crate::sys;

/// Signals pid 1 passes on to the command.
const FORWARD: [i32; 9] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGPWR,
    libc::SIGWINCH,
    libc::SIGCONT,
];

/// Start `cmd` and supervise it; returns only on a failure to start it.
pub fn run(
    chan: &Channel,
    cmd: &str,
    argv: &[CString],
    env: &[CString],
) -> Result<super::child::Never, String> {
    // LXC 5.0's execute init shows as `init` in `ps`, not as the host's command line (which
    // would show the host's paths and arguments inside the container).
    if let Err(e) = crate::monitor::set_process_title("init") {
        tracing::debug!(error = %e, "cannot set init's process title");
    }
    let mut sigs = FORWARD.to_vec();
    sigs.push(libc::SIGCHLD);
    let old_mask = sys::block_signals(&sigs).map_err(|e| format!("block signals: {e}"))?;
    let app = sys::spawn(cmd, argv, env, &old_mask).map_err(|e| format!("exec {cmd}: {e}"))?;
    // As LXC's init: its own messages go to the container's console, the command keeps the
    // caller's stdio.
    if let Ok(console) = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open("/dev/console")
    {
        use std::os::fd::AsRawFd;
        let _ = sys::dup2(console.as_raw_fd(), 2);
    }
    // The command runs: closing our end of the sync channel tells the monitor so.
    let _ = chan;
    sys::close_from(3).ok();
    let mut status: Option<i32> = None;
    loop {
        let sig = match sys::sigwait(&sigs) {
            Ok(s) => s,
            Err(_) => supervise_with_handlers(app, status),
        };
        if sig != libc::SIGCHLD {
            let _ = sys::kill(app, sig);
            continue;
        }
        loop {
            match sys::wait_any(true) {
                Ok(Some((pid, exit))) => {
                    if pid == app {
                        status = Some(exit.status());
                    }
                }
                Ok(None) => break,
                // No children left: the command and everything it started are gone.
                Err(_) => sys::exit_now(status.unwrap_or(0)),
            }
        }
        if let Some(code) = status {
            // The command is gone; whatever it left behind dies with the pid namespace.
            sys::exit_now(code);
        }
    }
}

/// The loop above without sigwaitinfo, which a container's seccomp policy may refuse: the
/// signals to forward are caught by a handler and interrupt a blocking wait, as in LXC's
/// init. (A signal that arrives between the check and the wait is forwarded at the next
/// wake-up, LXC's own window.)
fn supervise_with_handlers(app: i32, mut status: Option<i32>) -> ! {
    if sys::catch_signals(&FORWARD).is_err() {
        tracing::debug!("init cannot catch signals: they are not forwarded");
    }
    loop {
        for sig in sys::take_caught() {
            let _ = sys::kill(app, sig);
        }
        match sys::wait_any(false) {
            Ok(Some((pid, exit))) if pid == app => status = Some(exit.status()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => sys::exit_now(status.unwrap_or(0)),
        }
        if let Some(code) = status {
            sys::exit_now(code);
        }
    }
}
