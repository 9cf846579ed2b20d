//! attach (being written).
