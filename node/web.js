'use strict'
// postpolicy/web: the upload-token endpoint and the OSS callback receiver as
// `(Request) => Promise<Response>` handlers of the WHATWG Fetch API, for
// Next.js route handlers, Hono, Bun, Deno and other fetch-style servers.
//
//   // app/upload-token/route.js (Next.js)
//   export const GET = uploadTokenHandler({ signer, policy: (request) => policyFor(request) })
//   // app/oss-callback/route.js
//   export const POST = callbackHandler({ onCallback: ({ params }) => ({ Status: 'OK' }) })
//
// The options mean what they mean for postpolicy/express (functions take the
// `Request`); both run on lib/upload.js. A request function may throw (or
// reject with) a `Response` to refuse, e.g. 401 for a visitor who is not
// signed in: that Response is the answer. Other errors reject the handler's
// promise, for the framework's own error handling.

const { callbackAnswer, callbackEndpoint, callbackRefusal, invalidArg, readRequest, tokenEndpoint } = require('./lib/upload.js')

function toResponse(answer) {
  return new Response(answer.body, { status: answer.status, headers: answer.headers })
}

/**
 * `(request) => Promise<Response>` answering the signed form as JSON
 * (`Cache-Control: no-store`), or 500 `POLICY_LINT` when the policy lints
 * with errors. Options: `signer`, `policy`, `key`, `callback`, `pinCallback`,
 * `logger`, as for `uploadToken` of postpolicy/express.
 */
function uploadTokenHandler(options) {
  const token = tokenEndpoint(options, 'uploadTokenHandler')
  return async function handleUploadToken(request) {
    try {
      return toResponse(await token(request))
    } catch (error) {
      if (error instanceof Response) return error
      throw error
    }
  }
}

/**
 * `(request) => Promise<Response>` accepting only callbacks OSS signed: the
 * raw body (at most `limit` bytes, else 413) is verified against the
 * request's path and query, then `onCallback({ request, body, params,
 * publicKeyUrl })` runs and what it returns (a JSON-ready value, or a
 * `Response`) is the answer; nothing gives `{"Status":"OK"}`. A request OSS
 * did not sign gets 400 and `{"code":"CALLBACK_…","message"}`. Options:
 * `onCallback`, `trustedKeyUrls`, `keySource`, `publicPath`, `limit`, as
 * for `verifyCallback` of postpolicy/express.
 */
function callbackHandler(options) {
  const { onCallback, ...verifyOptions } = options ?? {}
  if (onCallback != null && typeof onCallback !== 'function') throw invalidArg('callbackHandler: `onCallback` must be a function of the verified callback')
  const endpoint = callbackEndpoint(verifyOptions, 'callbackHandler')
  return async function handleCallback(request) {
    let verified
    try {
      const body = await readRequest(request, endpoint.limit)
      const url = new URL(request.url)
      // The target as sent (a bare `?` kept), without the fragment.
      const target = url.href.slice(url.origin.length).split('#')[0]
      verified = await endpoint.verify(request, { method: request.method, target, headers: Object.fromEntries(request.headers), body })
    } catch (error) {
      if (error instanceof Response) return error
      const refusal = callbackRefusal(error)
      if (refusal) return toResponse(refusal)
      throw error
    }
    try {
      const result = onCallback == null ? undefined : await onCallback({ request, ...verified })
      return result instanceof Response ? result : toResponse(callbackAnswer(result))
    } catch (error) {
      if (error instanceof Response) return error
      throw error
    }
  }
}

exports.uploadTokenHandler = uploadTokenHandler
exports.callbackHandler = callbackHandler
