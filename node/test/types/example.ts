// A typed example that uses every export; `tsc --noEmit --strict` must pass.
import express from 'express'

import {
  type Accepted,
  CachedKeySource,
  type CallbackBodyType,
  type CallbackError,
  type CallbackErrorCode,
  type CallbackFields,
  type CallbackHeaders,
  type CallbackRequest,
  CallbackSigner,
  CallbackSpec,
  type CallbackSpecData,
  Credentials,
  callbackStringToSign,
  type Diagnostic,
  defaultKeySource,
  type ErrorCode,
  explain,
  fetchPublicKeyPem,
  type KeySource,
  type KeyStore,
  OssSigner,
  Policy,
  type PolicyBuilder,
  type PolicyInvalidError,
  type PolicyParams,
  type PolicySyntaxError,
  type RejectedError,
  type Rejection,
  S3Signer,
  S3Verifier,
  type SignedForm,
  type Submission,
  signS3V4,
  signV1,
  signV4,
  uploadToken as uploadTokenFromMain,
  type VerifiedCallback,
  Verifier,
  verifyCallback,
} from 'postpolicy'
import {
  type CallbackVerifiedRequest,
  type OssCallback,
  type PolicyLintRefusal,
  type UploadTokenLogger,
  type UploadTokenOptions,
  uploadToken,
  verifyCallback as verifyCallbackMiddleware,
} from 'postpolicy/express'

const now: Date = new Date('2026-11-21T12:00:00Z')

// Policy
const policy: Policy = Policy.parse('expires in 1h\nkey starts-with "user/42/"\ncontent-length 1..10MiB')
const same: Policy = Policy.fromJson(policy.toJson({ now }))
const decoded: Policy = Policy.fromBase64(Buffer.from(policy.toJson()).toString('base64'))
const dsl: string = policy.toDsl()
const equal: boolean = same.equals(decoded) && policy.toString() === dsl
const params: PolicyParams = { user: '42' }
const fromTemplate: Policy = Policy.parse('key starts-with "user/{user}/"', params)
const fromMap: Policy = Policy.parse('key starts-with "user/{user}/"', new Map([['user', '42']]))
const noParams: Policy = Policy.parse('key = "{{literal}}"', null)
const builder: PolicyBuilder = Policy.builder()
const built: Policy = builder
  .expiresIn(600)
  .expiresAt(now)
  .keyPrefix('user/42/')
  .key('user/42/a.png')
  .contentType('image/png')
  .contentTypePrefix('image/')
  .contentTypes(['image/png', 'image/jpeg'])
  .contentTypes(new Set(['image/webp']))
  .size(1, 10 * 1024 * 1024)
  .field('success_action_status', '201')
  .metadata('x-oss-meta-owner', '42')
  .build()
console.log(fromTemplate.equals(fromMap), noParams.toDsl(), built.toDsl())
const diagnostics: Diagnostic[] = policy.lint({ now }).concat(policy.lint(now))
for (const d of diagnostics) {
  const severity: 'error' | 'warning' = d.severity
  const index: number | null = d.conditionIndex
  const start: number | undefined = d.span?.start
  console.log(d.code, severity, index, start, d.message)
}

// Credentials
const credentials = new Credentials('LTAI5tExample', 'secret', null)
const fromEnv: Credentials | null = Credentials.fromEnv()
const id: string = credentials.accessKeyId
const token: string | null = (fromEnv ?? credentials).securityToken

// OssSigner
const signer = new OssSigner({ credentials, region: 'cn-hangzhou', bucket: 'examplebucket', endpoint: null, version: 'v4' })
const v1 = new OssSigner({ credentials, region: 'oss-cn-hangzhou', bucket: 'examplebucket', version: 'v1', cloudboxId: undefined })
const form: SignedForm = signer.sign(policy, { now, key: 'user/42/${filename}' })
const url: string = form.url
const fields: Record<string, string> = form.fields
const expiresAt: string = form.expiresAt
const fill: string[] = form.fieldsToFill
const tokenJson: string = v1.token(policy)
const exact: SignedForm = signer.signJson(policy.toJson({ now }), { now })
const info: string = `${signer.url} ${signer.bucket} ${signer.region} ${signer.version satisfies 'v1' | 'v4'}`

// Verifier and explain
const keys: KeyStore = { LTAI5tExample: 'secret' }
const lookup: KeyStore = (accessKeyId: string) => (accessKeyId === 'LTAI5tExample' ? 'secret' : null)
const verifier = new Verifier({ bucket: 'examplebucket', region: 'cn-hangzhou', keys, clockSkewSeconds: 900, allowAnonymous: false })
const byFunction = new Verifier({ bucket: 'examplebucket', region: 'cn-hangzhou', keys: lookup })
const submission: Submission = {
  fields: [['key', 'user/42/a.png'], ...Object.entries(form.fields)],
  file: { filename: 'a.png', contentType: 'image/png', size: 1234 },
  fieldsAfterFile: [],
}
try {
  const accepted: Accepted = verifier.verify(submission, { now })
  const redirect: string | null = accepted.redirect
  const meta: Record<string, string> = accepted.metadata
  console.log(accepted.key, accepted.status, redirect, meta, accepted.sizeLimit.max, accepted.contentType, accepted.accessKeyId)
} catch (error) {
  const rejected = error as RejectedError
  const code: 'REJECTED' = rejected.code
  console.log(code, rejected.status, rejected.serviceCode, rejected.serviceMessage, rejected.conditionIndex, rejected.reason)
}
byFunction.verify({ fields: new Map([['key', 'a']]), file: null })
const reasons: Rejection[] = explain(policy, submission, { now, bucket: verifier.bucket })
for (const r of reasons) console.log(r.status, r.serviceCode, r.serviceMessage, r.conditionIndex, r.reason, r.message)

// Errors
try {
  Policy.parse('key starts-with')
} catch (error) {
  const e = error as PolicySyntaxError
  const code: ErrorCode = e.code
  console.log(
    code,
    e.line,
    e.column,
    e.errors.map((x) => `${x.line}:${x.column} ${x.reason} ${x.expected} ${x.found} ${x.span.end}`),
  )
}
try {
  Policy.fromJson('{}')
} catch (error) {
  const e = error as PolicyInvalidError
  console.log(e.code, e.serviceCode, e.serviceMessage, e.reason)
}

// Low-level signatures
const s1: string = signV1('secret', 'cG9saWN5')
const s4: string = signV4('secret', 'cG9saWN5', '20261121', 'cn-hangzhou')
const s4box: string = signV4('secret', 'cG9saWN5', '20261121', 'cb-123', 'oss-cloudbox')

// Express
interface AuthedRequest extends express.Request {
  user: { id: string }
}
const app = express()
const perUser: UploadTokenOptions<express.Request, express.Response> = {
  signer,
  policy: (req) => Policy.parse('key starts-with "user/{id}/"', { id: (req as AuthedRequest).user.id }),
  key: async (req) => `user/${(req as AuthedRequest).user.id}/\${filename}`,
  logger: console,
}
const quietLogger: UploadTokenLogger = { warn: () => {}, error: () => {} }
const builtPerUser: UploadTokenOptions = {
  signer,
  policy: async (req) =>
    Policy.builder()
      .keyPrefix(`user/${req.headers['x-user-id'] ?? 'anonymous'}/`)
      .size(1, 1024)
      .build(),
  logger: quietLogger,
}
app.get('/built-token', uploadToken(builtPerUser))
app.get('/quiet-token', uploadToken({ signer, policy, logger: null }))
function onRefusal(body: PolicyLintRefusal): string {
  return `${body.code} ${body.message} ${body.diagnostics.map((d) => `${d.code}/${d.severity}/${d.message}/${d.conditionIndex}`).join()}`
}
console.log(onRefusal({ code: 'POLICY_LINT', message: 'm', diagnostics: [] }))
app.get('/upload-token', uploadToken(perUser))
app.get('/public-token', uploadTokenFromMain({ signer, policy: 'key starts-with "public/"' }))
app.get('/fixed-token', uploadToken({ signer, policy }))

// S3
const s3 = new S3Signer({ credentials, region: 'us-east-1', bucket: 'examplebucket', endpoint: null, pathStyle: null })
const garage = new S3Signer({ credentials, region: 'garage', bucket: 'photos', endpoint: 'http://127.0.0.1:3900', pathStyle: true })
const s3Form: SignedForm = s3.sign(policy, { now, key: 'user/42/${filename}' })
const s3Token: string = garage.token(policy)
const s3Exact: SignedForm = s3.signJson(policy.toJson({ now }), { now })
const s3Info: string = `${s3.url} ${s3.bucket} ${s3.region} ${String(s3.pathStyle satisfies boolean)}`
const s3Verifier = new S3Verifier({ bucket: 'examplebucket', region: 'us-east-1', keys, maxDateAgeSeconds: 86_400, allowAnonymous: false })
const s3Accepted: Accepted = s3Verifier.verify({ fields: Object.entries(s3Form.fields), file: { filename: 'a.png', size: 1 } }, { now })
const s3Reasons: Rejection[] = s3Verifier.explain(policy, submission, { now })
const s3Sig: string = signS3V4('secret', 'cG9saWN5', '20261121', 'us-east-1')
console.log(s3Token, s3Exact, s3Info, s3Accepted.key, s3Reasons.length, s3Verifier.bucket, s3Verifier.region, s3Sig)

// Upload callbacks: a spec in the signed form
const bodyType: CallbackBodyType = 'application/x-www-form-urlencoded'
const callback = new CallbackSpec({
  url: ['https://app.example.com/oss/callback', 'https://backup.example.com/cb'],
  body: 'object=${object}&size=${size}&uid=${x:uid}',
  bodyType,
  host: null,
  sni: false,
  vars: { 'x:uid': '42' },
})
const withCallback: SignedForm = signer.sign(policy, { now, callback, pinCallback: true })
const unpinned: string = signer.token(policy, { callback, pinCallback: false })
const callbackFields: CallbackFields = callback.toFields()
const decodedSpec: CallbackSpec = CallbackSpec.fromBase64(callbackFields.callback).withVars(new Map([['x:uid', '42']]))
const fromJson: CallbackSpec = CallbackSpec.fromJson(callback.toJson(), [['x:uid', '42']])
const fromField: CallbackSpec = CallbackSpec.fromBase64(callbackFields.callback, callbackFields.vars)
const specData: CallbackSpecData = decodedSpec.toJSON()
const specParts: string = `${callback.urls.join()} ${callback.host ?? ''} ${callback.body} ${callback.bodyType} ${String(callback.sni)} ${callback.vars['x:uid']}`
callback.validate()
console.log(withCallback.fields.callback, unpinned, fromJson.urls, fromField.vars, specData.vars, specParts)

// Upload callbacks: verifying and sending them
const callbackSigner: CallbackSigner = new CallbackSigner(CallbackSigner.generate(1024).privateKeyPem())
const callbackHeaders: CallbackHeaders = callbackSigner.headers({
  path: '/oss/callback',
  query: null,
  body: 'size=5',
  publicKeyUrl: 'http://127.0.0.1:8080/key.pem',
})
const authorization: string = callbackSigner.sign({ path: '/oss/callback?a=1', body: new Uint8Array([1, 2]) })
const signedBytes: Buffer = callbackStringToSign({ path: '/oss/callback', query: 'a=1', body: 'size=5' })
const request: CallbackRequest = { method: 'POST', path: '/oss/callback', query: null, headers: { ...callbackHeaders }, body: Buffer.from('size=5') }
const stubSource: KeySource = (keyUrl: string) =>
  keyUrl.startsWith('http://127.0.0.1:8080/') ? callbackSigner.publicKeyPem : Promise.reject(new Error('unknown key'))
const cached = new CachedKeySource(stubSource)
const objectSource: KeySource = { publicKeyPem: (keyUrl: string) => fetchPublicKeyPem(keyUrl, { timeoutMs: 2000 }) }
verifyCallback(request, { keySource: cached, trustedKeyUrls: ['http://127.0.0.1:8080/'] })
  .then((verified: VerifiedCallback) => console.log(verified.publicKeyUrl, cached.size, defaultKeySource.size))
  .catch((error: unknown) => {
    const e = error as CallbackError
    const code: CallbackErrorCode = e.code
    const anyCode: ErrorCode = code
    console.log(anyCode, e.message)
  })
cached.delete('http://127.0.0.1:8080/key.pem')
cached.clear()
console.log(authorization, signedBytes.length, objectSource, callbackSigner.toJSON().publicKeyPem)

// Express: a token with a per-user callback, and the callback receiver
app.get(
  '/callback-token',
  uploadToken({
    signer,
    policy,
    callback: (req) =>
      new CallbackSpec({ url: 'https://app.example.com/oss/callback', body: 'uid=${x:uid}', vars: { 'x:uid': (req as AuthedRequest).user.id } }),
    pinCallback: true,
  }),
)
app.get('/s3-token', uploadToken({ signer: s3, policy }))
app.post(
  '/oss/callback',
  verifyCallbackMiddleware({ trustedKeyUrls: ['http://127.0.0.1:8080/'], keySource: cached, publicPath: (req) => `/api${req.originalUrl}`, limit: 64 * 1024 }),
  (req: express.Request, res: express.Response) => {
    const verified: OssCallback | undefined = req.ossCallback
    res.json({ Status: 'OK', object: verified?.params?.object, bytes: verified?.body.length, key: verified?.publicKeyUrl })
  },
)
app.post('/plain/callback', verifyCallbackMiddleware(), (req, res) => {
  const typed = req as unknown as CallbackVerifiedRequest
  res.json({ size: typed.ossCallback.body.byteLength })
})
app.post('/proxied/callback', verifyCallbackMiddleware({ publicPath: '/public/callback' }))

console.log(same, equal, id, token, url, fields, expiresAt, fill, tokenJson, exact, info, s1, s4, s4box)
