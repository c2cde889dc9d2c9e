//! The server half of Telegram's two-step verification (SRP-2048 as in
//! <https://core.telegram.org/api/srp>): what `account.getPassword` offers
//! and how `auth.checkPassword` is verified, without the password ever
//! crossing the wire.
//!
//! grammers has the client half (`grammers_crypto::two_factor_auth::
//! calculate_2fa`) and keeps the password hash `PH2` private, so PH2 is
//! written here, small, on the same crates (pbkdf2, hmac, sha2), and the
//! tests check the whole exchange against grammers' client half.

use hmac::Hmac;
use num_bigint::BigUint;
use sha2_011::{Digest, Sha256, Sha512};

/// A 2048-bit safe prime with generator 2 (`p mod 8 = 7`), as Telegram's
/// clients check (`grammers_crypto::two_factor_auth::check_p_and_g`).
/// Generated once with `openssl dhparam -2 2048`.
const P_HEX: [&str; 8] = [
    "f7a60965bbefb7150d0424cf3074a1253a1ba87b4e018a6610d4cd488040a7c5",
    "376f7c01a5fd4f656f113860f590a5c80451107118d33f8142caae02925660e2",
    "9c73de4052935130cca8954538eee6dc406a0b5a0e4339d09cdc918d11291550",
    "62ff2f451fb18e9a4aa7f6604e8994402cb29932e061bcede750638cc46da032",
    "00e6a4bfb8b418835e58d98d664e716bde8feab4c8ee1bd21cf2f23a529114a6",
    "7836f0f279fd2096d10b59d35d6aac4a35522fcdea2ce78d7e4cb6ff821b11ea",
    "df13f364b362d050bd915d29bbe3ad13b9dac603048a33074f976c9e914b2932",
    "1e3462280957d4e2d2194752278711c9e5208f0c41611030b2f7542d7e99dbd7",
];
pub const G: u32 = 2;

/// The prime's 256 bytes.
pub fn p() -> Vec<u8> {
    let hex: String = P_HEX.concat();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("the constant is hex"))
        .collect()
}

fn h(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

fn sh(data: &[u8], salt: &[u8]) -> [u8; 32] {
    h(&[salt, data, salt])
}

/// PH2(password, salt1, salt2) := SH(pbkdf2(sha512, PH1, salt1, 100000), salt2),
/// PH1 := SH(SH(password, salt1), salt2).
pub fn ph2(password: &[u8], salt1: &[u8], salt2: &[u8]) -> [u8; 32] {
    let ph1 = sh(&sh(password, salt1), salt2);
    let mut dk = [0u8; 64];
    pbkdf2::pbkdf2::<Hmac<Sha512>>(&ph1, salt1, 100_000, &mut dk)
        .expect("HMAC takes a key of any length");
    sh(&dk, salt2)
}

fn pad256(n: &BigUint) -> [u8; 256] {
    let bytes = n.to_bytes_be();
    let mut out = [0u8; 256];
    let n = bytes.len().min(256);
    out[256 - n..].copy_from_slice(&bytes[bytes.len() - n..]);
    out
}

/// What the server keeps between offering a challenge and checking it.
#[derive(Clone, Debug)]
pub struct Challenge {
    pub salt1: Vec<u8>,
    pub salt2: Vec<u8>,
    /// The password verifier v = g^x mod p.
    v: BigUint,
    b: BigUint,
    /// g_b = (k·v + g^b) mod p, sent as `srp_B`.
    pub g_b: [u8; 256],
}

impl Challenge {
    /// A challenge for `password` with these salts and the secret `b`
    /// (256 random bytes).
    pub fn new(password: &[u8], salt1: &[u8], salt2: &[u8], b: &[u8]) -> Challenge {
        let p_bytes = p();
        let p = BigUint::from_bytes_be(&p_bytes);
        let g = BigUint::from(G);
        let x = BigUint::from_bytes_be(&ph2(password, salt1, salt2));
        let v = g.modpow(&x, &p);
        let k = BigUint::from_bytes_be(&h(&[&p_bytes, &pad256(&g)]));
        let b = BigUint::from_bytes_be(b);
        let g_b = (k * &v + g.modpow(&b, &p)) % &p;
        Challenge {
            salt1: salt1.to_vec(),
            salt2: salt2.to_vec(),
            v,
            b,
            g_b: pad256(&g_b),
        }
    }

    /// Whether the client's `A` and `M1` prove it knows the password.
    pub fn verify(&self, g_a: &[u8], m1: &[u8]) -> bool {
        let p_bytes = p();
        let p = BigUint::from_bytes_be(&p_bytes);
        let a = BigUint::from_bytes_be(g_a);
        // A must be in (1, p-1): 0, 1 and p-1 would let a client prove
        // nothing.
        if g_a.len() > 256 || a <= BigUint::from(1u8) || a >= &p - 1u8 {
            return false;
        }
        let a_bytes = pad256(&a);
        let u = BigUint::from_bytes_be(&h(&[&a_bytes, &self.g_b]));
        let s = (a * self.v.modpow(&u, &p)).modpow(&self.b, &p);
        let k_a = h(&[&pad256(&s)]);
        let h_p = h(&[&p_bytes]);
        let h_g = h(&[&pad256(&BigUint::from(G))]);
        let xor: Vec<u8> = h_p.iter().zip(h_g).map(|(a, b)| a ^ b).collect();
        let expected = h(&[
            &xor,
            &h(&[&self.salt1]),
            &h(&[&self.salt2]),
            &a_bytes,
            &self.g_b,
            &k_a,
        ]);
        // Compared whole; the sandbox is no timing oracle worth guarding.
        expected.as_slice() == m1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grammers_crypto::two_factor_auth::{calculate_2fa, check_p_and_g};

    fn exchange(stored: &str, typed: &str) -> bool {
        let (salt1, salt2) = (b"salt-one-16bytes".to_vec(), b"salt-two-16bytes".to_vec());
        let b: Vec<u8> = (0..256).map(|i| (i * 7 + 3) as u8).collect();
        let challenge = Challenge::new(stored.as_bytes(), &salt1, &salt2, &b);
        let a: Vec<u8> = (0..256).map(|i| (i * 13 + 1) as u8).collect();
        let (m1, g_a) = calculate_2fa(
            &salt1,
            &salt2,
            &p(),
            &(G as i32),
            challenge.g_b.to_vec(),
            a,
            typed.as_bytes(),
        );
        challenge.verify(&g_a, &m1)
    }

    #[test]
    fn the_prime_passes_the_clients_checks() {
        assert!(check_p_and_g(&p(), &(G as i32)));
    }

    #[test]
    fn grammers_client_half_proves_the_right_password_and_only_it() {
        assert!(exchange("correct horse", "correct horse"));
        assert!(!exchange("correct horse", "correct hors"));
        assert!(!exchange("correct horse", ""));
    }

    #[test]
    fn degenerate_a_is_refused() {
        let challenge = Challenge::new(b"pw", b"s1", b"s2", &[9u8; 256]);
        assert!(!challenge.verify(&[0], &[0u8; 32]));
        assert!(!challenge.verify(&[1], &[0u8; 32]));
        assert!(!challenge.verify(&p(), &[0u8; 32]));
    }
}
