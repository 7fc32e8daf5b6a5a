//! What the service is called, in one place every other module may read: the binary, the
//! `service.name` of its traces and the `application_name` of its database connections. A leaf:
//! it must not import anything of this crate.

/// The service's name.
pub const SERVICE_NAME: &str = "{{project-name}}";
