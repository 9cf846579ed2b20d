//! The template plugin: called directly through its rlib, loaded from the built `.so`, and
//! built out of tree exactly as its README says (with two broken variants that the loader
//! must refuse: one built for another API_VERSION, one with another interface layout).
//! Network tests run as root inside network namespaces the tests make and remove.

use std::path::{Path, PathBuf};
use std::process::Command;

use lxc_net_api::abi_stable::std_types::{RResult, RStr};
use lxc_net_api::netlink::Netlink;
use lxc_net_api::testing::{build_plugin, can_run, netns_exists, TestNetns};
use lxc_net_api::{Created, LoadError, NetPlugin, NetPluginRef, Request, API_VERSION};

macro_rules! require_root {
    ($name:literal) => {
        if !can_run() {
            eprintln!("SKIP {}: needs root and iproute2", $name);
            return;
        }
    };
}

fn req(ct: &TestNetns, index: u32, config: &[(&str, &str)]) -> Request {
    let fd = std::os::fd::AsRawFd::as_raw_fd(&ct.fd());
    Request::new(
        "lxcrs-t-ct",
        "/var/lib/lxcrs-t",
        index,
        "template-veth",
        fd,
        4242,
        config,
    )
}

fn links(ns: &TestNetns) -> Vec<String> {
    let nl = Netlink::in_netns(ns.fd()).expect("netlink");
    let mut v: Vec<String> = nl
        .links()
        .expect("links")
        .into_iter()
        .map(|l| l.name)
        .collect();
    v.sort();
    v
}

/// create, up, down, destroy through a module, in a host and a container namespace; checks
/// every step and that nothing is left.
fn lifecycle(m: NetPluginRef, tag: &str) {
    let host = TestNetns::new(&format!("{tag}-h")).expect("host netns");
    let ct = TestNetns::new(&format!("{tag}-c")).expect("container netns");
    let call = |r: &Request| {
        host.run(|| match (m.create())(r) {
            RResult::ROk(c) => Ok(c),
            RResult::RErr(e) => Err(e.into_string()),
        })
    };
    let destroy = |r: &Request, c: &Created| {
        host.run(|| match (m.destroy())(r, c) {
            RResult::ROk(()) => {}
            RResult::RErr(e) => panic!("destroy: {e}"),
        })
    };

    // Defaults: host side tmpl<N>-<init pid>, container side the kernel's eth0.
    let r0 = req(&ct, 3, &[("type", "template-veth")]);
    let c0 = call(&r0).expect("create");
    assert_eq!(c0.ifname.as_str(), "eth0");
    assert_eq!(
        c0.host_ifname.as_ref().map(|s| s.as_str()),
        Some("tmpl3-4242").into()
    );
    // The plugin's own key and a configured name.
    let r1 = req(
        &ct,
        1,
        &[
            ("type", "template-veth"),
            ("template.host_name", "lxcrs-t-tmp"),
            ("name", "wan0"),
        ],
    );
    let c1 = call(&r1).expect("create");
    assert_eq!(c1.ifname.as_str(), "wan0");
    assert_eq!(links(&host), ["lo", "lxcrs-t-tmp", "tmpl3-4242"]);
    assert_eq!(links(&ct), ["eth0", "lo", "wan0"]);
    let hn = Netlink::in_netns(host.fd()).expect("netlink");
    assert!(hn.link_by_name("lxcrs-t-tmp").expect("l").expect("l").up);
    drop(hn);
    assert_eq!(
        (m.describe())(&r1, &c1).into_string(),
        "template-veth lxcrs-t-tmp <-> wan0"
    );
    assert!((m.up())(&r1, &c1).is_ok() && (m.down())(&r1, &c1).is_ok());

    // A taken name: one line naming the interface; nothing made.
    let bad = req(
        &ct,
        2,
        &[("template.host_name", "lxcrs-t-tmp"), ("name", "x0")],
    );
    let e = call(&bad).expect_err("name taken");
    assert!(
        e.starts_with("lxc.net.2 (template-veth): creating veth pair lxcrs-t-tmp <-> x0"),
        "{e}"
    );
    assert!(!e.contains('\n'));

    destroy(&r0, &c0);
    destroy(&r1, &c1);
    destroy(&r1, &c1); // already gone: fine
    assert_eq!(links(&host), ["lo"]);
    assert_eq!(links(&ct), ["lo"]);
    let names = [host.name().to_string(), ct.name().to_string()];
    drop((host, ct));
    for n in names {
        assert!(!netns_exists(&n), "{n} left behind");
    }
}

#[test]
fn module_description_and_key_check() {
    let m = lxc_net_plugin_template::module();
    assert_eq!(m.api_version(), API_VERSION);
    assert_eq!(m.name().as_str(), "template");
    let types: Vec<&str> = m.types().iter().map(|t| t.as_str()).collect();
    assert_eq!(types, ["template-veth"]);
    assert_eq!(m.keys().len(), 1);
    assert_eq!(m.keys()[0].suffix.as_str(), "template.host_name");
    assert!(!m.keys()[0].list);
    let check = m.check_key();
    let ok = check(
        RStr::from_str("template.host_name"),
        RStr::from_str("tmpl-web"),
    );
    assert_eq!(
        ok.map(|s| s.into_string()).into_result(),
        Ok("tmpl-web".into())
    );
    for bad in ["", "has space", "sixteen-bytes-xx", "a/b"] {
        let r = check(RStr::from_str("template.host_name"), RStr::from_str(bad)).into_result();
        assert!(
            r.is_err_and(|e| e.contains("expected an interface name")),
            "{bad:?}"
        );
    }
    assert!(check(RStr::from_str("template.other"), RStr::from_str("x")).is_err());
}

#[test]
fn lifecycle_through_the_rlib() {
    require_root!("lifecycle_through_the_rlib");
    lifecycle(lxc_net_plugin_template::module(), "tr");
}

#[test]
fn lifecycle_through_the_built_so() {
    require_root!("lifecycle_through_the_built_so");
    let so = build_plugin(env!("CARGO_MANIFEST_DIR")).expect("build the .so");
    assert!(
        so.ends_with("liblxc_net_plugin_template.so"),
        "{}",
        so.display()
    );
    let m = lxc_net_api::abi_stable::library::lib_header_from_path(&so)
        .expect("dlopen")
        .init_root_module::<NetPluginRef>()
        .expect("layout");
    assert_eq!(m.name().as_str(), "template");
    lifecycle(m, "ts");
}

/// A module that says it was built for another interface version is refused by `check` (the
/// part of `load` that runs after abi_stable's layout check).
#[test]
fn another_api_version_is_refused_in_process() {
    let real = lxc_net_plugin_template::module();
    let other = NetPlugin {
        api_version: API_VERSION + 1,
        name: RStr::from_str("from-the-future"),
        types: real.types(),
        keys: real.keys(),
        check_key: real.check_key(),
        create: real.create(),
        up: real.up(),
        down: real.down(),
        destroy: real.destroy(),
        describe: real.describe(),
    }
    .leak();
    assert_eq!(
        lxc_net_api::check(other),
        Err(("from-the-future".to_string(), API_VERSION + 1))
    );
    assert_eq!(lxc_net_api::check(real), Ok(()));
}

/// Build the template as a standalone crate (the README's Cargo.toml), plus two broken
/// variants, and load the three `.so` files the way the host does.
#[test]
fn built_out_of_tree_as_the_readme_says() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lxcrs-t-plugin-out-of-tree");
    let sos = match build_out_of_tree(&dir) {
        Ok(s) => s,
        Err(e) => panic!("building the template out of tree: {e}"),
    };

    // The README's build loads and works.
    let m = match lxc_net_api::load(&sos[0]) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(m.name().as_str(), "template");
    if can_run() {
        lifecycle(m, "to");
    } else {
        eprintln!("SKIP the lifecycle of the out-of-tree build: needs root");
    }

    // Built for another API_VERSION: refused, one line, naming the file and both versions.
    match lxc_net_api::load(&sos[1]) {
        Ok(_) => panic!("a module for API_VERSION + 1 was accepted"),
        Err(e @ LoadError::ApiVersion { .. }) => {
            let text = e.to_string();
            assert_eq!(
                text,
                format!(
                    "{}: plugin `template` was built for network plugin interface {}, this is {}",
                    sos[1].display(),
                    API_VERSION + 1,
                    API_VERSION
                )
            );
        }
        Err(e) => panic!("refused for the wrong reason: {e}"),
    }

    // Another layout of the root module: abi_stable's check refuses it; the report is cut to
    // one short line.
    match lxc_net_api::load(&sos[2]) {
        Ok(_) => panic!("a module with another layout was accepted"),
        Err(e @ LoadError::Abi { .. }) => {
            let text = e.to_string();
            println!("layout refusal: {text}");
            assert_eq!(
                text,
                format!(
                    "{}: interface layout differs from this host's: NetPlugin: mismatched \
                     package (expected lxc-net-api, found lxc-net-plugin-oot-layout)",
                    sos[2].display()
                )
            );
            assert!(!text.contains('\n') && text.len() < 600, "{text}");
        }
        Err(e) => panic!("refused for the wrong reason: {e}"),
    }

    // Built against an lxc-net-api whose NetPlugin differs: abi_stable's layout check.
    match lxc_net_api::load(&sos[3]) {
        Ok(_) => panic!("a plugin built against a changed lxc-net-api was accepted"),
        Err(e @ LoadError::Abi { .. }) => {
            let text = e.to_string();
            println!("changed-interface refusal: {text}");
            assert!(
                text.starts_with(&format!(
                    "{}: interface layout differs from this host's: ",
                    sos[3].display()
                )),
                "{text}"
            );
            assert!(
                text.ends_with(
                    "NetPlugin: prefix-types have a different prefix (expected 10, found 11); \
                     unexpected field (expected field_name:name, found field_name:flags); \
                     and 8 more"
                ),
                "{text}"
            );
        }
        Err(e) => panic!("refused for the wrong reason: {e}"),
    }
}

/// Write `text` to `p` unless it already holds it (so that a second run is an incremental
/// build).
fn write_if_changed(p: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    if std::fs::read_to_string(p).ok().as_deref() != Some(text) {
        std::fs::write(p, text).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(())
}

/// `cargo build --offline` of the workspace `ws` into `target` (shared by the fixtures, so that
/// their common dependencies build once).
fn cargo_build(ws: &Path, target: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--offline", "--manifest-path"])
        .arg(ws.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR")
        // No debug info: a third of the size and time, and nothing here is debugged.
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .output()
        .map_err(|e| format!("cargo: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The README's standalone crate (`ok`), the same built for API_VERSION + 1 (`v2`), a module
/// with its own `NetPlugin` of another layout (`layout`), and a plugin built against a changed
/// copy of lxc-net-api (`oldapi`: what a plugin built for another lxc-rs looks like); returns
/// their `.so` paths.
fn build_out_of_tree(dir: &Path) -> Result<[PathBuf; 4], String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let api_dir = manifest.join("../../lxc-net/api");
    let api = api_dir
        .canonicalize()
        .map_err(|e| format!("lxc-net/api: {e}"))?;
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let template = read(&manifest.join("src/lib.rs"))?;
    let lock = read(&manifest.join("../../Cargo.lock"))?;
    let write = |rel: &str, text: &str| write_if_changed(&dir.join(rel), text);
    // Pin the versions lxc-rs builds with (rtnetlink and netlink-packet-route only build in
    // matching pairs), as the README suggests.
    for ws in ["", "oldapi/"] {
        if !dir.join(ws).join("Cargo.lock").exists() {
            write(&format!("{ws}Cargo.lock"), &lock)?;
        }
    }

    // A workspace only so that the fixtures share one build of their dependencies; each
    // member's Cargo.toml is the README's.
    write(
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"ok\", \"v2\", \"layout\"]\n",
    )?;
    let readme_toml = |name: &str, api: &Path| {
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [lib]\ncrate-type = [\"cdylib\"]\n\n\
             [dependencies]\nlxc-net-api = {{ path = \"{}\" }}\n",
            api.display()
        )
    };
    write("ok/Cargo.toml", &readme_toml("lxc-net-plugin-oot", &api))?;
    write("ok/src/lib.rs", &template)?;
    write("v2/Cargo.toml", &readme_toml("lxc-net-plugin-oot-v2", &api))?;
    let v2 = template.replace("api_version: API_VERSION,", "api_version: API_VERSION + 1,");
    if v2 == template {
        return Err("the template no longer sets `api_version: API_VERSION,`".into());
    }
    write("v2/src/lib.rs", &v2)?;
    write(
        "layout/Cargo.toml",
        "[package]\nname = \"lxc-net-plugin-oot-layout\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\nabi_stable = \"0.11.3\"\n",
    )?;
    write("layout/src/lib.rs", LAYOUT_SRC)?;

    // lxc-net-api as another release might have it: the same package, with a field added
    // inside the prefix of NetPlugin.
    // (A workspace of its own: two packages named lxc-net-api cannot share one.)
    write(
        "oldapi/Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"api\", \"plugin\"]\n",
    )?;
    write(
        "oldapi/api/Cargo.toml",
        "[package]\nname = \"lxc-net-api\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [features]\nnetlink = []\ntesting = []\n\n\
         [dependencies]\nabi_stable = \"0.11.3\"\nlibc = \"0.2\"\nthiserror = \"2\"\n",
    )?;
    let api_src = read(&api_dir.join("src/lib.rs"))?;
    let changed = api_src.replacen(
        "pub api_version: u32,",
        "pub api_version: u32,\n    pub flags: u32,",
        1,
    );
    if changed == api_src {
        return Err("lxc-net-api's NetPlugin no longer has `pub api_version: u32,`".into());
    }
    write("oldapi/api/src/lib.rs", &changed)?;
    write(
        "oldapi/plugin/Cargo.toml",
        &readme_toml("lxc-net-plugin-oot-oldapi", &dir.join("oldapi/api")),
    )?;
    write("oldapi/plugin/src/lib.rs", OLDAPI_PLUGIN_SRC)?;

    let target = dir.join("target");
    cargo_build(dir, &target)?;
    cargo_build(&dir.join("oldapi"), &target)?;
    let d = target.join("debug");
    Ok([
        d.join("liblxc_net_plugin_oot.so"),
        d.join("liblxc_net_plugin_oot_v2.so"),
        d.join("liblxc_net_plugin_oot_layout.so"),
        d.join("liblxc_net_plugin_oot_oldapi.so"),
    ])
}

/// A minimal plugin for the changed copy of lxc-net-api.
const OLDAPI_PLUGIN_SRC: &str = r#"
use lxc_net_api::abi_stable::std_types::{RResult, RSlice, RStr, RString};
use lxc_net_api::{Created, KeySpec, NetPlugin, NetPluginRef, Request};

static TYPES: [RStr<'static>; 1] = [RStr::from_str("oldapi")];

extern "C" fn check_key(_k: RStr<'_>, _v: RStr<'_>) -> RResult<RString, RString> {
    RResult::RErr("no keys".into())
}
extern "C" fn create(_r: &Request) -> RResult<Created, RString> {
    RResult::RErr("never called".into())
}
extern "C" fn step(_r: &Request, _c: &Created) -> RResult<(), RString> {
    RResult::ROk(())
}
extern "C" fn describe(_r: &Request, _c: &Created) -> RString {
    RString::new()
}

pub fn module() -> NetPluginRef {
    NetPlugin {
        api_version: 1,
        flags: 0,
        name: RStr::from_str("oldapi"),
        types: RSlice::from_slice(&TYPES),
        keys: RSlice::from_slice(&[] as &[KeySpec]),
        check_key,
        create,
        up: step,
        down: step,
        destroy: step,
        describe,
    }
    .leak()
}

lxc_net_api::export_plugin!(module);
"#;

/// A root module with lxc-net-api's names but another layout (an `api_version: u64`, fewer
/// entry points): what a plugin built against an incompatible lxc-net-api looks like.
const LAYOUT_SRC: &str = r#"
use abi_stable::library::RootModule;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::RStr;
use abi_stable::{declare_root_module_statics, export_root_module, package_version_strings, StableAbi};

#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = NetPluginRef)))]
#[sabi(missing_field(panic))]
pub struct NetPlugin {
    pub api_version: u64,
    #[sabi(last_prefix_field)]
    pub name: RStr<'static>,
}

impl RootModule for NetPluginRef {
    declare_root_module_statics! {NetPluginRef}
    const BASE_NAME: &'static str = "lxc_net_plugin";
    const NAME: &'static str = "lxc_net_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

#[export_root_module]
pub fn root() -> NetPluginRef {
    NetPlugin { api_version: 1, name: RStr::from_str("layout") }.leak_into_prefix()
}
"#;
