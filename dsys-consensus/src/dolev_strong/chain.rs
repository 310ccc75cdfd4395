//! Keys and signature chains: what a Dolev–Strong message carries and how a
//! receiver checks it.
//!
//! A chain is a value and a list of [`Link`]s, each a signer and an ed25519
//! signature. Link *k* signs the value *and every link before it*, so a
//! chain records who vouched for the value in which order, and nobody can
//! reorder, drop from the middle, or graft links without breaking a
//! signature. Every signature also covers the broadcast's instance number,
//! so a chain from one broadcast cannot be replayed into another.

use std::fmt;
use std::sync::Arc;

use dsys_core::NodeId;
use ed25519_dalek::{Digest, Sha512, Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// What the sender broadcasts: any 64-bit value (a command, a hash of one).
pub type Value = u64;

/// The domain tag every signed byte string starts with, so a Dolev–Strong
/// signature can never be mistaken for a signature of another protocol that
/// uses the same key.
const DOMAIN: &[u8] = b"dsys/dolev-strong/v1";

/// One node's secret signing key, part of that node's configuration.
///
/// Equality and hashing look at the public half only (a node's state must
/// be `Eq + Hash` to be model-checked, and the public key identifies the
/// secret one); `Debug` prints the public half only, as `ed25519-dalek`
/// does, so a key never lands in a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeKey(SigningKey);

impl std::hash::Hash for NodeKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.verifying_key().hash(state);
    }
}

impl NodeKey {
    /// A key from its 32 secret bytes. In a deployment those come from the
    /// operating system's randomness, outside the node, and reach it in its
    /// configuration; a node never generates a key itself.
    pub fn from_secret(secret: [u8; 32]) -> Self {
        NodeKey(SigningKey::from_bytes(&secret))
    }

    /// Node `node`'s key, derived deterministically from `seed` (SHA-512 of
    /// a tag, the seed and the node id): for the simulator and tests, where
    /// a run must be a function of its seed. Anyone who knows the seed knows
    /// every key, so never use this outside a simulation.
    ///
    /// ```
    /// use dsys_consensus::dolev_strong::NodeKey;
    /// use dsys_core::NodeId;
    ///
    /// let a = NodeKey::derived(7, NodeId(1));
    /// assert_eq!(a, NodeKey::derived(7, NodeId(1)));
    /// assert_ne!(a, NodeKey::derived(7, NodeId(2)));
    /// assert_ne!(a, NodeKey::derived(8, NodeId(1)));
    /// ```
    pub fn derived(seed: u64, node: NodeId) -> Self {
        let mut hasher = Sha512::new();
        hasher.update(b"dsys/dolev-strong/simulated-key");
        hasher.update(seed.to_le_bytes());
        hasher.update(node.0.to_le_bytes());
        let digest = hasher.finalize();
        let mut secret = [0u8; 32];
        secret.copy_from_slice(&digest[..32]);
        NodeKey::from_secret(secret)
    }

    /// The public half, which every node knows ([`Keyring`]).
    pub fn public(&self) -> VerifyingKey {
        self.0.verifying_key()
    }

    /// Signs `bytes`.
    pub(crate) fn sign(&self, bytes: &[u8]) -> Signature {
        self.0.sign(bytes)
    }
}

/// Every node's public key, indexed by node id: the public-key
/// infrastructure Dolev–Strong assumes (every node knows every other
/// node's key before the broadcast starts). Cheap to clone.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Keyring(Arc<[VerifyingKey]>);

impl Keyring {
    /// The keyring of `keys`, node `i`'s key at index `i`.
    pub fn new(keys: impl IntoIterator<Item = VerifyingKey>) -> Self {
        Keyring(keys.into_iter().collect())
    }

    /// The public keys of [`NodeKey::derived`]`(seed, ·)` for nodes
    /// `0..nodes`.
    pub fn derived(seed: u64, nodes: usize) -> Self {
        Keyring::new((0..nodes as u32).map(|i| NodeKey::derived(seed, NodeId(i)).public()))
    }

    /// How many nodes have a key.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the keyring is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Node `node`'s public key.
    pub fn get(&self, node: NodeId) -> Option<&VerifyingKey> {
        self.0.get(node.index())
    }

    /// The node whose public key is `key`.
    pub fn position(&self, key: &VerifyingKey) -> Option<NodeId> {
        self.0
            .iter()
            .position(|k| k == key)
            .map(|i| NodeId(i as u32))
    }
}

/// One signature in a chain: who signed, and the signature over the value
/// and every earlier link.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Link {
    /// The node that claims to have signed.
    pub signer: NodeId,
    /// Its signature.
    pub signature: Signature,
}

impl fmt::Debug for Link {
    /// `n2:1A2B3C4D…`: the signer and the first bytes of the signature (64
    /// bytes in full would drown a trace).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.signature.to_bytes();
        write!(f, "{}:", self.signer)?;
        for b in &bytes[..4] {
            write!(f, "{b:02X}")?;
        }
        f.write_str("…")
    }
}

/// A value with the chain of signatures that vouches for it; the sender's
/// signature comes first.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SignedChain {
    /// The value the chain is about.
    pub value: Value,
    /// The signatures, in the order they were added.
    pub links: Vec<Link>,
}

/// Why a chain was refused (each is what a traitor, or a broken synchrony
/// assumption, looks like to a correct node).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Rejection {
    /// Fewer distinct signatures than the round number: the chain is late
    /// (a relay held it back, or the network was slower than a round).
    TooFewSignatures {
        /// Signatures on the chain.
        have: usize,
        /// Signatures round `r` requires: `r`.
        need: usize,
    },
    /// The first signature is not the designated sender's.
    NotFromSender(NodeId),
    /// A signer outside the cluster.
    UnknownSigner(NodeId),
    /// The same node signed twice.
    RepeatedSigner(NodeId),
    /// This signer's signature does not verify: forged, or over another
    /// value or another chain.
    BadSignature(NodeId),
    /// The chain arrived after the last round: the decision is made.
    AfterDecision,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::TooFewSignatures { have, need } => {
                write!(f, "{have} signature(s), round needs {need}")
            }
            Rejection::NotFromSender(who) => write!(f, "first signer {who} is not the sender"),
            Rejection::UnknownSigner(who) => write!(f, "unknown signer {who}"),
            Rejection::RepeatedSigner(who) => write!(f, "{who} signed twice"),
            Rejection::BadSignature(who) => write!(f, "{who}'s signature does not verify"),
            Rejection::AfterDecision => f.write_str("arrived after the decision"),
        }
    }
}

impl SignedChain {
    /// The bytes link `upto` signs: the domain tag, the instance, the
    /// sender, the value, and links `0..upto`.
    fn signed_bytes(&self, instance: u64, sender: NodeId, upto: usize) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(DOMAIN.len() + 20 + upto * 68);
        bytes.extend_from_slice(DOMAIN);
        bytes.extend_from_slice(&instance.to_le_bytes());
        bytes.extend_from_slice(&sender.0.to_le_bytes());
        bytes.extend_from_slice(&self.value.to_le_bytes());
        for link in &self.links[..upto] {
            bytes.extend_from_slice(&link.signer.0.to_le_bytes());
            bytes.extend_from_slice(&link.signature.to_bytes());
        }
        bytes
    }

    /// A chain the sender starts: `value` signed by `key`, as `signer`.
    pub fn start(instance: u64, sender: NodeId, value: Value, key: &NodeKey) -> Self {
        let mut chain = SignedChain {
            value,
            links: Vec::new(),
        };
        chain.append(instance, sender, sender, key);
        chain
    }

    /// Appends `signer`'s signature, made with `key`, over everything so far.
    pub fn append(&mut self, instance: u64, sender: NodeId, signer: NodeId, key: &NodeKey) {
        let bytes = self.signed_bytes(instance, sender, self.links.len());
        self.links.push(Link {
            signer,
            signature: key.sign(&bytes),
        });
    }

    /// The signers, in order.
    pub fn signers(&self) -> Vec<NodeId> {
        self.links.iter().map(|l| l.signer).collect()
    }

    /// Whether `node` signed this chain.
    pub fn signed_by(&self, node: NodeId) -> bool {
        self.links.iter().any(|l| l.signer == node)
    }

    /// Checks the chain's shape — at least `need` links, the sender's
    /// first, signers known and distinct — before any signature, since a
    /// verification costs about as much as a signature and the shape is
    /// free to check. Then verifies every signature (strictly, refusing
    /// malleable encodings). `verified` counts the verifications done.
    pub fn check(
        &self,
        instance: u64,
        sender: NodeId,
        need: usize,
        keyring: &Keyring,
        verified: &mut u64,
    ) -> Result<(), Rejection> {
        if self.links.len() < need {
            return Err(Rejection::TooFewSignatures {
                have: self.links.len(),
                need,
            });
        }
        match self.links.first() {
            Some(first) if first.signer == sender => {}
            Some(first) => return Err(Rejection::NotFromSender(first.signer)),
            None => {
                return Err(Rejection::TooFewSignatures {
                    have: 0,
                    need: need.max(1),
                })
            }
        }
        for (i, link) in self.links.iter().enumerate() {
            if keyring.get(link.signer).is_none() {
                return Err(Rejection::UnknownSigner(link.signer));
            }
            if self.links[..i].iter().any(|l| l.signer == link.signer) {
                return Err(Rejection::RepeatedSigner(link.signer));
            }
        }
        for (i, link) in self.links.iter().enumerate() {
            let key = keyring.get(link.signer).expect("checked above");
            *verified += 1;
            key.verify_strict(&self.signed_bytes(instance, sender, i), &link.signature)
                .map_err(|_| Rejection::BadSignature(link.signer))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: u32) -> (Vec<NodeKey>, Keyring) {
        let keys: Vec<NodeKey> = (0..n).map(|i| NodeKey::derived(1, NodeId(i))).collect();
        let ring = Keyring::new(keys.iter().map(NodeKey::public));
        (keys, ring)
    }

    // LSP 1982 §4 (signed messages): a signature chain verifies link by link.
    #[test]
    fn a_chain_of_distinct_signers_verifies_and_counts_its_verifications() {
        let (keys, ring) = keys(3);
        let mut chain = SignedChain::start(9, NodeId(0), 42, &keys[0]);
        chain.append(9, NodeId(0), NodeId(2), &keys[2]);
        let mut verified = 0;
        assert_eq!(chain.check(9, NodeId(0), 2, &ring, &mut verified), Ok(()));
        assert_eq!(verified, 2);
        assert_eq!(chain.signers(), vec![NodeId(0), NodeId(2)]);
    }

    #[test]
    fn tampering_with_value_order_or_instance_breaks_a_signature() {
        let (keys, ring) = keys(3);
        let mut chain = SignedChain::start(9, NodeId(0), 42, &keys[0]);
        chain.append(9, NodeId(0), NodeId(1), &keys[1]);
        let mut n = 0;
        let mut other_value = chain.clone();
        other_value.value = 43;
        assert_eq!(
            other_value.check(9, NodeId(0), 1, &ring, &mut n),
            Err(Rejection::BadSignature(NodeId(0)))
        );
        assert_eq!(
            chain.check(10, NodeId(0), 1, &ring, &mut n),
            Err(Rejection::BadSignature(NodeId(0))),
            "a chain of instance 9 is no good in instance 10"
        );
        let mut impostor = SignedChain::start(9, NodeId(0), 42, &keys[0]);
        impostor.append(9, NodeId(0), NodeId(2), &keys[1]); // n1 signs as n2
        assert_eq!(
            impostor.check(9, NodeId(0), 2, &ring, &mut n),
            Err(Rejection::BadSignature(NodeId(2)))
        );
    }

    #[test]
    fn shape_is_checked_before_any_signature() {
        let (keys, ring) = keys(3);
        let mut n = 0;
        let chain = SignedChain::start(9, NodeId(1), 42, &keys[1]);
        assert_eq!(
            chain.check(9, NodeId(0), 1, &ring, &mut n),
            Err(Rejection::NotFromSender(NodeId(1)))
        );
        let mut twice = SignedChain::start(9, NodeId(0), 42, &keys[0]);
        twice.append(9, NodeId(0), NodeId(0), &keys[0]);
        assert_eq!(
            twice.check(9, NodeId(0), 2, &ring, &mut n),
            Err(Rejection::RepeatedSigner(NodeId(0)))
        );
        let short = SignedChain::start(9, NodeId(0), 42, &keys[0]);
        assert_eq!(
            short.check(9, NodeId(0), 2, &ring, &mut n),
            Err(Rejection::TooFewSignatures { have: 1, need: 2 })
        );
        let mut stranger = SignedChain::start(9, NodeId(0), 42, &keys[0]);
        stranger.append(9, NodeId(0), NodeId(7), &keys[2]);
        assert_eq!(
            stranger.check(9, NodeId(0), 2, &ring, &mut n),
            Err(Rejection::UnknownSigner(NodeId(7)))
        );
        assert_eq!(n, 0, "no signature was verified for a malformed chain");
    }

    // A node's state is hashed for model checking: a key hashes as its
    // public half, so equal keys hash alike and different keys apart.
    #[test]
    fn a_key_hashes_as_its_public_half() {
        use std::hash::{DefaultHasher, Hash, Hasher};
        fn hash(value: &impl Hash) -> u64 {
            let mut hasher = DefaultHasher::new();
            value.hash(&mut hasher);
            hasher.finish()
        }
        let (keys, _) = keys(2);
        assert_eq!(hash(&keys[0]), hash(&NodeKey::derived(1, NodeId(0))));
        assert_eq!(hash(&keys[0]), hash(&keys[0].public()));
        assert_ne!(hash(&keys[0]), hash(&keys[1]));
    }

    #[test]
    fn a_keyring_knows_its_size() {
        let (_, ring) = keys(3);
        assert_eq!((ring.len(), ring.is_empty()), (3, false));
        let none = Keyring::new([]);
        assert_eq!((none.len(), none.is_empty()), (0, true));
    }

    // A trace shows a link as its signer and the first four bytes of the
    // signature, not the 64 of them.
    #[test]
    fn a_link_prints_its_signer_and_the_start_of_its_signature() {
        let (keys, _) = keys(3);
        let mut chain = SignedChain::start(9, NodeId(0), 42, &keys[0]);
        chain.append(9, NodeId(0), NodeId(2), &keys[2]);
        let link = chain.links[1];
        let start: String = link.signature.to_bytes()[..4]
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert_eq!(format!("{link:?}"), format!("n2:{start}…"));
    }

    // The example prints why a chain was refused: each reason names the
    // culprit.
    #[test]
    fn a_rejection_says_what_was_wrong_and_with_whom() {
        let n2 = NodeId(2);
        let reasons = [
            (
                Rejection::TooFewSignatures { have: 1, need: 2 },
                "1 signature(s), round needs 2",
            ),
            (
                Rejection::NotFromSender(n2),
                "first signer n2 is not the sender",
            ),
            (Rejection::UnknownSigner(n2), "unknown signer n2"),
            (Rejection::RepeatedSigner(n2), "n2 signed twice"),
            (
                Rejection::BadSignature(n2),
                "n2's signature does not verify",
            ),
            (Rejection::AfterDecision, "arrived after the decision"),
        ];
        for (reason, text) in reasons {
            assert_eq!(reason.to_string(), text);
        }
    }

    #[test]
    fn a_chain_crosses_the_wire_unchanged() {
        let (keys, _) = keys(2);
        let chain = SignedChain::start(1, NodeId(0), 5, &keys[0]);
        let bytes = postcard::to_allocvec(&chain).unwrap();
        let back: SignedChain = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, chain);
        assert!(bytes.len() >= 64 + 4, "{} bytes", bytes.len());
    }
}
