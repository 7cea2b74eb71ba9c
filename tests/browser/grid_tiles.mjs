// Opens Lookout's camera grid in headless Chromium at each device pixel ratio given and
// reports, WAIT_MS after the navigation began, what every tile asked for and drew: the URL, the
// tile's CSS width, the decoded picture's size, and the bytes Chromium received for that URL
// (from the DevTools protocol's Network.dataReceived, so the multipart stream counts while it
// is still open). One JSON line on stdout, for crates/lookout/tests/it/grid_tiles.rs and the
// byte counts in docs/performance.md.
//
//   node grid_tiles.mjs GRID_URL WAIT_MS VIEWPORT_WIDTH DPR[,DPR...]
import { launchChromium } from './launch.mjs';

const [url, waitMs, viewportWidth, ratios] = process.argv.slice(2);
if (!ratios) {
  console.error('usage: node grid_tiles.mjs GRID_URL WAIT_MS VIEWPORT_WIDTH DPR[,DPR...]');
  process.exit(2);
}

const browser = await launchChromium();
const out = [];
try {
  for (const dpr of ratios.split(',').map(Number)) {
    const context = await browser.newContext({
      viewport: { width: Number(viewportWidth), height: 800 },
      deviceScaleFactor: dpr,
    });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    const urls = new Map();
    const bytes = {};
    cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
    cdp.on('Network.dataReceived', (e) => {
      const u = urls.get(e.requestId);
      if (u) bytes[u] = (bytes[u] || 0) + e.dataLength;
    });
    const started = Date.now();
    // A page with never-ending multipart images may never fire `load`: wait for the DOM only.
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    const left = Number(waitMs) - (Date.now() - started);
    if (left > 0) await page.waitForTimeout(left);
    const tiles = await page.evaluate(() => [...document.querySelectorAll('figure.cam img')].map((img) => ({
      camera: img.closest('[data-camera]').dataset.camera,
      src: img.currentSrc || img.src,
      css_width: img.getBoundingClientRect().width,
      natural_width: img.naturalWidth,
      natural_height: img.naturalHeight,
    })));
    const seconds = (Date.now() - started) / 1000;
    for (const t of tiles) t.bytes = bytes[t.src] || 0;
    out.push({ dpr, seconds, tiles });
    await context.close();
  }
  console.log(JSON.stringify(out));
} finally {
  await browser.close();
}
