//! What a database error means, asked in one place. Repositories branch on these predicates,
//! never on SQLSTATE strings scattered around. Public so that a new repository uses them too.

use sqlx::error::ErrorKind;

/// A UNIQUE constraint refused the write.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    database_kind(error) == Some(ErrorKind::UniqueViolation)
}

/// A FOREIGN KEY constraint refused the write (the referenced row does not exist).
pub fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    database_kind(error) == Some(ErrorKind::ForeignKeyViolation)
}

/// The transaction lost a race (serialization failure 40001 or deadlock 40P01) and is safe to
/// run again from the start.
pub fn is_transient(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::Database(database)
            if matches!(database.code().as_deref(), Some("40001" | "40P01"))
    )
}

fn database_kind(error: &sqlx::Error) -> Option<ErrorKind> {
    match error {
        sqlx::Error::Database(database) => Some(database.kind()),
        _ => None,
    }
}
