#![no_main]
//! The delivery configuration a host reads from its environment (`NAME=value` lines from the input):
//! never a panic; a configuration that reads builds or says what is wrong; neither its `Debug` nor an
//! error shows a secret.

use libfuzzer_sys::fuzz_target;
use mfa_delivery::DeliveryConfig;

fn is_secret(name: &str) -> bool {
    [
        "TWILIO_AUTH_TOKEN",
        "VONAGE_API_SECRET",
        "VONAGE_PRIVATE_KEY",
        "MFA_WEBHOOK_SECRET",
    ]
    .contains(&name)
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Files are not read here (a path such as /dev/zero would never end).
    let vars: Vec<(&str, &str)> = text
        .lines()
        .filter_map(|line| line.split_once('='))
        .filter(|(name, _)| !name.ends_with("_PATH"))
        .collect();
    let lookup = |name: &str| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    };
    let Ok(Some(config)) = DeliveryConfig::from_vars(lookup) else {
        return;
    };
    // A secret worth looking for: long, and not also the text of a setting that is shown.
    let secrets: Vec<&str> = vars
        .iter()
        .filter(|(name, _)| is_secret(name))
        .map(|(_, value)| value.trim())
        .filter(|value| value.len() >= 16)
        .filter(|value| {
            !vars
                .iter()
                .any(|(name, other)| !is_secret(name) && other.contains(value))
        })
        .collect();
    let shown = format!("{config:?}");
    for secret in &secrets {
        assert!(!shown.contains(secret), "a secret is shown in Debug");
    }
    if let Err(error) = config.build() {
        let message = error.to_string();
        for secret in &secrets {
            assert!(!message.contains(secret), "a secret is shown in an error");
        }
    }
});
