// Draws a motion exclude zone on a camera page in headless Chromium as an admin would:
// sign in, click three corners on the live picture, close the zone, save. Prints one JSON
// line with what the page said, for crates/lookout/tests/it/zones.rs to check.
//
//   node zones.mjs BASE_URL CAMERA USER PASSWORD SCREENSHOT.png
import { launchChromium } from './launch.mjs';

const [base, camera, user, password, screenshot] = process.argv.slice(2);
const browser = await launchChromium();
const report = {};
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  await page.goto(`${base}/cameras/${camera}`);
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(`${base}/cameras/${camera}`), page.click('button[type=submit]')]);
  // The picture must be showing so the overlay has its size: the MJPEG <img>, or the <video>
  // when the camera offers H.264 (encoded, in a build with the openh264 feature).
  await page.waitForFunction(() => {
    const img = document.querySelector('figure.cam img:not([hidden])');
    const video = document.querySelector('figure.cam video:not([hidden])');
    return img?.naturalWidth > 0 || video?.videoWidth > 0;
  });
  report.picture = await page.evaluate(() =>
    document.querySelector('figure.cam video:not([hidden])')?.videoWidth > 0 ? 'video' : 'img');
  const box = await page.locator('[data-zone-overlay]').boundingBox();
  for (const [x, y] of [[0.1, 0.1], [0.6, 0.1], [0.6, 0.5]]) {
    await page.mouse.click(box.x + x * box.width, box.y + y * box.height);
  }
  await page.click('[data-close=exclude]');
  await page.click('[data-save]');
  await page.waitForFunction(() => document.querySelector('[data-zone-status]').textContent !== 'not saved yet');
  report.status = await page.textContent('[data-zone-status]');
  report.polygons = await page.locator('[data-zone-overlay] polygon.exclude').count();
  await page.screenshot({ path: screenshot });
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
