//! The supply-chain layer: keys, image signatures and attestations in cosign's formats
//! (Sigstore), so images signed by cosign verify here and the other way round.
//!
//! - `keys`: ECDSA P-256 key pairs; public keys as PKIX PEM, private keys in the Sigstore
//!   encrypted format (scrypt + NaCl secretbox over PKCS#8).
//! - `signature`: the simple-signing payload, ECDSA signatures, and the `.sig` manifest layout.
//! - `dsse`: in-toto statements in DSSE envelopes, and the `.att` manifest layout.
pub mod cosign;
pub mod dsse;
pub mod keys;
pub mod oci;
pub mod policy;
pub mod signature;
pub mod trust;
