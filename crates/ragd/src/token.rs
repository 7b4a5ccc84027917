//! Minting development tokens (`ragd token`), signed with the embedded default's HS256 secret.

pub use ragd_api::auth::mint;
