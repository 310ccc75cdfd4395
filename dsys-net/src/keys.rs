//! Node identities: every node and client of a cluster has its own static
//! X25519 key pair. The cluster file lists every member's [`PublicKey`];
//! each process holds only its own [`NodeKey`], in a key file readable by
//! its owner alone. The TCP handshake ([`crate::tcp::handshake`]) proves
//! that a peer holds the private key of the id it claims.
//!
//! A key file is one line of 64 hex digits (the 32-byte private key), after
//! optional `#` comment lines:
//!
//! ```
//! use dsys_net::keys::NodeKey;
//!
//! let key = NodeKey::generate();
//! let text = key.to_file_text();
//! let again = NodeKey::from_file_text(&text).unwrap();
//! assert_eq!(again.public(), key.public());
//! // The public key, as the cluster file writes it.
//! assert_eq!(key.public().to_string().len(), 64);
//! ```
//!
//! [`NodeKey::save`] writes a key file with mode 0600 (on Unix), and
//! [`NodeKey::load`] refuses one that others may read, as `ssh` does.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;

use snow::params::DHChoice;
use snow::resolvers::{CryptoResolver, DefaultResolver};

use crate::{Error, Result};

/// Bytes in a key, private or public.
pub const KEY_BYTES: usize = 32;

/// The shortest cluster secret accepted.
pub const SECRET_BYTES_MIN: usize = 16;

/// Checks a cluster secret's length, saying what to do about a short one.
pub fn check_secret(secret: &[u8]) -> std::result::Result<(), String> {
    if secret.len() < SECRET_BYTES_MIN {
        return Err(format!(
            "the secret has {} bytes, fewer than {SECRET_BYTES_MIN}: use a long random one (e.g. `openssl rand -hex 32`)",
            secret.len()
        ));
    }
    Ok(())
}

/// A node's public key: what the cluster file lists for every member.
/// `Display` and `FromStr` use 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey(pub [u8; KEY_BYTES]);

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", &hex(&self.0)[..16])
    }
}

impl FromStr for PublicKey {
    type Err = String;

    /// Parses 64 hex digits.
    fn from_str(text: &str) -> std::result::Result<PublicKey, String> {
        unhex(text.trim()).map(PublicKey)
    }
}

/// A peer: where it listens and the public key it must prove it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Its public key (from the cluster file).
    pub key: PublicKey,
}

/// A node's static key pair. `Debug` never shows the private half.
#[derive(Clone, PartialEq, Eq)]
pub struct NodeKey {
    private: [u8; KEY_BYTES],
    public: PublicKey,
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

fn curve25519() -> Box<dyn snow::types::Dh> {
    DefaultResolver
        .resolve_dh(&DHChoice::Curve25519)
        .expect("snow's default resolver has X25519")
}

impl NodeKey {
    /// A fresh key pair from the operating system's CSPRNG.
    pub fn generate() -> NodeKey {
        NodeKey::from_private(rand::random())
    }

    /// The key pair of a private key (any 32 bytes: X25519 clamps them).
    pub fn from_private(private: [u8; KEY_BYTES]) -> NodeKey {
        let mut dh = curve25519();
        dh.set(&private);
        let mut public = [0u8; KEY_BYTES];
        public.copy_from_slice(dh.pubkey());
        NodeKey {
            private,
            public: PublicKey(public),
        }
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        self.public
    }

    /// The private half (for the Noise handshake).
    pub(crate) fn private(&self) -> &[u8; KEY_BYTES] {
        &self.private
    }

    /// The X25519 shared secret with `peer`: the same on both sides.
    pub fn agree(&self, peer: &PublicKey) -> [u8; KEY_BYTES] {
        let mut dh = curve25519();
        dh.set(&self.private);
        let mut out = [0u8; KEY_BYTES];
        // X25519 over 32-byte keys into a 32-byte buffer cannot fail.
        let _ = dh.dh(&peer.0, &mut out);
        out
    }

    /// The key file's text: a comment naming the public key, then the
    /// private key in hex.
    pub fn to_file_text(&self) -> String {
        format!(
            "# dsys node key (X25519). Public key: {}\n# Keep this file secret (mode 0600).\n{}\n",
            self.public,
            hex(&self.private)
        )
    }

    /// Parses a key file's text.
    pub fn from_file_text(text: &str) -> std::result::Result<NodeKey, String> {
        let mut lines = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'));
        let Some(line) = lines.next() else {
            return Err("no key in it (expected a line of 64 hex digits)".into());
        };
        if lines.next().is_some() {
            return Err("more than one key line (expected one line of 64 hex digits)".into());
        }
        unhex(line).map(NodeKey::from_private)
    }

    /// Reads a key file, refusing one that group or others may read.
    pub fn load(path: impl AsRef<Path>) -> Result<NodeKey> {
        let path = path.as_ref();
        let fail = |problem: String| Error::KeyFile {
            path: path.display().to_string(),
            problem,
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            fail(format!(
                "cannot read it: {e} (create one with `dsys cluster keygen {}`)",
                path.display()
            ))
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(|e| fail(format!("cannot read its permissions: {e}")))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(fail(format!(
                    "its permissions {:04o} let others read the private key: run `chmod 600 {}`",
                    mode & 0o777,
                    path.display()
                )));
            }
        }
        NodeKey::from_file_text(&text).map_err(fail)
    }

    /// Writes the key file (mode 0600 on Unix), refusing to overwrite one.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        use std::io::Write;
        let path = path.as_ref();
        let fail = |problem: String| Error::KeyFile {
            path: path.display().to_string(),
            problem,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                fail("it exists already: a key is never overwritten (remove it first if it is really unused)".into())
            } else {
                fail(format!("cannot create it: {e}"))
            }
        })?;
        file.write_all(self.to_file_text().as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| fail(format!("cannot write it: {e}")))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> std::result::Result<[u8; KEY_BYTES], String> {
    if text.len() != 2 * KEY_BYTES {
        return Err(format!(
            "a key is 64 hex digits, this has {} characters",
            text.chars().count()
        ));
    }
    let mut out = [0u8; KEY_BYTES];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = text
            .get(2 * i..2 * i + 2)
            .and_then(|pair| u8::from_str_radix(pair, 16).ok())
            .ok_or_else(|| format!("not hex at character {}", 2 * i + 1))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_agree_on_the_shared_secret() {
        let (a, b, c) = (
            NodeKey::generate(),
            NodeKey::generate(),
            NodeKey::generate(),
        );
        assert_eq!(a.agree(&b.public()), b.agree(&a.public()));
        assert_ne!(a.agree(&b.public()), a.agree(&c.public()));
    }

    #[test]
    fn the_public_key_follows_from_the_private_key() {
        // RFC 7748 §6.1: Alice's private and public keys.
        let private =
            unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a").unwrap();
        let key = NodeKey::from_private(private);
        assert_eq!(
            key.public().to_string(),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
        );
        let debug = format!("{key:?}");
        assert!(
            !debug.contains("77076d"),
            "the private key is never shown: {debug}"
        );
        assert!(
            debug.contains("NodeKey") && debug.contains("8520f0098930a754"),
            "{debug}"
        );
        assert_eq!(format!("{:?}", key.public()), "PublicKey(8520f0098930a754)");
    }

    #[test]
    fn bad_key_text_says_what_is_wrong() {
        assert!(NodeKey::from_file_text("# only a comment\n")
            .unwrap_err()
            .contains("no key"));
        assert!(NodeKey::from_file_text("abc")
            .unwrap_err()
            .contains("64 hex"));
        assert!(NodeKey::from_file_text(&"zz".repeat(32))
            .unwrap_err()
            .contains("not hex at character 1"));
        let two = format!("{}\n{}\n", "00".repeat(32), "11".repeat(32));
        assert!(NodeKey::from_file_text(&two)
            .unwrap_err()
            .contains("more than one"));
        assert!(
            "é".repeat(32).parse::<PublicKey>().is_err(),
            "multi-byte text never panics"
        );
    }

    #[cfg(unix)]
    #[test]
    fn key_files_are_private_and_never_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n0.key");
        let key = NodeKey::generate();
        key.save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(NodeKey::load(&path).unwrap(), key);
        assert!(NodeKey::generate()
            .save(&path)
            .unwrap_err()
            .to_string()
            .contains("exists already"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(NodeKey::load(&path)
            .unwrap_err()
            .to_string()
            .contains("chmod 600"));
    }
}
