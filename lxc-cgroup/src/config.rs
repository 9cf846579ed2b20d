//! What the driver needs from a container's configuration, read from `lxc_core::Config` (the
//! keys are parsed and validated by [`crate::keys`]) or filled in directly.

use lxc_core::Config;

use crate::error::{Error, Result};

/// One `lxc.cgroup.<controller>.<file>` or `lxc.cgroup2.<file>` setting, in config order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The full config key, e.g. `lxc.cgroup.memory.limit_in_bytes` (named in errors).
    pub key: String,
    pub value: String,
}

impl Setting {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Setting {
            key: key.into(),
            value: value.into(),
        }
    }

    /// The cgroup file the key names: the key without `lxc.cgroup.` / `lxc.cgroup2.`.
    pub fn file(&self) -> &str {
        self.key
            .strip_prefix(V2_PREFIX)
            .or_else(|| self.key.strip_prefix(V1_PREFIX))
            .unwrap_or(&self.key)
    }

    pub fn is_v2(&self) -> bool {
        self.key.starts_with(V2_PREFIX)
    }
}

const V1_PREFIX: &str = "lxc.cgroup.";
const V2_PREFIX: &str = "lxc.cgroup2.";

/// The `lxc.cgroup.*` keys that configure the driver itself rather than a cgroup file.
pub(crate) const META_KEYS: &[&str] = &[
    "lxc.cgroup.dir",
    "lxc.cgroup.dir.container",
    "lxc.cgroup.dir.container.inner",
    "lxc.cgroup.dir.monitor",
    "lxc.cgroup.dir.monitor.pivot",
    "lxc.cgroup.relative",
];

/// The API extension that owns `lxc.cgroup.dir.monitor`, `.dir.container` and
/// `.dir.container.inner` (crate lxc-ext-cgroup-advanced-isolation). Placing the monitor and
/// the container by them is part of creating the cgroups, so that code stays in this driver.
pub const ADVANCED_ISOLATION: &str = "cgroup_advanced_isolation";

/// Everything that decides where a container's cgroups go and what is written into them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupConfig {
    /// The container's name (`%n`, and the `lxc.payload.NAME` default).
    pub name: String,
    /// `lxc.cgroup.dir`: the container's cgroup is `DIR/lxc.payload.NAME`.
    pub dir: Option<String>,
    /// `lxc.cgroup.dir.container`: the exact container (limit) cgroup, no `-N` suffixes.
    pub dir_container: Option<String>,
    /// `lxc.cgroup.dir.container.inner`: a single directory below `dir_container` where the
    /// container's processes live; limits stay on the outer one.
    pub dir_container_inner: Option<String>,
    /// `lxc.cgroup.dir.monitor`: required together with `dir_container` (LXC's rule); when set,
    /// the monitor moves itself into this cgroup for the container's life. Without it, on a
    /// pure cgroup2 host the monitor gets LXC's `lxc.monitor.NAME`; on hosts with v1
    /// controllers it stays in its caller's cgroup and saves the move (docs/decisions.md 23).
    pub dir_monitor: Option<String>,
    /// `lxc.cgroup.dir.monitor.pivot`: where a monitor that cannot go back to its own cgroup
    /// goes at stop (`PIVOT/lxc.pivot`), so that its monitor cgroup can be removed.
    pub dir_monitor_pivot: Option<String>,
    /// `lxc.cgroup.relative`: below the caller's cgroup even as root. Without it root's
    /// containers go below init's cgroup on a pure cgroup2 host, as with LXC; on hosts with
    /// v1 controllers lxc-rs always stays below the caller's (docs/decisions.md 12).
    pub relative: bool,
    /// The global `lxc.cgroup.pattern` (`%n` is the name): the cgroup is `PATTERN/payload`.
    pub pattern: Option<String>,
    /// The global `lxc.cgroup.use`: only v1 hierarchies whose controllers are all listed.
    pub use_controllers: Option<Vec<String>>,
    /// `lxc.cgroup.*` and `lxc.cgroup2.*` settings, in config order.
    pub settings: Vec<Setting>,
    /// A container with a user namespace: the host gid of its root group (of `lxc.init.gid`
    /// without a mapping for gid 0). Its cgroup is handed to that group as LXC does (group
    /// writable directory, `cgroup.procs` and the cgroup2 delegation files), so that the
    /// container's root can manage its own subtree.
    pub container_gid: Option<u32>,
}

impl CgroupConfig {
    /// A config with LXC's defaults for `name`.
    pub fn new(name: impl Into<String>) -> Self {
        CgroupConfig {
            name: name.into(),
            ..Default::default()
        }
    }

    /// Read the container's keys from `config` and the global `lxc.cgroup.pattern` and
    /// `lxc.cgroup.use`.
    pub fn from_config(name: &str, config: &Config) -> Self {
        let nonempty = |v: Option<&str>| v.filter(|s| !s.is_empty()).map(str::to_string);
        let settings = config
            .entries()
            .filter(|e| {
                (e.key.starts_with(V2_PREFIX) && e.key.len() > V2_PREFIX.len())
                    || (e.key.starts_with(V1_PREFIX)
                        && e.key.len() > V1_PREFIX.len()
                        && !META_KEYS.contains(&e.key.as_str()))
            })
            .map(|e| Setting::new(e.key.clone(), e.value.clone()))
            .collect();
        let global =
            |k: &str| lxc_core::global::get_global_config_item(k).filter(|v| !v.trim().is_empty());
        // The cgroup_advanced_isolation keys are that extension's: without it linked in they
        // cannot be set, and this driver does not look at them either.
        let isolation = |k: &str| {
            lxc_core::registry::has_api_extension(ADVANCED_ISOLATION)
                .then(|| nonempty(config.last(k)))
                .flatten()
        };
        CgroupConfig {
            name: name.to_string(),
            dir: nonempty(config.last("lxc.cgroup.dir")),
            dir_container: isolation("lxc.cgroup.dir.container"),
            dir_container_inner: isolation("lxc.cgroup.dir.container.inner"),
            dir_monitor: isolation("lxc.cgroup.dir.monitor"),
            dir_monitor_pivot: nonempty(config.last("lxc.cgroup.dir.monitor.pivot")),
            relative: config.last("lxc.cgroup.relative") == Some("1"),
            pattern: global("lxc.cgroup.pattern"),
            use_controllers: global("lxc.cgroup.use").map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            }),
            settings,
            container_gid: container_gid(config),
        }
    }

    /// Add a setting (builder style, for callers that do not go through `Config`).
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.push(Setting::new(key, value));
        self
    }

    /// LXC's consistency rules for the `lxc.cgroup.dir*` keys, and that every path is relative
    /// and stays below the caller's cgroup.
    pub fn check(&self) -> Result<()> {
        for (key, v) in [
            ("lxc.cgroup.dir", &self.dir),
            ("lxc.cgroup.dir.container", &self.dir_container),
            ("lxc.cgroup.dir.monitor", &self.dir_monitor),
            ("lxc.cgroup.dir.container.inner", &self.dir_container_inner),
            ("lxc.cgroup.dir.monitor.pivot", &self.dir_monitor_pivot),
        ] {
            if let Some(v) = v {
                check_rel(key, v)?;
            }
        }
        if let Some(inner) = &self.dir_container_inner {
            if inner.contains('/') {
                return Err(Error::DirConfig {
                    key: "lxc.cgroup.dir.container.inner",
                    why: format!("{inner:?} must be a single directory name"),
                });
            }
        }
        let split = self.dir_container.is_some()
            || self.dir_monitor.is_some()
            || self.dir_container_inner.is_some();
        if split {
            if self.dir.is_some() {
                return Err(Error::DirConfig {
                    key: "lxc.cgroup.dir",
                    why: "conflicts with lxc.cgroup.dir.container and lxc.cgroup.dir.monitor"
                        .into(),
                });
            }
            if self.dir_container.is_none() || self.dir_monitor.is_none() {
                return Err(Error::DirConfig {
                    key: if self.dir_container.is_none() {
                        "lxc.cgroup.dir.container"
                    } else {
                        "lxc.cgroup.dir.monitor"
                    },
                    why: "lxc.cgroup.dir.container and lxc.cgroup.dir.monitor must both be set"
                        .into(),
                });
            }
        }
        if let Some(p) = &self.pattern {
            check_rel("lxc.cgroup.pattern", &p.replace("%n", &self.name))?;
        }
        if self.name.is_empty() || self.name.contains('/') || self.name.starts_with('.') {
            return Err(Error::DirConfig {
                key: "lxc.uts.name",
                why: format!("container name {:?} cannot name a cgroup", self.name),
            });
        }
        Ok(())
    }

    /// The container's cgroup relative to the caller's: (limit cgroup, inner dir, whether a
    /// `-N` suffix may be added on a name collision).
    pub(crate) fn target(&self) -> (String, Option<String>, bool) {
        if let Some(c) = &self.dir_container {
            (
                c.trim_matches('/').to_string(),
                self.dir_container_inner.clone(),
                false,
            )
        } else if let Some(d) = &self.dir {
            (
                format!("{}/lxc.payload.{}", d.trim_matches('/'), self.name),
                None,
                true,
            )
        } else if let Some(p) = &self.pattern {
            (
                format!("{}/payload", p.replace("%n", &self.name).trim_matches('/')),
                None,
                true,
            )
        } else {
            (format!("lxc.payload.{}", self.name), None, true)
        }
    }

    /// The monitor's cgroup relative to the caller's, LXC's names: (cgroup, whether a `-N`
    /// suffix may be added). `lxc.cgroup.dir.monitor` is exact; otherwise
    /// `DIR/lxc.monitor.NAME`, `PATTERN/monitor` or `lxc.monitor.NAME`.
    pub(crate) fn monitor_target(&self) -> (String, bool) {
        if let Some(m) = &self.dir_monitor {
            (m.trim_matches('/').to_string(), false)
        } else if let Some(d) = &self.dir {
            (
                format!("{}/lxc.monitor.{}", d.trim_matches('/'), self.name),
                true,
            )
        } else if let Some(p) = &self.pattern {
            (
                format!("{}/monitor", p.replace("%n", &self.name).trim_matches('/')),
                true,
            )
        } else {
            (format!("lxc.monitor.{}", self.name), true)
        }
    }

    /// LXC's pivot cgroup for a monitor leaving its cgroup at stop, relative to the base:
    /// `lxc.cgroup.dir.monitor.pivot`, else `lxc.cgroup.dir`, else the base, then `lxc.pivot`.
    pub(crate) fn pivot(&self) -> String {
        match self.dir_monitor_pivot.as_ref().or(self.dir.as_ref()) {
            Some(d) => format!("{}/lxc.pivot", d.trim_matches('/')),
            None => "lxc.pivot".to_string(),
        }
    }
}

/// The host gid of a user-namespaced container's root group: the one gid 0 maps to, else
/// (LXC's fallback) the one `lxc.init.gid` maps to. `None` without a user namespace.
fn container_gid(config: &Config) -> Option<u32> {
    let maps = lxc_core::start::spec::idmaps(config);
    if maps.is_empty() {
        return None;
    }
    let host_of = |nsid: u64| {
        maps.iter()
            .find(|m| !m.uid && m.nsid <= nsid && nsid - m.nsid < m.range)
            .and_then(|m| u32::try_from(m.hostid + (nsid - m.nsid)).ok())
    };
    host_of(0).or_else(|| {
        let gid = config
            .last("lxc.init.gid")
            .and_then(|v| v.trim().parse::<u64>().ok())?;
        host_of(gid)
    })
}

fn check_rel(key: &'static str, v: &str) -> Result<()> {
    if v.starts_with('/') {
        return Err(Error::DirConfig {
            key,
            why: format!("{v:?}: paths may not be absolute"),
        });
    }
    if v.split('/').any(|c| c == "..") {
        return Err(Error::DirConfig {
            key,
            why: format!("{v:?}: paths may not walk upwards via \"..\""),
        });
    }
    if v.split('/').all(|c| c.is_empty() || c == ".") {
        return Err(Error::DirConfig {
            key,
            why: format!("{v:?}: names no directory"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let c = CgroupConfig::new("c1");
        assert_eq!(c.target(), ("lxc.payload.c1".into(), None, true));
        let c = CgroupConfig {
            dir: Some("my-cgroup/first".into()),
            ..CgroupConfig::new("c1")
        };
        assert_eq!(
            c.target(),
            ("my-cgroup/first/lxc.payload.c1".into(), None, true)
        );
        let c = CgroupConfig {
            pattern: Some("lxc/%n".into()),
            ..CgroupConfig::new("c1")
        };
        assert_eq!(c.target(), ("lxc/c1/payload".into(), None, true));
        let c = CgroupConfig {
            dir_container: Some("a/b".into()),
            dir_container_inner: Some("ns".into()),
            dir_monitor: Some("a/m".into()),
            ..CgroupConfig::new("c1")
        };
        c.check().unwrap();
        assert_eq!(c.target(), ("a/b".into(), Some("ns".into()), false));
    }

    #[test]
    fn monitor_and_pivot_names() {
        let c = CgroupConfig::new("c1");
        assert_eq!(c.monitor_target(), ("lxc.monitor.c1".into(), true));
        assert_eq!(c.pivot(), "lxc.pivot");
        let c = CgroupConfig {
            dir: Some("a/b/".into()),
            ..CgroupConfig::new("c1")
        };
        assert_eq!(c.monitor_target(), ("a/b/lxc.monitor.c1".into(), true));
        assert_eq!(c.pivot(), "a/b/lxc.pivot");
        let c = CgroupConfig {
            pattern: Some("lxc/%n".into()),
            ..CgroupConfig::new("c1")
        };
        assert_eq!(c.monitor_target(), ("lxc/c1/monitor".into(), true));
        let c = CgroupConfig {
            dir_container: Some("a/ct".into()),
            dir_monitor: Some("a/mon".into()),
            dir_monitor_pivot: Some("p".into()),
            ..CgroupConfig::new("c1")
        };
        assert_eq!(c.monitor_target(), ("a/mon".into(), false));
        assert_eq!(c.pivot(), "p/lxc.pivot");
    }

    #[test]
    fn container_group_from_the_idmap() {
        let gid = |text: &str| {
            let config = Config::parse_str(text, None).unwrap();
            container_gid(&config)
        };
        assert_eq!(gid("lxc.uts.name = x\n"), None);
        assert_eq!(
            gid("lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 200000 65536\n"),
            Some(200000)
        );
        assert_eq!(
            gid("lxc.idmap = u 0 1000 1\nlxc.idmap = g 5 3000 10\nlxc.init.gid = 7\n"),
            Some(3002)
        );
        assert_eq!(
            gid("lxc.idmap = u 0 1000 1\nlxc.idmap = g 5 3000 10\n"),
            None
        );
    }

    #[test]
    fn dir_rules() {
        let err = |c: CgroupConfig| c.check().unwrap_err().to_string();
        let base = CgroupConfig::new("c1");
        assert!(err(CgroupConfig {
            dir: Some("/abs".into()),
            ..base.clone()
        })
        .contains("absolute"));
        assert!(err(CgroupConfig {
            dir: Some("a/../../x".into()),
            ..base.clone()
        })
        .contains("upwards"));
        assert!(err(CgroupConfig {
            dir_container: Some("a".into()),
            ..base.clone()
        })
        .starts_with("lxc.cgroup.dir.monitor: "));
        assert!(err(CgroupConfig {
            dir: Some("d".into()),
            dir_container: Some("a".into()),
            dir_monitor: Some("m".into()),
            ..base.clone()
        })
        .contains("conflicts"));
        assert!(err(CgroupConfig {
            dir_container: Some("a".into()),
            dir_monitor: Some("m".into()),
            dir_container_inner: Some("x/y".into()),
            ..base
        })
        .contains("single directory"));
    }

    #[test]
    fn setting_files() {
        let s = Setting::new("lxc.cgroup.memory.limit_in_bytes", "1");
        assert_eq!(s.file(), "memory.limit_in_bytes");
        assert!(!s.is_v2());
        let s = Setting::new("lxc.cgroup2.memory.max", "1");
        assert_eq!(s.file(), "memory.max");
        assert!(s.is_v2());
    }
}
