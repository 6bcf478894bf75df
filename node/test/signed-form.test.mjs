// The signed form as the addon builds it (a plain object whose fields are
// defined in order), checked against the core's own JSON token: the same
// fields in the same order, whatever the names, values and shapes.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { CallbackSpec, Credentials, OssSigner, Policy, S3Signer } from '../index.js'
import native from '../native.js'

const now = new Date('2026-11-21T12:00:00Z')
const credentials = new Credentials('LTAI5tFormTest0001', 'FormTestSecretKZo149BD9GLPNiDIEmdQ')
const signer = new OssSigner({ credentials, region: 'cn-hangzhou', bucket: 'examplebucket' })

/** A policy with one extra condition `{ name: value }`, from JSON so that any name goes. */
function policyWith(name, value) {
  const conditions = [['content-length-range', 1, 1024], { [name]: value }]
  return Policy.fromJson(JSON.stringify({ expiration: '2026-11-21T13:00:00.000Z', conditions }))
}

/** `sign` gives what the core's token says, key order and browser rules included; returns the form. */
function signsLikeToken(s, policy, options = {}) {
  const form = s.sign(policy, { now, ...options })
  const token = JSON.parse(s.token(policy, { now, ...options }))
  assert.deepEqual(form, { url: token.url, fields: token.fields, expiresAt: token.expires_at, fieldsToFill: token.fields_to_fill, rules: token.rules })
  assert.deepEqual(Object.keys(form.fields), Object.keys(token.fields))
  assert.equal(Object.getPrototypeOf(form.fields), Object.prototype)
  return form
}

describe('signed form hand-over', () => {
  test('rules: the checks a page can make, as in the token, kept per signer, policy and key, frozen', () => {
    const policy = Policy.parse('expires in 1h\nkey starts-with "user/42/"\ncontent-length 1..1KiB\ncontent-type starts-with "image/"')
    for (const s of [signer, new S3Signer({ credentials, region: 'us-east-1', bucket: 'examplebucket' })]) {
      const form = signsLikeToken(s, policy, { key: 'user/42/${filename}' })
      assert.deepEqual(
        form.rules.map((r) => r.op),
        s === signer ? ['required', 'starts-with', 'content-length-range', 'starts-with'] : ['required', 'starts-with', 'starts-with', 'content-length-range'],
      )
      assert.ok(Object.isFrozen(form.rules) && Object.isFrozen(form.rules[1]))
      assert.deepEqual(JSON.parse(JSON.stringify(form)).rules, form.rules)
      // Another key is another template: its own rules.
      const other = signsLikeToken(s, policy, { key: 'user/42/x/${filename}' })
      assert.notDeepEqual(other.rules, form.rules)
    }
    // The fallback (a value holding a separator) builds the rules in the addon.
    const odd = signsLikeToken(signer, policyWith('x-oss-meta-note', 'a\u0000b'))
    assert.deepEqual(
      odd.rules.map((r) => r.op),
      ['required', 'content-length-range'],
    )
  })

  test('values with NUL, \\x01 and non-ASCII text', () => {
    for (const value of ['a\u0000b', 'a\u0001b', '\u0001', 'héllo 世界 😀', 'é\u0000😀', '']) {
      const form = signsLikeToken(signer, policyWith('x-oss-meta-note', value))
      assert.equal(form.fields['x-oss-meta-note'], value)
    }
  })

  test('names with NUL, \\x01 and non-ASCII text', () => {
    for (const name of ['x-oss-meta-a\u0000b', 'x-oss-meta-a\u0001b', 'x-oss-meta-é', 'x-oss-meta-😀']) {
      const form = signsLikeToken(signer, policyWith(name, 'v'))
      assert.equal(form.fields[name], 'v')
    }
  })

  test('__proto__ is an own field, not the prototype', () => {
    for (const value of ['p', 'p\u0000']) {
      const form = signsLikeToken(signer, policyWith('__proto__', value))
      assert.ok(Object.hasOwn(form.fields, '__proto__'))
      assert.equal(Object.getOwnPropertyDescriptor(form.fields, '__proto__').value, value)
      assert.equal(Object.getPrototypeOf(form.fields), Object.prototype)
      // biome-ignore lint/suspicious/noProto: a form field named __proto__ is what this checks
      assert.equal(JSON.parse(JSON.stringify(form)).fields.__proto__, value)
    }
  })

  test('forms of different shapes, in turn, stay apart', () => {
    const a = Policy.parse('expires in 1h\nkey starts-with "user/42/"\nx-oss-meta-owner = "42"')
    const b = Policy.parse('expires in 2h\ncontent-type in ["image/png", "image/jpeg"]\nkey starts-with "a/"')
    const c = Policy.parse('expires in 1h')
    const callback = new CallbackSpec({ url: 'https://example.com/cb', body: 'bucket=${bucket}&uid=${x:uid}', vars: { 'x:uid': '42' } })
    const sts = new OssSigner({ credentials: new Credentials('STS.FormTest', 'secret', 'token'), region: 'cn-hangzhou', bucket: 'examplebucket' })
    const v1 = new OssSigner({ credentials, region: 'cn-hangzhou', bucket: 'examplebucket', version: 'v1' })
    for (let round = 0; round < 3; round++) {
      for (const s of [signer, sts, v1]) {
        signsLikeToken(s, a)
        signsLikeToken(s, b)
        signsLikeToken(s, c)
        signsLikeToken(s, c, { key: 'user/42/${filename}' })
        signsLikeToken(s, a, { callback })
        signsLikeToken(s, a, { callback, pinCallback: false })
      }
    }
    assert.deepEqual(signer.sign(b, { now }).fieldsToFill, ['Content-Type', 'key'])
    assert.deepEqual(signer.sign(c, { now }).fieldsToFill, [])
  })

  test('more shapes than are kept, then the first ones again', () => {
    const policies = Array.from({ length: 100 }, (_, i) => policyWith(`x-oss-meta-n${i}`, String(i)))
    for (const policy of [...policies, ...policies.slice(0, 3)]) signsLikeToken(signer, policy)
  })

  test('one policy signed again and again: every form whole, at its own time', () => {
    const policy = Policy.parse('expires in 1h\nkey starts-with "user/42/"\nx-oss-meta-owner = "42"')
    const s3 = new S3Signer({ credentials: new Credentials('AKIDFORMTEST0001', 'secret'), region: 'us-east-1', bucket: 'examplebucket' })
    for (const s of [signer, s3]) {
      const signatures = new Set()
      for (let minute = 0; minute < 5; minute++) {
        for (const options of [{}, { key: 'user/42/a.png' }, { key: null }]) {
          const at = new Date(now.getTime() + minute * 60_000)
          const form = s.sign(policy, { ...options, now: at })
          const token = JSON.parse(s.token(policy, { ...options, now: at }))
          assert.deepEqual(form, { url: token.url, fields: token.fields, expiresAt: token.expires_at, fieldsToFill: token.fields_to_fill, rules: token.rules })
          assert.deepEqual(Object.keys(form.fields), Object.keys(token.fields))
          signatures.add(form.fields['x-oss-signature'] ?? form.fields['x-amz-signature'])
        }
      }
      assert.equal(signatures.size, 10) // two keys (null is no key) at five times
      // The clock, when `now` is absent: a form that expires in an hour.
      const expires = Date.parse(s.sign(policy).expiresAt)
      assert.ok(Math.abs(expires - Date.now() - 3600_000) < 60_000)
    }
  })

  test('unusual values, signed again and again, take the fallback each time', () => {
    for (const value of ['a\u0000b', 'héllo 世界', 'é\u0001']) {
      const policy = policyWith('x-oss-meta-note', value)
      for (let i = 0; i < 3; i++) assert.equal(signsLikeToken(signer, policy).fields['x-oss-meta-note'], value)
    }
  })

  test('a key per request among a repeated one: first, second and later forms alike', () => {
    // The first form of a policy and key is packed without a plan, the
    // second makes the plan, later ones use it: all must be whole.
    const policy = Policy.parse('expires in 1h\ncontent-length 1..1KiB\nsuccess_action_status = 201')
    for (let i = 0; i < 6; i++) {
      signsLikeToken(signer, policy, { key: `upload/${i}/\${filename}` })
      const form = signsLikeToken(signer, policy, { key: 'user/42/${filename}' })
      assert.equal(form.fields.key, 'user/42/${filename}')
    }
  })

  test('more keys than are kept per policy, then the first ones again', () => {
    const policy = Policy.parse('expires in 1h\ncontent-length 1..1KiB')
    const keys = Array.from({ length: 70 }, (_, i) => `user/${i}/\${filename}`)
    for (const key of [...keys, ...keys.slice(0, 3)]) signsLikeToken(signer, policy, { key })
  })

  test("bad arguments: the addon's own errors, word for word", () => {
    const policy = Policy.parse('expires in 1h')
    const bad = [
      [{}, { now }],
      ['policy', { now }],
      [null, { now }],
      [undefined, undefined],
      [Object.create(Policy.prototype), { now }],
      [policy, { now: new Date(Number.NaN) }],
      [policy, { now: 'today' }],
      [policy, { now: 1e20 }],
      [policy, { now: Date.parse('9999-12-31T23:30:00Z') }],
      [policy, { now, key: 5 }],
      [policy, { now, key: { toString: () => 'k' } }],
    ]
    for (const [p, options] of bad) {
      const own = (() => {
        try {
          native.OssSigner.prototype.sign.call(signer, p, options)
        } catch (error) {
          return error
        }
        assert.fail(`the addon signs ${String(p)} with ${JSON.stringify(options)}`)
      })()
      assert.throws(
        () => signer.sign(p, options),
        (error) => error.constructor === own.constructor && error.code === own.code && error.message === own.message,
      )
    }
  })

  test('each form is its own: changing one leaves the next alone', () => {
    const policy = Policy.parse('expires in 1h\nkey starts-with "user/"\nx-oss-meta-owner = "42"')
    const first = signer.sign(policy, { now })
    first.fieldsToFill.push('extra')
    first.fields['x-oss-meta-owner'] = 'changed'
    delete first.fields.policy
    const second = signsLikeToken(signer, policy)
    assert.deepEqual(second.fieldsToFill, ['key'])
    assert.equal(second.fields['x-oss-meta-owner'], '42')
  })

  test('signJson and S3 forms take the same path', () => {
    const text = '{"expiration":"2026-11-21T13:00:00.000Z","conditions":[{"bucket":"examplebucket"},{"x-oss-meta-a":"é\\u0001"}]}'
    const form = signer.signJson(text, { now })
    assert.equal(form.url, signer.url)
    assert.equal(form.expiresAt, '2026-11-21T13:00:00.000Z')
    assert.equal(form.fields.policy, Buffer.from(text).toString('base64'))
    assert.deepEqual(form.fieldsToFill, [])
    const s3 = new S3Signer({ credentials: new Credentials('AKIDFORMTEST0001', 'secret'), region: 'us-east-1', bucket: 'examplebucket' })
    signsLikeToken(s3, Policy.parse('expires in 1h\nkey starts-with "u/"\nx-amz-meta-note = "a\\u{0}b"'))
    signsLikeToken(s3, Policy.parse('expires in 1h\nkey starts-with "u/"'))
  })
})
