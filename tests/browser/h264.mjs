// Opens a camera page in headless Chromium and reports how its live picture plays: with Media
// Source Extensions, whether the <video> plays H.264 (frames decoded and current time, twice
// WAIT_MS apart, and whether the picture changed between two canvas copies); with
// `nomse`, MediaSource is deleted before the page's scripts run and the page must say why.
// With `latency`, after WAIT_MS it times every frame presented for 10 s: the wall clock when
// Chromium presents it minus when Lookout captured it (the response's X-Lookout-Start plus the
// frame's media time), as p50/p99/max in ms.
// One JSON line on stdout, for crates/lookout/tests/it/h264.rs.
//
//   node h264.mjs PAGE_URL mse|nomse|latency WAIT_MS
import { launchChromium } from './launch.mjs';

const [url, mode, waitMs] = process.argv.slice(2);
if (!waitMs) {
  console.error('usage: node h264.mjs PAGE_URL mse|nomse|latency WAIT_MS');
  process.exit(2);
}

const browser = await launchChromium({ autoplay: true });
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  if (mode === 'nomse') {
    await page.addInitScript(() => {
      delete window.MediaSource;
      delete window.ManagedMediaSource;
    });
  }
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  if (mode === 'latency') {
    await page.waitForTimeout(Number(waitMs));
    const latency = await page.evaluate(() => new Promise((resolve) => {
      const v = document.querySelector('figure.cam video');
      const samples = [];
      const until = performance.now() + 10000;
      const onFrame = (now, meta) => {
        const start = Number(v.dataset.start);
        if (start > 0) samples.push(performance.timeOrigin + now - (start * 1000 + meta.mediaTime * 1000));
        if (performance.now() < until) v.requestVideoFrameCallback(onFrame);
        else {
          samples.sort((a, b) => a - b);
          const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
          resolve({ n: samples.length, p50: at(0.5), p99: at(0.99), max: samples[samples.length - 1] });
        }
      };
      v.requestVideoFrameCallback(onFrame);
    }));
    console.log(JSON.stringify({ latency, errors }));
  } else {
  const state = () => page.evaluate(() => {
    const v = document.querySelector('figure.cam video');
    const img = document.querySelector('figure.cam img');
    const label = document.querySelector('[data-playback]');
    const out = {
      video: !!v,
      video_hidden: v ? v.hidden : null,
      img_hidden: img ? img.hidden : null,
      img_src: img ? img.getAttribute('src') : null,
      label: label ? label.textContent : null,
      can_play_avc: !!window.MediaSource
        && MediaSource.isTypeSupported('video/mp4; codecs="avc1.42E01E"'),
    };
    if (v) {
      out.frames = v.getVideoPlaybackQuality().totalVideoFrames;
      out.current_time = v.currentTime;
      out.width = v.videoWidth;
      out.height = v.videoHeight;
      out.error = v.error ? v.error.code : null;
      if (v.videoWidth) {
        const c = document.createElement('canvas');
        c.width = 64;
        c.height = 36;
        const ctx = c.getContext('2d');
        ctx.drawImage(v, 0, 0, 64, 36);
        out.pixels = Array.from(ctx.getImageData(0, 0, 64, 36).data);
      }
    }
    return out;
  });
  await page.waitForTimeout(Number(waitMs));
  const first = await state();
  await page.waitForTimeout(Number(waitMs));
  const second = await state();
  let changed = 0;
  if (first.pixels && second.pixels) {
    for (let i = 0; i < first.pixels.length; i += 1) {
      if (Math.abs(first.pixels[i] - second.pixels[i]) > 40) changed += 1;
    }
  }
  delete first.pixels;
  delete second.pixels;
  console.log(JSON.stringify({ first, second, changed, errors }));
  }
} finally {
  await browser.close();
}
