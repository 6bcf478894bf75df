// The DSL conformance cases of tests/dsl (see its README), through the Node
// API: every ok/NAME.policy prints canonical/NAME.policy, every err/NAME.policy
// reports err/NAME.err; a NAME.params file beside a case gives its parameters.
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { describe, test } from 'node:test'

import { Policy } from '../index.js'

const cases = new URL('../../tests/dsl/', import.meta.url)

function names(folder) {
  return readdirSync(new URL(`${folder}/`, cases))
    .filter((file) => file.endsWith('.policy'))
    .map((file) => file.slice(0, -'.policy'.length))
    .sort()
}

const read = (path) => readFileSync(new URL(path, cases), 'utf8')

function params(folder, name) {
  const path = new URL(`${folder}/${name}.params`, cases)
  if (!existsSync(path)) return undefined
  const loaded = JSON.parse(readFileSync(path, 'utf8'))
  assert.ok(
    Object.values(loaded).every((v) => typeof v === 'string'),
    `${folder}/${name}.params: strings only`,
  )
  return loaded
}

test('there are cases, parameterised ones too', () => {
  assert.ok(names('ok').length >= 40 && names('err').length >= 40)
  const withParams = ['ok', 'err'].flatMap((f) => readdirSync(new URL(`${f}/`, cases)).filter((n) => n.endsWith('.params')))
  assert.ok(withParams.length >= 10)
})

describe('ok', () => {
  for (const name of names('ok')) {
    test(name, () => {
      const policy = Policy.parse(read(`ok/${name}.policy`), params('ok', name))
      const canonical = read(`canonical/${name}.policy`)
      assert.equal(policy.toDsl(), canonical)
      assert.ok(Policy.parse(canonical).equals(policy))
    })
  }
})

describe('err', () => {
  for (const name of names('err')) {
    test(name, () => {
      assert.throws(
        () => Policy.parse(read(`err/${name}.policy`), params('err', name)),
        (error) => {
          assert.equal(error.code, 'POLICY_SYNTAX')
          const reported = error.errors.map((e) => `${e.line}:${e.column}: ${e.reason}\n`).join('')
          assert.equal(reported, read(`err/${name}.err`))
          return true
        },
      )
    })
  }
})
