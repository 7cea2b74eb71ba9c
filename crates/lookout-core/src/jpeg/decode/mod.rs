//! Lookout's own readers of baseline JPEGs, for when less than a full decode is wanted: the
//! shared header parser and Huffman decoder, and [`scaled`], the picture at 1/2, 1/4 or 1/8
//! of its size with no full-size IDCT. (`motion::jpeg_dc`, the 1/8-scale luma, uses the
//! first two.) What they do not handle they report as unsupported, for zune-jpeg or
//! libjpeg-turbo to decode in full.

pub(crate) mod headers;
pub(crate) mod huffman;
pub mod scaled;
#[cfg(test)]
mod tests;
