//! Veth networks end to end, through the `lxc-rs` binary and the plugins built beside it
//! (`cargo xtask test` builds them; by hand: `cargo build -p lxc-net-plugin-veth -p
//! lxc-net-plugin-template`). Needs root.
//!
//! Nothing here touches the machine's own interfaces: each test makes a network namespace of
//! its own with a bridge `br0` (10.250.0.1/24, fd00:250::1/64) and runs every lxc-rs command
//! inside it (common::net's `TestNet` and `NetContainer`). After each container: no link but
//! `lo` and `br0` in the test's namespace, no process holding the container's network
//! namespace, no command socket, and the fixture's checks (cgroups, processes, mounts); then
//! the namespace itself goes.

mod common;

use std::fs;
use std::net::UdpSocket;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::net::{
    holders, kill_monitor, require_plugins, run, NetContainer, TestNet, BRIDGE, HOST_V4,
};
use common::{show, stderr, stdout, BIN};

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

/// Answer one TFTP read request on the bridge's address, from a thread inside `net`'s
/// namespace: returns (the file name asked for, whether the client acknowledged the data).
fn tftp_once(
    net: &TestNet,
    port: u16,
    payload: &'static [u8],
) -> JoinHandle<Result<String, String>> {
    let path = net.path();
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

#[test]
fn veth_on_a_bridge_pings_and_exchanges_udp_with_the_host() {
    require_root!();
    require_plugins(&["veth"]);
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
    c.ping(HOST_V4);
    let server = tftp_once(&net, 6969, b"hello from the host\n");
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
    require_plugins(&["veth"]);
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
    require_plugins(&["veth"]);
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
    require_plugins(&["veth"]);
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
    require_plugins(&["veth"]);
    let net = TestNet::new("veth-kill");
    let mut c = NetContainer::new(
        &net,
        "veth-kill",
        &format!("lxc.net.0.type = veth\nlxc.net.0.link = {BRIDGE}\nlxc.net.0.flags = up\n"),
    );
    c.start();
    assert_eq!(net.veths().len(), 1);
    kill_monitor(&c.t);
    c.assert_network_gone();
}

/// The template plugin (a third party's starting point) makes its `template-veth` type, with
/// its own key.
#[test]
fn the_template_plugin_serves_its_type_and_key() {
    require_root!();
    require_plugins(&["veth"]);
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
    require_plugins(&["veth"]);
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
    c.ping(HOST_V4);
    c.note_netns();
    c.stop();
    c.assert_network_gone();
}

/// A reboot with a fixed `veth.pair`: the old pair is left to the old network namespace,
/// which goes in the background; the new start finds it still there under the name and
/// replaces it (as LXC deletes it on reboot).
#[test]
fn a_reboot_with_a_fixed_pair_keeps_its_name() {
    require_root!();
    require_plugins(&["veth"]);
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
    c.ping(HOST_V4);
    c.note_netns();
    c.stop();
    c.assert_network_gone();
}

/// A fixed `veth.pair` started again right after a stop, by a new monitor: the old pair may
/// still be on its way out with the old namespace; the start waits for it and goes on.
#[test]
fn a_fixed_pair_starts_again_right_after_a_stop() {
    require_root!();
    require_plugins(&["veth"]);
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
    require_plugins(&["veth"]);
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
