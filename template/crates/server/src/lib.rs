//! The composition root as a library: configuration, start-up and the command-line
//! subcommands. It is the only place that names concrete adapters; the rings it wires know
//! only the ports between them.

pub mod cli;
pub mod config;
pub mod identity;
{% if messaging != "none" %}pub mod messaging;
{% endif %}pub mod runtime;
{% if example %}pub mod seed;
{% endif %}pub mod startup;
pub mod storage;
