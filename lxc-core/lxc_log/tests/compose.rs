//! A caller composing its own subscriber with `LxcLayer` next to another layer: `log_init`
//! configures it instead of installing a second one. (Its own binary: the global default can be
//! set once per process.)

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use lxc_ext_lxc_log::{log_get_level, log_init, LogOptions, LxcLayer, Priority};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

static SEEN_BY_OTHER: AtomicUsize = AtomicUsize::new(0);

struct Counter;

impl<S: tracing::Subscriber> Layer<S> for Counter {
    fn on_event(&self, _event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        SEEN_BY_OTHER.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn log_init_configures_a_composed_subscriber() {
    let _s = common::serial();
    let dir = common::tempdir();
    let subscriber = tracing_subscriber::registry()
        .with(LxcLayer::new())
        .with(Counter);
    tracing::subscriber::set_global_default(subscriber).unwrap();
    assert_eq!(log_get_level(), None);

    let path = dir.path().join("composed.log");
    let long_prefix = "p".repeat(40);
    let g = log_init(&LogOptions {
        file: Some(path.clone()),
        level: Some(Priority::Info),
        prefix: long_prefix,
        quiet: true,
        ..LogOptions::default()
    })
    .unwrap();
    assert_eq!(log_get_level(), Some(Priority::Info));
    tracing::info!("composed one");
    drop(g);
    let text = common::read(&path);
    // LXC keeps 31 bytes of the prefix.
    assert!(
        text.starts_with(&format!("{} 20", "p".repeat(31))),
        "{text}"
    );
    assert!(text.ends_with(" - composed one\n"), "{text}");
    assert!(
        SEEN_BY_OTHER.load(Ordering::SeqCst) >= 1,
        "the other layer still sees events"
    );
}
