//! Veth networks end to end, through the `lxc-rs` binary and the plugins built beside it
//! (`cargo xtask test` builds them; by hand: `cargo build -p lxc-net-plugin-veth -p
//! lxc-net-plugin-template`). Needs root.
//!
//! Nothing here touches the machine's own interfaces: each test makes a network namespace of
//! its own (`lxcrs-t-<test>-<pid>`) with a bridge `br0` (10.250.0.1/24, fd00:250::1/64), and
//! runs every lxc-rs command inside it with `nsenter --net`, so the monitor's "host" side, the
//! veth's host end and the command socket (abstract sockets belong to a network namespace) are
//! all in there. Not `ip netns exec`: it remounts /sys, which hides the cgroup hierarchies.
//! After each container: no link but `lo` and `br0` in the test's namespace, no process holding
//! the container's network namespace, no command socket, and the fixture's checks (cgroups,
//! processes, mounts); then the namespace itself goes.

mod common;

use std::fs;
use std::net::UdpSocket;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{show, stderr, stdout, TestContainer, BIN};

const BRIDGE: &str = "br0";
const HOST_V4: &str = "10.250.0.1";
const HOST_V6: &str = "fd00:250::1";

/// The veth plugin must sit next to the binary under test: that is where it looks for it.
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
    cmd.output()
        .unwrap_or_else(|e| panic!("run {:?}: {e}", cmd.get_program()))
}

/// A network namespace standing in for the host, with its bridge.
struct TestNet {
    name: String,
}

impl TestNet {
    fn new(test: &str) -> TestNet {
        // Not the container's name: the fixture counts anything carrying that as left over.
        let name = format!("lxcrs-t-ns-{test}-{}", std::process::id());
        let _ = run(Command::new("ip").args(["netns", "del", &name]));
        let net = TestNet { name };
        net.ip_ok(&["netns", "add", &net.name]);
        net.ip_in(&["link", "set", "lo", "up"]);
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

    /// The links in the namespace, as `ip -j -d link` shows them.
    fn links(&self) -> Vec<Value> {
        let out = self.ip_in(&["-j", "-d", "link", "show"]);
        serde_json::from_str(&out).expect("ip -j link")
    }

    fn link_names(&self) -> Vec<String> {
        self.links()
            .iter()
            .filter_map(|l| l["ifname"].as_str().map(str::to_string))
            .collect()
    }

    /// The veth host ends in the namespace.
    fn veths(&self) -> Vec<Value> {
        self.links()
            .into_iter()
            .filter(|l| l["linkinfo"]["info_kind"] == "veth")
            .collect()
    }

    /// Wait (up to 5 s: a namespace's devices go with it asynchronously) until only `lo` and
    /// the bridge are left, then assert it.
    fn assert_only_bridge_left(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut names = self.link_names();
        while names.len() > 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            names = self.link_names();
        }
        assert_eq!(names, ["lo", BRIDGE], "links left in {}", self.name);
    }

    /// Answer one TFTP read request on the bridge's address, from a thread inside the
    /// namespace: returns (the file name asked for, whether the client acknowledged the data).
    fn tftp_once(&self, port: u16, payload: &'static [u8]) -> JoinHandle<Result<String, String>> {
        let path = self.path();
        let (ready_tx, ready_rx) = mpsc::channel();
        let h = std::thread::spawn(move || -> Result<String, String> {
            let ns = fs::File::open(&path).map_err(|e| format!("open {path}: {e}"))?;
            nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| format!("setns: {e}"))?;
            let sock = UdpSocket::bind((HOST_V4, port)).map_err(|e| format!("bind: {e}"));
            let _ = ready_tx.send(());
            let sock = sock?;
            sock.set_read_timeout(Some(Duration::from_secs(15)))
                .map_err(|e| e.to_string())?;
            let mut buf = [0u8; 1024];
            let (n, peer) = sock
                .recv_from(&mut buf)
                .map_err(|e| format!("no request: {e}"))?;
            // RRQ: 0 1, file name, NUL, mode, NUL (maybe options).
            if n < 4 || buf[..2] != [0, 1] {
                return Err(format!("not a read request: {:?}", &buf[..n]));
            }
            let name = buf[2..n]
                .split(|b| *b == 0)
                .next()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .unwrap_or_default();
            let mut data = vec![0, 3, 0, 1];
            data.extend_from_slice(payload);
            sock.send_to(&data, peer).map_err(|e| e.to_string())?;
            let (n, from) = sock
                .recv_from(&mut buf)
                .map_err(|e| format!("no acknowledgement: {e}"))?;
            if from != peer || buf[..n] != [0, 4, 0, 1] {
                return Err(format!(
                    "not the acknowledgement: {:?} from {from}",
                    &buf[..n]
                ));
            }
            Ok(name)
        });
        ready_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the TFTP thread is ready");
        h
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
            assert!(!Path::new(&self.path()).exists(), "{} left", self.path());
        }
    }
}

/// A busybox container whose lxc-rs commands run in a [`TestNet`]. Its init is busybox's,
/// without the template's `udhcpc`, which would flush the addresses lxc-rs sets.
struct NetContainer<'a> {
    net: &'a TestNet,
    t: TestContainer,
    /// The container's network namespace (`net:[inode]`), once it ran.
    netns: Option<String>,
}

impl<'a> NetContainer<'a> {
    fn new(net: &'a TestNet, test: &str, config: &str) -> NetContainer<'a> {
        let t = TestContainer::busybox(test);
        let rcs = t.lxcpath.join(&t.name).join("rootfs/etc/init.d/rcS");
        let text = fs::read_to_string(&rcs).expect("the template's rcS");
        fs::write(&rcs, text.replace("/bin/udhcpc\n", "")).expect("write rcS");
        t.append_config(config);
        NetContainer {
            net,
            t,
            netns: None,
        }
    }

    /// `nsenter --net=<test netns> lxc-rs <command> -n NAME -P LXCPATH <rest...>`.
    fn lxc_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
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

    fn lxc(&self, args: &[&str]) -> Output {
        self.lxc_env(args, &[])
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.lxc(args);
        assert!(o.status.success(), "lxc-rs {args:?}: {}", show(&o));
        stdout(&o)
    }

    fn start(&mut self) {
        self.ok(&["start"]);
        self.netns = Some(
            fs::read_link(format!("/proc/{}/ns/net", self.init_pid()))
                .expect("init's netns")
                .display()
                .to_string(),
        );
    }

    fn init_pid(&self) -> i32 {
        let info: Value = serde_json::from_str(&self.ok(&["info", "--json"])).expect("JSON");
        info["pid"]
            .as_i64()
            .unwrap_or_else(|| panic!("no pid: {info}")) as i32
    }

    /// The host's `ip` inside the container's network namespace.
    fn ip_inside(&self, args: &[&str]) -> Value {
        let o = run(Command::new("nsenter")
            .arg(format!("--net=/proc/{}/ns/net", self.init_pid()))
            .arg("ip")
            .arg("-j")
            .args(args));
        assert!(o.status.success(), "ip {args:?} inside: {}", show(&o));
        serde_json::from_str(&stdout(&o)).expect("ip -j")
    }

    fn stop(&self) {
        self.ok(&["stop", "-t", "5"]);
        assert_eq!(self.ok(&["state"]).trim(), "STOPPED");
    }

    /// Nothing of the container's network is left: no link but the bridge in the test's
    /// namespace, nobody holding the container's network namespace, no command socket.
    fn assert_network_gone(&self) {
        self.net.assert_only_bridge_left();
        if let Some(ns) = &self.netns {
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut held = holders(ns);
            while !held.is_empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
                held = holders(ns);
            }
            assert!(held.is_empty(), "{ns} still held by: {held:?}");
        }
        let o = run(Command::new("nsenter")
            .arg(format!("--net={}", self.net.path()))
            .args(["cat", "/proc/net/unix"]));
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
        if self.lxc(&["state"]).status.success()
            && stdout(&self.lxc(&["state"])).trim() != "STOPPED"
        {
            let _ = self.lxc(&["stop", "-k"]);
        }
    }
}

/// Processes (by namespace link or open fd) holding the network namespace `ns` (`net:[N]`).
fn holders(ns: &str) -> Vec<String> {
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

fn addr_info(link: &Value) -> Vec<(String, u64)> {
    link["addr_info"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| {
                    (
                        i["local"].as_str().unwrap_or_default().to_string(),
                        i["prefixlen"].as_u64().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn veth_on_a_bridge_pings_and_exchanges_udp_with_the_host() {
    require_root!();
    require_plugins();
    let net = TestNet::new("veth-br");
    let mut c = NetContainer::new(
        &net,
        "veth-br",
        &format!(
            "lxc.net.0.type = veth\n\
             lxc.net.0.link = {BRIDGE}\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.name = eth0\n\
             lxc.net.0.hwaddr = 00:16:3e:xx:xx:xx\n\
             lxc.net.0.mtu = 1400\n\
             lxc.net.0.ipv4.address = 10.250.0.2/24\n\
             lxc.net.0.ipv4.gateway = auto\n\
             lxc.net.0.ipv6.address = fd00:250::2/64\n"
        ),
    );
    c.start();

    // The container side, as the kernel reports it.
    let links = c.ip_inside(&["addr", "show", "dev", "eth0"]);
    let eth0 = &links[0];
    assert_eq!(eth0["mtu"], 1400, "{eth0}");
    assert!(
        eth0["address"].as_str().unwrap().starts_with("00:16:3e:"),
        "{eth0}"
    );
    assert!(
        eth0["flags"].as_array().unwrap().iter().any(|f| f == "UP"),
        "{eth0}"
    );
    let addrs = addr_info(eth0);
    assert!(addrs.contains(&("10.250.0.2".into(), 24)), "{addrs:?}");
    assert!(addrs.contains(&("fd00:250::2".into(), 64)), "{addrs:?}");
    let v4 = eth0["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["local"] == "10.250.0.2")
        .unwrap();
    assert_eq!(v4["broadcast"], "10.250.0.255", "{v4}");
    let routes = c.ip_inside(&["route", "show", "default"]);
    assert_eq!(
        routes[0]["gateway"], HOST_V4,
        "auto: the bridge's address: {routes}"
    );
    assert_eq!(routes[0]["dev"], "eth0", "{routes}");
    let lo = c.ip_inside(&["link", "show", "lo"]);
    assert!(
        lo[0]["flags"].as_array().unwrap().iter().any(|f| f == "UP"),
        "an interface that is up brings lo up: {lo}"
    );

    // The host side: one veth, on the bridge, up, with the container's MTU.
    let veths = net.veths();
    assert_eq!(veths.len(), 1, "{veths:?}");
    assert_eq!(veths[0]["master"], BRIDGE, "{}", veths[0]);
    assert_eq!(veths[0]["mtu"], 1400, "{}", veths[0]);
    assert_eq!(veths[0]["operstate"], "UP", "{}", veths[0]);

    // ICMP and UDP with the bridge's address, from inside.
    c.ok(&["attach", "--", "ping", "-c", "1", "-W", "5", HOST_V4]);
    let server = net.tftp_once(6969, b"hello from the host\n");
    let got = c.ok(&[
        "attach",
        "--",
        "/bin/sh",
        "-c",
        &format!(
            "cd /tmp && tftp -g -r greeting -l /tmp/greeting {HOST_V4} 6969 && cat /tmp/greeting"
        ),
    ]);
    assert_eq!(got, "hello from the host\n");
    assert_eq!(server.join().unwrap().as_deref(), Ok("greeting"));

    c.stop();
    c.assert_network_gone();
}

#[test]
fn a_default_conf_kind_of_veth_starts() {
    require_root!();
    require_plugins();
    // /etc/lxc/default.conf's network, on the test's bridge: no name (the kernel's eth0), no
    // address.
    let net = TestNet::new("veth-default");
    let mut c = NetContainer::new(
        &net,
        "veth-default",
        &format!(
            "lxc.net.0.type = veth\n\
             lxc.net.0.link = {BRIDGE}\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.hwaddr = 00:16:3e:xx:xx:xx\n"
        ),
    );
    c.start();
    let links = c.ip_inside(&["link", "show"]);
    let names: Vec<&str> = links
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["ifname"].as_str())
        .collect();
    assert_eq!(names, ["lo", "eth0"], "{links}");
    assert!(
        links[1]["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "UP"),
        "{links}"
    );
    let veths = net.veths();
    assert_eq!(veths.len(), 1, "{veths:?}");
    assert_eq!(veths[0]["master"], BRIDGE);
    let host = veths[0]["ifname"].as_str().unwrap();
    assert!(
        host.starts_with("veth") && host.len() == 10,
        "LXC's vethXXXXXX: {host}"
    );
    c.stop();
    c.assert_network_gone();
}

/// `script.up` / `script.down` get LXC's arguments (hook version 0: name, `net`, the hook, the
/// type, the link, the host side) and environment.
#[test]
fn net_scripts_get_lxc_arguments() {
    require_root!();
    require_plugins();
    let net = TestNet::new("veth-scripts");
    let dir = PathBuf::from(format!(
        "/tmp/lxcrs-t-files-veth-scripts-{}",
        std::process::id()
    ));
    fs::create_dir_all(&dir).unwrap();
    let script = dir.join("net.sh");
    let log = dir.join("log");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"args: $*\" >> {log}\necho \"env: $LXC_NAME $LXC_HOOK_VERSION \
             ${{LXC_PID:+pid}}\" >> {log}\n",
            log = log.display()
        ),
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    let mut c = NetContainer::new(
        &net,
        "veth-scripts",
        &format!(
            "lxc.net.0.type = veth\n\
             lxc.net.0.link = {BRIDGE}\n\
             lxc.net.0.veth.pair = lxcrs-t-vs{}\n\
             lxc.net.0.script.up = {s}\n\
             lxc.net.0.script.down = {s}\n",
            std::process::id() % 100_000,
            s = script.display()
        ),
    );
    let pair = format!("lxcrs-t-vs{}", std::process::id() % 100_000);
    c.start();
    let name = c.t.name.clone();
    let up = fs::read_to_string(&log).unwrap();
    assert_eq!(
        up,
        format!("args: {name} net up veth {BRIDGE} {pair}\nenv: {name} 0 pid\n")
    );
    c.stop();
    let all = fs::read_to_string(&log).unwrap();
    assert_eq!(
        all.strip_prefix(&up).unwrap(),
        format!("args: {name} net down veth {BRIDGE} {pair}\nenv: {name} 0 pid\n")
    );
    c.assert_network_gone();
    fs::remove_dir_all(&dir).unwrap();
}

/// A start that fails at the second interface undoes the first one too (its `script.down`
/// runs, as LXC's does), and leaves nothing. Hook version 1: the arguments are in the
/// environment.
#[test]
fn a_failed_start_at_the_second_interface_leaves_nothing() {
    require_root!();
    require_plugins();
    let net = TestNet::new("veth-fail");
    let dir = PathBuf::from(format!(
        "/tmp/lxcrs-t-files-veth-fail-{}",
        std::process::id()
    ));
    fs::create_dir_all(&dir).unwrap();
    let script = dir.join("net.sh");
    let log = dir.join("log");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$LXC_HOOK_TYPE $LXC_HOOK_SECTION $LXC_NET_TYPE $LXC_NET_PARENT \
             ${{LXC_NET_PEER:+peer}} args: $*\" >> {}\n",
            log.display()
        ),
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    let mut c = NetContainer::new(
        &net,
        "veth-fail",
        &format!(
            "lxc.hook.version = 1\n\
             lxc.net.0.type = veth\n\
             lxc.net.0.link = {BRIDGE}\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.ipv4.address = 10.250.0.3/24\n\
             lxc.net.0.script.up = {s}\n\
             lxc.net.0.script.down = {s}\n\
             lxc.net.1.type = veth\n\
             lxc.net.1.link = {BRIDGE}\n\
             lxc.net.1.flags = up\n\
             lxc.net.1.ipv4.gateway = {HOST_V4}\n",
            s = script.display()
        ),
    );
    let lines = fs::read_to_string(c.t.config_file())
        .unwrap()
        .lines()
        .count();
    let o = c.lxc(&["start"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "lxc.net.1.ipv4.gateway ({}:{lines})",
            c.t.config_file().display()
        )),
        "{err}"
    );
    assert!(err.contains("phase HostSetup"), "{err}");
    assert!(err.contains("needs an IPv4 address"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert_eq!(c.ok(&["state"]).trim(), "STOPPED");
    let ran = fs::read_to_string(&log).unwrap();
    let host = ran
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        ran,
        format!("up net veth {BRIDGE} peer args: veth {BRIDGE} {host}\ndown net veth {BRIDGE} peer args: veth {BRIDGE} {host}\n")
    );
    net.assert_only_bridge_left();
    c.t.assert_nothing_left();
    c.netns = None;
    fs::remove_dir_all(&dir).unwrap();
}

/// A killed monitor's watchdog removes the interfaces: it kept the container's network
/// namespace open for that.
#[test]
fn a_killed_monitor_leaves_no_interface() {
    require_root!();
    require_plugins();
    let net = TestNet::new("veth-kill");
    let mut c = NetContainer::new(
        &net,
        "veth-kill",
        &format!("lxc.net.0.type = veth\nlxc.net.0.link = {BRIDGE}\nlxc.net.0.flags = up\n"),
    );
    c.start();
    assert_eq!(net.veths().len(), 1);
    let monitor = fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let cmdline = fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let comm = fs::read_to_string(e.path().join("comm")).ok()?;
            (cmdline.contains(&c.t.name)
                && cmdline.contains(" start ")
                && !comm.contains("cleanup"))
            .then_some(pid)
        })
        .min()
        .expect("the monitor");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(monitor),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    c.assert_network_gone();
}

/// The template plugin (a third party's starting point) makes its `template-veth` type, with
/// its own key.
#[test]
fn the_template_plugin_serves_its_type_and_key() {
    require_root!();
    require_plugins();
    let so = Path::new(BIN).with_file_name("liblxc_net_plugin_template.so");
    assert!(so.is_file(), "{} is missing: build it first", so.display());
    let net = TestNet::new("veth-tmpl");
    let host = format!("tmpl-t{}", std::process::id() % 100_000);
    let mut c = NetContainer::new(
        &net,
        "veth-tmpl",
        &format!(
            "lxc.net.0.type = template-veth\n\
             lxc.net.0.template.host_name = {host}\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.ipv4.address = 10.250.0.4/24\n"
        ),
    );
    assert_eq!(
        c.ok(&["config", "get", "lxc.net.0.template.host_name"])
            .trim(),
        host
    );
    c.start();
    assert!(net.link_names().contains(&host), "{:?}", net.link_names());
    let eth0 = c.ip_inside(&["addr", "show", "dev", "eth0"]);
    assert!(
        addr_info(&eth0[0]).contains(&("10.250.0.4".into(), 24)),
        "{eth0}"
    );
    c.stop();
    c.assert_network_gone();
}

/// A type no plugin serves, and a plugin file that cannot be loaded: one line each, naming the
/// type, the file and the cause. The broken file shadows any real plugin of its name.
#[test]
fn a_missing_plugin_is_one_line_naming_type_file_and_cause() {
    require_root!();
    let net = TestNet::new("veth-none");
    let dir = PathBuf::from(format!(
        "/tmp/lxcrs-t-files-veth-none-{}",
        std::process::id()
    ));
    fs::create_dir_all(&dir).unwrap();
    let bogus = dir.join("liblxc_net_plugin_macvlan.so");
    fs::write(&bogus, b"not a shared object").unwrap();
    let c = NetContainer::new(
        &net,
        "veth-none",
        "lxc.net.0.type = macvlan\nlxc.net.0.link = br0\n",
    );
    let path = dir.display().to_string();
    let o = c.lxc_env(&["start"], &[("LXC_NET_PLUGIN_PATH", &path)]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("lxc.net.0.type"), "{err}");
    assert!(err.contains("no network plugin serves `macvlan`"), "{err}");
    assert!(err.contains(&bogus.display().to_string()), "{err}");
    assert!(err.contains(&format!("searched: {path}")), "{err}");
    net.assert_only_bridge_left();

    // checkconfig lists the refused file with the same cause.
    let o = run(Command::new(BIN)
        .args(["checkconfig", "--json"])
        .env("LXC_NET_PLUGIN_PATH", &path));
    assert!(o.status.success(), "{}", show(&o));
    let report: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let refused = report["network_plugins"]["refused"].as_array().unwrap();
    assert!(
        refused
            .iter()
            .any(|r| r["file"] == bogus.display().to_string()
                && r["cause"].as_str().is_some_and(|c| !c.contains('\n'))),
        "{report}"
    );
    assert_eq!(report["network_plugins"]["search_path"][0], path.as_str());

    // A second plugin serving a type one loaded earlier serves is refused, naming both.
    let veth = Path::new(BIN).with_file_name("liblxc_net_plugin_veth.so");
    if veth.is_file() {
        let copy = dir.join("liblxc_net_plugin_vethcopy.so");
        fs::copy(&veth, &copy).unwrap();
        let o = run(Command::new(BIN)
            .args(["checkconfig", "--json"])
            .env("LXC_NET_PLUGIN_PATH", &path));
        assert!(o.status.success(), "{}", show(&o));
        let report: Value = serde_json::from_str(&stdout(&o)).unwrap();
        let p = &report["network_plugins"];
        assert!(
            p["loaded"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["file"] == copy.display().to_string()),
            "{p}"
        );
        let refused = p["refused"].as_array().unwrap();
        let dup = refused
            .iter()
            .find(|r| r["file"] == veth.display().to_string())
            .unwrap_or_else(|| panic!("{p}"));
        assert_eq!(
            dup["cause"],
            format!(
                "plugin `veth` serves `veth`, which plugin `veth` ({}) already serves",
                copy.display()
            )
        );
    }
    fs::remove_dir_all(&dir).unwrap();
}

/// A reboot tears the interfaces down and makes them again for the new init: one veth at any
/// time, the old network namespace released, and nothing left after the stop.
#[test]
fn a_reboot_makes_the_interfaces_again() {
    require_root!();
    require_plugins();
    let net = TestNet::new("veth-reboot");
    let mut c = NetContainer::new(
        &net,
        "veth-reboot",
        &format!(
            "lxc.net.0.type = veth\n\
             lxc.net.0.link = {BRIDGE}\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.ipv4.address = 10.250.0.5/24\n"
        ),
    );
    c.start();
    let first = net.veths();
    assert_eq!(first.len(), 1, "{first:?}");
    let old_ns = c.netns.clone().unwrap();
    let old_pid = c.init_pid();
    c.ok(&["reboot", "-t", "30"]);
    let pid = c.init_pid();
    assert_ne!(pid, old_pid);
    let deadline = Instant::now() + Duration::from_secs(5);
    while net.veths().len() != 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let now = net.veths();
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now[0]["ifname"], first[0]["ifname"], "a new host side");
    assert_eq!(now[0]["master"], BRIDGE);
    let held = holders(&old_ns);
    assert!(held.is_empty(), "the old namespace is still held: {held:?}");
    let eth0 = c.ip_inside(&["addr", "show", "dev", "eth0"]);
    assert!(
        addr_info(&eth0[0]).contains(&("10.250.0.5".into(), 24)),
        "{eth0}"
    );
    c.ok(&["attach", "--", "ping", "-c", "1", "-W", "5", HOST_V4]);
    c.netns = Some(
        fs::read_link(format!("/proc/{pid}/ns/net"))
            .unwrap()
            .display()
            .to_string(),
    );
    c.stop();
    c.assert_network_gone();
}

/// A reboot with a fixed `veth.pair`: the old pair is left to the old network namespace,
/// which goes in the background; the new start finds it still there under the name and
/// replaces it (as LXC deletes it on reboot).
#[test]
fn a_reboot_with_a_fixed_pair_keeps_its_name() {
    require_root!();
    require_plugins();
    let net = TestNet::new("veth-rbfix");
    let pair = format!("lxcrs-t-vq{}", std::process::id() % 100_000);
    let mut c = NetContainer::new(
        &net,
        "veth-rbfix",
        &format!(
            "lxc.net.0.type = veth\n\
             lxc.net.0.link = {BRIDGE}\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.veth.pair = {pair}\n\
             lxc.net.0.ipv4.address = 10.250.0.6/24\n"
        ),
    );
    c.start();
    let first = net.veths();
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0]["ifname"], pair.as_str());
    let old_pid = c.init_pid();
    c.ok(&["reboot", "-t", "30"]);
    let pid = c.init_pid();
    assert_ne!(pid, old_pid);
    let now = net.veths();
    assert_eq!(now.len(), 1, "{now:?}");
    assert_eq!(now[0]["ifname"], pair.as_str());
    assert_ne!(now[0]["ifindex"], first[0]["ifindex"], "a new pair");
    assert_eq!(now[0]["master"], BRIDGE);
    c.ok(&["attach", "--", "ping", "-c", "1", "-W", "5", HOST_V4]);
    c.netns = Some(
        fs::read_link(format!("/proc/{pid}/ns/net"))
            .unwrap()
            .display()
            .to_string(),
    );
    c.stop();
    c.assert_network_gone();
}

/// A fixed `veth.pair` started again right after a stop, by a new monitor: the old pair may
/// still be on its way out with the old namespace; the start waits for it and goes on.
#[test]
fn a_fixed_pair_starts_again_right_after_a_stop() {
    require_root!();
    require_plugins();
    let net = TestNet::new("veth-again");
    let pair = format!("lxcrs-t-va{}", std::process::id() % 100_000);
    let mut c = NetContainer::new(
        &net,
        "veth-again",
        &format!(
            "lxc.net.0.type = veth\n\
             lxc.net.0.link = {BRIDGE}\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.veth.pair = {pair}\n"
        ),
    );
    for _ in 0..3 {
        c.start();
        let veths = net.veths();
        assert_eq!(veths.len(), 1, "{veths:?}");
        assert_eq!(veths[0]["ifname"], pair.as_str());
        c.stop();
    }
    c.assert_network_gone();
}

/// The generic keys are the host's to apply and check: a bad `ipv6.address` is reported under
/// its own key, not as the plugin's failure, and the start leaves nothing.
#[test]
fn a_bad_generic_setting_is_reported_under_its_own_key() {
    require_root!();
    require_plugins();
    let net = TestNet::new("veth-badkey");
    let c = NetContainer::new(
        &net,
        "veth-badkey",
        &format!(
            "lxc.net.0.type = veth\n\
             lxc.net.0.link = {BRIDGE}\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.ipv6.address = fd00:250::9/200\n"
        ),
    );
    let o = c.lxc(&["start"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("lxc.net.0.ipv6.address ("), "{err}");
    assert!(err.contains("prefix longer than 128"), "{err}");
    assert!(!err.contains("(veth)"), "not the plugin's: {err}");
    assert_eq!(c.ok(&["state"]).trim(), "STOPPED");
    net.assert_only_bridge_left();
    c.t.assert_nothing_left();
}
