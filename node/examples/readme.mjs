// The example of node/README.md (kept identical by test/readme.test.mjs).
// START readme-node
import express from 'express'
import { Credentials, OssSigner, Policy, Verifier } from 'postpolicy'
import { uploadToken } from 'postpolicy/express'

// 1. The application server writes a policy and signs it. Request data (here
//    the signed-in user's id) is a parameter: a value, never DSL text.
const template = `
  expires in 10m
  key starts-with "user/{user}/"
  content-type in [image/png, image/jpeg]
  content-length 1..10MiB
  success_action_status = 201
`
const policy = Policy.parse(template, { user: '42' })
// The same policy, written in code:
const built = Policy.builder()
  .expiresIn(600)
  .keyPrefix('user/42/')
  .contentTypes(['image/png', 'image/jpeg'])
  .size(1, 10 * 1024 * 1024)
  .field('success_action_status', '201')
  .build()
if (!built.equals(policy)) throw new Error('not the same policy')
if (policy.lint().some((d) => d.severity === 'error')) throw new Error('bad policy')
const credentials = new Credentials('LTAI5tExampleKeyId', 'ExampleSecret') // or Credentials.fromEnv()
const signer = new OssSigner({ credentials, region: 'cn-hangzhou', bucket: 'examplebucket' })
const form = signer.sign(policy) // { url, fields, expiresAt, fieldsToFill }
console.log(form.url, form.fieldsToFill)

// ...or as an Express endpoint answering the JSON token, one prefix per user
// (uploadToken lints each policy it signs: an error-level finding gets 500):
const app = express()
app.get('/upload-token', uploadToken({
  signer,
  policy: (req) => Policy.parse(template, { user: req.get('x-user-id') ?? 'anonymous' }),
}))

// 2. The browser posts the fields, then the file (last).
const submission = {
  fields: [['key', 'avatars/cat.png'], ...Object.entries(form.fields), ['Content-Type', 'image/png']],
  file: { filename: 'cat.png', contentType: 'image/png', size: 5_000 },
}

// 3. OSS (or `postpolicy serve`, or your tests) checks it, and says why not.
const verifier = new Verifier({ bucket: 'examplebucket', region: 'cn-hangzhou', keys: { LTAI5tExampleKeyId: 'ExampleSecret' } })
try {
  verifier.verify(submission)
} catch (error) {
  console.log(`${error.code} ${error.serviceCode}: ${error.reason}`)
}
// END readme-node
export { app }
