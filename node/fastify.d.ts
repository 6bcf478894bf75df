// Types of `postpolicy/fastify`.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'

import type { UploadTokenOptions, VerifyCallbackMiddlewareOptions } from './express'

/** A callback OSS signed, as the plugin hands it to `onCallback`. */
export interface FastifyOssCallback {
  request: FastifyRequest
  /** The raw body, exactly as signed. */
  body: Buffer
  /** The form-urlencoded body as an object, the parsed JSON body, or `null`. */
  // biome-ignore lint/suspicious/noExplicitAny: the variables of the application's own body template
  params: Record<string, any> | null
  /** The canonical URL of the key that verified the signature. */
  publicKeyUrl: string
}

/**
 * The plugin's options: those of `uploadToken` and `verifyCallback` of
 * `postpolicy/express`, request functions taking `(request, reply)`
 * (`publicPath`: `(request)`); with `callback` or `onCallback` the plugin
 * serves `POST /oss-callback`.
 */
export interface UploadPluginOptions extends UploadTokenOptions<FastifyRequest, FastifyReply>, VerifyCallbackMiddlewareOptions<FastifyRequest> {
  /**
   * Runs for each verified callback; what it returns (a JSON-ready value)
   * is the answer OSS hands to the browser, nothing gives `{"Status":"OK"}`.
   */
  onCallback?: ((callback: FastifyOssCallback) => unknown) | null
}

/**
 * `GET /upload-token` (the signed form as JSON, `Cache-Control: no-store`;
 * 500 `POLICY_LINT` when the policy lints with errors) and, when `callback`
 * or `onCallback` is given, `POST /oss-callback` (400 `CALLBACK_…` unless
 * OSS signed it, 413 over `limit`). Encapsulated: register it with a
 * `prefix` to mount the routes elsewhere.
 */
declare const uploadPlugin: FastifyPluginAsync<UploadPluginOptions>
export default uploadPlugin
export { uploadPlugin }
