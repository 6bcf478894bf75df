// Every export of the package and its error paths.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'

import * as esm from '../index.js'
import { Credentials, explain, OssSigner, Policy, signV1, signV4, uploadToken, Verifier } from '../index.js'

const require = createRequire(import.meta.url)
const now = new Date('2026-11-21T12:00:00Z')
const credentials = new Credentials('LTAI5tApiTest0001', 'ApiTestSecretKZo149BD9GLPNiDIEmdQ')
const signer = new OssSigner({ credentials, region: 'cn-hangzhou', bucket: 'examplebucket' })
const dsl = 'expires in 1h\nkey starts-with "user/42/"\ncontent-length 1..10MiB\nx-oss-meta-owner = "42"\n'

function submissionOf(form, { key = 'user/42/cat.png', size = 1234, extra = [] } = {}) {
  return {
    fields: [['key', key], ...Object.entries(form.fields).filter(([n]) => n !== 'key'), ...extra],
    file: { filename: 'cat.png', contentType: 'image/png', size },
  }
}

describe('module', () => {
  test('require and import expose the same names', () => {
    const cjs = require('../index.js')
    const names = [
      'Policy',
      'PolicyBuilder',
      'Credentials',
      'OssSigner',
      'Verifier',
      'S3Signer',
      'S3Verifier',
      'GcsSigner',
      'GcsVerifier',
      'explain',
      'signV1',
      'signV4',
      'signS3V4',
      'CallbackSpec',
      'CallbackSigner',
      'CachedKeySource',
      'KeyUrlPolicy',
      'fetchPublicKeyPem',
      'verifyCallback',
      'callbackStringToSign',
      'uploadToken',
    ]
    for (const name of names) {
      assert.equal(typeof cjs[name], 'function', name)
      // biome-ignore lint/performance/noDynamicNamespaceImportAccess: the test compares every name
      assert.equal(esm[name], cjs[name], name)
    }
    assert.equal(esm.defaultKeySource, cjs.defaultKeySource)
    assert.deepEqual(Object.keys(cjs).sort(), [...names, 'defaultKeySource'].sort(), 'nothing else is exported')
    const expressModule = require('../express.js')
    assert.deepEqual(Object.keys(expressModule).sort(), ['uploadToken', 'verifyCallback'])
    assert.notEqual(expressModule.verifyCallback, cjs.verifyCallback, 'the middleware and the function share a name, not a value')
  })
})

describe('Policy', () => {
  test('parse, toDsl, toString, equals', () => {
    const policy = Policy.parse(dsl)
    assert.ok(policy instanceof Policy)
    const canonical = policy.toDsl()
    assert.match(canonical, /key starts-with "?user\/42\/"?/)
    assert.equal(String(policy), canonical)
    assert.ok(Policy.parse(canonical).equals(policy))
    assert.ok(!Policy.parse('key = a').equals(policy))
  })

  test('toJson resolves a relative expiration against now', () => {
    const json = JSON.parse(Policy.parse(dsl).toJson({ now }))
    assert.equal(json.expiration, '2026-11-21T13:00:00.000Z')
    assert.deepEqual(json.conditions[0], ['starts-with', '$key', 'user/42/'])
    assert.equal(typeof Policy.parse(dsl).toJson(), 'string', 'reads the clock without now')
    assert.equal(Policy.parse(dsl).toJson(now), Policy.parse(dsl).toJson({ now }), 'a Date works as well as { now }')
    assert.deepEqual(
      Policy.parse('expires at 2026-01-01T00:00:00Z\nkey = a')
        .lint(now)
        .map((d) => d.code),
      ['expired', 'no-size-limit'],
    )
  })

  test('fromJson and fromBase64 read the wire format', () => {
    const text = Policy.parse(dsl).toJson({ now })
    const a = Policy.fromJson(text)
    const b = Policy.fromBase64(Buffer.from(text).toString('base64'))
    assert.ok(a.equals(b))
    assert.equal(a.toJson({ now }), text)
  })

  test('lint returns plain diagnostics', () => {
    const clean = Policy.parse(dsl).lint({ now })
    assert.deepEqual(clean, [])
    const risky = Policy.parse('content-length 10..1').lint({ now })
    const codes = risky.map((d) => d.code)
    assert.ok(codes.includes('range-min-above-max'), codes.join())
    assert.ok(codes.includes('no-key-condition'), codes.join())
    const error = risky.find((d) => d.code === 'range-min-above-max')
    assert.equal(error.severity, 'error')
    assert.equal(error.conditionIndex, 0)
    assert.deepEqual(Object.keys(error.span), ['start', 'end'])
    const policyWide = risky.find((d) => d.conditionIndex === null)
    assert.ok(policyWide, 'a policy-wide warning has conditionIndex null')
    assert.equal(policyWide.severity, 'warning')
    assert.equal(JSON.parse(JSON.stringify(risky)).length, risky.length)
  })

  test('syntax errors carry code, line, column and every error', () => {
    assert.throws(
      () => Policy.parse('key starts-with\ncontent-length 5..'),
      (e) => {
        assert.ok(e instanceof Error)
        assert.equal(e.code, 'POLICY_SYNTAX')
        assert.equal(e.line, 1)
        assert.equal(typeof e.column, 'number')
        assert.ok(e.errors.length >= 2)
        assert.equal(e.errors[0].line, 1)
        assert.equal(e.errors[1].line, 2)
        for (const err of e.errors) {
          assert.match(err.message, /^line \d+, column \d+: expected /)
          assert.equal(typeof err.reason, 'string')
          assert.equal(typeof err.span.start, 'number')
        }
        assert.match(e.message, /^line 1, column \d+: /)
        return true
      },
    )
  })

  test('invalid JSON and base64 are POLICY_INVALID with the service wording', () => {
    for (const bad of [() => Policy.fromJson('{"expiration": 1}'), () => Policy.fromJson('nope'), () => Policy.fromBase64('!!!')]) {
      assert.throws(bad, (e) => {
        assert.equal(e.code, 'POLICY_INVALID')
        assert.equal(e.serviceCode, 'InvalidPolicyDocument')
        assert.equal(typeof e.serviceMessage, 'string')
        assert.equal(typeof e.reason, 'string')
        return true
      })
    }
  })

  test('a Policy is made by its factories only', () => {
    assert.throws(() => new Policy(), { code: 'InvalidArg' })
    assert.throws(() => Policy.parse(42), { code: 'StringExpected' }, 'napi-rs type checks keep their own codes')
  })
})

describe('Credentials', () => {
  test('id and token are readable, the secret is not', () => {
    const sts = new Credentials('STS.Example', 'secret', 'token-value')
    assert.equal(sts.accessKeyId, 'STS.Example')
    assert.equal(sts.securityToken, 'token-value')
    assert.equal(credentials.securityToken, null)
    assert.ok(!JSON.stringify(sts).includes('secret'))
    assert.ok(!Object.values(sts).includes('secret'))
  })

  test('invalid credentials are SIGNING_INVALID', () => {
    assert.throws(() => new Credentials('', 'secret'), { code: 'SIGNING_INVALID' })
    assert.throws(() => new Credentials('id/with/slash', 'secret'), { code: 'SIGNING_INVALID' })
    assert.throws(() => new Credentials('id', ''), { code: 'SIGNING_INVALID' })
  })

  test('fromEnv reads the OSS_* and ALIBABA_CLOUD_* names', () => {
    const names = [
      'OSS_ACCESS_KEY_ID',
      'OSS_ACCESS_KEY_SECRET',
      'OSS_SESSION_TOKEN',
      'ALIBABA_CLOUD_ACCESS_KEY_ID',
      'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
      'ALIBABA_CLOUD_SECURITY_TOKEN',
    ]
    const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]))
    try {
      for (const n of names) delete process.env[n]
      assert.equal(Credentials.fromEnv(), null)
      process.env.ALIBABA_CLOUD_ACCESS_KEY_ID = 'AliId'
      process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET = 'AliSecret'
      process.env.ALIBABA_CLOUD_SECURITY_TOKEN = 'AliToken'
      const ali = Credentials.fromEnv()
      assert.ok(ali instanceof Credentials)
      assert.equal(ali.accessKeyId, 'AliId')
      assert.equal(ali.securityToken, 'AliToken')
      process.env.OSS_ACCESS_KEY_ID = 'OssId'
      process.env.OSS_ACCESS_KEY_SECRET = 'OssSecret'
      process.env.OSS_SESSION_TOKEN = 'OssToken'
      const oss = Credentials.fromEnv()
      assert.equal(oss.accessKeyId, 'OssId')
      assert.equal(oss.securityToken, 'OssToken')
      process.env.OSS_ACCESS_KEY_ID = 'bad id'
      assert.throws(() => Credentials.fromEnv(), { code: 'SIGNING_INVALID' })
    } finally {
      for (const n of names) {
        if (saved[n] === undefined) delete process.env[n]
        else process.env[n] = saved[n]
      }
    }
  })
})

describe('OssSigner', () => {
  test('sign returns a plain, JSON-ready form', () => {
    const form = signer.sign(Policy.parse(dsl), { now })
    assert.equal(Object.getPrototypeOf(form), Object.prototype)
    assert.deepEqual(Object.keys(form), ['url', 'fields', 'expiresAt', 'fieldsToFill', 'rules'])
    assert.equal(form.url, 'https://examplebucket.oss-cn-hangzhou.aliyuncs.com')
    assert.equal(form.expiresAt, '2026-11-21T13:00:00.000Z')
    assert.deepEqual(form.fieldsToFill, ['key'])
    assert.deepEqual(Object.keys(form.fields), ['x-oss-meta-owner', 'policy', 'x-oss-signature-version', 'x-oss-credential', 'x-oss-date', 'x-oss-signature'])
    assert.equal(form.fields['x-oss-credential'], 'LTAI5tApiTest0001/20261121/cn-hangzhou/oss/aliyun_v4_request')
    assert.equal(form.fields['x-oss-date'], '20261121T120000Z')
    assert.deepEqual(JSON.parse(JSON.stringify(form)), form)
    // The signature is the V4 signature of the policy field.
    assert.equal(form.fields['x-oss-signature'], signV4('ApiTestSecretKZo149BD9GLPNiDIEmdQ', form.fields.policy, '20261121', 'cn-hangzhou'))
  })

  test('sign with a key template, and token = the core JSON', () => {
    const policy = Policy.parse('content-length 1..10MiB')
    const form = signer.sign(policy, { now, key: 'user/42/${filename}' })
    assert.equal(form.fields.key, 'user/42/${filename}')
    const token = JSON.parse(signer.token(policy, { now, key: 'user/42/${filename}' }))
    assert.deepEqual(Object.keys(token), ['url', 'fields', 'expires_at', 'fields_to_fill', 'rules'])
    assert.deepEqual(
      token.rules.map((r) => r.op),
      ['required', 'content-length-range', 'starts-with'],
      'the browser rules: a key, the size range, the key template',
    )
    assert.deepEqual(token.fields, form.fields)
    assert.equal(token.expires_at, form.expiresAt)
    assert.deepEqual(token.fields_to_fill, form.fieldsToFill)
  })

  test('properties, endpoint, v1, STS', () => {
    assert.equal(signer.bucket, 'examplebucket')
    assert.equal(signer.region, 'cn-hangzhou')
    assert.equal(signer.version, 'v4')
    const v1 = new OssSigner({
      credentials,
      region: 'oss-cn-hangzhou',
      bucket: 'examplebucket',
      version: 'v1',
      endpoint: 'http://127.0.0.1:9000/examplebucket',
    })
    assert.equal(v1.version, 'v1')
    assert.equal(v1.url, 'http://127.0.0.1:9000/examplebucket')
    const form = v1.sign(Policy.parse(dsl), { now })
    assert.deepEqual(Object.keys(form.fields).slice(-3), ['OSSAccessKeyId', 'policy', 'Signature'])
    assert.equal(form.fields.Signature, signV1('ApiTestSecretKZo149BD9GLPNiDIEmdQ', form.fields.policy))
    const sts = new OssSigner({ credentials: new Credentials('STS.Id', 'secret', 'tok'), region: 'cn-hangzhou', bucket: 'examplebucket' })
    assert.equal(sts.sign(Policy.parse(dsl), { now }).fields['x-oss-security-token'], 'tok')
    const host = new OssSigner({ credentials, region: 'cn-shanghai', bucket: 'examplebucket', endpoint: 'oss-cn-shanghai-internal.aliyuncs.com' })
    assert.equal(host.url, 'https://examplebucket.oss-cn-shanghai-internal.aliyuncs.com')
  })

  test('a value holding NUL survives the hand-over', () => {
    const form = signer.sign(Policy.parse('x-oss-meta-note = "a\\u{0}b"'), { now })
    assert.equal(form.fields['x-oss-meta-note'], 'a\u0000b')
  })

  test('without now, the binding reads the clock', () => {
    const before = Date.now()
    const form = signer.sign(Policy.parse('expires in 1h'))
    const expires = Date.parse(form.expiresAt)
    assert.ok(expires >= before + 3600_000 - 1000 && expires <= Date.now() + 3600_000 + 1000)
  })

  test('error paths', () => {
    assert.throws(() => new OssSigner({ credentials, region: 'CN Hangzhou', bucket: 'examplebucket' }), { code: 'SIGNING_INVALID' })
    assert.throws(() => new OssSigner({ credentials, region: 'cn-hangzhou', bucket: 'Bad_Bucket' }), { code: 'SIGNING_INVALID' })
    assert.throws(() => new OssSigner({ credentials, region: 'cn-hangzhou', bucket: 'examplebucket', version: 'v9' }), { code: 'SIGNING_INVALID' })
    assert.throws(() => new OssSigner({ credentials, region: 'cn-hangzhou', bucket: 'examplebucket', endpoint: 'ftp://x' }), { code: 'SIGNING_INVALID' })
    assert.throws(() => new OssSigner({ credentials: {}, region: 'cn-hangzhou', bucket: 'examplebucket' }), { code: 'InvalidArg' })
    assert.throws(() => new OssSigner(), { code: 'InvalidArg' })
    assert.throws(() => signer.sign('key = a', { now }), { code: 'InvalidArg' })
    assert.throws(() => signer.sign(credentials, { now }), { code: 'InvalidArg' })
    assert.throws(() => signer.sign(Policy.parse(dsl), { now: 'yesterday' }), { code: 'InvalidArg' })
    assert.throws(() => signer.sign(Policy.parse(dsl), { now: new Date(NaN) }), { code: 'InvalidArg' })
    assert.throws(
      () => signer.sign(Policy.parse('bucket = otherbucket'), { now }),
      (e) => {
        assert.equal(e.code, 'POLICY_INVALID')
        assert.equal(e.serviceCode, 'InvalidPolicyDocument')
        return true
      },
    )
    assert.throws(() => signer.signJson('{"conditions": []}', { now }), { code: 'POLICY_INVALID' })
  })
})

describe('Verifier', () => {
  const policy = Policy.parse(dsl)
  const form = signer.sign(policy, { now })
  const keys = { LTAI5tApiTest0001: 'ApiTestSecretKZo149BD9GLPNiDIEmdQ' }

  test('accepts a signed form (keys as an object)', () => {
    const verifier = new Verifier({ bucket: 'examplebucket', region: 'cn-hangzhou', keys })
    assert.equal(verifier.bucket, 'examplebucket')
    const accepted = verifier.verify(submissionOf(form, { extra: [['success_action_status', '201']] }), { now })
    assert.deepEqual(accepted, {
      key: 'user/42/cat.png',
      status: 201,
      redirect: null,
      contentType: 'image/png',
      metadata: { 'x-oss-meta-owner': '42' },
      sizeLimit: { min: 1, max: 10 * 1024 * 1024 },
      accessKeyId: 'LTAI5tApiTest0001',
    })
  })

  test('keys as a function, called with the key id the form names', () => {
    const asked = []
    const verifier = new Verifier({
      bucket: 'examplebucket',
      region: 'oss-cn-hangzhou',
      keys: (id) => {
        asked.push(id)
        return keys[id] ?? null
      },
    })
    assert.equal(verifier.verify(submissionOf(form), { now }).key, 'user/42/cat.png')
    assert.deepEqual(asked, ['LTAI5tApiTest0001'])
    assert.equal(verifier.verify(submissionOf(form), { now }).status, 204)
    assert.equal(asked.length, 2, 'asked again on every verify')
    const unknown = new Verifier({ bucket: 'examplebucket', region: 'cn-hangzhou', keys: () => undefined })
    assert.throws(() => unknown.verify(submissionOf(form), { now }), { code: 'REJECTED', serviceCode: 'InvalidAccessKeyId' })
    const throwing = new Verifier({
      bucket: 'examplebucket',
      region: 'cn-hangzhou',
      keys: () => {
        throw new Error('key store down')
      },
    })
    assert.throws(() => throwing.verify(submissionOf(form), { now }), /key store down/)
    const wrongType = new Verifier({ bucket: 'examplebucket', region: 'cn-hangzhou', keys: () => 42 })
    assert.throws(() => wrongType.verify(submissionOf(form), { now }))
  })

  test('rejections carry the service code, message, condition index and reason', () => {
    const verifier = new Verifier({ bucket: 'examplebucket', region: 'cn-hangzhou', keys })
    assert.throws(
      () => verifier.verify(submissionOf(form, { key: 'user/7/cat.png' }), { now }),
      (e) => {
        assert.ok(e instanceof Error)
        assert.equal(e.code, 'REJECTED')
        assert.equal(e.status, 403)
        assert.equal(e.serviceCode, 'AccessDenied')
        assert.equal(e.serviceMessage, 'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "user/42/"]')
        assert.equal(e.conditionIndex, 4)
        assert.match(e.reason, /user\/7\/cat\.png/)
        return true
      },
    )
    assert.throws(() => verifier.verify(submissionOf(form, { size: 0 }), { now }), { code: 'REJECTED', serviceCode: 'EntityTooSmall', status: 400 })
    assert.throws(() => verifier.verify(submissionOf(form), { now: new Date('2026-11-21T14:00:00Z') }), {
      code: 'REJECTED',
      serviceCode: 'AccessDenied',
      conditionIndex: null,
    })
    assert.throws(() => verifier.verify({ fields: [['key', 'a']], file: null }, { now }), { code: 'REJECTED', serviceCode: 'MalformedPOSTRequest' })
    const tampered = submissionOf(form)
    tampered.fields = tampered.fields.map(([n, v]) => [n, n === 'x-oss-signature' ? '0'.repeat(64) : v])
    assert.throws(() => verifier.verify(tampered, { now }), { code: 'REJECTED', serviceCode: 'SignatureDoesNotMatch' })
  })

  test('options and argument errors', () => {
    const anonymous = new Verifier({ bucket: 'examplebucket', region: 'cn-hangzhou', keys: {}, allowAnonymous: true, clockSkewSeconds: 60 })
    const accepted = anonymous.verify({ fields: new Map([['key', 'a.txt']]), file: { filename: 'a.txt' } }, { now })
    assert.equal(accepted.accessKeyId, null)
    assert.equal(accepted.contentType, null)
    const verifier = new Verifier({ bucket: 'examplebucket', region: 'cn-hangzhou', keys })
    assert.equal(
      verifier.verify({ fields: Object.fromEntries(submissionOf(form).fields), file: { filename: 'x.png', size: 5 } }, { now }).key,
      'user/42/cat.png',
    )
    assert.throws(() => verifier.verify(null), { code: 'InvalidArg' })
    assert.throws(() => verifier.verify({ fields: 'key=a' }), { code: 'InvalidArg' })
    assert.throws(() => verifier.verify({ fields: [['key']], file: null }, { now }), { code: 'InvalidArg' })
    assert.throws(() => verifier.verify({ ...submissionOf(form), file: { filename: 'a', size: -1 } }, { now }), { code: 'InvalidArg' })
    assert.throws(() => verifier.verify({ ...submissionOf(form), file: { filename: 'a', size: 1.5 } }, { now }), { code: 'InvalidArg' })
    assert.throws(() => new Verifier({ bucket: 'examplebucket', region: 'cn-hangzhou', keys: new Map() }), { code: 'InvalidArg' })
    assert.throws(() => new Verifier({ bucket: 'examplebucket', region: 'cn-hangzhou', keys, clockSkewSeconds: -1 }), { code: 'InvalidArg' })
    assert.throws(() => new Verifier(), { code: 'InvalidArg' })
  })
})

describe('explain', () => {
  test('lists every failing condition as plain objects', () => {
    const policy = Policy.parse('bucket = examplebucket\nkey starts-with "user/42/"\ncontent-type in [image/png]\ncontent-length 1..10')
    const submission = {
      fields: [
        ['key', 'user/7/a.gif'],
        ['Content-Type', 'image/gif'],
      ],
      file: { filename: 'a.gif', size: 100 },
    }
    const reasons = explain(policy, submission, { now, bucket: 'otherbucket' })
    assert.deepEqual(
      reasons.map((r) => r.conditionIndex),
      [0, 1, 2, 3],
    )
    assert.deepEqual(
      reasons.map((r) => r.serviceCode),
      ['AccessDenied', 'AccessDenied', 'AccessDenied', 'EntityTooLarge'],
    )
    for (const r of reasons) {
      assert.equal(typeof r.status, 'number')
      assert.equal(typeof r.serviceMessage, 'string')
      assert.equal(typeof r.reason, 'string')
      assert.match(r.message, new RegExp(`^${r.serviceCode} \\(${r.status}\\): `))
    }
    assert.deepEqual(
      explain(policy, submission, { now }).map((r) => r.conditionIndex),
      [1, 2, 3],
      'bucket judged only when given',
    )
    const ok = {
      fields: [
        ['key', 'user/42/a.png'],
        ['Content-Type', 'image/png'],
      ],
      file: { filename: 'a.png', size: 5 },
    }
    assert.deepEqual(explain(policy, ok, { now, bucket: 'examplebucket' }), [])
    assert.throws(() => explain('key = a', ok), { code: 'InvalidArg' })
  })
})

describe('low-level signatures', () => {
  test('signV1 and signV4 match node:crypto', async () => {
    const { createHmac } = await import('node:crypto')
    const b64 = Buffer.from('{"expiration":"2026-01-01T00:00:00.000Z","conditions":[]}').toString('base64')
    assert.equal(signV1('secret', b64), createHmac('sha1', 'secret').update(b64).digest('base64'))
    const h = (k, m) => createHmac('sha256', k).update(m).digest()
    const key = h(h(h(h('aliyun_v4secret', '20260101'), 'cn-hangzhou'), 'oss'), 'aliyun_v4_request')
    assert.equal(signV4('secret', b64, '20260101', 'cn-hangzhou'), createHmac('sha256', key).update(b64).digest('hex'))
  })
})

test('uploadToken from the main entry point is the express helper', () => {
  assert.equal(typeof uploadToken({ signer, policy: dsl }), 'function')
  assert.throws(() => uploadToken({ signer: {}, policy: dsl }), { code: 'InvalidArg' })
})
