// Opens a page holding a live MJPEG <img> in headless Chromium and reports, WAIT_MS after the
// navigation began, what the browser draws: the image's decoded size and how many pixels of a
// canvas copy are the test pattern's yellow and blue. One JSON line on stdout, for
// crates/lookout/tests/it/clients.rs.
//
//   node first_frame.mjs PAGE_URL IMG_SELECTOR WAIT_MS SCREENSHOT.png
import { launchChromium } from './launch.mjs';

const [url, selector, waitMs, screenshot] = process.argv.slice(2);
if (!screenshot) {
  console.error('usage: node first_frame.mjs PAGE_URL IMG_SELECTOR WAIT_MS SCREENSHOT.png');
  process.exit(2);
}

const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  const started = Date.now();
  // A page with a never-ending multipart image may never fire `load`: wait for the DOM only.
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  const left = Number(waitMs) - (Date.now() - started);
  if (left > 0) await page.waitForTimeout(left);
  const seen = await page.evaluate((sel) => {
    const img = document.querySelector(sel);
    const out = { natural_width: img ? img.naturalWidth : -1, natural_height: img ? img.naturalHeight : -1, yellow: 0, blue: 0 };
    if (!img || img.naturalWidth === 0) return out;
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < px.length; i += 4) {
      const [r, g, b] = [px[i], px[i + 1], px[i + 2]];
      if (r > 200 && g > 200 && b < 60) out.yellow += 1;
      if (b > 200 && r < 60 && g < 60) out.blue += 1;
    }
    return out;
  }, selector);
  seen.elapsed_ms = Date.now() - started;
  await page.screenshot({ path: screenshot });
  console.log(JSON.stringify(seen));
} finally {
  await browser.close();
}
