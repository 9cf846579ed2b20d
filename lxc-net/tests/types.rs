//! Network types and keys that plugins add at run time: `lxc.net.N.type` takes a registered
//! name and refuses an unknown one as before; a plugin's `lxc.net.[i].<suffix>` keys live in
//! the network model like LXC's own (a set makes the network, the type resets them, clearing
//! the network drops them) and are validated by the plugin's check.
//!
//! What is registered stays for the whole process, so the steps run in order in one test (and
//! the plugins this process found next to it, if any were built, are registered too).

use std::path::Path;
use std::sync::Arc;

use lxc_core::keys::get_keys;
use lxc_core::registry::runtime::{register_runtime, RuntimeKey, RuntimeRegistration};
use lxc_core::registry::{self, EntryKind, KeyPattern, ValueKind};
use lxc_core::{Config, Error};
use lxc_net::{netdevs, types, NetType};

fn expected(e: Error) -> String {
    match e {
        Error::InvalidValue { expected, .. } => expected,
        e => panic!("not an invalid value: {e}"),
    }
}

fn net_key(suffix: &'static str, kind: ValueKind) -> RuntimeKey {
    RuntimeKey {
        pattern: KeyPattern::Indexed {
            prefix: "lxc.net.",
            suffix,
        },
        kind,
        doc: format!("rt: {suffix}"),
        check: Arc::new(|_, v| {
            if v.len() < 16 && v.bytes().all(|b| b.is_ascii_alphanumeric()) {
                Ok(v.to_string())
            } else {
                Err("expected an interface name (1 to 15 letters or digits)".into())
            }
        }),
    }
}

#[test]
fn plugin_types_and_keys() {
    types_are_refused_until_registered();
    plugin_keys_live_in_the_network_model();
}

fn types_are_refused_until_registered() {
    let mut c = Config::new();
    let e = c
        .set("lxc.net.0.type", "rt-type")
        .expect_err("unknown type");
    let loaded = types::registered();
    if loaded.is_empty() {
        assert_eq!(
            expected(e),
            "a network type: empty, veth, macvlan, ipvlan, phys, vlan or none"
        );
    } else {
        assert_eq!(
            expected(e),
            format!(
                "a network type: empty, veth, macvlan, ipvlan, phys, vlan, none or a type a \
                 loaded network plugin serves: {}",
                loaded.join(", ")
            )
        );
    }
    assert!(c.entries().next().is_none(), "a refused type sets nothing");

    let builtin = types::register("veth").expect_err("built in");
    assert!(builtin.contains("one of LXC's own types"), "{builtin}");
    for bad in ["", "(null)", "two words", "a=b"] {
        assert!(types::register(bad).is_err(), "{bad:?}");
    }
    types::register("rt-type").expect("register");
    assert_eq!(
        types::register("rt-type"),
        Err("network type \"rt-type\" is already registered".into())
    );
    assert!(types::is_registered("rt-type"));
    assert!(!types::is_registered("veth"));
    assert_eq!(types::registered().last(), Some(&"rt-type"));

    c.set("lxc.net.0.type", "rt-type").expect("registered type");
    assert_eq!(c.get("lxc.net.0.type").expect("get"), "rt-type");
    assert_eq!(c.get("lxc.net").expect("get"), "rt-type\n");
    let e = c.set("lxc.net.1.type", "rt-other").expect_err("unknown");
    let e = expected(e);
    assert!(
        e.starts_with(
            "a network type: empty, veth, macvlan, ipvlan, phys, vlan, none or a type a loaded \
             network plugin serves: "
        ) && e.ends_with("rt-type"),
        "{e}"
    );
    let t = NetType::from_name("rt-type").expect("type");
    assert_eq!(t.name(), Some("rt-type"));
    assert!(!t.is_builtin() && t.needs_plugin());
    assert!(NetType::VETH.is_builtin() && !NetType::CLEARED.is_builtin());
    assert_eq!(NetType::from_name("veth"), Some(NetType::VETH));

    let loaded = Config::parse_str(
        "lxc.net.0.type = rt-type\nlxc.net.0.link = br0\n",
        Some(Path::new("/lxcrs-t-net/config")),
    )
    .expect("loads");
    let devs = netdevs(&loaded).expect("netdevs");
    assert_eq!(devs[0].type_, t);
    assert_eq!(devs[0].link, "br0");
    // LXC's list of keys for a type with no keys of its own.
    assert_eq!(
        get_keys(&loaded, Some("lxc.net.0")).expect("keys"),
        [
            "type",
            "script.up",
            "script.down",
            "flags",
            "link",
            "name",
            "hwaddr",
            "mtu",
            "ipv6.address",
            "ipv6.gateway",
            "ipv4.address",
            "ipv4.gateway"
        ]
    );
}

fn plugin_keys_live_in_the_network_model() {
    register_runtime(RuntimeRegistration {
        name: "rt-plugin".into(),
        kind: EntryKind::Component,
        keys: vec![
            net_key("rt.host_name", ValueKind::Single),
            net_key("rt.peer", ValueKind::List),
        ],
    })
    .expect("register");
    types::register_served_by("rt-own", "rt-plugin").expect("type");
    assert_eq!(types::owner("rt-own"), Some("rt-plugin"));
    assert_eq!(types::served_by("rt-plugin"), ["rt-own"]);
    assert_eq!(types::owner("rt-type"), None);
    // A plugin serving none of its own types (only LXC's): its keys are for any type.
    register_runtime(RuntimeRegistration {
        name: "rt-plugin-any".into(),
        kind: EntryKind::Component,
        keys: vec![net_key("rtany.x", ValueKind::Single)],
    })
    .expect("register");
    assert!(registry::config_item_is_supported("lxc.net.3.rt.host_name"));
    assert!(registry::supported_key_patterns()
        .iter()
        .any(|k| k == "lxc.net.[i].rt.peer"));

    // Clashes name the owners, linked in or loaded.
    let clash = |suffix| {
        register_runtime(RuntimeRegistration {
            name: "rt-plugin-2".into(),
            kind: EntryKind::Component,
            keys: vec![net_key(suffix, ValueKind::Single)],
        })
    };
    assert_eq!(
        clash("veth.pair"),
        Err(
            "run-time registration \"rt-plugin-2\": key lxc.net.[i].veth.pair is already \
             registered by \"net\" (linked in)"
                .into()
        )
    );
    assert_eq!(
        clash("rt.host_name"),
        Err(
            "run-time registration \"rt-plugin-2\": key lxc.net.[i].rt.host_name is already \
             registered by \"rt-plugin\" (loaded at run time)"
                .into()
        )
    );
    assert_eq!(
        types::register_served_by("rt-own", "rt-plugin-2"),
        Err("network type \"rt-own\" is already registered (served by rt-plugin)".into())
    );

    let mut c = Config::new();
    // A plugin's key on a network that does not exist cannot be printed, as LXC's keys.
    assert!(c.get("lxc.net.0.rt.host_name").is_err());
    c.set("lxc.net.0.type", "rt-own").expect("type");
    c.set("lxc.net.0.rt.host_name", "h0").expect("set");
    c.set("lxc.net.0.rt.host_name", "h1").expect("set");
    c.set("lxc.net.0.rt.peer", "a").expect("set");
    c.set("lxc.net.0.rt.peer", "b").expect("set");
    c.set("lxc.net.0.rtany.x", "y").expect("set");
    assert_eq!(c.get("lxc.net.0.rt.host_name").expect("get"), "h1");
    assert_eq!(c.get("lxc.net.0.rt.peer").expect("get"), "a\nb");
    let e = c
        .set("lxc.net.0.rt.host_name", "far-too-long-a-name")
        .expect_err("the plugin's check");
    assert_eq!(expected(e), "an interface name (1 to 15 letters or digits)");
    let devs = netdevs(&c).expect("netdevs");
    assert_eq!(
        devs[0].plugin_keys,
        [
            ("rt.host_name".to_string(), "h1".to_string()),
            ("rt.peer".to_string(), "a".to_string()),
            ("rt.peer".to_string(), "b".to_string()),
            ("rtany.x".to_string(), "y".to_string()),
        ]
    );
    let keys = get_keys(&c, Some("lxc.net.0")).expect("keys");
    assert!(keys.ends_with(&["rt.host_name".to_string(), "rt.peer".to_string()]));

    // The type's own keys are refused for another type (the network stays as it was), and
    // print as LXC's type-specific keys do there; a key for any type makes the network.
    let e = c.set("lxc.net.1.rt.peer", "x").expect_err("another type");
    assert_eq!(
        expected(e),
        "a value for type rt-own only (lxc.net.1.type is empty; set the type first)"
    );
    c.set("lxc.net.1.rtany.x", "x").expect("set");
    assert_eq!(c.get("lxc.net").expect("get"), "rt-own\nempty\n");
    let e = c.get("lxc.net.1.rt.peer").expect_err("another type");
    assert_eq!(
        expected(e),
        "lxc.net.1.rt.peer applies to type rt-own only; lxc.net.1.type is empty"
    );
    c.clear("lxc.net.1.rt.peer").expect("does nothing");
    // The type resets the network, the plugin's keys too.
    c.set("lxc.net.0.type", "rt-own").expect("type");
    assert_eq!(c.get("lxc.net.0.rt.host_name").expect("get"), "");
    assert_eq!(c.get("lxc.net.0.rt.peer").expect("get"), "");
    assert_eq!(c.get("lxc.net.0.rtany.x").expect("get"), "");
    c.set("lxc.net.0.rt.host_name", "h2").expect("set");
    c.clear("lxc.net.0.rt.host_name").expect("clear");
    assert_eq!(c.get("lxc.net.0.rt.host_name").expect("get"), "");
    c.set("lxc.net.0.rt.host_name", "h3").expect("set");
    c.set("lxc.net.0.rt.host_name", "")
        .expect("an empty value clears");
    assert_eq!(c.get("lxc.net.0.rt.host_name").expect("get"), "");
    // Clearing the network drops it whole.
    c.clear("lxc.net.1").expect("clear");
    assert!(c.get("lxc.net.1.rtany.x").is_err());
    // Other types do not list the plugin's keys.
    for t in ["veth", "rt-type"] {
        c.set("lxc.net.0.type", t).expect("type");
        let keys = get_keys(&c, Some("lxc.net.0")).expect("keys");
        assert!(!keys.iter().any(|k| k.starts_with("rt.")), "{t}: {keys:?}");
    }

    // From a file: validated, then in the model.
    let text = "lxc.net.0.type = rt-own\nlxc.net.0.rt.host_name = host0\nlxc.net.0.rt.peer = p\n";
    let loaded = Config::parse_str(text, Some(Path::new("/lxcrs-t-net/config"))).expect("loads");
    assert_eq!(netdevs(&loaded).expect("netdevs")[0].plugin_keys.len(), 2);
    let bad = Config::parse_str(
        "lxc.net.0.type = rt-own\nlxc.net.0.rt.host_name = a b\n",
        Some(Path::new("/lxcrs-t-net/config")),
    )
    .expect_err("refused");
    assert!(
        bad.to_string()
            .contains("expected an interface name (1 to 15 letters or digits)"),
        "{bad}"
    );
}
