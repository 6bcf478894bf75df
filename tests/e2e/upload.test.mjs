// Browser end-to-end test of `postpolicy serve`: Debian's Chromium, driven by
// playwright-core, opens the demo page, uploads a file through the real upload
// endpoint and reads the stored object back; a too-large and a wrong-type file
// are refused in the page with the verifier's words, and not one request
// reaches the endpoint (counted in the server's request log and in the
// browser); Uppy's @uppy/aws-s3 uploads through postpolicy's adapter and reads
// the ETag. Run by scripts/test-browser.sh, which starts the server (with
// tests/e2e/e2e.policy) and passes:
//   POSTPOLICY_APP_URL   the demo page, e.g. http://127.0.0.1:8080/
//   POSTPOLICY_OSS_URL   the upload endpoint, e.g. http://127.0.0.1:9090/postpolicy-dev
//   POSTPOLICY_SERVE_LOG the server's request log (one line per request)
//   POSTPOLICY_BIN       the postpolicy binary (a second `serve` for the
//                        front end on another origin)

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const here = path.dirname(fileURLToPath(import.meta.url))
const artifacts = path.join(here, 'artifacts')
const appUrl = process.env.POSTPOLICY_APP_URL
const ossUrl = process.env.POSTPOLICY_OSS_URL
const serveLog = process.env.POSTPOLICY_SERVE_LOG
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium'

const MiB = 1024 * 1024
let context
let profile

function pattern(size, seed) {
  const bytes = Buffer.alloc(size)
  let x = seed >>> 0
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    bytes[i] = x >>> 24
  }
  return bytes
}

/**
 * How many form posts the upload endpoint has answered, from the server's
 * log: it writes `[oss] POST /<bucket> -> <status> (<id>)` before it answers,
 * so a post the page has seen answered is counted.
 */
async function endpointPosts() {
  const line = `[oss] POST ${new URL(ossUrl).pathname} -> `
  const text = await readFile(serveLog, 'utf8')
  return text.split('\n').filter((l) => l.startsWith(line)).length
}

/** Every request the page sends to the upload endpoint (preflights included). */
function watchEndpoint(page) {
  const sent = []
  const origin = new URL(ossUrl).origin
  page.on('request', (request) => {
    if (new URL(request.url()).origin === origin) sent.push(`${request.method()} ${request.url()}`)
  })
  return sent
}

/** Uploads a small allowed file from the demo page and waits for its answer. */
async function uploadAllowed(page, name) {
  await page.setInputFiles('#file', { name, mimeType: 'image/png', buffer: pattern(2048, 3) })
  await page.click('#upload')
  await page.waitForFunction(() => document.getElementById('result').textContent.includes('Uploaded'), null, { timeout: 60_000 })
}

before(async () => {
  assert.ok(appUrl && ossUrl && serveLog, 'POSTPOLICY_APP_URL, POSTPOLICY_OSS_URL and POSTPOLICY_SERVE_LOG must be set (run scripts/test-browser.sh)')
  await mkdir(artifacts, { recursive: true })
  profile = await mkdtemp(path.join(tmpdir(), 'postpolicy-chromium-'))
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1000, height: 760 },
  })
})

after(async () => {
  if (context) await context.close()
  if (profile) await rm(profile, { recursive: true, force: true })
})

test('uploads a file from the demo page and stores identical bytes', async () => {
  const page = await context.newPage()
  const consoleErrors = []
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text())
  })
  await page.goto(appUrl)
  await page.getByRole('heading', { name: 'Upload a file' }).waitFor()

  // Record every value the progress bar takes.
  await page.evaluate(() => {
    window.progressSeen = []
    const bar = document.getElementById('progress')
    new MutationObserver(() => window.progressSeen.push(Number(bar.value))).observe(bar, { attributes: true, attributeFilter: ['value'] })
  })

  const bytes = pattern(3 * MiB + 123, 42)
  await page.setInputFiles('#file', { name: 'e2e photo.bin', mimeType: 'application/octet-stream', buffer: bytes })
  await page.click('#upload')
  await page.waitForFunction(() => document.getElementById('result').textContent.includes('Uploaded'), null, { timeout: 60_000 })
  await page.screenshot({ path: path.join(artifacts, 'upload-success.png'), fullPage: true })

  const result = await page.textContent('#result')
  assert.match(result, /Uploaded uploads\/[0-9a-f]+\/e2e photo\.bin \(3145851 bytes, ETag "[0-9A-F]{32}"\)/)
  assert.match(result, /the application confirmed it: OK/)
  assert.equal(await page.textContent('#percent'), '100%')
  assert.equal(await page.evaluate(() => document.getElementById('progress').value), 100)
  const seen = await page.evaluate(() => window.progressSeen)
  assert.ok(seen.includes(100), `progress never reached 100: ${seen}`)
  assert.equal((await page.textContent('#error')).trim(), '')

  const href = await page.getAttribute('#stored-link', 'href')
  assert.ok(href.startsWith(`${ossUrl}/`), href)
  const stored = await fetch(href)
  assert.equal(stored.status, 200)
  assert.equal(stored.headers.get('content-type'), 'application/octet-stream')
  const back = Buffer.from(await stored.arrayBuffer())
  assert.equal(back.length, bytes.length)
  assert.ok(back.equals(bytes), 'the stored bytes differ from the uploaded file')
  assert.deepEqual(consoleErrors, [])
  await page.close()
})

test('a file above the policy maximum shows the rejection', async () => {
  const page = await context.newPage()
  const sent = watchEndpoint(page)
  await page.goto(appUrl)
  const postsBefore = await endpointPosts()
  // The default policy allows 1 byte .. 10 MiB.
  const bytes = pattern(10 * MiB + 1, 7)
  await page.setInputFiles('#file', { name: 'too-big.bin', mimeType: 'application/octet-stream', buffer: bytes })
  await page.click('#upload')
  await page.waitForFunction(() => document.getElementById('error').textContent.length > 0, null, { timeout: 60_000 })
  await page.screenshot({ path: path.join(artifacts, 'upload-too-large.png'), fullPage: true })
  const error = await page.textContent('#error')
  assert.match(error, /Upload rejected: EntityTooLarge: Your proposed upload exceeds the maximum allowed size\./)
  assert.match(error, /Why: the file is \d+ bytes, above the maximum of 10485760 bytes/)
  assert.equal((await page.textContent('#result')).trim(), '')

  const listing = await (await fetch(new URL('/uploads?format=json', appUrl))).json()
  assert.ok(!listing.some((o) => o.key.endsWith('/too-big.bin')), 'the rejected file was stored')
  // Refused in the page: not a byte went out. The progress bar never moved.
  assert.deepEqual(sent, [], 'the page sent nothing to the endpoint')
  assert.equal(await page.textContent('#percent'), '0%')
  // The next good upload is the endpoint's one new post: the count works.
  await uploadAllowed(page, 'after-too-big.png')
  assert.equal(await endpointPosts(), postsBefore + 1)
  assert.equal(sent.filter((r) => r.startsWith('POST ')).length, 1)
  await page.close()
})

test('a file of a type the policy does not allow is refused in the page', async () => {
  const page = await context.newPage()
  const sent = watchEndpoint(page)
  await page.goto(appUrl)
  const postsBefore = await endpointPosts()
  await page.setInputFiles('#file', { name: 'page.html', mimeType: 'text/html', buffer: Buffer.from('<h1>not an image</h1>') })
  await page.click('#upload')
  await page.waitForFunction(() => document.getElementById('error').textContent.length > 0, null, { timeout: 60_000 })
  await page.screenshot({ path: path.join(artifacts, 'upload-wrong-type.png'), fullPage: true })
  const error = await page.textContent('#error')
  assert.match(
    error,
    /^Upload rejected: AccessDenied: Invalid according to Policy: Policy Condition failed: \["in", "\$content-type", \["image\/png", "image\/jpeg", "application\/octet-stream"\]\]/,
  )
  assert.match(error, /Why: content-type `text\/html` is not one of `image\/png`, `image\/jpeg`, `application\/octet-stream`/)
  assert.deepEqual(sent, [], 'the page sent nothing to the endpoint')

  await uploadAllowed(page, 'after-wrong-type.png')
  assert.equal(await endpointPosts(), postsBefore + 1)
  await page.close()
})

/**
 * The demo page with Uppy added (uppy-harness.mjs): a page the server served,
 * so that it may post to the endpoint on this machine; Uppy's bundle is
 * served from tests/e2e/node_modules.
 */
async function uppyPage() {
  const page = await context.newPage()
  const bundle = path.join(here, 'node_modules', 'uppy', 'dist', 'uppy.min.mjs')
  await page.route(new URL('/__e2e/uppy.min.mjs', appUrl).href, async (route) =>
    route.fulfill({ status: 200, contentType: 'text/javascript; charset=utf-8', body: await readFile(bundle) }),
  )
  const errors = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(appUrl)
  await page.addScriptTag({ type: 'module', path: path.join(here, 'uppy-harness.mjs') })
  await page.waitForFunction(() => document.body.dataset.uppy === 'ready', null, { timeout: 60_000 })
  return { page, errors }
}

test('Uppy (@uppy/aws-s3, POST mode) uploads through the adapter and reads the ETag', async () => {
  const { page, errors } = await uppyPage()
  const sent = watchEndpoint(page)
  const postsBefore = await endpointPosts()
  const size = 256 * 1024 + 7
  const events = await page.evaluate(([n, t, s, seed]) => window.uppyUpload(n, t, s, seed), ['uppy cat.png', 'image/png', size, 11])
  assert.equal(events.length, 1, JSON.stringify(events))
  const [done] = events
  assert.equal(done.event, 'upload-success', JSON.stringify(done))
  assert.match(done.etag, /^"[0-9A-F]{32}"$/)
  assert.ok(done.location.startsWith(`${ossUrl}/uploads/`), done.location)
  assert.ok(done.location.endsWith('/uppy%20cat.png'), done.location)
  assert.equal(await endpointPosts(), postsBefore + 1)
  assert.equal(sent.filter((r) => r.startsWith('POST ')).length, 1)

  const stored = await fetch(done.location)
  assert.equal(stored.status, 200)
  assert.equal(stored.headers.get('etag'), done.etag)
  assert.equal(stored.headers.get('content-type'), 'image/png')
  assert.ok(Buffer.from(await stored.arrayBuffer()).equals(pattern(size, 11)), 'the stored bytes differ')
  assert.deepEqual(errors, [])
  await page.close()
})

test('Uppy: a file the token refuses fails before a byte is sent', async () => {
  const { page } = await uppyPage()
  const sent = watchEndpoint(page)
  const events = await page.evaluate(([n, t, s, seed]) => window.uppyUpload(n, t, s, seed), ['too-big.png', 'image/png', 10 * MiB + 1, 5])
  assert.equal(events.length, 1, JSON.stringify(events))
  assert.equal(events[0].event, 'upload-error')
  assert.equal(events[0].code, 'EntityTooLarge')
  assert.equal(events[0].message, 'Your proposed upload exceeds the maximum allowed size.')
  assert.match(events[0].reason, /^the file is 10485761 bytes, above the maximum of 10485760 bytes/)
  assert.deepEqual(sent, [])
  await page.close()
})

/** A static server on this machine: `files` maps a path to [file, type]. */
async function staticServer(files) {
  const server = createServer(async (request, response) => {
    const entry = files[new URL(request.url, 'http://x').pathname]
    if (!entry) {
      response.writeHead(404).end('not found')
      return
    }
    response.writeHead(200, { 'content-type': entry[1] }).end(await readFile(entry[0]))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, origin: `http://127.0.0.1:${server.address().port}` }
}

/** `postpolicy serve` with `args`; resolves with its URLs once it listens. */
async function startServe(args) {
  const data = await mkdtemp(path.join(tmpdir(), 'postpolicy-front-'))
  const env = { ...process.env }
  for (const name of [
    'OSS_ACCESS_KEY_ID',
    'OSS_ACCESS_KEY_SECRET',
    'OSS_SESSION_TOKEN',
    'ALIBABA_CLOUD_ACCESS_KEY_ID',
    'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
    'ALIBABA_CLOUD_SECURITY_TOKEN',
  ])
    delete env[name]
  const child = spawn(process.env.POSTPOLICY_BIN, ['serve', '--host', '127.0.0.1', '--port', '0', '--oss-port', '0', '--data-dir', data, '--quiet', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const urls = {}
  for await (const line of createInterface({ input: child.stdout })) {
    const words = line.trim().split(/\s+/)
    if (words[0] === 'upload' && words[1] === 'page') urls.app = words[2]
    if (words[0] === 'OSS' && words[1] === 'endpoint') urls.oss = words[2]
    if (words[0] === 'Press') break
  }
  assert.ok(urls.app && urls.oss, 'serve printed its URLs')
  const stop = async () => {
    child.kill()
    await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve()))
    await rm(data, { recursive: true, force: true })
  }
  return { ...urls, stop }
}

test('a front end on another origin fetches its token (--app-cors-origin) and uploads (--cors-origin)', async () => {
  const front = await staticServer({
    '/': [path.join(here, 'front-end.html'), 'text/html; charset=utf-8'],
    '/browser.js': [path.join(here, '..', '..', 'node', 'browser.js'), 'text/javascript; charset=utf-8'],
  })
  const allowed = await startServe(['--app-cors-origin', front.origin, '--cors-origin', front.origin])
  const closed = await startServe([])
  const page = await context.newPage()
  try {
    await page.goto(`${front.origin}/`)
    await page.waitForFunction(() => document.body.dataset.ready === 'yes')
    const done = await page.evaluate((app) => window.frontUpload(app), allowed.app)
    assert.equal(done.ok, true, JSON.stringify(done))
    assert.match(done.etag, /^"[0-9A-F]{32}"$/)
    assert.ok(done.key.startsWith('uploads/'), done.key)
    // The session cookie went along: the second token is for the same session.
    const again = await page.evaluate((app) => window.frontUpload(app), allowed.app)
    assert.equal(again.key.split('/')[1], done.key.split('/')[1])

    // A demo application that names no front end: the page cannot read a token.
    const refused = await page.evaluate((app) => window.frontUpload(app), closed.app)
    assert.equal(refused.ok, false)
    assert.equal(refused.stage, 'token', JSON.stringify(refused))
  } finally {
    await page.close()
    await allowed.stop()
    await closed.stop()
    await new Promise((resolve) => front.server.close(resolve))
  }
})
