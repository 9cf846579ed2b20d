//! A running container's interfaces: `get_interfaces` / `get_ips` (the API, and `info -i`,
//! `info --json`, `ls --fancy`), and `attach_interface` / `detach_interface` (`device add|del`).
//! Needs root and the veth plugin next to the binary (`cargo build -p lxc-net-plugin-veth -p
//! lxc-net-plugin-template`; `cargo xtask test` builds it).
//!
//! As in `net_veth.rs`, nothing touches the machine's own interfaces: each test makes a network
//! namespace with a bridge `br0` and runs every command in it (common::net; the command
//! sockets are abstract, so they live in that namespace too); the API is called from a thread
//! that entered it. Where LXC's tools are installed, a container LXC runs in the same namespace
//! is shown by `lxc-ls` / `lxc-info` and by lxc-rs, and the outputs compared.

mod common;

use std::fs;
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::net::{no_udhcpc, require_plugins, NetContainer, TestNet, BRIDGE};
use common::{show, stderr, stdout, TestContainer, BIN};

/// The links of `net`'s namespace: (name, MAC, up) each.
fn links(net: &TestNet) -> Vec<(String, String, bool)> {
    links_of(&net.ip_json(&["link", "show"]))
}

/// The links inside the container: (name, MAC, up) each.
fn links_inside(c: &NetContainer<'_>) -> Vec<(String, String, bool)> {
    links_of(c.ip_inside(&["link", "show"]).as_array().expect("a list"))
}

fn links_of(links: &[Value]) -> Vec<(String, String, bool)> {
    links
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

/// A handle on the container for the API (config not read).
fn handle(c: &NetContainer<'_>) -> lxc::Container {
    lxc::Container::new_unloaded(&c.t.name, Some(&c.t.lxcpath)).expect("a handle")
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
    require_plugins(&["veth"]);
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
    let h = handle(&c);
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
    let inside = c.ip_inside(&["addr", "show", "dev", "eth0"]);
    let index = inside[0]["ifindex"].as_i64().expect("ifindex") as i32;
    let link_local: Vec<String> = inside[0]["addr_info"]
        .as_array()
        .expect("addr_info")
        .iter()
        .filter(|a| a["family"] == "inet6" && a["scope"] == "link")
        .filter_map(|a| a["local"].as_str().map(str::to_string))
        .collect();
    let h = handle(&c);
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
    assert_eq!(c.ok(&["info", "-p", "-H"]).trim(), pid.to_string());
    let full = c.ok(&["info"]);
    assert!(
        full.contains(&format!("PID:            {pid}\n{ip_lines}CPU use:")),
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
    let h = handle(&c);
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
    require_plugins(&["veth"]);
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
    let mac = links(&net)
        .into_iter()
        .find(|l| l.0 == a)
        .expect("the veth end")
        .1;

    // In: under the new name, down (liblxc takes it down first), gone from the host.
    assert_eq!(c.ok(&["device", "add", &a, "eth1"]), "");
    assert!(!links(&net).iter().any(|l| l.0 == a), "{:?}", links(&net));
    let inside = links_inside(&c);
    assert!(
        inside.contains(&("eth1".to_string(), mac.clone(), false)),
        "{inside:?}"
    );
    let h = handle(&c);
    let ifaces = net.call(move || lxc::net::running::get_interfaces(&h).expect("get_interfaces"));
    assert_eq!(ifaces, ["eth0", "eth1", "lo"]);

    // Bad input changes nothing, on either side, and says what is wrong in one line.
    let before = (links(&net), links_inside(&c));
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
            vec!["device", "add", "/dev/lxcrs-t-nosuch"],
            "/dev/lxcrs-t-nosuch: No such file or directory".to_string(),
        ),
    ] {
        let label = format!("{} {}", args[0], args[1]);
        let err = c.fails(&args);
        assert_eq!(err, format!("lxc-rs: {label} {name}: {want}\n"), "{args:?}");
    }
    assert_eq!((links(&net), links_inside(&c)), before);

    // The API's errno for each kind of refusal.
    let h = handle(&c);
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
    assert_eq!((links(&net), links_inside(&c)), before);

    // Out again, under its first name, down, the same device.
    assert_eq!(c.ok(&["device", "del", "eth1", &a]), "");
    assert!(!links_inside(&c).iter().any(|l| l.0 == "eth1"));
    assert!(
        links(&net).contains(&(a.clone(), mac.clone(), false)),
        "{:?}",
        links(&net)
    );
    // LXC's prefixes of add and del work too; no DEST keeps the name.
    assert_eq!(c.ok(&["device", "a", &a]), "");
    assert!(links_inside(&c).iter().any(|l| l.0 == a));
    assert_eq!(c.ok(&["device", "d", &a]), "");
    assert!(links(&net).iter().any(|l| l.0 == a));

    // A stopped container: refused, the device stays where it is.
    c.stop();
    let err = c.fails(&["device", "add", &a, "eth1"]);
    assert_eq!(
        err,
        format!("lxc-rs: device add {name}: {name} is not running\n")
    );
    assert!(links(&net).iter().any(|l| l.0 == a));
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

    // lxc-rs moves devices into a container LXC runs too, as lxc-device does (through the
    // init pidfd LXC's monitor gives): a missing one is said as for any container.
    let o = tool(BIN, &["device", "add", "-n", &t.name, "nosuch0"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        stderr(&o).contains("no interface nosuch0 on the host"),
        "{}",
        show(&o)
    );
}
