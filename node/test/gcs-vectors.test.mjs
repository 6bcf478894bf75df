// Every case of tests/vectors/gcs-post-policy-v4.json (Google's own
// conformance suite for V4 POST policies) through the JS API, as
// crates/postpolicy/tests/gcs_vectors.rs and python/tests/test_gcs_vectors.py
// do: `GcsSigner` gives byte for byte the URL, every field, the decoded
// policy and the signature; `GcsVerifier` accepts Google's form at its
// signing time and refuses it once expired.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { GcsSigner, GcsVerifier, Policy } from '../index.js'
import { readJson } from './helpers.mjs'

const doc = readJson('tests/vectors/gcs-post-policy-v4.json')
const cases = doc.postPolicyV4Tests
const account = doc.service_account
const STYLES = { VIRTUAL_HOSTED_STYLE: 'virtual-hosted', BUCKET_BOUND_HOSTNAME: 'bucket-bound' }

test('the whole suite', () => {
  assert.equal(cases.length, 11)
})

/** The case's conditions, then its fields in name order, as policy JSON. */
function policyOf(i) {
  const conditions = []
  const given = i.conditions ?? {}
  if (given.startsWith) conditions.push(['starts-with', ...given.startsWith])
  if (given.contentLengthRange) conditions.push(['content-length-range', ...given.contentLengthRange])
  for (const name of Object.keys(i.fields ?? {}).sort()) conditions.push({ [name]: i.fields[name] })
  const expires = new Date(Date.parse(i.timestamp) + i.expiration * 1000)
  const expiration = expires.toISOString().replace(/\.\d{3}Z$/, 'Z')
  return Policy.fromJson(JSON.stringify({ expiration, conditions }))
}

/** `expectedDecodedPolicy` with non-ASCII as the `policy` field carries it. */
function asSent(text) {
  return text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

for (const c of cases) {
  test(c.description, () => {
    const i = c.policyInput
    const out = c.policyOutput
    const signer = new GcsSigner({
      serviceAccount: account,
      bucket: i.bucket,
      urlStyle: STYLES[i.urlStyle] ?? 'path',
      boundHostname: i.bucketBoundHostname,
      scheme: i.scheme,
    })
    const now = new Date(i.timestamp)
    const form = signer.sign(policyOf(i), { now, key: i.object })
    assert.equal(form.url, out.url)
    assert.deepEqual({ ...form.fields }, out.fields)
    const decoded = Buffer.from(form.fields.policy, 'base64').toString('utf8')
    assert.equal(decoded, asSent(out.expectedDecodedPolicy))
    assert.deepEqual(JSON.parse(decoded), JSON.parse(out.expectedDecodedPolicy))

    const fields = { ...out.fields }
    if (i.conditions?.startsWith) fields[i.conditions.startsWith[0].slice(1)] = `${i.conditions.startsWith[1]}-read`
    const size = (i.conditions?.contentLengthRange?.[0] ?? 99) + 1
    const verifier = new GcsVerifier({ bucket: i.bucket, serviceAccounts: [account] })
    const submission = { fields, file: { filename: 'photo.png', contentType: 'image/png', size } }
    assert.equal(verifier.verify(submission, { now }).key, i.object)
    assert.throws(
      () => verifier.verify(submission, { now: new Date(now.getTime() + 10_000) }),
      (e) => e.code === 'REJECTED' && e.serviceCode === 'AccessDenied',
    )
  })
}

test('an HMAC key signs and verifies; a violation gets GCS answer', () => {
  const signer = new GcsSigner({ hmac: { accessId: 'GOOG1ENODE', secret: 'bm9kZS1zZWNyZXQ=' }, bucket: 'photos' })
  assert.equal(signer.url, 'https://storage.googleapis.com/photos/')
  assert.equal(signer.algorithm, 'GOOG4-HMAC-SHA256')
  const form = signer.sign(Policy.parse('expires in 10m\ncontent-length 1..1KiB'), { key: 'u/${filename}' })
  const verifier = new GcsVerifier({ bucket: 'photos', keys: { GOOG1ENODE: 'bm9kZS1zZWNyZXQ=' } })
  const file = { filename: 'a.txt', contentType: 'text/plain', size: 10 }
  assert.equal(verifier.verify({ fields: form.fields, file }).key, 'u/a.txt')
  assert.throws(
    () => verifier.verify({ fields: { ...form.fields, submit: 'Upload' }, file }),
    (e) => e.serviceCode === 'InvalidPolicyDocument' && e.serviceMessage.includes('Policy did not reference these fields: submit'),
  )
  assert.throws(
    () => signer.sign(Policy.parse('content-type in [image/png]')),
    (e) => e.code === 'SIGNING_INVALID',
  )
})
