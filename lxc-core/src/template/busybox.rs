//! The busybox template: the rootfs and config that LXC's `lxc-busybox` template makes, built
//! in-process from the host's static busybox.
//!
//! Layout, file contents and config lines follow LXC 5.0's template (Debian's
//! /usr/share/lxc/templates/lxc-busybox is the same script); deviations are marked where made.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

/// The directories LXC's template creates, all mode 0755 (tmp is then made 1777).
const FSTREE: &[&str] = &[
    "selinux",
    "dev",
    "home",
    "root",
    "etc",
    "etc/init.d",
    "bin",
    "usr/bin",
    "sbin",
    "usr/sbin",
    "proc",
    "sys",
    "mnt",
    "tmp",
    "var/log",
    "var/run",
    "dev/pts",
    "lib",
    "usr/lib",
    "lib64",
    "usr/lib64",
];

/// Host library directories the template bind-mounts read-only when both the host and the
/// rootfs have them (it does so whether or not busybox is static).
const LIBDIRS: &[&str] = &["lib", "usr/lib", "lib64", "usr/lib64"];

/// Where `udhcpc` looks for its event script when `busybox udhcpc --help` does not say.
const DEFAULT_UDHCPC_SCRIPT: &str = "etc/udhcpc/default.script";

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n";
const GROUP: &str = "root:x:0:root\n";
const RCS: &str = "#!/bin/sh\n/bin/syslogd\n/bin/mount -a\n/bin/udhcpc\n";
// Only tty1 gets a getty, as in LXC's template: the console gets an on-demand shell, so no
// respawn line points at a tty that may not exist.
const INITTAB: &str = "::sysinit:/etc/init.d/rcS\n\
tty1::respawn:/bin/getty -L tty1 115200 vt100\n\
console::askfirst:/bin/sh\n";

const UDHCPC_SCRIPT: &str = r#"#!/bin/sh
case "$1" in
  deconfig)
    ip addr flush dev $interface
    ;;

  renew|bound)
    # flush all the routes
    if [ -n "$router" ]; then
      ip route del default 2> /dev/null
    fi

    # check broadcast
    if [ -n "$broadcast" ]; then
      broadcast="broadcast $broadcast"
    fi

    # add a new ip address
    ip addr add $ip/$mask $broadcast dev $interface

    if [ -n "$router" ]; then
      ip route add default via $router dev $interface
    fi

    [ -n "$domain" ] && echo search $domain > /etc/resolv.conf
    for i in $dns ; do
      grep "nameserver $i" /etc/resolv.conf > /dev/null 2>&1
      if [ $? -ne 0 ]; then
        echo nameserver $i >> /etc/resolv.conf
      fi
    done
    ;;
esac
exit 0
"#;

/// The template's own arguments (after `--` on the command line).
#[derive(Debug, Clone, Default)]
pub struct Args {
    /// `--busybox-path PATH`: the busybox binary to copy (default: `busybox` in PATH).
    pub busybox_path: Option<PathBuf>,
}

impl Args {
    pub fn parse(args: &[String]) -> Result<Args> {
        let mut out = Args::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if let Some(v) = a.strip_prefix("--busybox-path=") {
                out.busybox_path = Some(PathBuf::from(v));
            } else if a == "--busybox-path" {
                let v = it
                    .next()
                    .ok_or_else(|| template_error("--busybox-path needs a value"))?;
                out.busybox_path = Some(PathBuf::from(v));
            } else {
                return Err(template_error(&format!(
                    "unknown argument {a:?} (the busybox template takes --busybox-path PATH)"
                )));
            }
        }
        Ok(out)
    }
}

fn template_error(msg: &str) -> Error {
    Error::io(
        "template busybox",
        "busybox",
        io::Error::new(io::ErrorKind::InvalidInput, msg.to_string()),
    )
}

/// Find busybox like the template does (`command -v busybox`, with the usual sbin/bin
/// directories appended to PATH) and check that it is a static binary: the rootfs has no
/// libraries of its own.
pub fn find_static_busybox(args: &Args) -> Result<PathBuf> {
    let path = match &args.busybox_path {
        Some(p) => p.clone(),
        None => search_path("busybox").ok_or_else(|| {
            Error::io(
                "find busybox",
                "busybox",
                io::Error::new(
                    io::ErrorKind::NotFound,
                    "no busybox in PATH or /bin: install the package busybox-static",
                ),
            )
        })?,
    };
    let bytes = fs::read(&path).map_err(|e| Error::io("read busybox", &path, e))?;
    match elf_has_interpreter(&bytes) {
        Ok(false) => Ok(path),
        Ok(true) => Err(Error::io(
            "check busybox",
            &path,
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "busybox is dynamically linked (it has an ELF interpreter) and the rootfs has no \
                 libraries: install the package busybox-static",
            ),
        )),
        Err(why) => Err(Error::io(
            "check busybox",
            &path,
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{why}: install the package busybox-static"),
            ),
        )),
    }
}

fn search_path(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from));
    dirs.into_iter()
        .filter(|d| d.is_absolute())
        .map(|d| d.join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// Does this ELF file name a program interpreter (PT_INTERP)? A static binary, PIE or not,
/// has none and runs in a rootfs without a dynamic loader.
pub fn elf_has_interpreter(b: &[u8]) -> std::result::Result<bool, String> {
    const PT_INTERP: u32 = 3;
    if b.len() < 52 || &b[..4] != b"\x7fELF" {
        return Err("not an ELF file".into());
    }
    let le = match b[5] {
        1 => true,
        2 => false,
        x => return Err(format!("unknown ELF byte order {x}")),
    };
    let rd = |off: usize, n: usize| -> std::result::Result<u64, String> {
        let s = b
            .get(off..off + n)
            .ok_or_else(|| "truncated ELF header".to_string())?;
        let mut v = 0u64;
        for i in 0..n {
            let byte = if le { s[n - 1 - i] } else { s[i] };
            v = (v << 8) | u64::from(byte);
        }
        Ok(v)
    };
    let (phoff, phentsize, phnum) = match b[4] {
        1 => (rd(0x1c, 4)?, rd(0x2a, 2)?, rd(0x2c, 2)?),
        2 => (rd(0x20, 8)?, rd(0x36, 2)?, rd(0x38, 2)?),
        x => return Err(format!("unknown ELF class {x}")),
    };
    for i in 0..phnum {
        let off = phoff
            .checked_add(i * phentsize)
            .and_then(|o| usize::try_from(o).ok())
            .ok_or_else(|| "bad ELF program header offset".to_string())?;
        if rd(off, 4)? as u32 == PT_INTERP {
            return Ok(true);
        }
    }
    Ok(false)
}

fn mkdir_mode(path: &Path, mode: u32) -> Result<()> {
    fs::create_dir_all(path).map_err(|e| Error::io("create directory", path, e))?;
    set_mode(path, mode)
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("chmod", path, e))
}

fn write_mode(path: &Path, text: &str, mode: u32) -> Result<()> {
    fs::write(path, text).map_err(|e| Error::io("write", path, e))?;
    set_mode(path, mode)
}

/// The applets busybox reports (`busybox --list`), minus busybox itself, as the template does.
fn applets(busybox: &Path) -> Result<Vec<String>> {
    let out = Command::new(busybox)
        .arg("--list")
        .output()
        .map_err(|e| Error::io("run busybox --list", busybox, e))?;
    if !out.status.success() {
        return Err(Error::io(
            "run busybox --list",
            busybox,
            io::Error::other(format!("busybox --list failed: {}", out.status)),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|n| !n.is_empty() && *n != "." && *n != ".." && !n.contains('/'))
        .filter(|n| !n.contains("busybox"))
        .map(str::to_string)
        .collect())
}

/// Where this busybox's udhcpc runs its event script, from `udhcpc --help` like the template
/// (relative to the rootfs).
fn udhcpc_script_path(busybox: &Path) -> PathBuf {
    let help = Command::new(busybox)
        .args(["udhcpc", "--help"])
        .output()
        .map(|o| {
            let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
            s.push_str(&String::from_utf8_lossy(&o.stderr));
            s
        })
        .unwrap_or_default();
    let found = help
        .lines()
        .find(|l| l.contains("-s") && l.contains("Run PROG"))
        .and_then(|l| l.split_once('/'))
        .map(|(_, rest)| rest.split(')').next().unwrap_or(rest).trim().to_string())
        .filter(|p| {
            !p.is_empty()
                && Path::new(p)
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)))
        });
    PathBuf::from(found.unwrap_or_else(|| DEFAULT_UDHCPC_SCRIPT.to_string()))
}

/// Lay out the rootfs (`install_busybox` + `configure_busybox` in LXC's template).
pub fn install(rootfs: &Path, busybox: &Path) -> Result<()> {
    for d in FSTREE {
        mkdir_mode(&rootfs.join(d), 0o755)?;
    }
    set_mode(&rootfs.join("tmp"), 0o1777)?;

    let etc = rootfs.join("etc");
    write_mode(&etc.join("passwd"), PASSWD, 0o644)?;
    write_mode(&etc.join("group"), GROUP, 0o644)?;
    write_mode(&etc.join("init.d/rcS"), RCS, 0o744)?;
    write_mode(&etc.join("inittab"), INITTAB, 0o644)?;

    let script = rootfs.join(udhcpc_script_path(busybox));
    if let Some(dir) = script.parent() {
        // LXC's template makes this directory 0644, which no non-root user can enter; 0755 is
        // what it means.
        mkdir_mode(dir, 0o755)?;
    }
    write_mode(&script, UDHCPC_SCRIPT, 0o744)?;

    let bin = rootfs.join("bin");
    let target = bin.join("busybox");
    fs::copy(busybox, &target).map_err(|e| Error::io("copy busybox", &target, e))?;
    set_mode(&target, 0o755)?;
    let names = applets(busybox)?;
    for name in &names {
        let link = bin.join(OsStr::new(name));
        match symlink("busybox", &link) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io("symlink applet", &link, e)),
        }
    }
    tracing::debug!(applets = names.len(), rootfs = %rootfs.display(), "linked busybox applets");

    let init = rootfs.join("sbin/init");
    fs::hard_link(&target, &init).map_err(|e| Error::io("link /sbin/init", &init, e))?;
    write_mode(&etc.join("fstab"), "", 0o644)?;
    // The template does `chmod +s bin/passwd`; passwd is a symlink, so it is busybox (and
    // /sbin/init, the same inode) that becomes setuid and setgid root.
    if names.iter().any(|n| n == "passwd") {
        set_mode(&target, 0o6755)?;
    }
    // Empty, like LXC's; not world-readable as LXC leaves it, since it holds password hashes
    // once `passwd` runs.
    write_mode(&etc.join("shadow"), "", 0o600)?;
    Ok(())
}

/// The config lines the template appends (`copy_configuration`), after the rootfs line.
pub fn config_section(rootfs: &Path, name: &str) -> String {
    let mut s = format!(
        "lxc.signal.halt = SIGUSR1\n\
         lxc.signal.reboot = SIGTERM\n\
         lxc.uts.name = \"{name}\"\n\
         lxc.autodev = 1\n\
         lxc.tty.max = 5\n\
         lxc.pty.max = 1\n\
         lxc.cap.drop = sys_module mac_admin mac_override sys_time\n\
         \n\
         # When using LXC with apparmor, uncomment the next line to run unconfined:\n\
         #lxc.apparmor.profile = unconfined\n\
         \n\
         lxc.mount.auto = cgroup:mixed proc:mixed sys:ro\n\
         lxc.mount.entry = shm dev/shm tmpfs defaults,create=dir 0 0\n\
         lxc.mount.entry = mqueue dev/mqueue mqueue defaults,optional,create=dir 0 0\n"
    );
    for dir in LIBDIRS {
        if Path::new("/").join(dir).is_dir() && rootfs.join(dir).is_dir() {
            s.push_str(&format!(
                "lxc.mount.entry = /{dir} {dir} none ro,bind 0 0\n"
            ));
        }
    }
    s.push_str(
        "lxc.mount.entry = /sys/kernel/security sys/kernel/security none ro,bind,optional 0 0\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args() {
        assert!(Args::parse(&[]).unwrap().busybox_path.is_none());
        let a = Args::parse(&["--busybox-path".into(), "/x/bb".into()]).unwrap();
        assert_eq!(a.busybox_path.as_deref(), Some(Path::new("/x/bb")));
        let a = Args::parse(&["--busybox-path=/y".into()]).unwrap();
        assert_eq!(a.busybox_path.as_deref(), Some(Path::new("/y")));
        assert!(Args::parse(&["--flavor".into()]).is_err());
        assert!(Args::parse(&["--busybox-path".into()]).is_err());
    }

    #[test]
    fn elf_interp() {
        // The test binary itself is dynamically linked.
        let me = fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(elf_has_interpreter(&me), Ok(true));
        assert!(elf_has_interpreter(b"#!/bin/sh\nexit 0\n").is_err());
        assert!(elf_has_interpreter(&me[..60]).is_err());
    }
}
