//! Per-phase timings of a start, for `cargo xtask bench`: when `LXC_RS_PHASE_TIMES` names a
//! file, every phase appends `phase<TAB>pid<TAB>start_us<TAB>duration_us` (CLOCK_MONOTONIC) to
//! it, from the monitor and from the container's first process alike. Off, it costs one
//! environment lookup per process.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::OnceLock;
use std::time::Instant;

/// The environment variable naming the timings file.
pub const ENV: &str = "LXC_RS_PHASE_TIMES";

/// The file, and its registration: a daemonised monitor keeps it open.
static SINK: OnceLock<Option<(File, crate::fds::KeptFd)>> = OnceLock::new();
static ORIGIN: OnceLock<Instant> = OnceLock::new();

fn sink() -> Option<&'static File> {
    SINK.get_or_init(|| {
        let path = std::env::var_os(ENV)?;
        OpenOptions::new()
            .append(true)
            .create(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .ok()
            .map(|f| {
                let kept = crate::fds::KeptFd::new(std::os::fd::AsFd::as_fd(&f));
                (f, kept)
            })
    })
    .as_ref()
    .map(|(f, _)| f)
}

/// Open the sink now (before clone, so the container's first process inherits the open file
/// and does not need to see the host's filesystem to write to it).
pub fn init() {
    let _ = sink();
    let _ = ORIGIN.get_or_init(Instant::now);
}

/// Measures one phase; the line is written when it is dropped.
pub struct PhaseTimer {
    name: &'static str,
    start: Instant,
}

pub fn phase(name: &'static str) -> PhaseTimer {
    PhaseTimer {
        name,
        start: Instant::now(),
    }
}

impl Drop for PhaseTimer {
    fn drop(&mut self) {
        let Some(mut f) = sink() else {
            return;
        };
        let origin = *ORIGIN.get_or_init(Instant::now);
        let line = format!(
            "{}\t{}\t{}\t{}\n",
            self.name,
            std::process::id(),
            self.start.saturating_duration_since(origin).as_micros(),
            self.start.elapsed().as_micros()
        );
        // One write per line on an O_APPEND file: lines of concurrent processes do not mix.
        let _ = f.write_all(line.as_bytes());
    }
}
