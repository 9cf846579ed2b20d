//! liblxc's small API points on real containers: `may_control`, `set_timeout`,
//! `want_close_all_fds`, `clear_config`, and `lxc_get_version` with the version constants.

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{show, TestContainer};

/// The env variable that turns this test binary into a helper for another test.
const HELPER: &str = "LXCRS_T_API_HELPER";

fn handle(t: &TestContainer) -> lxc::Container {
    lxc::Container::new(&t.name, Some(&t.lxcpath)).expect("a handle")
}

/// This test binary, running only `test` (a helper) with `HELPER=arg`.
fn helper(test: &str, arg: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(HELPER, arg)
        .env(common::GLOBAL_CONF_ENV, common::TEST_GLOBAL_CONF);
    cmd
}

/// Not a test of its own: `may_control_refuses_a_stranger` runs this as nobody; it prints
/// `may_control=BOOL` for the container `NAME LXCPATH`.
#[test]
fn may_control_helper() {
    let Ok(arg) = std::env::var(HELPER) else {
        return;
    };
    let (name, lxcpath) = arg.split_once(' ').unwrap();
    let c = lxc::Container::new_unloaded(name, Some(std::path::Path::new(lxcpath))).unwrap();
    println!("may_control={}", c.may_control());
}

fn may_control_as_nobody(t: &TestContainer) -> String {
    let o = helper(
        "may_control_helper",
        &format!("{} {}", t.name, t.lxcpath_str()),
    )
    .uid(65534)
    .gid(65534)
    .output()
    .expect("run the helper as nobody");
    assert!(o.status.success(), "{}", show(&o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .find_map(|l| l.split("may_control=").nth(1).map(str::to_string))
        .unwrap_or_else(|| panic!("no answer: {}", show(&o)))
}

#[test]
fn may_control_refuses_a_stranger_of_a_running_container() {
    require_root!();
    let t = TestContainer::busybox("may-control");
    let c = handle(&t);
    // Nothing runs it: nobody is refused anything (liblxc's answer too).
    assert!(c.may_control());
    assert_eq!(may_control_as_nobody(&t), "true");
    t.ok(&["start"]);
    assert!(c.may_control(), "root may control it");
    assert_eq!(
        may_control_as_nobody(&t),
        "false",
        "nobody is refused by the monitor"
    );
    t.ok(&["stop", "-k"]);
    assert!(c.may_control());
}

#[test]
fn set_timeout_bounds_a_request_to_a_stuck_monitor() {
    require_root!();
    let t = TestContainer::busybox("set-timeout");
    let mut c = handle(&t);
    assert_eq!(c.timeout(), Some(Duration::from_secs(10)), "the default");
    assert!(
        c.set_timeout(Some(Duration::ZERO)).is_err(),
        "0 is refused, as liblxc's"
    );
    t.ok(&["start"]);
    let init = c.init_pid().expect("init pid");
    let status = fs::read_to_string(format!("/proc/{init}/status")).unwrap();
    let monitor: i32 = status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .and_then(|p| p.trim().parse().ok())
        .expect("init's parent, the monitor");
    c.set_timeout(Some(Duration::from_millis(300))).unwrap();
    // A monitor that does not answer: the request gives up, with ETIMEDOUT.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(monitor),
        nix::sys::signal::SIGSTOP,
    )
    .unwrap();
    let stuck = c.init_pid();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(monitor),
        nix::sys::signal::SIGCONT,
    )
    .unwrap();
    match stuck {
        Err(lxc::Error::Command { errno, .. }) => assert_eq!(errno, libc::ETIMEDOUT),
        other => panic!("a stopped monitor answered: {other:?}"),
    }
    // No limit, and the monitor answers again.
    c.set_timeout(None).unwrap();
    assert_eq!(c.timeout(), None);
    assert_eq!(c.init_pid().unwrap(), init);
    t.ok(&["stop", "-k"]);
}

/// Not a test of its own: `want_close_all_fds_closes_inherited_fds` runs this with
/// `HELPER="NAME LXCPATH FIFO"`: it opens FIFO for writing, without close-on-exec as an fd
/// inherited through exec would be, and starts the container in the foreground with
/// `want_close_all_fds(true)` (and `StartOptions::close_all_fds` false).
#[test]
fn start_foreground_helper() {
    let Ok(arg) = std::env::var(HELPER) else {
        return;
    };
    let mut words = arg.split(' ');
    let (name, lxcpath, fifo) = (
        words.next().unwrap(),
        words.next().unwrap(),
        words.next().unwrap(),
    );
    let held = fs::OpenOptions::new().write(true).open(fifo).unwrap();
    nix::fcntl::fcntl(
        &held,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
    )
    .unwrap();
    // Open until this process ends, unless want_close_all_fds closes it: a raw fd, which
    // nothing here closes (an OwnedFd would find it gone).
    let _held = std::os::fd::IntoRawFd::into_raw_fd(held);
    let mut c = lxc::Container::new(name, Some(std::path::Path::new(lxcpath))).unwrap();
    c.want_close_all_fds(true);
    assert!(c.close_all_fds());
    let opts = lxc::StartOptions {
        mode: lxc::StartMode::Start,
        argv: vec!["/bin/sleep".into(), "1000".into()],
        inherit_stdio: false,
        close_all_fds: false,
    };
    println!("started");
    let exit = c.start_foreground(&opts);
    println!("exit={exit:?}");
}

#[test]
fn want_close_all_fds_closes_inherited_fds() {
    require_root!();
    let t = TestContainer::busybox("close-all-fds");
    let fifo = t.lxcpath.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let mut child = helper(
        "start_foreground_helper",
        &format!("{} {} {}", t.name, t.lxcpath_str(), fifo.display()),
    )
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .spawn()
    .expect("run the helper");
    // Opening blocks until the helper opens its end; EOF comes when its copy is closed. The
    // reading is bounded, so that a helper that keeps it open fails the test, not hangs it.
    let (tx, rx) = std::sync::mpsc::channel();
    let reading = fifo.clone();
    std::thread::spawn(move || {
        let mut rest = Vec::new();
        let eof = fs::File::open(reading).and_then(|mut r| r.read_to_end(&mut rest));
        let _ = tx.send(eof.is_ok());
    });
    let eof = rx.recv_timeout(Duration::from_secs(60)).unwrap_or(false);
    let running_then = eof && child.try_wait().unwrap().is_none();
    let came_up = t.wait_state("RUNNING", Duration::from_secs(30));
    let state = t.state();
    let _ = t.lxc(&["stop", "-k"]);
    let status = child.wait().unwrap();
    let out: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .collect();
    assert!(came_up, "the container did not start ({state}): {out:?}");
    assert!(
        running_then,
        "the fd stayed open until the helper ended: {status} {out:?}"
    );
    assert!(status.success(), "{status} {out:?}");
}

#[test]
fn clear_config_empties_the_loaded_config_only() {
    require_root!();
    let t = TestContainer::busybox("clear-config");
    let mut c = handle(&t);
    let before = fs::read(t.config_file()).unwrap();
    assert_eq!(c.get_config_item("lxc.uts.name").unwrap(), t.name);
    c.clear_config();
    assert_eq!(c.config().entries().count(), 0);
    assert_eq!(c.get_config_item("lxc.uts.name").unwrap_or_default(), "");
    assert!(c.is_defined(), "the file stays");
    assert_eq!(fs::read(t.config_file()).unwrap(), before);
    // A new config from nothing, then the file's again.
    c.set_config_item("lxc.uts.name", "other").unwrap();
    assert_eq!(c.config().entries().count(), 1);
    c.load_config(None).unwrap();
    assert_eq!(c.get_config_item("lxc.uts.name").unwrap(), t.name);
}

#[test]
fn lxc_get_version_is_the_lxc_release_followed() {
    assert_eq!(lxc::lxc_get_version(), "5.0.2");
    assert_eq!(
        (
            lxc::LXC_VERSION_MAJOR,
            lxc::LXC_VERSION_MINOR,
            lxc::LXC_VERSION_MICRO
        ),
        (5, 0, 2)
    );
    assert_eq!(lxc::LXCRS_VERSION, env!("CARGO_PKG_VERSION"));
    // Debian's LXC, when installed, reports the same release.
    match Command::new("lxc-info").arg("--version").output() {
        Ok(o) if o.status.success() => {
            assert_eq!(
                String::from_utf8_lossy(&o.stdout).trim(),
                lxc::lxc_get_version()
            )
        }
        _ => eprintln!("SKIP: lxc-info is not installed: not compared with LXC's version"),
    }
}
