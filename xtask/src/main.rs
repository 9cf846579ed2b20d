//! `cargo xtask <task>`: the project's own tasks (demo, tests, feature matrix), written in Rust so
//! they run the same on a developer's machine and in CI with nothing but cargo installed.

mod bench;
mod demo;
mod deps;
mod fuzz;
mod install;
mod kernel;
mod matrix;
mod run;
mod scaffold;
mod test;

use std::process::ExitCode;

use run::Error;

const USAGE: &str = "\
usage: cargo xtask <task> [args]

tasks:
  demo                 build lxc-rs and run it on a sample busybox container config
                       (the project's main job; prints each command before running it)
  test [-- ARGS...]    install what the tests need (apt packages, rustfmt, clippy), then run
                       cargo fmt --check, cargo clippy -D warnings and cargo test --workspace;
                       ARGS are appended to `cargo test --workspace`
                       (e.g. `cargo xtask test -- -p lxc-core -- --nocapture`)
  test-matrix          build and test lxc + lxc-rs with no API extension, each one alone and all
                       of them, and check that `lxc-rs extensions` lists exactly the enabled ones
  test-matrix --kernel [PATTERN...]
                       run the tests that need a kernel this machine lacks (ipvlan, 802.1Q,
                       bridge VLAN filtering, pure cgroup2) in a qemu guest (TCG) booting Debian's
                       6.1 kernel with cgroup_no_v1=all; qemu and the kernel are downloaded as
                       .debs and unpacked under <target>/kernel/ (nothing is installed for them);
                       PATTERNs pick entries by `package/target`; prints a table per test
  bench [--only STEP,...]
                       lxc-rs against LXC, runc, crun and an unshare floor: lifecycle (hot and
                       cold), one veth, peak memory, 50 containers, config parsing, where an
                       lxc-rs start spends its time, idle fleets of 50 and 200, and 1000 idle
                       containers; installs what it compares against, needs root, writes
                       <target>/bench/report.{md,json,svg} (several minutes); --only runs
                       some steps: lifecycle-hot lifecycle-cold veth memory scale scale-veth
                       micro console seccomp-notify seccomp-policy phases fleet scale1000
  new-extension NAME [--under DIR]
                       a new API extension crate NAME (an LXC extension string) under its
                       subsystem's folder (or DIR), wired into the workspace, the facade's
                       features (on by default), the facade's linker `use` and lxc-cli's features
  fuzz [--cases N] [--seconds S] [--seed X]
                       fuzz the config loader (include trees, FIFOs, devices, huge lines, bad
                       bytes) in a release build: default 20000 cases or 300 s; prints the seed
                       so a failure reproduces with --seed
  install [--prefix DIR] [--lxc-names] [--force] [--debug]
                       release build (debug with --debug) of lxc-rs and its network plugins,
                       installed as DIR/bin/lxc-rs and DIR/lib/lxc-rs/net-plugins/ (DIR:
                       /usr/local); --lxc-names adds links DIR/bin/lxc-start -> lxc-rs etc.;
                       refuses /usr/bin, and a DIR/bin/lxc-* that is not a link unless --force
  help                 print this message

Builds go to $CARGO_TARGET_DIR when it is set, else to target/.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((task, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match task.as_str() {
        "demo" => no_args(task, rest).and_then(|()| demo::run()),
        "test" => test_args(rest).and_then(test::run),
        "test-matrix" => match rest.split_first() {
            Some((flag, patterns)) if flag == "--kernel" => kernel::run(patterns),
            _ => no_args(task, rest).and_then(|()| matrix::run()),
        },
        "bench" => bench::args(rest).and_then(bench::run),
        "new-extension" => scaffold::run(rest),
        "fuzz" => fuzz::run(rest),
        "install" => install::run(rest),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => Err(Error::Usage(format!("unknown task `{other}`"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Usage(msg)) => {
            eprintln!("xtask: {msg}\n");
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
        Err(Error::Failed(msg)) => {
            eprintln!("xtask {task}: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn no_args(task: &str, rest: &[String]) -> run::Result<()> {
    match rest.first() {
        None => Ok(()),
        Some(arg) => Err(Error::Usage(format!(
            "`{task}` takes no arguments (got `{arg}`)"
        ))),
    }
}

/// `test` passes everything after a leading `--` to `cargo test --workspace`.
fn test_args(rest: &[String]) -> run::Result<&[String]> {
    match rest.split_first() {
        None => Ok(rest),
        Some((dashdash, extra)) if dashdash == "--" => Ok(extra),
        Some((arg, _)) => Err(Error::Usage(format!(
            "`test` takes extra cargo test arguments after `--` (got `{arg}`)"
        ))),
    }
}
