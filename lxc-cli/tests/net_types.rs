//! The macvlan, phys, ipvlan and vlan network types end to end, through the `lxc-rs` binary
//! and the plugins built beside it (`cargo xtask test` builds them; by hand: `cargo build -p
//! lxc-net-plugin-macvlan -p lxc-net-plugin-ipvlan -p lxc-net-plugin-phys -p
//! lxc-net-plugin-vlan`). Needs root.
//!
//! Nothing here touches the machine's own interfaces. Each test makes two network namespaces
//! (common::net's `TestNet::with_far_end`): `lxcrs-t-ns-<test>-<pid>` stands in for the host
//! (every lxc-rs command runs inside it), and `lxcrs-t-nf-<test>-<pid>` is the far end of the
//! test's veth pairs (`lxcrs-t-lw0` the lower device of macvlan/ipvlan/vlan, `lxcrs-t-px0` the
//! device phys takes), with an address to ping. After each container: the host namespace holds
//! exactly the test's devices again (phys: under its name, with its MTU and MAC address), no
//! process holds the container's network namespace, and the fixture's checks (cgroups,
//! processes, sockets, mounts) pass; then both namespaces go.

mod common;

use std::fs;
use std::process::Command;

use serde_json::Value;

use common::net::{eventually, kill_monitor, require_plugins, run, NetContainer, TestNet, SETTLE};
use common::show;

/// The lower device of macvlan/ipvlan/vlan, and its far end.
const LOWER: &str = "lxcrs-t-lw0";
const LOWER_FAR: &str = "lxcrs-t-lw1";
const LOWER_NET: &str = "10.252.0";
/// The device phys takes, and its far end.
const PHYS: &str = "lxcrs-t-px0";
const PHYS_FAR: &str = "lxcrs-t-px1";
const PHYS_NET: &str = "10.253.0";
/// The MAC address the test gives the phys device.
const PHYS_MAC: &str = "02:00:00:5e:20:01";
/// The `hwaddr` some configs give it (it keeps it after the container, as under LXC).
const SET_MAC: &str = "02:00:00:5e:20:99";

/// The test's own devices in the host stand-in: `near` (down, left to the test) paired with
/// `far` in the far namespace, `<net>.1/24`, up.
fn pair(net: &TestNet, near: &str, far: &str, subnet: &str) {
    net.ip_in(&[
        "link",
        "add",
        near,
        "type",
        "veth",
        "peer",
        "name",
        far,
        "netns",
        net.far.as_deref().expect("the far namespace"),
    ]);
    net.far_in(&["addr", "add", &format!("{subnet}.1/24"), "dev", far]);
    net.far_in(&["link", "set", far, "up"]);
}

/// The host stand-in and the far namespace, with the lower device and the phys device paired
/// between them.
fn test_net(test: &str) -> TestNet {
    let net = TestNet::with_far_end(test);
    pair(&net, LOWER, LOWER_FAR, LOWER_NET);
    pair(&net, PHYS, PHYS_FAR, PHYS_NET);
    net.ip_in(&["link", "set", PHYS, "address", PHYS_MAC]);
    net
}

/// Wait (up to 5 s) until the host stand-in holds exactly the test's own devices, then assert
/// it, and that the phys device is itself again: its name, MTU 1500, still paired with its far
/// end, with MAC address `mac` (a `hwaddr` the container set stays, as under LXC).
fn assert_as_made(net: &TestNet, mac: &str) {
    let mut want = vec!["lo", LOWER, PHYS];
    want.sort();
    let sorted = || {
        let mut v = net.link_names();
        v.sort();
        v
    };
    let names = eventually(SETTLE, sorted, |names| *names == want);
    assert_eq!(names, want, "links in {}", net.name);
    let p = net.link(PHYS).expect("the phys device");
    assert_eq!(p["mtu"], 1500, "{p}");
    assert_eq!(p["address"], mac, "{p}");
    assert_eq!(p["linkinfo"]["info_kind"], "veth", "{p}");
    let far: Value =
        serde_json::from_str(&net.far_in(&["-j", "link", "show", PHYS_FAR])).expect("ip -j");
    assert_eq!(
        far[0]["link_index"], p["ifindex"],
        "still the far end's peer: {far}"
    );
}

/// Nothing of the container's network is left: the host stand-in as the test made it (the
/// phys device with MAC address `mac`), nobody holding the container's network namespace, the
/// fixture's checks.
fn assert_network_gone(c: &NetContainer<'_>, mac: &str) {
    assert_as_made(c.net, mac);
    c.assert_container_gone();
}

fn has_addr(link: &Value, addr: &str, prefix: u64) -> bool {
    link["addr_info"].as_array().is_some_and(|a| {
        a.iter()
            .any(|i| i["local"] == addr && i["prefixlen"] == prefix)
    })
}

/// Whether this kernel can make links of `kind` (through the same netlink layer the plugins
/// use).
fn kernel_has(kind: &str) -> bool {
    lxc::net::netlink::Netlink::link_kinds_supported(&[kind])
        .expect("probe the kernel's link kinds")
        .iter()
        .any(|(k, ok)| k == kind && *ok)
}

/// A directory of test files, removed on drop.
struct Files {
    dir: std::path::PathBuf,
}

impl Files {
    fn new(test: &str) -> Files {
        let dir =
            std::path::PathBuf::from(format!("/tmp/lxcrs-t-files-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Files { dir }
    }

    /// A `script.up` for the phys interface that records, in the host stand-in where it
    /// runs, whether the device has left it (`moved`) or not (`present`): proof that a failed
    /// start failed after the move. Returns the script and its log.
    fn moved_script(&self) -> (String, std::path::PathBuf) {
        let script = self.dir.join("up.sh");
        let log = self.dir.join("log");
        fs::write(
            &script,
            format!(
                "#!/bin/sh\nif ip link show {PHYS} >/dev/null 2>&1; then echo present; else \
                 echo moved; fi >> {}\n",
                log.display()
            ),
        )
        .unwrap();
        let o = run(Command::new("chmod").arg("+x").arg(&script));
        assert!(o.status.success(), "{}", show(&o));
        (script.display().to_string(), log)
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn macvlan_on_a_test_veth_pings_the_far_end() {
    require_root!();
    require_plugins(&["macvlan"]);
    let net = test_net("mv");
    net.ip_in(&["link", "set", LOWER, "up"]);
    let mut c = NetContainer::new(
        &net,
        "mv",
        &format!(
            "lxc.net.0.type = macvlan\n\
             lxc.net.0.link = {LOWER}\n\
             lxc.net.0.macvlan.mode = bridge\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.mtu = 1400\n\
             lxc.net.0.hwaddr = 00:16:3e:xx:xx:xx\n\
             lxc.net.0.ipv4.address = {LOWER_NET}.2/24\n"
        ),
    );
    c.start();
    // No name: the kernel's eth0, a macvlan in bridge mode on the test's veth, with the MTU
    // (network_phys_macvlan_mtu), MAC and address asked.
    let links = c.ip_inside(&["addr", "show"]);
    let names: Vec<&str> = links
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["ifname"].as_str())
        .collect();
    assert_eq!(names, ["lo", "eth0"], "{links}");
    let eth0 = &links[1];
    assert_eq!(eth0["linkinfo"]["info_kind"], "macvlan", "{eth0}");
    assert_eq!(eth0["linkinfo"]["info_data"]["mode"], "bridge", "{eth0}");
    assert_eq!(eth0["mtu"], 1400, "{eth0}");
    assert!(
        eth0["address"].as_str().unwrap().starts_with("00:16:3e:"),
        "{eth0}"
    );
    assert!(has_addr(eth0, &format!("{LOWER_NET}.2"), 24), "{eth0}");
    let lower = net.link(LOWER).expect("the lower device");
    assert_eq!(eth0["link_index"], lower["ifindex"], "on {LOWER}: {eth0}");
    // Nothing new on the host side.
    assert_as_made(&net, PHYS_MAC);

    c.ping(&format!("{LOWER_NET}.1"));
    c.stop();
    assert_network_gone(&c, PHYS_MAC);
}

/// A passthru macvlan takes its lower device for itself: after a reboot the new one must
/// not find the old one (in the old namespace, which the kernel tears down in the
/// background) still holding it.
#[test]
fn macvlan_passthru_survives_a_reboot() {
    require_root!();
    require_plugins(&["macvlan"]);
    let net = test_net("mvr");
    net.ip_in(&["link", "set", LOWER, "up"]);
    let mut c = NetContainer::new(
        &net,
        "mvr",
        &format!(
            "lxc.net.0.type = macvlan\n\
             lxc.net.0.link = {LOWER}\n\
             lxc.net.0.macvlan.mode = passthru\n\
             lxc.net.0.name = eth0\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.ipv4.address = {LOWER_NET}.2/24\n"
        ),
    );
    c.start();
    for _ in 0..3 {
        let old_pid = c.init_pid();
        c.ok(&["reboot", "-t", "30"]);
        let pid = c.init_pid();
        assert_ne!(pid, old_pid);
        let eth0 = &c.ip_inside(&["link", "show", "eth0"])[0];
        assert_eq!(eth0["linkinfo"]["info_data"]["mode"], "passthru", "{eth0}");
        c.note_netns();
    }
    c.ping(&format!("{LOWER_NET}.1"));
    c.stop();
    assert_network_gone(&c, PHYS_MAC);
}

#[test]
fn phys_moves_a_device_in_and_back_on_stop() {
    require_root!();
    require_plugins(&["phys"]);
    let net = test_net("ph");
    let mut c = NetContainer::new(
        &net,
        "ph",
        &format!(
            "lxc.net.0.type = phys\n\
             lxc.net.0.link = {PHYS}\n\
             lxc.net.0.name = eth0\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.mtu = 1400\n\
             lxc.net.0.hwaddr = {SET_MAC}\n\
             lxc.net.0.ipv4.address = {PHYS_NET}.2/24\n"
        ),
    );
    c.start();
    assert!(
        net.link(PHYS).is_none(),
        "moved out: {:?}",
        net.link_names()
    );
    let eth0 = &c.ip_inside(&["addr", "show", "dev", "eth0"])[0];
    assert_eq!(
        eth0["linkinfo"]["info_kind"], "veth",
        "the test's device: {eth0}"
    );
    assert_eq!(eth0["mtu"], 1400, "{eth0}");
    assert_eq!(eth0["address"], SET_MAC, "{eth0}");
    assert!(has_addr(eth0, &format!("{PHYS_NET}.2"), 24), "{eth0}");
    c.ping(&format!("{PHYS_NET}.1"));
    c.stop();
    // Back under its name, with MTU 1500.
    assert_network_gone(&c, SET_MAC);
}

/// The start fails at the second interface, after the phys device moved in and was set up:
/// the device comes back (lxc/lxc#4409 is LXC losing it here).
#[test]
fn phys_comes_back_when_the_start_fails_after_moving_it() {
    require_root!();
    require_plugins(&["phys", "macvlan"]);
    let net = test_net("phf");
    let files = Files::new("phf");
    let (script, log) = files.moved_script();
    let c = NetContainer::new(
        &net,
        "phf",
        &format!(
            "lxc.net.0.type = phys\n\
             lxc.net.0.link = {PHYS}\n\
             lxc.net.0.name = eth0\n\
             lxc.net.0.script.up = {script}\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.mtu = 1400\n\
             lxc.net.0.hwaddr = {SET_MAC}\n\
             lxc.net.0.ipv4.address = {PHYS_NET}.2/24\n\
             lxc.net.1.type = macvlan\n\
             lxc.net.1.link = {LOWER}\n\
             lxc.net.1.name = eth1\n\
             lxc.net.1.flags = up\n\
             lxc.net.1.ipv4.gateway = {LOWER_NET}.1\n"
        ),
    );
    let lines = fs::read_to_string(c.t.config_file())
        .unwrap()
        .lines()
        .count();
    let err = c.start_fails();
    assert!(
        err.contains(&format!(
            "lxc.net.1.ipv4.gateway ({}:{lines})",
            c.t.config_file().display()
        )),
        "{err}"
    );
    assert!(err.contains("needs an IPv4 address"), "{err}");
    assert_eq!(
        fs::read_to_string(&log).unwrap(),
        "moved\n",
        "the device was moved in"
    );
    assert_as_made(c.net, SET_MAC);
    c.t.assert_nothing_left();
}

/// The start fails in the second interface's plugin (its lower device does not exist), after
/// the phys device moved in: it comes back too.
#[test]
fn phys_comes_back_when_a_later_plugin_fails() {
    require_root!();
    require_plugins(&["phys", "macvlan"]);
    let net = test_net("php");
    let files = Files::new("php");
    let (script, log) = files.moved_script();
    // Both named, so they are made in config order (the phys first).
    let c = NetContainer::new(
        &net,
        "php",
        &format!(
            "lxc.net.0.type = phys\n\
             lxc.net.0.link = {PHYS}\n\
             lxc.net.0.name = eth0\n\
             lxc.net.0.script.up = {script}\n\
             lxc.net.0.mtu = 1280\n\
             lxc.net.0.flags = up\n\
             lxc.net.1.type = macvlan\n\
             lxc.net.1.link = lxcrs-t-nope\n\
             lxc.net.1.name = eth1\n"
        ),
    );
    let err = c.start_fails();
    assert!(err.contains("lxc.net.1.type"), "{err}");
    assert!(err.contains("lower device lxcrs-t-nope"), "{err}");
    assert_eq!(
        fs::read_to_string(&log).unwrap(),
        "moved\n",
        "the device was moved in"
    );
    assert_as_made(c.net, PHYS_MAC);
    c.t.assert_nothing_left();
}

/// A killed monitor's watchdog gives the device back: it kept the container's network
/// namespace open for that.
#[test]
fn phys_comes_back_when_the_monitor_is_killed() {
    require_root!();
    require_plugins(&["phys"]);
    let net = test_net("phk");
    let mut c = NetContainer::new(
        &net,
        "phk",
        &format!(
            "lxc.net.0.type = phys\n\
             lxc.net.0.link = {PHYS}\n\
             lxc.net.0.name = eth0\n\
             lxc.net.0.mtu = 1400\n\
             lxc.net.0.flags = up\n"
        ),
    );
    c.start();
    assert!(net.link(PHYS).is_none());
    kill_monitor(&c.t);
    assert_network_gone(&c, PHYS_MAC);
}

/// A reboot gives the device back and takes it again for the new init; the stop after it
/// gives it back for good.
#[test]
fn phys_follows_a_reboot() {
    require_root!();
    require_plugins(&["phys"]);
    let net = test_net("phr");
    let mut c = NetContainer::new(
        &net,
        "phr",
        &format!(
            "lxc.net.0.type = phys\n\
             lxc.net.0.link = {PHYS}\n\
             lxc.net.0.name = eth0\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.ipv4.address = {PHYS_NET}.2/24\n"
        ),
    );
    c.start();
    let old_pid = c.init_pid();
    c.ok(&["reboot", "-t", "30"]);
    let pid = c.init_pid();
    assert_ne!(pid, old_pid);
    assert!(
        net.link(PHYS).is_none(),
        "in the new container: {:?}",
        net.link_names()
    );
    let eth0 = &c.ip_inside(&["addr", "show", "dev", "eth0"])[0];
    assert!(has_addr(eth0, &format!("{PHYS_NET}.2"), 24), "{eth0}");
    c.ping(&format!("{PHYS_NET}.1"));
    c.note_netns();
    c.stop();
    assert_network_gone(&c, PHYS_MAC);
}

/// A phys without a name keeps the device's host name, which LXC gives it before the
/// interfaces the kernel names: beside a nameless veth listed first, a phys device called
/// `eth0` on the host is `eth0` inside, and the veth gets the kernel's next name.
#[test]
fn a_nameless_phys_keeps_its_name_beside_a_nameless_veth() {
    require_root!();
    require_plugins(&["veth", "phys"]);
    let net = test_net("phn");
    // The phys device under the name the kernel would give the veth made first.
    net.ip_in(&["link", "set", PHYS, "name", "eth0"]);
    let mut c = NetContainer::new(
        &net,
        "phn",
        &format!(
            "lxc.net.0.type = veth\n\
             lxc.net.0.flags = up\n\
             lxc.net.1.type = phys\n\
             lxc.net.1.link = eth0\n\
             lxc.net.1.flags = up\n\
             lxc.net.1.ipv4.address = {PHYS_NET}.2/24\n"
        ),
    );
    c.start();
    let links = c.ip_inside(&["addr", "show"]);
    let inside = |name: &str| {
        links
            .as_array()
            .and_then(|a| a.iter().find(|l| l["ifname"] == name))
            .unwrap_or_else(|| panic!("no {name} inside: {links}"))
    };
    let eth0 = inside("eth0");
    assert_eq!(eth0["address"], PHYS_MAC, "the phys device: {eth0}");
    assert!(has_addr(eth0, &format!("{PHYS_NET}.2"), 24), "{eth0}");
    let eth1 = inside("eth1");
    assert_eq!(eth1["linkinfo"]["info_kind"], "veth", "{eth1}");
    assert_ne!(eth1["address"], PHYS_MAC, "the veth: {eth1}");
    assert!(
        net.link("eth0").is_none(),
        "moved out: {:?}",
        net.link_names()
    );
    c.ping(&format!("{PHYS_NET}.1"));
    c.stop();
    // Back on the host under its name; the test gives it the fixture's name again.
    let back = eventually(SETTLE, || net.link("eth0"), Option::is_some);
    assert!(back.is_some(), "eth0 is not back: {:?}", net.link_names());
    net.ip_in(&["link", "set", "eth0", "name", PHYS]);
    assert_network_gone(&c, PHYS_MAC);
}

/// On a kernel without ipvlan (this machine) the start fails saying so and leaves nothing;
/// on one with it (the qemu guest) the container starts and pings the far end.
#[test]
fn ipvlan_fails_clearly_without_kernel_support() {
    require_root!();
    require_plugins(&["ipvlan"]);
    let net = test_net("ipv");
    net.ip_in(&["link", "set", LOWER, "up"]);
    let mut config = format!(
        "lxc.net.0.type = ipvlan\n\
         lxc.net.0.link = {LOWER}\n\
         lxc.net.0.flags = up\n\
         lxc.net.0.ipv4.address = {LOWER_NET}.3/24\n"
    );
    if lxc::has_api_extension("network_ipvlan") {
        config.push_str("lxc.net.0.ipvlan.mode = l2\nlxc.net.0.ipvlan.isolation = bridge\n");
    }
    let mut c = NetContainer::new(&net, "ipv", &config);
    if kernel_has("ipvlan") {
        c.start();
        let eth0 = &c.ip_inside(&["link", "show", "eth0"])[0];
        assert_eq!(eth0["linkinfo"]["info_kind"], "ipvlan", "{eth0}");
        c.ping(&format!("{LOWER_NET}.1"));
        c.stop();
        assert_network_gone(&c, PHYS_MAC);
        return;
    }
    let err = c.start_fails();
    assert!(err.contains("lxc.net.0.type"), "{err}");
    assert!(err.contains("phase HostSetup"), "{err}");
    assert!(
        err.contains("lxc.net.0 (ipvlan): this kernel has no ipvlan"),
        "{err}"
    );
    assert_as_made(c.net, PHYS_MAC);
    c.t.assert_nothing_left();
    eprintln!("NOTE: this kernel has no ipvlan: only the failed start was checked");
}

/// On a kernel without 802.1Q (this machine) the start fails saying so and leaves nothing;
/// on one with it (the qemu guest) the container gets its VLAN device.
#[test]
fn vlan_fails_clearly_without_kernel_support() {
    require_root!();
    require_plugins(&["vlan"]);
    let net = test_net("vl");
    // A VLAN device comes up only over a lower link that is up (ENETDOWN otherwise, under
    // LXC too: neither runtime brings the lower link up).
    net.ip_in(&["link", "set", LOWER, "up"]);
    let mut c = NetContainer::new(
        &net,
        "vl",
        &format!(
            "lxc.net.0.type = vlan\n\
             lxc.net.0.link = {LOWER}\n\
             lxc.net.0.vlan.id = 10\n\
             lxc.net.0.name = eth0\n\
             lxc.net.0.flags = up\n"
        ),
    );
    if kernel_has("vlan") {
        c.start();
        let eth0 = &c.ip_inside(&["link", "show", "eth0"])[0];
        assert_eq!(eth0["linkinfo"]["info_kind"], "vlan", "{eth0}");
        assert_eq!(eth0["linkinfo"]["info_data"]["id"], 10, "{eth0}");
        c.stop();
        assert_network_gone(&c, PHYS_MAC);
        return;
    }
    let err = c.start_fails();
    assert!(err.contains("lxc.net.0.type"), "{err}");
    assert!(
        err.contains("lxc.net.0 (vlan): this kernel has no 802.1Q vlan"),
        "{err}"
    );
    assert_as_made(c.net, PHYS_MAC);
    c.t.assert_nothing_left();
    eprintln!("NOTE: this kernel has no 802.1Q vlan: only the failed start was checked");
}
