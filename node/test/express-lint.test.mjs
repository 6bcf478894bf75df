// uploadToken lints what it signs: an error-level diagnostic gets 500 with
// the diagnostic named (nothing signed); each warning is logged once.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { after, before, test } from 'node:test'

import express from 'express'
import { uploadToken } from '../express.js'
import { Credentials, OssSigner, Policy } from '../index.js'

const signer = new OssSigner({
  credentials: new Credentials('LTAI5tLint0001', 'LintTestSecretKZo149BD9GLPNiDI'),
  region: 'cn-hangzhou',
  bucket: 'examplebucket',
})
const logged = { warn: [], error: [] }
const logger = { warn: (line) => logged.warn.push(line), error: (line) => logged.error.push(line) }
let server
let base

before(async () => {
  const app = express()
  app.get('/min-above-max', uploadToken({ signer, policy: 'key starts-with "a/"\ncontent-length 10..1', logger }))
  app.get('/expired', uploadToken({ signer, policy: Policy.parse('expires at 2001-01-01T00:00:00Z\nkey starts-with "a/"\ncontent-length 1..2'), logger }))
  app.get(
    '/no-size-limit',
    uploadToken({ signer, policy: (req) => Policy.parse('key starts-with "user/{id}/"', { id: req.get('x-user-id') ?? 'anonymous' }), logger }),
  )
  app.get('/quiet', uploadToken({ signer, policy: 'key starts-with "q/"', logger: null }))
  app.get('/keyed', uploadToken({ signer, policy: 'content-length 1..2', key: (req) => `user/${req.get('x-user-id')}/\${filename}`, logger }))
  app.get('/contradicted', uploadToken({ signer, policy: 'key starts-with "user/"\ncontent-length 1..2', key: 'admin/a.png', logger }))
  app.use((err, _req, res, _next) => res.status(599).json({ unexpected: err.message }))
  server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  base = `http://127.0.0.1:${server.address().port}`
})

after(() => server?.close())

async function get(path, headers = {}) {
  const response = await fetch(base + path, { headers })
  return { response, body: await response.json() }
}

test('a policy with a lint error is refused with 500 naming the diagnostic', async () => {
  const { response, body } = await get('/min-above-max')
  assert.equal(response.status, 500)
  assert.equal(response.headers.get('cache-control'), 'no-store')
  assert.equal(body.code, 'POLICY_LINT')
  assert.equal(body.fields, undefined, 'nothing signed')
  assert.deepEqual(body.diagnostics, [
    {
      code: 'range-min-above-max',
      severity: 'error',
      message: 'content-length-range minimum 10 is above its maximum 1: no file can match',
      conditionIndex: 1,
    },
  ])
  assert.match(body.message, /range-min-above-max: content-length-range minimum 10 is above its maximum 1/)

  const expired = await get('/expired')
  assert.equal(expired.response.status, 500)
  assert.deepEqual(
    expired.body.diagnostics.map((d) => d.code),
    ['expired'],
  )
})

test('errors and warnings are logged once each, not per request', async () => {
  for (const user of ['1', '2', '1']) {
    const { response, body } = await get('/no-size-limit', { 'x-user-id': user })
    assert.equal(response.status, 200)
    const policy = JSON.parse(Buffer.from(body.fields.policy, 'base64').toString('utf8'))
    assert.deepEqual(policy.conditions.at(-1), ['starts-with', '$key', `user/${user}/`])
  }
  await get('/min-above-max')
  assert.deepEqual(logged.warn, ['postpolicy uploadToken: policy warning no-size-limit: no content-length-range: uploads of any size up to 5 GB are allowed'])
  assert.equal(logged.error.length, 2, logged.error.join('\n'))
  assert.equal(
    logged.error[0],
    'postpolicy uploadToken: policy error range-min-above-max: content-length-range minimum 10 is above its maximum 1: no file can match',
  )
  assert.match(logged.error[1], /^postpolicy uploadToken: policy error expired: the policy expires at 2001-01-01T00:00:00\.000Z/)
})

test('logger: null logs nothing; a logger without warn/error is refused', async () => {
  const before = logged.warn.length + logged.error.length
  assert.equal((await get('/quiet')).response.status, 200)
  assert.equal(logged.warn.length + logged.error.length, before)
  assert.throws(() => uploadToken({ signer, policy: 'key = a', logger: { warn() {} } }), { code: 'InvalidArg' })
})

test('the key option is linted as the key condition the signer adds', async () => {
  const before = logged.warn.length
  const { response } = await get('/keyed', { 'x-user-id': '5' })
  assert.equal(response.status, 200)
  assert.equal(logged.warn.length, before, 'no no-key-condition warning: the key option is the key condition')
  const { response: refused, body } = await get('/contradicted')
  assert.equal(refused.status, 500)
  assert.deepEqual(
    body.diagnostics.map((d) => d.code),
    ['eq-contradicts-starts-with'],
  )
})
