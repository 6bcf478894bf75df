// Nothing a caller passes crashes the process (issue 12, item 6), through the
// Node binding. The calls that used to abort the process (exit 134, which no
// try/catch can stop) run in a child process: it must print the typed error
// and exit 0.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

const INDEX = fileURLToPath(new URL('../../../node/index.js', import.meta.url))

/**
 * Runs `body` (JS using `pp`, the package, and `v4Form()`, a V4 submission)
 * in a child node; its last expression's thrown error is printed as JSON
 * `{ code, message }`. Returns the exit status and what was printed.
 */
function inChild(body) {
  const script = `
    const pp = require(${JSON.stringify(INDEX)})
    const keys = { LTAI5tSecurityKeyId: 'SecuritySecretKZo149BD9GLPNiDIEmdQ7' }
    const v4Form = () => {
      const signer = new pp.OssSigner({ credentials: new pp.Credentials('LTAI5tSecurityKeyId', 'SecuritySecretKZo149BD9GLPNiDIEmdQ7'), region: 'cn-hangzhou', bucket: 'examplebucket', version: 'v4' })
      const form = signer.sign(pp.Policy.parse('key starts-with "u/"'), { now: new Date('2026-11-21T12:00:00Z') })
      return { fields: [['key', 'u/a.txt'], ...Object.entries(form.fields)], file: { filename: 'a.txt', size: 1 } }
    }
    let outcome
    try {
      outcome = { ok: (() => { ${body} })() }
    } catch (error) {
      outcome = { code: error.code, message: error.message, isError: error instanceof Error }
    }
    console.log(JSON.stringify(outcome))
  `
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, POSTPOLICY_TEST_HOOKS: '1' } })
  const line = child.stdout.trim().split('\n').at(-1) ?? ''
  return { status: child.status, signal: child.signal, outcome: line ? JSON.parse(line) : null, stderr: child.stderr }
}

function assertTyped(result, code, mentions) {
  assert.equal(result.signal, null, `killed by ${result.signal}: ${result.stderr}`)
  assert.equal(result.status, 0, `exit ${result.status}: ${result.stderr}`)
  assert.equal(result.outcome?.code, code, JSON.stringify(result.outcome))
  assert.ok(result.outcome.isError)
  assert.ok(result.outcome.message.includes(mentions), result.outcome.message)
  assert.doesNotMatch(result.outcome.message, /\d{5,}-\d\d-\d\d/, 'no year past 9999')
}

describe('out-of-range input throws typed errors and the process lives on', () => {
  test('clockSkewSeconds: Number.MAX_SAFE_INTEGER, then verifying a V4 form', () => {
    const result = inChild(`
      const verifier = new pp.Verifier({ bucket: 'examplebucket', region: 'cn-hangzhou', keys, clockSkewSeconds: Number.MAX_SAFE_INTEGER })
      return verifier.verify(v4Form(), { now: new Date('2026-11-21T12:00:00Z') })
    `)
    assertTyped(result, 'TIME_OUT_OF_RANGE', 'the clock skew')
  })

  test('verify at now = new Date(8210266876799000)', () => {
    const result = inChild(`
      const verifier = new pp.Verifier({ bucket: 'examplebucket', region: 'cn-hangzhou', keys })
      return verifier.verify(v4Form(), { now: new Date(8210266876799000) })
    `)
    assertTyped(result, 'TIME_OUT_OF_RANGE', '`now`')
  })

  test('explain and lint at now = new Date(8210266876799000)', () => {
    assertTyped(
      inChild(`return pp.explain(pp.Policy.parse('key starts-with "u/"'), v4Form(), { now: new Date(8210266876799000) })`),
      'TIME_OUT_OF_RANGE',
      '`now`',
    )
    assertTyped(inChild(`return pp.Policy.parse('expires at 2030-01-01T00:00:00Z').lint({ now: new Date(8210266876799000) })`), 'TIME_OUT_OF_RANGE', '`now`')
  })

  test('S3 maxDateAgeSeconds: Number.MAX_SAFE_INTEGER', () => {
    const result = inChild(`return new pp.S3Verifier({ bucket: 'examplebucket', region: 'us-east-1', keys, maxDateAgeSeconds: Number.MAX_SAFE_INTEGER })`)
    assertTyped(result, 'TIME_OUT_OF_RANGE', 'the maximum date age')
  })

  test("Policy.parse('expires in 99999999999d').toJson() fails instead of printing year 2142", () => {
    const result = inChild(`return pp.Policy.parse('expires in 99999999999d').toJson()`)
    assertTyped(result, 'TIME_OUT_OF_RANGE', 'expires in 99999999999d')
  })

  test('signing a lifetime past 9999 fails', () => {
    const result = inChild(`
      const signer = new pp.OssSigner({ credentials: new pp.Credentials('id', 'secret'), region: 'cn-hangzhou', bucket: 'examplebucket' })
      return signer.sign(pp.Policy.parse('expires in 99999999999d'))
    `)
    assertTyped(result, 'TIME_OUT_OF_RANGE', '99999999999d')
  })

  test('signing at now = new Date(8210266876799000) fails', () => {
    const result = inChild(`
      const signer = new pp.OssSigner({ credentials: new pp.Credentials('id', 'secret'), region: 'cn-hangzhou', bucket: 'examplebucket' })
      return signer.sign(pp.Policy.parse('key starts-with "u/"'), { now: new Date(8210266876799000) })
    `)
    assertTyped(result, 'TIME_OUT_OF_RANGE', '`now`')
  })

  test('a Rust panic inside the addon is thrown as code Internal', () => {
    const result = inChild(`return pp.__native.__testPanic('boom from the test')`)
    assertTyped(result, 'Internal', 'boom from the test')
  })

  test('the same calls in this process throw and execution continues', () => {
    const pp = inProcess()
    const keys = { id: 'secret' }
    assert.throws(() => new pp.Verifier({ bucket: 'examplebucket', region: 'cn-hangzhou', keys, clockSkewSeconds: Number.MAX_SAFE_INTEGER }), {
      code: 'TIME_OUT_OF_RANGE',
    })
    assert.throws(() => pp.Policy.parse('expires in 99999999999d').toJson(), { code: 'TIME_OUT_OF_RANGE' })
    assert.throws(
      () => new pp.Verifier({ bucket: 'examplebucket', region: 'cn-hangzhou', keys }).verify({ fields: [], file: null }, { now: new Date(8210266876799000) }),
      { code: 'TIME_OUT_OF_RANGE' },
    )
    assert.ok(true, 'still running')
  })
})

function inProcess() {
  return createRequire(import.meta.url)(INDEX)
}

import { createRequire } from 'node:module'
