//! The PostgreSQL adapter against real PostgreSQL, one test binary for all, a fresh migrated
//! database per test.

// A failed unwrap in a test is a failed assertion, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

{% if example -%}
mod items;
{% endif -%}
mod migrations;
