#![no_main]
//! mfa-policy from JSON: a policy is validated or refused as it is read, never a panic; a read policy
//! serialises and reads back to itself; a decision on any state read from JSON has the most restrictive
//! action of its reasons; an instant read from JSON reads back to itself.

use libfuzzer_sys::fuzz_target;
use mfa_policy::{Action, DeviceState, Policy, SignInContext, UnixTime, UserState};

fuzz_target!(|data: &[u8]| {
    // An instant (milliseconds, written as seconds with an optional fraction) reads back to itself.
    if let Ok(at) = serde_json::from_slice::<UnixTime>(data) {
        let text = serde_json::to_string(&at).expect("an instant serialises");
        assert_eq!(
            serde_json::from_str::<UnixTime>(&text).expect("and reads back"),
            at
        );
    }
    if let Ok(policy) = serde_json::from_slice::<Policy>(data) {
        let text = serde_json::to_string(&policy).expect("a policy serialises");
        assert_eq!(
            serde_json::from_str::<Policy>(&text).expect("and reads back"),
            policy
        );
    }
    let Ok((policy, user, device, context, now)) =
        serde_json::from_slice::<(Policy, UserState, DeviceState, SignInContext, UnixTime)>(data)
    else {
        return;
    };
    let decision = policy.decide(&user, &device, &context, now);
    let most = decision
        .reasons
        .iter()
        .map(|r| r.action())
        .max()
        .unwrap_or(Action::Allow);
    assert_eq!(decision.action, most);
});
