//! `core_scheduling` on real containers: `lxc.sched.core = 1` gives init a core-scheduling
//! cookie of its own, read back with PR_SCHED_CORE_GET, and a process `attach` starts shares
//! it. This machine's kernel has no CONFIG_SCHED_CORE, nor has Debian's 6.1: there the test
//! checks the start's clear refusal naming the key. The working path runs in the qemu guest
//! that boots Ubuntu's 6.8 kernel on a CPU with SMT (`cargo xtask test-matrix --kernel
//! lxc-cli/core_scheduling`). Needs root.

mod common;

use std::fs;
use std::io;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{lxc_rs, show, stderr, stdout, TestContainer, BIN};

const PR_SCHED_CORE: libc::c_int = 62;
const PR_SCHED_CORE_GET: libc::c_ulong = 0;
const SCOPE_THREAD: libc::c_ulong = 0;

/// The core-scheduling cookie of `pid` (0: none); EINVAL when the kernel lacks the feature.
fn cookie(pid: i32) -> io::Result<u64> {
    let mut c: u64 = 0;
    // SAFETY: the kernel writes one u64 to `c`, which lives across the call.
    let r = unsafe {
        libc::prctl(
            PR_SCHED_CORE,
            PR_SCHED_CORE_GET,
            pid as libc::c_ulong,
            SCOPE_THREAD,
            &mut c as *mut u64 as libc::c_ulong,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(c)
    }
}

#[test]
fn sched_core_parses_and_prints_like_lxc() {
    if !lxc::has_api_extension("core_scheduling") {
        eprintln!("SKIP: this build lacks core_scheduling");
        return;
    }
    let dir = std::env::temp_dir().join(format!("lxcrs-t-schedcfg-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("config");
    fs::write(&cfg, "lxc.uts.name = x\n").unwrap();
    let f = cfg.to_str().unwrap();
    let get = || stdout(&lxc_rs(&["config", "get", "-f", f, "lxc.sched.core"]));
    assert_eq!(get().trim(), "0");
    fs::write(&cfg, "lxc.sched.core = 1\n").unwrap();
    assert_eq!(get().trim(), "1");
    fs::write(&cfg, "lxc.sched.core = 2\n").unwrap();
    let o = lxc_rs(&["config", "get", "-f", f, "lxc.sched.core"]);
    assert_ne!(o.status.code(), Some(0), "{}", show(&o));
    assert!(stderr(&o).contains("lxc.sched.core"), "{}", show(&o));
    fs::remove_dir_all(&dir).unwrap();
}

/// The attached `sleep SECS` in the container of `init`, as the host sees it.
fn find_attached(init: i32, secs: &str) -> Option<i32> {
    let want = format!("sleep\0{secs}\0");
    let ns = fs::read_link(format!("/proc/{init}/ns/pid")).ok()?;
    fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = fs::read(e.path().join("cmdline")).ok()?;
        (cmd == want.as_bytes() && fs::read_link(e.path().join("ns/pid")).ok()? == ns)
            .then_some(pid)
    })
}

/// Whether the kernel has core scheduling (PR_SCHED_CORE_GET on ourselves: EINVAL without)
/// and uses SMT (without it there is nothing to isolate and LXC starts without a domain). In
/// the qemu guest of `cargo xtask test-matrix --kernel` (`LXC_RS_GUEST=1`), which boots a
/// kernel with it on a CPU with SMT, lacking either fails the test, so it never passes unrun.
fn sched_core_and_smt() -> (bool, bool) {
    let supported = match cookie(0) {
        Ok(_) => true,
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => false,
        Err(e) => panic!("PR_SCHED_CORE_GET on ourselves: {e}"),
    };
    let smt =
        fs::read_to_string("/sys/devices/system/cpu/smt/active").is_ok_and(|s| s.trim() == "1");
    assert!(
        std::env::var_os("LXC_RS_GUEST").is_none_or(|v| v != "1") || (supported && smt),
        "LXC_RS_GUEST=1, but this kernel lacks core scheduling ({supported}) or SMT ({smt})"
    );
    (supported, smt)
}

#[test]
fn sched_core_gives_init_a_domain_and_attach_joins_it() {
    require_root!();
    if !lxc::has_api_extension("core_scheduling") {
        eprintln!("SKIP: this build lacks core_scheduling");
        return;
    }
    let t = TestContainer::busybox("schedcore");
    t.append_config("lxc.sched.core = 1\n");
    let (supported, smt) = sched_core_and_smt();
    if !supported {
        // LXC's rule: a kernel without core scheduling fails the start, naming the key.
        let o = t.lxc(&["start"]);
        assert_eq!(o.status.code(), Some(1), "{}", show(&o));
        let err = stderr(&o);
        assert!(err.contains("lxc.sched.core"), "{err}");
        assert!(err.contains("does not support core scheduling"), "{err}");
        assert_eq!(t.state(), "STOPPED");
        t.assert_nothing_left();
        eprintln!(
            "SKIP: this kernel lacks CONFIG_SCHED_CORE: the refusal is checked; the domain \
             itself runs in `cargo xtask test-matrix --kernel lxc-cli/core_scheduling` (Ubuntu's \
             6.8 kernel)"
        );
        return;
    }
    t.ok(&["start"]);
    let init = t.init_pid();
    let ours = cookie(init).unwrap();
    if !smt {
        // LXC's rule: no SMT, nothing to isolate; the container runs without a domain.
        assert_eq!(ours, 0);
        eprintln!("SKIP: no SMT here, the container started without a domain as LXC's does");
        return;
    }
    assert_ne!(ours, 0, "init has no core-scheduling cookie");
    assert_eq!(cookie(0).unwrap(), 0, "the test itself is in no domain");

    // Another container with the key gets a domain of its own, not this one's.
    let other = TestContainer::busybox("schedcore2");
    other.append_config("lxc.sched.core = 1\n");
    other.ok(&["start"]);
    let theirs = cookie(other.init_pid()).unwrap();
    assert_ne!(theirs, 0, "the second container's init has no cookie");
    assert_ne!(
        theirs, ours,
        "two containers share one core-scheduling domain"
    );
    other.ok(&["stop", "-k"]);
    other.assert_nothing_left();

    // A process attach starts in the container's pid namespace takes init's cookie.
    let secs = "86399";
    let mut attached = Command::new(BIN)
        .args([
            "attach",
            "-n",
            &t.name,
            "-P",
            t.lxcpath_str(),
            "--",
            "sleep",
            secs,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let pid = loop {
        if let Some(p) = find_attached(init, secs) {
            break p;
        }
        assert!(
            Instant::now() < deadline,
            "the attached sleep never showed up"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(cookie(pid).unwrap(), ours, "attached process's cookie");
    t.ok(&["stop", "-k"]);
    let status = attached.wait().unwrap();
    assert!(!status.success());
    t.assert_nothing_left();
}

#[test]
fn without_the_key_init_has_no_domain() {
    require_root!();
    if !lxc::has_api_extension("core_scheduling") {
        eprintln!("SKIP: this build lacks core_scheduling");
        return;
    }
    let (supported, _) = sched_core_and_smt();
    if !supported {
        eprintln!(
            "SKIP: this kernel lacks CONFIG_SCHED_CORE, so no process has a cookie to read; \
             runs in `cargo xtask test-matrix --kernel lxc-cli/core_scheduling`"
        );
        return;
    }
    let t = TestContainer::busybox("schedcore-off");
    t.ok(&["start"]);
    assert_eq!(
        cookie(t.init_pid()).unwrap(),
        0,
        "init got a cookie unasked"
    );
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}
