//! With another tracing subscriber already the global default, `log_init` fails clearly, every
//! time. (Its own binary: the global default can be set once per process.)

use lxc_ext_lxc_log::{log_init, Error, LogOptions};

#[test]
fn a_foreign_global_subscriber_is_reported() {
    tracing::subscriber::set_global_default(tracing_subscriber::registry()).unwrap();
    for _ in 0..2 {
        let e = log_init(&LogOptions::default()).unwrap_err();
        assert!(matches!(e, Error::ForeignSubscriber), "{e}");
    }
}
