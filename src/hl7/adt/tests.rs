//! Reading ADT messages.
