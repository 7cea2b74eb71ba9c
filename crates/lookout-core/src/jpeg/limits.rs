//! How large a JPEG Lookout takes, in its own file: the encoder, the decoders and the header
//! readers all need it, and none of them should import the others for it.

/// Largest side we encode or decode: JPEG's own limit is 65535, but a camera frame past 8K is
/// almost surely a corrupt header, and decoding it would allocate gigabytes.
pub const MAX_SIDE: u32 = 8192;
