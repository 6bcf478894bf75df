// Shared by fastify.test.mjs and web.test.mjs: a signer, signed callbacks
// (the vectors file's synthetic test key, as OSS signs them), and the
// route's token compared with the signer's own.
import assert from 'node:assert/strict'

import { CallbackSigner, Credentials, OssSigner, Policy } from '../index.js'
import { readJson } from './helpers.mjs'

export const testKey = readJson('tests/vectors/oss-signatures.json').callback.synthetic_test_key
export const callbackSigner = new CallbackSigner(testKey.private_key_pem)
export const keyUrl = 'http://127.0.0.1:9/callback_pub_key.pem'
export const trustedKeyUrls = ['http://127.0.0.1:9/']
/** A key source that never touches the network; records the URLs asked for. */
export const keyCalls = []
export const keySource = (url) => {
  keyCalls.push(url)
  return testKey.public_key_pem
}

export const signer = new OssSigner({
  credentials: new Credentials('LTAI5tFramework01', 'FrameworkTestSecretKZo149BD9GLPNi'),
  region: 'cn-hangzhou',
  bucket: 'examplebucket',
})
// One fixed expiration (signing otherwise sets it from the clock, to the
// millisecond) so that a route's token can equal the signer's.
export const expiry = new Date(Date.now() + 3600_000)
export const policy = Policy.builder()
  .expiresAt(expiry)
  .size(1, 10 * 1024 * 1024)
  .keyPrefix('uploads/')
  .contentTypePrefix('image/')
  .build()
/** A per-user policy, as a policy function of the request builds it. */
export const userPolicy = (id) =>
  Policy.builder()
    .expiresAt(expiry)
    .keyPrefix(`user/${id}/`)
    .size(1, 1024 * 1024)
    .build()

/** The signed headers OSS sends with a callback POSTed to `target`. */
export function signedHeaders(target, body) {
  return callbackSigner.headers({ path: target, body, publicKeyUrl: keyUrl })
}

export const callbackBody = 'bucket=examplebucket&object=uploads%2Fa%20b.png&size=5&mimeType=image%2Fpng&x:uid=42'
export const callbackParams = { bucket: 'examplebucket', object: 'uploads/a b.png', size: '5', mimeType: 'image/png', 'x:uid': '42' }

/**
 * Asserts that `fetchToken()` answers exactly what `expected()` signs: both
 * are signed in the same second at least once in a few tries (the signature
 * covers the signing time, to the second), and then every member is equal.
 */
export async function assertSameToken(fetchToken, expected) {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const mine = JSON.parse(expected())
    const got = await fetchToken()
    assert.deepEqual(Object.keys(got), ['url', 'fields', 'expires_at', 'fields_to_fill', 'rules'])
    if (got.fields['x-oss-date'] !== mine.fields['x-oss-date']) continue
    assert.deepEqual(got, mine)
    return
  }
  assert.fail('never signed in the same second as the signer')
}
