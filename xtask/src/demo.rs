//! `cargo xtask demo`: the project's main job. Build `lxc-rs`, write a busybox container config,
//! and drive the tool through its script, one command line per step.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::deps;
use crate::run::{build_lxc_rs, fail, target_dir, Result, Runner};

/// The demo container's name: the `lxcrs-` prefix marks everything it makes on the host.
const NAME: &str = "lxcrs-demo";

/// Paths of one demo run, all under `<target dir>/demo/`.
struct Demo {
    dir: PathBuf,
    lxcpath: PathBuf,
    config: PathBuf,
}

impl Demo {
    fn new(target: &Path) -> Self {
        let dir = target.join("demo");
        Demo {
            lxcpath: dir.join("lxcpath"),
            config: dir.join(format!("{NAME}.conf")),
            dir,
        }
    }

    /// The demo's script: each entry is the arguments of one `lxc-rs` command line, run in order;
    /// the demo stops at the first that fails (and then removes the container).
    fn script(&self) -> Vec<(&'static str, Vec<String>)> {
        let config = self.config.display().to_string();
        let c = self.container_args();
        let with = |cmd: &[&str], rest: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
            v.extend(c.iter().cloned());
            v.extend(rest.iter().map(|s| s.to_string()));
            v
        };
        vec![
            ("config check", args(["config", "check", &config])),
            ("extensions", args(["extensions"])),
            ("checkconfig", args(["checkconfig"])),
            (
                "create",
                with(&["create"], &["-t", "busybox", "-f", &config]),
            ),
            (
                "execute",
                with(
                    &["execute"],
                    &["--", "/bin/sh", "-c", "echo hello from $(hostname), pid $$"],
                ),
            ),
            ("start", with(&["start"], &[])),
            ("info", with(&["info"], &[])),
            (
                "attach",
                with(
                    &["attach"],
                    &[
                        "--",
                        "/bin/sh",
                        "-c",
                        "echo attached to $(hostname) as uid $(id -u); ps",
                    ],
                ),
            ),
            ("freeze", with(&["freeze"], &[])),
            ("info (frozen)", with(&["info"], &[])),
            ("unfreeze", with(&["unfreeze"], &[])),
            ("stop", with(&["stop"], &[])),
            ("destroy", with(&["destroy"], &[])),
        ]
    }

    /// `-n NAME -P LXCPATH`, what every lifecycle command of the script takes.
    fn container_args(&self) -> Vec<String> {
        let lxcpath = self.lxcpath.display().to_string();
        args(["-n", NAME, "-P", &lxcpath])
    }

    /// Remove what an earlier (interrupted) run or a failed step left: stop, then destroy.
    fn clean(&self, exe: &Path) {
        for sub in [&["stop", "-k"][..], &["destroy"][..]] {
            let _ = Command::new(exe)
                .args(sub)
                .args(self.container_args())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }

    /// The base config for `create -f`: the busybox template adds the rootfs and its own keys.
    fn config_text(&self) -> String {
        let log = self.dir.join(format!("{NAME}.log"));
        format!(
            "\
# A busybox container, written by `cargo xtask demo`.
lxc.uts.name = {NAME}
lxc.mount.auto = proc:mixed sys:ro cgroup:mixed
lxc.tty.max = 1
lxc.pty.max = 1024
lxc.cap.drop = sys_module mac_admin mac_override sys_time
lxc.log.level = INFO
lxc.log.file = {log}
",
            log = log.display(),
        )
    }

    fn write_config(&self) -> Result<()> {
        std::fs::create_dir_all(&self.lxcpath)
            .map_err(|e| fail(format!("cannot create {}: {e}", self.lxcpath.display())))?;
        let text = self.config_text();
        std::fs::write(&self.config, &text)
            .map_err(|e| fail(format!("cannot write {}: {e}", self.config.display())))?;
        eprint!("{text}");
        Ok(())
    }
}

fn args<const N: usize>(a: [&str; N]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

pub fn run() -> Result<()> {
    let demo = Demo::new(&target_dir()?);
    let script = demo.script();
    let mut r = Runner::new("demo", 3 + script.len());

    r.step(
        "install",
        "apt packages the demo needs",
        deps::ensure_apt_packages,
    )?;
    let exe = r.step("build", "lxc-rs, debug profile", || build_lxc_rs(&[]))?;
    eprintln!("lxc-rs: {}", exe.display());
    let what = format!("write {}", demo.config.display());
    r.step("config", &what, || demo.write_config())?;

    demo.clean(&exe);
    for (name, argv) in script {
        let mut cmd = Command::new(&exe);
        cmd.args(argv);
        if let Err(e) = r.command(name, cmd) {
            demo.clean(&exe);
            return Err(e);
        }
    }
    eprintln!(
        "\ndemo finished: config, log and lxcpath are in {}",
        demo.dir.display()
    );
    Ok(())
}
