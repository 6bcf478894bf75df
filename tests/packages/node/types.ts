// `tsc --strict` against the installed package's types (see package.test.cjs);
// scripts/test-packages.sh compiles node/test/types/example.ts beside it.
import express from 'express'

import { type Accepted, Credentials, OssSigner, Policy, type SignedForm, Verifier } from 'postpolicy'
import { type UploadTokenOptions, uploadToken } from 'postpolicy/express'

const signer = new OssSigner({ credentials: new Credentials('LTAI5tTypes', 'secret'), region: 'cn-hangzhou', bucket: 'examplebucket' })
const policy: Policy = Policy.parse('key starts-with "typed/"')
const form: SignedForm = signer.sign(policy, { key: 'typed/${filename}' })
const verifier = new Verifier({ bucket: 'examplebucket', region: 'cn-hangzhou', keys: { LTAI5tTypes: 'secret' } })
const accepted: Accepted = verifier.verify({ fields: Object.entries(form.fields), file: { filename: 'a.txt', size: 1 } })
const options: UploadTokenOptions<express.Request, express.Response> = { signer, policy }
express().get('/upload-token', uploadToken(options))
const key: string = accepted.key
console.log(key)
