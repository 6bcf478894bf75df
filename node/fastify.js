'use strict'
// postpolicy/fastify: the upload-token endpoint and the OSS callback receiver
// as one Fastify plugin.
//
//   await app.register(require('postpolicy/fastify'), {
//     signer,
//     policy: (request) => Policy.parse('key starts-with "user/{id}/"\ncontent-length 1..10MiB', { id: request.user.id }),
//     onCallback: ({ params }) => ({ Status: 'OK', key: params.object }),
//   })
//
// gives `GET /upload-token` (the signed form as JSON, what
// postpolicy/browser.js reads) and, when `callback` or `onCallback` is given,
// `POST /oss-callback` (only callbacks OSS signed reach `onCallback`). The
// options mean what they mean for postpolicy/express; both run on
// lib/upload.js. The plugin is encapsulated: its raw-body parser and its
// error answers apply to these two routes only; `prefix` mounts them elsewhere.

const { callbackAnswer, callbackEndpoint, callbackRefusal, declaredTooLarge, invalidArg, readStream, tokenEndpoint } = require('./lib/upload.js')

function send(reply, answer) {
  return reply.code(answer.status).headers(answer.headers).send(answer.body)
}

/**
 * The plugin. Options: `signer`, `policy`, `key`, `callback`, `pinCallback`,
 * `logger` as for `uploadToken` (functions of `(request, reply)`);
 * `onCallback`, `trustedKeyUrls`, `keySource`, `publicPath`, `limit` for the
 * callback route (`publicPath` a function of `(request)`).
 */
async function uploadPlugin(fastify, options) {
  const { onCallback, trustedKeyUrls, keySource, publicPath, limit, ...tokenOptions } = options ?? {}
  const token = tokenEndpoint(tokenOptions, 'postpolicy/fastify')
  if (onCallback != null && typeof onCallback !== 'function') throw invalidArg('postpolicy/fastify: `onCallback` must be a function of the verified callback')

  fastify.get('/upload-token', async (request, reply) => send(reply, await token(request, reply)))

  if (tokenOptions.callback == null && onCallback == null) return
  const endpoint = callbackEndpoint({ trustedKeyUrls, keySource, publicPath, limit }, 'postpolicy/fastify')

  // The signature covers the raw bytes, whatever the type: no parser of
  // Fastify's own runs on this route, ours keeps the bytes, at most `limit`.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', (request, payload) => {
    const refused = declaredTooLarge(request.headers['content-length'], endpoint.limit)
    if (refused) {
      payload.resume()
      return Promise.reject(refused)
    }
    return readStream(payload, endpoint.limit)
  })
  // Refusals answered as postpolicy/express answers them; anything else goes
  // on to the application's error handler.
  fastify.setErrorHandler((error, _request, reply) => {
    const refusal = callbackRefusal(error)
    if (refusal === null) throw error
    return send(reply, refusal)
  })

  fastify.post('/oss-callback', async (request, reply) => {
    // No body at all (no Content-Type) never reaches the parser.
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
    const verified = await endpoint.verify(request, { method: request.method, target: request.url, headers: request.headers, body })
    const result = onCallback == null ? undefined : await onCallback({ request, ...verified })
    return send(reply, callbackAnswer(result))
  })
}

module.exports = uploadPlugin
module.exports.uploadPlugin = uploadPlugin
module.exports.default = uploadPlugin
