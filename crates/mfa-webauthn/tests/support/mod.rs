//! A software authenticator and browser for the tests: ES256 (P-256) keys, attestation "none",
//! hand-encoded CBOR, and knobs to misbehave (another RP id, another origin, any counter, flags).
//! Written from the WebAuthn Level 3 and CTAP 2.1 specifications (authenticator data layout,
//! attestation object, COSE_Key of an EC2 key).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_webauthn::{RelyingParty, WebauthnConfig};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub(crate) const ORIGIN: &str = "https://example.com";

pub(crate) fn config() -> WebauthnConfig {
    WebauthnConfig {
        rp_id: "example.com".into(),
        rp_name: "Example".into(),
        origin: ORIGIN.into(),
        extra_origins: vec!["https://login.example.com".into()],
    }
}

pub(crate) fn rp() -> RelyingParty {
    RelyingParty::new(&config()).unwrap()
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const BS: u8 = 0x10;
const AT: u8 = 0x40;

/// One credential on a software authenticator.
pub(crate) struct SoftAuthenticator {
    key: SigningKey,
    pub(crate) credential_id: Vec<u8>,
    /// The counter of the last signature; the next one sends `counter + 1` when `counting`.
    pub(crate) counter: u32,
    /// `false` for a synced passkey: the counter stays 0.
    pub(crate) counting: bool,
    pub(crate) user_verified: bool,
    pub(crate) backup_eligible: bool,
    pub(crate) backed_up: bool,
    /// Hash this RP id instead of the one in the options (a phishing site's credential).
    pub(crate) rp_id_override: Option<String>,
    /// The origin the "browser" writes into the client data.
    pub(crate) origin: String,
    user_handle: Option<Vec<u8>>,
}

impl SoftAuthenticator {
    /// A synced passkey (platform authenticator): user verification, backup eligible and backed up,
    /// counter always 0.
    pub(crate) fn passkey(seed: u8) -> Self {
        let mut a = Self::security_key(seed);
        a.counting = false;
        a.user_verified = true;
        a.backup_eligible = true;
        a.backed_up = true;
        a
    }

    /// A security key without a PIN: user presence only, a counter, single device.
    pub(crate) fn security_key(seed: u8) -> Self {
        let mut scalar = [0u8; 32];
        scalar[31] = seed.max(1);
        scalar[0] = 0x42;
        SoftAuthenticator {
            key: SigningKey::from_slice(&scalar).unwrap(),
            credential_id: Sha256::digest([b'c', seed]).to_vec(),
            counter: 0,
            counting: true,
            user_verified: false,
            backup_eligible: false,
            backed_up: false,
            rp_id_override: None,
            origin: ORIGIN.into(),
            user_handle: None,
        }
    }

    fn flags(&self) -> u8 {
        let mut flags = UP;
        if self.user_verified {
            flags |= UV;
        }
        if self.backup_eligible {
            flags |= BE;
        }
        if self.backed_up {
            flags |= BS;
        }
        flags
    }

    fn next_counter(&mut self) -> u32 {
        if self.counting {
            self.counter += 1;
        }
        self.counter
    }

    fn rp_id_hash(&self, rp_id: &str) -> [u8; 32] {
        Sha256::digest(self.rp_id_override.as_deref().unwrap_or(rp_id).as_bytes()).into()
    }

    fn client_data(&self, type_: &str, challenge: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "type": type_,
            "challenge": challenge,
            "origin": self.origin,
            "crossOrigin": false,
        }))
        .unwrap()
    }

    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_sec1_point(false);
        let point = point.as_bytes();
        assert_eq!(point.len(), 65);
        let mut out = Vec::new();
        cbor_head(&mut out, 5, 5);
        cbor_int(&mut out, 1); // kty
        cbor_int(&mut out, 2); // EC2
        cbor_int(&mut out, 3); // alg
        cbor_int(&mut out, -7); // ES256
        cbor_int(&mut out, -1); // crv
        cbor_int(&mut out, 1); // P-256
        cbor_int(&mut out, -2); // x
        cbor_bytes(&mut out, &point[1..33]);
        cbor_int(&mut out, -3); // y
        cbor_bytes(&mut out, &point[33..65]);
        out
    }

    /// Answers `navigator.credentials.create()` options: the `RegisterPublicKeyCredential` JSON.
    pub(crate) fn register(&mut self, options: &str) -> Vec<u8> {
        let options: Value = serde_json::from_str(options).unwrap();
        let public_key = &options["publicKey"];
        let rp_id = public_key["rp"]["id"].as_str().unwrap();
        let challenge = public_key["challenge"].as_str().unwrap();
        self.user_handle = Some(unb64(public_key["user"]["id"].as_str().unwrap()));

        let mut auth_data = Vec::new();
        auth_data.extend_from_slice(&self.rp_id_hash(rp_id));
        auth_data.push(self.flags() | AT);
        let counter = self.next_counter();
        auth_data.extend_from_slice(&counter.to_be_bytes());
        auth_data.extend_from_slice(&[0; 16]); // AAGUID: none
        auth_data.extend_from_slice(&u16::try_from(self.credential_id.len()).unwrap().to_be_bytes());
        auth_data.extend_from_slice(&self.credential_id);
        auth_data.extend_from_slice(&self.cose_key());

        let mut attestation_object = Vec::new();
        cbor_head(&mut attestation_object, 5, 3);
        cbor_text(&mut attestation_object, "fmt");
        cbor_text(&mut attestation_object, "none");
        cbor_text(&mut attestation_object, "attStmt");
        cbor_head(&mut attestation_object, 5, 0);
        cbor_text(&mut attestation_object, "authData");
        cbor_bytes(&mut attestation_object, &auth_data);

        let client_data = self.client_data("webauthn.create", challenge);
        serde_json::to_vec(&json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&attestation_object),
                "clientDataJSON": b64(&client_data),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        }))
        .unwrap()
    }

    /// Answers `navigator.credentials.get()` options: the `PublicKeyCredential` JSON.
    pub(crate) fn authenticate(&mut self, options: &str) -> Vec<u8> {
        let options: Value = serde_json::from_str(options).unwrap();
        let public_key = &options["publicKey"];
        let rp_id = public_key["rpId"].as_str().unwrap();
        let challenge = public_key["challenge"].as_str().unwrap();

        let mut auth_data = Vec::new();
        auth_data.extend_from_slice(&self.rp_id_hash(rp_id));
        auth_data.push(self.flags());
        let counter = self.next_counter();
        auth_data.extend_from_slice(&counter.to_be_bytes());

        let client_data = self.client_data("webauthn.get", challenge);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signature: Signature = self.key.sign(&signed);

        let mut response = json!({
            "authenticatorData": b64(&auth_data),
            "clientDataJSON": b64(&client_data),
            "signature": b64(&der_signature(&signature)),
        });
        if let Some(handle) = &self.user_handle {
            response["userHandle"] = Value::from(b64(handle));
        }
        serde_json::to_vec(&json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": response,
            "clientExtensionResults": {},
        }))
        .unwrap()
    }
}

/// An ECDSA signature as WebAuthn carries it: DER `SEQUENCE { INTEGER r, INTEGER s }`.
fn der_signature(signature: &Signature) -> Vec<u8> {
    fn integer(out: &mut Vec<u8>, bytes: &[u8]) {
        let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len() - 1);
        let bytes = &bytes[start..];
        let pad = bytes[0] & 0x80 != 0;
        out.push(0x02);
        out.push(u8::try_from(bytes.len() + usize::from(pad)).unwrap());
        if pad {
            out.push(0);
        }
        out.extend_from_slice(bytes);
    }
    let raw = signature.to_bytes();
    let mut body = Vec::new();
    integer(&mut body, &raw[..32]);
    integer(&mut body, &raw[32..]);
    let mut out = vec![0x30, u8::try_from(body.len()).unwrap()];
    out.extend_from_slice(&body);
    out
}

/// A CBOR head: major type and argument (RFC 8949 §3).
fn cbor_head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= 0xff {
        out.push(m | 24);
        out.push(n as u8);
    } else if n <= 0xffff {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn cbor_int(out: &mut Vec<u8>, i: i64) {
    if i >= 0 {
        cbor_head(out, 0, i as u64);
    } else {
        cbor_head(out, 1, (-1 - i) as u64);
    }
}

fn cbor_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    cbor_head(out, 2, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn cbor_text(out: &mut Vec<u8>, text: &str) {
    cbor_head(out, 3, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

/// Replaces one string field of a response's JSON (`/response/signature`, say).
pub(crate) fn with_field(response: &[u8], pointer: &str, value: Value) -> Vec<u8> {
    let mut json: Value = serde_json::from_slice(response).unwrap();
    *json.pointer_mut(pointer).unwrap() = value;
    serde_json::to_vec(&json).unwrap()
}
