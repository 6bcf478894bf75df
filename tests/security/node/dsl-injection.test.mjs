// Policy injection through request data, through the Node API.
//
// Observed: the README's Express example built policy text from the
// `x-user-id` header, and the value `"#` widened `key starts-with "user/…/"`
// to every user's files, while `42/"; expires at 2099-01-01T00:00:00Z #` made
// a V1 form valid for decades. With `Policy.parse(template, params)` (and the
// builder, and uploadToken's lint) a parameter is a value: the signed policy
// holds it literally and nothing else changes.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'
import { uploadToken } from '../../../node/express.js'
import { Credentials, OssSigner, Policy, S3Signer, Verifier } from '../../../node/index.js'

const now = new Date('2026-11-21T12:00:00Z')
const secret = 'InjectionTestSecretKZo149BD9GLPN'
const credentials = new Credentials('LTAI5tInjectionTest1', secret)
const template = 'expires in 10m\nkey starts-with "user/{user}/"\ncontent-length 1..10MiB'

// The two payloads, then what else was tried.
const hostile = [
  '"#',
  '42/"; expires at 2099-01-01T00:00:00Z #',
  '42/"\nexpires at 2099-01-01T00:00:00Z\nkey starts-with "',
  '42/"\r\nkey starts-with "',
  '42/"\u2028key starts-with "',
  '42/"\u0085x = "',
  '\\',
  '\\"',
  '42\\"; key starts-with "',
  '"]\nkey in ["',
  ']; key starts-with "',
  '{user}',
  '{{',
  '}',
  '${filename}',
  '$',
  '\0',
  '\0"; expires at 2099-01-01T00:00:00Z',
  '#',
  ';',
  '',
  ' ',
  '\ufeffexpires at 2099-01-01T00:00:00Z',
  '\u202egnp.exe',
  '\x1b[2J',
  '42/" ; content-length 0..99999999999 ; x = "',
  '__proto__',
  'x'.repeat(10 * 1024),
  '"#\n'.repeat(4096),
]

const signedPolicy = (form) => JSON.parse(Buffer.from(form.fields.policy, 'base64').toString('utf8'))
const verifier = new Verifier({ bucket: 'examplebucket', region: 'cn-hangzhou', keys: { LTAI5tInjectionTest1: secret } })
const upload = (form, key) => ({ fields: [['key', key], ...Object.entries(form.fields)], file: { filename: 'a.png', size: 100 } })

describe('a parameter is one literal value', () => {
  for (const version of ['v1', 'v4']) {
    const signer = new OssSigner({ credentials, region: 'cn-hangzhou', bucket: 'examplebucket', version })
    test(`${version}: every hostile value`, () => {
      for (const value of hostile) {
        for (const params of [{ user: value }, new Map([['user', value]])]) {
          const policy = Policy.parse(template, params)
          const document = signedPolicy(signer.sign(policy, { now }))
          assert.equal(document.expiration, '2026-11-21T12:10:00.000Z', JSON.stringify(value))
          assert.deepEqual(
            document.conditions.filter((c) => Array.isArray(c) && c[0] !== 'eq'),
            [
              ['starts-with', '$key', `user/${value}/`],
              ['content-length-range', 1, 10485760],
            ],
            JSON.stringify(value),
          )
          assert.ok(Policy.parse(policy.toDsl()).equals(policy), 'printed and parsed back, the same policy')
        }
      }
    })
  }

  test('the quote-and-comment payload: other users keys are refused', () => {
    const policy = Policy.parse(template, { user: '"#' })
    assert.equal(policy.toDsl().split('\n')[1], 'key starts-with "user/\\"#/"')
    const form = new OssSigner({ credentials, region: 'cn-hangzhou', bucket: 'examplebucket' }).sign(policy, { now })
    assert.throws(() => verifier.verify(upload(form, 'user/42/avatar.png'), { now }), { code: 'REJECTED', serviceCode: 'AccessDenied' })
    assert.equal(verifier.verify(upload(form, 'user/"#/avatar.png'), { now }).key, 'user/"#/avatar.png')
  })

  test('the expires payload: a V1 form is expired a year later', () => {
    const payload = '42/"; expires at 2099-01-01T00:00:00Z #'
    const signer = new OssSigner({ credentials, region: 'cn-hangzhou', bucket: 'examplebucket', version: 'v1' })
    const form = signer.sign(Policy.parse(template, { user: payload }), { now })
    assert.equal(form.expiresAt, '2026-11-21T12:10:00.000Z')
    const key = `user/${payload}/avatar.png`
    verifier.verify(upload(form, key), { now: new Date(+now + 5 * 60_000) })
    assert.throws(
      () => verifier.verify(upload(form, key), { now: new Date(+now + 365 * 86_400_000) }),
      (error) => {
        assert.equal(error.serviceCode, 'AccessDenied')
        assert.match(error.serviceMessage, /expired/)
        return true
      },
    )
  })

  test('every value position, and the builder', () => {
    const positions = 'x-oss-meta-a = {v}\nx-oss-meta-b = "<{v}>"\ncontent-type in [{v}, "image/{v}"]\nx-oss-meta-c not-in [{v}]'
    const s3 = new S3Signer({ credentials: new Credentials('AKIAIOSFODNN7EXAMPLE', 'secret'), region: 'us-east-1', bucket: 'examplebucket' })
    for (const value of hostile) {
      const document = JSON.parse(Policy.parse(positions, { v: value }).toJson({ now }))
      assert.deepEqual(document.conditions, [
        { 'x-oss-meta-a': value },
        { 'x-oss-meta-b': `<${value}>` },
        ['in', '$content-type', [value, `image/${value}`]],
        ['not-in', '$x-oss-meta-c', [value]],
      ])
      const built = Policy.builder()
        .expiresIn(600)
        .keyPrefix(`user/${value}/`)
        .metadata('x-amz-meta-owner', value)
        .size(1, 10 * 1024 * 1024)
        .build()
      assert.ok(built.equals(Policy.parse('expires in 10m\nkey starts-with "user/{v}/"\nx-amz-meta-owner = {v}\ncontent-length 1..10MiB', { v: value })))
      const conditions = signedPolicy(s3.sign(built, { now })).conditions
      assert.deepEqual(
        conditions.filter((c) => Array.isArray(c) && c[0] === 'starts-with'),
        [['starts-with', '$key', `user/${value}/`]],
      )
      assert.ok(conditions.some((c) => !Array.isArray(c) && c['x-amz-meta-owner'] === value))
    }
  })
})

test('uploadToken with a parameterised policy: the header value stays in the prefix', async () => {
  // Express is the Node package's (dev) dependency.
  const express = createRequire(new URL('../../../node/package.json', import.meta.url))('express')
  const app = express()
  const signer = new OssSigner({ credentials, region: 'cn-hangzhou', bucket: 'examplebucket' })
  app.get(
    '/upload-token',
    uploadToken({
      signer,
      policy: (req) => Policy.parse(template, { user: req.get('x-user-id') ?? 'anonymous' }),
      logger: null,
    }),
  )
  const server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  try {
    for (const value of hostile.filter((v) => /^[\x20-\x7e]*$/.test(v) && v.length < 1000)) {
      const response = await fetch(`http://127.0.0.1:${server.address().port}/upload-token`, { headers: { 'x-user-id': value } })
      assert.equal(response.status, 200, JSON.stringify(value))
      const token = await response.json()
      const document = signedPolicy(token)
      // Header values arrive trimmed of surrounding white space.
      const sent = value.trim()
      assert.deepEqual(
        document.conditions.find((c) => c[0] === 'starts-with'),
        ['starts-with', '$key', `user/${sent}/`],
      )
      assert.equal(Date.parse(document.expiration) - Date.parse(token.expires_at), 0)
      assert.ok(Date.parse(document.expiration) < Date.now() + 11 * 60_000, 'expires in 10 minutes, not in 2099')
    }
  } finally {
    server.close()
  }
})
