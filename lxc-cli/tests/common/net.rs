//! The network tests' fixtures (net_veth, net_extensions, net_types, net_api): a network
//! namespace standing in for the host, containers whose lxc-rs commands run inside it, and the
//! checks that nothing of a container's network is left.
//!
//! Nothing here touches the machine's own interfaces. [`TestNet::new`] makes
//! `lxcrs-t-ns-<test>-<pid>` with a bridge [`BRIDGE`] ([`HOST_V4`]/24, [`HOST_V6`]/64);
//! [`TestNet::with_far_end`] makes it without the bridge and with a second namespace,
//! `lxcrs-t-nf-<test>-<pid>`, for the far ends of the test's own devices. Every lxc-rs command
//! of a [`NetContainer`] runs in the first one with `nsenter --net`, so the monitor's "host"
//! side, the host ends of its links and its command socket (abstract sockets belong to a
//! network namespace) are all in there. Not `ip netns exec`: it remounts /sys, which hides the
//! cgroup hierarchies. The namespaces go when the [`TestNet`] drops.

use std::fs;
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{show, stderr, stdout, TestContainer, BIN};

/// The host stand-in's bridge and its addresses.
pub const BRIDGE: &str = "br0";
pub const HOST_V4: &str = "10.250.0.1";
pub const HOST_V6: &str = "fd00:250::1";

/// How long a check waits for what goes in the background: a namespace's devices (a veth pair
/// goes with the container's network namespace), and the routes through them.
pub const SETTLE: Duration = Duration::from_secs(5);

/// The network plugins `plugins` (`veth`, `phys`, ...) must sit next to the binary under test:
/// that is where it looks for them.
pub fn require_plugins(plugins: &[&str]) {
    for p in plugins {
        let so = Path::new(BIN).with_file_name(format!("liblxc_net_plugin_{p}.so"));
        assert!(
            so.is_file(),
            "{} is missing: build the network plugins first (`cargo build -p \
             lxc-net-plugin-{p}`; `cargo xtask test` builds them all)",
            so.display()
        );
    }
}

/// Run `cmd` to its end, stdin closed.
pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {:?}: {e}", cmd.get_program()))
}

/// `ip ARGS` that must succeed; its stdout.
pub fn ip_ok(args: &[&str]) -> String {
    let o = run(Command::new("ip").args(args));
    assert!(o.status.success(), "ip {args:?}: {}", show(&o));
    stdout(&o)
}

/// `sample` every 50 ms until `done` says yes or `within` has passed: the last sample.
pub fn eventually<T>(
    within: Duration,
    mut sample: impl FnMut() -> T,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + within;
    let mut now = sample();
    while !done(&now) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        now = sample();
    }
    now
}

/// A network namespace standing in for the host (and, for [`TestNet::with_far_end`], the far
/// namespace beside it).
pub struct TestNet {
    pub name: String,
    pub far: Option<String>,
}

impl TestNet {
    /// The host stand-in with its bridge, up, with [`HOST_V4`]/24 and [`HOST_V6`]/64.
    pub fn new(test: &str) -> TestNet {
        let net = TestNet {
            name: Self::fresh(&format!("lxcrs-t-ns-{test}-{}", std::process::id())),
            far: None,
        };
        net.ip_in(&["link", "add", BRIDGE, "type", "bridge"]);
        net.ip_in(&["addr", "add", &format!("{HOST_V4}/24"), "dev", BRIDGE]);
        net.ip_in(&[
            "-6",
            "addr",
            "add",
            &format!("{HOST_V6}/64"),
            "dev",
            BRIDGE,
            "nodad",
        ]);
        net.ip_in(&["link", "set", BRIDGE, "up"]);
        net
    }

    /// The host stand-in without a bridge, and a far namespace for the other ends of the
    /// test's devices.
    pub fn with_far_end(test: &str) -> TestNet {
        let pid = std::process::id();
        TestNet {
            name: Self::fresh(&format!("lxcrs-t-ns-{test}-{pid}")),
            far: Some(Self::fresh(&format!("lxcrs-t-nf-{test}-{pid}"))),
        }
    }

    /// A namespace `name` (not the container's: the fixture counts anything carrying that as
    /// left over), made afresh, with `lo` up.
    fn fresh(name: &str) -> String {
        let _ = run(Command::new("ip").args(["netns", "del", name]));
        ip_ok(&["netns", "add", name]);
        ip_ok(&["-n", name, "link", "set", "lo", "up"]);
        name.to_string()
    }

    pub fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    /// `ip -n NAME ARGS` that must succeed.
    pub fn ip_in(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        ip_ok(&all)
    }

    /// `ip -n FAR ARGS` that must succeed, in the far namespace.
    pub fn far_in(&self, args: &[&str]) -> String {
        let far = self.far.as_deref().expect("a TestNet made with_far_end");
        let mut all = vec!["-n", far];
        all.extend_from_slice(args);
        ip_ok(&all)
    }

    /// `ip -n NAME -j ARGS`, parsed (`[]` for no output, as `ip` prints nothing then).
    pub fn ip_json(&self, args: &[&str]) -> Vec<Value> {
        let mut all = vec!["-j"];
        all.extend_from_slice(args);
        let out = self.ip_in(&all);
        if out.trim().is_empty() {
            return Vec::new();
        }
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("ip -j {args:?}: {e}: {out}"))
    }

    /// The links, as `ip -j -d link` shows them.
    pub fn links(&self) -> Vec<Value> {
        self.ip_json(&["-d", "link", "show"])
    }

    pub fn link(&self, name: &str) -> Option<Value> {
        self.links().into_iter().find(|l| l["ifname"] == name)
    }

    /// The links' names, in the kernel's order.
    pub fn link_names(&self) -> Vec<String> {
        self.ip_json(&["link", "show"])
            .iter()
            .filter_map(|l| l["ifname"].as_str().map(str::to_string))
            .collect()
    }

    /// The veth host ends.
    pub fn veths(&self) -> Vec<Value> {
        self.links()
            .into_iter()
            .filter(|l| l["linkinfo"]["info_kind"] == "veth")
            .collect()
    }

    /// The proxy neighbour entries, as (address, device).
    pub fn proxies(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for family in ["-4", "-6"] {
            for n in self.ip_json(&[family, "neigh", "show", "proxy"]) {
                out.push((
                    n["dst"].as_str().unwrap_or_default().to_string(),
                    n["dev"].as_str().unwrap_or_default().to_string(),
                ));
            }
        }
        out
    }

    /// The routes of both families, as `ip -j route` shows them.
    pub fn routes(&self) -> Vec<Value> {
        let mut out = self.ip_json(&["-4", "route", "show"]);
        out.extend(self.ip_json(&["-6", "route", "show"]));
        out
    }

    /// Write a sysctl of the namespace (`net/ipv4/conf/br0/forwarding`).
    pub fn sysctl(&self, key: &str, value: &str) {
        let o = self.run_in("sh", &["-c", &format!("echo {value} > /proc/sys/{key}")]);
        assert!(o.status.success(), "sysctl {key}={value}: {}", show(&o));
    }

    /// `cmd` run inside the namespace (`nsenter --net`).
    pub fn run_in(&self, cmd: &str, args: &[&str]) -> Output {
        run(Command::new("nsenter")
            .arg(format!("--net={}", self.path()))
            .arg(cmd)
            .args(args))
    }

    /// busybox's ping from the namespace (the host has no ping of its own).
    pub fn ping(&self, addr: &str) -> Output {
        self.run_in("busybox", &["ping", "-c", "1", "-W", "2", addr])
    }

    /// Ping until it answers (a fresh IPv6 address or link is tentative for a moment).
    pub fn ping_within(&self, addr: &str, within: Duration) {
        let o = eventually(within, || self.ping(addr), |o| o.status.success());
        assert!(
            o.status.success(),
            "ping {addr} from {}: {}",
            self.name,
            show(&o)
        );
    }

    /// `f` on a thread that entered the namespace: for the API, which finds the monitor's
    /// abstract socket in the caller's network namespace.
    pub fn call<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = self.path();
        std::thread::spawn(move || {
            let ns = fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
            nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            f()
        })
        .join()
        .expect("the API thread")
    }

    /// Wait (up to [`SETTLE`]: a namespace's devices go with it asynchronously) until only `lo`
    /// and the bridge are left and no proxy entry, then assert it.
    pub fn assert_only_bridge_left(&self) {
        let (names, proxies) = eventually(
            SETTLE,
            || (self.link_names(), self.proxies()),
            |(names, proxies)| names.len() <= 2 && proxies.is_empty(),
        );
        assert_eq!(names, ["lo", BRIDGE], "links left in {}", self.name);
        assert_eq!(proxies, [], "proxy entries left in {}", self.name);
    }

    /// Wait (up to [`SETTLE`]: a route through a veth's host end goes with the end, which goes
    /// with the container's namespace) until no route to any of `dsts` (as `ip -j route` names
    /// them) is left, then assert it.
    pub fn assert_no_routes_to(&self, dsts: &[&str]) {
        let left = |routes: &Vec<Value>| -> Vec<Value> {
            routes
                .iter()
                .filter(|r| dsts.iter().any(|d| r["dst"] == *d))
                .cloned()
                .collect()
        };
        let routes = eventually(SETTLE, || self.routes(), |r| left(r).is_empty());
        assert_eq!(
            left(&routes),
            Vec::<Value>::new(),
            "routes left in {}",
            self.name
        );
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        for ns in std::iter::once(&self.name).chain(&self.far) {
            let o = run(Command::new("ip").args(["netns", "del", ns]));
            if !std::thread::panicking() {
                assert!(o.status.success(), "ip netns del {ns}: {}", show(&o));
                assert!(
                    !Path::new("/run/netns").join(ns).exists(),
                    "{ns} left behind"
                );
            }
        }
    }
}

/// A busybox container whose lxc-rs commands run in a [`TestNet`]. Its init is busybox's,
/// without the template's `udhcpc`, which would flush the addresses lxc-rs sets.
pub struct NetContainer<'a> {
    pub net: &'a TestNet,
    pub t: TestContainer,
    /// The container's network namespace (`net:[inode]`), once it ran.
    pub netns: Option<String>,
}

impl<'a> NetContainer<'a> {
    pub fn new(net: &'a TestNet, test: &str, config: &str) -> NetContainer<'a> {
        let t = TestContainer::busybox(test);
        no_udhcpc(&t);
        t.append_config(config);
        NetContainer {
            net,
            t,
            netns: None,
        }
    }

    /// `nsenter --net=<test netns> lxc-rs <command> -n NAME -P LXCPATH <rest...>`, with `env`
    /// added to its environment.
    pub fn lxc_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let (command, rest) = args.split_first().expect("a command");
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", self.net.path()))
            .arg(BIN)
            .arg(command)
            .args(["-n", &self.t.name, "-P", self.t.lxcpath_str()])
            .args(rest);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run(&mut cmd)
    }

    pub fn lxc(&self, args: &[&str]) -> Output {
        self.lxc_env(args, &[])
    }

    /// A command that must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.lxc(args);
        assert!(o.status.success(), "lxc-rs {args:?}: {}", show(&o));
        stdout(&o)
    }

    /// A command that must fail with status 1, nothing on stdout and one line on stderr;
    /// returns that line.
    pub fn fails(&self, args: &[&str]) -> String {
        let o = self.lxc(args);
        assert_eq!(o.status.code(), Some(1), "lxc-rs {args:?}: {}", show(&o));
        assert_eq!(stdout(&o), "", "lxc-rs {args:?}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        err
    }

    /// Start it, and note its network namespace for [`NetContainer::assert_network_gone`].
    pub fn start(&mut self) {
        self.ok(&["start"]);
        self.note_netns();
    }

    /// Note the running init's network namespace (again, after a reboot), whose release
    /// [`NetContainer::assert_container_gone`] checks.
    pub fn note_netns(&mut self) {
        self.netns = Some(
            fs::read_link(format!("/proc/{}/ns/net", self.init_pid()))
                .expect("init's netns")
                .display()
                .to_string(),
        );
    }

    /// A start that must fail: its one-line error.
    pub fn start_fails(&self) -> String {
        let o = self.lxc(&["start"]);
        assert_eq!(o.status.code(), Some(1), "{}", show(&o));
        let err = stderr(&o);
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert_eq!(self.ok(&["state"]).trim(), "STOPPED");
        eprintln!("the start failed as it should: {}", err.trim());
        err
    }

    pub fn init_pid(&self) -> i32 {
        let info: Value = serde_json::from_str(&self.ok(&["info", "--json"])).expect("JSON");
        info["pid"]
            .as_i64()
            .unwrap_or_else(|| panic!("no pid: {info}")) as i32
    }

    /// The host's `ip -j -d ARGS` inside the container's network namespace, parsed (`[]` for
    /// no output).
    pub fn ip_inside(&self, args: &[&str]) -> Value {
        let o = run(Command::new("nsenter")
            .arg(format!("--net=/proc/{}/ns/net", self.init_pid()))
            .args(["ip", "-j", "-d"])
            .args(args));
        assert!(o.status.success(), "ip {args:?} inside: {}", show(&o));
        let out = stdout(&o);
        if out.trim().is_empty() {
            return Value::Array(Vec::new());
        }
        serde_json::from_str(&out).expect("ip -j")
    }

    /// One ping from inside (`lxc-rs attach`) to `addr`, which must answer.
    pub fn ping(&self, addr: &str) {
        self.ok(&["attach", "--", "ping", "-c", "1", "-W", "5", addr]);
    }

    pub fn stop(&self) {
        self.ok(&["stop", "-t", "5"]);
        assert_eq!(self.ok(&["state"]).trim(), "STOPPED");
    }

    /// Nothing of the container's network is left: no link but the bridge and no proxy entry
    /// in the test's namespace, and [`NetContainer::assert_container_gone`].
    pub fn assert_network_gone(&self) {
        self.net.assert_only_bridge_left();
        self.assert_container_gone();
    }

    /// Nobody holds the container's network namespace (once it ran), no command socket of it
    /// is left in the test's namespace, and the fixture's checks (cgroups, processes, mounts).
    pub fn assert_container_gone(&self) {
        if let Some(ns) = &self.netns {
            let held = eventually(SETTLE, || holders(ns), Vec::is_empty);
            assert!(held.is_empty(), "{ns} still held by: {held:?}");
        }
        let o = self.net.run_in("cat", &["/proc/net/unix"]);
        let socks: Vec<String> = stdout(&o)
            .lines()
            .filter(|l| l.contains(&self.t.name))
            .map(str::to_string)
            .collect();
        assert!(socks.is_empty(), "sockets left: {socks:?}");
        self.t.assert_nothing_left();
    }
}

impl Drop for NetContainer<'_> {
    fn drop(&mut self) {
        // The monitor answers only inside the test's namespace: stop it there, before the
        // fixture (which asks from outside) destroys the container.
        let state = self.lxc(&["state"]);
        if state.status.success() && stdout(&state).trim() != "STOPPED" {
            let _ = self.lxc(&["stop", "-k"]);
        }
    }
}

/// Take the busybox template's `udhcpc` out of the container's rcS (it would flush the
/// addresses lxc-rs sets).
pub fn no_udhcpc(t: &TestContainer) {
    let rcs = t.lxcpath.join(&t.name).join("rootfs/etc/init.d/rcS");
    let text = fs::read_to_string(&rcs).expect("the template's rcS");
    fs::write(&rcs, text.replace("/bin/udhcpc\n", "")).expect("write rcS");
}

/// Processes (by namespace link or open fd) holding the network namespace `ns` (`net:[N]`).
pub fn holders(ns: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let pid = e.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let p = e.path();
        if fs::read_link(p.join("ns/net")).is_ok_and(|l| l.display().to_string() == *ns) {
            out.push(format!("process {pid}"));
            continue;
        }
        if let Ok(fds) = fs::read_dir(p.join("fd")) {
            for fd in fds.flatten() {
                if fs::read_link(fd.path()).is_ok_and(|l| l.display().to_string() == *ns) {
                    out.push(format!(
                        "process {pid} fd {}",
                        fd.file_name().to_string_lossy()
                    ));
                }
            }
        }
    }
    out
}

/// The PID of the monitor of container `name` (its `lxc-rs start` process, not the cleanup
/// watchdog forked from it).
pub fn monitor_pid(name: &str) -> i32 {
    fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let cmdline = fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let comm = fs::read_to_string(e.path().join("comm")).ok()?;
            // A daemonized monitor is titled as LXC's, `[lxc monitor] LXCPATH NAME`; its
            // watchdog `[lxc-rs cleanup] LXCPATH NAME`; a foreground one keeps its command line.
            let titled = cmdline.starts_with("[lxc monitor] ")
                && cmdline.trim_end().ends_with(&format!(" {name}"));
            let foreground = cmdline.contains(name)
                && cmdline.contains(" start ")
                && !cmdline.contains("cleanup")
                && !comm.contains("cleanup");
            (titled || foreground).then_some(pid)
        })
        .min()
        .expect("the monitor")
}

/// SIGKILL the monitor of `t` (its cleanup watchdog then undoes the start).
pub fn kill_monitor(t: &TestContainer) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(monitor_pid(&t.name)),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the monitor");
}
