// S3Signer, S3Verifier and signS3V4: every method and error path (as
// python/tests/test_s3_api.py).
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { Credentials, Policy, S3Signer, S3Verifier, signS3V4 } from '../index.js'

const now = new Date('2026-03-01T12:00:00Z')
const KEY_ID = 'AKIAIOSFODNN7EXAMPLE'
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
const credentials = new Credentials(KEY_ID, SECRET)
const policy = Policy.parse('expires in 1h\ncontent-length 1..10MiB\ncontent-type starts-with "image/"')
const signer = new S3Signer({ credentials, region: 'us-east-1', bucket: 'examplebucket' })

const browser = (form) => [...Object.entries(form.fields), ['Content-Type', 'image/png']]

test('signer properties and URLs', () => {
  assert.equal(signer.url, 'https://examplebucket.s3.us-east-1.amazonaws.com/')
  assert.deepEqual([signer.bucket, signer.region, signer.pathStyle], ['examplebucket', 'us-east-1', false])
  const garage = new S3Signer({ credentials, region: 'garage', bucket: 'photos', endpoint: 'http://127.0.0.1:3900' })
  assert.equal(garage.pathStyle, true)
  assert.equal(garage.url, 'http://127.0.0.1:3900/photos')
  const vhost = new S3Signer({ credentials, region: 'auto', bucket: 'photos', endpoint: 'https://r2.example.com', pathStyle: false })
  assert.equal(vhost.url, 'https://photos.r2.example.com/')
  const forced = new S3Signer({ credentials, region: 'us-east-1', bucket: 'photos', endpoint: 'minio.example.com:9000', pathStyle: true })
  assert.equal(forced.url, 'https://minio.example.com:9000/photos')
  assert.equal(new S3Signer({ credentials, region: 'eu-west-1', bucket: 'my.photos' }).url, 'https://s3.eu-west-1.amazonaws.com/my.photos')
})

test('invalid signers are SIGNING_INVALID; bad arguments InvalidArg', () => {
  for (const [region, bucket, endpoint] of [
    ['us east', 'b-ok', null],
    ['us-east-1', 'Bad_Bucket', null],
    ['us-east-1', 'ok-b', 'ftp://x'],
  ]) {
    assert.throws(() => new S3Signer({ credentials, region, bucket, endpoint }), { code: 'SIGNING_INVALID' })
  }
  assert.throws(() => new S3Signer(), { code: 'InvalidArg' })
  assert.throws(() => new S3Signer({ credentials: 'x', region: 'us-east-1', bucket: 'ok-b' }), { code: 'InvalidArg' })
  assert.throws(() => signer.sign('key = a'), { code: 'InvalidArg' })
})

test('sign and verify', () => {
  const form = signer.sign(policy, { now, key: 'user/42/${filename}' })
  assert.equal(Object.keys(form.fields)[0], 'key')
  assert.deepEqual(Object.keys(form.fields), ['key', 'policy', 'x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-signature'])
  assert.equal(form.fields['x-amz-algorithm'], 'AWS4-HMAC-SHA256')
  assert.equal(form.fields['x-amz-credential'], `${KEY_ID}/20260301/us-east-1/s3/aws4_request`)
  assert.equal(form.fields['x-amz-date'], '20260301T120000Z')
  assert.equal(form.expiresAt, '2026-03-01T13:00:00.000Z')
  assert.deepEqual(form.fieldsToFill, ['Content-Type'])
  const doc = JSON.parse(Buffer.from(form.fields.policy, 'base64').toString())
  assert.ok(doc.conditions.some((c) => JSON.stringify(c) === '{"bucket":"examplebucket"}'))
  assert.equal(form.fields['x-amz-signature'], signS3V4(SECRET, form.fields.policy, '20260301', 'us-east-1'))

  const { rules, ...token } = JSON.parse(signer.token(policy, { now, key: 'user/42/${filename}' }))
  assert.deepEqual(token, { url: form.url, fields: form.fields, expires_at: form.expiresAt, fields_to_fill: form.fieldsToFill })
  // S3 checks the size range after the other conditions; so do the rules.
  assert.deepEqual(
    rules.map((r) => [r.op, r.field]),
    [
      ['required', 'key'],
      ['starts-with', 'content-type'],
      ['starts-with', 'key'],
      ['content-length-range', undefined],
    ],
  )

  const verifier = new S3Verifier({ bucket: 'examplebucket', region: 'us-east-1', keys: { [KEY_ID]: SECRET } })
  assert.deepEqual([verifier.bucket, verifier.region], ['examplebucket', 'us-east-1'])
  const accepted = verifier.verify({ fields: browser(form), file: { filename: 'cat.png', contentType: 'image/png', size: 10 } }, { now })
  assert.equal(accepted.key, 'user/42/cat.png')
  assert.equal(accepted.accessKeyId, KEY_ID)
  assert.equal(accepted.contentType, 'image/png')
  assert.deepEqual(accepted.sizeLimit, { min: 1, max: 10 * 1024 * 1024 })
  assert.throws(() => verifier.verify({ fields: browser(form), file: { filename: 'cat.png', contentType: 'image/png', size: 0 } }, { now }), {
    code: 'REJECTED',
    serviceCode: 'EntityTooSmall',
  })
})

test('STS tokens are fields and conditions', () => {
  const sts = new S3Signer({ credentials: new Credentials(KEY_ID, SECRET, 'session-token'), region: 'us-east-1', bucket: 'examplebucket' })
  const form = sts.sign(policy, { now })
  assert.equal(form.fields['x-amz-security-token'], 'session-token')
  assert.ok(JSON.parse(Buffer.from(form.fields.policy, 'base64').toString()).conditions.some((c) => c['x-amz-security-token'] === 'session-token'))
})

test('in / not-in conditions are OSS only', () => {
  assert.throws(
    () => signer.sign(Policy.parse('content-type in [image/png]'), { now }),
    (e) => {
      assert.equal(e.code, 'SIGNING_INVALID')
      assert.match(e.message, /does not support/)
      return true
    },
  )
})

test('signJson and the low-level signature', () => {
  const text = '{"expiration":"2026-03-01T13:00:00Z","conditions":[{"bucket":"examplebucket"}]}'
  const form = signer.signJson(text, { now })
  assert.equal(form.fields.policy, Buffer.from(text).toString('base64'))
  assert.equal(form.expiresAt, '2026-03-01T13:00:00.000Z')
  assert.throws(() => signer.signJson('[', { now }), { code: 'POLICY_INVALID' })
  assert.throws(() => signS3V4('s', 'p', '2026-03-01', 'us-east-1'), { code: 'SIGNING_INVALID' })
  assert.throws(() => signS3V4('s', 'p', '20260301', 'us east'), { code: 'SIGNING_INVALID' })
  assert.match(signS3V4('s', 'p', '20260301', 'us-east-1'), /^[0-9a-f]{64}$/)
})

test('key functions and maxDateAgeSeconds', () => {
  const form = signer.sign(Policy.parse('expires in 7d\ncontent-length 1..10'), { now, key: 'a.png' })
  const asked = []
  const lookup = (id) => {
    asked.push(id)
    if (id === 'boom') throw new Error('lookup failed')
    return id === KEY_ID ? SECRET : null
  }
  const later = new Date(now.getTime() + 2 * 86_400_000)
  const sent = { fields: Object.entries(form.fields), file: { filename: 'a.png', size: 5 } }
  assert.equal(new S3Verifier({ bucket: 'examplebucket', region: 'us-east-1', keys: lookup }).verify(sent, { now: later }).key, 'a.png')
  assert.deepEqual(asked, [KEY_ID])
  const strict = new S3Verifier({ bucket: 'examplebucket', region: 'us-east-1', keys: lookup, maxDateAgeSeconds: 86_400 })
  assert.throws(() => strict.verify(sent, { now: later }), { code: 'REJECTED' })
  assert.equal(strict.verify(sent, { now }).key, 'a.png')
  const boom = { ...sent, fields: sent.fields.map(([n, value]) => [n, value.replace(KEY_ID, 'boom')]) }
  assert.throws(() => new S3Verifier({ bucket: 'examplebucket', region: 'us-east-1', keys: lookup }).verify(boom, { now }), /lookup failed/)
  const unknown = { ...sent, fields: sent.fields.map(([n, value]) => [n, value.replace(KEY_ID, 'AKIDUNKNOWN')]) }
  assert.throws(() => new S3Verifier({ bucket: 'examplebucket', region: 'us-east-1', keys: lookup }).verify(unknown, { now }), {
    code: 'REJECTED',
    serviceCode: 'InvalidAccessKeyId',
  })
  assert.throws(() => new S3Verifier({ bucket: 'examplebucket', region: 'us-east-1', keys: {}, maxDateAgeSeconds: -1 }), { code: 'InvalidArg' })
  assert.throws(() => new S3Verifier({ bucket: 'examplebucket', region: 'us-east-1', keys: new Map() }), { code: 'InvalidArg' })
  assert.throws(() => new S3Verifier(), { code: 'InvalidArg' })
})

test('anonymous uploads and explain', () => {
  const closed = new S3Verifier({ bucket: 'examplebucket', region: 'us-east-1', keys: {} })
  assert.throws(() => closed.verify({ fields: [['key', 'a']], file: { filename: 'a' } }, { now }), { code: 'REJECTED', serviceCode: 'AccessDenied' })
  const open = new S3Verifier({ bucket: 'examplebucket', region: 'us-east-1', keys: {}, allowAnonymous: true })
  assert.equal(open.verify({ fields: [['key', 'a']], file: { filename: 'a' } }, { now }).accessKeyId, null)

  const failures = closed.explain(
    Policy.parse('key starts-with "u/"\ncontent-type in [image/png]'),
    { fields: [['key', 'x']], file: { filename: 'x' } },
    { now },
  )
  assert.ok(failures.length > 0)
  assert.ok(failures.some((f) => f.conditionIndex === 0))
  for (const f of failures) assert.deepEqual(Object.keys(f).sort(), ['conditionIndex', 'message', 'reason', 'serviceCode', 'serviceMessage', 'status'])
  assert.deepEqual(closed.explain(Policy.parse('key starts-with "u/"'), { fields: [['key', 'u/a']], file: { filename: 'a' } }, { now }), [])
  assert.throws(() => closed.explain('key = a', { fields: [] }), { code: 'InvalidArg' })
})
