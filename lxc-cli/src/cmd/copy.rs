//! `lxc-rs copy`, like `lxc-copy`: clone a container (a copy, or with `-s` a snapshot), rename
//! it (`-R`), or start an ephemeral snapshot of it (`-e`) that is destroyed when it stops; with
//! `-e -- CMD` the command runs in it and it is then shut down. What follows `--` is also
//! given to the clone's `lxc.hook.clone` scripts, as lxc-copy gives it.

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::error::CliError;
use crate::Global;

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// NEWNAME for the copy
    #[arg(short = 'N', long = "newname", value_name = "NEWNAME")]
    pub newname: Option<String>,

    /// NEWPATH: the lxcpath the copy goes in
    #[arg(short = 'p', long = "newpath", value_name = "NEWPATH")]
    pub newpath: Option<PathBuf>,

    /// Rename the container
    #[arg(short = 'R', long = "rename")]
    pub rename: bool,

    /// Snapshot the rootfs instead of copying it (an overlay over a dir rootfs)
    #[arg(short = 's', long = "snapshot")]
    pub snapshot: bool,

    /// Allow a snapshot of a running container
    #[arg(short = 'a', long = "allowrunning")]
    pub allowrunning: bool,

    /// Start the ephemeral container in the foreground
    #[arg(short = 'F', long = "foreground")]
    pub foreground: bool,

    /// Start the ephemeral container daemonized (the default)
    #[arg(short = 'd', long = "daemon")]
    pub daemon: bool,

    /// Start an ephemeral snapshot, destroyed when it stops
    #[arg(short = 'e', long = "ephemeral")]
    pub ephemeral: bool,

    /// With -e: a directory to mount into the container, {bind,overlay}=/src[:/dst] (bind: also
    /// [:ro|rw])
    #[arg(short = 'm', long = "mount", value_name = "MOUNT")]
    pub mount: Vec<String>,

    /// Storage type of the copy: dir, overlay, btrfs or loop
    #[arg(short = 'B', long = "backingstorage", value_name = "TYPE")]
    pub backingstorage: Option<String>,

    /// With -e: keep the container's changes on a tmpfs (overlay storage only)
    #[arg(short = 't', long = "tmpfs")]
    pub tmpfs: bool,

    /// Size of a new block-backed rootfs: SIZE[bBkKmMgGtT], MB by default
    #[arg(short = 'L', long = "fssize", value_name = "SIZE", value_parser = parse_fssize)]
    pub fssize: Option<u64>,

    /// With -e: keep the container after it stops
    #[arg(short = 'D', long = "keepdata")]
    pub keepdata: bool,

    /// Keep the hostname of the original container
    #[arg(short = 'K', long = "keepname")]
    pub keepname: bool,

    /// Keep the MAC addresses of the original container
    #[arg(short = 'M', long = "keepmac")]
    pub keepmac: bool,

    #[command(flatten)]
    pub rc: super::running::Rcfile,

    /// Arguments for the clone's lxc.hook.clone scripts; with -e also the command run in the
    /// ephemeral container, which is then shut down (as lxc-copy)
    #[arg(last = true, value_name = "HOOK_ARGS")]
    pub hook_args: Vec<OsString>,
}

/// LXC's `get_fssize`: a number with an optional unit, megabytes without one.
pub fn parse_fssize(s: &str) -> Result<u64, String> {
    let t = s.trim_start();
    let digits = t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let n: u64 = t[..digits]
        .parse()
        .map_err(|_| format!("expected SIZE[bBkKmMgGtT], found {s:?}"))?;
    let unit = t[digits..].trim_start();
    let mult: u64 = match unit.chars().next() {
        None => 1 << 20,
        Some('b' | 'B') => 1,
        Some('k' | 'K') => 1 << 10,
        Some('m' | 'M') => 1 << 20,
        Some('g' | 'G') => 1 << 30,
        Some('t' | 'T') => 1 << 40,
        Some(_) => {
            return Err(format!(
                "invalid blockdev unit in {s:?}: expected b, k, m, g or t"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// One `-m` mount.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mnt {
    Bind {
        src: String,
        dst: String,
        opt: String,
    },
    Overlay {
        src: String,
        dst: String,
    },
}

/// lxc-copy's path cleanup: `.` and `..` resolved, `//` collapsed; `prefix` keeps it
/// absolute.
fn construct_path(p: &str, prefix: bool) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/').filter(|c| !c.is_empty() && *c != ".") {
        if c == ".." {
            parts.pop();
        } else {
            parts.push(c);
        }
    }
    let joined = parts.join("/");
    if prefix {
        format!("/{joined}")
    } else {
        joined
    }
}

/// `-m bind=SRC[:DST][:ro|rw],overlay=SRC[:DST]` as lxc-copy's getsubopt reads it.
fn parse_mounts(specs: &[String]) -> Result<Vec<Mnt>, CliError> {
    let mut out = Vec::new();
    for spec in specs {
        for sub in spec.split(',').filter(|s| !s.is_empty()) {
            let bad = || {
                CliError::Usage(format!(
                    "-m {sub:?}: expected bind=/src[:/dst][:ro|rw] or overlay=/src[:/dst]"
                ))
            };
            let (kind, v) = sub.split_once('=').ok_or_else(bad)?;
            let parts: Vec<&str> = v.split(':').collect();
            let src = construct_path(parts[0], true);
            let bind = |dst: &str, opt: &str| Mnt::Bind {
                src: src.clone(),
                dst: construct_path(dst, false),
                opt: opt.into(),
            };
            let ro_rw = |o: &str| matches!(o, "ro" | "rw");
            match (kind, parts.as_slice()) {
                ("bind", [s]) => out.push(bind(s, "rw")),
                ("bind", [s, o]) if ro_rw(o) => out.push(bind(s, o)),
                ("bind", [_, d]) => out.push(bind(d, "rw")),
                ("bind", [_, d, o]) if ro_rw(o) => out.push(bind(d, o)),
                ("overlay", [d] | [_, d]) => out.push(Mnt::Overlay {
                    dst: construct_path(d, false),
                    src: src.clone(),
                }),
                _ => return Err(bad()),
            }
        }
    }
    Ok(out)
}

/// mkdtemp/mkstemp's six random characters.
fn random_suffix() -> Result<String, CliError> {
    const CH: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rnd = [0u8; 6];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut rnd))
        .map_err(|e| CliError::failed(format!("read /dev/urandom: {e}")))?;
    Ok(rnd
        .iter()
        .map(|b| CH[usize::from(*b) % CH.len()] as char)
        .collect())
}

/// `mkdtemp(<prefix>XXXXXX)` with the given mode.
fn make_temp_dir(prefix: &str, mode: u32) -> Result<PathBuf, CliError> {
    for _ in 0..100 {
        let p = PathBuf::from(format!("{prefix}{}", random_suffix()?));
        match fs::DirBuilder::new().create(&p) {
            Ok(()) => {
                fs::set_permissions(&p, fs::Permissions::from_mode(mode))
                    .map_err(|e| CliError::failed(format!("chmod {}: {e}", p.display())))?;
                return Ok(p);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(CliError::failed(format!("create {}: {e}", p.display()))),
        }
    }
    Err(CliError::failed(format!("no free name for {prefix}XXXXXX")))
}

fn mount_entry(m: &Mnt, newpath: &Path, newname: &str) -> Result<String, CliError> {
    Ok(match m {
        Mnt::Bind { src, dst, opt } => {
            let create = if Path::new(src).is_dir() {
                "create=dir"
            } else {
                "create=file"
            };
            format!("{src} {dst} none bind,optional,{opt},{create} 0 0")
        }
        Mnt::Overlay { src, dst } => {
            let base = format!("{}/{newname}", newpath.display());
            let upper = make_temp_dir(&format!("{base}/delta#"), 0o700)?;
            let work = make_temp_dir(&format!("{base}/work#"), 0o700)?;
            format!(
                "{src} {dst} overlay lowerdir={src},upperdir={},workdir={},create=dir",
                upper.display(),
                work.display()
            )
        }
    })
}

/// lxc-copy -t: a pre-mount hook that puts a tmpfs over the overlay's directory (and the new
/// hostname into it unless -K).
fn tmpfs_hook(newpath: &Path, newname: &str, keepname: bool) -> Result<PathBuf, CliError> {
    let base = format!("{}/{newname}", newpath.display());
    for _ in 0..100 {
        let p = PathBuf::from(format!("{base}/pre-start-{}", random_suffix()?));
        let mut f = match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o755)
            .open(&p)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(CliError::failed(format!("create {}: {e}", p.display()))),
        };
        let mut script =
            format!("#! /bin/sh\nmount -n -t tmpfs -o mode=0755 none {base}/overlay\n");
        if !keepname {
            let delta = format!("{base}/{}", lxc::manage::storage::OVERLAY_DELTA_PATH);
            script.push_str(&format!(
                "mkdir -p {delta}/etc\necho {newname} > {delta}/etc/hostname\n"
            ));
        }
        f.write_all(script.as_bytes())
            .map_err(|e| CliError::failed(format!("write {}: {e}", p.display())))?;
        return Ok(p);
    }
    Err(CliError::failed("no free name for the tmpfs hook"))
}

pub fn copy(a: &CopyArgs, g: &Global) -> Result<ExitCode, CliError> {
    let name = super::need_name(g)?;
    let lxcpath = super::lxcpath(g);
    if a.newname.is_none() && !a.ephemeral {
        return Err(CliError::Usage(
            "you must provide a NEWNAME for the clone (-N)".into(),
        ));
    }
    let mut c = lxc::Container::new(name, Some(&lxcpath))?;
    // As lxc-copy: that file is the container's config, and its config file.
    a.rc.load(&mut c)?;
    if !c.is_defined() {
        return Err(CliError::failed(format!("container {name} is not defined")));
    }
    let mut flags = 0;
    if a.snapshot || a.ephemeral {
        flags |= lxc::CLONE_SNAPSHOT;
    }
    if a.allowrunning {
        flags |= lxc::CLONE_ALLOW_RUNNING;
    }
    if a.keepname {
        flags |= lxc::CLONE_KEEPNAME;
    }
    if a.keepmac {
        flags |= lxc::CLONE_KEEPMACADDR;
    }
    let newpath = a.newpath.clone().unwrap_or_else(|| lxcpath.clone());
    let fssize = a.fssize.unwrap_or(0);
    // Config-value bytes, as the hooks' command lines are built from the config's.
    let hook_args: Vec<String> = a
        .hook_args
        .iter()
        .map(|a| lxc::config_bytes::from_os(a))
        .collect();
    if a.rename {
        let newname = a.newname.as_deref().unwrap_or_default();
        c.rename(newname).map_err(|e| {
            CliError::failed(format!(
                "renaming container {name} to {newname} failed: {e}"
            ))
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    if !a.ephemeral {
        c.clone_container(
            a.newname.as_deref(),
            Some(&newpath),
            flags,
            a.backingstorage.as_deref(),
            fssize,
            &hook_args,
        )
        .map_err(|e| CliError::failed(format!("failed to clone: {e}")))?;
        return Ok(ExitCode::SUCCESS);
    }
    ephemeral(a, g, &c, &newpath, flags, &hook_args)
}

fn ephemeral(
    a: &CopyArgs,
    g: &Global,
    c: &lxc::Container,
    newpath: &Path,
    flags: u32,
    args: &[String],
) -> Result<ExitCode, CliError> {
    let mounts = parse_mounts(&a.mount)?;
    let mut bdev = a.backingstorage.clone();
    if a.tmpfs {
        if a.keepdata {
            return Err(CliError::Usage("a container can only be placed on a tmpfs when the overlay storage driver is used (and not with -D)".into()));
        }
        match bdev.as_deref() {
            None => bdev = Some("overlay".into()),
            Some(b) if "overlayfs".starts_with(b) => {}
            Some(_) => return Err(CliError::Usage(
                "a container can only be placed on a tmpfs when the overlay storage driver is used"
                    .into(),
            )),
        }
    }
    let newname = match &a.newname {
        Some(n) => n.clone(),
        None => {
            let d = make_temp_dir(&format!("{}/{}_", newpath.display(), c.name()), 0o770)?;
            d.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        }
    };
    let mut clone = c
        .clone_container(
            Some(&newname),
            Some(newpath),
            flags,
            bdev.as_deref(),
            a.fssize.unwrap_or(0),
            args,
        )
        .map_err(|e| CliError::failed(format!("failed to clone: {e}")))?;
    let prepared = (|| -> Result<(), CliError> {
        if a.tmpfs {
            let hook = tmpfs_hook(newpath, &newname, a.keepname)?;
            clone.set_config_item("lxc.hook.pre-mount", &hook.to_string_lossy())?;
        }
        if !a.keepdata {
            clone.set_config_item("lxc.ephemeral", "1")?;
        }
        for m in &mounts {
            let entry = mount_entry(m, newpath, &newname)?;
            clone.set_config_item("lxc.mount.entry", &entry)?;
        }
        clone.save_config(None)?;
        Ok(())
    })();
    if let Err(e) = prepared {
        let _ = clone.destroy();
        return Err(e);
    }
    if !g.quiet {
        super::print(&format!("Created {newname} as clone of {}\n", c.name()))?;
        if a.tmpfs {
            super::print("Container is placed on tmpfs.\nRebooting will cause all changes made to it to be lost!\n")?;
        }
    }
    crate::logging::apply_container(&clone)?;
    let opts = lxc::StartOptions {
        mode: lxc::StartMode::Start,
        argv: Vec::new(),
        inherit_stdio: false,
        close_all_fds: false,
    };
    // With a command the copy runs in the background, whatever -F says (as lxc-copy).
    let started = if a.foreground && !a.daemon && args.is_empty() {
        clone.start_foreground(&opts).map(|_| ())
    } else {
        clone.start(&opts)
    };
    if let Err(e) = started {
        remove_ephemeral(&clone, false);
        return Err(e.into());
    }
    if args.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    // lxc-copy's attach: LXC's default options with a cleared environment, the caller's stdio.
    let attach = lxc::attach::AttachOptions {
        env_policy: lxc::attach::EnvPolicy::ClearEnv,
        ..Default::default()
    };
    let argv: Vec<String> = a
        .hook_args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match lxc::attach::attach_run_wait(&clone, &attach, &argv) {
        Ok(status) => {
            tracing::info!(container = %newname, status, "command in the ephemeral copy exited");
            // LXC's shutdown with no timeout: lxc.signal.halt, then wait until it is down.
            clone.shutdown(None)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            remove_ephemeral(&clone, true);
            Err(CliError::failed(format!(
                "running {} in {newname}: {e}",
                argv.join(" ")
            )))
        }
    }
}

/// lxc-copy's cleanup of an ephemeral copy that failed: shut it down if it was started, then
/// destroy it unless -D kept it.
fn remove_ephemeral(clone: &lxc::Container, started: bool) {
    if started {
        if let Err(e) = clone.shutdown(None) {
            tracing::warn!(container = clone.name(), error = %e, "shutting down the copy");
        }
    }
    if clone
        .get_config_item("lxc.ephemeral")
        .is_ok_and(|v| v != "0")
        && clone.is_defined()
    {
        if let Err(e) = clone.destroy() {
            tracing::warn!(container = clone.name(), error = %e, "destroying the copy");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lxc_copy_argument_forms() {
        assert_eq!(parse_fssize("10").unwrap(), 10 << 20);
        assert_eq!(parse_fssize("2G").unwrap(), 2 << 30);
        assert_eq!(parse_fssize("512k").unwrap(), 512 << 10);
        assert!(parse_fssize("1x").is_err());
        assert_eq!(construct_path("a/./b/../c//d", true), "/a/c/d");
        assert_eq!(construct_path("/srv/x", false), "srv/x");
        let m = parse_mounts(&["bind=/srv/a:/data:ro,overlay=/opt".into()]).unwrap();
        assert_eq!(
            m,
            vec![
                Mnt::Bind {
                    src: "/srv/a".into(),
                    dst: "data".into(),
                    opt: "ro".into()
                },
                Mnt::Overlay {
                    src: "/opt".into(),
                    dst: "opt".into()
                },
            ]
        );
        assert!(parse_mounts(&["tmp=/x".into()]).is_err());
    }
}
