//! Everything the mount code reads from a container's config, read once and checked before the
//! first mount, each value with the config line it came from.

use std::path::{Path, PathBuf};

use lxc_core::config::bytes::to_path;
use lxc_core::phase::StartMode;
use lxc_core::{Config, Origin};

use crate::auto::AutoMounts;
use crate::entry::{parse_fstab, parse_mount_entry, MountEntry};
use crate::error::{MountError, Result, Site};

/// LXC's default size of the /dev tmpfs, in bytes.
pub const AUTODEV_TMPFS_SIZE: u64 = 500_000;

/// `lxc.rootfs.*`.
#[derive(Debug, Clone)]
pub struct RootfsSpec {
    /// `lxc.rootfs.path` without its storage type (what LXC calls the rootfs path and hooks
    /// get as `LXC_ROOTFS_PATH`).
    pub path: PathBuf,
    /// The storage type written before a `:` (`dir` in `dir:/var/lib/lxc/c1/rootfs`).
    pub storage: Option<String>,
    pub site: Site,
    /// `lxc.rootfs.mount`.
    pub mount: Option<(PathBuf, Site)>,
    /// `lxc.rootfs.options`.
    pub options: Option<(String, Site)>,
}

/// One mount line to apply, with where it was written.
#[derive(Debug, Clone)]
pub struct PlannedEntry {
    pub entry: MountEntry,
    pub site: Site,
}

/// What the mount code will do for one start.
#[derive(Debug, Clone)]
pub struct MountPlan {
    pub name: String,
    pub lxcpath: PathBuf,
    pub mode: StartMode,
    /// None: the container uses the host's `/` (no pivot_root).
    pub rootfs: Option<RootfsSpec>,
    pub auto: AutoMounts,
    /// The last `lxc.mount.auto` line (errors of the automounts point at it).
    pub auto_site: Site,
    /// `lxc.mount.fstab` lines first, then `lxc.mount.entry` lines, in config order.
    pub entries: Vec<PlannedEntry>,
    /// `lxc.autodev`: mount and fill a tmpfs /dev.
    pub autodev: bool,
    pub autodev_site: Site,
    /// `lxc.autodev.tmpfs.size` in bytes.
    pub autodev_size: u64,
    /// `lxc.pty.max`: a new devpts instance is mounted only when this (or tty.max) is set.
    pub pty_max: u64,
    /// `lxc.tty.max`.
    pub tty_max: u64,
    /// `lxc.tty.dir`: ttys (and the console) live in /dev/<dir>, with /dev/ttyN symlinks.
    pub tty_dir: Option<String>,
    /// The capabilities the container keeps (decides `cgroup` and `proc:mixed`'s net part).
    pub caps: Caps,
}

/// `lxc.cap.keep` / `lxc.cap.drop`, for LXC's "does the container keep this capability".
#[derive(Debug, Clone, Default)]
pub struct Caps {
    pub keep: Vec<String>,
    pub drop: Vec<String>,
}

impl Caps {
    /// LXC's `lxc_wants_cap`: a keep list decides alone; otherwise anything not dropped stays.
    /// Names are LXC's (`sys_admin`), case-insensitive, with or without `cap_`; numbers work too.
    pub fn wants(&self, name: &str, number: u32) -> bool {
        let is = |c: &String| {
            let c = c.to_ascii_lowercase();
            let c = c.strip_prefix("cap_").unwrap_or(&c);
            c == name || c.parse::<u32>().ok() == Some(number)
        };
        if !self.keep.is_empty() {
            return self.keep.iter().any(is);
        }
        !self.drop.iter().any(is)
    }
}

fn entries_of<'a>(config: &'a Config, key: &'a str) -> impl Iterator<Item = (&'a str, Site)> + 'a {
    config
        .entries()
        .filter(move |e| e.key == key)
        .map(move |e| (e.value.as_str(), Site::new(key, Some(e.origin.clone()))))
}

fn last_of(config: &Config, key: &str) -> Option<(String, Site)> {
    let v = config.last(key)?.to_string();
    Some((v, Site::new(key, config.origin_of(key).cloned())))
}

fn uint(key: &str, value: &str, site: &Site) -> Result<u64> {
    value.trim().parse().map_err(|_| MountError::Invalid {
        site: site.clone(),
        value: value.to_string(),
        why: format!("{key} takes an unsigned integer"),
    })
}

/// A list key's tokens with LXC's `none` reset (`lxc.cap.keep = none` empties the list).
fn cap_list(config: &Config, key: &str) -> Vec<String> {
    let mut out = Vec::new();
    for v in config.all(key) {
        for t in v.split_whitespace() {
            if t == "none" {
                out.clear();
            } else {
                out.push(t.to_string());
            }
        }
    }
    out
}

impl MountPlan {
    /// Read the plan from a container's config. Every problem names its key and line.
    pub fn from_config(
        config: &Config,
        name: &str,
        lxcpath: &Path,
        mode: StartMode,
    ) -> Result<MountPlan> {
        let rootfs = match last_of(config, "lxc.rootfs.path") {
            Some((p, site)) if !p.is_empty() => {
                let storage = config
                    .entries()
                    .rfind(|e| e.key == "lxc.rootfs.path")
                    .and_then(|e| e.raw.split_once(':'))
                    .map(|(t, _)| t.to_string());
                // The core's parser drops the storage type; drop it here if it did not (only
                // the type: an overlay's value is `LOWER:UPPER`).
                let path = match (&storage, p.split_once(':')) {
                    (Some(t), Some((head, rest))) if head == t => to_path(rest),
                    _ => to_path(&p),
                };
                Some(RootfsSpec {
                    storage,
                    path,
                    site,
                    mount: last_of(config, "lxc.rootfs.mount")
                        .filter(|(m, _)| !m.is_empty())
                        .map(|(m, s)| (to_path(&m), s)),
                    options: last_of(config, "lxc.rootfs.options").filter(|(o, _)| !o.is_empty()),
                })
            }
            _ => None,
        };

        let mut auto = AutoMounts::default();
        for (v, site) in entries_of(config, "lxc.mount.auto") {
            auto.apply_value(v).map_err(|e| e.at(site))?;
        }

        let mut entries = Vec::new();
        if let Some((fstab, site)) =
            last_of(config, "lxc.mount.fstab").filter(|(f, _)| !f.is_empty())
        {
            entries.extend(read_fstab(&fstab, &site)?);
        }
        for (v, site) in entries_of(config, "lxc.mount.entry") {
            let entry = parse_mount_entry(v).map_err(|e| e.at(site.clone()))?;
            entries.push(PlannedEntry { entry, site });
        }

        let (autodev, autodev_site) = match last_of(config, "lxc.autodev") {
            Some((v, site)) => match v.trim() {
                "" | "0" => (false, site),
                "1" => (true, site),
                _ => {
                    return Err(MountError::Invalid {
                        site,
                        value: v,
                        why: "lxc.autodev takes 0 or 1".into(),
                    })
                }
            },
            // LXC's default is 1. Without a rootfs the container's /dev is the host's and we
            // leave it alone (LXC would hide the host's /dev and its pts behind a tmpfs).
            None => (rootfs.is_some(), Site::key("lxc.autodev")),
        };
        let autodev_size = match last_of(config, "lxc.autodev.tmpfs.size") {
            // LXC falls back to the default for an empty or unreadable value.
            Some((v, _)) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|&n| n > 0)
                .unwrap_or(AUTODEV_TMPFS_SIZE),
            None => AUTODEV_TMPFS_SIZE,
        };
        let pty_max = match last_of(config, "lxc.pty.max") {
            Some((v, s)) if !v.is_empty() => uint("lxc.pty.max", &v, &s)?,
            _ => 0,
        };
        let tty_max = match last_of(config, "lxc.tty.max") {
            Some((v, s)) if !v.is_empty() => uint("lxc.tty.max", &v, &s)?,
            _ => 0,
        };
        let tty_dir = match last_of(config, "lxc.tty.dir") {
            Some((d, site)) if !d.is_empty() => {
                // The tty code builds its paths as text: a name with bytes that are not
                // UTF-8 is refused rather than created under another name.
                if d.contains('/')
                    || d == ".."
                    || d == "."
                    || lxc_core::config::bytes::has_escapes(&d)
                {
                    return Err(MountError::Invalid {
                        site,
                        value: d,
                        why: "lxc.tty.dir is a directory name below /dev (UTF-8)".into(),
                    });
                }
                Some(d)
            }
            _ => None,
        };
        let caps = Caps {
            keep: cap_list(config, "lxc.cap.keep"),
            drop: cap_list(config, "lxc.cap.drop"),
        };
        Ok(MountPlan {
            name: name.to_string(),
            lxcpath: lxcpath.to_path_buf(),
            mode,
            rootfs,
            auto,
            auto_site: Site::new(
                "lxc.mount.auto",
                config.origin_of("lxc.mount.auto").cloned(),
            ),
            entries,
            autodev,
            autodev_site,
            autodev_size,
            pty_max,
            tty_max,
            tty_dir,
            caps,
        })
    }

    /// A plan with nothing configured: the host's `/`, no automounts, no entries.
    pub fn new(name: &str, lxcpath: &Path, mode: StartMode) -> MountPlan {
        MountPlan {
            name: name.to_string(),
            lxcpath: lxcpath.to_path_buf(),
            mode,
            rootfs: None,
            auto: AutoMounts::default(),
            auto_site: Site::key("lxc.mount.auto"),
            entries: Vec::new(),
            autodev: false,
            autodev_site: Site::key("lxc.autodev"),
            autodev_size: AUTODEV_TMPFS_SIZE,
            pty_max: 0,
            tty_max: 0,
            tty_dir: None,
            caps: Caps::default(),
        }
    }

    /// `lxc.rootfs.path` without its `dir:` prefix (None without a rootfs).
    pub fn rootfs_dir(&self) -> Option<PathBuf> {
        self.rootfs
            .as_ref()
            .and_then(|r| crate::rootfs::rootfs_dir(r).ok())
    }

    /// Every mount line in the order LXC applies them: fstab, entries, then the bind that
    /// `lxc.mount.auto = shmounts:` adds.
    pub fn all_entries(&self) -> Result<Vec<PlannedEntry>> {
        let mut v = self.entries.clone();
        if self.auto.shmounts_on && self.auto.shmounts.is_none() {
            return Err(MountError::Invalid {
                site: self.auto_site.clone(),
                value: "shmounts:".into(),
                why: "shmounts:HOST[:CONTAINER] (a bare shmounts: gives no host path to share)"
                    .into(),
            });
        }
        if let Some(sh) = self.auto.active_shmounts() {
            let line = format!(
                "{} {} none bind,create=dir 0 0",
                sh.host,
                sh.container.trim_start_matches('/')
            );
            let entry = parse_mount_entry(&line).map_err(|e| e.at(self.auto_site.clone()))?;
            v.push(PlannedEntry {
                entry,
                site: self.auto_site.clone(),
            });
        }
        Ok(v)
    }

    /// Add one mount line as if it were written in the config at `site`.
    pub fn push_entry(&mut self, line: &str, site: Site) -> Result<()> {
        let entry = parse_mount_entry(line).map_err(|e| e.at(site.clone()))?;
        self.entries.push(PlannedEntry { entry, site });
        Ok(())
    }
}

/// Read `lxc.mount.fstab`. A relative path is taken next to the config file that names it.
fn read_fstab(fstab: &str, site: &Site) -> Result<Vec<PlannedEntry>> {
    let mut path = to_path(fstab);
    if path.is_relative() {
        if let Some(dir) = site
            .origin
            .as_ref()
            .and_then(|o| o.file.as_deref())
            .and_then(Path::parent)
        {
            path = dir.join(path);
        }
    }
    let text = std::fs::read(&path)
        .map_err(|e| MountError::sys(site, format!("read {}", path.display()), &path, e))?;
    parse_fstab(&lxc_core::config::bytes::decode(&text))
        .into_iter()
        .map(|(line, r)| {
            let s = Site::new("lxc.mount.fstab", Some(Origin::file(&path, line)));
            r.map(|entry| PlannedEntry {
                entry,
                site: s.clone(),
            })
            .map_err(|e| e.at(s))
        })
        .collect()
}
