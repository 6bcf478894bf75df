// Callback key URLs are trusted by parsed URL (issue 12, item 5), through the
// Node binding: every refused key URL is refused with the key source never
// called, and the key cache is keyed by canonical URL and bounded.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'

const require = createRequire(import.meta.url)
const { CachedKeySource, CallbackSigner, KeyUrlPolicy, verifyCallback } = require('../../../node/index.js')
const middleware = require('../../../node/express.js').verifyCallback

const vectors = JSON.parse(readFileSync(new URL('../../vectors/oss-signatures.json', import.meta.url), 'utf8'))
const testKey = vectors.callback.synthetic_test_key
const signer = new CallbackSigner(testKey.private_key_pem)
const BODY = 'bucket=b&object=o'
const WELL_KNOWN = 'http://127.0.0.1:8080/.well-known/postpolicy/'
// The signature covers path, query and body, not the key URL: sign once.
const AUTHORIZATION = signer.sign({ path: '/cb', query: null, body: BODY })

/** A key source that records every URL it is asked for. */
function counting() {
  const calls = []
  const source = (url) => {
    calls.push(url)
    return testKey.public_key_pem
  }
  source.calls = calls
  return source
}

function request(keyUrl) {
  return {
    path: '/cb',
    query: null,
    headers: { authorization: AUTHORIZATION, 'x-oss-pub-key-url': Buffer.from(keyUrl).toString('base64') },
    body: BODY,
  }
}

async function assertRefusedUnfetched(keyUrl, trustedKeyUrls = [WELL_KNOWN]) {
  const keySource = counting()
  await assert.rejects(verifyCallback(request(keyUrl), { keySource, trustedKeyUrls }), (error) => {
    assert.equal(error.code, 'CALLBACK_UNTRUSTED_KEY_URL', `${keyUrl}: ${error.message}`)
    return true
  })
  assert.deepEqual(keySource.calls, [], `${JSON.stringify(keyUrl)} was fetched`)
}

describe('key URL trust', () => {
  test('a key URL inside the trusted folder verifies and is fetched as written', async () => {
    const keySource = counting()
    const url = `${WELL_KNOWN}callback_pub_key_v1.pem`
    assert.deepEqual(await verifyCallback(request(url), { keySource, trustedKeyUrls: [WELL_KNOWN] }), { publicKeyUrl: url })
    assert.deepEqual(keySource.calls, [url])
  })

  test('dot segments walking out of the trusted folder are refused, nothing fetched', async () => {
    for (const url of [`${WELL_KNOWN}../../postpolicy-dev/evil/k.pem`, `${WELL_KNOWN}./k.pem`, `${WELL_KNOWN}..;x/..;x/postpolicy-dev/evil/k.pem`]) {
      await assertRefusedUnfetched(url)
    }
  })

  test('percent-encoded dot segments, slashes and backslashes are refused, nothing fetched', async () => {
    for (const url of [
      `${WELL_KNOWN}%2e%2e/%2e%2e/postpolicy-dev/evil/k.pem`,
      `${WELL_KNOWN}%2E%2E/%2E%2E/postpolicy-dev/evil/k.pem`,
      `${WELL_KNOWN}.%2e/.%2E/postpolicy-dev/evil/k.pem`,
      `${WELL_KNOWN}..%2f..%2fpostpolicy-dev/evil/k.pem`,
      `${WELL_KNOWN}..%5c..%5cpostpolicy-dev/evil/k.pem`,
      `${WELL_KNOWN}%252e%252e/k.pem`,
      `${WELL_KNOWN}..\\..\\postpolicy-dev/evil/k.pem`,
    ]) {
      await assertRefusedUnfetched(url)
    }
  })

  test('a prefix matches at a path segment boundary only', async () => {
    const trusted = KeyUrlPolicy.none().allow('https://k.example.com/oss')
    await assertRefusedUnfetched('https://k.example.com/oss-uploads/evil.pem', trusted)
    await assertRefusedUnfetched('https://k.example.com/ossevil.pem', trusted)
    assert.equal(trusted.check('https://k.example.com/oss/k.pem'), 'https://k.example.com/oss/k.pem')
    assert.equal(trusted.isTrusted('https://k.example.com/oss-uploads/evil.pem'), false)
  })

  test('userinfo is refused, nothing fetched', async () => {
    for (const url of [
      'http://127.0.0.1:8080@evil.com/.well-known/postpolicy/k.pem',
      'http://user:pw@127.0.0.1:8080/.well-known/postpolicy/k.pem',
      'http://@127.0.0.1:8080/.well-known/postpolicy/k.pem',
    ]) {
      await assertRefusedUnfetched(url)
    }
  })

  test('1,000 query URLs cause no fetch and no cached key', async () => {
    const source = counting()
    const cache = new CachedKeySource(source)
    for (let i = 0; i < 1000; i++) {
      await assert.rejects(verifyCallback(request(`${WELL_KNOWN}callback_pub_key_v1.pem?v=${i}`), { keySource: cache, trustedKeyUrls: [WELL_KNOWN] }), {
        code: 'CALLBACK_UNTRUSTED_KEY_URL',
      })
    }
    assert.equal(source.calls.length, 0)
    assert.equal(cache.size, 0)
  })

  test('a fragment is refused, nothing fetched', async () => {
    await assertRefusedUnfetched(`${WELL_KNOWN}k.pem#x`)
  })

  test('forms a URL parser would rewrite are refused, nothing fetched', async () => {
    for (const url of [
      `${WELL_KNOWN}k.pem\r\nHost: evil`,
      `${WELL_KNOWN}k\t.pem`,
      'HTTP://127.0.0.1:8080/.well-known/postpolicy/k.pem',
      'http://2130706433:8080/.well-known/postpolicy/k.pem',
      'http://127.1:8080/.well-known/postpolicy/k.pem',
      'http://127.0.0.1:8080/.well-known//postpolicy/k.pem',
      'http://127.0.0.1:8080/.well-known/postpolicy/\uff4b.pem',
      'http://127.0.0.1:80801/.well-known/postpolicy/k.pem',
      'https://127.0.0.1:8080/.well-known/postpolicy/k.pem',
    ]) {
      await assertRefusedUnfetched(url)
    }
  })

  test("OSS's key host is fetched over https and cached once", async () => {
    const source = counting()
    const cache = new CachedKeySource(source)
    const http = 'http://gosspublic.alicdn.com/callback_pub_key_v1.pem'
    const https = 'https://gosspublic.alicdn.com/callback_pub_key_v1.pem'
    assert.deepEqual(await verifyCallback(request(http), { keySource: cache }), { publicKeyUrl: https })
    assert.deepEqual(await verifyCallback(request(https), { keySource: cache }), { publicKeyUrl: https })
    assert.deepEqual(source.calls, [https])
    assert.equal(cache.size, 1)
  })

  test('the key cache is bounded, least recently used first', async () => {
    const source = counting()
    const cache = new CachedKeySource(source)
    const url = (i) => `${WELL_KNOWN}k${i}.pem`
    const options = { keySource: cache, trustedKeyUrls: [WELL_KNOWN] }
    for (let i = 0; i < 40; i++) {
      await verifyCallback(request(url(i)), options)
      await verifyCallback(request(url(0)), options) // key 0 stays the most recently used
    }
    assert.equal(cache.size, 32)
    assert.equal(source.calls.length, 40)
    await verifyCallback(request(url(0)), options)
    assert.equal(source.calls.length, 40, 'key 0 is still cached')
    await verifyCallback(request(url(1)), options)
    assert.equal(source.calls.at(-1), url(1), 'key 1 went first and is fetched again')
    assert.equal(cache.size, 32)
  })

  test('a prefix that is not an http(s) URL is a configuration error', async () => {
    for (const prefix of [
      '',
      'not a url',
      'ftp://k.example.com/keys/',
      'https://user@k.example.com/keys/',
      'https://k.example.com/keys/?v=1',
      'https://k.example.com/keys/#x',
      'https://k.example.com/keys/../other/',
      'https:///keys/',
    ]) {
      assert.throws(() => new KeyUrlPolicy().allow(prefix), { code: 'CALLBACK_KEY_URL_PREFIX' }, prefix)
      // The Express middleware parses its prefixes when it is made, not per request.
      assert.throws(() => middleware({ trustedKeyUrls: [prefix] }), { code: 'CALLBACK_KEY_URL_PREFIX' }, prefix)
      await assert.rejects(verifyCallback(request(`${WELL_KNOWN}k.pem`), { keySource: counting(), trustedKeyUrls: [prefix] }), {
        code: 'CALLBACK_KEY_URL_PREFIX',
      })
    }
  })
})
