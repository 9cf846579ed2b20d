//! A running container's interfaces: `get_interfaces` / `get_ips` (the API, and `info -i`,
//! `info --json`, `ls --fancy`), and `attach_interface` / `detach_interface` (`device add|del`).
//! Needs root and the veth plugin next to the binary (`cargo build -p lxc-net-plugin-veth -p
//! lxc-net-plugin-template`; `cargo xtask test` builds it).
//!
//! As in `net_veth.rs`, nothing touches the machine's own interfaces: each test makes a network
//! namespace (`lxcrs-t-ns-<test>-<pid>`) with a bridge `br0` and runs every command in it with
//! `nsenter --net` (the command sockets are abstract, so they live in that namespace too); the
//! API is called from a thread that entered it. Where LXC's tools are installed, a container
//! LXC runs in the same namespace is shown by `lxc-ls` / `lxc-info` and by lxc-rs, and the
//! outputs compared.

mod common;

use std::fs;
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{show, stderr, stdout, TestContainer, BIN};

const BRIDGE: &str = "br0";

fn require_plugins() {
    let so = Path::new(BIN).with_file_name("liblxc_net_plugin_veth.so");
    assert!(
        so.is_file(),
        "{} is missing: build the network plugins first (`cargo build -p lxc-net-plugin-veth \
         -p lxc-net-plugin-template`; `cargo xtask test` does)",
        so.display()
    );
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {:?}: {e}", cmd.get_program()))
}

/// A network namespace standing in for the host, with its bridge (10.250.0.1/24).
struct TestNet {
    name: String,
}

impl TestNet {
    fn new(test: &str) -> TestNet {
        let name = format!("lxcrs-t-ns-{test}-{}", std::process::id());
        let _ = run(Command::new("ip").args(["netns", "del", &name]));
        let net = TestNet { name };
        net.ip_ok(&["netns", "add", &net.name]);
        net.ip_in(&["link", "set", "lo", "up"]);
        net.ip_in(&["link", "add", BRIDGE, "type", "bridge"]);
        net.ip_in(&["addr", "add", "10.250.0.1/24", "dev", BRIDGE]);
        net.ip_in(&["link", "set", BRIDGE, "up"]);
        net
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    fn ip_ok(&self, args: &[&str]) -> String {
        let o = run(Command::new("ip").args(args));
        assert!(o.status.success(), "ip {args:?}: {}", show(&o));
        stdout(&o)
    }

    /// `ip -n NAME ARGS` that must succeed.
    fn ip_in(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        self.ip_ok(&all)
    }

    /// The links of the namespace: (name, MAC, up) each.
    fn links(&self) -> Vec<(String, String, bool)> {
        links_of(&self.ip_in(&["-j", "link", "show"]))
    }

    /// `cmd` run inside the namespace (`nsenter --net`).
    fn run_in(&self, cmd: &str, args: &[&str]) -> Output {
        run(Command::new("nsenter")
            .arg(format!("--net={}", self.path()))
            .arg(cmd)
            .args(args))
    }

    /// `f` on a thread that entered the namespace: for the API, which finds the monitor's
    /// abstract socket in the caller's network namespace.
    fn call<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = self.path();
        std::thread::spawn(move || {
            let ns = fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
            nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            f()
        })
        .join()
        .expect("the API thread")
    }

    /// Wait (up to 5 s) until only `lo` and the bridge are left, then assert it.
    fn assert_only_bridge_left(&self) {
        let names = || -> Vec<String> { self.links().into_iter().map(|l| l.0).collect() };
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut now = names();
        while now.len() > 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            now = names();
        }
        assert_eq!(now, ["lo", BRIDGE], "links left in {}", self.name);
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        let o = run(Command::new("ip").args(["netns", "del", &self.name]));
        if !std::thread::panicking() {
            assert!(
                o.status.success(),
                "ip netns del {}: {}",
                self.name,
                show(&o)
            );
        }
    }
}

fn links_of(json: &str) -> Vec<(String, String, bool)> {
    let v: Value = serde_json::from_str(json).expect("ip -j link");
    v.as_array()
        .expect("a list")
        .iter()
        .map(|l| {
            (
                l["ifname"].as_str().unwrap_or_default().to_string(),
                l["address"].as_str().unwrap_or_default().to_string(),
                l["flags"]
                    .as_array()
                    .is_some_and(|f| f.iter().any(|f| f == "UP")),
            )
        })
        .collect()
}

/// A busybox container (without the template's udhcpc, which would flush the addresses) whose
/// lxc-rs commands run in a [`TestNet`].
struct NetContainer<'a> {
    net: &'a TestNet,
    t: TestContainer,
}

impl<'a> NetContainer<'a> {
    fn new(net: &'a TestNet, test: &str, config: &str) -> NetContainer<'a> {
        let t = TestContainer::busybox(test);
        no_udhcpc(&t);
        t.append_config(config);
        NetContainer { net, t }
    }

    fn lxc(&self, args: &[&str]) -> Output {
        let (command, rest) = args.split_first().expect("a command");
        let mut all = vec![command.to_string()];
        all.extend(
            ["-n", &self.t.name, "-P", self.t.lxcpath_str()]
                .iter()
                .map(|s| s.to_string()),
        );
        all.extend(rest.iter().map(|s| s.to_string()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        self.net.run_in(BIN, &all)
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.lxc(args);
        assert!(o.status.success(), "lxc-rs {args:?}: {}", show(&o));
        stdout(&o)
    }

    /// A command that must fail with status 1 and one line on stderr; returns that line.
    fn fails(&self, args: &[&str]) -> String {
        let o = self.lxc(args);
        assert_eq!(o.status.code(), Some(1), "lxc-rs {args:?}: {}", show(&o));
        assert_eq!(stdout(&o), "", "lxc-rs {args:?}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        err
    }

    fn init_pid(&self) -> i32 {
        self.ok(&["info", "-p", "-H"])
            .trim()
            .parse()
            .expect("info -p -H: a pid")
    }

    /// `ip ARGS` inside the container's network namespace.
    fn ip_inside(&self, args: &[&str]) -> String {
        let o = run(Command::new("nsenter")
            .arg(format!("--net=/proc/{}/ns/net", self.init_pid()))
            .arg("ip")
            .args(args));
        assert!(o.status.success(), "ip {args:?} inside: {}", show(&o));
        stdout(&o)
    }

    fn links_inside(&self) -> Vec<(String, String, bool)> {
        links_of(&self.ip_inside(&["-j", "link", "show"]))
    }

    /// A handle on the container for the API (config not read).
    fn handle(&self) -> lxc::Container {
        lxc::Container::new_unloaded(&self.t.name, Some(&self.t.lxcpath)).expect("a handle")
    }

    fn stop(&self) {
        self.ok(&["stop", "-t", "5"]);
        assert_eq!(self.ok(&["state"]).trim(), "STOPPED");
    }
}

impl Drop for NetContainer<'_> {
    fn drop(&mut self) {
        // The monitor answers only inside the test's namespace: stop it there first.
        if stdout(&self.lxc(&["state"])).trim() != "STOPPED" {
            let _ = self.lxc(&["stop", "-k"]);
        }
    }
}

fn no_udhcpc(t: &TestContainer) {
    let rcs = t.lxcpath.join(&t.name).join("rootfs/etc/init.d/rcS");
    let text = fs::read_to_string(&rcs).expect("the template's rcS");
    fs::write(&rcs, text.replace("/bin/udhcpc\n", "")).expect("write rcS");
}

/// lxc-ls's table (header first): cells padded to the column's widest, each followed by a
/// space.
fn lxc_ls_table(rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|r| {
            r.iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$} "))
                .collect::<String>()
                + "\n"
        })
        .collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

const VETH: &str = "lxc.net.0.type = veth\n\
                    lxc.net.0.link = br0\n\
                    lxc.net.0.flags = up\n\
                    lxc.net.0.name = eth0\n";

#[test]
fn interfaces_and_addresses_of_a_running_veth_container() {
    require_root!();
    require_plugins();
    let net = TestNet::new("api-ips");
    let c = NetContainer::new(
        &net,
        "api-ips",
        &format!(
            "{VETH}lxc.net.0.ipv4.address = 10.250.0.2/24\n\
             lxc.net.0.ipv4.address = 10.250.0.10/24\n\
             lxc.net.0.ipv6.address = fd00:250::2/64\n\
             lxc.start.auto = 1\n\
             lxc.group = onboot\n\
             lxc.group = web\n"
        ),
    );
    c.ok(&["start"]);

    // The API: every link, sorted; every address but lo's and the link-local ones, sorted as
    // text (liblxc's order), by family, of one interface.
    let h = c.handle();
    let (ifaces, all, v4, v6, lo, bad) = net.call(move || {
        use lxc::net::running::{get_interfaces, get_ips};
        (
            get_interfaces(&h).expect("get_interfaces"),
            get_ips(&h, None, None, 0).expect("get_ips"),
            get_ips(&h, None, Some("inet"), 0).expect("inet"),
            get_ips(&h, Some("eth0"), Some("inet6"), 0).expect("inet6"),
            get_ips(&h, Some("lo"), None, 0).expect("lo"),
            get_ips(&h, None, Some("ipx"), 0).map_err(|e| (e.errno(), e.to_string())),
        )
    });
    assert_eq!(ifaces, ["eth0", "lo"]);
    assert_eq!(all, ["10.250.0.10", "10.250.0.2", "fd00:250::2"]);
    assert_eq!(v4, ["10.250.0.10", "10.250.0.2"]);
    assert_eq!(v6, ["fd00:250::2"]);
    assert_eq!(lo, ["127.0.0.1", "::1"]);
    let (errno, text) = bad.expect_err("an unknown family");
    assert_eq!(errno, libc::EINVAL);
    assert!(text.contains("expected inet or inet6"), "{text}");

    // A link-local address has its interface as scope, as getifaddrs gives it.
    let inside: Value = serde_json::from_str(&c.ip_inside(&["-j", "addr", "show", "dev", "eth0"]))
        .expect("ip -j addr");
    let index = inside[0]["ifindex"].as_i64().expect("ifindex") as i32;
    let link_local: Vec<String> = inside[0]["addr_info"]
        .as_array()
        .expect("addr_info")
        .iter()
        .filter(|a| a["family"] == "inet6" && a["scope"] == "link")
        .filter_map(|a| a["local"].as_str().map(str::to_string))
        .collect();
    let h = c.handle();
    let scoped = net.call(move || {
        lxc::net::running::get_ips(&h, Some("eth0"), Some("inet6"), index).expect("scoped")
    });
    assert_eq!(scoped, link_local);

    // info -i as lxc-info -i prints it, -H bare, and in the full info after the PID.
    let ip_lines = "IP:             10.250.0.10\n\
                    IP:             10.250.0.2\n\
                    IP:             fd00:250::2\n";
    assert_eq!(c.ok(&["info", "-i"]), ip_lines);
    assert_eq!(
        c.ok(&["info", "-i", "-H"]),
        "10.250.0.10\n10.250.0.2\nfd00:250::2\n"
    );
    let pid = c.init_pid();
    let full = c.ok(&["info"]);
    assert!(
        full.contains(&format!("PID:            {pid}\n{ip_lines}Cgroup:")),
        "{full}"
    );
    let json: Value = serde_json::from_str(&c.ok(&["info", "--json"])).expect("info --json");
    assert_eq!(
        json["ips"],
        serde_json::json!(["10.250.0.10", "10.250.0.2", "fd00:250::2"])
    );

    // ls --fancy: lxc-ls's default columns, addresses comma separated, `-` for none.
    let header = strings(&[
        "NAME",
        "STATE",
        "AUTOSTART",
        "GROUPS",
        "IPV4",
        "IPV6",
        "UNPRIVILEGED",
    ]);
    let row = |state: &str, v4: &str, v6: &str| {
        strings(&[&c.t.name, state, "1", "onboot, web", v4, v6, "false"])
    };
    let fancy = row("RUNNING", "10.250.0.10, 10.250.0.2", "fd00:250::2");
    assert_eq!(
        c.net
            .run_in(BIN, &["ls", "-P", c.t.lxcpath_str(), "--fancy"])
            .stdout,
        lxc_ls_table(&[header.clone(), fancy]).into_bytes()
    );
    let o = c.net.run_in(
        BIN,
        &["ls", "-P", c.t.lxcpath_str(), "-F", "NAME,PID,INTERFACE"],
    );
    assert_eq!(
        stdout(&o),
        lxc_ls_table(&[
            strings(&["NAME", "PID", "INTERFACE"]),
            strings(&[&c.t.name, &pid.to_string(), "eth0, lo"])
        ])
    );

    // Stopped: no addresses anywhere, and the API says why.
    c.stop();
    assert_eq!(c.ok(&["info", "-i"]), "");
    let json: Value = serde_json::from_str(&c.ok(&["info", "--json"])).expect("info --json");
    assert_eq!(json["ips"], serde_json::json!([]));
    assert_eq!(
        c.net
            .run_in(BIN, &["ls", "-P", c.t.lxcpath_str(), "--fancy"])
            .stdout,
        lxc_ls_table(&[header, row("STOPPED", "-", "-")]).into_bytes()
    );
    let h = c.handle();
    let err = net.call(move || {
        lxc::net::running::get_ips(&h, None, None, 0).map_err(|e| (e.errno(), e.to_string()))
    });
    let (errno, text) = err.expect_err("stopped");
    assert_eq!(errno, libc::ESRCH);
    assert!(text.ends_with("is not running"), "{text}");
    net.assert_only_bridge_left();
}

#[test]
fn device_add_and_del_move_a_veth_end_in_and_back() {
    require_root!();
    require_plugins();
    let net = TestNet::new("api-dev");
    let c = NetContainer::new(
        &net,
        "api-dev",
        &format!("{VETH}lxc.net.0.ipv4.address = 10.250.0.3/24\n"),
    );
    c.ok(&["start"]);
    let tag = std::process::id() % 100_000;
    let (a, b) = (format!("tda{tag}"), format!("tdb{tag}"));
    net.ip_in(&["link", "add", &a, "type", "veth", "peer", "name", &b]);
    net.ip_in(&["link", "set", &a, "up"]);
    let mac = net
        .links()
        .into_iter()
        .find(|l| l.0 == a)
        .expect("the veth end")
        .1;

    // In: under the new name, down (liblxc takes it down first), gone from the host.
    assert_eq!(c.ok(&["device", "add", &a, "eth1"]), "");
    assert!(!net.links().iter().any(|l| l.0 == a), "{:?}", net.links());
    let inside = c.links_inside();
    assert!(
        inside.contains(&("eth1".to_string(), mac.clone(), false)),
        "{inside:?}"
    );
    let h = c.handle();
    let ifaces = net.call(move || lxc::net::running::get_interfaces(&h).expect("get_interfaces"));
    assert_eq!(ifaces, ["eth0", "eth1", "lo"]);

    // Bad input changes nothing, on either side, and says what is wrong in one line.
    let before = (net.links(), c.links_inside());
    let name = &c.t.name;
    for (args, want) in [
        (
            vec!["device", "add", "nosuch0"],
            "no interface nosuch0 on the host".to_string(),
        ),
        (
            vec!["device", "add", &b, "eth0"],
            "the container already has an interface named eth0".to_string(),
        ),
        (
            vec!["device", "add", &b, "a/b"],
            "\"a/b\" is not an interface name: no '/', ':' or spaces".to_string(),
        ),
        (
            vec!["device", "add", "lo", "lo9"],
            "lo is the loopback device, which the kernel keeps in its network namespace"
                .to_string(),
        ),
        (
            vec!["device", "add", BRIDGE],
            format!("{BRIDGE} is a bridge, which the kernel keeps in its network namespace"),
        ),
        (
            vec!["device", "del", "eth9"],
            "no interface eth9 in the container".to_string(),
        ),
        (
            vec!["device", "del", "eth1", &b],
            format!("the host already has an interface named {b}"),
        ),
        (
            vec!["device", "add", "/dev/ttyS0"],
            "/dev/ttyS0: device nodes: not yet (issue 12)".to_string(),
        ),
    ] {
        let label = format!("{} {}", args[0], args[1]);
        let err = c.fails(&args);
        assert_eq!(err, format!("lxc-rs: {label} {name}: {want}\n"), "{args:?}");
    }
    assert_eq!((net.links(), c.links_inside()), before);

    // The API's errno for each kind of refusal.
    let h = c.handle();
    let b2 = b.clone();
    let errnos = net.call(move || {
        use lxc::net::running::{attach_interface, detach_interface};
        [
            attach_interface(&h, "nosuch0", None),
            attach_interface(&h, &b2, Some("eth1")),
            detach_interface(&h, "eth9", None),
        ]
        .map(|r| r.map_err(|e| e.errno()).expect_err("refused"))
    });
    assert_eq!(errnos, [libc::ENODEV, libc::EEXIST, libc::ENODEV]);
    assert_eq!((net.links(), c.links_inside()), before);

    // Out again, under its first name, down, the same device.
    assert_eq!(c.ok(&["device", "del", "eth1", &a]), "");
    assert!(!c.links_inside().iter().any(|l| l.0 == "eth1"));
    assert!(
        net.links().contains(&(a.clone(), mac.clone(), false)),
        "{:?}",
        net.links()
    );
    // LXC's prefixes of add and del work too; no DEST keeps the name.
    assert_eq!(c.ok(&["device", "a", &a]), "");
    assert!(c.links_inside().iter().any(|l| l.0 == a));
    assert_eq!(c.ok(&["device", "d", &a]), "");
    assert!(net.links().iter().any(|l| l.0 == a));

    // A stopped container: refused, the device stays where it is.
    c.stop();
    let err = c.fails(&["device", "add", &a, "eth1"]);
    assert_eq!(
        err,
        format!("lxc-rs: device add {name}: {name} is not running\n")
    );
    assert!(net.links().iter().any(|l| l.0 == a));
    net.ip_in(&["link", "del", &a]);
    net.assert_only_bridge_left();
    c.t.assert_nothing_left();
}

/// A container LXC's own `lxc-start` runs, in the test's namespace, with a veth (no bridge:
/// LXC looks bridges up in /sys, which `nsenter --net` leaves the machine's) and two IPv4
/// addresses; beside it a stopped one with groups, autostart and an idmap. `lxc-ls` and
/// `lxc-info` print them as lxc-rs does.
#[test]
fn ls_and_info_print_what_lxc_ls_and_lxc_info_print() {
    require_root!();
    if !common::lxc_tools_present(&["lxc-start", "lxc-stop", "lxc-info", "lxc-ls"]) {
        eprintln!("skipped: LXC's tools are not installed (apt-get install lxc)");
        return;
    }
    let net = TestNet::new("api-lxc");
    let t = TestContainer::busybox("api-lxc");
    no_udhcpc(&t);
    t.append_config(
        "lxc.net.0.type = veth\n\
         lxc.net.0.flags = up\n\
         lxc.net.0.name = eth0\n\
         lxc.net.0.ipv4.address = 10.250.0.7/24\n\
         lxc.net.0.ipv4.address = 10.250.0.30/24\n\
         lxc.net.0.ipv6.address = fd00:250::7/64\n",
    );
    let stopped = t.lxcpath.join(format!("{}-s", t.name));
    fs::create_dir_all(&stopped).unwrap();
    fs::write(
        stopped.join("config"),
        "lxc.uts.name = s\nlxc.start.auto = 1\nlxc.group = web\nlxc.group = db\n\
         lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\n",
    )
    .unwrap();
    let p = t.lxcpath_str().to_string();
    let tool = |cmd: &str, args: &[&str]| -> Output {
        let mut all = vec!["-P", &p];
        all.extend_from_slice(args);
        net.run_in(cmd, &all)
    };
    let log = t.lxcpath.join("lxc-start.log");
    let o = tool(
        "lxc-start",
        &[
            "-n",
            &t.name,
            "-d",
            "-s",
            "lxc.cgroup.relative=1",
            "-s",
            "lxc.apparmor.profile=unconfined",
            "-l",
            "DEBUG",
            "-o",
            log.to_str().unwrap(),
        ],
    );
    // Stopped with LXC's tools, in the namespace, before anything else goes.
    struct Stop<'a>(&'a dyn Fn());
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            (self.0)();
        }
    }
    let stop = || {
        let _ = tool("lxc-stop", &["-n", &t.name, "-k"]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while stdout(&tool("lxc-info", &["-n", &t.name, "-s", "-H"])).trim() != "STOPPED"
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let _stop = Stop(&stop);
    assert!(
        o.status.success(),
        "lxc-start: {}\nlog:\n{}",
        show(&o),
        fs::read_to_string(&log).unwrap_or_default()
    );
    let o = tool("lxc-wait", &["-n", &t.name, "-s", "RUNNING", "-t", "30"]);
    assert!(o.status.success(), "lxc-wait: {}", show(&o));

    // Every column lxc-ls has but RAM and SWAP, byte for byte.
    let columns = "NAME,PID,AUTOSTART,GROUPS,INTERFACE,IPV4,IPV6,UNPRIVILEGED";
    let theirs = tool("lxc-ls", &["-f", "-F", columns]);
    let ours = tool(BIN, &["ls", "-F", columns]);
    assert!(ours.status.success(), "{}", show(&ours));
    assert_eq!(stdout(&ours), stdout(&theirs), "lxc-ls: {}", show(&theirs));
    assert!(
        stdout(&ours).contains("10.250.0.30, 10.250.0.7 fd00:250::7"),
        "{}",
        stdout(&ours)
    );
    assert!(stdout(&ours).contains("web, db"), "{}", stdout(&ours));

    // The default table: the same but for lxc-rs's `RUNNING (LXC)`.
    let theirs = stdout(&tool("lxc-ls", &["--fancy"]));
    let ours = stdout(&tool(BIN, &["ls", "--fancy"]));
    let words = |s: &str| -> Vec<Vec<String>> {
        s.lines()
            .map(|l| {
                l.split_whitespace()
                    .filter(|w| *w != "(LXC)")
                    .map(str::to_string)
                    .collect()
            })
            .collect()
    };
    assert_eq!(
        words(&ours),
        words(&theirs),
        "ours:\n{ours}\ntheirs:\n{theirs}"
    );
    assert!(ours.starts_with("NAME "), "{ours}");

    // info -i and -i -H, byte for byte.
    for args in [&["-i"][..], &["-i", "-H"][..]] {
        let mut all = vec!["-n", t.name.as_str()];
        all.extend_from_slice(args);
        let theirs = tool("lxc-info", &all);
        let mut mine = vec!["info"];
        mine.extend_from_slice(&all);
        let ours = tool(BIN, &mine);
        assert!(ours.status.success(), "{}", show(&ours));
        assert_eq!(
            stdout(&ours),
            stdout(&theirs),
            "{args:?}: {}",
            show(&theirs)
        );
    }
    assert_eq!(
        stdout(&tool(BIN, &["info", "-n", &t.name, "-i", "-H"])),
        "10.250.0.30\n10.250.0.7\nfd00:250::7\n"
    );

    // Moving devices in a container LXC runs is lxc-device's.
    let o = tool(BIN, &["device", "add", "-n", &t.name, "nosuch0"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        stderr(&o).contains(&format!(
            "not lxc-rs: use `lxc-device -n {} -P {p}`",
            t.name
        )),
        "{}",
        show(&o)
    );
}
