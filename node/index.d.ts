// Types of the `postpolicy` package (hand-written; native.d.ts is generated).

/** `now` options: the clock to use; when absent, the current time is read. */
export interface NowOptions {
  now?: Date
}

/** A byte range in DSL source text. */
export interface Span {
  start: number
  end: number
}

/** One lint finding. */
export interface Diagnostic {
  /** Stable code, e.g. `no-size-limit`, `range-min-above-max`. */
  code: string
  severity: 'error' | 'warning'
  message: string
  /** The 0-based index of the condition it is about, or `null` for the whole policy. */
  conditionIndex: number | null
  /** Where the condition was written, for a policy parsed from the DSL (else `null`). */
  span: Span | null
}

/** An upload policy: an expiration and an ordered list of conditions. */
export declare class Policy {
  private constructor()
  /** Parses the policy DSL. Throws a {@link PolicySyntaxError}. */
  static parse(dsl: string): Policy
  /** Parses policy JSON as the services accept it. Throws a {@link PolicyInvalidError}. */
  static fromJson(json: string): Policy
  /** Decodes a `policy` form field (base64 of policy JSON). Throws a {@link PolicyInvalidError}. */
  static fromBase64(policyB64: string): Policy
  /** The canonical DSL text. */
  toDsl(): string
  /** Compact policy JSON; a relative or missing expiration resolves against `now`. */
  toJson(options?: NowOptions | Date): string
  /** Errors and warnings, as if the policy were signed at `now`. */
  lint(options?: NowOptions | Date): Diagnostic[]
  /** Same expiration and conditions. */
  equals(other: Policy): boolean
  /** The canonical DSL text. */
  toString(): string
}

/** An access key: id, secret and, for STS, a security token. The secret cannot be read back. */
export declare class Credentials {
  /** Throws `SIGNING_INVALID` for an empty id or secret, or an id with `/` or white space. */
  constructor(accessKeyId: string, accessKeySecret: string, securityToken?: string | null)
  /**
   * From `OSS_ACCESS_KEY_ID` / `OSS_ACCESS_KEY_SECRET` / `OSS_SESSION_TOKEN`, or
   * `ALIBABA_CLOUD_ACCESS_KEY_ID` / `ALIBABA_CLOUD_ACCESS_KEY_SECRET` /
   * `ALIBABA_CLOUD_SECURITY_TOKEN`; `null` when neither pair is set.
   */
  static fromEnv(): Credentials | null
  readonly accessKeyId: string
  readonly securityToken: string | null
  /** `{ accessKeyId }`: never the secret. */
  toJSON(): { accessKeyId: string }
}

export type OssVersion = 'v1' | 'v4'

export interface OssSignerOptions {
  credentials: Credentials
  /** `cn-hangzhou` or `oss-cn-hangzhou`. */
  region: string
  bucket: string
  /**
   * An endpoint host (`oss-cn-shanghai-internal.aliyuncs.com`, the bucket is
   * prefixed) or the form's exact action URL (`https://img.example.com`,
   * `http://127.0.0.1:9000/bucket`).
   */
  endpoint?: string | null
  /** `v4` (default) or `v1`. */
  version?: OssVersion | null
  /** Sign for this CloudBox (product `oss-cloudbox`, the id in place of the region). */
  cloudboxId?: string | null
}

export interface SignOptions extends NowOptions {
  /** The object key, or a key template ending in `${filename}` (then `key starts-with` the prefix). */
  key?: string | null
}

/** A signed upload form: POST `fields` (in this order) to `url`, the file last, named `file`. */
export interface SignedForm {
  url: string
  /** The hidden form fields, in order. */
  fields: Record<string, string>
  /** `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC). */
  expiresAt: string
  /** Fields the page must still fill (constrained by `starts-with`, `in` or `not-in`). */
  fieldsToFill: string[]
}

/** Signs policies for one bucket with one access key (V4 by default). */
export declare class OssSigner {
  /** Throws `SIGNING_INVALID` for an invalid region, bucket, endpoint or version. */
  constructor(options: OssSignerOptions)
  /** The form's action URL. */
  readonly url: string
  readonly bucket: string
  /** The signing region (without `oss-`), or the CloudBox id. */
  readonly region: string
  readonly version: OssVersion
  /** Signs `policy` (the signer adds its own conditions). Throws `POLICY_INVALID` or `SIGNING_INVALID`. */
  sign(policy: Policy, options?: SignOptions): SignedForm
  /**
   * The JSON token for the browser, exactly as every postpolicy server writes
   * it: `{"url","fields":{…},"expires_at","fields_to_fill":[…]}`.
   */
  token(policy: Policy, options?: SignOptions): string
  /** Signs an exact policy JSON text, byte for byte (to match another SDK); only the signature fields come back. */
  signJson(policyJson: string, options?: NowOptions): SignedForm
}

/** A form field as sent: `[name, value]`. */
export type FormField = [name: string, value: string]

/** The file part of a form. */
export interface FileInfo {
  filename: string
  /** The part's `Content-Type`. */
  contentType?: string | null
  /** The size in bytes, when known. */
  size?: number | null
}

/** What the browser sent. */
export interface Submission {
  /** The fields before the file part, in order. */
  fields: FormField[] | ReadonlyMap<string, string> | Record<string, string>
  /** The file part; `null` when the form has none. */
  file?: FileInfo | null
  /** Fields after the file part (the service ignores them). */
  fieldsAfterFile?: FormField[] | ReadonlyMap<string, string> | Record<string, string> | null
}

/** Access key id → secret: an object (copied), or a function called during `verify`. */
export type KeyStore = Readonly<Record<string, string>> | ((accessKeyId: string) => string | null | undefined)

export interface VerifierOptions {
  bucket: string
  /** `cn-hangzhou` or `oss-cn-hangzhou`. */
  region: string
  keys: KeyStore
  /** How far in the future an `x-oss-date` may be, in seconds (default 900). */
  clockSkewSeconds?: number | null
  /** Accept unsigned forms, as a `public-read-write` bucket does (default false). */
  allowAnonymous?: boolean | null
  /** Expect CloudBox credentials. */
  cloudboxId?: string | null
}

/** An inclusive byte range. */
export interface ByteRange {
  min: number
  max: number
}

/** An accepted upload: where it is stored and how to answer. */
export interface Accepted {
  /** The object key after `${filename}` expansion. */
  key: string
  /** 200, 201 or 204 (from `success_action_status`, default 204). */
  status: number
  /** `success_action_redirect` (takes precedence over `status`), or `null`. */
  redirect: string | null
  /** The object's Content-Type, or `null`. */
  contentType: string | null
  /** Headers and metadata stored with the object (lower-case names, in form order). */
  metadata: Record<string, string>
  /** The sizes the file may have. */
  sizeLimit: ByteRange
  /** The access key that signed the form (`null` for anonymous uploads). */
  accessKeyId: string | null
}

/** Why the service would reject an upload. */
export interface Rejection {
  /** HTTP status. */
  status: number
  /** The service's error code (`AccessDenied`, `EntityTooLarge`, …). */
  ossCode: string
  /** The service's message, in its documented wording. */
  ossMessage: string
  /** The 0-based index of the failing condition, or `null`. */
  conditionIndex: number | null
  /** What went wrong, naming the value sent and what was expected. */
  reason: string
  /** `<ossCode> (<status>): <reason>`. */
  message: string
}

/** Verifies forms posted to one bucket, exactly as OSS would. */
export declare class Verifier {
  constructor(options: VerifierOptions)
  readonly bucket: string
  /** Accepts the submission, or throws a {@link RejectedError}. */
  verify(submission: Submission, options?: NowOptions): Accepted
}

export interface ExplainOptions extends NowOptions {
  /** The target bucket: `bucket` conditions are judged only when it is given. */
  bucket?: string | null
}

/** Every reason `policy` would reject `submission` (empty when it would pass), without checking a signature. */
export declare function explain(policy: Policy, submission: Submission, options?: ExplainOptions): Rejection[]

/** `base64(HMAC-SHA1(secret, policyB64))`: the V1 signature of an encoded policy. */
export declare function signV1(secret: string, policyB64: string): string

/**
 * The V4 signature (lower-case hex) of an encoded policy for `date` (yyyymmdd),
 * `region` (with or without `oss-`) and `product`. Throws `SIGNING_INVALID`.
 */
export declare function signV4(secret: string, policyB64: string, date: string, region: string, product?: string): string

export { uploadToken } from './express'
export type { UploadTokenOptions, RequestValue } from './express'

// ---- errors ---------------------------------------------------------------

/** Every `code` an error of this package carries. */
export type ErrorCode =
  | 'POLICY_SYNTAX'
  | 'POLICY_INVALID'
  | 'SIGNATURE_MISMATCH'
  | 'SIGNING_INVALID'
  | 'REJECTED'
  | 'CALLBACK_INVALID'
  // Arguments of the wrong type or shape: the binding's checks use `InvalidArg`,
  // napi-rs's generated conversions their own status names.
  | 'InvalidArg'
  | 'StringExpected'
  | 'NumberExpected'
  | 'BooleanExpected'
  | 'ObjectExpected'
  | 'ArrayExpected'
  | 'FunctionExpected'

/** Errors thrown by this package are plain `Error`s with a stable `code`. */
export interface PostPolicyError extends Error {
  code: ErrorCode
}

/** One DSL syntax error. */
export interface SyntaxErrorDetail {
  line: number
  column: number
  /** `expected …, found …` */
  reason: string
  expected: string
  found: string
  /** `line L, column C: expected …, found …` */
  message: string
  span: Span
}

/** `POLICY_SYNTAX`: the DSL did not parse; `line`/`column` of the first error, all in `errors`. */
export interface PolicySyntaxError extends PostPolicyError {
  code: 'POLICY_SYNTAX'
  line: number
  column: number
  errors: SyntaxErrorDetail[]
}

/** `POLICY_INVALID`: a policy document the service would refuse (`InvalidPolicyDocument`). */
export interface PolicyInvalidError extends PostPolicyError {
  code: 'POLICY_INVALID'
  ossCode: string
  ossMessage: string
  reason: string
}

/** `REJECTED`: the form would not be accepted. */
export interface RejectedError extends PostPolicyError {
  code: 'REJECTED'
  status: number
  ossCode: string
  ossMessage: string
  conditionIndex: number | null
  reason: string
}
