// Plays a recording from the camera page's timeline in headless Chromium: waits for a
// recorded run on the bar, clicks it, checks that the recorded <video> plays (time advances,
// a picture size), goes back with "Live", then uses the keyboard (focus the bar, End, Enter)
// and the export form. Prints one JSON line for crates/lookout/tests/it/playback.rs.
//
//   node timeline.mjs PAGE_URL
import { launchChromium } from './launch.mjs';

const [url] = process.argv.slice(2);
if (!url) {
  console.error('usage: node timeline.mjs PAGE_URL');
  process.exit(2);
}

const browser = await launchChromium({ autoplay: true });
const report = { errors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  page.on('pageerror', (e) => report.errors.push(String(e)));
  // Refusals are counted by URL below (the browser's own "Failed to load resource" line
  // does not say which); a missing favicon is not the page's.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) report.errors.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) report.errors.push(`${r.status()} ${r.url()}`);
  });
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('[data-timeline] [data-bar] .run', { timeout: 20000 });
  report.runs = await page.locator('[data-bar] .run').count();
  report.bar_label = await page.evaluate(() => {
    const bar = document.querySelector('[data-bar]');
    return {
      role: bar.getAttribute('role'),
      tabindex: bar.getAttribute('tabindex'),
      labelled: document.getElementById(bar.getAttribute('aria-labelledby'))?.textContent,
      valuetext: bar.getAttribute('aria-valuetext'),
    };
  });
  const recorded = () => page.evaluate(() => {
    const fig = document.querySelector('figure[data-recorded]');
    const v = fig.querySelector('video');
    const live = document.querySelector('figure.cam.large:not([data-recorded])');
    return {
      recorded_hidden: fig.hidden,
      live_hidden: live.hidden,
      src: v.getAttribute('src'),
      current_time: v.currentTime,
      width: v.videoWidth,
      height: v.videoHeight,
      error: v.error ? v.error.code : null,
      status: document.querySelector('[data-timeline-status]').textContent,
      live_disabled: document.querySelector('[data-live]').disabled,
    };
  });

  // Click the middle of the (last) run.
  await page.locator('[data-bar] .run').last().click();
  await page.waitForFunction(() => {
    const v = document.querySelector('figure[data-recorded] video');
    return v.videoWidth > 0 && v.currentTime > 0;
  }, null, { timeout: 20000 });
  report.click_first = await recorded();
  await page.waitForTimeout(1500);
  report.click_second = await recorded();

  await page.click('[data-live]');
  report.after_live = await recorded();

  // Keyboard: focus the bar, End (now: snapped to the newest recording), Enter.
  await page.focus('[data-bar]');
  await page.keyboard.press('End');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => {
    const v = document.querySelector('figure[data-recorded] video');
    return v.videoWidth > 0 && v.currentTime > 0;
  }, null, { timeout: 20000 });
  report.keyboard = await recorded();

  // The export form: filled by the last play; submit makes the link, which downloads an MP4.
  await page.click('[data-export] button[type=submit]');
  const href = await page.getAttribute('[data-export-link]', 'href');
  report.export_href = href;
  report.export_hidden = await page.evaluate(() => document.querySelector('[data-export-link]').hidden);
  const r = await page.request.get(new URL(href, url).toString());
  report.export_status = r.status();
  report.export_type = r.headers()['content-type'];
  report.export_disposition = r.headers()['content-disposition'];
  report.export_bytes = (await r.body()).length;
} catch (e) {
  report.failure = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
