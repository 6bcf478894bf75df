'use strict'
// What postpolicy/express, postpolicy/fastify and postpolicy/web share, with
// no framework in sight: choosing the policy, key and callback for a request,
// the lint gate, the token JSON, reading and verifying a callback's raw body,
// and the JSON answers. Each adapter only turns its framework's request into
// these calls and a reply `{ status, headers, body }` into its response.
// Private: not in the package's `exports`.

const { CallbackSpec, KeyUrlPolicy, OssSigner, Policy, S3Signer, verifyCallback: verify } = require('../index.js')

/** Every answer's headers: JSON, and never cached (a token is a credential for one upload). */
const HEADERS = Object.freeze({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })

/** The default largest callback body read (OSS renders small templates). */
const DEFAULT_LIMIT = 1024 * 1024

/** At most this many distinct diagnostics are remembered as logged (then the memory starts over). */
const MAX_LOGGED = 256

function invalidArg(message) {
  const error = new TypeError(message)
  error.code = 'InvalidArg'
  return error
}

function httpError(status, code, message) {
  const error = new Error(message)
  error.status = status
  error.code = code
  return error
}

function isThenable(value) {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function'
}

function asPolicy(value) {
  return typeof value === 'string' ? Policy.parse(value) : value
}

/** `text` with control and line-separator characters escaped, for one log line. */
function oneLine(text) {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this escapes
  return String(text).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`)
}

function jsonReply(status, value) {
  return { status, headers: HEADERS, body: JSON.stringify(value) }
}

/** 500 for a policy that lints with errors: nothing is signed, the diagnostics are named. */
function lintRefusal(errors) {
  return jsonReply(500, {
    code: 'POLICY_LINT',
    message: `the upload policy is not signed: ${errors.map((d) => `${d.code}: ${d.message}`).join('; ')}`,
    diagnostics: errors.map(({ code, severity, message, conditionIndex }) => ({ code, severity, message, conditionIndex })),
  })
}

/**
 * The token endpoint: checks the options now (a configuration error throws
 * here, not per request) and returns `token(...requestArgs)`, giving the
 * reply, or a promise of it when a request function returned a promise.
 * `name` prefixes the configuration errors (`uploadToken`, `postpolicy/fastify`, …).
 */
function tokenEndpoint(options, name) {
  if (options == null || typeof options !== 'object') throw invalidArg(`${name}({ signer, policy })`)
  const { signer, policy, key, callback, pinCallback, logger = console } = options
  if (!(signer instanceof OssSigner || signer instanceof S3Signer)) {
    throw invalidArg(`${name}: \`signer\` must be an OssSigner or an S3Signer`)
  }
  if (policy == null) throw invalidArg(`${name}: \`policy\` is required (a Policy, DSL text or a function of the request)`)
  const fixed = typeof policy === 'function' ? null : asPolicy(policy)
  if (fixed !== null && !(fixed instanceof Policy)) {
    throw invalidArg(`${name}: \`policy\` must be a Policy, DSL text or a function of the request`)
  }
  if (key != null && typeof key !== 'string' && typeof key !== 'function') {
    throw invalidArg(`${name}: \`key\` must be a string or a function of the request`)
  }
  if (callback != null && !(callback instanceof CallbackSpec) && typeof callback !== 'function') {
    throw invalidArg(`${name}: \`callback\` must be a CallbackSpec or a function of the request`)
  }
  if (logger != null && (typeof logger.warn !== 'function' || typeof logger.error !== 'function')) {
    throw invalidArg(`${name}: \`logger\` must have warn() and error() (console does), or be null`)
  }
  const logPrefix = name.startsWith('postpolicy/') ? name : `postpolicy ${name}`
  // Diagnostics already logged, by severity, code and message.
  const logged = new Set()
  const logOnce = (diagnostic) => {
    if (logger == null) return
    const id = `${diagnostic.severity}\0${diagnostic.code}\0${diagnostic.message}`
    if (logged.has(id)) return
    if (logged.size >= MAX_LOGGED) logged.clear()
    logged.add(id)
    const line = `${logPrefix}: policy ${diagnostic.severity} ${diagnostic.code}: ${oneLine(diagnostic.message)}`
    if (diagnostic.severity === 'error') logger.error(line)
    else logger.warn(line)
  }

  const answer = (chosenPolicy, chosenKey, chosenCallback) => {
    const signed = asPolicy(chosenPolicy)
    // Linted as signed: with the key condition the `key` option adds.
    const diagnostics = signed instanceof Policy ? signed.lint({ key: chosenKey ?? undefined }) : []
    const errors = diagnostics.filter((d) => d.severity === 'error')
    diagnostics.forEach(logOnce)
    if (errors.length > 0) return lintRefusal(errors)
    // The core's JSON: the fields in signing order, the `rules` member included.
    const body = signer.token(signed, { key: chosenKey ?? undefined, callback: chosenCallback ?? undefined, pinCallback })
    return { status: 200, headers: HEADERS, body }
  }

  return function token(...args) {
    const chosenPolicy = fixed ?? policy(...args)
    const chosenKey = typeof key === 'function' ? key(...args) : key
    const chosenCallback = typeof callback === 'function' ? callback(...args) : callback
    if (isThenable(chosenPolicy) || isThenable(chosenKey) || isThenable(chosenCallback)) {
      return Promise.all([chosenPolicy, chosenKey, chosenCallback]).then(([p, k, c]) => answer(p, k, c))
    }
    return answer(chosenPolicy, chosenKey, chosenCallback)
  }
}

/** 413 before a byte is read when the declared length is over `limit`; `null` otherwise. */
function declaredTooLarge(contentLength, limit) {
  const declared = Number(contentLength)
  if (contentLength != null && contentLength !== '' && declared > limit) {
    return httpError(413, 'BODY_TOO_LARGE', `the callback body (${declared} bytes) is larger than the limit of ${limit} bytes`)
  }
  return null
}

function tooLarge(limit) {
  return httpError(413, 'BODY_TOO_LARGE', `the callback body is larger than the limit of ${limit} bytes`)
}

/** A Node readable stream's bytes, at most `limit` of them (else a 413 error). */
function readStream(stream, limit) {
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
    stream.on('data', (chunk) => {
      if (done) return
      size += chunk.length
      if (size > limit) finish(tooLarge(limit))
      else chunks.push(chunk)
    })
    stream.on('end', () => finish(null, Buffer.concat(chunks, size)))
    stream.on('error', (error) => finish(error))
    stream.on('aborted', () => finish(httpError(400, 'BODY_ABORTED', 'the client closed the request before the body was complete')))
  })
}

/** A WHATWG `Request`'s bytes, at most `limit` of them (else a 413 error; reading stops there). */
async function readRequest(request, limit) {
  const refused = declaredTooLarge(request.headers.get('content-length'), limit)
  if (refused) throw refused
  if (request.body == null) return Buffer.alloc(0)
  const reader = request.body.getReader()
  const chunks = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel().catch(() => {})
      throw tooLarge(limit)
    }
    chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength))
  }
  return Buffer.concat(chunks, size)
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

/**
 * The callback verifier: checks the options now and returns
 * `{ limit, verify(req, { method, target, headers, body }) }`, where
 * `verify` resolves to `{ body, params, publicKeyUrl }` or rejects with the
 * core's `CALLBACK_*` error. `headers` is an object of lower-case names.
 */
function callbackEndpoint(options, name) {
  if (options != null && typeof options !== 'object') throw invalidArg(`${name}({ trustedKeyUrls?, keySource?, publicPath?, limit? })`)
  const { trustedKeyUrls, keySource, publicPath, limit = DEFAULT_LIMIT } = options ?? {}
  if (publicPath != null && typeof publicPath !== 'string' && typeof publicPath !== 'function') {
    throw invalidArg(`${name}: \`publicPath\` must be a string or a function of the request`)
  }
  if (!(Number.isSafeInteger(limit) && limit >= 0)) throw invalidArg(`${name}: \`limit\` must be a number of bytes`)
  // Parsed once, now: a bad prefix is a configuration error, not a 400 per request.
  const trusted = trustedKeyUrls == null || trustedKeyUrls instanceof KeyUrlPolicy ? trustedKeyUrls : new KeyUrlPolicy(trustedKeyUrls)
  const verifyOptions = { trustedKeyUrls: trusted, keySource }

  async function verifyRequest(req, { method, target, headers, body }) {
    let [path, query] = splitTarget(target)
    if (publicPath != null) {
      const external = typeof publicPath === 'function' ? await publicPath(req) : publicPath
      if (typeof external !== 'string') throw invalidArg(`${name}: \`publicPath\` must give a string`)
      if (external.includes('?')) [path, query] = splitTarget(external)
      else path = external
    }
    const verified = await verify({ method, path, query, headers, body }, verifyOptions)
    return { body, params: callbackParams(headers['content-type'], body), publicKeyUrl: verified.publicKeyUrl }
  }
  return { limit, verify: verifyRequest }
}

/** The reply for a refused callback (400 `CALLBACK_*`, 413, 400 aborted), or `null` for another error. */
function callbackRefusal(error) {
  if (typeof error?.code === 'string' && error.code.startsWith('CALLBACK_')) return jsonReply(400, { code: error.code, message: error.message })
  if (error?.code === 'BODY_TOO_LARGE' || error?.code === 'BODY_ABORTED') return jsonReply(error.status, { code: error.code, message: error.message })
  return null
}

/** 200 with what `onCallback` returned (OSS hands it to the browser), `{"Status":"OK"}` for nothing. */
function callbackAnswer(result) {
  return jsonReply(200, result === undefined || result === null ? { Status: 'OK' } : result)
}

module.exports = {
  DEFAULT_LIMIT,
  HEADERS,
  callbackAnswer,
  callbackEndpoint,
  callbackRefusal,
  declaredTooLarge,
  invalidArg,
  isThenable,
  readRequest,
  readStream,
  tokenEndpoint,
}
