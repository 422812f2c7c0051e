// The README's examples use both stores; with one feature off, a short summary stands in.
#![cfg_attr(all(feature = "sqlite", feature = "postgres"), doc = include_str!("../README.md"))]
#![cfg_attr(
    not(all(feature = "sqlite", feature = "postgres")),
    doc = "Store backends for the `mfa` facade on sqlx: SQLite (feature `sqlite`) and PostgreSQL \
           (feature `postgres`). The crate docs with both features on say more."
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod rows;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod store_impl;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod any;
#[cfg(feature = "sqlite")]
mod group_commit;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use any::{AnyStore, ConnectError};
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::PgStore;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::{SQLITE_BUSY_TIMEOUT, SqliteStore};

/// sqlx, as this crate uses it (for [`SqliteStore::from_pool`] and [`PgStore::from_pool`]).
pub use sqlx;
