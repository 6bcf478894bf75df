// postpolicy/fastify: the plugin in a real Fastify app, driven with fastify.inject.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import Fastify from 'fastify'
import uploadPlugin from '../fastify.js'
import { CallbackSpec } from '../index.js'
import {
  assertSameToken,
  callbackBody,
  callbackParams,
  keyCalls,
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
let app

before(async () => {
  app = Fastify()
  app.decorateRequest('user', null)
  app.addHook('onRequest', async (request) => {
    request.user = { id: request.headers['x-user'] ?? 'anonymous' }
  })
  // The fixed policy, no callback route.
  await app.register(uploadPlugin, { signer, policy })
  // A policy function of the request; a callback, and onCallback.
  await app.register(uploadPlugin, {
    prefix: '/user',
    signer,
    policy: (request) => userPolicy(request.user.id),
    callback: new CallbackSpec({ url: 'https://app.example/user/oss-callback', body: 'object=${object}&size=${size}' }),
    onCallback: async ({ request, body, params, publicKeyUrl }) => {
      seen.push({ user: request.user.id, size: body.length, params, publicKeyUrl })
      return { Status: 'OK', key: params.object }
    },
    trustedKeyUrls,
    keySource,
  })
  // A lint error (minimum above maximum).
  await app.register(uploadPlugin, { prefix: '/lint', signer, policy: 'key starts-with "a/"\ncontent-length 10..1', logger })
  // A small body limit; onCallback alone makes the callback route.
  await app.register(uploadPlugin, { prefix: '/small', signer, policy, onCallback: () => undefined, trustedKeyUrls, keySource, limit: 64 })
  // The application's own routes keep Fastify's JSON parser.
  app.post('/echo', async (request) => ({ echoed: request.body }))
  await app.ready()
})

after(() => app?.close())

async function token(url, headers = {}) {
  const response = await app.inject({ method: 'GET', url, headers })
  assert.equal(response.statusCode, 200, response.body)
  assert.equal(response.headers['cache-control'], 'no-store')
  assert.match(response.headers['content-type'], /^application\/json/)
  return response.json()
}

function postCallback(target, body, { signedTarget = target, send = body, contentType = 'application/x-www-form-urlencoded', headers = {} } = {}) {
  return app.inject({
    method: 'POST',
    url: target,
    headers: { 'content-type': contentType, ...signedHeaders(signedTarget, body), ...headers },
    payload: send,
  })
}

test('GET /upload-token answers the signer token JSON with Cache-Control: no-store', async () => {
  await assertSameToken(
    () => token('/upload-token'),
    () => signer.token(policy),
  )
  const body = await token('/upload-token')
  assert.deepEqual(body.fields_to_fill, ['key', 'Content-Type'])
  assert.deepEqual(
    body.rules.filter((r) => r.op === 'content-length-range').map((r) => [r.min, r.max]),
    [[1, 10 * 1024 * 1024]],
  )
})

test('a policy function of the request gives per-user prefixes, the callback signed in', async () => {
  const body = await token('/user/upload-token', { 'x-user': '42' })
  const signed = JSON.parse(Buffer.from(body.fields.policy, 'base64').toString('utf8'))
  assert.deepEqual(
    signed.conditions.find((c) => c[0] === 'starts-with'),
    ['starts-with', '$key', 'user/42/'],
  )
  assert.ok(body.fields.callback, 'the callback field is in the form')
  await assertSameToken(
    () => token('/user/upload-token', { 'x-user': '7' }),
    () =>
      signer.token(userPolicy('7'), {
        callback: new CallbackSpec({ url: 'https://app.example/user/oss-callback', body: 'object=${object}&size=${size}' }),
      }),
  )
})

test('a policy with a lint error: 500 POLICY_LINT, nothing signed, no-store', async () => {
  const response = await app.inject({ method: 'GET', url: '/lint/upload-token' })
  assert.equal(response.statusCode, 500)
  assert.equal(response.headers['cache-control'], 'no-store')
  const body = response.json()
  assert.equal(body.code, 'POLICY_LINT')
  assert.equal(body.fields, undefined)
  assert.ok(body.diagnostics.length >= 1)
  assert.ok(body.diagnostics.every((d) => d.severity === 'error'))
  assert.match(body.message, /^the upload policy is not signed: /)
  assert.ok(logged.some((line) => line.startsWith(`postpolicy/fastify: policy error ${body.diagnostics[0].code}: `)))
})

test('no callback route without callback or onCallback', async () => {
  const response = await postCallback('/oss-callback', callbackBody)
  assert.equal(response.statusCode, 404)
})

test('a signed callback is verified from the raw bytes and handed to onCallback', async () => {
  const response = await postCallback('/user/oss-callback?source=oss', callbackBody, { headers: { 'x-user': '42' } })
  assert.equal(response.statusCode, 200, response.body)
  assert.equal(response.headers['cache-control'], 'no-store')
  assert.deepEqual(response.json(), { Status: 'OK', key: 'uploads/a b.png' })
  assert.deepEqual(seen.at(-1), { user: '42', size: callbackBody.length, params: callbackParams, publicKeyUrl: keyUrl })
  assert.ok(keyCalls.includes(keyUrl))
  // A JSON body is verified on its bytes too (Fastify's JSON parser does not run here).
  const json = '{"object":"uploads/b.png",  "size":5}'
  const jsonResponse = await postCallback('/user/oss-callback', json, { contentType: 'application/json' })
  assert.equal(jsonResponse.statusCode, 200, jsonResponse.body)
  assert.deepEqual(seen.at(-1).params, { object: 'uploads/b.png', size: 5 })
  // The application's other routes keep their parsers.
  const echo = await app.inject({ method: 'POST', url: '/echo', payload: { a: 1 } })
  assert.deepEqual(echo.json(), { echoed: { a: 1 } })
})

test('a tampered callback is refused with 400 and the core code', async () => {
  const count = seen.length
  const changed = await postCallback('/user/oss-callback', callbackBody, { send: callbackBody.replace('size=5', 'size=6') })
  assert.equal(changed.statusCode, 400)
  assert.equal(changed.headers['cache-control'], 'no-store')
  assert.equal(changed.json().code, 'CALLBACK_BAD_SIGNATURE')
  const query = await postCallback('/user/oss-callback?a=2', callbackBody, { signedTarget: '/user/oss-callback?a=1' })
  assert.equal(query.statusCode, 400)
  const unsigned = await app.inject({ method: 'POST', url: '/user/oss-callback', payload: callbackBody })
  assert.equal(unsigned.statusCode, 400)
  assert.match(unsigned.json().code, /^CALLBACK_/)
  assert.equal(seen.length, count, 'onCallback never saw them')
})

test('a callback body over the limit gets 413; one within it passes', async () => {
  const large = await postCallback('/small/oss-callback', callbackBody.padEnd(65, 'x'))
  assert.equal(large.statusCode, 413)
  assert.equal(large.headers['cache-control'], 'no-store')
  assert.equal(large.json().code, 'BODY_TOO_LARGE')
  const small = 'object=a&size=1'
  const ok = await postCallback('/small/oss-callback', small)
  assert.equal(ok.statusCode, 200, ok.body)
  assert.deepEqual(ok.json(), { Status: 'OK' })
})

test('bad options are refused when the plugin is registered', async () => {
  const bad = Fastify()
  bad.register(uploadPlugin, { signer: {}, policy })
  await assert.rejects(bad.ready(), /`signer` must be an OssSigner or an S3Signer/)
  await bad.close()
})
