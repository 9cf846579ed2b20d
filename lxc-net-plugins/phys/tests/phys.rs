//! The phys plugin against the real kernel: one end of a veth pair the test made in its "host"
//! namespace (see `shared/world.rs`) stands in for the physical device. It must go into the
//! "container" namespace under its final name and come back with its name and MTU on
//! `destroy`, also when `create` itself fails after the move. (The MAC address the container
//! side set stays, as under LXC.)

#[path = "../../shared/world.rs"]
mod world;

use lxc_net_api::testing::build_plugin;
use lxc_net_api::{Created, NetPluginRef, Request};
use world::{require_root, World, LOWER, LOWER_PEER};

const MAC: &str = "02:00:00:5e:10:01";
/// The MAC address the container side gets (and keeps on the way back, as under LXC).
const SET_MAC: &str = "02:00:00:5e:10:99";

fn module() -> NetPluginRef {
    lxc_net_plugin_phys::module()
}

/// The world, with the device's MAC set to [`MAC`].
fn world(tag: &str, mtu: u32) -> World {
    let w = World::new(tag, mtu);
    w.host
        .exec(&["ip", "link", "set", LOWER, "address", MAC])
        .expect("set the MAC");
    w
}

/// The device on the host, as `ip -d -j link` shows it.
fn host_dev(w: &World) -> serde_json::Value {
    w.host_links()
        .into_iter()
        .find(|l| l["ifname"] == LOWER)
        .unwrap_or_else(|| panic!("{LOWER} is not on the host: {:?}", w.host_names()))
}

/// What the host's generic setup would do inside: MTU, MAC ([`SET_MAC`]), an address, up.
fn configure_inside(w: &World, name: &str) {
    for args in [
        vec!["ip", "link", "set", name, "mtu", "1400"],
        vec!["ip", "link", "set", name, "address", SET_MAC],
        vec!["ip", "addr", "add", "10.251.0.2/24", "dev", name],
        vec!["ip", "link", "set", name, "up"],
    ] {
        w.ct.exec(&args).expect("configure inside");
    }
}

fn assert_back(w: &World, mtu: u32, mac: &str) {
    assert_eq!(w.ct_names(), ["lo"], "nothing left inside");
    assert_eq!(w.host_names(), ["lo", LOWER, LOWER_PEER]);
    let d = host_dev(w);
    assert_eq!(d["mtu"], mtu, "{d}");
    assert_eq!(d["address"], mac, "{d}");
    assert_eq!(d["linkinfo"]["info_kind"], "veth", "the same device: {d}");
    assert!(
        d["addr_info"].is_null() || d["addr_info"] == serde_json::json!([]),
        "{d}"
    );
}

#[test]
fn moved_in_under_its_name_and_back_with_name_and_mtu() {
    require_root!("moved_in_under_its_name_and_back_with_name_and_mtu");
    let w = world("phn", 1500);
    let m = module();
    assert_eq!(m.name().as_str(), "phys");
    assert_eq!(m.types()[0].as_str(), "phys");
    assert!(m.keys().is_empty());
    for (name, want) in [
        (Some("eth1"), "eth1"),
        // LXC: no name is the host device's own.
        (None, LOWER),
        (Some("eth%d"), "eth0"),
    ] {
        let mut config = vec![("link", LOWER), ("flags", "up")];
        if let Some(n) = name {
            config.push(("name", n));
        }
        let req = w.req("phys", 0, &config);
        let c = w.create(m, &req).expect("create");
        assert_eq!(c.ifname.as_str(), want);
        assert!(c.host_ifname.is_none());
        assert!(!w.host_names().contains(&LOWER.to_string()), "moved out");
        let inside = w.ct_link(want);
        let before = if name == Some("eth1") { MAC } else { SET_MAC };
        assert_eq!(inside["address"], before, "the same device: {inside}");
        assert_eq!(inside["operstate"], "DOWN", "{inside}");
        assert_eq!(
            w.describe(m, &req, &c),
            format!("phys {want} (host device {LOWER}, MTU 1500 on the host)")
        );
        configure_inside(&w, want);
        w.destroy(m, &req, &c).expect("destroy");
        assert_back(&w, 1500, SET_MAC);
        // A second destroy (both the undo and the stop may run it) finds it back: fine.
        w.destroy(m, &req, &c).expect("destroy again");
        assert_back(&w, 1500, SET_MAC);
    }
    w.finish();
}

/// `create` failing after the move (here: the name is taken inside) moves the device back
/// before it returns.
#[test]
fn a_create_that_fails_after_the_move_gives_the_device_back() {
    require_root!("a_create_that_fails_after_the_move_gives_the_device_back");
    let w = world("phf", 1450);
    w.ct.exec(&[
        "ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth9",
    ])
    .expect("a veth inside");
    let req = w.req("phys", 4, &[("link", LOWER), ("name", "eth1")]);
    let e = w.create(module(), &req).expect_err("the name is taken");
    assert!(
        e.starts_with("lxc.net.4 (phys): renaming lxcrs-t-lw0 to eth1"),
        "{e}"
    );
    assert!(e.ends_with("(moved back to the host)"), "{e}");
    assert_eq!(w.ct_names(), ["eth1", "eth9", "lo"]);
    assert_eq!(w.host_names(), ["lo", LOWER, LOWER_PEER]);
    let d = host_dev(&w);
    assert_eq!(d["mtu"], 1450, "{d}");
    assert_eq!(d["address"], MAC, "{d}");
    w.finish();
}

/// The original name taken on the host meanwhile: the device comes back under a transient
/// name, and the error says which.
#[test]
fn a_taken_name_on_the_way_back_is_reported() {
    require_root!("a_taken_name_on_the_way_back_is_reported");
    let w = world("pht", 1500);
    let m = module();
    let req = w.req("phys", 0, &[("link", LOWER), ("name", "eth0")]);
    let c = w.create(m, &req).expect("create");
    w.host
        .exec(&[
            "ip",
            "link",
            "add",
            LOWER,
            "type",
            "veth",
            "peer",
            "name",
            "lxcrs-t-lw9",
        ])
        .expect("a new device under the old name");
    let e = w.destroy(m, &req, &c).expect_err("the name is taken");
    assert!(
        e.starts_with("lxc.net.0 (phys): lxcrs-t-lw0 is back on the host as phys"),
        "{e}"
    );
    assert_eq!(w.ct_names(), ["lo"]);
    let back = w
        .host_names()
        .into_iter()
        .find(|n| n.starts_with("phys"))
        .expect("the transient name");
    assert_eq!(back.len(), 10, "{back}");
    w.finish();
}

#[test]
fn errors_name_the_interface() {
    require_root!("errors_name_the_interface");
    let w = world("phe", 1500);
    let m = module();
    let e = w.create(m, &w.req("phys", 1, &[])).expect_err("no link");
    assert_eq!(
        e,
        "lxc.net.1 (phys): no host device to move in: lxc.net.1.link is not set"
    );
    let e = w
        .create(m, &w.req("phys", 1, &[("link", "lxcrs-t-nope")]))
        .expect_err("no device");
    assert_eq!(
        e,
        "lxc.net.1 (phys): the host device lxcrs-t-nope (lxc.net.1.link) does not exist"
    );
    // A device the kernel keeps in its namespace.
    w.host
        .exec(&["ip", "link", "add", "lxcrs-t-br9", "type", "bridge"])
        .expect("a bridge");
    let e = w
        .create(m, &w.req("phys", 1, &[("link", "lxcrs-t-br9")]))
        .expect_err("a bridge does not move");
    assert!(
        e.starts_with("lxc.net.1 (phys): moving lxcrs-t-br9 into the container"),
        "{e}"
    );
    assert!(
        e.contains("the kernel keeps some devices in their namespace"),
        "{e}"
    );
    w.host
        .exec(&["ip", "link", "del", "lxcrs-t-br9"])
        .expect("remove the bridge");
    // A device that went missing from both sides.
    let gone = Created::new(
        "eth0",
        None,
        "name=lxcrs-t-gone;index=99;mtu=1500;inside=77",
    );
    let e = w
        .destroy(m, &w.req("phys", 1, &[("link", "lxcrs-t-gone")]), &gone)
        .expect_err("gone");
    assert!(e.contains("lxcrs-t-gone is gone"), "{e}");
    assert_eq!(w.ct_names(), ["lo"]);
    assert_eq!(w.host_names(), ["lo", LOWER, LOWER_PEER]);
    w.finish();
}

#[test]
fn loaded_from_the_shared_object() {
    require_root!("loaded_from_the_shared_object");
    let so = build_plugin(env!("CARGO_MANIFEST_DIR")).expect("build the .so");
    let m = lxc_net_api::load(&so).expect("load");
    assert_eq!(m.name().as_str(), "phys");
    let w = world("phs", 1500);
    let req: Request = w.req("phys", 0, &[("link", LOWER), ("name", "eth0")]);
    let c = w.create(m, &req).expect("create through the .so");
    assert_eq!(c.ifname.as_str(), "eth0");
    configure_inside(&w, "eth0");
    w.destroy(m, &req, &c).expect("destroy");
    assert_back(&w, 1500, SET_MAC);
    w.finish();
}
