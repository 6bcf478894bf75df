// Types of `postpolicy/express`.
import type { IncomingMessage, ServerResponse } from 'node:http'

import type { CallbackSpec, Diagnostic, KeySource, KeyUrlPolicy, OssSigner, Policy, S3Signer } from './index'

/** A value, or a function of the request returning it (or a promise of it). */
export type RequestValue<T, Req = IncomingMessage, Res = ServerResponse> = T | ((req: Req, res: Res) => T | Promise<T>)

export interface UploadTokenOptions<Req = IncomingMessage, Res = ServerResponse> {
  signer: OssSigner | S3Signer
  /**
   * A Policy, DSL text, or a function of the request returning either: for
   * per-user prefixes, `Policy.parse(template, params)` or `Policy.builder()`,
   * never request data in the text.
   */
  policy: RequestValue<Policy | string, Req, Res>
  /** An object key or a key template ending in `${filename}`. */
  key?: RequestValue<string | null | undefined, Req, Res>
  /** An upload callback (OSS only), or a function of the request returning one (per-user `x:` variables). */
  callback?: RequestValue<CallbackSpec | null | undefined, Req, Res>
  /** Pin the callback in the policy (default true). */
  pinCallback?: boolean | null
  /**
   * Where lint diagnostics of the signed policy are logged, once per distinct
   * diagnostic (default `console`; `null` logs nothing).
   */
  logger?: UploadTokenLogger | null
}

/** What `uploadToken` logs lint diagnostics to (`console` is one). */
export interface UploadTokenLogger {
  warn(message: string): void
  error(message: string): void
}

/** The JSON body of the 500 answer to a policy that lints with errors (nothing is signed). */
export interface PolicyLintRefusal {
  code: 'POLICY_LINT'
  message: string
  diagnostics: Array<Pick<Diagnostic, 'code' | 'severity' | 'message' | 'conditionIndex'>>
}

/**
 * A `(req, res, next)` handler answering the signed form as JSON
 * (`{"url","fields","expires_at","fields_to_fill"}`) with
 * `Cache-Control: no-store`. A policy that lints with errors gets 500 and a
 * {@link PolicyLintRefusal}; other errors go to `next(err)`.
 */
export declare function uploadToken<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse>(
  options: UploadTokenOptions<Req, Res>,
): (req: Req, res: Res, next?: (err?: unknown) => void) => void

/** A verified OSS callback, as `verifyCallback()` leaves it on `req.ossCallback`. */
export interface OssCallback {
  /** The raw body, exactly as signed. */
  body: Buffer
  /**
   * The variables: the form-urlencoded body as an object (the default body
   * type), the parsed JSON body (`null` if it is not valid JSON), or `null`
   * for another content type.
   */
  // biome-ignore lint/suspicious/noExplicitAny: the variables of the application's own body template
  params: Record<string, any> | null
  /** The canonical URL of the key that verified the signature. */
  publicKeyUrl: string
}

/** A request after `verifyCallback()`. */
export interface CallbackVerifiedRequest extends IncomingMessage {
  ossCallback: OssCallback
}

export interface VerifyCallbackMiddlewareOptions<Req = IncomingMessage> {
  /**
   * Key URL prefixes trusted besides OSS's own (`http(s)://gosspublic.alicdn.com/`),
   * e.g. `http://127.0.0.1:8080/` for a local endpoint, or a `KeyUrlPolicy`.
   * Parsed when the middleware is made: a bad prefix throws `CALLBACK_KEY_URL_PREFIX` then.
   */
  trustedKeyUrls?: KeyUrlPolicy | readonly string[] | string | null
  /** Where keys come from (default: fetched over HTTP, cached for the process). */
  keySource?: KeySource | null
  /**
   * The path OSS called (raw, percent-encoded), when a reverse proxy rewrote
   * it before this server: a string, or a function of the request. With a
   * `?` it replaces the query as well. Default: the request's own target.
   */
  publicPath?: string | ((req: Req) => string | Promise<string>) | null
  /** The largest body read, in bytes (default 1 MiB); larger ones get 413. */
  limit?: number
}

/**
 * Middleware that lets through only callbacks OSS signed: it reads the raw
 * body (or takes `req.body` when a parser left a Buffer there), verifies the
 * signature and sets `req.ossCallback` before `next()`. A missing, forged or
 * altered signature, or an untrusted key URL, gets 400 with
 * `{"code":"CALLBACK_…","message"}`; a body over `limit` gets 413.
 */
export declare function verifyCallback<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse>(
  options?: VerifyCallbackMiddlewareOptions<Req>,
): (req: Req, res: Res, next?: (err?: unknown) => void) => void

declare global {
  // Express's request type, when @types/express is installed.
  namespace Express {
    interface Request {
      /** Set by `verifyCallback()` from `postpolicy/express`. */
      ossCallback?: OssCallback
    }
  }
}
