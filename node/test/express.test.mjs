// postpolicy/express: start an Express app on 127.0.0.1, fetch tokens, check them.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { after, before, test } from 'node:test'

import express from 'express'
import { uploadToken } from '../express.js'
import { Credentials, OssSigner, Policy, S3Signer, S3Verifier, Verifier } from '../index.js'

const secret = 'ExpressTestSecretKZo149BD9GLPNiDI'
const signer = new OssSigner({ credentials: new Credentials('LTAI5tExpress0001', secret), region: 'cn-hangzhou', bucket: 'examplebucket' })
const s3 = new S3Signer({ credentials: new Credentials('AKIDEXPRESS0001', secret), region: 'garage', bucket: 'photos', endpoint: 'http://127.0.0.1:3900' })
let server
let base
const errors = []

before(async () => {
  const app = express()
  app.use((req, _res, next) => {
    req.user = { id: req.get('x-user') ?? 'anonymous' }
    next()
  })
  app.get('/token', uploadToken({ signer, policy: Policy.parse('content-length 1..10MiB\nkey starts-with "uploads/"') }))
  app.get('/dsl-token', uploadToken({ signer, policy: 'key starts-with "dsl/"' }))
  app.get(
    '/user-token',
    uploadToken({
      signer,
      policy: (req) => Policy.parse('key starts-with "user/{id}/"\ncontent-length 1..1MiB', { id: req.user.id }),
      key: (req) => `user/${req.user.id}/\${filename}`,
    }),
  )
  app.get('/async-token', uploadToken({ signer, policy: async (req) => Policy.builder().keyPrefix(`async/${req.user.id}/`).build() }))
  app.get('/bad-policy', uploadToken({ signer, policy: () => 'key starts-with' }))
  app.get('/unsignable', uploadToken({ signer, policy: () => Policy.parse('bucket = otherbucket') }))
  app.get(
    '/throws',
    uploadToken({
      signer,
      policy: () => {
        throw new Error('no user')
      },
    }),
  )
  app.get('/s3-token', uploadToken({ signer: s3, policy: 'content-length 1..1MiB', key: 'uploads/${filename}' }))
  app.use((err, _req, res, _next) => {
    errors.push(err)
    res.status(err.code === 'POLICY_SYNTAX' ? 400 : 500).json({ code: err.code ?? null, message: err.message })
  })
  server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  base = `http://127.0.0.1:${server.address().port}`
})

after(() => server?.close())

async function getToken(path, headers = {}) {
  const response = await fetch(base + path, { headers })
  return { response, body: await response.json() }
}

test('answers the signed form JSON with Cache-Control: no-store', async () => {
  const before = Date.now()
  const { response, body } = await getToken('/token')
  assert.equal(response.status, 200)
  assert.equal(response.headers.get('cache-control'), 'no-store')
  assert.match(response.headers.get('content-type'), /^application\/json/)
  assert.deepEqual(Object.keys(body), ['url', 'fields', 'expires_at', 'fields_to_fill', 'rules'])
  assert.equal(body.url, 'https://examplebucket.oss-cn-hangzhou.aliyuncs.com')
  assert.deepEqual(Object.keys(body.fields), ['policy', 'x-oss-signature-version', 'x-oss-credential', 'x-oss-date', 'x-oss-signature'])
  assert.equal(body.fields['x-oss-signature-version'], 'OSS4-HMAC-SHA256')
  assert.match(body.fields['x-oss-credential'], /^LTAI5tExpress0001\/\d{8}\/cn-hangzhou\/oss\/aliyun_v4_request$/)
  assert.match(body.fields['x-oss-signature'], /^[0-9a-f]{64}$/)
  assert.deepEqual(body.fields_to_fill, ['key'])
  const expires = Date.parse(body.expires_at)
  assert.ok(expires > before + 3500_000 && expires < Date.now() + 3700_000, 'default lifetime: 1 hour')
  const policy = JSON.parse(Buffer.from(body.fields.policy, 'base64').toString('utf8'))
  assert.deepEqual(policy.conditions.slice(4), [
    ['content-length-range', 1, 10485760],
    ['starts-with', '$key', 'uploads/'],
  ])

  // The token verifies: a browser that fills `key` and posts it is accepted.
  const verifier = new Verifier({ bucket: 'examplebucket', region: 'cn-hangzhou', keys: { LTAI5tExpress0001: secret } })
  const accepted = verifier.verify({ fields: [['key', 'uploads/a.png'], ...Object.entries(body.fields)], file: { filename: 'a.png', size: 10 } })
  assert.equal(accepted.key, 'uploads/a.png')
})

test('DSL text as the policy', async () => {
  const { body } = await getToken('/dsl-token')
  const policy = JSON.parse(Buffer.from(body.fields.policy, 'base64').toString('utf8'))
  assert.deepEqual(policy.conditions.at(-1), ['starts-with', '$key', 'dsl/'])
})

test('a policy function of the request gives per-user prefixes', async () => {
  const alice = await getToken('/user-token', { 'x-user': 'alice' })
  const bob = await getToken('/user-token', { 'x-user': 'bob' })
  assert.equal(alice.body.fields.key, 'user/alice/${filename}')
  assert.equal(bob.body.fields.key, 'user/bob/${filename}')
  const policy = JSON.parse(Buffer.from(alice.body.fields.policy, 'base64').toString('utf8'))
  assert.ok(policy.conditions.some((c) => JSON.stringify(c) === '["starts-with","$key","user/alice/"]'))
  const asyncToken = await getToken('/async-token', { 'x-user': 'carol' })
  const asyncPolicy = JSON.parse(Buffer.from(asyncToken.body.fields.policy, 'base64').toString('utf8'))
  assert.deepEqual(asyncPolicy.conditions.at(-1), ['starts-with', '$key', 'async/carol/'])
})

test('errors go to next(err)', async () => {
  const syntax = await getToken('/bad-policy')
  assert.equal(syntax.response.status, 400)
  assert.equal(syntax.body.code, 'POLICY_SYNTAX')
  const unsignable = await getToken('/unsignable')
  assert.equal(unsignable.response.status, 500)
  assert.equal(unsignable.body.code, 'POLICY_INVALID')
  const thrown = await getToken('/throws')
  assert.equal(thrown.response.status, 500)
  assert.equal(thrown.body.message, 'no user')
  assert.equal(errors.length, 3)
})

test('an S3Signer answers the same token shape', async () => {
  const { response, body } = await getToken('/s3-token')
  assert.equal(response.status, 200)
  assert.deepEqual(Object.keys(body), ['url', 'fields', 'expires_at', 'fields_to_fill', 'rules'])
  assert.equal(body.url, 'http://127.0.0.1:3900/photos')
  assert.equal(body.fields['x-amz-algorithm'], 'AWS4-HMAC-SHA256')
  const verifier = new S3Verifier({ bucket: 'photos', region: 'garage', keys: { AKIDEXPRESS0001: secret } })
  const accepted = verifier.verify({ fields: Object.entries(body.fields), file: { filename: 'a.png', size: 10 } })
  assert.equal(accepted.key, 'uploads/a.png')
})
