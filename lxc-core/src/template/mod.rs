//! `create` and `destroy`: making a container directory from a template, and removing one.
//!
//! `create` follows `lxc-create`: a base config (`-f`), the container directory
//! `<lxcpath>/<name>` (mode 0770), a rootfs made by the template, and a config file that is the
//! header `lxc-create` prepends, then the base config, then the template's lines. Every line is
//! checked by the config engine before anything is saved, so a key this build does not support
//! fails `create` with the key named. A failed `create` removes what it made.
//!
//! `destroy` removes a container directory without following symlinks or entering mounts.

pub mod busybox;
mod tree;

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::container::validate_name;
use crate::error::{Error, Result};

/// What `create` builds.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// `busybox` or `none`.
    pub template: String,
    /// `-f`: a config whose lines come first, like `lxc-create -f`.
    pub config_file: Option<PathBuf>,
    /// `lxc.idmap` values (`u 0 100000 65536`): the rootfs is chowned into the mapped range and
    /// the lines are added to the config.
    pub idmap: Vec<String>,
    /// The template's arguments (after `--`).
    pub extra_args: Vec<String>,
}

/// The config `lxc-create` starts from when it is given no `-f`: the file lxc.conf's
/// `lxc.default_config` names (`/etc/lxc/default.conf` by default), when it is there. LXC
/// reads it into the new container's config ahead of the template's lines, as it does a `-f`
/// file; a missing one is an empty config. Pass it as [`CreateOptions::config_file`].
pub fn default_config_file() -> Option<PathBuf> {
    let path = PathBuf::from(crate::global::get_global_config_item("lxc.default_config")?);
    match fs::metadata(&path) {
        Ok(_) => Some(path),
        Err(e) => {
            tracing::debug!(path = %path.display(), error = %e, "no default container config");
            None
        }
    }
}

/// The templates built in.
pub const TEMPLATES: &[&str] = &["busybox", "none"];

fn error(op: &'static str, path: &Path, kind: io::ErrorKind, msg: impl Into<String>) -> Error {
    Error::io(op, path, io::Error::new(kind, msg.into()))
}

/// One `lxc.idmap` range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    /// `u`, `g`, or `b` (both).
    pub kind: char,
    pub ns_id: u32,
    pub host_id: u32,
    pub count: u32,
}

impl IdRange {
    /// Parse `u 0 100000 65536` (an `lxc.idmap = ` prefix is allowed).
    pub fn parse(s: &str) -> std::result::Result<IdRange, String> {
        let v = s
            .trim()
            .strip_prefix("lxc.idmap")
            .and_then(|r| r.trim_start().strip_prefix('='))
            .unwrap_or(s)
            .trim();
        let f: Vec<&str> = v.split_whitespace().collect();
        let bad = || format!("invalid idmap {s:?}: expected `u|g|b NSID HOSTID RANGE`");
        if f.len() != 4 {
            return Err(bad());
        }
        let kind = match f[0] {
            "u" => 'u',
            "g" => 'g',
            "b" => 'b',
            _ => return Err(bad()),
        };
        let n = |x: &str| x.parse::<u32>().map_err(|_| bad());
        let r = IdRange {
            kind,
            ns_id: n(f[1])?,
            host_id: n(f[2])?,
            count: n(f[3])?,
        };
        if r.count == 0
            || r.ns_id.checked_add(r.count - 1).is_none()
            || r.host_id.checked_add(r.count - 1).is_none()
        {
            return Err(bad());
        }
        Ok(r)
    }
}

/// The host id that container id `id` maps to (`kind` is `u` or `g`).
pub fn map_id(ranges: &[IdRange], kind: char, id: u32) -> Option<u32> {
    ranges
        .iter()
        .filter(|r| r.kind == kind || r.kind == 'b')
        .find(|r| id >= r.ns_id && id - r.ns_id < r.count)
        .map(|r| r.host_id + (id - r.ns_id))
}

/// Undoes a failed `create`.
struct Undo {
    dir: PathBuf,
    made_dir: bool,
    /// What was made inside a directory that existed before (removed in reverse order).
    made: Vec<PathBuf>,
    armed: bool,
}

impl Drop for Undo {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let result = if self.made_dir {
            tree::remove_tree(&self.dir)
        } else {
            self.made
                .iter()
                .rev()
                .try_for_each(|p| match fs::symlink_metadata(p) {
                    Ok(m) if m.is_dir() => tree::remove_tree(p),
                    Ok(_) => fs::remove_file(p).map_err(|e| Error::io("remove", p, e)),
                    Err(_) => Ok(()),
                })
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "cleaning up after a failed create");
        }
    }
}

/// Build `<lxcpath>/<name>/` with a rootfs (busybox) and write its config. Fails if the
/// container already exists. On failure removes everything it made.
pub fn create(lxcpath: &Path, name: &str, opts: &CreateOptions) -> Result<()> {
    validate_name(name)?;
    let lxcpath = std::path::absolute(lxcpath).map_err(|e| Error::io("resolve", lxcpath, e))?;
    let dir = lxcpath.join(name);
    let config_path = dir.join("config");
    let _span =
        tracing::info_span!("create", container = name, template = %opts.template).entered();

    // Everything that can be checked is checked before anything is made.
    let bb_args = match opts.template.as_str() {
        "busybox" => Some(busybox::Args::parse(&opts.extra_args)?),
        "none" if opts.extra_args.is_empty() => None,
        "none" => {
            return Err(error(
                "template none",
                &dir,
                io::ErrorKind::InvalidInput,
                "the none template takes no arguments",
            ))
        }
        other => {
            return Err(error(
                "create",
                &dir,
                io::ErrorKind::InvalidInput,
                format!(
                    "unknown template {other:?} (built in: {})",
                    TEMPLATES.join(", ")
                ),
            ))
        }
    };

    let (base_text, base) = match &opts.config_file {
        Some(f) => {
            let cfg = Config::load(f)?;
            // The file's bytes, kept as they are (see `config::bytes`).
            let text = fs::read(f).map_err(|e| Error::io("read config", f, e))?;
            let text = crate::config::bytes::decode(&text);
            (text, cfg)
        }
        None => (String::new(), Config::new()),
    };

    let mut ranges = Vec::new();
    let mut new_idmap_lines = Vec::new();
    let base_maps: Vec<&str> = base
        .entries()
        .filter(|e| e.key == "lxc.idmap" && !e.raw.is_empty())
        .map(|e| e.raw.as_str())
        .collect();
    for m in &base_maps {
        ranges.push(
            IdRange::parse(m)
                .map_err(|why| error("create", &dir, io::ErrorKind::InvalidInput, why))?,
        );
    }
    for m in &opts.idmap {
        let r = IdRange::parse(m)
            .map_err(|why| error("create", &dir, io::ErrorKind::InvalidInput, why))?;
        if !ranges.contains(&r) {
            ranges.push(r);
            new_idmap_lines.push(format!(
                "lxc.idmap = {} {} {} {}\n",
                r.kind, r.ns_id, r.host_id, r.count
            ));
        }
    }
    let mapped_root = if ranges.is_empty() {
        None
    } else {
        match (map_id(&ranges, 'u', 0), map_id(&ranges, 'g', 0)) {
            (Some(u), Some(g)) => Some((u, g)),
            _ => {
                return Err(error(
                    "create",
                    &dir,
                    io::ErrorKind::InvalidInput,
                    "lxc.idmap must map container uid 0 and gid 0",
                ))
            }
        }
    };

    // A rootfs the base config names is used as it is (and never removed), like LXC's.
    let given_rootfs = match base
        .entries()
        .rfind(|e| e.key == "lxc.rootfs.path")
        .map(|e| e.raw.clone())
        .filter(|v| !v.is_empty())
    {
        Some(v) => {
            let p = crate::config::bytes::to_path(v.strip_prefix("dir:").unwrap_or(&v));
            if !p.is_absolute() {
                return Err(error(
                    "create",
                    &dir,
                    io::ErrorKind::InvalidInput,
                    format!(
                        "lxc.rootfs.path {}: only an absolute dir: path is supported",
                        crate::config::bytes::quote(&v)
                    ),
                ));
            }
            if fs::symlink_metadata(&p).is_err() {
                return Err(error(
                    "create",
                    &p,
                    io::ErrorKind::NotFound,
                    "the rootfs named by lxc.rootfs.path does not exist",
                ));
            }
            Some(p)
        }
        None => None,
    };

    let busybox_exe = match &bb_args {
        Some(a) => Some(busybox::find_static_busybox(a)?),
        None => None,
    };

    match fs::symlink_metadata(&config_path) {
        Ok(_) => {
            return Err(error(
                "create",
                &dir,
                io::ErrorKind::AlreadyExists,
                format!("container {name} already exists"),
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("stat", &config_path, e)),
    }
    let made_dir = match fs::symlink_metadata(&dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => true,
        Err(e) => return Err(Error::io("stat", &dir, e)),
        Ok(m) if m.is_dir() => {
            let empty = fs::read_dir(&dir)
                .map_err(|e| Error::io("read directory", &dir, e))?
                .next()
                .is_none();
            if !empty {
                return Err(error(
                    "create",
                    &dir,
                    io::ErrorKind::AlreadyExists,
                    "already exists and is not an empty directory (no config file)",
                ));
            }
            false
        }
        Ok(_) => {
            return Err(error(
                "create",
                &dir,
                io::ErrorKind::AlreadyExists,
                "already exists and is not a directory",
            ))
        }
    };

    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(&lxcpath)
        .map_err(|e| Error::io("create lxcpath", &lxcpath, e))?;
    if made_dir {
        fs::DirBuilder::new()
            .mode(0o770)
            .create(&dir)
            .map_err(|e| Error::io("create container directory", &dir, e))?;
    }
    let mut undo = Undo {
        dir: dir.clone(),
        made_dir,
        made: Vec::new(),
        armed: true,
    };
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o770))
        .map_err(|e| Error::io("chmod", &dir, e))?;

    let mut text = String::new();
    if let Some(exe) = &busybox_exe {
        let rootfs = match &given_rootfs {
            Some(p) => p.clone(),
            None => {
                let p = dir.join("rootfs");
                undo.made.push(p.clone());
                fs::DirBuilder::new()
                    .mode(0o755)
                    .create(&p)
                    .map_err(|e| Error::io("create rootfs", &p, e))?;
                fs::set_permissions(&p, fs::Permissions::from_mode(0o755))
                    .map_err(|e| Error::io("chmod", &p, e))?;
                p
            }
        };
        busybox::install(&rootfs, exe)?;
        tracing::info!(rootfs = %rootfs.display(), busybox = %exe.display(), "busybox rootfs installed");

        text.push_str("# Template used to create this container: busybox (built into lxc-rs)\n");
        text.push_str("# Parameters passed to the template:");
        for a in &opts.extra_args {
            text.push(' ');
            text.push_str(a);
        }
        text.push('\n');
        text.push_str(
            "# For additional config options, please look at lxc.container.conf(5)\n\
             \n\
             # Uncomment the following line to support nesting containers:\n\
             #lxc.include = /usr/share/lxc/config/nesting.conf\n\
             # (Be aware this has security implications)\n\
             \n",
        );
        push_lines(&mut text, &base_text);
        for l in &new_idmap_lines {
            text.push_str(l);
        }
        if given_rootfs.is_none() {
            text.push_str(&format!(
                "lxc.rootfs.path = dir:{}\n",
                crate::config::bytes::from_os(rootfs.as_os_str())
            ));
        }
        text.push_str(&busybox::config_section(&rootfs, name));

        if let (Some((u, g)), None) = (mapped_root, &given_rootfs) {
            let map = |uid: u32, gid: u32| -> std::result::Result<(u32, u32), String> {
                let u = map_id(&ranges, 'u', uid)
                    .ok_or_else(|| format!("uid {uid} is not mapped by lxc.idmap"))?;
                let g = map_id(&ranges, 'g', gid)
                    .ok_or_else(|| format!("gid {gid} is not mapped by lxc.idmap"))?;
                Ok((u, g))
            };
            tree::chown_tree(&rootfs, &map)?;
            tracing::info!(uid = u, gid = g, "rootfs chowned into the idmap range");
        }
    } else {
        push_lines(&mut text, &base_text);
        for l in &new_idmap_lines {
            text.push_str(l);
        }
    }

    // LXC gives the container directory to the container's root when there is an idmap.
    if let Some((u, g)) = mapped_root {
        std::os::unix::fs::lchown(&dir, Some(u), Some(g))
            .map_err(|e| Error::io("chown", &dir, e))?;
    }

    let config = Config::parse_str(&text, Some(&config_path))?;
    undo.made.push(config_path.clone());
    config.save(&config_path)?;
    fs::set_permissions(&config_path, fs::Permissions::from_mode(0o640))
        .map_err(|e| Error::io("chmod", &config_path, e))?;

    undo.armed = false;
    tracing::info!(dir = %dir.display(), "container created");
    Ok(())
}

fn push_lines(out: &mut String, text: &str) {
    out.push_str(text);
    if !text.is_empty() && !text.ends_with('\n') {
        out.push('\n');
    }
}

/// Remove `<lxcpath>/<name>` entirely, rootfs included. Refuses a directory without a config
/// file and one with anything mounted below it; never follows a symlink out of it.
///
/// A rootfs outside the container directory (an `lxc.rootfs.path` the user gave) is left alone.
pub fn destroy(lxcpath: &Path, name: &str) -> Result<()> {
    validate_name(name)?;
    let dir = lxcpath.join(name);
    let _span = tracing::info_span!("destroy", container = name).entered();
    let meta = match fs::symlink_metadata(&dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::NotDefined {
                name: name.to_string(),
                lxcpath: lxcpath.to_path_buf(),
            })
        }
        Err(e) => return Err(Error::io("stat", &dir, e)),
    };
    if !meta.is_dir() {
        return Err(error(
            "destroy",
            &dir,
            io::ErrorKind::InvalidInput,
            "refusing: not a container directory (a symlink or not a directory)",
        ));
    }
    let config_path = dir.join("config");
    if !fs::symlink_metadata(&config_path).is_ok_and(|m| m.is_file()) {
        return Err(error(
            "destroy",
            &dir,
            io::ErrorKind::InvalidInput,
            "refusing: not a container directory (no config file)",
        ));
    }
    let canon = fs::canonicalize(&dir).map_err(|e| Error::io("resolve", &dir, e))?;
    let mounts = tree::mounts_below(&canon)?;
    if !mounts.is_empty() {
        let list: Vec<String> = mounts.iter().map(|m| m.display().to_string()).collect();
        return Err(error(
            "destroy",
            &dir,
            io::ErrorKind::ResourceBusy,
            format!(
                "refusing: something is mounted inside the container directory: {}",
                list.join(", ")
            ),
        ));
    }
    tree::remove_tree(&dir)?;
    tracing::info!(dir = %dir.display(), "container destroyed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idmap_parse() {
        let r = IdRange::parse("u 0 100000 65536").unwrap();
        assert_eq!(
            r,
            IdRange {
                kind: 'u',
                ns_id: 0,
                host_id: 100000,
                count: 65536
            }
        );
        assert_eq!(
            IdRange::parse("lxc.idmap = b 0 200000 10").unwrap().kind,
            'b'
        );
        assert!(IdRange::parse("x 0 1 1").is_err());
        assert!(IdRange::parse("u 0 1").is_err());
        assert!(IdRange::parse("u 0 1 0").is_err());
        assert!(IdRange::parse("u 4294967295 1 2").is_err());
        let rs = [r, IdRange::parse("g 0 300000 10").unwrap()];
        assert_eq!(map_id(&rs, 'u', 5), Some(100005));
        assert_eq!(map_id(&rs, 'u', 65536), None);
        assert_eq!(map_id(&rs, 'g', 9), Some(300009));
        assert_eq!(map_id(&rs, 'g', 10), None);
    }
}
