'use strict'
// postpolicy/express: an upload-token endpoint and an OSS callback receiver
// for Express (or any `(req, res, next)` server).
//
//   const { uploadToken } = require('postpolicy/express')
//   app.get('/upload-token', requireLogin, uploadToken({
//     signer,
//     policy: (req) => Policy.parse('key starts-with "user/{id}/"\ncontent-length 1..10MiB', { id: req.user.id }),
//   }))
//
// Request data goes into a policy as a parameter (or through
// Policy.builder(), or the `key` option), never into the DSL text.
//
// The answer is the signed form as JSON, exactly as every postpolicy server
// writes it (`{"url","fields","expires_at","fields_to_fill"}`, what
// postpolicy/browser.js reads), with `Cache-Control: no-store`. The policy is
// linted before it is signed: an error-level diagnostic is answered with 500
// and `{"code":"POLICY_LINT","message","diagnostics":[{code,severity,message,conditionIndex}]}`
// (nothing is signed); warnings are logged once each. Other errors (a policy
// that does not parse or cannot be signed, a throwing policy function) go to
// `next(err)`.
//
//   const { verifyCallback } = require('postpolicy/express')
//   app.post('/oss/callback', verifyCallback(), (req, res) => {
//     const { params } = req.ossCallback // { bucket, object, size, 'x:uid', … }
//     res.json({ Status: 'OK' })
//   })
//
// verifyCallback reads the raw body itself, checks the OSS signature (key URL
// trusted before anything is fetched, keys cached), and puts the callback on
// `req.ossCallback`; a forged or altered callback gets 400 and a JSON error.

const { callbackEndpoint, callbackRefusal, declaredTooLarge, invalidArg, isThenable, readStream, tokenEndpoint } = require('./lib/upload.js')

/** Writes a reply of lib/upload.js to a Node response. */
function send(res, reply) {
  res.statusCode = reply.status
  for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value)
  res.end(reply.body)
}

/**
 * A request handler answering the signed-form JSON.
 *
 * - `signer`: an `OssSigner` (or an `S3Signer`).
 * - `policy`: a `Policy`, DSL text (parsed once, here), or a function of
 *   `(req, res)` returning either (or a promise of either), for per-user
 *   prefixes.
 * - `key` (optional): an object key or a key template ending in
 *   `${filename}`, or a function of `(req, res)` returning one.
 * - `callback` (optional): a `CallbackSpec`, or a function of `(req, res)`
 *   returning one (per-user `x:` variables); pinned in the policy unless
 *   `pinCallback` is false.
 * - `logger` (optional, default `console`): where lint diagnostics are
 *   logged, once per distinct diagnostic (`warn` for warnings, `error` for
 *   errors); `null` logs nothing.
 *
 * The policy is linted at each request, as it is signed: one with an
 * error-level diagnostic is refused with 500 and the diagnostics as JSON.
 */
function uploadToken(options) {
  const token = tokenEndpoint(options, 'uploadToken')
  return function uploadTokenHandler(req, res, next) {
    const fail = (error) => {
      if (typeof next === 'function') return next(error)
      res.statusCode = 500
      res.end()
    }
    try {
      const reply = token(req, res)
      if (isThenable(reply)) reply.then((r) => send(res, r), fail)
      else send(res, reply)
    } catch (error) {
      fail(error)
    }
  }
}

/**
 * The raw request body: `req.body` when a body parser already left the bytes
 * there (`express.raw()`), else read from the stream, at most `limit` bytes.
 */
function rawBody(req, limit) {
  if (Buffer.isBuffer(req.body)) return Promise.resolve(req.body)
  if (req.body instanceof Uint8Array) return Promise.resolve(Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength))
  if (req._body === true || req.readableEnded) {
    return Promise.reject(
      invalidArg(
        'verifyCallback: a body parser consumed the request body; the signature covers the raw bytes, so mount verifyCallback() before express.json() / express.urlencoded(), or use express.raw() on this route',
      ),
    )
  }
  const refused = declaredTooLarge(req.headers['content-length'], limit)
  if (refused) {
    req.resume()
    return Promise.reject(refused)
  }
  return readStream(req, limit)
}

/**
 * Middleware that accepts only callbacks OSS signed: it reads the raw body
 * (or takes `req.body` when it is already a Buffer), verifies the signature
 * over the path OSS called, the query and the body, and sets
 * `req.ossCallback = { body, params, publicKeyUrl }` before `next()`.
 * Anything else is answered with 400 (413 for a body over `limit`) and
 * `{"code","message"}` with the core's `CALLBACK_*` code.
 *
 * - `trustedKeyUrls`: key URL prefixes trusted besides OSS's own
 *   (`http://gosspublic.alicdn.com/`, `https://…`), e.g. a local endpoint's,
 *   or a `KeyUrlPolicy`; a prefix that is not an http(s) URL throws
 *   `CALLBACK_KEY_URL_PREFIX` here, when the middleware is made.
 * - `keySource`: where keys come from (default: fetched over HTTP, cached).
 * - `publicPath`: the path OSS called, when a reverse proxy rewrote it: a
 *   string or a function of `(req)`; with a `?` it replaces the query too.
 * - `limit`: the largest body read, in bytes (default 1 MiB).
 */
function verifyCallback(options) {
  const endpoint = callbackEndpoint(options, 'verifyCallback')

  return function verifyCallbackHandler(req, res, next) {
    const fail = (error) => {
      const refusal = callbackRefusal(error)
      if (refusal) return send(res, refusal)
      if (typeof next === 'function') return next(error)
      res.statusCode = 500
      res.end()
    }
    rawBody(req, endpoint.limit)
      .then(async (body) => {
        req.ossCallback = await endpoint.verify(req, { method: req.method, target: req.originalUrl ?? req.url, headers: req.headers, body })
      })
      .then(() => (typeof next === 'function' ? next() : undefined), fail)
  }
}

exports.uploadToken = uploadToken
exports.verifyCallback = verifyCallback
