// Types of `postpolicy/web`.
import type { UploadTokenOptions, VerifyCallbackMiddlewareOptions } from './express'

/** Options of `uploadTokenHandler`: those of `uploadToken`, request functions taking the `Request`. */
export type UploadTokenHandlerOptions = UploadTokenOptions<Request, undefined>

/** A callback OSS signed, as `callbackHandler` hands it to `onCallback`. */
export interface WebOssCallback {
  request: Request
  /** The raw body, exactly as signed. */
  body: Buffer
  /** The form-urlencoded body as an object, the parsed JSON body, or `null`. */
  // biome-ignore lint/suspicious/noExplicitAny: the variables of the application's own body template
  params: Record<string, any> | null
  /** The canonical URL of the key that verified the signature. */
  publicKeyUrl: string
}

export interface CallbackHandlerOptions extends VerifyCallbackMiddlewareOptions<Request> {
  /**
   * Runs for each verified callback; what it returns (a JSON-ready value, or
   * a `Response`) is the answer OSS hands to the browser, nothing gives
   * `{"Status":"OK"}`.
   */
  onCallback?: ((callback: WebOssCallback) => unknown) | null
}

/**
 * `(request) => Promise<Response>`: the signed form as JSON with
 * `Cache-Control: no-store`, or 500 `POLICY_LINT` when the policy lints with
 * errors. A request function may throw a `Response` (401, …): it is the answer.
 */
export declare function uploadTokenHandler(options: UploadTokenHandlerOptions): (request: Request) => Promise<Response>

/**
 * `(request) => Promise<Response>` accepting only callbacks OSS signed:
 * 400 `{"code":"CALLBACK_…","message"}` otherwise, 413 over `limit`.
 */
export declare function callbackHandler(options?: CallbackHandlerOptions): (request: Request) => Promise<Response>
