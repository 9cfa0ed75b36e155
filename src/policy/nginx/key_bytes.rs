//! A client's key as the bytes nginx hashes: the text its variables print
//! (`$remote_addr`, `$remote_addr:$remote_port`) or the address's own bytes
//! (`$binary_remote_addr`), written on the stack. Plain `hash` and the ketama
//! ring both hash these.

use crate::policy::{Addr, Client, Key, KeyText};

/// A key's text as nginx's variables print it (`$remote_addr`, `$remote_addr:$remote_port`),
/// written on the stack. Every form equals [`Key::text`] except one: nginx writes an
/// IPv4-compatible IPv6 address (`::a.b.c.d`, deprecated by RFC 4291) in dotted form
/// where Rust writes hex.
#[derive(Default)]
pub struct KeyBytes {
    text: KeyText,
    /// Long enough for "::255.255.255.255:65535".
    bytes: [u8; 32],
    len: usize,
}

impl KeyBytes {
    pub fn of(&mut self, key: Key, client: &Client) -> &[u8] {
        let addr = match key {
            Key::Source | Key::SourcePort => client.addr,
            Key::Prefix => client.addr.prefix(),
            Key::Session => return key.text(client, &mut self.text),
        };
        if !ipv4_compatible(addr) {
            // Every other address prints as nginx's ngx_inet6_ntop prints it.
            return key.text(client, &mut self.text);
        }
        self.len = 0;
        self.push(b"::");
        self.dotted(&addr.octets()[12..]);
        if key == Key::SourcePort {
            self.push(b":");
            self.push(decimal(client.port as u32, &mut [0; 10]));
        }
        &self.bytes[..self.len]
    }

    /// The bytes hashed: the key's text, or with `binary` the address's own bytes
    /// (`$binary_remote_addr`: 4 for IPv4, 16 for IPv6).
    pub fn hashed(&mut self, key: Key, binary: bool, client: &Client) -> &[u8] {
        if !binary {
            return self.of(key, client);
        }
        let octets = client.addr.octets();
        self.len = 0;
        self.push(if client.addr.is_v4() { &octets[12..] } else { &octets });
        &self.bytes[..self.len]
    }

    fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.bytes[self.len] = b;
            self.len += 1;
        }
    }

    fn dotted(&mut self, octets: &[u8]) {
        for (i, &o) in octets.iter().enumerate() {
            if i > 0 {
                self.push(b".");
            }
            if o >= 100 {
                self.push(&[b'0' + o / 100]);
            }
            if o >= 10 {
                self.push(&[b'0' + o / 10 % 10]);
            }
            self.push(&[b'0' + o % 10]);
        }
    }
}

/// `n` in decimal, written at the end of `buf`.
pub fn decimal(mut n: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

/// Whether nginx's `ngx_inet6_ntop` prints this IPv6 address as "::" and a dotted
/// quad: the first 96 bits zero and the address not `::` itself, except that
/// `::0.0.0.1` and the like (bits 96..112 zero, and the last byte 1 or the byte
/// before it zero) stay hex.
pub fn ipv4_compatible(addr: Addr) -> bool {
    if addr.is_v4() || addr.0 >> 32 != 0 {
        return false;
    }
    let b = addr.octets();
    let word6 = u16::from_be_bytes([b[12], b[13]]);
    let word7 = u16::from_be_bytes([b[14], b[15]]);
    word6 != 0 || (word7 != 0 && b[14] != 0 && b[15] != 1)
}
