// Types of postpolicy/browser.js, the dependency-free browser helper.

/** A token rule's failure: the service's code and message, the reason as a template. */
export interface RuleFailure {
  service_code: string
  message: string
  /** Slots `{size}`, `{value}`, `{hint}`; `{{` and `}}` are braces. */
  reason: string
}

/** One check a page can make before it sends the file (see `SignedForm::rules`). */
export type Rule =
  | { op: 'required'; field: string; failure: RuleFailure }
  | {
      op: 'content-length-range'
      index: number
      condition: string
      min: number
      max: number
      too_small: RuleFailure
      too_large: RuleFailure
    }
  | ({
      index: number
      condition: string
      field: string
      expand_filename: boolean
      failure: RuleFailure
      missing: string
      hints?: { case?: string; expanded?: string }
      item_reason?: string
    } & ({ op: 'eq'; value: string } | { op: 'starts-with'; prefix: string } | { op: 'in' | 'not-in'; values: string[] }))

/** The JSON token a postpolicy signer produces. */
export interface UploadToken {
  url: string
  fields: Record<string, string>
  expires_at: string
  fields_to_fill: string[]
  /** Absent from tokens of older servers: then nothing is checked in the page. */
  rules?: Rule[]
}

/** A file, a Blob, or anything with its name, size and type. */
export interface FileLike {
  name?: string
  size: number
  type?: string
}

export interface CheckOptions {
  /** The object key, replacing the token's (when the token leaves it to the page). */
  key?: string
  /** Overrides the file's own type. */
  contentType?: string
  /** Values for the token's `fields_to_fill`, e.g. `x-oss-meta-*`. */
  fields?: Record<string, string>
  /** The file name, for Blobs. */
  filename?: string
}

/** Why the service would refuse the file, in its words. */
export interface Refusal {
  /** The service's error code: `EntityTooLarge`, `AccessDenied`, `InvalidArgument`, … */
  code: string
  /** The service's message. */
  message: string
  /** The plain reason, naming the value sent. */
  reason?: string
  /** The failing condition as the service echoes it. */
  condition?: string
  /** Its index in the signed policy. */
  index?: number
}

export interface UploadResult {
  status: number
  key?: string
  etag?: string
  location?: string
  /** The application's JSON answer to an OSS upload callback. */
  callback?: unknown
  requestId?: string
}

export interface UploadOptions extends CheckOptions {
  onProgress?: (progress: { loaded: number; total: number; percent: number }) => void
  signal?: AbortSignal
}

/** Rejections of `uploadFile` and of the Uppy adapter. */
export interface UploadError extends Error {
  name: 'UploadError'
  code: string
  status?: number
  requestId?: string
  reason?: string
  condition?: string
  index?: number
}

export const CONTENT_TYPES: Record<string, string>
export function contentTypeFor(name: string): string | undefined
export function checkFile(token: UploadToken | string, file: FileLike | null | undefined, options?: CheckOptions): Refusal | null
export function uploadFile(token: UploadToken | string, file: Blob, options?: UploadOptions): Promise<UploadResult>
export function parseUploadResponse(xhr: XMLHttpRequest): UploadResult

/** What `@uppy/aws-s3` (≤ 5) `getUploadParameters` returns in POST mode. */
export interface UppyPostParameters {
  method: 'POST'
  url: string
  fields: Record<string, string>
  headers: Record<string, string>
}

export function uppyUploadParameters(
  // biome-ignore lint/suspicious/noExplicitAny: the caller's own Uppy types (with `unknown`, a callback naming them would not type-check)
  fetchToken: (file: any, options?: any) => UploadToken | string | Promise<UploadToken | string>,
  // biome-ignore lint/suspicious/noExplicitAny: Uppy passes its own options object
): (file: { name?: string; size?: number; type?: string; data?: Blob }, options?: any) => Promise<UppyPostParameters>
