//! The SQLite adapter against real SQLite files, one test binary for all, a fresh file per
//! test.

// A failed unwrap in a test is a failed assertion, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

{% if example -%}
mod items;
{% endif -%}
mod store;
