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

/**
 * Values for the DSL's `{name}` placeholders: a plain object or a Map of
 * strings. A parameter is one value, never policy text.
 */
export type PolicyParams = Readonly<Record<string, string>> | ReadonlyMap<string, string>

export interface LintOptions extends NowOptions {
  /** The signer's `key` option: an object key, or a template ending in `${filename}`. */
  key?: string | null
}

/** An upload policy: an expiration and an ordered list of conditions. */
export declare class Policy {
  private constructor()
  /**
   * Parses the policy DSL, its `{name}` placeholders filled from `params` as
   * values (never as policy text). Throws a {@link PolicySyntaxError} (a
   * missing or unused parameter included), or `InvalidArg` when `params` is
   * not a plain object or a Map of strings.
   */
  static parse(dsl: string, params?: PolicyParams | null): Policy
  /** A builder for a policy written in code. */
  static builder(): PolicyBuilder
  /** Parses policy JSON as the services accept it. Throws a {@link PolicyInvalidError}. */
  static fromJson(json: string): Policy
  /** Decodes a `policy` form field (base64 of policy JSON). Throws a {@link PolicyInvalidError}. */
  static fromBase64(policyB64: string): Policy
  /** The canonical DSL text. */
  toDsl(): string
  /** Compact policy JSON; a relative or missing expiration resolves against `now`. */
  toJson(options?: NowOptions | Date): string
  /**
   * Errors and warnings, as if the policy were signed at `now` with the
   * signer's `key` option (linted as the key condition the signer adds).
   */
  lint(options?: LintOptions | Date): Diagnostic[]
  /** Same expiration and conditions. */
  equals(other: Policy): boolean
  /** The canonical DSL text. */
  toString(): string
}

/**
 * Builds a {@link Policy} condition by condition; each method adds what the
 * equivalent DSL statement would, in call order, and returns the builder.
 * `build()` throws a {@link PolicyInvalidError} for input that makes no
 * sensible policy (min above max, an empty field name, …); an argument of the
 * wrong type throws `InvalidArg` at once.
 */
export declare class PolicyBuilder {
  /** `expires in …`, in whole seconds from signing. */
  expiresIn(seconds: number): this
  /** `expires at …`. */
  expiresAt(at: Date): this
  /** `key starts-with prefix`. */
  keyPrefix(prefix: string): this
  /** `key = key`. */
  key(key: string): this
  /** `content-type = contentType`. */
  contentType(contentType: string): this
  /** `content-type starts-with prefix`. */
  contentTypePrefix(prefix: string): this
  /** `content-type in [...]` (at least one). */
  contentTypes(types: Iterable<string>): this
  /** `content-length min..max` (bytes, inclusive). */
  size(min: number, max: number): this
  /** `name = value`: an exact form field. */
  field(name: string, value: string): this
  /** `x-oss-meta-NAME = value` (or `x-amz-meta-NAME`): the whole field name. */
  metadata(name: string, value: string): this
  /** The policy. Throws a {@link PolicyInvalidError}; the builder stays usable. */
  build(): Policy
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
  /**
   * An upload callback (OSS only): its `callback` and `x:` fields go into the
   * form, and into the policy unless `pinCallback` is false. `S3Signer`
   * refuses it with `SIGNING_INVALID`.
   */
  callback?: CallbackSpec | null
  /**
   * Pin the callback and its variables in the policy (default true). An
   * unpinned callback can be replaced by the browser.
   */
  pinCallback?: boolean | null
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

export interface S3SignerOptions {
  credentials: Credentials
  /** `us-east-1`, or the region name of an S3-compatible server (`garage`, `auto`, …). */
  region: string
  bucket: string
  /**
   * An S3-compatible endpoint: `http://127.0.0.1:3900`,
   * `https://<account>.r2.cloudflarestorage.com`, `minio.example.com`
   * (`https` without a scheme). Default: AWS S3.
   */
  endpoint?: string | null
  /**
   * `true`: `<endpoint>/<bucket>`; `false`: `<bucket>.<endpoint host>`.
   * Unset: path style where a virtual host cannot work (an IP or `localhost`
   * endpoint, a bucket with a dot over https).
   */
  pathStyle?: boolean | null
}

/** Signs S3 presigned POST forms (AWS SigV4) for one bucket: AWS S3, MinIO, Garage, R2, … */
export declare class S3Signer {
  /** Throws `SIGNING_INVALID` for an invalid region, bucket or endpoint. */
  constructor(options: S3SignerOptions)
  /** The form's action URL. */
  readonly url: string
  readonly bucket: string
  readonly region: string
  /** Whether the URL is path-style (`<endpoint>/<bucket>`). */
  readonly pathStyle: boolean
  /**
   * Signs `policy` (the signer adds `bucket` and the `x-amz-*` conditions).
   * Throws `SIGNING_INVALID` for `in` / `not-in` conditions or a callback
   * (OSS only), `POLICY_INVALID` for a policy S3 would refuse.
   */
  sign(policy: Policy, options?: SignOptions): SignedForm
  /** The JSON token for the browser, in the same shape as {@link OssSigner.token}. */
  token(policy: Policy, options?: SignOptions): string
  /** Signs an exact policy JSON text, byte for byte; only the `policy` and `x-amz-*` fields come back. */
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

export interface S3VerifierOptions {
  bucket: string
  /** `us-east-1`, `garage`, … */
  region: string
  keys: KeyStore
  /**
   * Refuse forms whose `x-amz-date` is older than this many seconds, as
   * Garage does (24 hours). Default: none; S3 goes by the policy's expiration.
   */
  maxDateAgeSeconds?: number | null
  /** Accept unsigned forms, as a bucket with a public-write policy does (default false). */
  allowAnonymous?: boolean | null
}

/**
 * Verifies S3 presigned POST forms posted to one bucket, as S3 would: every
 * field must be covered by a condition, `${filename}` is expanded before the
 * key is checked. Rejections carry S3's codes and messages (in `ossCode` and
 * `ossMessage`).
 */
export declare class S3Verifier {
  constructor(options: S3VerifierOptions)
  readonly bucket: string
  readonly region: string
  /** Accepts the submission, or throws a {@link RejectedError}. */
  verify(submission: Submission, options?: NowOptions): Accepted
  /** Every reason S3 would reject `submission` under `policy` (empty when it would pass), without checking a signature. */
  explain(policy: Policy, submission: Submission, options?: NowOptions): Rejection[]
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

/**
 * The S3 SigV4 signature (lower-case hex) of an encoded policy for `date`
 * (yyyymmdd) and `region`: byte for byte boto3's and the AWS SDK for
 * JavaScript's. Throws `SIGNING_INVALID`.
 */
export declare function signS3V4(secret: string, policyB64: string, date: string, region: string): string

// ---- upload callbacks (OSS) --------------------------------------------------

/** `callbackBodyType`: how OSS encodes the values it substitutes into the body. */
export type CallbackBodyType = 'application/x-www-form-urlencoded' | 'application/json'

/** Custom callback variables: `x:` names (lower case) to values, in order. */
export type CallbackVars = Readonly<Record<string, string>> | ReadonlyMap<string, string> | ReadonlyArray<readonly [name: string, value: string]>

export interface CallbackSpecOptions {
  /** Where OSS posts: one URL, or up to 5 tried in order. */
  url: string | readonly string[]
  /**
   * The body template: `${bucket}`, `${object}`, `${etag}`, `${size}`,
   * `${mimeType}`, `${imageInfo.width}`, …, and `${x:name}` custom variables.
   */
  body: string
  /** Default `application/x-www-form-urlencoded`. */
  bodyType?: CallbackBodyType | null
  /** `callbackHost`: the `Host` header of the callback request. */
  host?: string | null
  /** `callbackSNI`: send SNI to the callback host (default false). */
  sni?: boolean | null
  /** The values of the `${x:name}` variables the body uses (each one must be used). */
  vars?: CallbackVars | null
}

/** The form fields of a callback. */
export interface CallbackFields {
  /** The `callback` field: base64 of the compact callback JSON. */
  callback: string
  /** The `x:<name>` fields, in order. */
  vars: Record<string, string>
}

/** What a {@link CallbackSpec} says, as plain data. */
export interface CallbackSpecData {
  urls: string[]
  host: string | null
  body: string
  bodyType: CallbackBodyType
  sni: boolean
  vars: Record<string, string>
}

/** An OSS upload callback: where OSS posts after the upload, and what. */
export declare class CallbackSpec {
  /** Throws a {@link CallbackError} for anything OSS would refuse (and unused or undefined `x:` variables). */
  constructor(options: CallbackSpecOptions)
  /**
   * Decodes a `callback` form field (its structure validated). The `x:`
   * variables travel as separate fields: give them as `vars` to have the
   * whole callback validated (without, the spec has none).
   */
  static fromBase64(callback: string, vars?: CallbackVars | null): CallbackSpec
  /** Decodes callback JSON (the decoded `callback` field), as {@link CallbackSpec.fromBase64}. */
  static fromJson(json: string, vars?: CallbackVars | null): CallbackSpec
  /** The URLs, in the order OSS tries them. */
  readonly urls: string[]
  /** `callbackHost`, or `null`. */
  readonly host: string | null
  /** The body template. */
  readonly body: string
  readonly bodyType: CallbackBodyType
  readonly sni: boolean
  /** The `x:` variables, in order. */
  readonly vars: Record<string, string>
  /** A new spec with `vars` added, validated. */
  withVars(vars: CallbackVars): CallbackSpec
  /** Throws the first problem (a {@link CallbackError}); returns nothing when there is none. */
  validate(): void
  /** The compact callback JSON. */
  toJson(): string
  /** The `callback` field and the `x:` fields. */
  toFields(): CallbackFields
  toJSON(): CallbackSpecData
}

/** Request headers: as node gives them (`req.headers`), a `Map`, a fetch `Headers`, or `[name, value]` pairs. */
export type HeadersInput =
  | Readonly<Record<string, string | readonly string[] | number | undefined>>
  | ReadonlyMap<string, string>
  | Iterable<readonly [string, string]>

/** A request body: the exact bytes received (a string is taken as UTF-8). */
export type BodyInput = Uint8Array | ArrayBuffer | string

/** A callback request as the application server received it. */
export interface CallbackRequest {
  /** The HTTP method (default `POST`; not signed). */
  method?: string | null
  /**
   * The raw path OSS called, still percent-encoded. When `query` is
   * `undefined` and the path has a `?`, it is the raw request target
   * (`/cb?a=1`) and is split at the first `?`.
   */
  path: string
  /** The raw query without the `?`; `''` for a bare `?`, `null` for none. */
  query?: string | null
  headers: HeadersInput
  body: BodyInput
}

/** The PEM text of the public key at a URL (only ever asked for URLs the core trusts). */
export type KeySourceFunction = (url: string) => string | Uint8Array | PromiseLike<string | Uint8Array>

/** Where callback public keys come from: a function, or an object such as a {@link CachedKeySource}. */
export type KeySource = KeySourceFunction | { publicKeyPem(url: string): string | Uint8Array | PromiseLike<string | Uint8Array> }

export interface VerifyCallbackOptions {
  /** Default: {@link defaultKeySource} (fetched over HTTP, cached for the process). */
  keySource?: KeySource | null
  /**
   * Key URL prefixes trusted besides OSS's own (`http://gosspublic.alicdn.com/`,
   * `https://gosspublic.alicdn.com/`), e.g. `http://127.0.0.1:8080/` for a
   * local endpoint, or a {@link KeyUrlPolicy}. A prefix covers the URLs with
   * its scheme, host and port whose path is its own or below it at a `/`.
   */
  trustedKeyUrls?: KeyUrlPolicy | readonly string[] | string | null
}

/**
 * Which public-key URLs a callback may name, checked on the parsed URL
 * before anything is fetched. Dot segments, percent-encoded `.` `/` `\`,
 * userinfo, queries and fragments are refused.
 */
export declare class KeyUrlPolicy {
  /** OSS's key host plus `prefixes`; throws `CALLBACK_KEY_URL_PREFIX` for one that is not an http(s) URL. */
  constructor(prefixes?: readonly string[] | string | null)
  /** A policy that trusts no URL. */
  static none(): KeyUrlPolicy
  /** A copy that also trusts the URLs under `prefix` (throws `CALLBACK_KEY_URL_PREFIX`). */
  allow(prefix: string): KeyUrlPolicy
  /** The trusted prefixes, as a URL parser writes them. */
  readonly prefixes: string[]
  /** The canonical URL a key named `url` is fetched from (https for OSS's key host); throws `CALLBACK_UNTRUSTED_KEY_URL`. */
  check(url: string): string
  /** Whether `check(url)` succeeds. */
  isTrusted(url: string): boolean
}

/** A callback whose signature checked out. */
export interface VerifiedCallback {
  /** The canonical URL of the key that verified it (https for OSS's key host). */
  publicKeyUrl: string
}

/**
 * Checks that a callback request came from OSS (RSA signature over the
 * decoded path, the raw query and the body). The headers and the key URL are
 * checked before any key is fetched. Rejects with a {@link CallbackError}.
 */
export declare function verifyCallback(request: CallbackRequest, options?: VerifyCallbackOptions): Promise<VerifiedCallback>

/**
 * Public keys by (canonical) URL, kept for the life of the process, at most
 * 32 (the least recently used goes first); failures are not kept.
 */
export declare class CachedKeySource {
  /** Default source: {@link fetchPublicKeyPem}. */
  constructor(source?: KeySource | null)
  /** The PEM at `url`, fetched once (concurrent first calls share the fetch). */
  publicKeyPem(url: string): Promise<string>
  /** Forgets the key at `url`. */
  delete(url: string): boolean
  /** Forgets every key. */
  clear(): void
  /** How many keys are kept (or being fetched). */
  readonly size: number
}

/** The key source {@link verifyCallback} uses when none is given. */
export declare const defaultKeySource: CachedKeySource

export interface FetchPublicKeyOptions {
  /** For the whole exchange (default 5000). */
  timeoutMs?: number
}

/** GETs a PEM over http(s): status 200 only, no redirects, at most 64 KiB. */
export declare function fetchPublicKeyPem(url: string, options?: FetchPublicKeyOptions): Promise<string>

/** A callback request's signed parts. */
export interface CallbackSignInput {
  /** The raw path (or raw target with `?`, when `query` is `undefined`). */
  path: string
  query?: string | null
  body: BodyInput
}

/** The bytes OSS signs: the percent-decoded path, `?` and the raw query (when present), `\n`, the body. */
export declare function callbackStringToSign(request: CallbackSignInput): Buffer

/** The signature headers of a callback request. */
export interface CallbackHeaders {
  authorization: string
  /** base64 of the public key URL. */
  'x-oss-pub-key-url': string
}

/** Signs callback requests as OSS does (RSA PKCS#1 v1.5 over MD5): for tests and local endpoints. */
export declare class CallbackSigner {
  /** From a PEM private key, PKCS#8 or PKCS#1. Throws `CALLBACK_INVALID_PRIVATE_KEY`. */
  constructor(privateKeyPem: string)
  /** A signer with a new random RSA key (default 1024 bits). */
  static generate(bits?: number): CallbackSigner
  /** The public key as SubjectPublicKeyInfo PEM: what the key URL serves. */
  readonly publicKeyPem: string
  /** The private key as PKCS#8 PEM. */
  privateKeyPem(): string
  /** The `authorization` header value. */
  sign(request: CallbackSignInput): string
  /** Both signature headers, for a key served at `publicKeyUrl`. */
  headers(request: CallbackSignInput & { publicKeyUrl: string }): CallbackHeaders
  toJSON(): { publicKeyPem: string }
}

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
  | 'TIME_OUT_OF_RANGE'
  | CallbackErrorCode
  // A bug: a Rust panic inside the addon, thrown instead of ending the process.
  | 'Internal'
  // Arguments of the wrong type or shape: the binding's checks use `InvalidArg`,
  // napi-rs's generated conversions their own status names.
  | 'InvalidArg'
  | 'StringExpected'
  | 'NumberExpected'
  | 'BooleanExpected'
  | 'ObjectExpected'
  | 'ArrayExpected'
  | 'FunctionExpected'

/** The core's callback error codes. */
export type CallbackErrorCode =
  // building and decoding the `callback` field
  | 'CALLBACK_NO_URL'
  | 'CALLBACK_TOO_MANY_URLS'
  | 'CALLBACK_URL_SCHEME'
  | 'CALLBACK_URL_PORT'
  | 'CALLBACK_URL_IPV6'
  | 'CALLBACK_URL_INVALID'
  | 'CALLBACK_HOST_INVALID'
  | 'CALLBACK_EMPTY_BODY'
  | 'CALLBACK_BODY_SYNTAX'
  | 'CALLBACK_UNKNOWN_VARIABLE'
  | 'CALLBACK_VAR_NAME'
  | 'CALLBACK_DUPLICATE_VAR'
  | 'CALLBACK_UNDEFINED_VAR'
  | 'CALLBACK_UNUSED_VAR'
  | 'CALLBACK_NOT_BASE64'
  | 'CALLBACK_NOT_JSON'
  | 'CALLBACK_MISSING_FIELD'
  | 'CALLBACK_FIELD_TYPE'
  | 'CALLBACK_UNKNOWN_FIELD'
  | 'CALLBACK_BODY_TYPE'
  // verifying a callback request
  | 'CALLBACK_MISSING_AUTHORIZATION'
  | 'CALLBACK_MISSING_PUB_KEY_URL'
  | 'CALLBACK_HEADER_NOT_BASE64'
  | 'CALLBACK_UNTRUSTED_KEY_URL'
  | 'CALLBACK_KEY_URL_PREFIX'
  | 'CALLBACK_KEY_FETCH_FAILED'
  | 'CALLBACK_INVALID_PUBLIC_KEY'
  | 'CALLBACK_BAD_SIGNATURE'
  // signing (sender side)
  | 'CALLBACK_INVALID_PRIVATE_KEY'
  | 'CALLBACK_SIGNING_FAILED'

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

/**
 * `TIME_OUT_OF_RANGE`: `now`, an expiration or an `expires in` lifetime past
 * 9999-12-31 (policies write four-digit years), or a negative or too long
 * clock skew or maximum date age. The message names the input.
 */
export interface TimeRangeError extends PostPolicyError {
  code: 'TIME_OUT_OF_RANGE'
}

/** A callback that cannot be built, decoded, verified or signed: the core's `CALLBACK_*` code and message. */
export interface CallbackError extends PostPolicyError {
  code: CallbackErrorCode
}
