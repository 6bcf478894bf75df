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

const { CallbackSpec, KeyUrlPolicy, OssSigner, Policy, S3Signer, verifyCallback: verify } = require('./index.js')

function invalidArg(message) {
  const error = new TypeError(message)
  error.code = 'InvalidArg'
  return error
}

function asPolicy(value) {
  return typeof value === 'string' ? Policy.parse(value) : value
}

/** `text` with control and line-separator characters escaped, for one log line. */
function oneLine(text) {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this escapes
  return String(text).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`)
}

/** At most this many distinct diagnostics are remembered as logged (then the memory starts over). */
const MAX_LOGGED = 256

function isThenable(value) {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function'
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
  if (options == null || typeof options !== 'object') throw invalidArg('uploadToken({ signer, policy })')
  const { signer, policy, key, callback, pinCallback, logger = console } = options
  if (!(signer instanceof OssSigner || signer instanceof S3Signer)) {
    throw invalidArg('uploadToken: `signer` must be an OssSigner or an S3Signer')
  }
  if (policy == null) throw invalidArg('uploadToken: `policy` is required (a Policy, DSL text or a function of the request)')
  const fixed = typeof policy === 'function' ? null : asPolicy(policy)
  if (fixed !== null && !(fixed instanceof Policy)) {
    throw invalidArg('uploadToken: `policy` must be a Policy, DSL text or a function of the request')
  }
  if (key != null && typeof key !== 'string' && typeof key !== 'function') {
    throw invalidArg('uploadToken: `key` must be a string or a function of the request')
  }
  if (callback != null && !(callback instanceof CallbackSpec) && typeof callback !== 'function') {
    throw invalidArg('uploadToken: `callback` must be a CallbackSpec or a function of the request')
  }
  if (logger != null && (typeof logger.warn !== 'function' || typeof logger.error !== 'function')) {
    throw invalidArg('uploadToken: `logger` must have warn() and error() (console does), or be null')
  }
  // Diagnostics already logged, by severity, code and message.
  const logged = new Set()
  const logOnce = (diagnostic) => {
    if (logger == null) return
    const id = `${diagnostic.severity}\0${diagnostic.code}\0${diagnostic.message}`
    if (logged.has(id)) return
    if (logged.size >= MAX_LOGGED) logged.clear()
    logged.add(id)
    const line = `postpolicy uploadToken: policy ${diagnostic.severity} ${diagnostic.code}: ${oneLine(diagnostic.message)}`
    if (diagnostic.severity === 'error') logger.error(line)
    else logger.warn(line)
  }

  return function uploadTokenHandler(req, res, next) {
    const fail = (error) => {
      if (typeof next === 'function') return next(error)
      res.statusCode = 500
      res.end()
    }
    const answer = (chosenPolicy, chosenKey, chosenCallback) => {
      const signed = asPolicy(chosenPolicy)
      // Linted as signed: with the key condition the `key` option adds.
      const diagnostics = signed instanceof Policy ? signed.lint({ key: chosenKey ?? undefined }) : []
      const errors = diagnostics.filter((d) => d.severity === 'error')
      diagnostics.forEach(logOnce)
      if (errors.length > 0) return refuseLint(res, errors)
      const body = signer.token(signed, {
        key: chosenKey ?? undefined,
        callback: chosenCallback ?? undefined,
        pinCallback,
      })
      res.statusCode = 200
      res.setHeader('Content-Type', 'application/json; charset=utf-8')
      res.setHeader('Cache-Control', 'no-store')
      res.end(body)
    }
    try {
      const chosenPolicy = fixed ?? policy(req, res)
      const chosenKey = typeof key === 'function' ? key(req, res) : key
      const chosenCallback = typeof callback === 'function' ? callback(req, res) : callback
      if (isThenable(chosenPolicy) || isThenable(chosenKey) || isThenable(chosenCallback)) {
        Promise.all([chosenPolicy, chosenKey, chosenCallback])
          .then(([p, k, c]) => answer(p, k, c))
          .catch(fail)
      } else {
        answer(chosenPolicy, chosenKey, chosenCallback)
      }
    } catch (error) {
      fail(error)
    }
  }
}

/** The default largest callback body `verifyCallback` reads (OSS renders small templates). */
const DEFAULT_LIMIT = 1024 * 1024

function httpError(status, code, message) {
  const error = new Error(message)
  error.status = status
  error.code = code
  return error
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
  const declared = Number(req.headers['content-length'])
  if (declared > limit) {
    req.resume()
    return Promise.reject(httpError(413, 'BODY_TOO_LARGE', `the callback body (${declared} bytes) is larger than the limit of ${limit} bytes`))
  }
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    let done = false
    const finish = (error, body) => {
      if (done) return
      done = true
      if (error) reject(error)
      else resolve(body)
    }
    req.on('data', (chunk) => {
      if (done) return
      size += chunk.length
      if (size > limit) {
        finish(httpError(413, 'BODY_TOO_LARGE', `the callback body is larger than the limit of ${limit} bytes`))
      } else {
        chunks.push(chunk)
      }
    })
    req.on('end', () => finish(null, Buffer.concat(chunks, size)))
    req.on('error', (error) => finish(error))
    req.on('aborted', () => finish(httpError(400, 'BODY_ABORTED', 'the client closed the request before the body was complete')))
  })
}

/** The request target split as OSS signed it: raw path, raw query (or null). */
function splitTarget(targetText) {
  const i = targetText.indexOf('?')
  return i < 0 ? [targetText, null] : [targetText.slice(0, i), targetText.slice(i + 1)]
}

/**
 * The callback's variables: the form-urlencoded body as an object, the JSON
 * body parsed (`null` when it is not valid JSON), `null` for other types.
 */
function callbackParams(contentType, body) {
  const type = String(contentType ?? '')
    .split(';')[0]
    .trim()
    .toLowerCase()
  const text = body.toString('utf8')
  if (type === 'application/json') {
    try {
      return JSON.parse(text)
    } catch {
      return null
    }
  }
  if (type === '' || type === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(text))
  return null
}

/** 500 for a policy that lints with errors: nothing is signed, the diagnostics are named. */
function refuseLint(res, errors) {
  res.statusCode = 500
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.setHeader('Cache-Control', 'no-store')
  res.end(
    JSON.stringify({
      code: 'POLICY_LINT',
      message: `the upload policy is not signed: ${errors.map((d) => `${d.code}: ${d.message}`).join('; ')}`,
      diagnostics: errors.map(({ code, severity, message, conditionIndex }) => ({ code, severity, message, conditionIndex })),
    }),
  )
}

function reject(res, status, error) {
  res.statusCode = status
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.setHeader('Cache-Control', 'no-store')
  res.end(JSON.stringify({ code: error.code, message: error.message }))
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
  if (options != null && typeof options !== 'object') throw invalidArg('verifyCallback({ trustedKeyUrls?, keySource?, publicPath?, limit? })')
  const { trustedKeyUrls, keySource, publicPath, limit = DEFAULT_LIMIT } = options ?? {}
  if (publicPath != null && typeof publicPath !== 'string' && typeof publicPath !== 'function') {
    throw invalidArg('verifyCallback: `publicPath` must be a string or a function of the request')
  }
  if (!(Number.isSafeInteger(limit) && limit >= 0)) throw invalidArg('verifyCallback: `limit` must be a number of bytes')
  // Parsed once, now: a bad prefix is a configuration error, not a 400 per request.
  const trusted = trustedKeyUrls == null || trustedKeyUrls instanceof KeyUrlPolicy ? trustedKeyUrls : new KeyUrlPolicy(trustedKeyUrls)
  const verifyOptions = { trustedKeyUrls: trusted, keySource }

  return function verifyCallbackHandler(req, res, next) {
    const fail = (error) => {
      if (typeof error?.code === 'string' && error.code.startsWith('CALLBACK_')) return reject(res, 400, error)
      if (error?.code === 'BODY_TOO_LARGE' || error?.code === 'BODY_ABORTED') return reject(res, error.status, error)
      if (typeof next === 'function') return next(error)
      res.statusCode = 500
      res.end()
    }
    rawBody(req, limit)
      .then(async (body) => {
        let [path, query] = splitTarget(req.originalUrl ?? req.url)
        if (publicPath != null) {
          const external = typeof publicPath === 'function' ? await publicPath(req) : publicPath
          if (typeof external !== 'string') throw invalidArg('verifyCallback: `publicPath` must give a string')
          if (external.includes('?')) [path, query] = splitTarget(external)
          else path = external
        }
        const verified = await verify({ method: req.method, path, query, headers: req.headers, body }, verifyOptions)
        req.ossCallback = {
          body,
          params: callbackParams(req.headers['content-type'], body),
          publicKeyUrl: verified.publicKeyUrl,
        }
      })
      .then(() => (typeof next === 'function' ? next() : undefined), fail)
  }
}

exports.uploadToken = uploadToken
exports.verifyCallback = verifyCallback
