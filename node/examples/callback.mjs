// The callback example of node/README.md (kept identical by test/readme.test.mjs,
// which also starts this app on 127.0.0.1 and calls it).
// START readme-node-callback
import express from 'express'
import { CallbackSpec, Credentials, OssSigner, Policy } from 'postpolicy'
import { uploadToken, verifyCallback } from 'postpolicy/express'

const signer = new OssSigner({
  credentials: new Credentials('LTAI5tExampleKeyId', 'ExampleSecret'),
  region: 'cn-hangzhou',
  bucket: 'examplebucket',
})
const app = express()

// 1. The token names a callback: after storing the file, OSS POSTs the
//    rendered body to the URL, signed with its own key. The callback and its
//    `x:` variables are pinned in the policy, so the browser cannot swap them.
app.get('/upload-token', uploadToken({
  signer,
  policy: (req) => Policy.parse('key starts-with "user/{uid}/"\ncontent-length 1..10MiB', { uid: req.get('x-user-id') ?? 'anonymous' }),
  callback: (req) => new CallbackSpec({
    url: 'https://app.example.com/oss/callback',
    body: 'object=${object}&size=${size}&mimeType=${mimeType}&uid=${x:uid}',
    vars: { 'x:uid': req.get('x-user-id') ?? 'anonymous' },
  }),
}))

// 2. The receiver: only requests OSS signed get through (others: 400 JSON).
app.post('/oss/callback', verifyCallback(), (req, res) => {
  const { object, size, uid } = req.ossCallback.params
  res.json({ Status: 'OK', object, size: Number(size), uid }) // OSS relays this to the browser
})
// END readme-node-callback

export { app }
