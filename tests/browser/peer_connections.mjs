// Keeps a page's WebRTC peer connections where a script can ask them for statistics
// (getStats()): the page makes its own, so the constructor is wrapped before its scripts run.
// Shared by webrtc.mjs (the tests) and bench_latency.mjs (`lookout-bench webrtc-latency`).
//
//   import { trackPeerConnections } from './peer_connections.mjs';
//   await trackPeerConnections(page);            // before page.goto
//   await page.evaluate(() => window.__newestOpenPc()?.getStats());

// Runs inside the page (Playwright sends its source): nothing from this module is in scope.
function track() {
  const Orig = window.RTCPeerConnection;
  if (!Orig) return;
  window.__pcs = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Orig(...args);
    window.__pcs.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Orig.prototype;
  // The page's newest connection not yet closed (a reconnect closes the old one), or undefined.
  window.__newestOpenPc = () => window.__pcs.filter((p) => p.connectionState !== 'closed').pop();
}

// Makes every document `page` loads from now on record its peer connections in
// `window.__pcs` and answer `window.__newestOpenPc()`.
export function trackPeerConnections(page) {
  return page.addInitScript(track);
}
