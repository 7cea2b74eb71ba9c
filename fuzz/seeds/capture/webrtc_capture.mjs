// Captures what Chromium sends to a WebRTC ICE-lite server first, for the webrtc_demux fuzz
// seeds: its STUN binding requests over UDP, and over ICE-TCP (the RFC 4571 length prefix
// taken off). The answer is written here (ICE-lite, one UDP and one passive TCP host candidate
// on 127.0.0.1) and nothing answers the checks, so Chromium keeps retrying with the same
// attributes (USERNAME "lkout:...", PRIORITY, ICE-CONTROLLING, USE-CANDIDATE, GOOG-NETWORK-INFO,
// MESSAGE-INTEGRITY, FINGERPRINT).
//
//   node fuzz/seeds/capture/webrtc_capture.mjs fuzz/seeds/webrtc_demux   (from the repository,
//   after `npm ci` in tests/browser)
import { createRequire } from 'node:module';
import dgram from 'node:dgram';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';

const { chromium } = createRequire(path.resolve('tests/browser/package.json'))('playwright-core');
const out = process.argv[2];
if (!out) { console.error('usage: webrtc_capture.mjs OUT_DIR'); process.exit(2); }

const udp = dgram.createSocket('udp4');
let nUdp = 0;
udp.on('message', (m) => {
  if (nUdp < 3) fs.writeFileSync(path.join(out, `chromium_udp_${nUdp}.bin`), m);
  nUdp += 1;
});
await new Promise((r) => udp.bind(0, '127.0.0.1', r));
let nTcp = 0;
const tcp = net.createServer((c) => {
  let buf = Buffer.alloc(0);
  c.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const len = buf.readUInt16BE(0);
      if (nTcp < 2) fs.writeFileSync(path.join(out, `chromium_tcp_${nTcp}.bin`), buf.subarray(2, 2 + len));
      nTcp += 1;
      buf = buf.subarray(2 + len);
    }
  });
});
await new Promise((r) => tcp.listen(0, '127.0.0.1', r));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--allow-loopback-in-peer-connection'],
});
const page = await browser.newPage();
const offer = await page.evaluate(async () => {
  window.pc = new RTCPeerConnection();
  window.pc.addTransceiver('video', { direction: 'recvonly' });
  const o = await window.pc.createOffer();
  await window.pc.setLocalDescription(o);
  return o.sdp;
});
const mid = /a=mid:(\S+)/.exec(offer)[1];
const pt = /a=rtpmap:(\d+) H264\/90000/.exec(offer)[1];
const fp = Array.from({ length: 32 }, (_, i) => (i * 7 + 3).toString(16).padStart(2, '0').toUpperCase()).join(':');
const answer = [
  'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=ice-lite', `a=group:BUNDLE ${mid}`,
  `m=video 9 UDP/TLS/RTP/SAVPF ${pt}`, 'c=IN IP4 0.0.0.0', `a=mid:${mid}`, 'a=sendonly', 'a=rtcp-mux',
  'a=ice-ufrag:lkout', 'a=ice-pwd:abcdefghijklmnopqrstuvwx', `a=fingerprint:sha-256 ${fp}`, 'a=setup:passive',
  `a=rtpmap:${pt} H264/90000`, `a=fmtp:${pt} level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f`,
  'a=ssrc:1234 cname:lookout',
  `a=candidate:1 1 udp 2130706431 127.0.0.1 ${udp.address().port} typ host`,
  `a=candidate:2 1 tcp 1518280447 127.0.0.1 ${tcp.address().port} typ host tcptype passive`,
  'a=end-of-candidates', '',
].join('\r\n');
await page.evaluate(async (sdp) => {
  await window.pc.setRemoteDescription({ type: 'answer', sdp });
}, answer);
const until = Date.now() + 10000;
while ((nUdp < 3 || nTcp < 1) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
console.log(JSON.stringify({ udp: nUdp, tcp: nTcp }));
await browser.close();
udp.close();
tcp.close();
