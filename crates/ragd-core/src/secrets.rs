//! Secrets at rest: credentials (`auth`), webhook signing secrets and OAuth tokens are sealed with
//! AES-256-GCM before they reach the store, bound to what they belong to (the associated data), and
//! opened only where they are used. The key comes from the configuration or a key file.

use crate::error::{Error, Result};
use aes_gcm::aead::{Aead, AeadCore, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};

/// Format version of a sealed value: `1 || nonce (12) || ciphertext with tag`.
const VERSION: u8 = 1;
const NONCE: usize = 12;

/// Seals and opens secrets with one 256-bit key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: <Aes256Gcm as aes_gcm::KeyInit>::new(&Key::<Aes256Gcm>::from(*key)),
        }
    }

    /// Encrypts `plain`, binding it to `context` (e.g. the asset id): opening it under another
    /// context fails, so a sealed value copied to another row is useless.
    pub fn seal(&self, plain: &[u8], context: &[u8]) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain,
                    aad: context,
                },
            )
            .expect("AES-GCM encryption of a bounded input");
        let mut out = Vec::with_capacity(1 + NONCE + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        let unreadable =
            || Error::internal("a stored secret cannot be decrypted (was the secret key changed?)");
        if sealed.len() < 1 + NONCE || sealed[0] != VERSION {
            return Err(unreadable());
        }
        let nonce: [u8; NONCE] = sealed[1..1 + NONCE].try_into().map_err(|_| unreadable())?;
        let nonce = Nonce::from(nonce);
        self.cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: &sealed[1 + NONCE..],
                    aad: context,
                },
            )
            .map_err(|_| unreadable())
    }

    /// Seals a JSON value.
    pub fn seal_json<T: serde::Serialize>(&self, value: &T, context: &[u8]) -> Vec<u8> {
        self.seal(
            &serde_json::to_vec(value).expect("serialisable secret"),
            context,
        )
    }

    pub fn open_json<T: serde::de::DeserializeOwned>(
        &self,
        sealed: &[u8],
        context: &[u8],
    ) -> Result<T> {
        let plain = self.open(sealed, context)?;
        serde_json::from_slice(&plain)
            .map_err(|_| Error::internal("a stored secret is not valid JSON"))
    }
}

/// A random secret of 32 bytes as 64 hex characters, with a prefix naming what it is.
pub fn random_token(prefix: &str) -> String {
    format!("{prefix}{}", hex::encode(rand::random::<[u8; 32]>()))
}

/// Checks `X-Hub-Signature-256`-style signatures (`sha256=<hex of HMAC-SHA256(secret, body)>`)
/// in constant time.
pub fn verify_signature(secret: &[u8], body: &[u8], header: &str) -> bool {
    use hmac::Mac;
    let Some(given) = header
        .trim()
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
    else {
        return false;
    };
    mac(secret, body).verify_slice(&given).is_ok()
}

/// The signature header value for `body` (what a sender computes; the tests use it).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    use hmac::Mac;
    format!(
        "sha256={}",
        hex::encode(mac(secret, body).finalize().into_bytes())
    )
}

fn mac(secret: &[u8], body: &[u8]) -> hmac::Hmac<sha2::Sha256> {
    use hmac::Mac;
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(secret)
        .expect("HMAC takes any key length");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let a = SecretBox::new(&[7; 32]);
        let sealed = a.seal(b"hunter2", b"asset-1");
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(a.open(&sealed, b"asset-1").unwrap(), b"hunter2");
        assert!(a.open(&sealed, b"asset-2").is_err());
        assert!(SecretBox::new(&[8; 32]).open(&sealed, b"asset-1").is_err());
        assert_ne!(
            a.seal(b"hunter2", b"asset-1"),
            sealed,
            "a fresh nonce every time"
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(a.open(&tampered, b"asset-1").is_err());
    }

    #[test]
    fn signatures_verify_and_reject() {
        let sig = sign(b"secret", b"{\"a\":1}");
        assert!(verify_signature(b"secret", b"{\"a\":1}", &sig));
        assert!(!verify_signature(b"secret", b"{\"a\":2}", &sig));
        assert!(!verify_signature(b"other", b"{\"a\":1}", &sig));
        assert!(!verify_signature(b"secret", b"{\"a\":1}", "sha256=zz"));
        assert!(!verify_signature(b"secret", b"{\"a\":1}", &sig[7..]));
    }
}
