//! `cargo xtask fuzz [--cases N] [--seconds S] [--seed X]`: the config loader's fuzz target
//! (`lxc-core/tests/fuzz_loader.rs`) run longer than the test suite runs it, in a release build.
//!
//! cargo-fuzz needs a nightly compiler, which these machines cannot have; the target is a plain
//! mutation loop with a seeded RNG, so it runs on stable and a failure reproduces from its seed.

use crate::run::{self, Error, Result};

/// What the test suite runs is 2000 cases in at most 20 s; by default this runs ten times as
/// many for up to five minutes.
const DEFAULT_CASES: u64 = 20_000;
const DEFAULT_SECONDS: u64 = 300;

pub fn run(args: &[String]) -> Result<()> {
    let mut cases = DEFAULT_CASES;
    let mut seconds = DEFAULT_SECONDS;
    let mut seed: Option<String> = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| Error::Usage(format!("`fuzz {name}` needs a value")))
        };
        match arg.as_str() {
            "--cases" => cases = number("--cases", &value("--cases")?)?,
            "--seconds" => seconds = number("--seconds", &value("--seconds")?)?,
            "--seed" => {
                let s = value("--seed")?;
                parse_seed(&s)?;
                seed = Some(s);
            }
            other => {
                return Err(Error::Usage(format!(
                    "`fuzz` takes --cases N, --seconds S and --seed X (got `{other}`)"
                )))
            }
        }
    }
    let mut cmd = run::cargo([
        "test",
        "--release",
        "-p",
        "lxc-core",
        "--test",
        "fuzz_loader",
        "--",
        "--nocapture",
    ]);
    cmd.env("LXCRS_FUZZ_CASES", cases.to_string())
        .env("LXCRS_FUZZ_SECONDS", seconds.to_string());
    if let Some(s) = &seed {
        cmd.env("LXCRS_FUZZ_SEED", s);
    }
    eprintln!(
        "xtask fuzz: config loader, up to {cases} cases or {seconds} s{}",
        seed.as_deref()
            .map(|s| format!(", seed {s}"))
            .unwrap_or_default()
    );
    run::check_status(&mut cmd)
}

fn number(flag: &str, v: &str) -> Result<u64> {
    v.parse()
        .map_err(|_| Error::Usage(format!("`fuzz {flag}` takes a number (got `{v}`)")))
}

/// The seed as the target prints it (`0x...`) or in decimal.
fn parse_seed(v: &str) -> Result<u64> {
    let parsed = match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    };
    parsed.ok_or_else(|| Error::Usage(format!("`fuzz --seed` takes a number (got `{v}`)")))
}
