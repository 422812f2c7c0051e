//! A new authenticator secret, the code an app would show for it now, and that code verified.
//!
//! `cargo run --example totp_code`

use std::time::{SystemTime, UNIX_EPOCH};

use mfa_otp::{Code, Secret, Totp, TotpParams, Window};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = Secret::generate()?;
    let totp = Totp::new(&secret, TotpParams::default())?;
    // An example program may read the clock; the libraries never do.
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();

    let code = totp.generate(now)?;
    println!("secret (base32): {}", secret.to_base32().as_str());
    println!("code at {now}:   {code}");

    let typed = Code::parse(&code.to_string())?;
    match totp.verify(&typed, now, Window::default()) {
        Some(step) => println!("verified: time step {step}"),
        None => return Err("the code just generated did not verify".into()),
    }
    Ok(())
}
