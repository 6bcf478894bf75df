// Every vector of tests/vectors/oss-signatures.json (computed with the
// official SDKs) through the JS API, one subtest each: the same checks as
// crates/postpolicy/tests/oss_vectors.rs.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { Credentials, OssSigner, signV1, signV4 } from '../index.js'
import { readJson } from './helpers.mjs'

const vectors = readJson('tests/vectors/oss-signatures.json').vectors

function s(v, key) {
  const value = v[key]
  assert.equal(typeof value, 'string', `${v.id}: missing ${key}`)
  return value
}

function signature(v, secret) {
  switch (s(v, 'signature_version')) {
    case 'v1':
      return signV1(secret, s(v, 'policy_b64'))
    case 'v4':
      return signV4(secret, s(v, 'policy_b64'), s(v, 'scope_date'), s(v, 'signing_region'), s(v, 'product'))
    default:
      throw new Error(`unknown version ${v.signature_version}`)
  }
}

function signerFor(v) {
  const credentials = new Credentials(s(v, 'access_key_id'), s(v, 'access_key_secret'), v.security_token ?? undefined)
  if (s(v, 'signature_version') === 'v1') {
    return {
      signer: new OssSigner({ credentials, region: 'cn-hangzhou', bucket: 'examplebucket', version: 'v1' }),
      now: new Date(1_700_000_000_000),
    }
  }
  const cloudbox = s(v, 'product') === 'oss-cloudbox'
  return {
    signer: new OssSigner({
      credentials,
      region: s(v, 'region_configured'),
      bucket: 'examplebucket',
      cloudboxId: cloudbox ? s(v, 'signing_region') : undefined,
    }),
    now: new Date(s(v, 'request_datetime_utc')),
  }
}

test('the full vector set is present', () => {
  assert.ok(vectors.length >= 20, 'expected the full vector set')
  const mustNotVerify = vectors.reduce((n, v) => n + v.must_not_verify.length, 0)
  assert.ok(mustNotVerify > 20)
})

for (const v of vectors) {
  test(`vector ${v.id}`, () => {
    const id = v.id
    // every_vector_signature_matches
    assert.equal(Buffer.from(s(v, 'policy_json'), 'utf8').toString('base64'), s(v, 'policy_b64'), `${id}: base64 of policy_json`)
    const ours = signature(v, s(v, 'access_key_secret'))
    assert.equal(ours, s(v, 'signature'), id)
    // every_must_not_verify_signature_differs
    for (const bad of v.must_not_verify) {
      assert.notEqual(ours, s(bad, 'signature'), `${id}: ${bad.reason}`)
    }
    // signing_the_same_text_yields_the_same_fields
    const { signer, now } = signerFor(v)
    const form = signer.signJson(s(v, 'policy_json'), { now })
    assert.deepEqual(Object.entries(form.fields), Object.entries(v.form_fields), id)
  })
}

test('a region with the oss- prefix signs the same', () => {
  const a = signV4('secret', 'cG9saWN5', '20240115', 'oss-cn-hangzhou', 'oss')
  const b = signV4('secret', 'cG9saWN5', '20240115', 'cn-hangzhou', 'oss')
  assert.equal(a, b)
  assert.equal(signV4('secret', 'cG9saWN5', '20240115', 'cn-hangzhou'), b, 'product defaults to oss')
})

test('bad low-level inputs are typed errors', () => {
  const signingInvalid = { code: 'SIGNING_INVALID' }
  assert.throws(() => signV4('s', 'p', '2024-01-15', 'cn-hangzhou', 'oss'), signingInvalid)
  assert.throws(() => signV4('s', 'p', '20241315', 'cn-hangzhou', 'oss'), signingInvalid)
  assert.throws(() => signV4('s', 'p', '20240115', 'CN Hangzhou', 'oss'), signingInvalid)
})
