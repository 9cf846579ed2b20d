//! The process-wide log configuration (LXC keeps it in globals in `log.c`; so do we, behind one
//! mutex) and the public functions that set it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard};

use lxc_core::Config;
use tracing_subscriber::layer::SubscriberExt;

use crate::error::Error;
use crate::format::{file_line, stderr_line, syslog_body, Record};
use crate::layer::LxcLayer;
use crate::priority::{Facility, Priority};
use crate::sink::{default_log_file, LogFile, SyslogSink};

/// LXC's `LOGPATH` on Debian: where default log files go.
pub const LOGPATH: &str = "/var/log/lxc";
/// The syslog socket.
pub const DEV_LOG: &str = "/dev/log";
/// LXC keeps the prefix in a 32-byte buffer: at most 31 bytes survive.
const PREFIX_MAX: usize = 31;

/// Send log lines to syslog with this facility, through this socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syslog {
    pub facility: Facility,
    /// [`DEV_LOG`] unless a test or an unusual host says otherwise.
    pub socket: PathBuf,
}

impl Syslog {
    pub fn new(facility: Facility) -> Syslog {
        Syslog {
            facility,
            socket: PathBuf::from(DEV_LOG),
        }
    }
}

/// What `lxc_log_init` takes (`struct lxc_log`). Syslog is set apart, with [`log_syslog`], as
/// in LXC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOptions {
    /// The container name shown in every line.
    pub name: Option<String>,
    /// With `name` and no `file`: where the default log file goes (see [`log_init`]).
    pub lxcpath: Option<PathBuf>,
    /// The log file, appended to (`-o`). The path `none` means no file at all.
    pub file: Option<PathBuf>,
    /// The lowest priority logged (`-l`); `None` is LXC's default, ERROR.
    pub level: Option<Priority>,
    /// First word of every line; the tools pass their own name (`lxc-start`).
    pub prefix: String,
    /// `-q`: nothing on stderr.
    pub quiet: bool,
}

impl Default for LogOptions {
    fn default() -> LogOptions {
        LogOptions {
            name: None,
            lxcpath: None,
            file: None,
            level: None,
            prefix: "lxc".to_string(),
            quiet: false,
        }
    }
}

struct State {
    generation: u64,
    prefix: String,
    name: Option<String>,
    level: Priority,
    stderr: bool,
    file: Option<LogFile>,
    /// The file came from the caller (`-o`), so a container's `lxc.log.file` and
    /// `lxc.log.level` do not override it (LXC's `lxc_log_use_global_fd`).
    explicit_file: bool,
    syslog: Option<SyslogSink>,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// `log_init` installed its subscriber as the global default.
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// An `LxcLayer` was added to some subscriber (ours, or one the caller composed).
static LAYER_ATTACHED: AtomicBool = AtomicBool::new(false);
/// The lowest priority any sink would write, or `OFF`; read on every event without the lock.
static MIN_PRIORITY: AtomicU8 = AtomicU8::new(OFF);
const OFF: u8 = u8::MAX;

fn lock() -> MutexGuard<'static, Option<State>> {
    // A panic while writing a line leaves nothing half-done that matters: keep logging.
    STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn mark_layer_attached() {
    LAYER_ATTACHED.store(true, Ordering::SeqCst);
}

pub(crate) fn enabled(p: Priority) -> bool {
    p.number() >= MIN_PRIORITY.load(Ordering::Relaxed)
}

fn update_min_priority(state: &Option<State>) {
    let min = match state {
        Some(st) if st.file.is_some() || st.syslog.is_some() => st.level.number(),
        // stderr only ever shows ERROR and above.
        Some(st) if st.stderr => st.level.max(Priority::Error).number(),
        _ => OFF,
    };
    MIN_PRIORITY.store(min, Ordering::Relaxed);
}

pub(crate) fn write(r: &Record<'_>) {
    let mut guard = lock();
    let Some(st) = guard.as_mut() else { return };
    if r.priority < st.level {
        return;
    }
    let name = st.name.as_deref();
    if let Some(f) = st.file.as_mut() {
        f.write_line(&file_line(&st.prefix, name, r));
    }
    if st.stderr && r.priority >= Priority::Error {
        let _ = std::io::stderr().write_all(&stderr_line(&st.prefix, name, r));
    }
    if let Some(s) = st.syslog.as_mut() {
        s.send(r.priority, &syslog_body(name, r));
    }
}

/// Returned by [`log_init`]. Dropping the guard of the configuration still in force closes the
/// log like [`log_close`]; a guard from an earlier `log_init` that was since replaced does
/// nothing when dropped.
#[must_use = "dropping the guard closes the log file"]
#[derive(Debug)]
pub struct LogGuard {
    generation: u64,
}

impl LogGuard {
    /// The log file in use now, if any (LXC's `lxc_log_get_file`).
    pub fn file(&self) -> Option<PathBuf> {
        lock()
            .as_ref()
            .and_then(|st| st.file.as_ref().map(|f| f.path.clone()))
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        let current = lock().as_ref().map(|st| st.generation);
        if current == Some(self.generation) {
            log_close();
        }
    }
}

fn truncated_prefix(prefix: &str) -> String {
    let mut end = prefix.len().min(PREFIX_MAX);
    while !prefix.is_char_boundary(end) {
        end -= 1;
    }
    prefix[..end].to_string()
}

fn is_none_path(p: &Path) -> bool {
    p == Path::new("none")
}

fn open_syslog(s: &Syslog, ident: &str, warning: &mut Option<String>) -> SyslogSink {
    let (sink, err) = SyslogSink::new(s.facility, s.socket.clone(), ident.to_string());
    if let Some(e) = err {
        *warning = Some(format!(
            "lxc.log.syslog: cannot reach the syslog socket {}: {e}; syslog messages are dropped \
             until it can be reached",
            s.socket.display()
        ));
    }
    sink
}

/// LXC's `lxc_log_init`: set up logging for this process and install the global tracing
/// subscriber (once per process).
///
/// - Priority: `opts.level`, default ERROR. Events below it are dropped everywhere.
/// - stderr: ERROR and above, as `PREFIX: NAME: FILE: FUNC: LINE MESSAGE`, unless `quiet`.
/// - File: `opts.file` is opened for appending (parent directories made) and an error to open
///   it is returned; the path `none` means no file. Without a file but with a `name`, LXC's
///   default file is tried: as root with lxcpath `/var/lib/lxc`, `/var/log/lxc/NAME.log`;
///   else `LXCPATH/NAME/NAME.log` (`lxcpath` defaulting to `/var/log/lxc`); else
///   `/var/log/lxc/NAME.log`; if none opens, logging goes on without a file. (The tools pass
///   `none` unless `-o` or `-l` is given, which is why plain `lxc-start` writes no file.)
///   Without file and name: no file.
/// - Syslog: off; turn it on with [`log_syslog`].
///
/// A second call replaces the whole configuration (LXC ignores a second call with a
/// warning): the new file, level, prefix, name and quiet apply from then on, syslog is off
/// again, and the earlier guard becomes inert. Fails with [`Error::ForeignSubscriber`] if a tracing
/// subscriber that does not contain [`LxcLayer`] is already the global default.
pub fn log_init(opts: &LogOptions) -> Result<LogGuard, Error> {
    let mut infos = Vec::new();
    let prefix = truncated_prefix(&opts.prefix);
    let (file, explicit_file) = match (&opts.file, &opts.name) {
        (Some(p), _) if is_none_path(p) => (None, false),
        (Some(p), _) => (Some(LogFile::open(p, true)?), true),
        (None, None) => (None, false),
        (None, Some(name)) => match default_log_file(name, opts.lxcpath.as_deref()) {
            Some(f) => (Some(f), false),
            None => {
                infos.push("Ignoring failure to open default logfile".to_string());
                (None, false)
            }
        },
    };
    let generation = GENERATION.fetch_add(1, Ordering::SeqCst) + 1;
    let state = State {
        generation,
        prefix,
        name: opts.name.clone(),
        level: opts.level.unwrap_or_default(),
        stderr: !opts.quiet,
        file,
        explicit_file,
        syslog: None,
    };
    {
        let mut guard = lock();
        // A caller that composed its own subscriber with an LxcLayer has installed it; any
        // other global default leaves our layer out, which is an error.
        if !INSTALLED.load(Ordering::SeqCst) && !LAYER_ATTACHED.load(Ordering::SeqCst) {
            let subscriber = tracing_subscriber::registry().with(LxcLayer::new());
            if tracing::subscriber::set_global_default(subscriber).is_err() {
                // Our subscriber, which just attached the layer, was dropped.
                LAYER_ATTACHED.store(false, Ordering::SeqCst);
                return Err(Error::ForeignSubscriber);
            }
            INSTALLED.store(true, Ordering::SeqCst);
        }
        *guard = Some(state);
        update_min_priority(&guard);
    }
    // Logged only now: with the lock held these would deadlock.
    for i in &infos {
        tracing::info!(target: "lxc_log", "{i}");
    }
    Ok(LogGuard { generation })
}

/// Let a container's own log keys take over, as LXC lets `lxc.log.file` and `lxc.log.level`
/// override the tool's settings unless the tool was given a log file (`-o`):
///
/// - `file` (not `none`) replaces the current file, and `level` the current priority, only if
///   [`log_init`] was not given an explicit file; `None` keeps what is there.
/// - `name` is used if `log_init` was given none.
/// - `lxcpath`, `prefix` and `quiet` are ignored: they belong to the process, not the
///   container.
///
/// This is how the monitor switches to the container's log (with [`log_syslog`] for
/// `lxc.log.syslog`).
pub fn log_apply_container(opts: &LogOptions) -> Result<(), Error> {
    let mut guard = lock();
    let Some(st) = guard.as_mut() else {
        return Err(Error::NotInitialized {
            op: "log_apply_container",
        });
    };
    if !st.explicit_file {
        if let Some(p) = opts.file.as_deref().filter(|p| !is_none_path(p)) {
            st.file = Some(LogFile::open(p, true)?);
        }
        if let Some(level) = opts.level {
            st.level = level;
        }
    }
    if st.name.is_none() {
        st.name.clone_from(&opts.name);
    }
    update_min_priority(&guard);
    Ok(())
}

/// LXC's `lxc_log_syslog` (what setting `lxc.log.syslog` does): send every line that passes
/// the priority to syslog too, with this facility and the current prefix as identity; `None`
/// stops it. A socket that cannot be reached is not an error: the sink keeps retrying, and
/// the problem is returned (and logged at WARN).
pub fn log_syslog(target: Option<&Syslog>) -> Result<Option<String>, Error> {
    let mut warning = None;
    {
        let mut guard = lock();
        let Some(st) = guard.as_mut() else {
            return Err(Error::NotInitialized { op: "log_syslog" });
        };
        st.syslog = target.map(|s| open_syslog(s, &st.prefix, &mut warning));
        update_min_priority(&guard);
    }
    if let Some(w) = &warning {
        tracing::warn!(target: "lxc_log", "{w}");
    }
    Ok(warning)
}

/// The priority in force (LXC's `lxc_log_get_level`, which the start code exports to hooks
/// as `LXC_LOG_LEVEL`); `None` before [`log_init`].
pub fn log_get_level() -> Option<Priority> {
    lock().as_ref().map(|st| st.level)
}

/// LXC's `lxc_log_close`: close the log file and the syslog connection and forget the name.
/// The priority, prefix and stderr output stay, so errors still reach stderr.
pub fn log_close() {
    let mut guard = lock();
    if let Some(st) = guard.as_mut() {
        st.file = None;
        st.syslog = None;
        st.name = None;
    }
    update_min_priority(&guard);
}

/// The log options a container's config asks for: its `lxc.log.file` and `lxc.log.level`, with
/// `name` and `lxcpath` filled in (`lxc.log.syslog`: [`container_syslog`]). Unset keys are
/// `None` (an unset `lxc.log.level` prints as NOTSET); `prefix` is `lxc` and `quiet` false, as
/// in LXC. Meant for [`log_apply_container`]; passed to [`log_init`] instead, a missing
/// `lxc.log.file` means LXC's default file under `lxcpath`.
pub fn container_log_options(name: &str, lxcpath: &Path, config: &Config) -> LogOptions {
    LogOptions {
        name: Some(name.to_string()),
        lxcpath: Some(lxcpath.to_path_buf()),
        file: config
            .last("lxc.log.file")
            .filter(|v| !v.is_empty())
            .map(lxc_core::config::bytes::to_path),
        // Values were checked by the key's parser; one that no longer parses counts as unset.
        level: config.last("lxc.log.level").and_then(|v| v.parse().ok()),
        ..LogOptions::default()
    }
}

/// The syslog target a container's `lxc.log.syslog` asks for, for [`log_syslog`].
pub fn container_syslog(config: &Config) -> Option<Syslog> {
    config
        .last("lxc.log.syslog")
        .and_then(|v| v.parse::<Facility>().ok())
        .map(Syslog::new)
}
