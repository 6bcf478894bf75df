// The npm packages as a user gets them: scripts/test-packages.sh installs the
// packed tarballs (main + this machine's platform package) into a fresh app,
// copies this file there, and runs it with no Rust toolchain on the PATH.
'use strict'

const assert = require('node:assert/strict')
const { once } = require('node:events')
const fs = require('node:fs')
const path = require('node:path')
const { after, before, test } = require('node:test')

const version = process.env.POSTPOLICY_VERSION
const platformPackage = process.env.POSTPOLICY_PLATFORM_PACKAGE // e.g. postpolicy-linux-x64-gnu
const modules = path.join(__dirname, 'node_modules')

const { Credentials, OssSigner, Policy, Verifier } = require('postpolicy')
const { uploadToken } = require('postpolicy/express')

const secret = 'PackageTestSecretVn3Qk8ZtW2'
const credentials = new Credentials('LTAI5tPackage0001', secret)
const signer = new OssSigner({ credentials, region: 'cn-hangzhou', bucket: 'examplebucket' })
const verifier = new Verifier({ bucket: 'examplebucket', region: 'cn-hangzhou', keys: { LTAI5tPackage0001: secret } })

test('the environment names the version and platform package under test', () => {
  assert.match(version ?? '', /^\d+\.\d+\.\d+/)
  assert.match(platformPackage ?? '', /^postpolicy-[a-z0-9]+-[a-z0-9]+/)
})

test('require: the installed package, with the addon of the platform package', () => {
  assert.equal(require.resolve('postpolicy'), path.join(modules, 'postpolicy', 'index.js'))
  assert.equal(require('postpolicy/package.json').version, version)
  const platform = require(`${platformPackage}/package.json`)
  assert.equal(platform.version, version)
  assert.equal(require('postpolicy/package.json').optionalDependencies[platformPackage], version)
  // The one native module loaded is the platform package's: the main package
  // ships none, and nothing was built at install time.
  const addons = Object.keys(require.cache).filter((file) => file.endsWith('.node'))
  assert.deepEqual(addons, [path.join(modules, platformPackage, platform.main)])
  assert.deepEqual(
    fs.readdirSync(path.join(modules, 'postpolicy')).filter((f) => f.endsWith('.node')),
    [],
    'the main package holds no addon',
  )
})

test('installing runs nothing: no install-time scripts in either package', () => {
  for (const name of ['postpolicy', platformPackage]) {
    const scripts = require(`${name}/package.json`).scripts ?? {}
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) {
      assert.equal(scripts[hook], undefined, `${name} has a ${hook} script`)
    }
  }
})

test('package exports: the entry points, browser.js, and nothing else', () => {
  assert.equal(require.resolve('postpolicy/express'), path.join(modules, 'postpolicy', 'express.js'))
  assert.equal(require.resolve('postpolicy/browser.js'), path.join(modules, 'postpolicy', 'browser.js'))
  assert.throws(() => require.resolve('postpolicy/native.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' })
})

test('sign, then verify: accepted in the policy, rejected outside it', () => {
  const policy = Policy.parse('expires in 10m\nkey starts-with "user/42/"\ncontent-length 1..1MiB')
  const form = signer.sign(policy)
  assert.equal(form.url, 'https://examplebucket.oss-cn-hangzhou.aliyuncs.com')
  assert.equal(form.fields['x-oss-signature-version'], 'OSS4-HMAC-SHA256')
  const fields = (key) => [['key', key], ...Object.entries(form.fields)]

  const accepted = verifier.verify({ fields: fields('user/42/cat.png'), file: { filename: 'cat.png', size: 5_000 } })
  assert.equal(accepted.key, 'user/42/cat.png')

  assert.throws(() => verifier.verify({ fields: fields('user/43/cat.png'), file: { filename: 'cat.png', size: 5_000 } }), {
    code: 'REJECTED',
    serviceCode: 'AccessDenied',
  })
  const tampered = fields('user/42/cat.png').map(([k, v]) => [k, k === 'x-oss-signature' ? v.replace(/^./, (c) => (c === '0' ? '1' : '0')) : v])
  assert.throws(() => verifier.verify({ fields: tampered, file: { filename: 'cat.png', size: 5_000 } }), { code: 'REJECTED' })
})

let server
let base
before(async () => {
  const express = require('express')
  const app = express()
  app.get('/upload-token', uploadToken({ signer, policy: 'key starts-with "uploads/"\ncontent-length 1..10MiB' }))
  server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  base = `http://127.0.0.1:${server.address().port}`
})
after(() => server?.close())

test('an Express token endpoint answers a signed form that verifies', async () => {
  const response = await fetch(`${base}/upload-token`)
  assert.equal(response.status, 200)
  assert.equal(response.headers.get('cache-control'), 'no-store')
  const token = await response.json()
  assert.equal(token.url, 'https://examplebucket.oss-cn-hangzhou.aliyuncs.com')
  assert.match(token.fields['x-oss-signature'], /^[0-9a-f]{64}$/)
  assert.deepEqual(token.fields_to_fill, ['key'])
  const accepted = verifier.verify({
    fields: [['key', 'uploads/report.pdf'], ...Object.entries(token.fields)],
    file: { filename: 'report.pdf', size: 1024 },
  })
  assert.equal(accepted.key, 'uploads/report.pdf')
  assert.throws(
    () => verifier.verify({ fields: [['key', 'elsewhere/report.pdf'], ...Object.entries(token.fields)], file: { filename: 'report.pdf', size: 1024 } }),
    { code: 'REJECTED', serviceCode: 'AccessDenied' },
  )
})
