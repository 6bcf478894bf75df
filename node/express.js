'use strict'
// postpolicy/express: an upload-token endpoint for Express (or any
// `(req, res, next)` server).
//
//   const { uploadToken } = require('postpolicy/express')
//   app.get('/upload-token', requireLogin, uploadToken({
//     signer,
//     policy: (req) => Policy.parse(`key starts-with "user/${req.user.id}/"\ncontent-length 1..10MiB`),
//   }))
//
// The answer is the signed form as JSON, exactly as every postpolicy server
// writes it (`{"url","fields","expires_at","fields_to_fill"}`, what
// postpolicy/browser.js reads), with `Cache-Control: no-store`. Errors
// (a policy that does not parse or cannot be signed, a throwing policy
// function) go to `next(err)`.

const { OssSigner, Policy } = require('./index.js')

function invalidArg(message) {
  const error = new TypeError(message)
  error.code = 'InvalidArg'
  return error
}

function asPolicy(value) {
  return typeof value === 'string' ? Policy.parse(value) : value
}

function isThenable(value) {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function'
}

/**
 * A request handler answering the signed-form JSON.
 *
 * - `signer`: an `OssSigner`.
 * - `policy`: a `Policy`, DSL text (parsed once, here), or a function of
 *   `(req, res)` returning either (or a promise of either), for per-user
 *   prefixes.
 * - `key` (optional): an object key or a key template ending in
 *   `${filename}`, or a function of `(req, res)` returning one.
 */
function uploadToken(options) {
  if (options == null || typeof options !== 'object') throw invalidArg('uploadToken({ signer, policy })')
  const { signer, policy, key } = options
  if (!(signer instanceof OssSigner)) throw invalidArg('uploadToken: `signer` must be an OssSigner')
  if (policy == null) throw invalidArg('uploadToken: `policy` is required (a Policy, DSL text or a function of the request)')
  const fixed = typeof policy === 'function' ? null : asPolicy(policy)
  if (fixed !== null && !(fixed instanceof Policy)) {
    throw invalidArg('uploadToken: `policy` must be a Policy, DSL text or a function of the request')
  }
  if (key != null && typeof key !== 'string' && typeof key !== 'function') {
    throw invalidArg('uploadToken: `key` must be a string or a function of the request')
  }

  return function uploadTokenHandler(req, res, next) {
    const fail = (error) => {
      if (typeof next === 'function') return next(error)
      res.statusCode = 500
      res.end()
    }
    const answer = (chosenPolicy, chosenKey) => {
      const body = signer.token(asPolicy(chosenPolicy), { key: chosenKey ?? undefined })
      res.statusCode = 200
      res.setHeader('Content-Type', 'application/json; charset=utf-8')
      res.setHeader('Cache-Control', 'no-store')
      res.end(body)
    }
    try {
      const chosenPolicy = fixed ?? policy(req, res)
      const chosenKey = typeof key === 'function' ? key(req, res) : key
      if (isThenable(chosenPolicy) || isThenable(chosenKey)) {
        Promise.all([chosenPolicy, chosenKey])
          .then(([p, k]) => answer(p, k))
          .catch(fail)
      } else {
        answer(chosenPolicy, chosenKey)
      }
    } catch (error) {
      fail(error)
    }
  }
}

exports.uploadToken = uploadToken
