//! The goodbye RustDDS says in a form Fast DDS understands: an SPDP "participant disposed"
//! message (DATA(p[UD])) that carries the participant's key hash.
//!
//! Why: when a RustDDS 0.15 reader or participant goes away, RustDDS announces it with a DATA
//! whose key is the serialized key (PL_CDR, 28 bytes) and no `PID_KEY_HASH` in the inline QoS.
//! Fast DDS 2.x (ROS 2's default middleware) reads the key of a key-only DATA only when the
//! payload fits in a 16-byte key hash ("Ignoring Serialized Payload for too large key-only
//! data") and finds no key hash either, so it cannot tell which reader or participant was
//! disposed and keeps it: its writers go on sending every sample to a reader that is gone,
//! until the participant's lease (50 s for RustDDS: five of its 10 s announcements) runs out.
//! The same message with a key hash — RTPS 2.3 §9.6.3.3, what RustDDS itself sends for a
//! dispose it forwards — is understood by every implementation. A participant that is gone
//! takes all its readers with it, so each subscription gets a participant of its own and this
//! message follows it.
//!
//! Sent once, over UDP, to the metatraffic unicast port of each participant whose writers the
//! subscription knew: the standard port mapping (RTPS 2.3 §9.6.1.1) gives it from the port of
//! the writer's data locator, which Fast DDS uses unless configured otherwise. A lost or
//! unmatched datagram leaves things as they were before: the lease still ends it.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};

/// RTPS 2.3 §9.6.1.1 default port mapping: PB, DG, PG, d1 (metatraffic unicast), d3 (user
/// unicast).
const PORT_BASE: u32 = 7400;
const DOMAIN_GAIN: u32 = 250;
const PARTICIPANT_GAIN: u32 = 2;
const METATRAFFIC_UNICAST_OFFSET: u32 = 10;
const USER_UNICAST_OFFSET: u32 = 11;
/// Participant ids go from 0 up on each host; Fast DDS and RustDDS try at most 120.
const MAX_PARTICIPANT_ID: u32 = 120;

/// The RTPS vendor id of RustDDS (Atostek, 0x0112): the message speaks for its participant.
const VENDOR_RUSTDDS: [u8; 2] = [0x01, 0x12];
/// SPDP's built-in writer and reader (RTPS 2.3 §9.3.1.3).
const SPDP_WRITER: [u8; 4] = [0x00, 0x01, 0x00, 0xc2];
const SPDP_READER: [u8; 4] = [0x00, 0x01, 0x00, 0xc7];
/// ENTITYID_PARTICIPANT: the last four bytes of a participant's GUID.
const PARTICIPANT_ENTITY: [u8; 4] = [0x00, 0x00, 0x01, 0xc1];
const SUBMESSAGE_DATA: u8 = 0x15;
/// Little-endian (E) and inline QoS present (Q); neither data nor key follows.
const FLAGS_LE_INLINE_QOS: u8 = 0x01 | 0x02;
const PID_SENTINEL: u16 = 0x0001;
const PID_KEY_HASH: u16 = 0x0070;
const PID_STATUS_INFO: u16 = 0x0071;
/// StatusInfo_t flags: disposed (1) and unregistered (2), as RustDDS and Fast DDS send them.
const STATUS_DISPOSED_UNREGISTERED: [u8; 4] = [0, 0, 0, 0x03];
/// Higher than any sequence number the participant's SPDP writer used (one per announcement,
/// every 10 s): a receiver drops a sample numbered at or below one it already has.
const SEQUENCE_HIGH: i32 = 1 << 20;

/// The whole RTPS message disposing participant `guid_prefix`.
pub fn dispose_message(guid_prefix: [u8; 12]) -> Vec<u8> {
    let mut m = Vec::with_capacity(72);
    // Header: protocol, version 2.3, vendor, GUID prefix.
    m.extend_from_slice(b"RTPS");
    m.extend_from_slice(&[2, 3]);
    m.extend_from_slice(&VENDOR_RUSTDDS);
    m.extend_from_slice(&guid_prefix);
    // DATA: extraFlags, octetsToInlineQos (the ids and sequence number: 16), reader, writer,
    // sequence number, inline QoS.
    let mut body = Vec::with_capacity(52);
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&16u16.to_le_bytes());
    body.extend_from_slice(&SPDP_READER);
    body.extend_from_slice(&SPDP_WRITER);
    body.extend_from_slice(&SEQUENCE_HIGH.to_le_bytes());
    body.extend_from_slice(&0u32.to_le_bytes());
    let mut key_hash = [0u8; 16];
    key_hash[..12].copy_from_slice(&guid_prefix);
    key_hash[12..].copy_from_slice(&PARTICIPANT_ENTITY);
    parameter(&mut body, PID_KEY_HASH, &key_hash);
    parameter(&mut body, PID_STATUS_INFO, &STATUS_DISPOSED_UNREGISTERED);
    parameter(&mut body, PID_SENTINEL, &[]);
    m.push(SUBMESSAGE_DATA);
    m.push(FLAGS_LE_INLINE_QOS);
    // 52 bytes: a u16 always holds it.
    m.extend_from_slice(&u16::try_from(body.len()).unwrap_or(u16::MAX).to_le_bytes());
    m.extend_from_slice(&body);
    m
}

/// One parameter of a little-endian parameter list; values here are multiples of 4 bytes.
fn parameter(out: &mut Vec<u8>, id: u16, value: &[u8]) {
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&u16::try_from(value.len()).unwrap_or(0).to_le_bytes());
    out.extend_from_slice(value);
}

/// The SPDP (metatraffic unicast) address of the participant whose writer listens for data at
/// `data_locator`, when that port follows the default mapping for `domain_id`.
pub fn spdp_address(domain_id: u16, data_locator: SocketAddrV4) -> Option<SocketAddrV4> {
    let first = PORT_BASE + DOMAIN_GAIN * u32::from(domain_id) + USER_UNICAST_OFFSET;
    let offset = u32::from(data_locator.port()).checked_sub(first)?;
    if offset % PARTICIPANT_GAIN != 0 || offset / PARTICIPANT_GAIN >= MAX_PARTICIPANT_ID {
        return None;
    }
    let port = PORT_BASE + DOMAIN_GAIN * u32::from(domain_id) + METATRAFFIC_UNICAST_OFFSET + offset;
    let ip = *data_locator.ip();
    // A participant announcing "any address" is reached on this host's loopback.
    let ip = if ip.is_unspecified() {
        Ipv4Addr::LOCALHOST
    } else {
        ip
    };
    Some(SocketAddrV4::new(ip, u16::try_from(port).ok()?))
}

/// Sends the dispose of `guid_prefix` to each address once. Best effort: errors are logged.
pub fn send(guid_prefix: [u8; 12], to: &BTreeSet<SocketAddrV4>) {
    if to.is_empty() {
        return;
    }
    let message = dispose_message(guid_prefix);
    let socket = match UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)) {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!("ros2: no socket for the participant's goodbye: {e}");
            return;
        }
    };
    for addr in to {
        if let Err(e) = socket.send_to(&message, SocketAddr::V4(*addr)) {
            tracing::debug!("ros2: sending the participant's goodbye to {addr}: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_an_spdp_data_with_key_hash_and_status() {
        let prefix = [1, 0x12, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        let m = dispose_message(prefix);
        assert_eq!(&m[..8], b"RTPS\x02\x03\x01\x12");
        assert_eq!(&m[8..20], &prefix);
        // Submessage header: DATA, E|Q, length of what follows.
        assert_eq!(&m[20..22], &[0x15, 0x03]);
        let len = usize::from(u16::from_le_bytes([m[22], m[23]]));
        assert_eq!(len, m.len() - 24);
        let body = &m[24..];
        assert_eq!(u16::from_le_bytes([body[2], body[3]]), 16);
        assert_eq!(&body[4..8], &SPDP_READER);
        assert_eq!(&body[8..12], &SPDP_WRITER);
        assert_eq!(
            i32::from_le_bytes([body[12], body[13], body[14], body[15]]),
            1 << 20
        );
        // Inline QoS right after the 16 octets: key hash, status info, sentinel.
        let qos = &body[20..];
        assert_eq!(&qos[..4], &[0x70, 0x00, 16, 0]);
        assert_eq!(&qos[4..16], &prefix);
        assert_eq!(&qos[16..20], &[0, 0, 1, 0xc1]);
        assert_eq!(&qos[20..28], &[0x71, 0x00, 4, 0, 0, 0, 0, 3]);
        assert_eq!(&qos[28..], &[1, 0, 0, 0]);
    }

    #[test]
    fn the_spdp_port_follows_from_a_default_data_port() {
        let a = |ip: [u8; 4], port| SocketAddrV4::new(Ipv4Addr::from(ip), port);
        // Domain 0, participant 0: data on 7411, discovery on 7410.
        assert_eq!(
            spdp_address(0, a([192, 168, 1, 5], 7411)),
            Some(a([192, 168, 1, 5], 7410))
        );
        // Domain 7, participant 3: 7400 + 1750 + 11 + 6.
        assert_eq!(
            spdp_address(7, a([127, 0, 0, 1], 9167)),
            Some(a([127, 0, 0, 1], 9166))
        );
        assert_eq!(
            spdp_address(0, a([0, 0, 0, 0], 7413)),
            Some(a([127, 0, 0, 1], 7412))
        );
        // Not the default mapping: nothing to guess.
        assert_eq!(spdp_address(0, a([127, 0, 0, 1], 7412)), None);
        assert_eq!(spdp_address(0, a([127, 0, 0, 1], 40_000 + 1)), None);
        assert_eq!(spdp_address(7, a([127, 0, 0, 1], 7411)), None);
    }
}
