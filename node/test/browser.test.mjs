// browser.js outside a browser: `checkFile` against the verifier (the token's
// rules must refuse exactly what the service would, in its words), `uploadFile`
// refusing before it opens a connection, the Uppy adapter, and
// `parseUploadResponse`.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { checkFile, parseUploadResponse, uploadFile, uppyUploadParameters } from '../browser.js'
import { Credentials, OssSigner, Policy, S3Signer, S3Verifier, Verifier } from '../index.js'

const now = new Date('2026-11-21T12:00:00Z')
const credentials = new Credentials('LTAI5tBrowserTest01', 'BrowserTestSecretKZo149BD9GLPNiD')
const keys = { LTAI5tBrowserTest01: 'BrowserTestSecretKZo149BD9GLPNiD' }
const dialects = {
  oss: {
    signer: new OssSigner({ credentials, region: 'cn-hangzhou', bucket: 'examplebucket' }),
    verifier: new Verifier({ bucket: 'examplebucket', region: 'cn-hangzhou', keys }),
  },
  s3: {
    signer: new S3Signer({ credentials, region: 'us-east-1', bucket: 'examplebucket' }),
    verifier: new S3Verifier({ bucket: 'examplebucket', region: 'us-east-1', keys }),
  },
}

/** The form `uploadFile` would post, as the verifier reads it. */
function submission(token, file, options) {
  const fields = []
  const seen = new Set()
  const add = (name, value) => {
    if (!seen.has(name.toLowerCase())) {
      fields.push([name, String(value)])
      seen.add(name.toLowerCase())
    }
  }
  if (options.key != null) add('key', options.key)
  for (const [name, value] of Object.entries(token.fields)) add(name, value)
  for (const [name, value] of Object.entries(options.fields || {})) add(name, value)
  const type = options.contentType || file.type
  for (const name of ['Content-Type', 'x-oss-content-type']) {
    if (token.fields_to_fill.some((n) => n.toLowerCase() === name.toLowerCase())) add(name, type)
  }
  return { fields, file: { filename: file.name, contentType: type, size: file.size } }
}

/** The verifier's verdict in `checkFile`'s shape (null: accepted). */
function verdict(dialect, token, file, options) {
  try {
    dialects[dialect].verifier.verify(submission(token, file, options), { now })
    return null
  } catch (error) {
    assert.equal(error.code, 'REJECTED', error.message)
    return { code: error.serviceCode, message: error.serviceMessage, reason: error.reason, index: error.conditionIndex ?? undefined }
  }
}

function agree(dialect, dsl, { key, file, options = {} }) {
  const token = JSON.parse(dialects[dialect].signer.token(Policy.parse(dsl), { now, key }))
  assert.ok(Array.isArray(token.rules), 'the token carries rules')
  const checked = checkFile(token, file, options)
  const expected = verdict(dialect, token, file, options)
  const got = checked && { code: checked.code, message: checked.message, reason: checked.reason, index: checked.index }
  assert.deepEqual(got, expected, `${dialect}: ${dsl} / ${JSON.stringify(file)} / ${JSON.stringify(options)}`)
  if (checked && checked.index !== undefined) {
    // The service echoes `{"key": v}` as `["eq", "$key", v]`.
    const asList = (c) => (Array.isArray(c) ? c : ['eq', `$${Object.keys(c)[0]}`, Object.values(c)[0]])
    const policy = Policy.fromBase64(token.fields.policy).toJson({ now })
    assert.deepEqual(
      asList(JSON.parse(policy).conditions[checked.index]),
      JSON.parse(checked.condition),
      'the condition is the one at its index in the signed policy',
    )
  }
  return checked
}

const png = (size) => ({ name: 'cat.png', size, type: 'image/png' })

describe('checkFile says what the verifier says', () => {
  const sized = 'key starts-with "u/"\ncontent-length 1..10MiB'
  for (const dialect of ['oss', 's3']) {
    test(`${dialect}: size range`, () => {
      assert.equal(agree(dialect, sized, { key: 'u/${filename}', file: png(1234) }), null)
      const large = agree(dialect, sized, { key: 'u/${filename}', file: png(10 * 1024 * 1024 + 1) })
      assert.equal(large.code, 'EntityTooLarge')
      assert.equal(large.reason, 'the file is 10485761 bytes, above the maximum of 10485760 bytes (content-length-range 1..10485760)')
      assert.equal(agree(dialect, sized, { key: 'u/${filename}', file: png(0) }).code, 'EntityTooSmall')
    })

    test(`${dialect}: keys`, () => {
      const wrong = agree(dialect, sized, { file: png(3), options: { key: 'v/cat.png' } })
      assert.equal(wrong.code, 'AccessDenied')
      assert.match(wrong.reason, /^key `v\/cat.png` does not start with `u\/`/)
      assert.equal(agree(dialect, sized, { file: png(3), options: { key: 'u/cat.png' } }), null)
      const missing = agree(dialect, sized, { file: png(3) })
      assert.equal(missing.code, 'InvalidArgument')
      assert.equal(missing.reason, 'the form has no `key` field')
      agree(dialect, 'key = "u/cat.png"\ncontent-length 1..10', { file: png(3), options: { key: 'U/CAT.PNG' } })
      agree(dialect, 'key = "u/cat.png"\ncontent-length 1..10', { file: png(3), options: { key: 'u/${filename}' } })
      agree(dialect, 'key = "u/dog.png"\ncontent-length 1..10', { file: png(3), options: { key: 'u/${filename}' } })
      agree(dialect, 'key starts-with "{{x}}/"\ncontent-length 1..10', { file: png(3), options: { key: 'u/a' } })
    })

    test(`${dialect}: content types`, () => {
      const prefix = 'key starts-with "u/"\ncontent-type starts-with "image/"'
      assert.equal(agree(dialect, prefix, { key: 'u/${filename}', file: png(3) }), null)
      const html = agree(dialect, prefix, { key: 'u/${filename}', file: { name: 'a.html', size: 3, type: 'text/html' } })
      assert.equal(html.code, 'AccessDenied')
      assert.match(html.message, /^Invalid according to Policy: Policy Condition failed: \["starts-with", "\$content-type", "image\/"\]$/)
      agree(dialect, prefix, { key: 'u/${filename}', file: png(3), options: { contentType: 'image/png,text/html' } })
    })
  }

  test('oss: in, not-in and x-oss-content-type', () => {
    const types = 'key starts-with "u/"\ncontent-type in [image/png, image/jpeg]\nx-oss-content-type in [image/png, image/jpeg]'
    assert.equal(agree('oss', types, { key: 'u/${filename}', file: png(3) }), null)
    const gif = agree('oss', types, { key: 'u/${filename}', file: { name: 'a.gif', size: 3, type: 'image/gif' } })
    assert.equal(gif.reason, 'content-type `image/gif` is not one of `image/png`, `image/jpeg`')
    const notIn = 'key starts-with "u/"\ncontent-type not-in [text/html]'
    assert.equal(agree('oss', notIn, { key: 'u/${filename}', file: { name: 'a.html', size: 3, type: 'text/html' } }).code, 'AccessDenied')
    // A pinned type is sent as pinned, whatever the file is: nothing to refuse.
    const pinned = 'key starts-with "u/"\ncontent-type = "image/png"'
    assert.equal(agree('oss', pinned, { key: 'u/${filename}', file: { name: 'a.gif', size: 3, type: 'image/gif' } }), null)
  })

  test('a token without rules checks nothing; bad input is named', () => {
    const token = JSON.parse(dialects.oss.signer.token(Policy.parse('content-length 1..2'), { now, key: 'u/${filename}' }))
    assert.equal(checkFile(token, png(3)).code, 'EntityTooLarge')
    delete token.rules
    assert.equal(checkFile(token, png(3)), null)
    assert.equal(checkFile('{', png(3)).code, 'InvalidToken')
    assert.equal(checkFile(token, null).code, 'NoFile')
    // JSON text works as well as the object.
    assert.equal(checkFile(dialects.oss.signer.token(Policy.parse('content-length 1..2'), { now, key: 'k' }), png(3)).code, 'EntityTooLarge')
  })
})

describe('uploadFile', () => {
  test('refuses a file the rules refuse without opening a connection', async () => {
    const opened = []
    globalThis.XMLHttpRequest = class {
      constructor() {
        opened.push(this)
      }
    }
    try {
      const token = dialects.oss.signer.token(Policy.parse('key starts-with "u/"\ncontent-length 1..10'), { now, key: 'u/${filename}' })
      const error = await uploadFile(token, { name: 'big.bin', size: 11, type: 'application/octet-stream' }).then(
        () => assert.fail('resolved'),
        (e) => e,
      )
      assert.equal(error.name, 'UploadError')
      assert.equal(error.code, 'EntityTooLarge')
      assert.equal(error.message, 'Your proposed upload exceeds the maximum allowed size.')
      assert.match(error.reason, /^the file is 11 bytes, above the maximum of 10 bytes/)
      assert.equal(error.condition, '["content-length-range", 1, 10]')
      assert.equal(error.status, undefined, 'no service answered')
      assert.deepEqual(opened, [])
    } finally {
      delete globalThis.XMLHttpRequest
    }
  })
})

describe('uppyUploadParameters', () => {
  const fetchToken = (dsl) => async () => dialects.oss.signer.token(Policy.parse(dsl), { now, key: 'u/42/${filename}' })
  const typed = 'content-length 1..10MiB\ncontent-type in [image/png]\nx-oss-content-type in [image/png]'

  test('returns POST parameters with the file name filled in', async () => {
    const asked = []
    const get = uppyUploadParameters(async (file, options) => {
      asked.push([file.name, options])
      return fetchToken(typed)()
    })
    const data = { name: 'cat.png', size: 3, type: 'image/png' }
    const params = await get({ name: 'cat.png', size: 3, type: 'image/png', data }, { signal: 'S' })
    assert.deepEqual(asked, [['cat.png', { signal: 'S' }]])
    assert.equal(params.method, 'POST')
    assert.equal(params.url, 'https://examplebucket.oss-cn-hangzhou.aliyuncs.com')
    assert.equal(params.fields.key, 'u/42/cat.png')
    assert.equal(params.fields['Content-Type'], 'image/png')
    assert.equal(params.fields['x-oss-content-type'], 'image/png')
    assert.equal(params.fields['x-oss-signature-version'], 'OSS4-HMAC-SHA256')
    assert.deepEqual(params.headers, {})
  })

  test('a refused file fails before Uppy sends a byte', async () => {
    const get = uppyUploadParameters(fetchToken(typed))
    const error = await get({ name: 'a.html', size: 3, type: 'text/html', data: {} }).then(
      () => assert.fail('resolved'),
      (e) => e,
    )
    assert.equal(error.code, 'AccessDenied')
    assert.equal(error.reason, 'content-type `text/html` is not one of `image/png`')
  })
})

describe('parseUploadResponse', () => {
  const xhr = (status, text, headers = {}) => ({
    status,
    responseText: text,
    responseURL: 'http://127.0.0.1:9090/bucket',
    getResponseHeader: (name) => headers[name.toLowerCase()] ?? null,
  })

  test('reads the headers of a 204 and the callback answer of a 200', () => {
    assert.deepEqual(
      parseUploadResponse(
        xhr(204, '', {
          etag: '"ABC"',
          location: 'http://127.0.0.1:9090/bucket/u/a%20b.png',
          'x-oss-request-id': 'R1',
        }),
      ),
      { status: 204, key: 'u/a b.png', etag: '"ABC"', location: 'http://127.0.0.1:9090/bucket/u/a%20b.png', callback: undefined, requestId: 'R1' },
    )
    const answered = parseUploadResponse(xhr(200, '{"Status":"OK"}', { etag: '"ABC"' }))
    assert.deepEqual(answered.callback, { Status: 'OK' })
    assert.equal(answered.key, undefined)
    assert.equal(parseUploadResponse(xhr(203, '{"x":1}')).callback, undefined, 'a failed callback is no answer')
  })
})
