//! DEMO ONLY: the host's users and their passwords. A real service keeps argon2id hashes in its
//! users table; mfa-kit never sees a password. Here, accounts in memory (three demo accounts at
//! start; tests and the load benchmark add their own) whose passwords are compared in constant time.

use std::collections::HashMap;
use std::sync::RwLock;

use mfa::{MfaState, UserId};
use mfa_axum::PasswordCheck;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// An account, as pages see it (no password).
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub(crate) username: String,
    pub(crate) user: UserId,
    pub(crate) admin: bool,
}

#[derive(Debug)]
struct Entry {
    account: Account,
    password: Zeroizing<String>,
}

/// The host's users table, by user name.
#[derive(Debug, Default)]
pub(crate) struct Accounts(RwLock<Table>);

#[derive(Debug, Default)]
struct Table {
    by_name: HashMap<String, Entry>,
    /// The user name of each user id: pages look the signed-in user up on every request, and a scan
    /// of the whole table showed under load (benches/web_load.rs, with thousands of accounts).
    names: HashMap<UserId, String>,
}

impl Table {
    fn by_user(&self, user: &UserId) -> Option<&Entry> {
        self.by_name.get(self.names.get(user)?)
    }
}

/// The demo accounts made at start: user name, password, administrator, MFA state.
pub(crate) const DEMO: [(&str, &str, bool, MfaState); 3] = [
    ("alice", "alice-demo-password", false, MfaState::Enforced),
    ("bob", "bob-demo-password", false, MfaState::Disabled),
    ("admin", "admin-demo-password", true, MfaState::Enabled),
];

impl Accounts {
    /// Adds an account whose user id is `user-NAME`; refuses a name already taken.
    pub(crate) fn add(&self, username: &str, password: &str, admin: bool) -> Result<Account, String> {
        let user = UserId::new(&format!("user-{username}")).map_err(|e| e.to_string())?;
        let account = Account {
            username: username.to_owned(),
            user,
            admin,
        };
        let mut table = self.0.write().map_err(|_| "the accounts table is poisoned")?;
        if table.by_name.contains_key(username) {
            return Err(format!("the user name {username:?} is taken"));
        }
        table.names.insert(account.user.clone(), username.to_owned());
        table.by_name.insert(
            username.to_owned(),
            Entry {
                account: account.clone(),
                password: Zeroizing::new(password.to_owned()),
            },
        );
        Ok(account)
    }

    /// Every account, by user name.
    pub(crate) fn all(&self) -> Vec<Account> {
        let Ok(table) = self.0.read() else {
            return Vec::new();
        };
        let mut all: Vec<Account> = table.by_name.values().map(|e| e.account.clone()).collect();
        all.sort_by(|a, b| a.username.cmp(&b.username));
        all
    }

    pub(crate) fn by_name(&self, username: &str) -> Option<Account> {
        self.0
            .read()
            .ok()?
            .by_name
            .get(username)
            .map(|e| e.account.clone())
    }

    pub(crate) fn by_user(&self, user: &UserId) -> Option<Account> {
        self.0.read().ok()?.by_user(user).map(|e| e.account.clone())
    }

    /// Whether `password` is the password of `user` (compared in constant time).
    pub(crate) fn password_is(&self, user: &UserId, password: &str) -> bool {
        let Ok(table) = self.0.read() else {
            return false;
        };
        table
            .by_user(user)
            .is_some_and(|e| bool::from(e.password.as_bytes().ct_eq(password.as_bytes())))
    }

    /// Sets the password of `user` when `current` is its password now; says whether it did.
    pub(crate) fn change_password(&self, user: &UserId, current: &str, new: &str) -> bool {
        let Ok(mut table) = self.0.write() else {
            return false;
        };
        let table = &mut *table;
        match table.names.get(user).and_then(|name| table.by_name.get_mut(name)) {
            Some(entry) if bool::from(entry.password.as_bytes().ct_eq(current.as_bytes())) => {
                entry.password = Zeroizing::new(new.to_owned());
                true
            }
            _ => false,
        }
    }
}

impl PasswordCheck for Accounts {
    type Error = std::convert::Infallible;

    async fn check(&self, username: &str, password: &str) -> Result<Option<UserId>, Self::Error> {
        let Ok(table) = self.0.read() else {
            return Ok(None);
        };
        // An unknown name is compared with a stand-in too, so the two answers take alike time.
        let (stored, user) = match table.by_name.get(username) {
            Some(entry) => (entry.password.as_bytes(), Some(&entry.account.user)),
            None => (&b"no such account: a stand-in password"[..], None),
        };
        let matches = bool::from(stored.ct_eq(password.as_bytes()));
        Ok(user.filter(|_| matches).cloned())
    }
}
