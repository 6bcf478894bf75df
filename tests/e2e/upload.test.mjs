// Browser end-to-end test of `postpolicy serve`: Debian's Chromium, driven by
// playwright-core, opens the demo page, uploads a file through the real upload
// endpoint and reads the stored object back; a too-large file shows the
// endpoint's rejection. Run by scripts/test-browser.sh, which starts the
// server and passes its URLs:
//   POSTPOLICY_APP_URL   the demo page, e.g. http://127.0.0.1:8080/
//   POSTPOLICY_OSS_URL   the upload endpoint, e.g. http://127.0.0.1:9090/postpolicy-dev
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = path.join(here, 'artifacts');
const appUrl = process.env.POSTPOLICY_APP_URL;
const ossUrl = process.env.POSTPOLICY_OSS_URL;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

const MiB = 1024 * 1024;
let context;
let profile;

function pattern(size, seed) {
  const bytes = Buffer.alloc(size);
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

before(async () => {
  assert.ok(appUrl && ossUrl, 'POSTPOLICY_APP_URL and POSTPOLICY_OSS_URL must be set (run scripts/test-browser.sh)');
  await mkdir(artifacts, { recursive: true });
  profile = await mkdtemp(path.join(tmpdir(), 'postpolicy-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1000, height: 760 },
  });
});

after(async () => {
  if (context) await context.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

test('uploads a file from the demo page and stores identical bytes', async () => {
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  await page.goto(appUrl);
  await page.getByRole('heading', { name: 'Upload a file' }).waitFor();

  // Record every value the progress bar takes.
  await page.evaluate(() => {
    window.progressSeen = [];
    const bar = document.getElementById('progress');
    new MutationObserver(() => window.progressSeen.push(Number(bar.value)))
      .observe(bar, { attributes: true, attributeFilter: ['value'] });
  });

  const bytes = pattern(3 * MiB + 123, 42);
  await page.setInputFiles('#file', { name: 'e2e photo.bin', mimeType: 'application/octet-stream', buffer: bytes });
  await page.click('#upload');
  await page.waitForFunction(() => document.getElementById('result').textContent.includes('Uploaded'), null, { timeout: 60_000 });
  await page.screenshot({ path: path.join(artifacts, 'upload-success.png'), fullPage: true });

  const result = await page.textContent('#result');
  assert.match(result, /Uploaded uploads\/[0-9a-f]+\/e2e photo\.bin \(3145851 bytes, ETag "[0-9A-F]{32}"\)/);
  assert.match(result, /the application confirmed it: OK/);
  assert.equal(await page.textContent('#percent'), '100%');
  assert.equal(await page.evaluate(() => document.getElementById('progress').value), 100);
  const seen = await page.evaluate(() => window.progressSeen);
  assert.ok(seen.includes(100), `progress never reached 100: ${seen}`);
  assert.equal((await page.textContent('#error')).trim(), '');

  const href = await page.getAttribute('#stored-link', 'href');
  assert.ok(href.startsWith(ossUrl + '/'), href);
  const stored = await fetch(href);
  assert.equal(stored.status, 200);
  assert.equal(stored.headers.get('content-type'), 'application/octet-stream');
  const back = Buffer.from(await stored.arrayBuffer());
  assert.equal(back.length, bytes.length);
  assert.ok(back.equals(bytes), 'the stored bytes differ from the uploaded file');
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('a file above the policy maximum shows the rejection', async () => {
  const page = await context.newPage();
  await page.goto(appUrl);
  // The default policy allows 1 byte .. 10 MiB.
  const bytes = pattern(10 * MiB + 1, 7);
  await page.setInputFiles('#file', { name: 'too-big.bin', mimeType: 'application/octet-stream', buffer: bytes });
  await page.click('#upload');
  await page.waitForFunction(() => document.getElementById('error').textContent.length > 0, null, { timeout: 60_000 });
  await page.screenshot({ path: path.join(artifacts, 'upload-too-large.png'), fullPage: true });
  const error = await page.textContent('#error');
  assert.match(error, /Upload rejected: EntityTooLarge: Your proposed upload exceeds the maximum allowed size\./);
  assert.match(error, /Why: the file is \d+ bytes, above the maximum of 10485760 bytes/);
  assert.equal((await page.textContent('#result')).trim(), '');

  const listing = await (await fetch(new URL('/uploads?format=json', appUrl))).json();
  assert.ok(!listing.some((o) => o.key.endsWith('/too-big.bin')), 'the rejected file was stored');
  await page.close();
});
