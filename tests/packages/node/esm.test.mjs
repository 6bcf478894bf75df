// `import` of the installed package (see package.test.cjs): the ESM view of
// the CommonJS entry points carries every name.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'

import * as postpolicy from 'postpolicy'
import { Credentials, OssSigner, Policy, Verifier } from 'postpolicy'
import * as express from 'postpolicy/express'
import { uploadToken } from 'postpolicy/express'

const require = createRequire(import.meta.url)

test('import: named exports are the CommonJS ones', () => {
  const cjs = require('postpolicy')
  assert.deepEqual(
    Object.keys(postpolicy)
      .filter((k) => k !== 'default')
      .sort(),
    Object.keys(cjs).sort(),
  )
  assert.equal(Policy, cjs.Policy)
  assert.equal(OssSigner, cjs.OssSigner)
  assert.equal(uploadToken, require('postpolicy/express').uploadToken)
  assert.equal(typeof express.verifyCallback, 'function')
})

test('import: sign and verify', () => {
  const credentials = new Credentials('LTAI5tPackage0002', 'EsmSecret')
  const signer = new OssSigner({ credentials, region: 'cn-hangzhou', bucket: 'examplebucket' })
  const form = signer.sign(Policy.parse('key starts-with "esm/"'), { key: 'esm/${filename}' })
  const verifier = new Verifier({ bucket: 'examplebucket', region: 'cn-hangzhou', keys: { LTAI5tPackage0002: 'EsmSecret' } })
  const accepted = verifier.verify({ fields: Object.entries(form.fields), file: { filename: 'a.txt', size: 3 } })
  assert.equal(accepted.key, 'esm/a.txt')
})
