// postpolicy/express verifyCallback(): an Express app on 127.0.0.1 that also
// serves the callback public key; callbacks signed with the vectors file's
// synthetic test key are POSTed to it, as OSS would.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { after, before, test } from 'node:test'

import express from 'express'
import { uploadToken, verifyCallback } from '../express.js'
import { CallbackSigner, CallbackSpec, Credentials, OssSigner, Policy } from '../index.js'
import { readJson } from './helpers.mjs'

const testKey = readJson('tests/vectors/oss-signatures.json').callback.synthetic_test_key
const signer = new CallbackSigner(testKey.private_key_pem)
const errors = []
let server
let base
let keyUrl
let pemHits = 0
const stubCalls = []

const ok = (req, res) =>
  res.json({ Status: 'OK', params: req.ossCallback.params, publicKeyUrl: req.ossCallback.publicKeyUrl, size: req.ossCallback.body.length })

before(async () => {
  const app = express()
  app.get('/callback_pub_key.pem', (_req, res) => {
    pemHits += 1
    res.type('text/plain').send(testKey.public_key_pem)
  })
  server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  base = `http://127.0.0.1:${server.address().port}`
  keyUrl = `${base}/callback_pub_key.pem`
  const trustedKeyUrls = [`${base}/`]

  // The default key source: fetched from this app over HTTP, cached.
  app.post('/oss/callback', verifyCallback({ trustedKeyUrls }), ok)
  app.post('/cn/:name', verifyCallback({ trustedKeyUrls }), ok)
  const router = express.Router()
  router.post('/cb', verifyCallback({ trustedKeyUrls }), ok)
  app.use('/mounted', router)
  // A parser that leaves the bytes (express.raw) before the middleware.
  app.post('/raw/callback', express.raw({ type: () => true }), verifyCallback({ trustedKeyUrls }), ok)
  // A parser that does not: a configuration error, for next(err).
  app.post('/parsed/callback', express.urlencoded({ extended: false }), verifyCallback({ trustedKeyUrls }), ok)
  // Behind a reverse proxy that maps /public/oss/cb to /internal/cb.
  app.post('/internal/cb', verifyCallback({ trustedKeyUrls, publicPath: '/public/oss/cb' }), ok)
  app.post('/internal/fn', verifyCallback({ trustedKeyUrls, publicPath: (req) => `${req.get('x-forwarded-prefix') ?? ''}${req.originalUrl}` }), ok)
  // A stub key source; a small body limit.
  const keySource = (url) => {
    stubCalls.push(url)
    return testKey.public_key_pem
  }
  app.post('/stub/callback', verifyCallback({ keySource }), ok)
  app.post('/small/callback', verifyCallback({ trustedKeyUrls, limit: 16 }), ok)
  // An upload token carrying a per-user callback.
  app.get(
    '/token',
    uploadToken({
      signer: new OssSigner({ credentials: new Credentials('LTAI5tExpressCb01', 'secret'), region: 'cn-hangzhou', bucket: 'examplebucket' }),
      policy: 'content-length 1..10MiB',
      key: (req) => `user/${req.get('x-user')}/\${filename}`,
      callback: async (req) =>
        new CallbackSpec({ url: `${base}/oss/callback`, body: 'object=${object}&size=${size}&uid=${x:uid}', vars: { 'x:uid': req.get('x-user') } }),
    }),
  )
  app.use((err, _req, res, _next) => {
    errors.push(err)
    res.status(500).json({ code: err.code ?? null, message: err.message })
  })
})

after(() => {
  server?.closeAllConnections()
  server?.close()
})

/** POSTs `body` to `target` signed for `signedTarget` (default: the same), as OSS does. */
async function post(
  target,
  body,
  { signedTarget = target, publicKeyUrl = keyUrl, contentType = 'application/x-www-form-urlencoded', headers = {}, send = body } = {},
) {
  const signed = signer.headers({ path: signedTarget, body, publicKeyUrl })
  const response = await fetch(base + target, {
    method: 'POST',
    headers: { 'content-type': contentType, ...signed, ...headers },
    body: send,
  })
  return { status: response.status, json: await response.json() }
}

const body = 'bucket=examplebucket&object=user%2F42%2Fa%20b.png&size=5&mimeType=image%2Fpng&x:uid=42'

test('a signed callback is accepted, its variables parsed; the key is fetched once', async () => {
  for (let i = 0; i < 3; i += 1) {
    const { status, json } = await post('/oss/callback?source=oss', body)
    assert.equal(status, 200, JSON.stringify(json))
    assert.deepEqual(json, {
      Status: 'OK',
      params: { bucket: 'examplebucket', object: 'user/42/a b.png', size: '5', mimeType: 'image/png', 'x:uid': '42' },
      publicKeyUrl: keyUrl,
      size: body.length,
    })
  }
  assert.equal(pemHits, 1, 'the default key source caches by URL')
})

test('one body byte changed: 400 with the core code', async () => {
  const changed = body.replace('size=5', 'size=6')
  const { status, json } = await post('/oss/callback', body, { send: changed })
  assert.equal(status, 400)
  assert.equal(json.code, 'CALLBACK_BAD_SIGNATURE')
  assert.match(json.message, /signature does not match/)
  // A changed query is refused too.
  const query = await post('/oss/callback?a=2', body, { signedTarget: '/oss/callback?a=1' })
  assert.equal(query.status, 400)
})

test('unsigned or untrusted callbacks: 400, and no key is fetched', async () => {
  const before = pemHits
  const unsigned = await fetch(`${base}/oss/callback`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })
  assert.equal(unsigned.status, 400)
  assert.equal((await unsigned.json()).code, 'CALLBACK_MISSING_PUB_KEY_URL')
  for (const untrusted of [
    `http://localhost:${server.address().port}/callback_pub_key.pem`,
    'http://127.0.0.1.evil.example.com/k.pem',
    'https://evil.example.com/k.pem',
  ]) {
    const { status, json } = await post('/oss/callback', body, { publicKeyUrl: untrusted })
    assert.equal(status, 400)
    assert.equal(json.code, 'CALLBACK_UNTRUSTED_KEY_URL')
  }
  assert.equal(pemHits, before, 'an untrusted key URL is never fetched')
  const stubbed = await post('/stub/callback', body, { publicKeyUrl: keyUrl })
  assert.equal(stubbed.json.code, 'CALLBACK_UNTRUSTED_KEY_URL', 'only OSS key URLs are trusted by default')
  assert.equal(stubCalls.length, 0)
})

test('a stub key source; the OSS key URL is trusted by default', async () => {
  const ossUrl = 'https://gosspublic.alicdn.com/callback_pub_key_v1.pem'
  const { status, json } = await post('/stub/callback', body, { publicKeyUrl: ossUrl })
  assert.equal(status, 200, JSON.stringify(json))
  assert.equal(json.publicKeyUrl, ossUrl)
  assert.deepEqual(stubCalls, [ossUrl])
})

test('the raw, percent-encoded path is what is signed; mounted routers see the full path', async () => {
  const encoded = '/cn/%E5%9B%9E%E8%B0%83'
  assert.equal((await post(encoded, body)).status, 200)
  assert.equal((await post(encoded, body, { signedTarget: '/cn/回调' })).status, 200, 'OSS signs the decoded path')
  assert.equal((await post(encoded, body, { signedTarget: '/cn/other' })).status, 400)
  assert.equal((await post('/mounted/cb', body)).status, 200)
  assert.equal((await post('/mounted/cb', body, { signedTarget: '/cb' })).status, 400)
})

test('req.body already a Buffer is used; a parsed body is a configuration error', async () => {
  const raw = await post('/raw/callback', body)
  assert.equal(raw.status, 200, JSON.stringify(raw.json))
  assert.equal(raw.json.params['x:uid'], '42')
  const parsed = await post('/parsed/callback', body)
  assert.equal(parsed.status, 500)
  assert.equal(parsed.json.code, 'InvalidArg')
  assert.match(parsed.json.message, /mount verifyCallback\(\) before/)
  assert.equal(errors.at(-1).code, 'InvalidArg')
})

test('behind a reverse proxy: publicPath gives the path OSS called', async () => {
  const viaProxy = await post('/internal/cb?x=1', body, { signedTarget: '/public/oss/cb?x=1' })
  assert.equal(viaProxy.status, 200, JSON.stringify(viaProxy.json))
  const local = await post('/internal/cb?x=1', body)
  assert.equal(local.status, 400, 'the local path is not the one OSS signed')
  const fn = await post('/internal/fn?a=b', body, { signedTarget: '/api/internal/fn?a=b', headers: { 'x-forwarded-prefix': '/api' } })
  assert.equal(fn.status, 200, JSON.stringify(fn.json))
})

test('JSON bodies are parsed; bodies over the limit get 413', async () => {
  const json = '{"object":"a.png","size":5,"uid":"42"}'
  const accepted = await post('/oss/callback', json, { contentType: 'application/json' })
  assert.equal(accepted.status, 200)
  assert.deepEqual(accepted.json.params, { object: 'a.png', size: 5, uid: '42' })
  const notJson = await post('/oss/callback', '{oops', { contentType: 'application/json' })
  assert.equal(notJson.status, 200)
  assert.equal(notJson.json.params, null, 'a signed body that is not JSON has no params')
  const large = await post('/small/callback', body)
  assert.equal(large.status, 413)
  assert.equal(large.json.code, 'BODY_TOO_LARGE')
})

test('end to end: the token carries the callback, the callback it names is accepted', async () => {
  const response = await fetch(`${base}/token`, { headers: { 'x-user': '42' } })
  const token = await response.json()
  assert.equal(response.status, 200, JSON.stringify(token))
  assert.equal(token.fields['x:uid'], '42')
  const spec = CallbackSpec.fromBase64(token.fields.callback, { 'x:uid': token.fields['x:uid'] })
  assert.deepEqual(spec.urls, [`${base}/oss/callback`])
  const policy = JSON.parse(Buffer.from(token.fields.policy, 'base64').toString())
  assert.ok(
    policy.conditions.some((c) => c.callback === token.fields.callback),
    'pinned',
  )
  // What OSS would post after storing user/42/cat.png:
  const { status, json } = await post(new URL(spec.urls[0]).pathname, 'object=user%2F42%2Fcat.png&size=5&uid=42')
  assert.equal(status, 200)
  assert.equal(json.params.uid, '42')
})

test('bad options are InvalidArg', () => {
  assert.throws(() => verifyCallback(7), { code: 'InvalidArg' })
  assert.throws(() => verifyCallback({ publicPath: 7 }), { code: 'InvalidArg' })
  assert.throws(() => verifyCallback({ limit: -1 }), { code: 'InvalidArg' })
  assert.throws(() => uploadToken({ signer: new CallbackSigner(testKey.private_key_pem), policy: 'key = a' }), { code: 'InvalidArg' })
  const oss = new OssSigner({ credentials: new Credentials('LTAI5tExpressCb01', 'secret'), region: 'cn-hangzhou', bucket: 'examplebucket' })
  assert.throws(() => uploadToken({ signer: oss, policy: Policy.parse('key = a'), callback: 'x' }), { code: 'InvalidArg' })
})
