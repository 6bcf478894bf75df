// Every case of tests/conformance/oss-verify.json through the JS API, one
// subtest each: the verifier must answer as OSS does (the same checks as
// crates/postpolicy/tests/conformance.rs). Cases listed in tests/DISPUTED.md
// are skipped, and each skip is printed.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { Verifier } from '../index.js'
import { disputed, readJson } from './helpers.mjs'

const cases = readJson('tests/conformance/oss-verify.json').cases
const skip = disputed()

function submission(c) {
  return {
    fields: c.fields,
    fieldsAfterFile: c.fields_after_file,
    file: c.file === null ? null : { filename: c.file.filename, contentType: c.file.content_type ?? null, size: c.file.size ?? null },
  }
}

test('the full case set is present', () => {
  assert.ok(cases.length >= 60)
})

for (const c of cases) {
  const id = c.id
  if (skip.includes(id)) {
    console.log(`SKIP ${id} (listed in tests/DISPUTED.md)`)
    test(`case ${id}`, { skip: 'listed in tests/DISPUTED.md' }, () => {})
    continue
  }
  test(`case ${id}`, () => {
    const verifier = new Verifier({ bucket: c.bucket, region: c.region, keys: c.keys })
    const now = new Date(c.now)
    const expect = c.expect
    let accepted = null
    let rejected = null
    try {
      accepted = verifier.verify(submission(c), { now })
    } catch (error) {
      if (error?.code !== 'REJECTED') throw error
      rejected = error
    }
    if (expect.accepted) {
      assert.equal(rejected, null, `${id}: rejected: ${rejected?.message}`)
      assert.equal(accepted.key, expect.key, `${id}: key`)
      assert.equal(accepted.status, expect.status, `${id}: status`)
    } else {
      assert.equal(accepted, null, `${id}: accepted as ${accepted?.key}, expected a rejection`)
      assert.ok(rejected instanceof Error)
      assert.equal(rejected.status, expect.status, `${id}: status`)
      assert.equal(rejected.serviceCode, expect.code, `${id}: code`)
      if (typeof expect.message === 'string') {
        assert.equal(rejected.serviceMessage, expect.message, `${id}: message`)
      }
      assert.equal(rejected.conditionIndex, expect.condition_index ?? null, `${id}: condition_index`)
      assert.ok(rejected.reason.length > 0, `${id}: empty reason`)
    }
  })
}
