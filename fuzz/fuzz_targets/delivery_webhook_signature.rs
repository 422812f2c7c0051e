#![no_main]
//! A gateway's check of a signed webhook (secret text, `webhook-id`, `webhook-timestamp`,
//! `webhook-signature` and body from the input): never a panic, and what a secret signs, it verifies.

use libfuzzer_sys::fuzz_target;
use mfa_delivery::WebhookSecret;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(5, '\n');
    let (secret, id, timestamp, header) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let body = parts.next().unwrap_or_default().as_bytes();
    let Ok(secret) = secret.parse::<WebhookSecret>() else {
        return;
    };
    let now = timestamp.trim().parse::<i64>().unwrap_or(1_700_000_000);
    let _ = secret.verify(id, timestamp, header, body, now);
    // Round trip: a signature made now verifies now, also among other candidates in the header.
    let signed = secret.sign(id, now, body);
    let header = format!("{header} {signed}");
    assert!(secret.verify(id, &now.to_string(), &header, body, now).is_ok());
});
