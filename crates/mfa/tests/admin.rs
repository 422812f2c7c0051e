//! Administration: the MFA state's events.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use mfa::{EventKind, MfaState, UserRecord};

#[tokio::test]
async fn set_mfa_state_tells_only_of_a_change() {
    // Issue 12, item 15: an event was emitted when nothing changed.
    let h = harness();
    let alice = user("alice");
    let changes = |h: &Harness| {
        h.events
            .kinds()
            .into_iter()
            .filter_map(|k| match k {
                EventKind::MfaStateChanged { state } => Some(state),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    // A new user already has the default state: setting it changes nothing.
    h.mfa
        .set_mfa_state(&alice, UserRecord::default().mfa)
        .await
        .unwrap();
    assert_eq!(changes(&h), []);
    h.mfa.set_mfa_state(&alice, MfaState::Enforced).await.unwrap();
    h.mfa.set_mfa_state(&alice, MfaState::Enforced).await.unwrap();
    h.mfa.set_mfa_state(&alice, MfaState::Disabled).await.unwrap();
    h.mfa.set_mfa_state(&alice, MfaState::Disabled).await.unwrap();
    assert_eq!(changes(&h), [MfaState::Enforced, MfaState::Disabled]);
}
