//! Why a step of the engine failed, typed, so that what follows a failure
//! is decided by matching a variant, never by searching a chain of causes.
//!
//! What the engine does after a failure depends on where it came from
//! (`Parts::finish`): a store `Conflict` lets the claim go so the work is
//! taken again; a store that is `Unavailable` stops the pass (nothing is
//! lost, it is retried); anything else — a template that would not
//! render, an item that can never be handled — sets the item aside for an
//! operator. [`EngineError::store`] is that question.
//!
//! Every cause is kept as a `#[source]`; [`crate::logs::Report`] writes
//! the whole chain on one line, as the logs wrote it before. A variant
//! carries ids and template names, never what a patient wrote.

use crate::directory::Id;
use crate::escalation::reply::UnknownLinkAction;
use crate::store_error::StoreError;
use crate::templates::TemplateError;

/// What the engine's stages return.
pub type EngineResult<T> = Result<T, EngineError>;

/// Why the engine could not do a piece of work.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store failed while reading or claiming.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store failed to write a step's change.
    #[error("writing to the store")]
    Write(#[source] StoreError),
    /// A text, page or note could not be rendered.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A stored tap on a page's link carries an action a page never posts.
    #[error(transparent)]
    LinkAction(#[from] UnknownLinkAction),
    /// Rendering needs the page code of a member of staff the step did not
    /// read (a bug between reading and rendering).
    #[error("no code was read for {0}")]
    NoCode(Id),
    /// Handling one item failed in a way that stops the pass.
    #[error("handling {what}")]
    Handling {
        /// The item, by kind and id (`inbound message sms:SM…`).
        what: String,
        /// Why.
        #[source]
        source: Box<EngineError>,
    },
    /// A send's task panicked or was cancelled.
    #[error("a send task failed")]
    SendTask(#[from] tokio::task::JoinError),
    /// [`Engine::settle`](super::Engine::settle) still found work after
    /// its last round.
    #[error("the engine did not settle after 1000 rounds")]
    Unsettled,
}

impl EngineError {
    /// The store's error behind this one, if it came from the store rather
    /// than from the work itself.
    pub fn store(&self) -> Option<&StoreError> {
        match self {
            EngineError::Store(e) | EngineError::Write(e) => Some(e),
            EngineError::Handling { source, .. } => source.store(),
            _ => None,
        }
    }

    /// Whether someone else changed it first (another node moved the
    /// concern on, or took the work over): nothing was written.
    pub fn is_conflict(&self) -> bool {
        matches!(self.store(), Some(StoreError::Conflict(_)))
    }

    /// This error with what was being handled when it happened.
    pub(super) fn handling(self, what: &str) -> Self {
        EngineError::Handling {
            what: what.to_owned(),
            source: Box::new(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unavailable() -> StoreError {
        StoreError::Unavailable("disk full".into())
    }

    #[test]
    fn a_conflict_is_found_through_what_was_being_handled() {
        let e = EngineError::Write(StoreError::Conflict("claim lost".into())).handling("a timer");
        assert!(e.is_conflict());
        assert!(matches!(e.store(), Some(StoreError::Conflict(_))));
        assert!(!EngineError::Store(unavailable()).is_conflict());
        assert!(EngineError::Unsettled.store().is_none());
    }

    #[test]
    fn what_was_being_handled_and_every_cause_are_reported() {
        let e = EngineError::Write(unavailable()).handling("inbound message sms:SM1");
        assert_eq!(
            crate::logs::Report(&e).to_string(),
            "handling inbound message sms:SM1: writing to the store: store unavailable: disk full: disk full"
        );
    }
}
