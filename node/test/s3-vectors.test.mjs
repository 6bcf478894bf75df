// Every vector of tests/vectors/s3-signatures.json (computed with boto3 and
// the AWS SDK for JavaScript) through the JS API, one subtest each: the same
// checks as crates/postpolicy/tests/s3_vectors.rs and
// python/tests/test_s3_vectors.py.
// - the signature of the SDK's policy matches byte for byte (`signS3V4` and
//   `S3Signer#signJson`, which also reproduces the `x-amz-*` fields);
// - our `S3Signer`, given the same key and user conditions, produces the same
//   conditions, expiration and form fields;
// - our `S3Verifier` accepts the SDK's form at the signing time, and rejects
//   it once the policy has expired, with a wrong signature, or with an extra field.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { Credentials, Policy, S3Signer, S3Verifier, signS3V4 } from '../index.js'
import { disputed, readJson } from './helpers.mjs'

const doc = readJson('tests/vectors/s3-signatures.json')
const vectors = doc.vectors
const skipped = new Set(disputed())
const SIGNER_OWNED = ['bucket', 'x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-security-token']

function signerFor(v) {
  const i = v.inputs
  const credentials = new Credentials(i.access_key_id, i.secret_access_key, i.session_token)
  return new S3Signer({
    credentials,
    region: i.region,
    bucket: i.bucket,
    endpoint: i.endpoint_url,
    pathStyle: i.endpoint_url != null ? true : null,
  })
}

function verifierFor(v) {
  const i = v.inputs
  return new S3Verifier({ bucket: i.bucket, region: i.region, keys: { [i.access_key_id]: i.secret_access_key } })
}

/** The SDK's fields with lower-case names. */
function sdkFields(v) {
  return Object.fromEntries(Object.entries(v.outputs.fields).map(([k, value]) => [k.toLowerCase(), value]))
}

/** The field a wire condition names (lower case, no `$`), if any. */
function fieldName(condition) {
  if (!Array.isArray(condition) && typeof condition === 'object' && Object.keys(condition).length === 1) {
    return Object.keys(condition)[0].replace(/^\$/, '').toLowerCase()
  }
  if (Array.isArray(condition) && condition.length === 3 && typeof condition[1] === 'string') {
    if (String(condition[0]).toLowerCase() === 'content-length-range') return null
    return condition[1].replace(/^\$/, '').toLowerCase()
  }
  return null
}

/** One condition as the core prints it (names normalised, eq forms unified). */
function canonical(condition, expiration) {
  return Policy.fromJson(JSON.stringify({ expiration, conditions: [condition] })).toDsl()
}

/** The expiration a policy resolves to at `now`, as the core writes it. */
function expiresAt(policy, now) {
  return JSON.parse(policy.toJson({ now })).expiration
}

/** The SDK's form as a browser sends it: its fields, a value for each field to fill, a file in range. */
function browserSubmission(v) {
  const conditions = JSON.parse(v.policy_json).conditions
  const fields = Object.entries(v.outputs.fields)
  let size = 1
  for (const c of conditions) {
    if (Array.isArray(c) && c.length === 3 && String(c[0]).toLowerCase() === 'starts-with') {
      const written = String(c[1]).replace(/^\$/, '')
      if (!fields.some(([n]) => n.toLowerCase() === written.toLowerCase())) fields.push([written, `${c[2]}x`])
    }
    if (Array.isArray(c) && c.length === 3 && String(c[0]).toLowerCase() === 'content-length-range') {
      size = Math.max(size, Number(c[1]))
    }
  }
  fields.push(['x-ignore-tracking', 'anything'])
  return { fields, file: { filename: 'photo.png', contentType: 'image/png', size } }
}

test('the full vector set is present', () => {
  assert.equal(doc.count, vectors.length)
  assert.ok(vectors.length >= 20, 'expected the full vector set')
})

for (const v of vectors) {
  test(`vector ${v.id}`, { skip: skipped.has(v.id) && 'listed in tests/DISPUTED.md' }, () => {
    const i = v.inputs
    const now = new Date(i.time)

    // every_vector_signature_matches
    assert.equal(Buffer.from(v.policy_json, 'utf8').toString('base64'), v.policy_b64, 'base64 of policy_json')
    assert.equal(signS3V4(i.secret_access_key, v.policy_b64, v.scope_date, i.region), v.outputs.signature, 'signature')

    // sign_json_reproduces_the_sdk_auth_fields
    const exact = signerFor(v).signJson(v.policy_json, { now })
    const sdk = sdkFields(v)
    for (const [name, value] of Object.entries(exact.fields)) assert.equal(sdk[name.toLowerCase()], value, `field ${name}`)
    assert.equal(Object.keys(exact.fields).length, 5 + ('x-amz-security-token' in sdk ? 1 : 0))

    // our_signer_agrees_with_the_sdks
    const sdkDoc = JSON.parse(v.policy_json)
    const expiration = sdkDoc.expiration
    const keyCondition = i.key.endsWith('${filename}')
      ? canonical(['starts-with', '$key', i.key.slice(0, -'${filename}'.length)], expiration)
      : canonical({ key: i.key }, expiration)
    const user = sdkDoc.conditions.filter((c) => canonical(c, expiration) !== keyCondition && !SIGNER_OWNED.includes(fieldName(c)))
    const userPolicy = Policy.fromJson(JSON.stringify({ expiration, conditions: user }))
    const form = signerFor(v).sign(userPolicy, { now, key: i.key })
    const oursDoc = JSON.parse(Buffer.from(form.fields.policy, 'base64').toString('utf8'))
    const ours = Policy.fromJson(JSON.stringify(oursDoc))
    assert.equal(expiresAt(ours, now), expiresAt(Policy.fromJson(v.policy_json), now), 'expiration')
    const a = oursDoc.conditions.map((c) => canonical(c, expiration)).sort()
    const b = sdkDoc.conditions.map((c) => canonical(c, expiration)).sort()
    assert.deepEqual(a, b, 'conditions')
    // Same fields, apart from the policy text and its signature (and the
    // JavaScript SDK's `bucket` field, which S3 does not need).
    const expected = sdkFields(v)
    for (const name of ['bucket', 'policy', 'x-amz-signature']) delete expected[name]
    const mine = Object.fromEntries(Object.entries(form.fields).map(([k, value]) => [k.toLowerCase(), value]))
    delete mine.policy
    delete mine['x-amz-signature']
    assert.deepEqual(mine, expected, 'fields')
    // The JavaScript SDK resolves the regional URL, as we do; boto3 uses the
    // global endpoint unless given one.
    if (v.sdk.startsWith('@aws-sdk') || i.endpoint_url != null) assert.equal(form.url, v.outputs.url, 'url')

    // our_verifier_accepts_the_sdk_forms
    const submission = browserSubmission(v)
    const later = new Date(now.getTime() + 1000)
    const accepted = verifierFor(v).verify(submission, { now: later })
    assert.equal(accepted.key, i.key.replace('${filename}', 'photo.png'))
    assert.equal(accepted.accessKeyId, i.access_key_id)
    // Expired.
    const late = new Date(now.getTime() + (i.expires_in + 1) * 1000)
    assert.throws(
      () => verifierFor(v).verify(submission, { now: late }),
      (e) => {
        assert.equal(e.code, 'REJECTED')
        assert.equal(e.serviceCode, 'AccessDenied')
        assert.equal(e.serviceMessage, 'Invalid according to Policy: Policy expired.')
        return true
      },
    )
    // A flipped signature digit.
    const flipped = submission.fields.map(([n, value]) =>
      n.toLowerCase() === 'x-amz-signature' ? [n, (value.startsWith('0') ? '1' : '0') + value.slice(1)] : [n, value],
    )
    assert.throws(() => verifierFor(v).verify({ ...submission, fields: flipped }, { now: later }), { code: 'REJECTED', serviceCode: 'SignatureDoesNotMatch' })
    // An uncovered field.
    const extra = [['x-amz-meta-sneaky', '1'], ...submission.fields]
    assert.throws(() => verifierFor(v).verify({ ...submission, fields: extra }, { now: later }), {
      code: 'REJECTED',
      serviceMessage: 'Invalid according to Policy: Extra input fields: x-amz-meta-sneaky',
    })
  })
}
