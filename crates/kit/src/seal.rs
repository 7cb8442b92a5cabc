//! Secrets at rest (stream keys, webhook signing secrets): AES-256-GCM with a random nonce per
//! secret, the owning row's id as associated data (a ciphertext copied onto another row does not
//! open), and the id of the key that sealed it stored beside it, so keys can be rotated: the
//! first configured key seals, every configured key opens.
use base64::Engine;
use ring::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    rand::{SecureRandom, SystemRandom},
};

/// A secret sealed for storage.
#[derive(Debug, Clone)]
pub struct Sealed {
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

pub struct KeyRing {
    /// In order: the first seals.
    keys: Vec<(String, LessSafeKey)>,
    rng: SystemRandom,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        write!(f, "KeyRing({ids:?})")
    }
}

impl KeyRing {
    /// Parses `id:base64,id:base64,…` (32-byte keys).
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut keys = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (id, b64) = part.split_once(':').ok_or_else(|| "each key is id:base64".to_owned())?;
            if id.is_empty() || id.len() > 32 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(format!("key id {id:?} must be 1–32 letters, digits, - or _"));
            }
            let bytes = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| format!("key {id} is not base64"))?;
            let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| format!("key {id} must be 32 bytes"))?;
            if keys.iter().any(|(k, _)| k == id) {
                return Err(format!("key id {id} is given twice"));
            }
            keys.push((id.to_owned(), LessSafeKey::new(key)));
        }
        if keys.is_empty() {
            return Err("no key given".into());
        }
        Ok(Self { keys, rng: SystemRandom::new() })
    }

    pub fn seal(&self, plaintext: &str, aad: &[u8]) -> Result<Sealed, String> {
        let (id, key) = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| "no randomness".to_owned())?;
        let mut data = plaintext.as_bytes().to_vec();
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut data)
            .map_err(|_| "sealing failed".to_owned())?;
        Ok(Sealed { key_id: id.clone(), nonce: nonce.to_vec(), ciphertext: data })
    }

    pub fn open(&self, sealed: &Sealed, aad: &[u8]) -> Result<String, String> {
        let (_, key) = self
            .keys
            .iter()
            .find(|(id, _)| *id == sealed.key_id)
            .ok_or_else(|| format!("the key {} that sealed this stream key is no longer configured", sealed.key_id))?;
        let nonce = Nonce::try_assume_unique_for_key(&sealed.nonce).map_err(|_| "bad nonce".to_owned())?;
        let mut data = sealed.ciphertext.clone();
        let plain = key.open_in_place(nonce, Aad::from(aad), &mut data).map_err(|_| "the stream key does not open".to_owned())?;
        String::from_utf8(plain.to_vec()).map_err(|_| "the stream key is not text".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(spec: &str) -> KeyRing {
        KeyRing::parse(spec).expect("valid keys")
    }

    const K1: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const K2: &str = "k2:HxwdHhobGBkWFxQVEhMQEQ4PDA0KCwgJBgcEBQIDAAE=";

    #[test]
    fn a_sealed_key_opens_with_its_row_id_and_not_with_another() {
        let r = ring(K1);
        let s = r.seal("live_abc123", b"row-1").unwrap();
        assert!(!s.ciphertext.windows(6).any(|w| w == b"abc123"), "no plaintext in the ciphertext");
        assert_eq!(r.open(&s, b"row-1").unwrap(), "live_abc123");
        assert!(r.open(&s, b"row-2").is_err());
        let again = r.seal("live_abc123", b"row-1").unwrap();
        assert_ne!(again.nonce, s.nonce, "a fresh nonce every time");
    }

    #[test]
    fn after_a_rotation_old_keys_still_open_and_new_ones_seal_with_the_new_key() {
        let old = ring(K1).seal("key-one", b"d").unwrap();
        let rotated = ring(&format!("{K2},{K1}"));
        assert_eq!(rotated.open(&old, b"d").unwrap(), "key-one");
        assert_eq!(rotated.seal("key-two", b"d").unwrap().key_id, "k2");
        assert!(ring(K2).open(&old, b"d").unwrap_err().contains("no longer configured"));
    }

    #[test]
    fn malformed_key_lists_are_refused_with_the_reason() {
        assert!(KeyRing::parse("").is_err());
        assert!(KeyRing::parse("k1").unwrap_err().contains("id:base64"));
        assert!(KeyRing::parse("k1:AAEC").unwrap_err().contains("32 bytes"));
        assert!(KeyRing::parse(&format!("{K1},{K1}")).unwrap_err().contains("twice"));
        assert!(!format!("{:?}", ring(K1)).contains("AAEC"), "keys never printed");
    }
}
