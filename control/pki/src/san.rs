//! Reads the DNS and IP subject alternative names out of a DER certificate: just enough DER
//! to tell whether a serving certificate still matches the listen addresses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// DER encoding of the subjectAltName OID, 2.5.29.17.
const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];
const TAG_SEQUENCE: u8 = 0x30;
const TAG_OID: u8 = 0x06;
const TAG_BOOLEAN: u8 = 0x01;
const TAG_OCTET_STRING: u8 = 0x04;
/// `[3] EXPLICIT Extensions` in TBSCertificate.
const TAG_EXTENSIONS: u8 = 0xa3;
/// `[2] IMPLICIT IA5String` dNSName in GeneralName.
const TAG_DNS_NAME: u8 = 0x82;
/// `[7] IMPLICIT OCTET STRING` iPAddress in GeneralName.
const TAG_IP_ADDRESS: u8 = 0x87;

/// What is malformed, for the log line that explains a re-issue.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed DER: {0}")]
pub(crate) struct DerError(&'static str);

/// The certificate's DNS and IP SANs as strings, sorted and deduplicated (IPs in `IpAddr`'s
/// canonical spelling). A certificate without the extension has none.
pub(crate) fn dns_and_ip_sans(cert_der: &[u8]) -> Result<Vec<String>, DerError> {
    let (cert, _) = expect(cert_der, TAG_SEQUENCE, "certificate")?;
    let (mut tbs, _) = expect(cert, TAG_SEQUENCE, "tbsCertificate")?;
    let mut names = Vec::new();
    while !tbs.is_empty() {
        let (tag, value, rest) = tlv(tbs)?;
        tbs = rest;
        if tag != TAG_EXTENSIONS {
            continue;
        }
        let (mut exts, _) = expect(value, TAG_SEQUENCE, "extensions")?;
        while !exts.is_empty() {
            let (ext, rest) = expect(exts, TAG_SEQUENCE, "extension")?;
            exts = rest;
            let (oid, mut ext) = expect(ext, TAG_OID, "extension id")?;
            if oid != OID_SAN {
                continue;
            }
            if ext.first() == Some(&TAG_BOOLEAN) {
                ext = tlv(ext)?.2;
            }
            let (octets, _) = expect(ext, TAG_OCTET_STRING, "extension value")?;
            let (mut general_names, _) = expect(octets, TAG_SEQUENCE, "GeneralNames")?;
            while !general_names.is_empty() {
                let (tag, value, rest) = tlv(general_names)?;
                general_names = rest;
                match tag {
                    TAG_DNS_NAME => names.push(
                        std::str::from_utf8(value)
                            .map_err(|_| DerError("dNSName is not ASCII"))?
                            .to_owned(),
                    ),
                    TAG_IP_ADDRESS => names.push(ip(value)?.to_string()),
                    _ => {}
                }
            }
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

fn ip(bytes: &[u8]) -> Result<IpAddr, DerError> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Ok(Ipv4Addr::from(v4).into());
    }
    <[u8; 16]>::try_from(bytes)
        .map(|v6| Ipv6Addr::from(v6).into())
        .map_err(|_| DerError("iPAddress is neither 4 nor 16 bytes"))
}

/// The value of the TLV at the start of `input` if its tag is `tag`, and what follows it.
fn expect<'a>(
    input: &'a [u8],
    tag: u8,
    what: &'static str,
) -> Result<(&'a [u8], &'a [u8]), DerError> {
    let (found, value, rest) = tlv(input)?;
    if found != tag {
        return Err(DerError(what));
    }
    Ok((value, rest))
}

/// Splits one tag-length-value off `input`: (tag, value, rest). Single-byte tags only, which
/// is all a certificate uses.
fn tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8]), DerError> {
    let [tag, first, rest @ ..] = input else {
        return Err(DerError("truncated header"));
    };
    let (len, rest) = match *first {
        short @ 0..=0x7f => (usize::from(short), rest),
        long @ 0x81..=0x84 => {
            let n = usize::from(long & 0x7f);
            if rest.len() < n {
                return Err(DerError("truncated length"));
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[n..])
        }
        _ => return Err(DerError("unsupported length form")),
    };
    if rest.len() < len {
        return Err(DerError("value runs past the end"));
    }
    Ok((*tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::{ClusterCa, cert_der};

    #[test]
    fn reads_back_what_was_issued() {
        let ca = ClusterCa::generate().unwrap();
        let sans = [
            "10.0.0.7".to_owned(),
            "skiff-0.example".to_owned(),
            "fd00::0:1".to_owned(),
        ];
        let cert = ca.issue_serving_cert(&sans).unwrap();
        let der = cert_der(&cert.cert_pem).unwrap();
        let want = [
            "10.0.0.7",
            "127.0.0.1",
            "::1",
            "fd00::1",
            "localhost",
            "skiff-0.example",
        ];
        assert_eq!(dns_and_ip_sans(&der).unwrap(), want);
        // The CA has no SAN extension at all.
        assert_eq!(
            dns_and_ip_sans(&cert_der(ca.cert_pem()).unwrap()).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let ca = ClusterCa::generate().unwrap();
        let der = cert_der(&ca.issue_serving_cert(&[]).unwrap().cert_pem).unwrap();
        for cut in [0, 1, 2, 10, der.len() / 2, der.len() - 1] {
            assert!(dns_and_ip_sans(&der[..cut]).is_err(), "cut at {cut}");
        }
    }
}
