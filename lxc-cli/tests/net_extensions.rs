//! The network API extensions end to end, through the `lxc-rs` binary (built with every
//! extension, as by default) and the veth plugin built beside it: `veth.ipv4.route` /
//! `veth.ipv6.route` (network_veth_routes), `l2proxy` with LXC's sysctl checks
//! (network_l2proxy), `ipv4.gateway = dev` / `ipv6.gateway = dev`
//! (network_gateway_device_route), `veth.mode = router` (network_veth_router), the bridge
//! VLAN keys (network_bridge_vlan), the ipvlan keys (network_ipvlan). Needs root.
//!
//! As in net_veth.rs, nothing touches the machine's own interfaces: each test makes a network
//! namespace of its own (`lxcrs-t-ns-<test>-<pid>`) with a bridge `br0` (10.250.0.1/24,
//! fd00:250::1/64) standing in for the host, and runs every lxc-rs command inside it with
//! `nsenter --net`. After each container: no link but `lo` and `br0` there, no route, proxy
//! entry or process of the container's left, and the fixture's checks.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{show, stderr, stdout, TestContainer, BIN};

const BRIDGE: &str = "br0";
const HOST_V4: &str = "10.250.0.1";
const HOST_V6: &str = "fd00:250::1";

fn require_plugins() {
    let so = Path::new(BIN).with_file_name("liblxc_net_plugin_veth.so");
    assert!(
        so.is_file(),
        "{} is missing: build the network plugins first (`cargo build -p \
         lxc-net-plugin-veth`; `cargo xtask test` does)",
        so.display()
    );
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("run {:?}: {e}", cmd.get_program()))
}

/// A short name unique to this test process (host-side link names have 15 bytes).
fn short(tag: &str) -> String {
    format!("{tag}{}", std::process::id() % 100_000)
}

/// A network namespace standing in for the host, with its bridge.
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

    /// `ip -n NAME -j ARGS`, parsed (`[]` for no output, as `ip` prints nothing then).
    fn ip_json(&self, args: &[&str]) -> Vec<Value> {
        let mut all = vec!["-j"];
        all.extend_from_slice(args);
        let out = self.ip_in(&all);
        if out.trim().is_empty() {
            return Vec::new();
        }
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("ip -j {args:?}: {e}: {out}"))
    }

    /// Write a sysctl of the namespace (`net/ipv4/conf/br0/forwarding`).
    fn sysctl(&self, key: &str, value: &str) {
        let o = run(Command::new("nsenter")
            .arg(format!("--net={}", self.path()))
            .args(["sh", "-c", &format!("echo {value} > /proc/sys/{key}")]));
        assert!(o.status.success(), "sysctl {key}={value}: {}", show(&o));
    }

    /// busybox's ping from the namespace (the host has no ping of its own).
    fn ping(&self, addr: &str) -> Output {
        run(Command::new("nsenter")
            .arg(format!("--net={}", self.path()))
            .args(["busybox", "ping", "-c", "1", "-W", "2", addr]))
    }

    /// Ping until it answers (a fresh IPv6 address or link is tentative for a moment).
    fn ping_within(&self, addr: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let o = self.ping(addr);
            if o.status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "ping {addr} from {}: {}",
                self.name,
                show(&o)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn link_names(&self) -> Vec<String> {
        self.ip_json(&["link", "show"])
            .iter()
            .filter_map(|l| l["ifname"].as_str().map(str::to_string))
            .collect()
    }

    /// The veth host ends in the namespace.
    fn veths(&self) -> Vec<Value> {
        self.ip_json(&["-d", "link", "show"])
            .into_iter()
            .filter(|l| l["linkinfo"]["info_kind"] == "veth")
            .collect()
    }

    /// The proxy neighbour entries, as (address, device).
    fn proxies(&self) -> Vec<(String, String)> {
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
    fn routes(&self) -> Vec<Value> {
        let mut out = self.ip_json(&["-4", "route", "show"]);
        out.extend(self.ip_json(&["-6", "route", "show"]));
        out
    }

    /// Wait (up to 5 s: a namespace's devices go with it asynchronously) until only `lo` and
    /// the bridge are left, then assert it; no proxy entry either.
    fn assert_only_bridge_left(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut names = self.link_names();
        let mut proxies = self.proxies();
        while (names.len() > 2 || !proxies.is_empty()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            names = self.link_names();
            proxies = self.proxies();
        }
        assert_eq!(names, ["lo", BRIDGE], "links left in {}", self.name);
        assert_eq!(proxies, [], "proxy entries left in {}", self.name);
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

/// A busybox container whose lxc-rs commands run in a [`TestNet`], without the template's
/// `udhcpc` (which would flush the addresses lxc-rs sets).
struct NetContainer<'a> {
    net: &'a TestNet,
    t: TestContainer,
}

impl<'a> NetContainer<'a> {
    fn new(net: &'a TestNet, test: &str, config: &str) -> NetContainer<'a> {
        let t = TestContainer::busybox(test);
        let rcs = t.lxcpath.join(&t.name).join("rootfs/etc/init.d/rcS");
        let text = fs::read_to_string(&rcs).expect("the template's rcS");
        fs::write(&rcs, text.replace("/bin/udhcpc\n", "")).expect("write rcS");
        t.append_config(config);
        NetContainer { net, t }
    }

    /// `nsenter --net=<test netns> lxc-rs <command> -n NAME -P LXCPATH <rest...>`.
    fn lxc(&self, args: &[&str]) -> Output {
        let (command, rest) = args.split_first().expect("a command");
        run(Command::new("nsenter")
            .arg(format!("--net={}", self.net.path()))
            .arg(BIN)
            .arg(command)
            .args(["-n", &self.t.name, "-P", self.t.lxcpath_str()])
            .args(rest))
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.lxc(args);
        assert!(o.status.success(), "lxc-rs {args:?}: {}", show(&o));
        stdout(&o)
    }

    /// A start that must fail: its one-line error.
    fn start_fails(&self) -> String {
        let o = self.lxc(&["start"]);
        assert_eq!(o.status.code(), Some(1), "{}", show(&o));
        assert_eq!(self.ok(&["state"]).trim(), "STOPPED");
        let err = stderr(&o);
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        err
    }

    fn init_pid(&self) -> i32 {
        let info: Value = serde_json::from_str(&self.ok(&["info", "--json"])).expect("JSON");
        info["pid"]
            .as_i64()
            .unwrap_or_else(|| panic!("no pid: {info}")) as i32
    }

    /// The host's `ip -j` inside the container's network namespace.
    fn ip_inside(&self, args: &[&str]) -> Value {
        let o = run(Command::new("nsenter")
            .arg(format!("--net=/proc/{}/ns/net", self.init_pid()))
            .arg("ip")
            .arg("-j")
            .args(args));
        assert!(o.status.success(), "ip {args:?} inside: {}", show(&o));
        let out = stdout(&o);
        if out.trim().is_empty() {
            return Value::Array(Vec::new());
        }
        serde_json::from_str(&out).expect("ip -j")
    }

    fn stop(&self) {
        self.ok(&["stop", "-t", "5"]);
        assert_eq!(self.ok(&["state"]).trim(), "STOPPED");
    }

    fn assert_network_gone(&self) {
        self.net.assert_only_bridge_left();
        self.t.assert_nothing_left();
    }
}

impl Drop for NetContainer<'_> {
    fn drop(&mut self) {
        // The monitor answers only inside the test's namespace: stop it there, before the
        // fixture (which asks from outside) destroys the container.
        if stdout(&self.lxc(&["state"])).trim() == "RUNNING" {
            let _ = self.lxc(&["stop", "-k"]);
        }
    }
}

/// The route to `dst` in a list from `ip -j route`.
fn route_to<'v>(routes: &'v [Value], dst: &str) -> Option<&'v Value> {
    routes.iter().find(|r| r["dst"] == dst)
}

/// network_veth_routes: each `veth.ipv4.route` / `veth.ipv6.route` is a route on the host
/// through the host side (scope link, no gateway), gone with the veth.
#[test]
fn veth_routes_are_on_the_host_side() {
    require_root!();
    require_plugins();
    let net = TestNet::new("vroutes");
    let pair = short("lxt-vr");
    let c = NetContainer::new(
        &net,
        "vroutes",
        &format!(
            "lxc.net.0.type = veth\n\
             lxc.net.0.link = {BRIDGE}\n\
             lxc.net.0.veth.pair = {pair}\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.ipv4.address = 10.250.0.6/24\n\
             lxc.net.0.veth.ipv4.route = 10.251.0.0/24\n\
             lxc.net.0.veth.ipv4.route = 10.252.7.7/32\n\
             lxc.net.0.veth.ipv6.route = fd00:251::/64\n"
        ),
    );
    assert_eq!(
        c.ok(&["config", "get", "lxc.net.0.veth.ipv4.route"]).trim(),
        "10.251.0.0/24\n10.252.7.7/32"
    );
    c.ok(&["start"]);
    let routes = net.routes();
    for dst in ["10.251.0.0/24", "10.252.7.7", "fd00:251::/64"] {
        let r = route_to(&routes, dst).unwrap_or_else(|| panic!("no route to {dst}: {routes:?}"));
        assert_eq!(r["dev"], pair.as_str(), "{r}");
        assert!(r.get("gateway").is_none(), "a device route: {r}");
        if !dst.contains(':') {
            assert_eq!(r["scope"], "link", "{r}");
        }
    }
    c.stop();
    let routes = net.routes();
    for dst in ["10.251.0.0/24", "10.252.7.7", "fd00:251::/64"] {
        assert!(route_to(&routes, dst).is_none(), "{dst} left: {routes:?}");
    }
    c.assert_network_gone();
}

/// network_l2proxy: LXC's sysctl checks, one at a time and in its order, each a one-line
/// failure naming the key and the sysctl, leaving nothing; then the proxy entries on the link
/// for each address, gone after the stop.
#[test]
fn l2proxy_checks_sysctls_and_proxies_the_addresses() {
    require_root!();
    require_plugins();
    let net = TestNet::new("l2proxy");
    let c = NetContainer::new(
        &net,
        "l2proxy",
        &format!(
            "lxc.net.0.type = veth\n\
             lxc.net.0.link = {BRIDGE}\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.l2proxy = 1\n\
             lxc.net.0.ipv4.address = 10.250.0.7/24\n\
             lxc.net.0.ipv6.address = fd00:250::7/64\n"
        ),
    );
    let config = c.t.config_file().display().to_string();
    let lines = fs::read_to_string(&config).unwrap().lines().count();
    for (sysctl, shown) in [
        (
            "net/ipv4/conf/br0/forwarding",
            "net.ipv4.conf.br0.forwarding=1",
        ),
        (
            "net/ipv6/conf/br0/proxy_ndp",
            "net.ipv6.conf.br0.proxy_ndp=1",
        ),
        (
            "net/ipv6/conf/br0/forwarding",
            "net.ipv6.conf.br0.forwarding=1",
        ),
    ] {
        let err = c.start_fails();
        assert!(
            err.contains(&format!("lxc.net.0.l2proxy ({config}:{})", lines - 2)),
            "{err}"
        );
        assert!(err.contains("phase HostSetup"), "{err}");
        assert!(err.contains(&format!("needs sysctl {shown}")), "{err}");
        net.assert_only_bridge_left();
        net.sysctl(sysctl, "1");
    }
    c.ok(&["start"]);
    let mut proxies = net.proxies();
    proxies.sort();
    assert_eq!(
        proxies,
        [
            ("10.250.0.7".to_string(), BRIDGE.to_string()),
            ("fd00:250::7".to_string(), BRIDGE.to_string())
        ]
    );
    c.stop();
    c.assert_network_gone();
}

/// The proxy entries go with a start that fails after them (at a later interface), and with
/// a killed monitor (its cleanup watchdog undoes them).
#[test]
fn l2proxy_entries_go_with_a_failed_start_and_a_killed_monitor() {
    require_root!();
    require_plugins();
    let net = TestNet::new("l2pundo");
    net.sysctl("net/ipv4/conf/br0/forwarding", "1");
    let first = format!(
        "lxc.net.0.type = veth\n\
         lxc.net.0.link = {BRIDGE}\n\
         lxc.net.0.flags = up\n\
         lxc.net.0.l2proxy = 1\n\
         lxc.net.0.ipv4.address = 10.250.0.9/24\n"
    );
    let c = NetContainer::new(
        &net,
        "l2pundo",
        &format!(
            "{first}\
             lxc.net.1.type = veth\n\
             lxc.net.1.link = {BRIDGE}\n\
             lxc.net.1.flags = up\n\
             lxc.net.1.ipv4.gateway = {HOST_V4}\n"
        ),
    );
    let err = c.start_fails();
    assert!(err.contains("lxc.net.1.ipv4.gateway"), "{err}");
    net.assert_only_bridge_left();
    c.t.assert_nothing_left();

    // Only the first interface now: it starts; then its monitor is killed.
    let text = fs::read_to_string(c.t.config_file()).unwrap();
    let cut = text.find("lxc.net.1.type").unwrap();
    fs::write(c.t.config_file(), &text[..cut]).unwrap();
    c.ok(&["start"]);
    assert_eq!(
        net.proxies(),
        [("10.250.0.9".to_string(), BRIDGE.to_string())]
    );
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

/// network_gateway_device_route: `dev` gateways are default routes through the interface with
/// no gateway address, inside the container.
#[test]
fn a_dev_gateway_is_a_device_default_route_inside() {
    require_root!();
    require_plugins();
    let net = TestNet::new("gwdev");
    let c = NetContainer::new(
        &net,
        "gwdev",
        &format!(
            "lxc.net.0.type = veth\n\
             lxc.net.0.link = {BRIDGE}\n\
             lxc.net.0.name = eth0\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.ipv4.address = 10.250.0.8/24\n\
             lxc.net.0.ipv4.gateway = dev\n\
             lxc.net.0.ipv6.address = fd00:250::8/64\n\
             lxc.net.0.ipv6.gateway = dev\n"
        ),
    );
    assert_eq!(
        c.ok(&["config", "get", "lxc.net.0.ipv4.gateway"]).trim(),
        "dev"
    );
    c.ok(&["start"]);
    for family in ["-4", "-6"] {
        let routes = c.ip_inside(&[family, "route", "show", "default"]);
        let r = &routes[0];
        assert_eq!(r["dst"], "default", "{routes}");
        assert_eq!(r["dev"], "eth0", "{routes}");
        assert!(r.get("gateway").is_none(), "no gateway address: {routes}");
    }
    c.ok(&["attach", "--", "ping", "-c", "1", "-W", "5", HOST_V4]);
    c.stop();
    c.assert_network_gone();
}

/// network_veth_router: no bridge; the host routes the container's addresses to the host side
/// and answers ARP/NDP there for the container's gateways, so pings go both ways through it.
#[test]
fn router_mode_routes_without_a_bridge() {
    require_root!();
    require_plugins();
    let net = TestNet::new("router");
    // Like a real host: a default route of its own (the proxied gateway must be routable
    // for the kernel to answer ARP for it), IPv6 forwarding on (LXC requires it).
    net.ip_in(&["route", "add", "default", "dev", BRIDGE]);
    net.sysctl("net/ipv6/conf/all/forwarding", "1");
    let pair = short("lxt-rt");
    let c = NetContainer::new(
        &net,
        "router",
        &format!(
            "lxc.net.0.type = veth\n\
             lxc.net.0.veth.mode = router\n\
             lxc.net.0.veth.pair = {pair}\n\
             lxc.net.0.name = eth0\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.ipv4.address = 192.0.2.2/32\n\
             lxc.net.0.ipv4.gateway = 169.254.0.1\n\
             lxc.net.0.ipv6.address = 2001:db8:252::2/128\n\
             lxc.net.0.ipv6.gateway = fe80::1\n"
        ),
    );
    c.ok(&["start"]);
    let veths = net.veths();
    assert_eq!(veths.len(), 1, "{veths:?}");
    assert!(veths[0].get("master").is_none(), "no bridge: {}", veths[0]);
    let routes = net.routes();
    for dst in ["192.0.2.2", "2001:db8:252::2"] {
        let r = route_to(&routes, dst).unwrap_or_else(|| panic!("no route to {dst}: {routes:?}"));
        assert_eq!(r["dev"], pair.as_str(), "{r}");
    }
    let mut proxies = net.proxies();
    proxies.sort();
    assert_eq!(
        proxies,
        [
            ("169.254.0.1".to_string(), pair.clone()),
            ("fe80::1".to_string(), pair.clone())
        ]
    );
    // Inside: a route to the gateway, and the default route through it.
    let inside = c.ip_inside(&["-4", "route", "show", "default"]);
    assert_eq!(inside[0]["gateway"], "169.254.0.1", "{inside}");
    // Both ways, both families.
    net.ping_within("192.0.2.2", Duration::from_secs(5));
    c.ok(&["attach", "--", "ping", "-c", "1", "-W", "5", HOST_V4]);
    net.ping_within("2001:db8:252::2", Duration::from_secs(10));
    c.stop();
    let routes = net.routes();
    assert!(route_to(&routes, "192.0.2.2").is_none(), "{routes:?}");
    c.assert_network_gone();
}

/// network_bridge_vlan: the keys reach the veth plugin, which sets the port's VLANs on a
/// bridge that filters VLANs. This kernel has no bridge VLAN filtering
/// (CONFIG_BRIDGE_VLAN_FILTERING): then the start fails with the plugin's clear error naming
/// the bridge, and leaves nothing. Where the kernel has it (the qemu guest), the VLANs are
/// checked with `bridge -j vlan`.
#[test]
fn bridge_vlans_or_a_clear_error_without_vlan_filtering() {
    require_root!();
    require_plugins();
    let net = TestNet::new("brvlan");
    let filtering = run(Command::new("ip").args([
        "-n",
        &net.name,
        "link",
        "set",
        BRIDGE,
        "type",
        "bridge",
        "vlan_filtering",
        "1",
    ]));
    let pair = short("lxt-bv");
    let c = NetContainer::new(
        &net,
        "brvlan",
        &format!(
            "lxc.net.0.type = veth\n\
             lxc.net.0.link = {BRIDGE}\n\
             lxc.net.0.veth.pair = {pair}\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.veth.vlan.id = 10\n\
             lxc.net.0.veth.vlan.tagged.id = 20\n\
             lxc.net.0.veth.vlan.tagged.id = 30\n"
        ),
    );
    assert_eq!(
        c.ok(&["config", "get", "lxc.net.0.veth.vlan.tagged.id"])
            .trim(),
        "20\n30"
    );
    if !filtering.status.success() {
        println!(
            "this kernel has no bridge VLAN filtering ({}): checking the clear error instead \
             (the VLANs themselves are tested in the qemu guest)",
            stderr(&filtering).trim()
        );
        let err = c.start_fails();
        assert!(err.contains("lxc.net.0.type"), "{err}");
        assert!(
            err.contains("vlan_filtering is not enabled on bridge br0"),
            "{err}"
        );
        net.assert_only_bridge_left();
        c.t.assert_nothing_left();
        return;
    }
    c.ok(&["start"]);
    let o = run(Command::new("bridge").args(["-n", &net.name, "-j", "vlan", "show", "dev", &pair]));
    assert!(o.status.success(), "{}", show(&o));
    let vlans: Value = serde_json::from_str(&stdout(&o)).expect("bridge -j vlan");
    let port = &vlans[0]["vlans"];
    let find = |vid: u64| {
        port.as_array()
            .and_then(|a| a.iter().find(|v| v["vlan"] == vid))
            .cloned()
            .unwrap_or_else(|| panic!("no VLAN {vid}: {vlans}"))
    };
    let untagged = find(10);
    assert!(untagged["flags"].to_string().contains("PVID"), "{untagged}");
    assert!(
        untagged["flags"].to_string().contains("Egress Untagged"),
        "{untagged}"
    );
    for vid in [20, 30] {
        assert!(find(vid).get("flags").is_none(), "tagged {vid}: {vlans}");
    }
    c.stop();
    c.assert_network_gone();
}

/// network_ipvlan: the keys set, print and save through the binary as LXC's do; starting an
/// ipvlan needs a kernel with ipvlan (the qemu guest), which this one lacks.
#[test]
fn ipvlan_keys_parse_and_print() {
    require_root!();
    let t = TestContainer::new("ipvlankeys");
    let file = t.lxcpath.join("ipvlan.conf");
    fs::write(&file, "lxc.net.0.type = ipvlan\nlxc.net.0.link = eth0\n").unwrap();
    t.ok(&["create", "-t", "none", "-f", file.to_str().unwrap()]);
    assert_eq!(
        t.ok(&["config", "get", "lxc.net.0.ipvlan.mode"]).trim(),
        "l2"
    );
    assert_eq!(
        t.ok(&["config", "get", "lxc.net.0.ipvlan.isolation"])
            .trim(),
        "bridge"
    );
    t.ok(&["config", "set", "lxc.net.0.ipvlan.mode", "l3s"]);
    t.ok(&["config", "set", "lxc.net.0.ipvlan.isolation", "private"]);
    assert_eq!(
        t.ok(&["config", "get", "lxc.net.0.ipvlan.mode"]).trim(),
        "l3s"
    );
    let saved = fs::read_to_string(t.config_file()).unwrap();
    assert!(saved.contains("lxc.net.0.ipvlan.mode = l3s"), "{saved}");
    assert!(
        saved.contains("lxc.net.0.ipvlan.isolation = private"),
        "{saved}"
    );
    let o = t.lxc(&["config", "set", "lxc.net.0.ipvlan.mode", "l4"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("l3 l3s l2"), "{}", show(&o));
    let o = t.lxc(&["config", "set", "lxc.net.0.veth.mode", "router"]);
    assert!(!o.status.success(), "a veth key on an ipvlan: {}", show(&o));
}
