//! The secret that keys anonymisation and the hashing of host names: 32 bytes,
//! as Crypto-PAn's reference implementation takes (16 for AES-128, 16 for the
//! pad), kept in a file as 64 hexadecimal digits (or as the 32 bytes themselves).

use std::fmt;
use std::path::{Path, PathBuf};

use aes::Aes128;
use aes::cipher::KeyInit;
use rand::Rng;

/// A 32-byte key.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret([u8; 32]);

/// Why a key file could not be used.
#[derive(Debug)]
pub enum KeyError {
    Read(PathBuf, std::io::Error),
    /// Neither 32 bytes nor 64 hexadecimal digits; the column of the first bad
    /// character when the file is text.
    Form(PathBuf, Option<(usize, usize)>),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        const FORM: &str = "expected a key of 64 hexadecimal digits (as `lbsim anonymize` prints one) or of 32 bytes";
        match self {
            KeyError::Read(p, e) => write!(f, "{}: cannot read the key file: {e}", p.display()),
            KeyError::Form(p, Some((line, column))) => write!(f, "{}:{line}:{column}: {FORM}", p.display()),
            KeyError::Form(p, None) => write!(f, "{}: {FORM}", p.display()),
        }
    }
}

impl std::error::Error for KeyError {}

impl fmt::Debug for Secret {
    /// Never shows the key.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    pub const fn new(bytes: [u8; 32]) -> Secret {
        Secret(bytes)
    }

    /// A fresh key from the operating system's random source (through rand's
    /// thread generator, a ChaCha stream seeded and reseeded from it).
    pub fn generate() -> Secret {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Secret(bytes)
    }

    /// Reads a key file: 64 hexadecimal digits, surrounding white space ignored,
    /// or exactly 32 bytes.
    pub fn read(path: &Path) -> Result<Secret, KeyError> {
        let bytes = std::fs::read(path).map_err(|e| KeyError::Read(path.to_path_buf(), e))?;
        Secret::parse(&bytes).map_err(|at| KeyError::Form(path.to_path_buf(), at))
    }

    /// A key from a key file's bytes; on failure, the line and column of the first
    /// character that is not a hexadecimal digit, when there is one.
    fn parse(bytes: &[u8]) -> Result<Secret, Option<(usize, usize)>> {
        let text = bytes.trim_ascii();
        if let Some(bad) = text.iter().position(|c| !c.is_ascii_hexdigit()) {
            if let Ok(raw) = <[u8; 32]>::try_from(bytes) {
                return Ok(Secret(raw));
            }
            let lead = bytes.len() - bytes.trim_ascii_start().len();
            let before = &bytes[..lead + bad];
            let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
            let column = before.len() - before.iter().rposition(|&c| c == b'\n').map_or(0, |n| n + 1) + 1;
            return Err(Some((line, column)));
        }
        if text.len() != 64 {
            return <[u8; 32]>::try_from(bytes).map(Secret).map_err(|_| None);
        }
        let mut key = [0u8; 32];
        for (k, pair) in key.iter_mut().zip(text.chunks(2)) {
            let digit = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            *k = digit(pair[0]) << 4 | digit(pair[1]);
        }
        Ok(Secret(key))
    }

    /// The key as a key file holds it: 64 lower-case hexadecimal digits.
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// AES-128 keyed with the first 16 bytes.
    pub fn cipher(&self) -> Aes128 {
        Aes128::new(self.0[..16].into())
    }

    /// The last 16 bytes, from which Crypto-PAn makes its pad.
    pub fn pad_seed(&self) -> [u8; 16] {
        self.0[16..].try_into().expect("16 bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_raw_bytes_read() {
        let k = Secret::generate();
        assert_ne!(k, Secret::generate());
        assert_eq!(Secret::parse(format!("  {}\n", k.hex()).as_bytes()), Ok(k.clone()));
        assert_eq!(Secret::parse(&k.0), Ok(k.clone()));
        assert_eq!(Secret::parse(k.hex().to_uppercase().as_bytes()), Ok(k));
    }

    #[test]
    fn a_bad_key_is_located() {
        let digits = "0123456789abcdef".repeat(4);
        assert_eq!(Secret::parse(&digits.as_bytes()[..62]), Err(None));
        let typo = format!("\n {}g{}\n", &digits[..10], &digits[11..]);
        assert_eq!(Secret::parse(typo.as_bytes()), Err(Some((2, 12))));
        assert!(format!("{:?}", Secret::generate()) == "Secret(..)");
    }
}
