// The README's example is the tested file's, and it runs.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

const here = new URL('../', import.meta.url)

function block(relative) {
  const text = readFileSync(new URL(relative, here), 'utf8')
  const start = text.indexOf('// START readme-node')
  const end = text.indexOf('// END readme-node')
  assert.ok(start >= 0 && end > start, `${relative}: markers`)
  return text.slice(start, end)
}

test('the README block is the tested example', () => {
  assert.equal(block('README.md'), block('examples/readme.mjs'))
})

test('the README example runs', () => {
  const out = execFileSync(process.execPath, ['examples/readme.mjs'], { cwd: here, encoding: 'utf8' }).split('\n')
  assert.equal(out[0], "https://examplebucket.oss-cn-hangzhou.aliyuncs.com [ 'key', 'Content-Type' ]")
  assert.equal(out[1], 'REJECTED AccessDenied: key `avatars/cat.png` does not start with `user/42/`')
})
