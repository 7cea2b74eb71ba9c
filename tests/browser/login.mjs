// Signs in to Lookout in headless Chromium the way a person does and reports what the browser
// saw, as one JSON line on stdout, for crates/lookout/tests/it/browser.rs to check.
//
//   node login.mjs BASE_URL USER PASSWORD SCREENSHOT.png
import { launchChromium } from './launch.mjs';

const [base, user, password, screenshot] = process.argv.slice(2);
if (!screenshot) {
  console.error('usage: node login.mjs BASE_URL USER PASSWORD SCREENSHOT.png');
  process.exit(2);
}

const browser = await launchChromium();
const report = {};
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  const cspViolations = [];
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });

  // A visitor without a session lands on the login form.
  await page.goto(`${base}/`);
  report.first_url = new URL(page.url()).pathname + new URL(page.url()).search;

  // A wrong password first: the form says so and stays.
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', 'not the password');
  await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
  report.wrong_password_message = (await page.textContent('.error')) ?? '';

  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(`${base}/`), page.click('button[type=submit]')]);
  report.after_login_url = new URL(page.url()).pathname;
  report.user_bar = ((await page.textContent('.userbar')) ?? '').trim();

  // The live MJPEG picture paints (the <img> has decoded at least one frame).
  await page.waitForFunction(() => {
    const img = document.querySelector('figure.cam img');
    return img && img.complete !== undefined && img.naturalWidth > 0;
  }, null, { timeout: 10000 });
  report.image_width = await page.evaluate(() => document.querySelector('figure.cam img').naturalWidth);
  // HttpOnly: page scripts cannot read the session cookie.
  report.document_cookie = await page.evaluate(() => document.cookie);
  await page.screenshot({ path: screenshot });

  // Signing out returns to the login form, and the stream URL then needs credentials again.
  await Promise.all([page.waitForURL(/\/login/), page.click('.userbar button')]);
  report.after_logout_url = new URL(page.url()).pathname;
  const resp = await page.request.get(`${base}/api/cameras`);
  report.api_after_logout = resp.status();
  report.csp_violations = cspViolations;
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
