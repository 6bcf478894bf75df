// postpolicy/web: the fetch-style handlers mounted in a Hono app, driven with app.request.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { Hono } from 'hono'
import { CallbackSpec } from '../index.js'
import { callbackHandler, uploadTokenHandler } from '../web.js'
import {
  assertSameToken,
  callbackBody,
  callbackParams,
  keySource,
  keyUrl,
  policy,
  signedHeaders,
  signer,
  trustedKeyUrls,
  userPolicy,
} from './upload-helpers.mjs'

const logged = []
const logger = { warn: (line) => logged.push(line), error: (line) => logged.push(line) }
const seen = []
const spec = new CallbackSpec({ url: 'https://app.example/oss-callback', body: 'object=${object}&size=${size}' })

const app = new Hono()
app.get('/upload-token', (c) => uploadTokenHandler({ signer, policy })(c.req.raw))
const userToken = uploadTokenHandler({
  signer,
  policy: (request) => {
    const id = request.headers.get('x-user')
    // A Response thrown is the answer: here, a visitor who is not signed in.
    if (id == null) throw new Response('{"code":"UNAUTHENTICATED"}', { status: 401 })
    return userPolicy(id)
  },
  callback: spec,
})
app.get('/user/upload-token', (c) => userToken(c.req.raw))
const lintToken = uploadTokenHandler({ signer, policy: 'key starts-with "a/"\ncontent-length 10..1', logger })
app.get('/lint/upload-token', (c) => lintToken(c.req.raw))
const onCallback = async ({ request, body, params, publicKeyUrl }) => {
  seen.push({ user: request.headers.get('x-user'), size: body.length, params, publicKeyUrl })
  return { Status: 'OK', key: params.object }
}
const callback = callbackHandler({ onCallback, trustedKeyUrls, keySource })
app.post('/oss-callback', (c) => callback(c.req.raw))
const small = callbackHandler({ trustedKeyUrls, keySource, limit: 64 })
app.post('/small/oss-callback', (c) => small(c.req.raw))

async function token(path, headers = {}) {
  const response = await app.request(path, { headers })
  assert.equal(response.status, 200, await response.clone().text())
  assert.equal(response.headers.get('cache-control'), 'no-store')
  assert.match(response.headers.get('content-type'), /^application\/json/)
  return response.json()
}

function postCallback(target, body, { signedTarget = target, send = body, contentType = 'application/x-www-form-urlencoded', headers = {} } = {}) {
  return app.request(target, {
    method: 'POST',
    headers: { 'content-type': contentType, ...signedHeaders(signedTarget, body), ...headers },
    body: send,
  })
}

test('uploadTokenHandler answers the signer token JSON with Cache-Control: no-store', async () => {
  await assertSameToken(
    () => token('/upload-token'),
    () => signer.token(policy),
  )
})

test('a policy function of the Request; a thrown Response is the answer', async () => {
  await assertSameToken(
    () => token('/user/upload-token', { 'x-user': '7' }),
    () => signer.token(userPolicy('7'), { callback: spec }),
  )
  const refused = await app.request('/user/upload-token')
  assert.equal(refused.status, 401)
  assert.deepEqual(await refused.json(), { code: 'UNAUTHENTICATED' })
})

test('a policy with a lint error: 500 POLICY_LINT, nothing signed, no-store', async () => {
  const response = await app.request('/lint/upload-token')
  assert.equal(response.status, 500)
  assert.equal(response.headers.get('cache-control'), 'no-store')
  const body = await response.json()
  assert.equal(body.code, 'POLICY_LINT')
  assert.equal(body.fields, undefined)
  assert.ok(body.diagnostics.length >= 1)
  assert.ok(body.diagnostics.every((d) => d.severity === 'error'))
  assert.ok(logged.some((line) => line.includes(body.diagnostics[0].code)))
})

test('callbackHandler verifies the raw bytes and answers what onCallback returns', async () => {
  const response = await postCallback('/oss-callback?source=oss', callbackBody, { headers: { 'x-user': '42' } })
  assert.equal(response.status, 200, await response.clone().text())
  assert.equal(response.headers.get('cache-control'), 'no-store')
  assert.deepEqual(await response.json(), { Status: 'OK', key: 'uploads/a b.png' })
  assert.deepEqual(seen.at(-1), { user: '42', size: callbackBody.length, params: callbackParams, publicKeyUrl: keyUrl })
  const json = '{"object":"uploads/b.png",  "size":5}'
  const jsonResponse = await postCallback('/oss-callback', json, { contentType: 'application/json' })
  assert.equal(jsonResponse.status, 200)
  assert.deepEqual(seen.at(-1).params, { object: 'uploads/b.png', size: 5 })
})

test('a tampered callback is refused with 400 and the core code', async () => {
  const count = seen.length
  const changed = await postCallback('/oss-callback', callbackBody, { send: callbackBody.replace('size=5', 'size=6') })
  assert.equal(changed.status, 400)
  assert.equal(changed.headers.get('cache-control'), 'no-store')
  assert.equal((await changed.json()).code, 'CALLBACK_BAD_SIGNATURE')
  const query = await postCallback('/oss-callback?a=2', callbackBody, { signedTarget: '/oss-callback?a=1' })
  assert.equal(query.status, 400)
  const unsigned = await app.request('/oss-callback', { method: 'POST', body: callbackBody })
  assert.equal(unsigned.status, 400)
  assert.match((await unsigned.json()).code, /^CALLBACK_/)
  assert.equal(seen.length, count, 'onCallback never saw them')
})

test('a callback body over the limit gets 413, declared or streamed; one within it passes', async () => {
  const large = await postCallback('/small/oss-callback', callbackBody.padEnd(65, 'x'))
  assert.equal(large.status, 413)
  assert.equal(large.headers.get('cache-control'), 'no-store')
  assert.equal((await large.json()).code, 'BODY_TOO_LARGE')
  // No Content-Length: a stream, cut at the limit.
  const bytes = new TextEncoder().encode('x'.repeat(200))
  const stream = new ReadableStream({
    start(controller) {
      controller.enqueue(bytes.subarray(0, 50))
      controller.enqueue(bytes.subarray(50))
      controller.close()
    },
  })
  const streamed = await small(new Request('http://app.example/small/oss-callback', { method: 'POST', body: stream, duplex: 'half' }))
  assert.equal(streamed.status, 413)
  assert.match((await streamed.json()).message, /larger than the limit of 64 bytes/)
  const ok = await postCallback('/small/oss-callback', 'object=a&size=1')
  assert.equal(ok.status, 200)
  assert.deepEqual(await ok.json(), { Status: 'OK' })
})

test('bad options are refused when the handler is made', () => {
  assert.throws(() => uploadTokenHandler({ signer: {}, policy }), /`signer` must be an OssSigner or an S3Signer/)
  assert.throws(() => callbackHandler({ limit: -1 }), /`limit` must be a number of bytes/)
  assert.throws(() => callbackHandler({ onCallback: 'no' }), /`onCallback` must be a function/)
})
