// Glass-to-glass latency, the browser half of `lookout-bench webrtc-latency`: opens a camera
// page in headless Chromium (the page's own WebRTC player), and for every frame the video
// presents (requestVideoFrameCallback) draws it on a canvas and reads the mean brightness of
// the middle of each time cell the bench drew. The bench decodes the cells (and rejects
// misreads); this script only measures. Lines on stdout, one per frame after WARMUP_MS:
//
//   frame EXPECTED_MS PRESENTED_MS RECEIVED_MS B0,B1,...,B47
//
// with Unix times in ms (performance.timeOrigin + the callback's times; RECEIVED_MS is "-" if
// Chromium gives no receiveTime), then `stat NAME VALUE` lines (inbound-rtp deltas over the
// window, the page's label, the clock check) and `end`.
//
//   node bench_latency.mjs PAGE_URL WARMUP_MS SECONDS_MS LEFT,TOP,CELL,COLUMNS,ROWS
import { launchChromium } from './launch.mjs';
import { trackPeerConnections } from './peer_connections.mjs';

const [url, warmupMs, windowMs, grid] = process.argv.slice(2);
if (!grid) {
  console.error('usage: node bench_latency.mjs PAGE_URL WARMUP_MS WINDOW_MS LEFT,TOP,CELL,COLUMNS,ROWS');
  process.exit(2);
}
const [left, top, cell, columns, rows] = grid.split(',').map(Number);

// The same flags as tests/browser/webrtc.mjs.
const browser = await launchChromium({
  autoplay: true,
  args: ['--allow-loopback-in-peer-connection'],
});

try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await trackPeerConnections(page);
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  // Playing over WebRTC, not a fallback.
  await page.waitForFunction(() => {
    const v = document.querySelector('figure.cam video');
    return v && v.srcObject && v.videoWidth > 0
      && v.parentElement.dataset.playing === 'webrtc';
  }, null, { timeout: 20000 });

  const result = await page.evaluate(async ({ warmupMs, windowMs, left, top, cell, columns, rows }) => {
    const v = document.querySelector('figure.cam video');
    const canvas = document.createElement('canvas');
    canvas.width = v.videoWidth;
    canvas.height = v.videoHeight;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const frames = [];
    let missed = 0;
    let lastPresented = null;
    let collecting = false;
    let done = false;

    const inbound = async () => {
      const pc = window.__newestOpenPc();
      let out = null;
      (await pc.getStats()).forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === 'video') out = r;
      });
      return out;
    };

    // Only the middle half of each cell: away from the edges' coding artefacts.
    const edge = Math.floor(cell / 4);
    const middle = cell - 2 * edge;
    const onFrame = (_now, m) => {
      if (done) return;
      if (collecting) {
        if (lastPresented !== null && m.presentedFrames > lastPresented + 1) {
          missed += m.presentedFrames - lastPresented - 1;
        }
        ctx.drawImage(v, 0, 0, canvas.width, canvas.height);
        const data = ctx.getImageData(left, top, columns * cell, rows * cell).data;
        const stride = columns * cell * 4;
        const cells = [];
        for (let r = 0; r < rows; r += 1) {
          for (let c = 0; c < columns; c += 1) {
            let sum = 0;
            for (let y = r * cell + edge; y < r * cell + edge + middle; y += 1) {
              for (let x = c * cell + edge; x < c * cell + edge + middle; x += 1) {
                sum += data[y * stride + x * 4 + 1]; // green: the colour is grey
              }
            }
            cells.push(Math.round(sum / (middle * middle)));
          }
        }
        const origin = performance.timeOrigin;
        frames.push([
          origin + m.expectedDisplayTime,
          origin + m.presentationTime,
          m.receiveTime !== undefined ? origin + m.receiveTime : null,
          cells.join(','),
        ]);
      }
      lastPresented = m.presentedFrames;
      v.requestVideoFrameCallback(onFrame);
    };
    v.requestVideoFrameCallback(onFrame);

    await new Promise((r) => setTimeout(r, warmupMs));
    const before = await inbound();
    // Both clocks should be CLOCK_REALTIME: Date.now() against timeOrigin + now().
    const clockSkewMs = Date.now() - (performance.timeOrigin + performance.now());
    collecting = true;
    await new Promise((r) => setTimeout(r, windowMs));
    collecting = false;
    done = true;
    const after = await inbound();
    const delta = (k) => (after[k] ?? 0) - (before[k] ?? 0);
    const decoded = delta('framesDecoded');
    const emitted = delta('jitterBufferEmittedCount');
    return {
      frames,
      stats: {
        frames_missed_by_callback: missed,
        frames_decoded: decoded,
        frames_dropped: delta('framesDropped'),
        freeze_count: delta('freezeCount'),
        jitter_buffer_ms_per_frame: emitted ? (delta('jitterBufferDelay') * 1000) / emitted : null,
        jitter_buffer_target_ms_per_frame: emitted ? (delta('jitterBufferTargetDelay') * 1000) / emitted : null,
        decode_ms_per_frame: decoded ? (delta('totalDecodeTime') * 1000) / decoded : null,
        processing_ms_per_frame: decoded ? (delta('totalProcessingDelay') * 1000) / decoded : null,
        assembly_ms_per_frame: after.framesAssembledFromMultiplePackets
          ? (delta('totalAssemblyTime') * 1000) / delta('framesAssembledFromMultiplePackets') : null,
        frame_width: after.frameWidth,
        frame_height: after.frameHeight,
        clock_skew_ms: clockSkewMs,
        label: (document.querySelector('[data-playback]') || {}).textContent || '',
      },
    };
  }, { warmupMs: Number(warmupMs), windowMs: Number(windowMs), left, top, cell, columns, rows });

  const lines = result.frames.map(([e, p, r, cells]) => `frame ${e.toFixed(3)} ${p.toFixed(3)} ${r === null ? '-' : r.toFixed(3)} ${cells}`);
  for (const [k, val] of Object.entries(result.stats)) {
    lines.push(`stat ${k} ${val === null || val === undefined ? '-' : String(val).replace(/\s+/g, '_')}`);
  }
  for (const e of errors) lines.push(`stat page_error ${e.replace(/\s+/g, '_')}`);
  lines.push('end');
  console.log(lines.join('\n'));
} finally {
  await browser.close();
}
