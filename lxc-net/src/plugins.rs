//! The network plugin host: finds the plugin files, loads each one once per process, registers
//! the types and keys they bring, and gives the start code the plugin that serves a type.
//!
//! Plugins load in the process that reads the first config (`BEFORE_CONFIG`, see [`crate`]):
//! a monitor is forked from that process, so it has them without loading anything itself.
//!
//! The search path, in order:
//! 1. every entry of `LXC_NET_PLUGIN_PATH` (colon separated): a directory, or a plugin file;
//! 2. the directory of the running binary, then its `lxc-net-plugins/` subdirectory (a build
//!    tree: `cargo build` puts `lxc-rs` and the plugins side by side);
//! 3. `<prefix>/lib/lxc-rs/net-plugins` (prefix `/usr/local`, or `LXC_RS_PREFIX` at build time).
//!
//! In a directory, the files named `liblxc_net_plugin_*.so` are plugins. A file name found
//! earlier in the path shadows the same name later (as `PATH` does for programs), so a plugin
//! under development wins over an installed one of the same name. A file that cannot be
//! loaded, or that brings a type or key already taken, is refused; the refusal is kept (one
//! line, with the file and the cause) for the start that needs its type and for `checkconfig`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use lxc_core::registry::runtime::{register_runtime, RuntimeKey, RuntimeRegistration};
use lxc_core::registry::{EntryKind, KeyPattern, ValueKind};
use lxc_net_api::abi_stable::std_types::{RResult, RStr};
use lxc_net_api::{Created, LoadError, NetPluginRef, Request, FILE_PREFIX};

use crate::model::NetType;

/// The environment variable that puts directories (or files) first in the search path.
pub const PATH_ENV: &str = "LXC_NET_PLUGIN_PATH";

/// The install prefix the last search directory is under.
pub const INSTALL_PREFIX: &str = match option_env!("LXC_RS_PREFIX") {
    Some(p) => p,
    None => "/usr/local",
};

/// Below the install prefix.
pub const INSTALL_DIR: &str = "lib/lxc-rs/net-plugins";

/// Below the running binary's directory.
pub const BESIDE_DIR: &str = "lxc-net-plugins";

const FILE_SUFFIX: &str = ".so";

/// A loaded plugin.
#[derive(Clone)]
pub struct Plugin {
    /// The file it was loaded from.
    pub file: PathBuf,
    /// Its name (`NetPlugin::name`).
    pub name: String,
    /// The `lxc.net.N.type` values it serves.
    pub types: Vec<String>,
    /// The keys it added, as `lxc.net.[i].<suffix>`.
    pub keys: Vec<String>,
    /// The interface version it was built for (always this host's: others are refused).
    pub api_version: u32,
    module: NetPluginRef,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("file", &self.file)
            .field("name", &self.name)
            .field("types", &self.types)
            .field("keys", &self.keys)
            .field("api_version", &self.api_version)
            .finish_non_exhaustive()
    }
}

/// A plugin file that was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub file: PathBuf,
    /// One line: why.
    pub cause: String,
}

/// A directory of the search path, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDir {
    pub path: PathBuf,
    /// `LXC_NET_PLUGIN_PATH`, `binary` or `prefix`.
    pub from: &'static str,
}

/// Everything the host found, once per process.
#[derive(Debug, Default)]
pub struct Plugins {
    /// The search path as it was walked.
    pub searched: Vec<SearchDir>,
    pub loaded: Vec<Plugin>,
    pub refused: Vec<Refused>,
    /// Files not loaded because a file of the same name came earlier: (file, the one used).
    pub shadowed: Vec<(PathBuf, PathBuf)>,
}

static PLUGINS: OnceLock<Plugins> = OnceLock::new();

/// The plugins of this process: searched for and loaded on the first call (the config loader
/// makes that call before the first config is read).
pub fn plugins() -> &'static Plugins {
    // Loading registers with the core, whose questions may run the loaders: go through the
    // core's once-per-process entry (which comes back here) rather than around it.
    lxc_core::registry::runtime::ensure_loaded();
    PLUGINS.get_or_init(|| {
        let searched = search_path();
        let p = load_all(&searched);
        tracing::debug!(
            loaded = p.loaded.len(),
            refused = p.refused.len(),
            "network plugins"
        );
        for r in &p.refused {
            tracing::debug!(file = %r.file.display(), cause = %r.cause, "network plugin refused");
        }
        p
    })
}

/// The plugin serving `type_`, or why there is none: one line that names the type, every file
/// that was refused (with the cause) and the directories searched.
pub fn serving(type_: &str) -> Result<&'static Plugin, String> {
    let p = plugins();
    if let Some(found) = p
        .loaded
        .iter()
        .find(|pl| pl.types.iter().any(|t| t == type_))
    {
        return Ok(found);
    }
    Err(p.why_not(type_))
}

impl Plugins {
    /// The "why" of a type nobody serves. Refused files whose name matches the type are named
    /// first (`liblxc_net_plugin_veth.so` for `veth`); any refused file may have been it.
    fn why_not(&self, type_: &str) -> String {
        let mut refused: Vec<&Refused> = self.refused.iter().collect();
        let stem = type_.replace('-', "_");
        refused.sort_by_key(|r| {
            let name = r.file.file_name().map(|n| n.to_string_lossy().into_owned());
            name != Some(format!("{FILE_PREFIX}{stem}{FILE_SUFFIX}"))
        });
        let mut why = format!("no network plugin serves `{type_}` (");
        for r in refused {
            why.push_str(&format!("{}: {}; ", r.file.display(), r.cause));
        }
        let dirs: Vec<String> = self
            .searched
            .iter()
            .map(|d| d.path.display().to_string())
            .collect();
        why.push_str(&format!("searched: {})", dirs.join(", ")));
        why
    }
}

/// The search path (see the module docs), without duplicates.
pub fn search_path() -> Vec<SearchDir> {
    let mut dirs = Vec::new();
    if let Some(v) = std::env::var_os(PATH_ENV) {
        for p in std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()) {
            dirs.push(SearchDir {
                path: p,
                from: PATH_ENV,
            });
        }
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(SearchDir {
            path: dir.clone(),
            from: "binary",
        });
        dirs.push(SearchDir {
            path: dir.join(BESIDE_DIR),
            from: "binary",
        });
    }
    dirs.push(SearchDir {
        path: Path::new(INSTALL_PREFIX).join(INSTALL_DIR),
        from: "prefix",
    });
    let mut seen = HashSet::new();
    dirs.retain(|d| seen.insert(d.path.clone()));
    dirs
}

/// Whether a file name is a plugin's.
fn is_plugin_name(name: &str) -> bool {
    name.len() > FILE_PREFIX.len() + FILE_SUFFIX.len()
        && name.starts_with(FILE_PREFIX)
        && name.ends_with(FILE_SUFFIX)
}

/// The candidate files of the search path, in order; missing or unreadable explicit entries
/// are refusals (a missing default directory is simply not there).
fn candidates(searched: &[SearchDir], out: &mut Plugins) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for d in searched {
        let explicit = d.from == PATH_ENV;
        match std::fs::metadata(&d.path) {
            Ok(m) if m.is_file() && explicit => files.push(d.path.clone()),
            Ok(m) if m.is_dir() => match std::fs::read_dir(&d.path) {
                Ok(rd) => {
                    let mut here: Vec<PathBuf> = rd
                        .flatten()
                        .filter(|e| e.file_name().to_str().is_some_and(is_plugin_name))
                        .map(|e| e.path())
                        .collect();
                    here.sort();
                    files.extend(here);
                }
                Err(e) if explicit => out.refused.push(Refused {
                    file: d.path.clone(),
                    cause: format!("cannot read the directory ({PATH_ENV}): {e}"),
                }),
                Err(_) => {}
            },
            Ok(_) => {}
            Err(e) if explicit => out.refused.push(Refused {
                file: d.path.clone(),
                cause: format!("not found ({PATH_ENV}): {e}"),
            }),
            Err(_) => {}
        }
    }
    files
}

fn load_all(searched: &[SearchDir]) -> Plugins {
    let mut out = Plugins {
        searched: searched.to_vec(),
        ..Plugins::default()
    };
    let mut by_name: Vec<(std::ffi::OsString, PathBuf)> = Vec::new();
    let mut canonical = HashSet::new();
    for file in candidates(searched, &mut out) {
        // One file, one load: the same file reached twice (a directory listed twice under
        // different names, a symlink) is loaded the first time only.
        let real = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
        if !canonical.insert(real) {
            continue;
        }
        let name = file
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        if let Some((_, first)) = by_name.iter().find(|(n, _)| *n == name) {
            out.shadowed.push((file.clone(), first.clone()));
            continue;
        }
        by_name.push((name, file.clone()));
        match load_one(&file, &out.loaded) {
            Ok(p) => {
                tracing::debug!(file = %file.display(), plugin = %p.name, types = ?p.types, "network plugin loaded");
                out.loaded.push(p);
            }
            Err(cause) => out.refused.push(Refused { file, cause }),
        }
    }
    out
}

/// Load one file and register what it serves: refused whole when a type or key is taken.
fn load_one(file: &Path, loaded: &[Plugin]) -> Result<Plugin, String> {
    let module = lxc_net_api::load(file).map_err(|e| match e {
        LoadError::Abi { cause, .. } => cause,
        LoadError::ApiVersion {
            name,
            found,
            expected,
            ..
        } => format!(
            "plugin `{name}` was built for network plugin interface {found}, this lxc-rs has \
             {expected}"
        ),
        #[allow(unreachable_patterns)]
        other => other.to_string(),
    })?;
    let name = module.name().to_string();
    let types: Vec<String> = module.types().iter().map(|t| t.to_string()).collect();
    if types.is_empty() {
        return Err(format!("plugin `{name}` serves no network type"));
    }
    for t in &types {
        if let Some(other) = loaded.iter().find(|p| p.types.contains(t)) {
            return Err(format!(
                "plugin `{name}` serves `{t}`, which plugin `{}` ({}) already serves",
                other.name,
                other.file.display()
            ));
        }
    }
    let mut keys = Vec::new();
    let mut runtime_keys = Vec::new();
    for spec in module.keys().iter() {
        let suffix: &'static str = Box::leak(spec.suffix.to_string().into_boxed_str());
        let pattern = KeyPattern::Indexed {
            prefix: "lxc.net.",
            suffix,
        };
        keys.push(pattern.display());
        let check_key = module.check_key();
        runtime_keys.push(RuntimeKey {
            pattern,
            kind: if spec.list {
                ValueKind::List
            } else {
                ValueKind::Single
            },
            doc: spec.doc.to_string(),
            check: Arc::new(move |_key: &str, value: &str| {
                match check_key(RStr::from_str(suffix), RStr::from_str(value)) {
                    RResult::ROk(v) => Ok(v.into_string()),
                    RResult::RErr(e) => Err(e.into_string()),
                }
            }),
        });
    }
    register_runtime(RuntimeRegistration {
        name: name.clone(),
        kind: EntryKind::Component,
        keys: runtime_keys,
    })?;
    // After the keys, which are the likelier to clash: a type refused here leaves the keys
    // registered, and the type unserved (a start that needs it says why).
    for t in types.iter().filter(|t| NetType::builtin(t).is_none()) {
        crate::types::register(t).map_err(|e| format!("plugin `{name}`: {e}"))?;
    }
    Ok(Plugin {
        file: file.to_path_buf(),
        name,
        types,
        keys,
        api_version: module.api_version(),
        module,
    })
}

impl Plugin {
    /// `create`: make the interface (see `lxc_net_api`'s contract).
    pub fn create(&self, req: &Request) -> Result<Created, String> {
        (self.module.create())(req)
            .into_result()
            .map_err(|e| e.into_string())
    }

    /// `up`: the plugin's last steps once the host configured the container side.
    pub fn up(&self, req: &Request, c: &Created) -> Result<(), String> {
        (self.module.up())(req, c)
            .into_result()
            .map_err(|e| e.into_string())
    }

    /// `down`: at stop, before `destroy`.
    pub fn down(&self, req: &Request, c: &Created) -> Result<(), String> {
        (self.module.down())(req, c)
            .into_result()
            .map_err(|e| e.into_string())
    }

    /// `destroy`: remove what `create` made on the host side.
    pub fn destroy(&self, req: &Request, c: &Created) -> Result<(), String> {
        (self.module.destroy())(req, c)
            .into_result()
            .map_err(|e| e.into_string())
    }

    /// One line describing a created interface.
    pub fn describe(&self, req: &Request, c: &Created) -> String {
        (self.module.describe())(req, c).into_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_file_names() {
        assert!(is_plugin_name("liblxc_net_plugin_veth.so"));
        assert!(!is_plugin_name("liblxc_net_plugin_.so"));
        assert!(!is_plugin_name("liblxc_net_plugin_veth.so.1"));
        assert!(!is_plugin_name("libveth.so"));
    }

    #[test]
    fn the_search_path_ends_with_the_binary_dir_and_the_prefix() {
        let dirs = search_path();
        let n = dirs.len();
        assert!(n >= 3, "{dirs:?}");
        let exe_dir = std::env::current_exe().unwrap();
        let exe_dir = exe_dir.parent().unwrap();
        assert_eq!(dirs[n - 3].path, exe_dir);
        assert_eq!(dirs[n - 2].path, exe_dir.join(BESIDE_DIR));
        assert_eq!(
            dirs[n - 1].path,
            Path::new("/usr/local/lib/lxc-rs/net-plugins")
        );
    }

    #[test]
    fn a_missing_type_names_refused_files_first_and_the_search_path() {
        let p = Plugins {
            searched: vec![
                SearchDir {
                    path: "/a".into(),
                    from: PATH_ENV,
                },
                SearchDir {
                    path: "/b".into(),
                    from: "prefix",
                },
            ],
            loaded: Vec::new(),
            refused: vec![
                Refused {
                    file: "/a/liblxc_net_plugin_other.so".into(),
                    cause: "bad".into(),
                },
                Refused {
                    file: "/a/liblxc_net_plugin_template_veth.so".into(),
                    cause: "worse".into(),
                },
            ],
            shadowed: Vec::new(),
        };
        assert_eq!(
            p.why_not("template-veth"),
            "no network plugin serves `template-veth` (/a/liblxc_net_plugin_template_veth.so: \
             worse; /a/liblxc_net_plugin_other.so: bad; searched: /a, /b)"
        );
        assert!(!p.why_not("x").contains('\n'));
    }
}
