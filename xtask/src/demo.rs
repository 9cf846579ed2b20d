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
    /// the demo stops at the first that fails. Lifecycle commands join here as they land, e.g.
    /// `create -n NAME -P LXCPATH -f CONFIG`, `start`, `execute -- /bin/true`, `attach -- ps`,
    /// `stop`, `destroy` (see [`Demo::container_args`]).
    fn script(&self) -> Vec<(&'static str, Vec<String>)> {
        let config = self.config.display().to_string();
        vec![
            ("config check", args(["config", "check", &config])),
            ("extensions", args(["extensions"])),
            ("checkconfig", args(["checkconfig"])),
        ]
    }

    /// `-n NAME -P LXCPATH`, what every lifecycle command of the script will take.
    #[allow(dead_code)]
    fn container_args(&self) -> Vec<String> {
        let lxcpath = self.lxcpath.display().to_string();
        args(["-n", NAME, "-P", &lxcpath])
    }

    /// A busybox container as LXC's busybox template would describe it (the rootfs is laid out
    /// there by the create step, once it exists).
    fn config_text(&self) -> String {
        let rootfs = self.lxcpath.join(NAME).join("rootfs");
        let log = self.dir.join(format!("{NAME}.log"));
        format!(
            "\
# A busybox container, written by `cargo xtask demo`.
lxc.uts.name = {NAME}
lxc.rootfs.path = dir:{rootfs}
lxc.mount.auto = proc:mixed sys:ro cgroup:mixed
lxc.tty.max = 1
lxc.pty.max = 1024
lxc.cap.drop = sys_module mac_admin mac_override sys_time
lxc.log.level = INFO
lxc.log.file = {log}
",
            rootfs = rootfs.display(),
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

    for (name, argv) in script {
        let mut cmd = Command::new(&exe);
        cmd.args(argv);
        r.command(name, cmd)?;
    }
    eprintln!(
        "\ndemo finished: config, log and lxcpath are in {}",
        demo.dir.display()
    );
    Ok(())
}
