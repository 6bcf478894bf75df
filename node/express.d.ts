// Types of `postpolicy/express`.
import type { IncomingMessage, ServerResponse } from 'node:http'

import type { OssSigner, Policy } from './index'

/** A value, or a function of the request returning it (or a promise of it). */
export type RequestValue<T, Req = IncomingMessage, Res = ServerResponse> = T | ((req: Req, res: Res) => T | Promise<T>)

export interface UploadTokenOptions<Req = IncomingMessage, Res = ServerResponse> {
  signer: OssSigner
  /** A Policy, DSL text, or a function of the request returning either (per-user prefixes). */
  policy: RequestValue<Policy | string, Req, Res>
  /** An object key or a key template ending in `${filename}`. */
  key?: RequestValue<string | null | undefined, Req, Res>
}

/**
 * A `(req, res, next)` handler answering the signed form as JSON
 * (`{"url","fields","expires_at","fields_to_fill"}`) with
 * `Cache-Control: no-store`; errors go to `next(err)`.
 */
export declare function uploadToken<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse>(
  options: UploadTokenOptions<Req, Res>,
): (req: Req, res: Res, next?: (err?: unknown) => void) => void
