//! seccomp, lxc-rs beside LXC: what one syscall sent to a `notify` proxy costs, and what
//! compiling and loading LXC's common policy adds to a start.
//!
//! Notify round trip: both containers run a static probe (`seccomp_probe.c`) under the policy
//! `2 / denylist / mknodat notify` with `lxc.seccomp.notify.proxy = unix:<sock>`. The proxy is
//! a thread of the bench: a SOCK_SEQPACKET listener speaking LXC's layout (struct
//! seccomp_notify_proxy_msg, then seccomp_notif, seccomp_notif_resp and the cookie, with the
//! /proc/PID, /proc/PID/mem and listener fds beside) that answers every message at once with
//! the same layout, without the cookie, the resp part saying success (LXC's
//! seccomp_notify_handler reads back exactly that). The probe times each mknodat alone, so a
//! sample is one round trip: container syscall, monitor, proxy, answer, syscall returns.
//!
//! Policy: the hot lifecycle (`execute -- /bin/true`) with and without
//! `-s lxc.seccomp.profile=/usr/share/lxc/config/common.seccomp`, both runtimes in one
//! hyperfine invocation, as the veth rows are made.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::lifecycle::command_line;
use super::report::{num, Row, Table};
use super::runtimes::{probe, with_define, Runtime, LXC_EXECUTE, RS_EXECUTE};
use super::setup::{cc_static, mkdir, write, Workdir};
use crate::run::{display, fail, Result};

/// Untimed calls before the timed ones, in every run.
pub const WARMUP: u32 = 100;
/// Timed calls per run.
pub const CALLS: u32 = 1000;
/// Timed runs per runtime (after one untimed run that checks it works at all).
pub const ROUNDS: usize = 3;
pub const POLICY_RUNS: u32 = 30;
/// LXC's common policy, which every `*.common.conf` of lxc-templates sets.
pub const COMMON_SECCOMP: &str = "/usr/share/lxc/config/common.seccomp";

pub const RS_NOTIFY: &str = "lxc-rs notify round trip";
pub const LXC_NOTIFY: &str = "LXC notify round trip";
pub const PLAIN: &str = "mknodat without a filter";
pub const RS_POLICY: &str = "lxc-rs execute + common.seccomp";
pub const LXC_POLICY: &str = "lxc-execute + common.seccomp";

const PROBE_C: &str = include_str!("seccomp_probe.c");
/// The probe's name in the work dir and at the root of both rootfs.
const PROBE: &str = "lxcrs-bench-seccomp-probe";
/// The notify policy: nothing in the container but the probe calls mknodat after the filter
/// is loaded (device nodes are made before).
const NOTIFY_POLICY: &str = "2\ndenylist\nmknodat notify\n";
/// A container run that takes longer than this is killed (a proxy never answered): the row
/// fails, the bench goes on.
const RUN_TIMEOUT_S: &str = "120";

/// sizeof(struct seccomp_notify_proxy_msg): u64, two pid_t, three u16, padding, u64.
const MSG_HEADER: usize = 32;
/// The smallest struct seccomp_notif and seccomp_notif_resp (Linux 5.0's).
const MIN_NOTIF: usize = 80;
const MIN_RESP: usize = 24;

/// The notify round trip: lxc-rs (unless `rs_skip` says why not) and LXC, each under the
/// notify policy, and the same probe on the host without a filter.
pub fn notify(w: &Workdir, rs_skip: Option<String>) -> Result<Table> {
    let dir = w.path("seccomp");
    mkdir(&dir)?;
    let probe_bin = build_probe(&dir)?;
    let policy = dir.join("notify.seccomp");
    write(&policy, NOTIFY_POLICY)?;
    let sock = dir.join("proxy.sock");

    let mut table = Table::default();
    let plain = run_probe(&[
        probe_bin.display().to_string(),
        "plain".into(),
        WARMUP.to_string(),
        CALLS.to_string(),
    ])
    .map_err(|why| fail(format!("the probe fails on the host: {why}")))?;

    let defines = [
        format!("lxc.seccomp.profile={}", policy.display()),
        format!("lxc.seccomp.notify.proxy=unix:{}", sock.display()),
    ];
    let probe_args = [
        format!("/{PROBE}"),
        "notify".into(),
        WARMUP.to_string(),
        CALLS.to_string(),
    ];
    let mut boxes: Vec<Probed> = Vec::new();
    match rs_skip {
        Some(why) => table.notes.push(format!("{RS_NOTIFY}: skipped: {why}")),
        None => boxes.push(Probed::new(
            RS_NOTIFY,
            vec![w.lxc_rs.display().to_string(), "execute".into()],
            &w.rs_name(),
            &w.rs_path,
            &defines,
            &probe_args,
        )),
    }
    boxes.push(Probed::new(
        LXC_NOTIFY,
        vec!["lxc-execute".into()],
        &w.lxc_name(),
        &w.lxc_path,
        &defines,
        &probe_args,
    ));
    for root in [w.rootfs(), w.lxc_path.join(w.lxc_name()).join("rootfs")] {
        let to = root.join(PROBE);
        fs::copy(&probe_bin, &to)
            .map_err(|e| fail(format!("cannot copy the probe to {}: {e}", to.display())))?;
    }

    let mut proxy = Proxy::start(&sock)?;
    // One untimed run each (two tries, so one rare failure does not take a row out): a runtime
    // that refuses the policy or the proxy is left out, with its own words, and the other is
    // still measured.
    for b in &mut boxes {
        proxy.take();
        if let Err(why) = b.run().or_else(|_| {
            proxy.take();
            b.run()
        }) {
            b.refused = Some(why);
        }
        let seen = proxy.take();
        b.note_seen(&seen);
    }
    for round in 0..ROUNDS {
        // Alternate which runtime goes first.
        let mut order: Vec<usize> = (0..boxes.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let b = &mut boxes[i];
            if b.refused.is_some() {
                continue;
            }
            proxy.take();
            match b.run() {
                Ok(us) => b.samples.extend(us),
                Err(why) => {
                    b.failed += 1;
                    b.first_failure.get_or_insert(why);
                }
            }
            let seen = proxy.take();
            b.note_seen(&seen);
        }
    }
    let proxy_errors = proxy.stop();

    let rs_measured = boxes
        .iter()
        .any(|b| b.name == RS_NOTIFY && !b.samples.is_empty());
    for b in &boxes {
        let vs = if rs_measured { RS_NOTIFY } else { "" };
        let row = Row::new(b.name, command_line(&b.argv), "µs", b.samples.clone());
        match (row, &b.refused) {
            (Some(row), None) => {
                let fds: Vec<String> = b.fds.iter().map(usize::to_string).collect();
                let note = format!(
                    "the proxy answered {} notifications per run (each with {} fds){}",
                    b.answered
                        .iter()
                        .map(u64::to_string)
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect::<Vec<_>>()
                        .join(" or "),
                    if fds.is_empty() {
                        "no".to_string()
                    } else {
                        fds.join(" or ")
                    },
                    b.first_failure
                        .as_ref()
                        .map(|f| format!("; the first failed run: {f}"))
                        .unwrap_or_default()
                );
                table
                    .rows
                    .push(row.vs(vs).failed(b.failed).note(Some(note)));
            }
            (_, Some(why)) => table.notes.push(format!(
                "{}: not measured: `{}` failed: {why}",
                b.name,
                command_line(&b.argv)
            )),
            (None, None) => table.notes.push(format!(
                "{}: every run failed; the first: {}",
                b.name,
                b.first_failure.clone().unwrap_or_default()
            )),
        }
    }
    if table.rows.is_empty() {
        return Err(fail(format!(
            "no runtime ran the notify probe: {}",
            table.notes.join("; ")
        )));
    }
    table.rows.push(
        Row::new(
            PLAIN,
            format!(
                "{} plain {WARMUP} {CALLS} (on the host)",
                probe_bin.display()
            ),
            "µs",
            plain,
        )
        .ok_or_else(|| fail("the probe printed nothing on the host"))?
        .note(Some(
            "the same probe on the host, no filter: the syscall alone (it fails, ENOTDIR)",
        )),
    );
    for e in proxy_errors {
        table.notes.push(format!("proxy: {e}"));
    }
    table.notes.push(format!(
        "a sample is one mknodat timed alone inside the container (CLOCK_MONOTONIC around the \
         raw syscall), answered by the bench's proxy with success; {ROUNDS} runs of {CALLS} \
         calls (after {WARMUP} untimed) per runtime, alternating which goes first"
    ));
    table.set_ratios();
    Ok(table)
}

/// One runtime's container under the notify policy.
struct Probed {
    name: &'static str,
    argv: Vec<String>,
    samples: Vec<f64>,
    /// Why its untimed first run failed: it is not measured.
    refused: Option<String>,
    failed: usize,
    first_failure: Option<String>,
    /// Notifications the proxy answered in each run, and how many fds came with them.
    answered: Vec<u64>,
    fds: BTreeSet<usize>,
}

impl Probed {
    fn new(
        name: &'static str,
        tool: Vec<String>,
        container: &str,
        lxcpath: &Path,
        defines: &[String],
        command: &[String],
    ) -> Probed {
        let mut argv = tool;
        argv.extend(["-n".into(), container.into(), "-P".into()]);
        argv.push(lxcpath.display().to_string());
        for d in defines {
            argv.extend(["-s".into(), d.clone()]);
        }
        argv.push("--".into());
        argv.extend_from_slice(command);
        Probed {
            name,
            argv,
            samples: Vec::new(),
            refused: None,
            failed: 0,
            first_failure: None,
            answered: Vec::new(),
            fds: BTreeSet::new(),
        }
    }

    fn run(&self) -> std::result::Result<Vec<f64>, String> {
        let mut argv = vec![
            "timeout".to_string(),
            "--kill-after=5".into(),
            RUN_TIMEOUT_S.into(),
        ];
        argv.extend_from_slice(&self.argv);
        run_probe(&argv)
    }

    fn note_seen(&mut self, seen: &Seen) {
        self.answered.push(seen.answered);
        self.fds.extend(&seen.fds);
    }
}

/// `cc -O2 -static` the probe into `dir`.
fn build_probe(dir: &Path) -> Result<PathBuf> {
    cc_static(dir, "seccomp_probe.c", PROBE_C, PROBE)
}

/// Run the probe (directly or in a container) and read its nanoseconds per call, in µs.
fn run_probe(argv: &[String]) -> std::result::Result<Vec<f64>, String> {
    let Some((program, rest)) = argv.split_first() else {
        return Err("empty command line".into());
    };
    let mut cmd = Command::new(program);
    cmd.args(rest).stdin(Stdio::null());
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", display(&cmd)))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if !out.status.success() {
        let status = if out.status.code() == Some(124) {
            format!("killed after {RUN_TIMEOUT_S} s")
        } else {
            out.status.to_string()
        };
        return Err(if last.is_empty() {
            status
        } else {
            format!("{status}: {last}")
        });
    }
    let us: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse::<f64>().ok())
        .map(|ns| ns / 1000.0)
        .collect();
    if us.len() != CALLS as usize {
        return Err(format!(
            "the probe printed {} timings, expected {CALLS}{}",
            us.len(),
            if last.is_empty() {
                String::new()
            } else {
                format!(" ({last})")
            }
        ));
    }
    Ok(us)
}

/// The lifecycle with and without LXC's common policy, lxc-rs and LXC in one hyperfine
/// invocation. A runtime that cannot start with the policy is left out with its own words.
pub fn policy(rs: &Runtime, lxc: &Runtime, export: &Path) -> Result<Table> {
    if !Path::new(COMMON_SECCOMP).is_file() {
        return Err(fail(format!(
            "{COMMON_SECCOMP} is missing (Debian's liblxc-common installs it)"
        )));
    }
    let define = format!("lxc.seccomp.profile={COMMON_SECCOMP}");
    let rs_policy = with_define(&rs.argv, &define);
    let lxc_policy = with_define(&lxc.argv, &define);
    // It must start, and its command must run under a filter (else the rows compare nothing).
    let refused = |name: &str, argv: &[String]| {
        let check = filtered_check(argv);
        probe(argv)
            .map_err(|why| format!("`{}` failed: {why}", command_line(argv)))
            .and_then(|()| {
                probe(&check).map_err(|why| {
                    format!(
                        "it starts, but its command is not under a seccomp filter: `{}` \
                         failed: {why}",
                        command_line(&check)
                    )
                })
            })
            .err()
            .map(|why| format!("{name}: not measured: {why}"))
    };
    let rs_out = refused(RS_POLICY, &rs_policy);
    let lxc_out = refused(LXC_POLICY, &lxc_policy);
    if let (Some(a), Some(b)) = (&rs_out, &lxc_out) {
        return Err(fail(format!(
            "neither runtime starts with {COMMON_SECCOMP}: {a}; {b}"
        )));
    }

    let rs_vs = |vs: &'static str| if rs_out.is_none() { vs } else { "" };
    let mut rows: Vec<(&str, Vec<String>, &str)> = Vec::new();
    if rs_out.is_none() {
        rows.push((RS_EXECUTE, rs.argv.clone(), RS_EXECUTE));
        rows.push((RS_POLICY, rs_policy, RS_POLICY));
    }
    if lxc_out.is_none() {
        rows.push((LXC_EXECUTE, lxc.argv.clone(), rs_vs(RS_EXECUTE)));
        rows.push((LXC_POLICY, lxc_policy, rs_vs(RS_POLICY)));
    }
    let mut table = super::lifecycle::timed_table(&rows, POLICY_RUNS, export)?;
    let added = |with: &str, without: &str| -> Option<String> {
        let d = table.get(with)?.stats.median - table.get(without)?.stats.median;
        Some(format!(
            "{without}: {}{} ms",
            if d >= 0.0 { "+" } else { "" },
            num(d)
        ))
    };
    let adds: Vec<String> = [added(RS_POLICY, RS_EXECUTE), added(LXC_POLICY, LXC_EXECUTE)]
        .into_iter()
        .flatten()
        .collect();
    table.notes.extend(rs_out);
    table.notes.extend(lxc_out);
    table.notes.push(format!(
        "what `lxc.seccomp.profile = {COMMON_SECCOMP}` adds to a start (median with minus \
         median without): {}",
        adds.join("; ")
    ));
    Ok(table)
}

/// The same start running, instead of its command, a check that the command would run under
/// a seccomp filter (`Seccomp: 2` in /proc/self/status).
fn filtered_check(argv: &[String]) -> Vec<String> {
    let at = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
    let mut out = argv[..at].to_vec();
    out.extend(
        [
            "--",
            "/bin/grep",
            "-qE",
            "^Seccomp:[[:space:]]+2$",
            "/proc/self/status",
        ]
        .map(String::from),
    );
    out
}

/// What the proxy saw since it was last asked.
#[derive(Default)]
struct Seen {
    answered: u64,
    /// How many fds came with the messages (LXC sends three).
    fds: BTreeSet<usize>,
    errors: Vec<String>,
}

/// The seccomp proxy: one thread serving a SOCK_SEQPACKET listener until [`Proxy::stop`] (or
/// drop). Each connection is one container's monitor; every message gets its answer at once.
struct Proxy {
    /// Writing to it (or closing it) ends the thread.
    stop: Option<OwnedFd>,
    thread: Option<JoinHandle<()>>,
    seen: Arc<Mutex<Seen>>,
    errors: Vec<String>,
}

impl Proxy {
    fn start(path: &Path) -> Result<Proxy> {
        let listener = seqpacket_listener(path)
            .map_err(|e| fail(format!("cannot listen on {}: {e}", path.display())))?;
        let (stop_r, stop_w) = pipe().map_err(|e| fail(format!("pipe: {e}")))?;
        let seen = Arc::new(Mutex::new(Seen::default()));
        let theirs = Arc::clone(&seen);
        let thread = std::thread::Builder::new()
            .name("seccomp-proxy".into())
            .spawn(move || serve(&listener, &stop_r, &theirs))
            .map_err(|e| fail(format!("cannot start the proxy thread: {e}")))?;
        Ok(Proxy {
            stop: Some(stop_w),
            thread: Some(thread),
            seen,
            errors: Vec::new(),
        })
    }

    /// What it saw since the last call; its errors are kept for [`Proxy::stop`].
    fn take(&mut self) -> Seen {
        let mut seen = mem::take(&mut *self.seen.lock().unwrap_or_else(|e| e.into_inner()));
        self.errors.append(&mut seen.errors);
        seen
    }

    /// End the thread; every error it met.
    fn stop(mut self) -> Vec<String> {
        self.shut();
        self.take();
        mem::take(&mut self.errors)
    }

    fn shut(&mut self) {
        // Closing the pipe's write end wakes the thread's poll with POLLHUP.
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                self.errors.push("the proxy thread panicked".into());
            }
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shut();
    }
}

fn serve(listener: &OwnedFd, stop: &OwnedFd, seen: &Mutex<Seen>) {
    let record = |e: String| {
        seen.lock()
            .unwrap_or_else(|e| e.into_inner())
            .errors
            .push(e)
    };
    let mut conns: Vec<OwnedFd> = Vec::new();
    loop {
        let mut fds: Vec<libc::pollfd> = [listener, stop]
            .into_iter()
            .chain(conns.iter())
            .map(|f| libc::pollfd {
                fd: f.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: `fds` is an array of fds.len() initialized pollfd that outlives the call.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            record(format!("poll: {e}"));
            return;
        }
        if fds[1].revents != 0 {
            return;
        }
        let mut closed = Vec::new();
        for (i, p) in fds[2..].iter().enumerate() {
            if p.revents == 0 {
                continue;
            }
            match answer(&conns[i]) {
                Ok(Answer::Answered(nfds)) => {
                    let mut s = seen.lock().unwrap_or_else(|e| e.into_inner());
                    s.answered += 1;
                    s.fds.insert(nfds);
                }
                Ok(Answer::Nothing) => {}
                Ok(Answer::Closed) => closed.push(i),
                Err(e) => {
                    record(e);
                    closed.push(i);
                }
            }
        }
        for i in closed.into_iter().rev() {
            conns.remove(i);
        }
        if fds[0].revents & libc::POLLIN != 0 {
            // SAFETY: no address is asked for (null pointers); a non-negative result is a new
            // descriptor that nothing else owns.
            let c = unsafe {
                libc::accept4(
                    listener.as_raw_fd(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    libc::SOCK_CLOEXEC,
                )
            };
            if c >= 0 {
                // SAFETY: `c` was just returned by accept4 and is owned by no one else.
                conns.push(unsafe { OwnedFd::from_raw_fd(c) });
            } else {
                record(format!("accept: {}", io::Error::last_os_error()));
            }
        }
    }
}

enum Answer {
    /// One message answered; this many fds came with it.
    Answered(usize),
    /// Woken for nothing (EINTR, EAGAIN).
    Nothing,
    /// The monitor closed the connection.
    Closed,
}

/// Read one message and answer it.
fn answer(conn: &OwnedFd) -> std::result::Result<Answer, String> {
    let mut buf = [0u8; 4096];
    // Room for 16 fds; u64 elements keep it aligned for cmsghdr.
    let mut control = [0u64; 16];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data; all zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = mem::size_of_val(&control);
    // SAFETY: `msg` points at `iov`, `buf` and `control`, which live across the call, with
    // their true lengths.
    let n = unsafe { libc::recvmsg(conn.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return match e.kind() {
            io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock => Ok(Answer::Nothing),
            _ => Err(format!("recvmsg: {e}")),
        };
    }
    // Closed when this returns: the proxy needs none of them.
    let fds = received_fds(&msg);
    let n = n as usize;
    if n == 0 {
        return Ok(Answer::Closed);
    }
    if msg.msg_flags & (libc::MSG_TRUNC | libc::MSG_CTRUNC) != 0 {
        return Err(format!("a message of more than {} bytes or fds", buf.len()));
    }
    if n < MSG_HEADER {
        return Err(format!("a message of {n} bytes, shorter than its header"));
    }
    let u16_at = |o: usize| usize::from(u16::from_ne_bytes([buf[o], buf[o + 1]]));
    let (notif, resp) = (u16_at(16), u16_at(18));
    if notif < MIN_NOTIF || resp < MIN_RESP || n < MSG_HEADER + notif + resp {
        return Err(format!(
            "a message of {n} bytes with seccomp_notif {notif} and seccomp_notif_resp {resp} \
             bytes"
        ));
    }
    // The same layout back, without the cookie: __reserved 0, the request as it came, and
    // resp = {id of the request, val 0, error 0, flags 0}: the syscall returns 0.
    let mut reply = buf[..MSG_HEADER + notif + resp].to_vec();
    reply[..8].fill(0);
    let at = MSG_HEADER + notif;
    reply[at..at + resp].fill(0);
    reply.copy_within(MSG_HEADER..MSG_HEADER + 8, at);
    // SAFETY: `reply` is a live buffer of reply.len() bytes.
    let sent = unsafe {
        libc::send(
            conn.as_raw_fd(),
            reply.as_ptr().cast(),
            reply.len(),
            libc::MSG_NOSIGNAL,
        )
    };
    if sent < 0 {
        return Err(format!("send: {}", io::Error::last_os_error()));
    }
    if sent as usize != reply.len() {
        return Err(format!("sent {sent} of {} bytes", reply.len()));
    }
    Ok(Answer::Answered(fds.len()))
}

/// The fds of a received message's SCM_RIGHTS, owned (closed on drop).
fn received_fds(msg: &libc::msghdr) -> Vec<OwnedFd> {
    let mut out = Vec::new();
    // SAFETY: `msg` was filled by recvmsg; CMSG_FIRSTHDR / CMSG_NXTHDR stay inside its
    // msg_control buffer of msg_controllen bytes, which the caller keeps alive.
    let mut c = unsafe { libc::CMSG_FIRSTHDR(msg) };
    while !c.is_null() {
        // SAFETY: `c` is a non-null header inside the control buffer (see above).
        let h = unsafe { &*c };
        if h.cmsg_level == libc::SOL_SOCKET && h.cmsg_type == libc::SCM_RIGHTS {
            // SAFETY: CMSG_LEN only computes a length.
            let head = unsafe { libc::CMSG_LEN(0) } as usize;
            let count = (h.cmsg_len as usize).saturating_sub(head) / mem::size_of::<RawFd>();
            // SAFETY: the data of an SCM_RIGHTS header holds `count` fds, possibly unaligned.
            let data = unsafe { libc::CMSG_DATA(c) }.cast::<RawFd>();
            for i in 0..count {
                // SAFETY: `i < count`, inside the header's data (see above).
                let fd = unsafe { data.add(i).read_unaligned() };
                if fd >= 0 {
                    // SAFETY: the kernel installed this fd for us with the message; nothing
                    // else owns it.
                    out.push(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
        }
        // SAFETY: as for CMSG_FIRSTHDR; returns null after the last header.
        c = unsafe { libc::CMSG_NXTHDR(msg, c) };
    }
    out
}

fn seqpacket_listener(path: &Path) -> io::Result<OwnedFd> {
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: sockaddr_un is plain data; all zero is valid.
    let mut addr: libc::sockaddr_un = unsafe { mem::zeroed() };
    if bytes.len() >= addr.sun_path.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "path too long for a unix socket",
        ));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    // SAFETY: socket() takes no pointers.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket() and is owned by no one else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: `addr` is an initialized sockaddr_un and the length given is its size.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_un).cast(),
            mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: no pointers; `fd` is a bound socket we own.
    if unsafe { libc::listen(fd.as_raw_fd(), 16) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

/// A close-on-exec pipe: (read end, write end).
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1; 2];
    // SAFETY: `fds` is an array of two ints, as pipe2 requires.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both were just returned by pipe2 and are owned by no one else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}
