//! MTProto 2.0's encrypted envelope as the server sees it: the auth key and
//! its id, `msg_key`, the AES-IGE key derivation for both directions, and
//! the server's message ids.
//!
//! grammers-crypto implements only the client's half (it encrypts what a
//! client sends and decrypts what a server sends) and keeps the key
//! derivation private, so the two server-side functions are written here,
//! small, and tested against grammers' client half: what grammers encrypts
//! we decrypt, and what we encrypt grammers decrypts.

use sha1::Digest as _;
use sha2::Sha256;

/// `x` in the spec's key derivation: 0 for client → server, 8 back.
const FROM_CLIENT: usize = 0;
const FROM_SERVER: usize = 8;

/// A permanent authorization key agreed in advance with a test session.
#[derive(Clone)]
pub struct ServerKey {
    data: [u8; 256],
    id: [u8; 8],
}

impl std::fmt::Debug for ServerKey {
    // The key is a credential of the test session: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServerKey(id {:016x})", u64::from_le_bytes(self.id))
    }
}

impl ServerKey {
    pub fn new(data: [u8; 256]) -> ServerKey {
        // auth_key_id = the 64 lower-order bits of SHA1(auth_key).
        let sha = sha1::Sha1::digest(data);
        let mut id = [0; 8];
        id.copy_from_slice(&sha[12..20]);
        ServerKey { data, id }
    }

    pub fn id(&self) -> u64 {
        u64::from_le_bytes(self.id)
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("encrypted packet of {0} bytes is not 24 + a multiple of 16")]
    Length(usize),
    #[error("packet is for another auth key")]
    WrongKey,
    #[error("msg_key does not match the plaintext")]
    MsgKey,
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = <Sha256 as sha2::Digest>::new();
    for part in parts {
        sha2::Digest::update(&mut hasher, part);
    }
    sha2::Digest::finalize(hasher).into()
}

/// aes_key and aes_iv from the auth key and msg_key (MTProto 2.0).
fn derive(key: &ServerKey, msg_key: &[u8; 16], x: usize) -> ([u8; 32], [u8; 32]) {
    let a = sha256(&[msg_key, &key.data[x..x + 36]]);
    let b = sha256(&[&key.data[40 + x..40 + x + 36], msg_key]);
    let mut aes_key = [0; 32];
    aes_key[..8].copy_from_slice(&a[..8]);
    aes_key[8..24].copy_from_slice(&b[8..24]);
    aes_key[24..].copy_from_slice(&a[24..]);
    let mut aes_iv = [0; 32];
    aes_iv[..8].copy_from_slice(&b[..8]);
    aes_iv[8..24].copy_from_slice(&a[8..24]);
    aes_iv[24..].copy_from_slice(&b[24..]);
    (aes_key, aes_iv)
}

fn msg_key(key: &ServerKey, plaintext: &[u8], x: usize) -> [u8; 16] {
    let large = sha256(&[&key.data[88 + x..88 + x + 32], plaintext]);
    let mut out = [0; 16];
    out.copy_from_slice(&large[8..24]);
    out
}

/// The auth key id a packet is addressed to (its first 8 bytes); 0 is the
/// unencrypted key exchange.
pub fn key_id_of(packet: &[u8]) -> Option<u64> {
    packet
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
}

/// Decrypt what a client sent, checking msg_key against the plaintext.
pub fn open(key: &ServerKey, packet: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    if packet.len() < 24 || !(packet.len() - 24).is_multiple_of(16) {
        return Err(EnvelopeError::Length(packet.len()));
    }
    if packet[..8] != key.id {
        return Err(EnvelopeError::WrongKey);
    }
    let mut got = [0; 16];
    got.copy_from_slice(&packet[8..24]);
    let (aes_key, aes_iv) = derive(key, &got, FROM_CLIENT);
    let mut plaintext = packet[24..].to_vec();
    grammers_crypto::aes::ige_decrypt(&mut plaintext, &aes_key, &aes_iv);
    if msg_key(key, &plaintext, FROM_CLIENT) != got {
        return Err(EnvelopeError::MsgKey);
    }
    Ok(plaintext)
}

/// Encrypt a plaintext for the client: pad with 12–1024 random bytes to a
/// multiple of 16 (MTProto 2.0), prefix key id and msg_key.
pub fn seal(key: &ServerKey, plaintext: &[u8]) -> Vec<u8> {
    let mut padded = plaintext.to_vec();
    // At least 12 bytes of padding, ending on a 16-byte boundary.
    let padding = 12 + (16 - (plaintext.len() + 12) % 16) % 16;
    let mut random = vec![0u8; padding];
    rand::fill(&mut random[..]);
    padded.extend_from_slice(&random);
    let key_of_msg = msg_key(key, &padded, FROM_SERVER);
    let (aes_key, aes_iv) = derive(key, &key_of_msg, FROM_SERVER);
    grammers_crypto::aes::ige_encrypt(&mut padded, &aes_key, &aes_iv);
    let mut packet = Vec::with_capacity(24 + padded.len());
    packet.extend_from_slice(&key.id);
    packet.extend_from_slice(&key_of_msg);
    packet.extend_from_slice(&padded);
    packet
}

/// Server message ids: unix time in the upper 32 bits, and ≡ 1 (mod 4) for
/// answers to a client's message, ≡ 3 for messages the server sends on its
/// own; strictly increasing per connection.
#[derive(Debug, Default)]
pub struct MsgIds {
    last: i64,
}

impl MsgIds {
    pub fn next(&mut self, response: bool) -> i64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let base = ((now.as_secs() as i64) << 32) | ((now.subsec_nanos() as i64) << 2);
        let want = if response { 1 } else { 3 };
        let mut id = (base & !3) | want;
        while id <= self.last {
            id += 4;
        }
        self.last = id;
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grammers_crypto::{AuthKey, DequeBuffer};

    fn key_bytes() -> [u8; 256] {
        std::array::from_fn(|i| (i * 7 + 3) as u8)
    }

    #[test]
    fn key_id_matches_what_grammers_puts_on_the_wire() {
        let key = ServerKey::new(key_bytes());
        let mut buffer = DequeBuffer::with_capacity(32, 32);
        buffer.extend([0u8; 32]);
        grammers_crypto::encrypt_data_v2(&mut buffer, &AuthKey::from_bytes(key_bytes()));
        assert_eq!(key_id_of(&buffer[..]), Some(key.id()));
    }

    #[test]
    fn opens_what_a_grammers_client_sealed() {
        let key = ServerKey::new(key_bytes());
        for len in [0usize, 4, 16, 28, 100, 1000] {
            let plaintext: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut buffer = DequeBuffer::with_capacity(len + 64, 32);
            buffer.extend(plaintext.iter().copied());
            grammers_crypto::encrypt_data_v2(&mut buffer, &AuthKey::from_bytes(key_bytes()));
            let opened = open(&key, &buffer[..]).expect("opens");
            assert_eq!(&opened[..len], &plaintext[..], "len {len}");
            assert!(opened.len() - len >= 12 && opened.len() - len <= 1024);
        }
    }

    #[test]
    fn grammers_opens_what_the_server_sealed() {
        let key = ServerKey::new(key_bytes());
        for len in [0usize, 4, 12, 16, 28, 100, 1000] {
            let plaintext: Vec<u8> = (0..len).map(|i| (i * 3) as u8).collect();
            let mut packet = seal(&key, &plaintext);
            let opened =
                grammers_crypto::decrypt_data_v2(&mut packet, &AuthKey::from_bytes(key_bytes()))
                    .expect("grammers opens it");
            assert_eq!(&opened[..len], &plaintext[..]);
            assert!((12..=1024).contains(&(opened.len() - len)));
            assert_eq!(opened.len() % 16, 0);
        }
    }

    #[test]
    fn tampering_and_other_keys_are_refused() {
        let key = ServerKey::new(key_bytes());
        let mut buffer = DequeBuffer::with_capacity(64, 32);
        buffer.extend([1u8; 32]);
        grammers_crypto::encrypt_data_v2(&mut buffer, &AuthKey::from_bytes(key_bytes()));
        let mut packet = buffer[..].to_vec();
        let last = packet.len() - 1;
        packet[last] ^= 1;
        assert_eq!(open(&key, &packet), Err(EnvelopeError::MsgKey));
        let other = ServerKey::new([9; 256]);
        assert_eq!(open(&other, &buffer[..]), Err(EnvelopeError::WrongKey));
        assert_eq!(open(&key, &packet[..30]), Err(EnvelopeError::Length(30)));
        // A server packet is not accepted as a client packet (x differs).
        let sealed = seal(&key, &[0; 32]);
        assert_eq!(open(&key, &sealed), Err(EnvelopeError::MsgKey));
    }

    #[test]
    fn message_ids_increase_with_the_right_remainder() {
        let mut ids = MsgIds::default();
        let mut last = 0;
        for i in 0..1000 {
            let id = ids.next(i % 2 == 0);
            assert!(id > last);
            assert_eq!(id.rem_euclid(4), if i % 2 == 0 { 1 } else { 3 });
            last = id;
        }
    }
}
