//! Running criu: its stdout and stderr into one pipe (criu prints there before its log is
//! open), and a failure reported with criu's own words.

use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::sys;

/// What criu's child does before exec, made ready before the fork (nothing allocates after it).
#[derive(Default)]
pub struct Prepare {
    /// `cgroup.procs` files criu moves itself into (LXC's `criu_escape`), opened for writing.
    pub escape: Vec<(PathBuf, OwnedFd)>,
    /// Restore: a private mount namespace with the rootfs bound here: (source, target).
    pub bind_root: Option<(CString, CString)>,
    /// Restore: the console's peer, left open across exec for `--inherit-fd`.
    pub inherit: Option<i32>,
}

/// The tail of criu's output kept for an error (LXC keeps 4096 bytes).
const OUTPUT_MAX: usize = 4096;

/// Run `argv` (argv[0] criu); Ok when criu exits 0.
pub fn criu(name: &str, argv: &[String], log: &Path, prep: Prepare) -> Result<()> {
    let (Some(prog), Some(action)) = (argv.first(), argv.get(1)) else {
        return Err(Error::Unsupported {
            name: name.to_string(),
            what: "the criu command line".into(),
            why: "it is empty".into(),
        });
    };
    let io_err = |path: &Path| {
        let name = name.to_string();
        let path = path.to_path_buf();
        move |source| Error::Io { name, path, source }
    };
    let (mut reader, writer) = std::io::pipe().map_err(io_err(Path::new("pipe")))?;
    let writer2 = writer.try_clone().map_err(io_err(Path::new("pipe")))?;
    let mut cmd = Command::new(prog);
    cmd.args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer2);
    let escape: Vec<i32> = prep.escape.iter().map(|(_, fd)| fd.as_raw_fd()).collect();
    let bind_root = prep.bind_root.clone();
    let inherit = prep.inherit;
    // SAFETY: the closure runs in the forked child before exec; it only makes raw syscalls on
    // fds and C strings prepared before the fork (no allocation, no locks), which is what
    // is allowed there.
    unsafe {
        cmd.pre_exec(move || {
            for fd in &escape {
                sys::write_fd(*fd, b"0")?;
            }
            if let Some((src, dst)) = &bind_root {
                sys::private_root_bind(src, dst)?;
            }
            if let Some(fd) = inherit {
                sys::clear_cloexec(fd)?;
            }
            Ok(())
        });
    }
    tracing::debug!(argv = ?argv, "running criu");
    let mut child = cmd.spawn().map_err(|source| Error::CriuMissing {
        name: name.to_string(),
        criu: prog.clone(),
        source,
    })?;
    // The child has its copies; ours must go, or the read below never sees the end.
    drop(cmd);
    drop(prep);
    let mut out = Vec::new();
    let _ = reader.read_to_end(&mut out);
    let status = child.wait().map_err(io_err(Path::new(prog)))?;
    if status.success() {
        return Ok(());
    }
    let how = match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => status.to_string(),
    };
    let mut output = String::from_utf8_lossy(&out).trim().to_string();
    if output.is_empty() {
        output = log_errors(log);
    }
    if output.len() > OUTPUT_MAX {
        let cut = output.len() - OUTPUT_MAX;
        let cut = (cut..output.len())
            .find(|i| output.is_char_boundary(*i))
            .unwrap_or(cut);
        output = format!("...{}", &output[cut..]);
    }
    if output.is_empty() {
        output = "criu said nothing".into();
    }
    Err(Error::CriuFailed {
        name: name.to_string(),
        action: action.clone(),
        status: how,
        output,
        log: log.exists().then(|| log.to_path_buf()),
    })
}

/// Lines of criu's log kept when it ends without an `Error` line (it crashed).
const LOG_TAIL: usize = 5;

/// The `Error` lines of criu's log (it writes them there when its stderr is quiet), else its
/// last lines.
fn log_errors(log: &Path) -> String {
    let Ok(bytes) = std::fs::read(log) else {
        return String::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let errors: Vec<&str> = text.lines().filter(|l| l.contains("Error")).collect();
    if !errors.is_empty() {
        return errors.join("\n");
    }
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(LOG_TAIL)..];
    if tail.is_empty() {
        String::new()
    } else {
        format!("the end of its log:\n{}", tail.join("\n"))
    }
}

/// A path as a C string for the child.
pub fn cstring(name: &str, p: &Path) -> Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| Error::Unsupported {
        name: name.to_string(),
        what: p.display().to_string(),
        why: "the path has a NUL byte".into(),
    })
}
