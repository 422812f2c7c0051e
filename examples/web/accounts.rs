//! DEMO ONLY: the host's users and their passwords. A real service keeps argon2id hashes in its
//! users table; mfa-kit never sees a password. Here, three fixed demo accounts whose passwords are
//! compared in constant time.

use mfa::{MfaState, UserId};
use mfa_axum::PasswordCheck;
use subtle::ConstantTimeEq;

/// A demo account.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub(crate) username: &'static str,
    pub(crate) password: &'static str,
    pub(crate) user: UserId,
    pub(crate) admin: bool,
    /// The MFA state set at start-up.
    pub(crate) initial_state: MfaState,
}

/// The demo accounts.
#[derive(Debug)]
pub(crate) struct Accounts(Vec<Account>);

impl Accounts {
    pub(crate) fn demo() -> Result<Self, mfa::Error> {
        let account = |username, password, id, admin, initial_state| -> Result<Account, mfa::Error> {
            Ok(Account {
                username,
                password,
                user: UserId::new(id)?,
                admin,
                initial_state,
            })
        };
        Ok(Accounts(vec![
            account(
                "alice",
                "alice-demo-password",
                "user-alice",
                false,
                MfaState::Enforced,
            )?,
            account("bob", "bob-demo-password", "user-bob", false, MfaState::Disabled)?,
            account(
                "admin",
                "admin-demo-password",
                "user-admin",
                true,
                MfaState::Enabled,
            )?,
        ]))
    }

    pub(crate) fn all(&self) -> &[Account] {
        &self.0
    }

    pub(crate) fn by_user(&self, user: &UserId) -> Option<&Account> {
        self.0.iter().find(|a| &a.user == user)
    }
}

impl PasswordCheck for Accounts {
    type Error = std::convert::Infallible;

    async fn check(&self, username: &str, password: &str) -> Result<Option<UserId>, Self::Error> {
        // Every account is compared, in constant time, so the answer's timing says nothing.
        let mut found = None;
        for account in &self.0 {
            let name = account.username.as_bytes().ct_eq(username.as_bytes());
            let pass = account.password.as_bytes().ct_eq(password.as_bytes());
            if bool::from(name & pass) {
                found = Some(account.user.clone());
            }
        }
        Ok(found)
    }
}
