#![no_main]
//! mfa-push enrollment URIs: never a panic; whatever parses builds a URI that parses to the same offer
//! and builds the same URI again.

use libfuzzer_sys::fuzz_target;
use mfa_push::EnrollmentOffer;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(offer) = EnrollmentOffer::parse(text) {
        let uri = offer.to_uri();
        let again = EnrollmentOffer::parse(&uri).expect("a built URI parses");
        assert_eq!(*again.to_uri(), *uri);
        assert_eq!(again.secret().as_bytes(), offer.secret().as_bytes());
        let _ = offer.pending();
    }
});
