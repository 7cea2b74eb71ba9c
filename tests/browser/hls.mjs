// Plays a Lookout HLS playlist in headless Chromium: with `native`, its own HLS player
// (<video src=PLAYLIST_PATH>); with `hlsjs`, hls.js from npm (a test dependency: Lookout does
// not ship it) on Media Source Extensions. The page at PAGE_URL (Lookout's origin, answered by
// this script itself) holds only the <video>. After WAIT_MS it reads the video's time, 3 s
// later again, with its size and errors. One JSON line on stdout, for
// crates/lookout/tests/it/hls.rs.
//
//   node hls.mjs PAGE_URL PLAYLIST_PATH native|hlsjs WAIT_MS
import { launchChromium } from './launch.mjs';
import { createRequire } from 'node:module';

const [pageUrl, playlist, mode, waitMs] = process.argv.slice(2);
if (!waitMs || !['native', 'hlsjs'].includes(mode)) {
  console.error('usage: node hls.mjs PAGE_URL PLAYLIST_PATH native|hlsjs WAIT_MS');
  process.exit(2);
}

const browser = await launchChromium({ autoplay: true });
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  // The test page itself does not come from Lookout; the playlist and segments do.
  await page.route(pageUrl, (route) => route.fulfill({
    contentType: 'text/html',
    body: '<!doctype html><video muted autoplay playsinline></video>',
  }));
  await page.goto(pageUrl, { waitUntil: 'domcontentloaded' });
  if (mode === 'hlsjs') {
    const require = createRequire(import.meta.url);
    await page.addScriptTag({ path: require.resolve('hls.js/dist/hls.min.js') });
    await page.evaluate((src) => {
      const hls = new window.Hls();
      hls.on(window.Hls.Events.ERROR, (_, d) => {
        if (d.fatal) console.error(`hls.js: ${d.type} ${d.details}`);
      });
      hls.loadSource(src);
      hls.attachMedia(document.querySelector('video'));
    }, playlist);
  } else {
    await page.evaluate((src) => { document.querySelector('video').src = src; }, playlist);
  }
  await page.waitForTimeout(Number(waitMs));
  const read = () => page.evaluate(() => {
    const v = document.querySelector('video');
    return {
      can_play: v.canPlayType('application/vnd.apple.mpegurl'),
      time: v.currentTime,
      width: v.videoWidth,
      height: v.videoHeight,
      error: v.error ? `${v.error.code} ${v.error.message}` : null,
    };
  });
  const before = await read();
  await page.waitForTimeout(3000);
  const after = await read();
  console.log(JSON.stringify({
    can_play: after.can_play, time_before: before.time, time_after: after.time,
    width: after.width, height: after.height, error: after.error, errors,
  }));
} finally {
  await browser.close();
}
