//! Running steps: a header line before each, its duration after, and a stop at the first failure.

use std::ffi::OsStr;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub enum Error {
    /// The command line was wrong: exit status 2 and the usage message.
    Usage(String),
    /// A step failed; the message names the step and the command.
    Failed(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::Failed(m) => f.write_str(m),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

pub fn fail(msg: impl Into<String>) -> Error {
    Error::Failed(msg.into())
}

/// The workspace root: xtask lives one level below it. `cargo run` sets CARGO_MANIFEST_DIR for
/// the process; that is preferred over the compile-time value because two clones sharing one
/// CARGO_TARGET_DIR reuse one xtask binary, built in whichever clone came first.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(manifest_dir)
}

/// A cargo command run from the workspace root. `cargo run` tells us which cargo started us, so
/// nested builds use the same toolchain (and the same CARGO_TARGET_DIR, which is inherited).
pub fn cargo<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(workspace_root());
    cmd
}

/// How a command is shown to people: the program's file name, then its arguments, quoted where
/// the shell would need it.
pub fn display(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program());
    let name = program
        .file_name()
        .unwrap_or(program.as_os_str())
        .to_string_lossy();
    let mut out = name.into_owned();
    for arg in cmd.get_args() {
        out.push(' ');
        out.push_str(&shell_quote(&arg.to_string_lossy()));
    }
    out
}

fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

pub fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// Run a command with inherited stdio; `Ok` only when it exits 0.
pub fn check_status(cmd: &mut Command) -> Result<()> {
    let status = spawn_status(cmd)?;
    if status.success() {
        Ok(())
    } else {
        Err(fail(format!("`{}` failed: {status}", display(cmd))))
    }
}

pub fn spawn_status(cmd: &mut Command) -> Result<ExitStatus> {
    // Our own messages go to stderr; flush so they land before the child's output.
    let _ = std::io::stderr().flush();
    let _ = std::io::stdout().flush();
    cmd.status()
        .map_err(|e| fail(format!("cannot run `{}`: {e}", display(cmd))))
}

/// Run a command whose stdout we parse; its stderr (cargo's progress and diagnostics) stays on
/// the terminal.
pub fn capture_stdout(cmd: &mut Command) -> Result<String> {
    let _ = std::io::stderr().flush();
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| fail(format!("cannot run `{}`: {e}", display(cmd))))?;
    if !out.status.success() {
        return Err(fail(format!("`{}` failed: {}", display(cmd), out.status)));
    }
    String::from_utf8(out.stdout)
        .map_err(|e| fail(format!("`{}` printed non-UTF-8 output: {e}", display(cmd))))
}

/// Numbered steps of one task. Each step prints `==> task [i/n] name: what` before and
/// `<== name ok (1.2s)` after; the first failure ends the task.
pub struct Runner {
    task: &'static str,
    total: usize,
    done: usize,
}

impl Runner {
    pub fn new(task: &'static str, total: usize) -> Self {
        Runner {
            task,
            total,
            done: 0,
        }
    }

    pub fn step<T>(&mut self, name: &str, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        self.done += 1;
        eprintln!(
            "\n==> {} [{}/{}] {name}: {what}",
            self.task, self.done, self.total
        );
        let start = Instant::now();
        let result = f();
        let took = secs(start.elapsed());
        match &result {
            Ok(_) => eprintln!("<== {name} ok ({took})"),
            Err(e) => eprintln!("<== {name} FAILED ({took}): {e}"),
        }
        result.map_err(|e| match e {
            Error::Failed(m) => fail(format!("step `{name}` failed: {m}")),
            usage => usage,
        })
    }

    /// A step that is one command line.
    pub fn command(&mut self, name: &str, mut cmd: Command) -> Result<()> {
        let what = display(&cmd);
        self.step(name, &what, || check_status(&mut cmd))
    }
}

/// The string value of `"field":"..."` in one line of cargo's JSON output. Enough JSON for the
/// two fields we read (paths), so xtask needs no JSON crate.
pub fn json_string_field(line: &str, field: &str) -> Option<String> {
    let key = format!("\"{field}\":\"");
    let start = line.find(&key)? + key.len();
    let mut out = String::new();
    let mut chars = line[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// Where cargo puts build output: `$CARGO_TARGET_DIR`, `build.target-dir`, or `target/`, as
/// cargo itself resolves it.
pub fn target_dir() -> Result<PathBuf> {
    let mut cmd = cargo(["metadata", "--format-version", "1", "--no-deps"]);
    let json = capture_stdout(&mut cmd)?;
    json_string_field(&json, "target_directory")
        .map(PathBuf::from)
        .ok_or_else(|| fail("`cargo metadata` printed no target_directory"))
}

/// The network plugin crates. Each builds a `liblxc_net_plugin_*.so` that lxc-rs loads at run
/// time from the directory it runs from (among others, see lxc-net's `plugins`), so they are
/// built into the same profile directory as `lxc-rs` itself.
pub const NET_PLUGINS: [&str; 6] = [
    "lxc-net-plugin-veth",
    "lxc-net-plugin-template",
    "lxc-net-plugin-macvlan",
    "lxc-net-plugin-ipvlan",
    "lxc-net-plugin-phys",
    "lxc-net-plugin-vlan",
];

/// Build the network plugins in the debug or release profile and check that their files
/// landed in `dir` (that profile's directory, where `lxc-rs` is and looks for them). They take
/// no feature flags: a plugin depends on `lxc-net-api` alone, whatever extensions lxc-rs has.
pub fn build_net_plugins(dir: &Path, release: bool) -> Result<()> {
    let mut cmd = cargo(["build"]);
    for p in NET_PLUGINS {
        cmd.args(["-p", p]);
    }
    if release {
        cmd.arg("--release");
    }
    eprintln!("$ {}", display(&cmd));
    check_status(&mut cmd)?;
    for p in NET_PLUGINS {
        let file = dir.join(format!("lib{}.so", p.replace('-', "_")));
        if !file.is_file() {
            return Err(fail(format!(
                "`{}` left no {}",
                display(&cmd),
                file.display()
            )));
        }
    }
    Ok(())
}

/// Build the `lxc-rs` binary with the given cargo arguments and return its path, taken from
/// cargo's own report of what it built. The network plugins are built beside it (debug or
/// release, as `extra` says), so the binary returned can start containers with a veth.
pub fn build_lxc_rs(extra: &[String]) -> Result<PathBuf> {
    let exe = build_lxc_rs_only(extra)?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    build_net_plugins(dir, extra.iter().any(|a| a == "--release"))?;
    Ok(exe)
}

fn build_lxc_rs_only(extra: &[String]) -> Result<PathBuf> {
    let mut cmd = cargo([
        "build",
        "-p",
        "lxc-cli",
        "--bin",
        "lxc-rs",
        "--message-format=json-render-diagnostics",
    ]);
    cmd.args(extra);
    eprintln!("$ {}", display(&cmd));
    let out = capture_stdout(&mut cmd)?;
    out.lines()
        .filter(|l| l.contains("\"reason\":\"compiler-artifact\""))
        .filter_map(|l| json_string_field(l, "executable"))
        .map(PathBuf::from)
        .find(|p| p.file_name().is_some_and(|n| n == "lxc-rs"))
        .ok_or_else(|| fail("cargo built no `lxc-rs` executable"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_field_with_escapes() {
        let line =
            r#"{"reason":"compiler-artifact","executable":"/a b/\"q\"/\u00e9/lxc-rs","x":1}"#;
        assert_eq!(
            json_string_field(line, "executable").as_deref(),
            Some("/a b/\"q\"/\u{e9}/lxc-rs")
        );
        assert_eq!(
            json_string_field(r#"{"executable":null}"#, "executable"),
            None
        );
    }

    #[test]
    fn quoting() {
        let mut cmd = Command::new("/usr/bin/cargo");
        cmd.args(["test", "--features", "a,b", "it's here", ""]);
        assert_eq!(
            display(&cmd),
            r#"cargo test --features a,b 'it'\''s here' ''"#
        );
    }
}
