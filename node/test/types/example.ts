// A typed example that uses every export; `tsc --noEmit --strict` must pass.
import express from 'express'

import {
  type Accepted,
  type Diagnostic,
  type ErrorCode,
  type KeyStore,
  type PolicyInvalidError,
  type PolicySyntaxError,
  type RejectedError,
  type Rejection,
  type SignedForm,
  type Submission,
  Credentials,
  explain,
  OssSigner,
  Policy,
  signV1,
  signV4,
  uploadToken as uploadTokenFromMain,
  Verifier,
} from 'postpolicy'
import { type UploadTokenOptions, uploadToken } from 'postpolicy/express'

const now: Date = new Date('2026-11-21T12:00:00Z')

// Policy
const policy: Policy = Policy.parse('expires in 1h\nkey starts-with "user/42/"\ncontent-length 1..10MiB')
const same: Policy = Policy.fromJson(policy.toJson({ now }))
const decoded: Policy = Policy.fromBase64(Buffer.from(policy.toJson()).toString('base64'))
const dsl: string = policy.toDsl()
const equal: boolean = same.equals(decoded) && policy.toString() === dsl
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
  console.log(code, rejected.status, rejected.ossCode, rejected.ossMessage, rejected.conditionIndex, rejected.reason)
}
byFunction.verify({ fields: new Map([['key', 'a']]), file: null })
const reasons: Rejection[] = explain(policy, submission, { now, bucket: verifier.bucket })
for (const r of reasons) console.log(r.status, r.ossCode, r.ossMessage, r.conditionIndex, r.reason, r.message)

// Errors
try {
  Policy.parse('key starts-with')
} catch (error) {
  const e = error as PolicySyntaxError
  const code: ErrorCode = e.code
  console.log(code, e.line, e.column, e.errors.map((x) => `${x.line}:${x.column} ${x.reason} ${x.expected} ${x.found} ${x.span.end}`))
}
try {
  Policy.fromJson('{}')
} catch (error) {
  const e = error as PolicyInvalidError
  console.log(e.code, e.ossCode, e.ossMessage, e.reason)
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
  policy: (req) => Policy.parse(`key starts-with "user/${(req as AuthedRequest).user.id}/"`),
  key: async (req) => `user/${(req as AuthedRequest).user.id}/\${filename}`,
}
app.get('/upload-token', uploadToken(perUser))
app.get('/public-token', uploadTokenFromMain({ signer, policy: 'key starts-with "public/"' }))
app.get('/fixed-token', uploadToken({ signer, policy }))

console.log(same, equal, id, token, url, fields, expiresAt, fill, tokenJson, exact, info, s1, s4, s4box)
