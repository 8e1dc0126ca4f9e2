//! What a store call can fail with, kept below every port so that the
//! domain's ports (`work::WorkQueue`, `concern::Concerns`, …) can name their
//! errors without importing the store that implements them.

/// The cause behind a [`StoreError`]: any error, or a sentence
/// (`StoreError::Unavailable("…".into())` and `StoreError::Unavailable(e.into())` both work).
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why the store could not do what was asked. Each kind says what the
/// caller should do next; each carries its cause (also shown in the message,
/// because callers log errors with `%`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store could not be reached or written (disk full, locked, gone,
    /// a network error): nothing was written; try again later.
    #[error("store unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// Someone else changed it first (the work was claimed by another node,
    /// or the concern changed since it was read): nothing was written;
    /// re-read and try again.
    #[error("store conflict: {0}")]
    Conflict(#[source] Cause),
    /// The write itself is wrong and will never succeed (it breaks a
    /// constraint of the domain, such as a second key with the same hash):
    /// nothing was written; do not retry it.
    #[error("invalid write: {0}")]
    Invalid(#[source] Cause),
    /// Something stored could not be read back.
    #[error("stored data unreadable: {0}")]
    Corrupt(#[source] Cause),
}

/// What store methods return.
pub type StoreResult<T> = Result<T, StoreError>;
