//! One hyperfine invocation over several command lines, read back from its JSON export. All the
//! commands of a comparison go into the same invocation, so they share the machine's state.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde::Deserialize;

use crate::run::{check_status, display, fail, Result};

pub struct Options<'a> {
    pub warmup: u32,
    pub runs: u32,
    /// Run before every timed run, untimed (the cold rows idle here).
    pub prepare: Option<&'a str>,
    pub export: &'a Path,
}

/// The wall times of one command's successful runs, in milliseconds, in run order.
pub struct Timed {
    pub samples_ms: Vec<f64>,
    /// Runs that exited non-zero (or were killed): left out of the samples.
    pub failed: usize,
}

#[derive(Deserialize)]
struct Export {
    results: Vec<ExportResult>,
}

#[derive(Deserialize)]
struct ExportResult {
    command: String,
    times: Vec<f64>,
    /// `null` for a run ended by a signal.
    exit_codes: Vec<Option<i32>>,
}

/// Time `cmds` (name, argv) with `hyperfine -N`: no shell, so no row pays for one. Every command
/// line is split by hyperfine with POSIX shell-word rules; [`quote`] makes that split give back
/// our argv exactly.
pub fn run(cmds: &[(&str, &[String])], o: &Options) -> Result<Vec<Timed>> {
    let mut hf = Command::new("hyperfine");
    // -i: a run that fails is recorded (exit_codes) instead of ending every row's measurement;
    // it is left out of the samples and counted in the report.
    hf.args(["-N", "-i"])
        .args(["--warmup", &o.warmup.to_string()])
        .args(["--runs", &o.runs.to_string()])
        .arg("--export-json")
        .arg(o.export);
    if let Some(p) = o.prepare {
        hf.args(["--prepare", p]);
    }
    for (name, _) in cmds {
        hf.args(["--command-name", name]);
    }
    for (_, argv) in cmds {
        hf.arg(argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" "));
    }
    eprintln!("$ {}", display(&hf));
    // Its progress and results go to stderr with ours: stdout is the bench's summary alone.
    hf.stdout(std::io::stderr());
    check_status(&mut hf)?;

    let text = fs::read_to_string(o.export)
        .map_err(|e| fail(format!("cannot read {}: {e}", o.export.display())))?;
    let export: Export = serde_json::from_str(&text)
        .map_err(|e| fail(format!("{}: not hyperfine's JSON: {e}", o.export.display())))?;
    if export.results.len() != cmds.len() {
        return Err(fail(format!(
            "hyperfine reported {} results for {} commands",
            export.results.len(),
            cmds.len()
        )));
    }
    export
        .results
        .into_iter()
        .zip(cmds)
        .map(|(r, (name, _))| {
            // --command-name makes hyperfine report our names, in our order.
            if r.command != *name {
                return Err(fail(format!(
                    "hyperfine reported `{}` where `{name}` was expected",
                    r.command
                )));
            }
            if r.exit_codes.len() != r.times.len() {
                return Err(fail(format!(
                    "hyperfine reported {} times but {} exit codes for `{name}`",
                    r.times.len(),
                    r.exit_codes.len()
                )));
            }
            let ok = |code: &Option<i32>| *code == Some(0);
            Ok(Timed {
                samples_ms: r
                    .times
                    .iter()
                    .zip(&r.exit_codes)
                    .filter(|(_, code)| ok(code))
                    .map(|(s, _)| s * 1000.0)
                    .collect(),
                failed: r.exit_codes.iter().filter(|c| !ok(c)).count(),
            })
        })
        .collect()
}

/// Quote one argument for a POSIX shell-word split.
pub fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("/bin/true"), "/bin/true");
        assert_eq!(quote("a b && c"), "'a b && c'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }
}
