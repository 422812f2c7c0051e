#![no_main]
//! What the facade reads from outside: phone numbers as typed, user ids, its configuration and the records a
//! Store hands back (JSON, as a SQL store may keep them). Each is a typed error or a value, never a panic; a
//! parsed phone number is E.164 and reads back to itself; a valid configuration round-trips.

use libfuzzer_sys::fuzz_target;
use mfa::store::{DeviceRecord, MethodRecord};
use mfa::{Config, PhoneNumber, UserId, UserRecord};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(number) = PhoneNumber::parse(text) {
            let e164 = number.as_str();
            assert!(e164.starts_with('+'));
            assert!(e164[1..].bytes().all(|b| b.is_ascii_digit()));
            assert!((9..=16).contains(&e164.len()), "{e164}");
            assert_eq!(PhoneNumber::parse(e164).expect("E.164 reads back"), number);
            let masked = number.masked();
            assert!(masked.ends_with(&e164[e164.len() - 2..]));
        }
        if let Ok(user) = UserId::new(text) {
            assert_eq!(UserId::new(user.as_str()).expect("an id reads back"), user);
        }
    }
    if let Ok(config) = serde_json::from_slice::<Config>(data)
        && config.validate().is_ok()
    {
        let text = serde_json::to_string(&config).expect("a config serialises");
        assert_eq!(
            serde_json::from_str::<Config>(&text).expect("and reads back"),
            config
        );
    }
    let _ = serde_json::from_slice::<UserRecord>(data);
    let _ = serde_json::from_slice::<MethodRecord>(data);
    let _ = serde_json::from_slice::<DeviceRecord>(data);
});
