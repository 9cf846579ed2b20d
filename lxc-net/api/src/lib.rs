//! The network plugin interface of lxc-rs, and the one netlink layer every network plugin and
//! the host share.
//!
//! A network plugin is a `cdylib` that exports one [`NetPlugin`] root module through
//! `abi_stable`: it serves one or more `lxc.net.N.type` values, may declare keys of its own
//! below `lxc.net.N.`, and creates, brings up, takes down and destroys one interface of a
//! container per call. The host (`lxc-net`) finds the `.so` files, loads each once per process
//! with [`load`] (or the same two `abi_stable` calls), and calls the plugin from the monitor.
//!
//! The contract, per interface, in this order:
//!
//! 1. `create(req)`: make the link; the container side ends inside `req.netns_fd` with its final
//!    name (`lxc.net.N.name`, else the kernel's `eth%d`), DOWN. Return its name, the host side's
//!    name (if any) and the plugin's own state for the later calls.
//! 2. The host applies the generic settings (hwaddr, mtu, addresses, flags, gateways) inside the
//!    container's netns, then calls `up(req, created)`.
//! 3. At stop (or when a later step of the start failed): `down`, then `destroy`, which undoes
//!    everything the plugin made on the host side and must succeed when some of it is already
//!    gone (a veth's host side goes with the container's netns).
//!
//! A plugin never forks, never touches file descriptors it was not given, and returns errors as
//! one line naming the interface and what failed. Calls happen on the monitor's main thread,
//! during the start's hooks; a [`netlink::Netlink`] handle a plugin opens must be dropped before
//! the call returns, so that no thread of ours exists when the monitor forks or clones.

use std::os::fd::BorrowedFd;
use std::path::Path;

use abi_stable::library::{lib_header_from_path, LibraryError, RootModule};
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{ROption, RResult, RSlice, RStr, RString, RVec};
use abi_stable::{declare_root_module_statics, package_version_strings, StableAbi};

#[cfg(feature = "netlink")]
pub mod netlink;
#[cfg(any(feature = "netlink", feature = "testing"))]
mod sys;
#[cfg(feature = "testing")]
pub mod testing;

/// Re-exported so that a plugin needs no direct `abi_stable` dependency for the common types.
/// (The `#[export_root_module]` and `#[derive(StableAbi)]` macros do need `abi_stable` itself
/// as a dependency of the plugin crate.)
pub use abi_stable;

/// The version of this interface. A plugin records the value it was built with in
/// [`NetPlugin::api_version`]; the host refuses a plugin whose value differs from its own. Bump
/// it on any change of meaning that abi_stable's layout check cannot see.
pub const API_VERSION: u32 = 1;

/// The file names the host looks for: `liblxc_net_plugin_<name>.so`.
pub const FILE_PREFIX: &str = "liblxc_net_plugin_";

/// One network plugin's root module: what it serves and its entry points.
///
/// Every entry point gets the same [`Request`] (built afresh by the host for each call) and,
/// after `create`, the [`Created`] that `create` returned.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = NetPluginRef)))]
#[sabi(missing_field(panic))]
pub struct NetPlugin {
    /// [`API_VERSION`] as the plugin was built with it.
    pub api_version: u32,
    /// The plugin's name, e.g. `veth` (shown by `lxc-rs checkconfig` and in errors).
    pub name: RStr<'static>,
    /// The `lxc.net.N.type` values it serves.
    pub types: RSlice<'static, RStr<'static>>,
    /// The keys it adds below `lxc.net.[i].` (not lxc-net's own keys, which it only reads).
    pub keys: RSlice<'static, KeySpec>,
    /// Validate one of its keys: `key` is the suffix as declared in `keys` (e.g.
    /// `template.host_name`); returns the value normalized, or `expected ...` text.
    pub check_key: extern "C" fn(key: RStr<'_>, value: RStr<'_>) -> RResult<RString, RString>,
    /// Make the link (see the crate docs for the contract).
    pub create: extern "C" fn(req: &Request) -> RResult<Created, RString>,
    /// Called after the host set the container side up; the plugin's own last steps.
    pub up: extern "C" fn(req: &Request, c: &Created) -> RResult<(), RString>,
    /// Called at stop before `destroy`.
    pub down: extern "C" fn(req: &Request, c: &Created) -> RResult<(), RString>,
    /// Undo everything `create` made on the host side; succeeds when it is already gone.
    pub destroy: extern "C" fn(req: &Request, c: &Created) -> RResult<(), RString>,
    /// One line for logs and `lxc-rs info`, e.g. `veth vethAb12Cd <-> eth0 on br0`.
    #[sabi(last_prefix_field)]
    pub describe: extern "C" fn(req: &Request, c: &Created) -> RString,
}

impl NetPlugin {
    /// The module as the host sees it (leaked: a plugin's module lives as long as the process).
    pub fn leak(self) -> NetPluginRef {
        use abi_stable::prefix_type::PrefixTypeTrait;
        self.leak_into_prefix()
    }
}

/// Export a plugin's module from its `cdylib`: `lxc_net_api::export_plugin!(module);` where
/// `fn module() -> NetPluginRef`. This is abi_stable's `#[export_root_module]` written so that
/// a plugin needs no dependency but `lxc-net-api` (the attribute's expansion names the
/// `abi_stable` crate directly). The static's name is abi_stable's `ROOT_MODULE_LOADER_NAME`
/// (checked by a test). Link at most one plugin into any binary: the symbol is unmangled.
#[macro_export]
macro_rules! export_plugin {
    ($module:path) => {
        #[no_mangle]
        #[allow(non_upper_case_globals)]
        pub static _1as_0lib_1header_0root_bmodule_bloader: $crate::abi_stable::library::LibHeader = {
            extern "C" fn _sabi_erased_module() -> $crate::abi_stable::library::RootModuleResult {
                $crate::abi_stable::library::__call_root_module_loader($module)
            }
            // SAFETY: what `#[export_root_module]` expands to: the constructor returns the
            // module of type `NetPluginRef`, the type the header is made for, and its layout
            // is checked by the loader.
            unsafe {
                $crate::abi_stable::library::LibHeader::from_constructor::<$crate::NetPluginRef>(
                    _sabi_erased_module,
                    $crate::abi_stable::library::CheckTypeLayout::Yes,
                )
            }
        };
    };
}

/// A key a plugin adds: `lxc.net.[i].<suffix>`.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct KeySpec {
    /// What follows `lxc.net.N.`, e.g. `template.host_name`.
    pub suffix: RStr<'static>,
    /// Whether every set appends (a list, like `ipv4.address`) rather than replaces.
    pub list: bool,
    /// One line for `lxc-rs config --keys`.
    pub doc: RStr<'static>,
}

/// One config entry of the interface: `key` is the suffix after `lxc.net.N.`.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: RString,
    pub value: RString,
}

/// What the host tells a plugin about the interface it works on.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct Request {
    /// The container's name.
    pub container: RString,
    /// The container's lxcpath.
    pub lxcpath: RString,
    /// N in `lxc.net.N`.
    pub index: u32,
    /// `lxc.net.N.type`.
    pub type_: RString,
    /// The container's network namespace, valid in the calling process for the whole call.
    pub netns_fd: i32,
    /// The container's init, as the host's pid namespace sees it.
    pub init_pid: i32,
    /// Every `lxc.net.N.*` of this interface, in order. A list key repeats; an empty value
    /// clears what came before it (LXC's semantics): read them with [`Request::get`] and
    /// [`Request::values`].
    pub config: RVec<KeyValue>,
}

impl Request {
    /// The value of a single-valued key (its last entry), `None` when unset or cleared.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.config
            .iter()
            .rev()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.as_str())
            .filter(|v| !v.is_empty())
    }

    /// The values of a list key, in order, from after its last clear.
    pub fn values(&self, key: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for kv in self.config.iter().filter(|kv| kv.key.as_str() == key) {
            if kv.value.is_empty() {
                out.clear();
            } else {
                out.push(kv.value.as_str());
            }
        }
        out
    }

    /// The container's network namespace (an error when the host passed no descriptor).
    pub fn netns(&self) -> Result<BorrowedFd<'_>, String> {
        if self.netns_fd < 0 {
            return Err(format!(
                "{}: no network namespace given (fd {})",
                self.net_key(),
                self.netns_fd
            ));
        }
        // SAFETY: not -1 (checked), and the host guarantees `netns_fd` is an open descriptor
        // of the calling process for as long as the request it passes lives (the interface's
        // contract); the borrow is tied to `self`.
        Ok(unsafe { BorrowedFd::borrow_raw(self.netns_fd) })
    }

    /// `lxc.net.N` for messages.
    pub fn net_key(&self) -> String {
        format!("lxc.net.{}", self.index)
    }

    /// A request from plain Rust values (the host and tests build them this way).
    pub fn new(
        container: &str,
        lxcpath: &str,
        index: u32,
        type_: &str,
        netns_fd: i32,
        init_pid: i32,
        config: &[(&str, &str)],
    ) -> Request {
        Request {
            container: container.into(),
            lxcpath: lxcpath.into(),
            index,
            type_: type_.into(),
            netns_fd,
            init_pid,
            config: config
                .iter()
                .map(|(k, v)| KeyValue {
                    key: (*k).into(),
                    value: (*v).into(),
                })
                .collect(),
        }
    }
}

/// What `create` made.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// The interface's final name inside the container.
    pub ifname: RString,
    /// The host side, if any (a veth's peer in the caller's netns).
    pub host_ifname: ROption<RString>,
    /// The plugin's own state for `up`/`down`/`destroy`/`describe` (its format is the plugin's
    /// business; the host stores and hands it back unchanged).
    pub state: RString,
}

impl Created {
    pub fn new(ifname: &str, host_ifname: Option<&str>, state: &str) -> Created {
        Created {
            ifname: ifname.into(),
            host_ifname: host_ifname.map(RString::from).into(),
            state: state.into(),
        }
    }
}

impl RootModule for NetPluginRef {
    declare_root_module_statics! {NetPluginRef}
    const BASE_NAME: &'static str = "lxc_net_plugin";
    const NAME: &'static str = "lxc_net_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// Run a plugin entry point's body, turning a panic into an error (an unwinding panic must not
/// cross the `extern "C"` boundary: that aborts the monitor). With `panic = "abort"` builds
/// nothing can be caught, so plugins should not panic in the first place.
pub fn guard<T>(what: &str, f: impl FnOnce() -> Result<T, String>) -> RResult<T, RString> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => RResult::ROk(v),
        Ok(Err(e)) => RResult::RErr(e.into()),
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".into());
            RResult::RErr(format!("{what}: the plugin panicked: {msg}").into())
        }
    }
}

/// Why a plugin file was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// dlopen failed, the file is not an abi_stable library, or its root module's layout is
    /// not this interface's (a plugin built against another `lxc-net-api`).
    #[error("{path}: {cause}")]
    Abi { path: String, cause: String },
    /// The layout matched but the plugin was built for another [`API_VERSION`].
    #[error("{path}: plugin `{name}` was built for network plugin interface {found}, this is {expected}")]
    ApiVersion {
        path: String,
        name: String,
        found: u32,
        expected: u32,
    },
}

/// Load one plugin file: dlopen it (never unloaded), check abi_stable's layout of
/// [`NetPluginRef`] and [`API_VERSION`]. Each call loads the file given, unlike
/// `NetPluginRef::load_from_file`, which caches the first module per type and so would return
/// the first plugin for every later file. Load a file once per process.
pub fn load(path: &Path) -> Result<NetPluginRef, LoadError> {
    let shown = path.display().to_string();
    let abi = |e: LibraryError| LoadError::Abi {
        path: shown.clone(),
        cause: short_cause(&e),
    };
    let module = lib_header_from_path(path)
        .map_err(abi)?
        .init_root_module::<NetPluginRef>()
        .map_err(abi)?;
    check(module).map_err(|(name, found)| LoadError::ApiVersion {
        path: shown.clone(),
        name,
        found,
        expected: API_VERSION,
    })?;
    Ok(module)
}

/// Check a loaded module's [`API_VERSION`]: `Err((name, its version))` when it differs.
pub fn check(module: NetPluginRef) -> Result<(), (String, u32)> {
    let found = module.api_version();
    if found == API_VERSION {
        Ok(())
    } else {
        Err((module.name().to_string(), found))
    }
}

/// abi_stable's reports run to hundreds of lines (both layouts in full); keep what says why.
fn short_cause(e: &LibraryError) -> String {
    match e {
        LibraryError::OpenError { err, .. } => format!("cannot load: {err}"),
        LibraryError::GetSymbolError { .. } => {
            "not an lxc-rs network plugin (no abi_stable root module in it)".to_string()
        }
        LibraryError::IncompatibleVersionNumber {
            expected_version,
            actual_version,
            ..
        } => {
            format!("built against lxc-net-api {actual_version}, this host has {expected_version}")
        }
        LibraryError::AbiInstability(err) => {
            format!(
                "interface layout differs from this host's: {}",
                layout_cause(&err.to_string())
            )
        }
        other => last_reason(&other.to_string()),
    }
}

/// abi_stable's layout report ends with each difference as `Error:<what>`, `Expected:`,
/// `<value>`, `Found:`, `<value>`, after the layouts of the type it is in: keep those.
fn layout_cause(report: &str) -> String {
    let lines: Vec<&str> = report.lines().map(str::trim).collect();
    let ty = lines
        .iter()
        .rposition(|l| l.starts_with("Layout of expected type"))
        .and_then(|i| lines[i..].iter().find_map(|l| l.strip_prefix("type:")));
    let value_after = |from: usize, label: &str| -> Option<&str> {
        let rest = &lines[from + 1..];
        let end = rest
            .iter()
            .position(|l| l.starts_with("Error:"))
            .unwrap_or(rest.len());
        let at = rest[..end].iter().position(|l| *l == label)?;
        rest[..end].get(at + 1).copied().filter(|v| !v.is_empty())
    };
    let errors: Vec<String> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let what = l.strip_prefix("Error:")?.trim();
            Some(
                match (value_after(i, "Expected:"), value_after(i, "Found:")) {
                    (Some(e), Some(f)) => format!("{what} (expected {e}, found {f})"),
                    _ => what.to_string(),
                },
            )
        })
        .collect();
    // The first differences say what happened; the rest follow from them (a field inserted
    // shifts every later one).
    let mut shown = errors
        .iter()
        .take(2)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if errors.len() > 2 {
        shown.push_str(&format!("; and {} more", errors.len() - 2));
    }
    match (ty, errors.is_empty()) {
        (_, true) => last_reason(report),
        (Some(ty), false) => format!("{ty}: {shown}"),
        (None, false) => shown,
    }
}

/// The last line of a long report that says something (abi_stable puts the cause last).
fn last_reason(report: &str) -> String {
    let lines: Vec<&str> = report
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.chars().all(|c| "-=_ ".contains(c)))
        .collect();
    let tail = lines.len().saturating_sub(2);
    let mut s = lines[tail..].join(" ");
    if s.len() > 300 {
        let mut cut = 300;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    if s.is_empty() {
        "abi_stable refused it (no reason given)".to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn export_plugin_uses_abi_stables_symbol_name() {
        assert_eq!(
            "_1as_0lib_1header_0root_bmodule_bloader",
            abi_stable::library::ROOT_MODULE_LOADER_NAME
        );
        let src = include_str!("lib.rs");
        assert!(src.contains(&format!(
            "pub static {}:",
            abi_stable::library::ROOT_MODULE_LOADER_NAME
        )));
    }

    #[test]
    fn request_reads_values_as_lxc() {
        let r = super::Request::new(
            "c",
            "/p",
            0,
            "veth",
            -1,
            0,
            &[
                ("link", "br0"),
                ("ipv4.address", "10.0.0.1/24"),
                ("link", ""),
                ("ipv4.address", ""),
                ("ipv4.address", "10.0.0.2/24"),
                ("ipv4.address", "10.0.0.3/24"),
                ("mtu", "1400"),
            ],
        );
        assert_eq!(r.get("link"), None);
        assert_eq!(r.get("mtu"), Some("1400"));
        assert_eq!(r.get("name"), None);
        assert_eq!(r.values("ipv4.address"), ["10.0.0.2/24", "10.0.0.3/24"]);
        assert_eq!(r.net_key(), "lxc.net.0");
    }

    #[test]
    fn layout_reports_are_cut_to_their_cause() {
        let report =
            "\nCompared <this>:\n    --- Type Layout ---\n    type:PrefixRef<'a, NetPlugin>\n\
                      Layout of expected type:\n    --- Type Layout ---\n    type:NetPlugin\n\
                      size:104 align:8\n\nError:mismatched package\nExpected:\n    lxc-net-api\n\
                      Found:\n    lxc-net-plugin-x\n\n";
        assert_eq!(
            super::layout_cause(report),
            "NetPlugin: mismatched package (expected lxc-net-api, found lxc-net-plugin-x)"
        );
        assert_eq!(super::layout_cause("a\nb\n"), "a b");
    }

    #[test]
    fn long_reports_are_cut_to_their_cause() {
        let report = format!(
            "{}\nthe cause: field `x` differs\n\n---\n",
            "noise line\n".repeat(900)
        );
        assert_eq!(
            super::last_reason(&report),
            "noise line the cause: field `x` differs"
        );
    }
}
