//! lxc-net (being written).
