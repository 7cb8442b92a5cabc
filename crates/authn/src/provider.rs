//! jsonwebtoken's aws-lc provider, with Ed25519 key pairs parsed once per key instead of once
//! per token.
//!
//! Why: jsonwebtoken's `encode` asks its provider for a signer on every call, and the stock
//! aws-lc provider builds that signer by parsing the PKCS#8 document and deriving the public key
//! again, a scalar multiplication that costs about as much as half a signature. Minting media
//! tokens is on every join (target: ≥ 80% of the bare signing rate, docs/benchmarks.md), so the
//! provider keeps the parsed pair for each key it has seen. Everything else (verification, other
//! algorithms, JWK helpers) is the stock aws-lc provider's.

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, OnceLock, RwLock},
};

use aws_lc_rs::signature::Ed25519KeyPair;
use jsonwebtoken::{
    Algorithm, EncodingKey,
    crypto::{CryptoProvider, JwtSigner, aws_lc::DEFAULT_PROVIDER},
    errors::{ErrorKind, Result},
};

/// A process signs with one key, two while keys rotate; tests make many. Past this many the
/// cache starts again rather than grow.
const MAX_KEYS: usize = 32;

static KEY_PAIRS: LazyLock<RwLock<HashMap<Vec<u8>, Arc<Ed25519KeyPair>>>> = LazyLock::new(Default::default);

static PROVIDER: OnceLock<CryptoProvider> = OnceLock::new();

/// Makes this the process's jsonwebtoken provider. Idempotent. Only this crate uses jsonwebtoken,
/// and it calls this before any token is signed or verified, so the install cannot lose a race
/// to the stock default; if it ever did, tokens would still be correct, only slower to sign.
pub(crate) fn install() {
    let provider = PROVIDER.get_or_init(|| CryptoProvider {
        signer_factory: signer,
        verifier_factory: DEFAULT_PROVIDER.verifier_factory,
        key_utils: DEFAULT_PROVIDER.key_utils.clone(),
    });
    let _ = provider.install_default();
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    if *algorithm != Algorithm::EdDSA {
        return (DEFAULT_PROVIDER.signer_factory)(algorithm, key);
    }
    let der = key.as_bytes();
    let cached = KEY_PAIRS.read().unwrap_or_else(|e| e.into_inner()).get(der).cloned();
    let pair = match cached {
        Some(pair) => pair,
        None => {
            let pair = Arc::new(Ed25519KeyPair::from_pkcs8(der).map_err(|_| ErrorKind::InvalidEddsaKey)?);
            let mut pairs = KEY_PAIRS.write().unwrap_or_else(|e| e.into_inner());
            if pairs.len() >= MAX_KEYS {
                pairs.clear();
            }
            pairs.insert(der.to_vec(), pair.clone());
            pair
        }
    };
    Ok(Box::new(CachedEd25519(pair)))
}

struct CachedEd25519(Arc<Ed25519KeyPair>);

impl signature::Signer<Vec<u8>> for CachedEd25519 {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        Ok(self.0.sign(msg).as_ref().to_vec())
    }
}

impl JwtSigner for CachedEd25519 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cached_signer_signs_as_the_stock_provider_does() {
        install();
        let pair = Ed25519KeyPair::from_seed_unchecked(&[9u8; 32]).unwrap();
        let key = EncodingKey::from_ed_der(pair.to_pkcs8().unwrap().as_ref());
        let ours = signer(&Algorithm::EdDSA, &key).unwrap();
        let stock = (DEFAULT_PROVIDER.signer_factory)(&Algorithm::EdDSA, &key).unwrap();
        for msg in [&b""[..], b"header.payload", &[7u8; 600]] {
            assert_eq!(ours.try_sign(msg).unwrap(), stock.try_sign(msg).unwrap());
        }
    }

    #[test]
    fn a_key_that_is_not_ed25519_is_refused_not_cached() {
        let key = EncodingKey::from_ed_der(b"not a PKCS#8 document");
        assert!(signer(&Algorithm::EdDSA, &key).is_err());
        assert!(!KEY_PAIRS.read().unwrap().contains_key(&b"not a PKCS#8 document"[..]));
    }
}
