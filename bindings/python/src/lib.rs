//! Python bindings (work in progress in this folder).
