// Plays an event's clip on the events page in headless Chromium: finds the <video> of event
// EVENT_ID, plays it, and reports whether its time advanced and its picture size. Prints one
// JSON line for crates/lookout/tests/it/playback.rs.
//
//   node event_clip.mjs EVENTS_PAGE_URL EVENT_ID
import { launchChromium } from './launch.mjs';

const [url, id] = process.argv.slice(2);
if (!url || !id) {
  console.error('usage: node event_clip.mjs EVENTS_PAGE_URL EVENT_ID');
  process.exit(2);
}

const browser = await launchChromium({ autoplay: true });
const report = { errors: [] };
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => report.errors.push(String(e)));
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) report.errors.push(`${r.status()} ${r.url()}`);
  });
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  const video = page.locator(`#event-${id} video`);
  report.src = await video.getAttribute('src', { timeout: 10000 });
  await video.evaluate((v) => { v.muted = true; return v.play(); });
  // Generous: "it plays at all" on a busy machine, not a timing target.
  await page.waitForFunction(
    (sel) => { const v = document.querySelector(sel); return v.error || v.currentTime > 0.5; },
    `#event-${id} video`, { timeout: 20000 },
  ).catch(() => {});
  Object.assign(report, await video.evaluate((v) => ({
    current_time: v.currentTime,
    width: v.videoWidth,
    height: v.videoHeight,
    error: v.error ? v.error.code : null,
  })));
} catch (e) {
  report.failure = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
