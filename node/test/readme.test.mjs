// The README's example is the tested file's, and it runs.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

const here = new URL('../', import.meta.url)

function block(relative, name = 'readme-node') {
  const text = readFileSync(new URL(relative, here), 'utf8')
  const start = text.indexOf(`// START ${name}\n`)
  const end = text.indexOf(`// END ${name}\n`)
  assert.ok(start >= 0 && end > start, `${relative}: ${name} markers`)
  return text.slice(start, end)
}

test('the README blocks are the tested examples', () => {
  assert.equal(block('README.md'), block('examples/readme.mjs'))
  assert.equal(block('README.md', 'readme-node-callback'), block('examples/callback.mjs', 'readme-node-callback'))
})

test('the README example runs', () => {
  const out = execFileSync(process.execPath, ['examples/readme.mjs'], { cwd: here, encoding: 'utf8' }).split('\n')
  assert.equal(out[0], "https://examplebucket.oss-cn-hangzhou.aliyuncs.com [ 'key', 'Content-Type' ]")
  assert.equal(out[1], 'REJECTED AccessDenied: key `avatars/cat.png` does not start with `user/42/`')
})

test("the README example's upload-token endpoint keeps the user id a value", async () => {
  const { app } = await import('../examples/readme.mjs')
  const server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  try {
    for (const user of ['7', '"#', '42/"; expires at 2099-01-01T00:00:00Z #']) {
      const response = await fetch(`http://127.0.0.1:${server.address().port}/upload-token`, { headers: { 'x-user-id': user } })
      assert.equal(response.status, 200)
      const token = await response.json()
      const signed = JSON.parse(Buffer.from(token.fields.policy, 'base64').toString())
      assert.deepEqual(
        signed.conditions.filter((c) => c[0] === 'starts-with'),
        [['starts-with', '$key', `user/${user}/`]],
      )
      assert.equal(signed.expiration, token.expires_at)
      assert.ok(Date.parse(token.expires_at) <= Date.now() + 10 * 60_000)
    }
  } finally {
    server.close()
  }
})

test('the README callback example serves a token with the callback and refuses unsigned callbacks', async () => {
  const { app } = await import('../examples/callback.mjs')
  const server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const base = `http://127.0.0.1:${server.address().port}`
  try {
    const token = await (await fetch(`${base}/upload-token`, { headers: { 'x-user-id': '7' } })).json()
    assert.equal(token.fields['x:uid'], '7')
    const signed = JSON.parse(Buffer.from(token.fields.policy, 'base64').toString())
    assert.ok(signed.conditions.some((c) => c[0] === 'starts-with' && c[1] === '$key' && c[2] === 'user/7/'))
    const callback = JSON.parse(Buffer.from(token.fields.callback, 'base64').toString())
    assert.equal(callback.callbackUrl, 'https://app.example.com/oss/callback')
    const forged = await fetch(`${base}/oss/callback`, { method: 'POST', body: 'object=a&size=1&uid=7' })
    assert.equal(forged.status, 400)
    assert.equal((await forged.json()).code, 'CALLBACK_MISSING_PUB_KEY_URL')
  } finally {
    server.close()
  }
})
