// OSS upload callbacks from Node: every callback vector of
// tests/vectors/oss-signatures.json (no network: the key source is a stub
// that serves the vector's PEM), the sender, every verification failure,
// the key cache and fetcher, the CallbackSpec builder and its validation
// errors, and callbacks in signed forms. The same checks as
// crates/postpolicy/tests/callback.rs, through the JS API.
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:http'
import { after, before, describe, test } from 'node:test'

import {
  CachedKeySource,
  CallbackSigner,
  CallbackSpec,
  Credentials,
  callbackStringToSign,
  defaultKeySource,
  fetchPublicKeyPem,
  OssSigner,
  Policy,
  S3Signer,
  Verifier,
  verifyCallback,
} from '../index.js'
import { disputed, readJson } from './helpers.mjs'

const doc = readJson('tests/vectors/oss-signatures.json')
const cases = doc.callback_vectors
const testKey = doc.callback.synthetic_test_key
const skipped = new Set(disputed())
const b64 = (text) => Buffer.from(text, 'utf8').toString('base64')

/** A key source that counts its calls and serves `pem`. */
function stub(pem) {
  const source = (url) => {
    source.calls.push(url)
    return pem
  }
  source.calls = []
  return source
}

/** The vector's request, as verifyCallback takes it. */
function requestOf(v, headers = v.headers) {
  return { method: v.request_method, path: v.raw_path_and_query, headers, body: Buffer.from(v.body, 'utf8') }
}

async function outcome(promise) {
  try {
    return { ok: await promise }
  } catch (error) {
    return { error }
  }
}

describe('callback vectors', () => {
  test('the vector set is present', () => {
    assert.ok(cases.length >= 5)
    assert.ok(cases.some((v) => v.expected_valid) && cases.some((v) => !v.expected_valid))
  })

  for (const v of cases) {
    test(`vector ${v.id}`, { skip: skipped.has(v.id) && 'listed in tests/DISPUTED.md' }, async () => {
      const [path, query] = v.raw_path_and_query.includes('?')
        ? [v.raw_path_and_query.slice(0, v.raw_path_and_query.indexOf('?')), v.raw_path_and_query.slice(v.raw_path_and_query.indexOf('?') + 1)]
        : [v.raw_path_and_query, null]
      if (v.expected_string_to_sign != null) {
        assert.equal(callbackStringToSign({ path, query, body: v.body }).toString('utf8'), v.expected_string_to_sign, 'string to sign')
        assert.deepEqual(
          callbackStringToSign({ path: v.raw_path_and_query, body: v.body }),
          callbackStringToSign({ path, query, body: v.body }),
          'a raw target splits at the first ?',
        )
      }
      const source = stub(v.public_key_pem)
      const result = await outcome(verifyCallback(requestOf(v), { keySource: source }))
      assert.equal('ok' in result, v.expected_valid, `${v.id}: ${result.error?.message}`)
      const trusted = v.check?.public_key_url_trusted ?? true
      if (trusted) {
        // OSS's key host is fetched over https whatever the header says.
        const canonical = v.public_key_url.replace('http://gosspublic.alicdn.com/', 'https://gosspublic.alicdn.com/')
        assert.deepEqual(source.calls, [canonical], 'the trusted key URL is fetched, once')
        if (result.ok) assert.deepEqual(result.ok, { publicKeyUrl: canonical })
        if (!v.expected_valid && /signature/.test(v.reject_reason ?? '')) {
          assert.equal(result.error.code, 'CALLBACK_BAD_SIGNATURE')
          assert.ok(result.error instanceof Error)
        }
      } else {
        assert.equal(source.calls.length, 0, 'an untrusted key URL must not be fetched')
        assert.equal(result.error.code, 'CALLBACK_UNTRUSTED_KEY_URL')
      }

      // The same request naming an untrusted key URL: refused, nothing fetched.
      for (const evil of ['https://evil.example.com/key.pem', 'https://gosspublic.alicdn.com.evil.example.com/k.pem', 'HTTP://gosspublic.alicdn.com/k.pem']) {
        const forged = stub(v.public_key_pem)
        const refused = await outcome(verifyCallback(requestOf(v, { ...v.headers, 'x-oss-pub-key-url': b64(evil) }), { keySource: forged }))
        assert.equal(refused.error?.code, 'CALLBACK_UNTRUSTED_KEY_URL', evil)
        assert.ok(refused.error.message.includes(evil), refused.error.message)
        assert.equal(forged.calls.length, 0, `${evil} must not be fetched`)
      }
    })
  }

  test('the synthetic test key reproduces every valid synthetic signature', () => {
    const signer = new CallbackSigner(testKey.private_key_pem)
    assert.equal(signer.publicKeyPem.trim(), testKey.public_key_pem.trim())
    let checked = 0
    for (const v of cases) {
      if (v.kind !== 'synthetic-test-key' || !v.expected_valid) continue
      assert.equal(signer.sign({ path: v.raw_path_and_query, body: v.body }), v.headers.authorization, v.id)
      checked += 1
    }
    assert.ok(checked > 0)
  })
})

describe('verifyCallback', () => {
  const signer = new CallbackSigner(testKey.private_key_pem)
  const pem = signer.publicKeyPem
  const ossKeyUrl = 'https://gosspublic.alicdn.com/callback_pub_key_v1.pem'
  const body = Buffer.from('bucket=examplebucket&object=a%2Fb.jpg&size=5')
  const path = '/%E5%9B%9E%E8%B0%83/notify.php'

  test('a signed request verifies for every query form; a changed byte, path or query does not', async () => {
    for (const query of [null, '', 'name=%E4%B8%AD&x=a%2Bb']) {
      const headers = signer.headers({ path, query, body, publicKeyUrl: ossKeyUrl })
      assert.deepEqual(Object.keys(headers), ['authorization', 'x-oss-pub-key-url'])
      assert.equal(headers['x-oss-pub-key-url'], b64(ossKeyUrl))
      assert.deepEqual(await verifyCallback({ path, query, headers, body }, { keySource: stub(pem) }), { publicKeyUrl: ossKeyUrl })
      const tampered = Buffer.from(body)
      tampered[0] ^= 1
      await assert.rejects(verifyCallback({ path, query, headers, body: tampered }, { keySource: stub(pem) }), { code: 'CALLBACK_BAD_SIGNATURE' })
      await assert.rejects(verifyCallback({ path: '/other', query, headers, body }, { keySource: stub(pem) }), { code: 'CALLBACK_BAD_SIGNATURE' })
    }
    // `?` with an empty query is not the same as no `?`.
    const headers = signer.headers({ path: '/cb', query: null, body: 'x', publicKeyUrl: ossKeyUrl })
    await assert.rejects(verifyCallback({ path: '/cb', query: '', headers, body: 'x' }, { keySource: stub(pem) }), { code: 'CALLBACK_BAD_SIGNATURE' })
    await assert.rejects(verifyCallback({ path: '/cb?', headers, body: 'x' }, { keySource: stub(pem) }), { code: 'CALLBACK_BAD_SIGNATURE' })
    assert.ok(await verifyCallback({ path: '/cb', headers, body: 'x' }, { keySource: stub(pem) }))
  })

  test('headers: any case, as an object with arrays, a Map, a Headers or pairs; bodies of every byte type', async () => {
    const headers = signer.headers({ path: '/cb', body: 'x=1', publicKeyUrl: ossKeyUrl })
    const forms = [
      { Authorization: headers.authorization, 'X-OSS-Pub-Key-Url': [headers['x-oss-pub-key-url']], 'content-length': 3 },
      new Map(Object.entries(headers)),
      new Headers(headers),
      Object.entries(headers),
    ]
    for (const form of forms) {
      assert.ok(await verifyCallback({ method: 'POST', path: '/cb', headers: form, body: 'x=1' }, { keySource: stub(pem) }))
    }
    const bytes = new TextEncoder().encode('x=1')
    for (const b of [bytes, bytes.buffer, Buffer.from(bytes), 'x=1']) {
      assert.ok(await verifyCallback({ path: '/cb', headers, body: b }, { keySource: stub(pem) }))
    }
  })

  test('every verification failure has its own code; untrusted URLs are never fetched', async () => {
    const good = signer.sign({ path: '/cb', body: 'x=1' })
    const oss = b64(ossKeyUrl)
    const failures = [
      [{ 'x-oss-pub-key-url': oss }, 'CALLBACK_MISSING_AUTHORIZATION'],
      [{ authorization: good }, 'CALLBACK_MISSING_PUB_KEY_URL'],
      [{ authorization: 'not base64!', 'x-oss-pub-key-url': oss }, 'CALLBACK_HEADER_NOT_BASE64'],
      [{ authorization: good, 'x-oss-pub-key-url': '%%%' }, 'CALLBACK_HEADER_NOT_BASE64'],
      [{ authorization: good, 'x-oss-pub-key-url': b64('https://evil.example.com/key.pem') }, 'CALLBACK_UNTRUSTED_KEY_URL'],
      [{ authorization: good, 'x-oss-pub-key-url': b64('https://gosspublic.alicdn.com.evil.example.com/key.pem') }, 'CALLBACK_UNTRUSTED_KEY_URL'],
      [{ authorization: good, 'x-oss-pub-key-url': b64('http://gosspublic.alicdn.com/k.pem\r\nHost: evil') }, 'CALLBACK_UNTRUSTED_KEY_URL'],
      [{ Authorization: 'AAAA', 'X-OSS-Pub-Key-Url': oss }, 'CALLBACK_BAD_SIGNATURE'],
    ]
    for (const [headers, code] of failures) {
      const source = stub(pem)
      const { error } = await outcome(verifyCallback({ path: '/cb', headers, body: 'x=1' }, { keySource: source }))
      assert.equal(error?.code, code, JSON.stringify(headers))
      assert.ok(error instanceof Error && error.message.length > 0)
      if (code !== 'CALLBACK_BAD_SIGNATURE') assert.equal(source.calls.length, 0, `${code}: nothing fetched`)
    }

    const headers = { authorization: good, 'x-oss-pub-key-url': oss }
    const request = { path: '/cb', headers, body: 'x=1' }
    const refused = await outcome(verifyCallback(request, { keySource: () => Promise.reject(new Error('connection refused')) }))
    assert.equal(refused.error.code, 'CALLBACK_KEY_FETCH_FAILED')
    assert.match(refused.error.message, /connection refused/)
    assert.match(refused.error.message, /gosspublic/)
    const thrown = await outcome(
      verifyCallback(request, {
        keySource: () => {
          throw new Error('no network')
        },
      }),
    )
    assert.equal(thrown.error.code, 'CALLBACK_KEY_FETCH_FAILED')
    const nothing = await outcome(verifyCallback(request, { keySource: () => undefined }))
    assert.equal(nothing.error.code, 'CALLBACK_KEY_FETCH_FAILED')
    const garbage = await outcome(verifyCallback(request, { keySource: () => '<html>404</html>' }))
    assert.equal(garbage.error.code, 'CALLBACK_INVALID_PUBLIC_KEY')
    // An object key source, and bytes for the PEM.
    assert.ok(await verifyCallback(request, { keySource: { publicKeyPem: async () => Buffer.from(pem) } }))
  })

  test('trustedKeyUrls extends the OSS prefixes; a prefix ending at the host gets a /', async () => {
    const local = 'http://127.0.0.1:8080/callback_pub_key.pem'
    const headers = signer.headers({ path: '/cb', body: 'x', publicKeyUrl: local })
    const request = { path: '/cb', headers, body: 'x' }
    await assert.rejects(verifyCallback(request, { keySource: stub(pem) }), { code: 'CALLBACK_UNTRUSTED_KEY_URL' })
    for (const trusted of [['http://127.0.0.1:8080'], ['http://127.0.0.1:8080/'], 'http://127.0.0.1:8080/']) {
      assert.deepEqual(await verifyCallback(request, { keySource: stub(pem), trustedKeyUrls: trusted }), { publicKeyUrl: local })
    }
    for (const lookalike of ['http://127.0.0.1:80801/k.pem', 'http://127.0.0.1:8080.evil.com/k.pem']) {
      const source = stub(pem)
      const forged = signer.headers({ path: '/cb', body: 'x', publicKeyUrl: lookalike })
      await assert.rejects(verifyCallback({ path: '/cb', headers: forged, body: 'x' }, { keySource: source, trustedKeyUrls: ['http://127.0.0.1:8080'] }), {
        code: 'CALLBACK_UNTRUSTED_KEY_URL',
      })
      assert.equal(source.calls.length, 0)
    }
  })

  test('bad arguments are InvalidArg', async () => {
    await assert.rejects(verifyCallback(null), { code: 'InvalidArg' })
    await assert.rejects(verifyCallback({ path: 7, headers: {}, body: '' }), { code: 'InvalidArg' })
    await assert.rejects(verifyCallback({ path: '/', query: 3, headers: {}, body: '' }), { code: 'InvalidArg' })
    await assert.rejects(verifyCallback({ path: '/', headers: 'x', body: '' }), { code: 'InvalidArg' })
    await assert.rejects(verifyCallback({ path: '/', headers: {}, body: 42 }), { code: 'InvalidArg' })
    await assert.rejects(verifyCallback({ path: '/', headers: {}, body: '' }, { keySource: 42 }), { code: 'InvalidArg' })
    await assert.rejects(verifyCallback({ path: '/', headers: {}, body: '' }, { trustedKeyUrls: 42 }), { code: 'InvalidArg' })
  })
})

describe('key sources', () => {
  test('CachedKeySource fetches each URL once, shares a fetch in flight, and keeps no failure', async () => {
    let calls = 0
    let fail = true
    const cache = new CachedKeySource(async (url) => {
      calls += 1
      await new Promise((resolve) => setTimeout(resolve, 5))
      if (url.endsWith('flaky') && fail) {
        fail = false
        throw new Error('timeout')
      }
      return `pem of ${url}`
    })
    const [a, b] = await Promise.all([cache.publicKeyPem('u1'), cache.publicKeyPem('u1')])
    assert.equal(a, 'pem of u1')
    assert.equal(b, a)
    assert.equal(await cache.publicKeyPem('u1'), a)
    assert.equal(calls, 1)
    await assert.rejects(cache.publicKeyPem('flaky'), /timeout/)
    assert.equal(cache.size, 1, 'the failure is not kept')
    assert.equal(await cache.publicKeyPem('flaky'), 'pem of flaky')
    assert.equal(calls, 3)
    assert.equal(cache.delete('u1'), true)
    assert.equal(cache.size, 1)
    cache.clear()
    assert.equal(cache.size, 0)
    assert.throws(() => new CachedKeySource(42), { code: 'InvalidArg' })
    assert.ok(defaultKeySource instanceof CachedKeySource)
  })

  test('verifyCallback drops a cached key the core refuses', async () => {
    const signer = new CallbackSigner(testKey.private_key_pem)
    const url = 'https://gosspublic.alicdn.com/callback_pub_key_v1.pem'
    const headers = signer.headers({ path: '/cb', body: 'x', publicKeyUrl: url })
    let answer = 'not a key'
    let calls = 0
    const cache = new CachedKeySource(() => {
      calls += 1
      return answer
    })
    await assert.rejects(verifyCallback({ path: '/cb', headers, body: 'x' }, { keySource: cache }), { code: 'CALLBACK_INVALID_PUBLIC_KEY' })
    assert.equal(cache.size, 0)
    answer = signer.publicKeyPem
    for (let i = 0; i < 3; i += 1) assert.ok(await verifyCallback({ path: '/cb', headers, body: 'x' }, { keySource: cache }))
    assert.equal(calls, 2)
  })

  describe('fetchPublicKeyPem', () => {
    let server
    let base
    before(async () => {
      server = createServer((req, res) => {
        if (req.url === '/key.pem') return res.end(testKey.public_key_pem)
        if (req.url === '/moved') {
          res.writeHead(302, { location: '/key.pem' })
          return res.end()
        }
        if (req.url === '/huge') return res.end('x'.repeat(100_000))
        if (req.url === '/slow') return setTimeout(() => res.end('late'), 500)
        res.statusCode = 404
        res.end('no')
      })
      server.listen(0, '127.0.0.1')
      await once(server, 'listening')
      base = `http://127.0.0.1:${server.address().port}`
    })
    after(() => {
      server.closeAllConnections()
      server.close()
    })

    test('200 gives the PEM; anything else is an error naming it', async () => {
      assert.equal(await fetchPublicKeyPem(`${base}/key.pem`), testKey.public_key_pem)
      await assert.rejects(fetchPublicKeyPem(`${base}/missing`), /HTTP 404/)
      await assert.rejects(fetchPublicKeyPem(`${base}/moved`), /HTTP 302/, 'redirects are not followed')
      await assert.rejects(fetchPublicKeyPem(`${base}/huge`), /larger than 65536 bytes/)
      await assert.rejects(fetchPublicKeyPem(`${base}/slow`, { timeoutMs: 100 }), /no answer within 100 ms/)
      await assert.rejects(fetchPublicKeyPem('ftp://127.0.0.1/k.pem'), /unsupported scheme/)
      await assert.rejects(fetchPublicKeyPem('not a url'), /not a URL/)
    })
  })
})

describe('CallbackSigner', () => {
  test('PKCS#8 and PKCS#1 keys sign alike; the private key exports; bad keys are CALLBACK_INVALID_PRIVATE_KEY', () => {
    const a = new CallbackSigner(testKey.private_key_pem)
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 })
    const pkcs1 = privateKey.export({ type: 'pkcs1', format: 'pem' })
    const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' })
    const b = new CallbackSigner(pkcs1)
    assert.equal(b.sign({ path: '/a', body: 'b' }), new CallbackSigner(pkcs8).sign({ path: '/a', body: 'b' }))
    assert.equal(a.privateKeyPem().trim(), testKey.private_key_pem.trim())
    assert.ok(!JSON.stringify(a).includes('PRIVATE'), 'JSON shows the public key only')
    assert.throws(() => new CallbackSigner('nope'), { code: 'CALLBACK_INVALID_PRIVATE_KEY' })
    assert.throws(() => new CallbackSigner(42), { code: 'StringExpected' })
    assert.throws(() => a.sign(null), { code: 'InvalidArg' })
    assert.throws(() => a.headers(null), { code: 'InvalidArg' })
  })

  test('generate() makes a working key; the signature covers exactly the string to sign', async () => {
    const signer = CallbackSigner.generate(512)
    assert.match(signer.publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n/)
    const url = 'http://127.0.0.1:8080/k.pem'
    const headers = signer.headers({ path: '/cb', query: 'a=1', body: 'body', publicKeyUrl: url })
    const verified = await verifyCallback(
      { path: '/cb?a=1', headers, body: 'body' },
      { keySource: () => signer.publicKeyPem, trustedKeyUrls: ['http://127.0.0.1:8080/'] },
    )
    assert.equal(verified.publicKeyUrl, url)
    assert.equal(callbackStringToSign({ path: '/cb', query: 'a=1', body: 'body' }).toString(), '/cb?a=1\nbody')
    assert.deepEqual([...callbackStringToSign({ path: '/%FF', query: null, body: '' })], [0x2f, 0xff, 0x0a], 'the decoded path may be any bytes')
  })
})

describe('CallbackSpec', () => {
  const ok = (extra = {}) => ({ url: 'https://a.example.com/cb', body: 'o=${object}&v=${x:v}', vars: { 'x:v': '1' }, ...extra })

  test('builds the fields OSS reads, and decodes back', () => {
    const spec = new CallbackSpec({
      url: ['https://app.example.com/oss/cb?src=web', 'http://backup.example.com:8080/cb'],
      host: 'app.example.com',
      body: 'bucket=${bucket}&object=${object}&size=${size}&uid=${x:uid}&n=${x:n}',
      vars: [
        ['x:uid', '42'],
        ['x:n', '名字 & more'],
      ],
    })
    const fields = spec.toFields()
    assert.deepEqual(Object.keys(fields), ['callback', 'vars'])
    const json = Buffer.from(fields.callback, 'base64').toString('utf8')
    assert.equal(
      json,
      '{"callbackUrl":"https://app.example.com/oss/cb?src=web;http://backup.example.com:8080/cb","callbackHost":"app.example.com","callbackBody":"bucket=${bucket}&object=${object}&size=${size}&uid=${x:uid}&n=${x:n}","callbackBodyType":"application/x-www-form-urlencoded"}',
    )
    assert.equal(spec.toJson(), json)
    assert.deepEqual(Object.entries(fields.vars), [
      ['x:uid', '42'],
      ['x:n', '名字 & more'],
    ])
    assert.deepEqual(spec.urls, ['https://app.example.com/oss/cb?src=web', 'http://backup.example.com:8080/cb'])
    assert.equal(spec.host, 'app.example.com')
    assert.equal(spec.bodyType, 'application/x-www-form-urlencoded')
    assert.equal(spec.sni, false)
    assert.deepEqual(spec.vars, { 'x:uid': '42', 'x:n': '名字 & more' })
    spec.validate()

    // Decoding gives the same spec back, without the vars (they are fields).
    const decoded = CallbackSpec.fromBase64(fields.callback)
    assert.deepEqual(decoded.toJSON(), { ...spec.toJSON(), vars: {} })
    assert.deepEqual(CallbackSpec.fromJson(json).toJSON(), decoded.toJSON())
    assert.throws(() => decoded.validate(), { code: 'CALLBACK_UNDEFINED_VAR' })
    assert.throws(() => decoded.toFields(), { code: 'CALLBACK_UNDEFINED_VAR' })
    const again = decoded.withVars(new Map(Object.entries(fields.vars)))
    assert.deepEqual(again.toFields(), fields)
    assert.deepEqual(decoded.vars, {}, 'withVars makes a new spec')
    assert.throws(() => decoded.withVars({ 'x:uid': '1' }), { code: 'CALLBACK_UNDEFINED_VAR' })
    assert.deepEqual(CallbackSpec.fromBase64(fields.callback, fields.vars).toFields(), fields, 'the x: fields given with the callback field')
    assert.deepEqual(CallbackSpec.fromJson(json, Object.entries(fields.vars)).toJSON(), spec.toJSON())
    assert.throws(() => CallbackSpec.fromBase64(fields.callback, { 'x:uid': '42' }), { code: 'CALLBACK_UNDEFINED_VAR' })
  })

  test('JSON body type and SNI; optional keys only when set', () => {
    const fields = new CallbackSpec({ url: 'http://a.example.com/cb', body: '{"object":${object}}', bodyType: 'application/json', sni: true }).toFields()
    const map = JSON.parse(Buffer.from(fields.callback, 'base64').toString())
    assert.deepEqual(map, {
      callbackUrl: 'http://a.example.com/cb',
      callbackBody: '{"object":${object}}',
      callbackBodyType: 'application/json',
      callbackSNI: true,
    })
    assert.deepEqual(fields.vars, {})
    const plain = JSON.parse(new CallbackSpec({ url: 'http://a.example.com/cb', body: 'x=${etag}', host: null, sni: null, vars: null }).toJson())
    assert.deepEqual(Object.keys(plain), ['callbackUrl', 'callbackBody', 'callbackBodyType'])
  })

  test('every validation error has its code', () => {
    const six = Array.from({ length: 6 }, (_, i) => `https://h${i}.example.com/`)
    const failures = [
      [ok({ url: [] }), 'CALLBACK_NO_URL'],
      [ok({ url: six }), 'CALLBACK_TOO_MANY_URLS'],
      [ok({ url: 'ftp://a.example.com/' }), 'CALLBACK_URL_SCHEME'],
      [ok({ url: 'https://a.example.com:99999/' }), 'CALLBACK_URL_PORT'],
      [ok({ url: 'https://a.example.com:0/' }), 'CALLBACK_URL_PORT'],
      [ok({ url: 'http://[2001:db8::1]/cb' }), 'CALLBACK_URL_IPV6'],
      [ok({ url: 'https:///cb' }), 'CALLBACK_URL_INVALID'],
      [ok({ url: 'https://a.example.com/a;b' }), 'CALLBACK_URL_INVALID'],
      [ok({ host: '' }), 'CALLBACK_HOST_INVALID'],
      [ok({ bodyType: 'text/plain' }), 'CALLBACK_BODY_TYPE'],
      [{ url: 'https://a.example.com/', body: '' }, 'CALLBACK_EMPTY_BODY'],
      [{ url: 'https://a.example.com/', body: 'a=${object' }, 'CALLBACK_BODY_SYNTAX'],
      [{ url: 'https://a.example.com/', body: 'a=${}' }, 'CALLBACK_BODY_SYNTAX'],
      [{ url: 'https://a.example.com/', body: 'a=${x:${b}}' }, 'CALLBACK_BODY_SYNTAX'],
      [{ url: 'https://a.example.com/', body: 'a=${filename}' }, 'CALLBACK_UNKNOWN_VARIABLE'],
      [{ url: 'https://a.example.com/', body: 'a=${x:Name}', vars: { 'x:Name': '1' } }, 'CALLBACK_VAR_NAME'],
      [
        ok({
          vars: [
            ['x:v', '1'],
            ['my_var', '1'],
          ],
        }),
        'CALLBACK_VAR_NAME',
      ],
      [
        ok({
          vars: [
            ['x:v', '1'],
            ['X:v2', '1'],
          ],
        }),
        'CALLBACK_VAR_NAME',
      ],
      [
        ok({
          vars: [
            ['x:v', '1'],
            ['x:v', '2'],
          ],
        }),
        'CALLBACK_DUPLICATE_VAR',
      ],
      [{ url: 'https://a.example.com/', body: 'a=${x:missing}' }, 'CALLBACK_UNDEFINED_VAR'],
      [ok({ vars: { 'x:v': '1', 'x:unused': '1' } }), 'CALLBACK_UNUSED_VAR'],
    ]
    new CallbackSpec(ok())
    for (const [options, code] of failures) {
      assert.throws(
        () => new CallbackSpec(options),
        (error) => {
          assert.equal(error.code, code, `${JSON.stringify(options)}: ${error.message}`)
          assert.ok(error instanceof Error)
          return true
        },
      )
    }
  })

  test('messages name the problem', () => {
    const message = (options) => {
      try {
        new CallbackSpec(options)
      } catch (error) {
        return error.message
      }
      return null
    }
    assert.equal(
      message({ url: 'https://a.example.com/', body: 't=${mimetype}' }),
      'callbackBody uses `${mimetype}`, which is not an OSS system variable (did you mean `${mimeType}`?)',
    )
    assert.equal(message({ url: 'https://a.example.com/', body: 'u=${x:uid}' }), 'callbackBody uses `${x:uid}` but no custom variable `x:uid` is given')
    assert.equal(
      message({ url: 'https://a.example.com:70000/', body: 's=${size}' }),
      'callback URL `https://a.example.com:70000/` has an invalid port `70000`: expected a number from 1 to 65535',
    )
  })

  test('decoding validates like the service', () => {
    const code = (text) => {
      try {
        CallbackSpec.fromBase64(text)
      } catch (error) {
        return error.code
      }
      return null
    }
    assert.equal(code('@@not base64@@'), 'CALLBACK_NOT_BASE64')
    assert.equal(code(b64('not json')), 'CALLBACK_NOT_JSON')
    assert.equal(code(b64('[1]')), 'CALLBACK_NOT_JSON')
    assert.equal(code(b64('{"callbackBody":"a=${size}"}')), 'CALLBACK_MISSING_FIELD')
    assert.equal(code(b64('{"callbackUrl":"http://a/"}')), 'CALLBACK_MISSING_FIELD')
    assert.equal(code(b64('{"callbackUrl":"http://a/","callbackBody":""}')), 'CALLBACK_EMPTY_BODY')
    assert.equal(code(b64('{"callbackUrl":"","callbackBody":"a=${size}"}')), 'CALLBACK_NO_URL')
    assert.equal(code(b64('{"callbackUrl":"http://a/;http://b/;http://c/;http://d/;http://e/;http://f/","callbackBody":"a"}')), 'CALLBACK_TOO_MANY_URLS')
    assert.equal(code(b64('{"callbackUrl":"http://a/","callbackBody":"a","callbackBodyType":"text/xml"}')), 'CALLBACK_BODY_TYPE')
    assert.equal(code(b64('{"callbackUrl":"http://a/","callbackBody":7}')), 'CALLBACK_FIELD_TYPE')
    assert.equal(code(b64('{"callbackUrl":"http://a/","callbackBody":"a","callbackSNI":"yes"}')), 'CALLBACK_FIELD_TYPE')
    assert.equal(code(b64('{"callbackUrl":"http://a/","callbackBody":"a","calbackBodyType":"application/json"}')), 'CALLBACK_UNKNOWN_FIELD')
    assert.equal(code(b64('{"callbackUrl":"http://a/","callbackBody":"a=${imageinfo.width}"}')), 'CALLBACK_UNKNOWN_VARIABLE')
    assert.throws(() => CallbackSpec.fromJson('{'), { code: 'CALLBACK_NOT_JSON' })
    // What the OSS docs send decodes: a scheme-less URL with a port, pretty JSON, SNI as a boolean.
    const spec = CallbackSpec.fromBase64(
      b64(
        '{\n  "callbackUrl": "121.43.113.8:23456/index.html",\n  "callbackBody": "{\\"mimeType\\":${mimeType},\\"v\\":${x:var1}}",\n  "callbackBodyType": "application/json",\n  "callbackSNI": false\n}',
      ),
    )
    assert.deepEqual(spec.urls, ['121.43.113.8:23456/index.html'])
    assert.equal(spec.bodyType, 'application/json')
    spec.withVars({ 'x:var1': '1' }).validate()
  })

  test('bad arguments are InvalidArg (or napi type errors)', () => {
    assert.throws(() => new CallbackSpec(), { code: 'InvalidArg' })
    assert.throws(() => new CallbackSpec({ body: 'a=${size}' }), { code: 'InvalidArg' })
    assert.throws(() => new CallbackSpec({ url: 'https://a.example.com/', body: 'a=${size}', vars: 7 }), { code: 'InvalidArg' })
    assert.throws(() => new CallbackSpec({ url: 'https://a.example.com/', body: 7 }), { code: 'StringExpected' })
  })
})

describe('callbacks in signed forms', () => {
  const now = new Date('2026-11-21T12:00:00Z')
  const secret = 'CallbackTestSecretKZo149BD9GLPNiD'
  const credentials = new Credentials('LTAI5tCallback001', secret)
  const signer = new OssSigner({ credentials, region: 'cn-hangzhou', bucket: 'examplebucket' })
  const policy = Policy.parse('key starts-with "user/42/"\ncontent-length 1..10MiB')
  const callback = new CallbackSpec({
    url: 'https://app.example.com/oss/callback',
    body: 'bucket=${bucket}&object=${object}&size=${size}&uid=${x:uid}',
    vars: { 'x:uid': '42' },
  })
  const conditions = (form) => JSON.parse(Buffer.from(form.fields.policy, 'base64').toString()).conditions

  test('the callback and x: fields are in the form and pinned in the policy', () => {
    const form = signer.sign(policy, { now, callback })
    const { callback: field, vars } = callback.toFields()
    assert.equal(form.fields.callback, field)
    assert.equal(form.fields['x:uid'], '42')
    assert.deepEqual(Object.keys(vars), ['x:uid'])
    assert.deepEqual(conditions(form).slice(-2), [{ callback: field }, { 'x:uid': '42' }])
    const verifier = new Verifier({ bucket: 'examplebucket', region: 'cn-hangzhou', keys: { LTAI5tCallback001: secret } })
    const sent = [['key', 'user/42/a.png'], ...Object.entries(form.fields)]
    assert.equal(verifier.verify({ fields: sent, file: { filename: 'a.png', size: 5 } }, { now }).key, 'user/42/a.png')
    // A browser that swaps the callback is refused: it is pinned.
    const swapped = new CallbackSpec({ url: 'https://evil.example.com/', body: 'o=${object}' }).toFields().callback
    const forged = sent.map(([n, v]) => [n, n === 'callback' ? swapped : v])
    assert.throws(() => verifier.verify({ fields: forged, file: { filename: 'a.png', size: 5 } }, { now }), { code: 'REJECTED' })
    // The token carries the same fields.
    const token = JSON.parse(signer.token(policy, { now, callback, key: 'user/42/${filename}' }))
    assert.equal(token.fields.callback, field)
    assert.equal(token.fields['x:uid'], '42')
  })

  test('pinCallback: false leaves the policy alone', () => {
    const pinned = signer.sign(policy, { now, callback, pinCallback: true })
    const loose = signer.sign(policy, { now, callback, pinCallback: false })
    assert.equal(loose.fields.callback, pinned.fields.callback)
    assert.equal(loose.fields['x:uid'], '42')
    assert.ok(!conditions(loose).some((c) => 'callback' in c || 'x:uid' in c))
    assert.deepEqual(conditions(loose), conditions(signer.sign(policy, { now })))
  })

  test('the callback must be a CallbackSpec; S3 refuses callbacks', () => {
    assert.throws(() => signer.sign(policy, { now, callback: { url: 'x' } }), { code: 'InvalidArg' })
    assert.throws(() => signer.token(policy, { now, callback: 'x' }), { code: 'InvalidArg' })
    const s3 = new S3Signer({ credentials, region: 'us-east-1', bucket: 'examplebucket' })
    assert.throws(
      () => s3.sign(policy, { now, callback }),
      (error) => {
        assert.equal(error.code, 'SIGNING_INVALID')
        assert.match(error.message, /callbacks are not supported by S3/)
        return true
      },
    )
  })
})
