//! The routing WebRTC's shared UDP port (and each ICE-TCP connection's first packet) does
//! before str0m sees a byte (`lookout::webrtc::demux`): the STUN `USERNAME` (RFC 5389 15.3,
//! `OURS:THEIRS` by RFC 8445 7.2.2) of every datagram from anyone on the network.
//!
//! The input is one datagram. Checks: no panic; a user name found is UTF-8 without `:` and
//! sits inside the datagram's length; a demux that knows it routes the datagram to its peer
//! from any address, by STUN alone too; one that does not routes it nowhere unless its
//! address was bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout::webrtc::demux::{Demux, stun_local_ufrag};
use std::net::SocketAddr;

fuzz_target!(|data: &[u8]| {
    let from: SocketAddr = ([192, 0, 2, 1], 5000).into();
    let bound: SocketAddr = ([192, 0, 2, 2], 5000).into();
    let found = stun_local_ufrag(data);
    let demux = Demux::new();
    demux.add_addr(bound, 2u8);
    if let Some(ufrag) = found {
        assert!(!ufrag.contains(':'), "{ufrag:?}");
        assert!(ufrag.len() + 24 <= data.len(), "a name longer than its datagram");
        assert_eq!(demux.route(data, from), None, "routed to a peer it does not know");
        demux.add_ufrag(ufrag, 1u8);
        assert_eq!(demux.route(data, from), Some(1));
        assert_eq!(demux.route(data, bound), Some(1), "STUN goes by name first");
        assert_eq!(demux.route_stun(data), Some(1));
        demux.remove(ufrag, &[]);
    }
    assert_eq!(demux.route(data, from), None);
    assert_eq!(demux.route(data, bound), Some(2));
    if found.is_none() {
        assert_eq!(demux.route_stun(data), None);
    }
});
