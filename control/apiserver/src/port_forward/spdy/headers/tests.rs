//! Header blocks: round trips through one session's zlib streams, the dictionary's id on the
//! wire, and refusals of malformed blocks.

use flate2::{Compress, Compression, FlushCompress};

use super::super::dictionary::variants;
use super::{HeaderDecoder, HeaderEncoder, HeaderError, Headers, MAX_HEADER_BLOCK};

fn headers(pairs: &[(&str, &str)]) -> Headers {
    Headers(
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

/// Compresses `raw` as the first block of a stream primed with `dictionary`.
fn compress_with(dictionary: &[u8], raw: &[u8]) -> Vec<u8> {
    let mut deflate = Compress::new(Compression::best(), true);
    deflate.set_dictionary(dictionary).unwrap();
    let mut out = Vec::with_capacity(raw.len() + 1024);
    deflate
        .compress_vec(raw, &mut out, FlushCompress::Sync)
        .unwrap();
    out
}

#[test]
fn blocks_round_trip_through_one_session() {
    let mut encoder = HeaderEncoder::new().unwrap();
    let mut decoder = HeaderDecoder::new();
    let blocks = [
        headers(&[
            ("streamtype", "error"),
            ("port", "8080"),
            ("requestid", "0"),
        ]),
        headers(&[]),
        headers(&[("streamtype", "data"), ("port", "8080"), ("requestid", "0")]),
        headers(&[("x", &"v".repeat(5000))]),
    ];
    for block in &blocks {
        let wire = encoder.encode(block).unwrap();
        assert_eq!(&decoder.decode(&wire).unwrap(), block);
    }
}

#[test]
fn the_first_block_names_spdys_dictionary() {
    let wire = HeaderEncoder::new().unwrap().encode(&headers(&[])).unwrap();
    assert_eq!(wire[0], 0x78, "zlib, 32 KiB window");
    assert_ne!(wire[1] & 0x20, 0, "FDICT set");
    assert_eq!(
        &wire[2..6],
        &[0xe3, 0xc6, 0xa7, 0xc2],
        "Adler-32 of the dictionary"
    );
}

#[test]
fn either_dictionary_variant_is_accepted() {
    let raw = [
        0, 0, 0, 1, 0, 0, 0, 4, b'p', b'o', b'r', b't', 0, 0, 0, 2, b'8', b'0',
    ];
    for dictionary in variants() {
        let wire = compress_with(dictionary, &raw);
        let decoded = HeaderDecoder::new().decode(&wire).unwrap();
        assert_eq!(decoded.get("port"), Some("80"));
    }
}

#[test]
fn malformed_blocks_are_errors() {
    let raw_ok = [0, 0, 0, 0];
    let cases: [(&str, Vec<u8>, HeaderError); 5] = [
        (
            "not zlib",
            vec![0x12, 0x34, 0x56, 0x78],
            HeaderError::Corrupt(String::new()),
        ),
        (
            "another dictionary",
            compress_with(b"some other dictionary", &raw_ok),
            HeaderError::UnknownDictionary(0),
        ),
        (
            "count larger than the block",
            compress_with(variants()[0], &[0, 0, 0, 9, 0, 0, 0, 0]),
            HeaderError::Truncated,
        ),
        (
            "name longer than the block",
            compress_with(variants()[0], &[0, 0, 0, 1, 0, 0, 0, 200, b'a', 0, 0, 0, 0]),
            HeaderError::Truncated,
        ),
        (
            "not UTF-8",
            compress_with(variants()[0], &[0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0, 0, 0, 0]),
            HeaderError::NotUtf8,
        ),
    ];
    for (what, wire, want) in cases {
        let got = HeaderDecoder::new().decode(&wire).unwrap_err();
        assert_eq!(
            std::mem::discriminant(&got),
            std::mem::discriminant(&want),
            "{what}: {got}"
        );
    }
}

#[test]
fn a_block_that_inflates_too_far_is_refused() {
    let mut raw = vec![0, 0, 0, 1, 0, 0, 0, 1, b'x'];
    let length = u32::try_from(MAX_HEADER_BLOCK * 2).unwrap();
    raw.extend_from_slice(&length.to_be_bytes());
    raw.extend(std::iter::repeat_n(b'a', MAX_HEADER_BLOCK * 2));
    let wire = compress_with(variants()[0], &raw);
    assert!(wire.len() < 4096, "compresses well");
    assert_eq!(
        HeaderDecoder::new().decode(&wire),
        Err(HeaderError::TooLarge)
    );
}

#[test]
fn get_reads_the_first_of_several_values_and_ignores_case() {
    let h = headers(&[("streamtype", "data\0error"), ("port", "80")]);
    assert_eq!(h.get("StreamType"), Some("data"));
    assert_eq!(h.get("port"), Some("80"));
    assert_eq!(h.get("requestid"), None);
}
