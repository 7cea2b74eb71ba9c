// Opens a camera page in headless Chromium and reports how it plays over WebRTC (WHEP): the
// label under the picture, the page's peer connection's inbound video statistics (frames
// decoded, size, freezes) twice WAIT_MS apart, and whether the picture on a canvas changed.
// Then a second page joins the same camera and the time from opening it to its first decoded
// frame is reported. With `nortc`, RTCPeerConnection is deleted before the page's scripts run
// and the page must fall back to MSE and say why.
// One JSON line on stdout, for crates/lookout/tests/it/webrtc.rs.
//
//   node webrtc.mjs PAGE_URL rtc|nortc WAIT_MS
import { launchChromium } from './launch.mjs';
import { trackPeerConnections } from './peer_connections.mjs';

const [url, mode, waitMs] = process.argv.slice(2);
if (!waitMs) {
  console.error('usage: node webrtc.mjs PAGE_URL rtc|nortc WAIT_MS');
  process.exit(2);
}

// The test server's only candidate is 127.0.0.1; Chromium leaves loopback out otherwise.
const browser = await launchChromium({ autoplay: true, args: ['--allow-loopback-in-peer-connection'] });

async function open(withRtc) {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text()); });
  if (withRtc) await trackPeerConnections(page);
  else await page.addInitScript(() => { delete window.RTCPeerConnection; });
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  return page;
}

const state = (page) => page.evaluate(async () => {
  const v = document.querySelector('figure.cam video');
  const label = document.querySelector('[data-playback]');
  const out = {
    label: label ? label.textContent : null,
    playing: v ? v.parentElement.dataset.playing : null,
    src_object: !!(v && v.srcObject),
    peers: (window.__pcs || []).length,
  };
  const pc = window.__newestOpenPc ? window.__newestOpenPc() : undefined;
  if (pc) {
    out.connection = pc.connectionState;
    const stats = await pc.getStats();
    stats.forEach((r) => {
      // The transport the media uses: the selected pair's local candidate's protocol.
      if (r.type === 'transport' && r.selectedCandidatePairId) {
        const pair = stats.get(r.selectedCandidatePairId);
        const local = pair && stats.get(pair.localCandidateId);
        const remote = pair && stats.get(pair.remoteCandidateId);
        out.protocol = local ? local.protocol : null;
        out.remote_port = remote ? remote.port : null;
      }
    });
    stats.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') {
        out.frames_decoded = r.framesDecoded;
        out.frame_width = r.frameWidth;
        out.frame_height = r.frameHeight;
        out.freeze_count = r.freezeCount;
        out.key_frames = r.keyFramesDecoded;
      }
    });
  }
  if (v && v.videoWidth) {
    const c = document.createElement('canvas');
    c.width = 64;
    c.height = 36;
    const ctx = c.getContext('2d');
    ctx.drawImage(v, 0, 0, 64, 36);
    out.pixels = Array.from(ctx.getImageData(0, 0, 64, 36).data);
  }
  return out;
});

try {
  const page = await open(mode !== 'nortc');
  await page.waitForTimeout(Number(waitMs));
  const first = await state(page);
  await page.waitForTimeout(Number(waitMs));
  const second = await state(page);
  let changed = 0;
  if (first.pixels && second.pixels) {
    for (let i = 0; i < first.pixels.length; i += 1) {
      if (Math.abs(first.pixels[i] - second.pixels[i]) > 40) changed += 1;
    }
  }
  delete first.pixels;
  delete second.pixels;
  const report = { first, second, changed, errors: page.errors };
  if (mode === 'rtc') {
    // A late joiner, mid-stream: from opening the page to its first decoded frame.
    const started = Date.now();
    const late = await open(true);
    let joined = null;
    while (Date.now() - started < 20000) {
      const s = await state(late);
      if (s.frames_decoded > 0) { joined = s; break; }
      await late.waitForTimeout(50);
    }
    report.join_ms = joined ? Date.now() - started : null;
    report.joined = joined ? { ...joined, pixels: undefined } : null;
    report.errors.push(...late.errors);
  }
  console.log(JSON.stringify(report));
} finally {
  await browser.close();
}
