//! `lxcrs-bench-config-load FILE BATCHES LOADS`: how long lxc-rs's config engine takes to load one
//! config file, timed in-process so no process start-up is counted. Prints one line per batch:
//! the mean nanoseconds per load over LOADS loads. `cargo xtask bench` builds this in release
//! (it is not part of xtask itself) and runs the same measurement against liblxc's
//! `load_config` through a small C program, so both rows time the same work.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file, batches, loads] = args.as_slice() else {
        eprintln!("usage: lxcrs-bench-config-load FILE BATCHES LOADS");
        return ExitCode::from(2);
    };
    let (Ok(batches), Ok(loads)) = (batches.parse::<u32>(), loads.parse::<u32>()) else {
        eprintln!("lxcrs-bench-config-load: BATCHES and LOADS must be positive integers");
        return ExitCode::from(2);
    };
    let file = PathBuf::from(file);
    for _ in 0..batches {
        let start = Instant::now();
        for _ in 0..loads.max(1) {
            // black_box: the loaded config must not be optimised away.
            if let Err(e) = std::hint::black_box(lxc::Config::load(&file)) {
                eprintln!("lxcrs-bench-config-load: {e}");
                return ExitCode::FAILURE;
            }
        }
        let per_load = start.elapsed().as_nanos() / u128::from(loads.max(1));
        println!("{per_load}");
    }
    ExitCode::SUCCESS
}
