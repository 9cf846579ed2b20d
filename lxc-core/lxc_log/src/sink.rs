//! Where log lines go: the log file (opened the way LXC's `log_open` does) and syslog through
//! the `/dev/log` socket.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::priority::{Facility, Priority};

/// Mode of a new log file. LXC asks for 0660; under the usual umask 022 both give 0640, and a
/// log needs no group write.
pub(crate) const LOG_FILE_MODE: u32 = 0o640;

/// An open log file.
pub(crate) struct LogFile {
    pub path: PathBuf,
    pub file: File,
    /// A daemonised monitor keeps the log open (it closes every other fd of the caller's).
    _kept: lxc_core::fds::KeptFd,
}

impl LogFile {
    /// Open `path` for appending (O_CREAT|O_WRONLY|O_APPEND|O_CLOEXEC), creating missing parent
    /// directories (0755) first when `create_dirs` is set, like LXC's `build_dir` + `log_open`.
    pub fn open(path: &Path, create_dirs: bool) -> Result<LogFile, Error> {
        if create_dirs {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                DirBuilder::new()
                    .recursive(true)
                    .mode(0o755)
                    .create(dir)
                    .map_err(|source| Error::CreateDir {
                        dir: dir.to_path_buf(),
                        file: path.to_path_buf(),
                        source,
                    })?;
            }
        }
        let open_err = |source| Error::OpenFile {
            path: path.to_path_buf(),
            source,
        };
        // std opens every file with O_CLOEXEC.
        let mut file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(LOG_FILE_MODE)
            .open(path)
            .map_err(open_err)?;
        // With stdin/stdout/stderr closed the log would land on fd 0-2 and be clobbered by
        // whatever is later opened there; LXC moves it above 2, and so do we (try_clone
        // duplicates with F_DUPFD_CLOEXEC from 3 up).
        if file.as_raw_fd() <= 2 {
            file = file.try_clone().map_err(open_err)?;
        }
        use std::os::fd::AsFd;
        let kept = lxc_core::fds::KeptFd::new(file.as_fd());
        Ok(LogFile {
            path: path.to_path_buf(),
            file,
            _kept: kept,
        })
    }

    /// One write per line: with O_APPEND, lines from the caller, the monitor and the container
    /// side do not interleave.
    pub fn write_line(&mut self, line: &[u8]) {
        // A log that cannot be written has nowhere to report it; LXC ignores it too.
        let _ = self.file.write_all(line);
    }
}

/// LXC's default log file when no file was given (`lxc_log_init` with a name): as root with
/// the default lxcpath, `LOGPATH/NAME.log`; else `LXCPATH/NAME/NAME.log` (directories made);
/// else `LOGPATH/NAME.log`. A failure here is not an error, the caller just logs nowhere.
pub(crate) fn default_log_file(name: &str, lxcpath: Option<&Path>) -> Option<LogFile> {
    let logpath = Path::new(crate::state::LOGPATH);
    let lxcpath = lxcpath.unwrap_or(logpath);
    let flat = logpath.join(format!("{name}.log"));
    let mut tries: Vec<(PathBuf, bool)> = Vec::new();
    if nix::unistd::geteuid().is_root() && lxcpath == Path::new(lxc_core::global::DEFAULT_LXCPATH) {
        tries.push((flat.clone(), false));
    }
    tries.push((lxcpath.join(name).join(format!("{name}.log")), true));
    tries.push((flat, false));
    tries
        .into_iter()
        .find_map(|(path, dirs)| LogFile::open(&path, dirs).ok())
}

/// Where syslog messages go and how they are tagged.
pub(crate) struct SyslogSink {
    pub facility: Facility,
    pub socket: PathBuf,
    pub ident: String,
    conn: Option<(Conn, lxc_core::fds::KeptFd)>,
}

enum Conn {
    Dgram(UnixDatagram),
    /// Some syslog daemons listen on a stream socket; messages are then NUL-terminated.
    Stream(UnixStream),
}

impl SyslogSink {
    /// Try to connect now, so a missing socket is reported at configuration time. The sink
    /// keeps trying on later messages (the daemon may start after us).
    pub fn new(
        facility: Facility,
        socket: PathBuf,
        ident: String,
    ) -> (SyslogSink, Option<io::Error>) {
        let mut sink = SyslogSink {
            facility,
            socket,
            ident,
            conn: None,
        };
        let err = sink.connect().err();
        (sink, err)
    }

    fn connect(&mut self) -> io::Result<()> {
        let conn = match UnixDatagram::unbound().and_then(|s| s.connect(&self.socket).map(|_| s)) {
            Ok(s) => Conn::Dgram(s),
            // EPROTOTYPE: the socket is a stream socket.
            Err(e) if e.raw_os_error() == Some(nix::libc::EPROTOTYPE) => {
                Conn::Stream(UnixStream::connect(&self.socket)?)
            }
            Err(e) => return Err(e),
        };
        use std::os::fd::AsFd;
        let kept = match &conn {
            Conn::Dgram(s) => lxc_core::fds::KeptFd::new(s.as_fd()),
            Conn::Stream(s) => lxc_core::fds::KeptFd::new(s.as_fd()),
        };
        self.conn = Some((conn, kept));
        Ok(())
    }

    /// Send one message as `<PRI>IDENT[PID]: BODY`, the header glibc's syslog(3) writes minus
    /// the timestamp, which the daemon adds on receipt. On failure, reconnect once and retry
    /// (the daemon may have restarted); a message that still cannot be sent is dropped.
    pub fn send(&mut self, priority: Priority, body: &str) {
        let pri = u32::from(self.facility.code()) * 8 + u32::from(priority.syslog_severity());
        let msg = format!("<{pri}>{}[{}]: {body}", self.ident, std::process::id());
        for _ in 0..2 {
            if self.conn.is_none() && self.connect().is_err() {
                return;
            }
            let ok = match &mut self.conn {
                Some((Conn::Dgram(s), _)) => s.send(msg.as_bytes()).is_ok(),
                Some((Conn::Stream(s), _)) => {
                    let mut framed = msg.clone().into_bytes();
                    framed.push(0);
                    s.write_all(&framed).is_ok()
                }
                None => false,
            };
            if ok {
                return;
            }
            self.conn = None;
        }
    }
}
