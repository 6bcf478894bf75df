// Times, in one run, postpolicy's OssSigner.sign against ali-oss 6.x
// signPostObjectPolicyV4 (+ building the same fields) and a hand-written
// node:crypto version of the seed formula (V4 key cached per day), all signing
// the same policy and returning the same form fields. Prints median ns/op.
//
// Usage: node bench/sign.mjs [--rounds N] [--iterations N]
import { createHmac } from 'node:crypto'
import { createRequire } from 'node:module'

import { Credentials, OssSigner, Policy } from '../index.js'

const require = createRequire(import.meta.url)
let sink = 0
const OSS = require('ali-oss')

const args = process.argv.slice(2)
const arg = (name, fallback) => {
  const i = args.indexOf(name)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const ROUNDS = arg('--rounds', 15)
const ITERATIONS = arg('--iterations', 20000)

const accessKeyId = 'LTAI5tBenchExample0001'
const accessKeySecret = 'BenchSecretKZo149BD9GLPNiDIEmdQ7dyN'
const region = 'cn-hangzhou'
const bucket = 'examplebucket'
const now = new Date('2026-11-21T12:00:00Z')

// -- postpolicy ---------------------------------------------------------------
const signer = new OssSigner({ credentials: new Credentials(accessKeyId, accessKeySecret), region, bucket })
const policy = Policy.parse('expires in 1h\nkey starts-with "user/{user}/"\ncontent-length 1..10MiB\nx-oss-meta-owner = {user}', { user: '42' })
const postpolicy = () => signer.sign(policy, { now })
// Informational: the form's `fields` materialised (read), and the JSON token
// string an upload-token endpoint sends (what postpolicy/express uses).
const postpolicyFields = () => {
  const form = signer.sign(policy, { now })
  sink += form.fields['x-oss-signature'].length
  return form
}
const postpolicyToken = () => ({ url: signer.token(policy, { now }) })

// -- shared by the two JS versions: the same conditions, in the same order ---
function yyyymmddThhmmssZ(d) {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
}
function policyObject(date, credential, xOssDate) {
  return {
    expiration: new Date(date.getTime() + 3600_000).toISOString(),
    conditions: [
      { bucket },
      { 'x-oss-signature-version': 'OSS4-HMAC-SHA256' },
      { 'x-oss-credential': credential },
      { 'x-oss-date': xOssDate },
      ['starts-with', '$key', 'user/42/'],
      ['content-length-range', 1, 10 * 1024 * 1024],
      { 'x-oss-meta-owner': '42' },
    ],
  }
}
function form(policyB64, credential, xOssDate, signature, expiration) {
  return {
    url: `https://${bucket}.oss-${region}.aliyuncs.com`,
    fields: {
      'x-oss-meta-owner': '42',
      policy: policyB64,
      'x-oss-signature-version': 'OSS4-HMAC-SHA256',
      'x-oss-credential': credential,
      'x-oss-date': xOssDate,
      'x-oss-signature': signature,
    },
    expiresAt: expiration,
    fieldsToFill: ['key'],
  }
}

// -- ali-oss 6.x, as its PostObject V4 sample does it -------------------------
const client = new OSS({ accessKeyId, accessKeySecret, region: `oss-${region}`, bucket })
const aliOss = () => {
  const date = now
  const xOssDate = yyyymmddThhmmssZ(date)
  const credential = `${accessKeyId}/${xOssDate.slice(0, 8)}/${region}/oss/aliyun_v4_request`
  const p = policyObject(date, credential, xOssDate)
  const signature = client.signPostObjectPolicyV4(p, date)
  const policyB64 = Buffer.from(JSON.stringify(p), 'utf8').toString('base64')
  return form(policyB64, credential, xOssDate, signature, p.expiration)
}

// -- hand-written node:crypto, V4 key cached per day --------------------------
let cachedDay = ''
let cachedKey = null
function v4Key(day) {
  if (day !== cachedDay) {
    const hmac = (key, msg) => createHmac('sha256', key).update(msg).digest()
    cachedKey = hmac(hmac(hmac(hmac(`aliyun_v4${accessKeySecret}`, day), region), 'oss'), 'aliyun_v4_request')
    cachedDay = day
  }
  return cachedKey
}
const handWritten = () => {
  const date = now
  const xOssDate = yyyymmddThhmmssZ(date)
  const day = xOssDate.slice(0, 8)
  const credential = `${accessKeyId}/${day}/${region}/oss/aliyun_v4_request`
  const p = policyObject(date, credential, xOssDate)
  const policyB64 = Buffer.from(JSON.stringify(p), 'utf8').toString('base64')
  const signature = createHmac('sha256', v4Key(day)).update(policyB64).digest('hex')
  return form(policyB64, credential, xOssDate, signature, p.expiration)
}

// -- the three agree on the signed policy's meaning --------------------------
{
  const a = postpolicy()
  const b = aliOss()
  const c = handWritten()
  const decode = (f) => JSON.parse(Buffer.from(f.fields.policy, 'base64').toString('utf8'))
  if (JSON.stringify(decode(a)) !== JSON.stringify(decode(b)) || b.fields['x-oss-signature'] !== c.fields['x-oss-signature']) {
    console.error('the three versions do not sign the same policy:', decode(a), decode(b))
    process.exit(1)
  }
  if (a.fields['x-oss-signature'] !== b.fields['x-oss-signature']) {
    console.error('postpolicy and ali-oss signatures differ')
    process.exit(1)
  }
}

// -- timing: interleaved rounds, median of per-round ns/op -------------------
const subjects = [
  ['postpolicy OssSigner.sign', postpolicy],
  ['ali-oss signPostObjectPolicyV4 + fields', aliOss],
  ['node:crypto by hand (cached V4 key)', handWritten],
  ['(postpolicy OssSigner.sign, then reading form.fields)', postpolicyFields],
  ['(postpolicy OssSigner.token: the JSON token string)', postpolicyToken],
]
function round(fn) {
  const start = process.hrtime.bigint()
  for (let i = 0; i < ITERATIONS; i++) sink += fn().url.length
  return Number(process.hrtime.bigint() - start) / ITERATIONS
}
for (const [, fn] of subjects) round(fn) // warm up
const samples = subjects.map(() => [])
for (let r = 0; r < ROUNDS; r++) {
  subjects.forEach(([, fn], i) => {
    samples[i].push(round(fn))
  })
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}
const medians = samples.map(median)
const ours = medians[0]
console.log(`node ${process.version}, ${ROUNDS} rounds x ${ITERATIONS} iterations, median ns/op`)
console.log('| implementation | ns/op | vs postpolicy |')
console.log('| --- | ---: | ---: |')
subjects.forEach(([name], i) => {
  console.log(`| ${name} | ${Math.round(medians[i])} | ${(medians[i] / ours).toFixed(2)}x |`)
})
const vsAli = medians[1] / ours
const vsHand = medians[2] / ours
console.log(`postpolicy is ${vsAli.toFixed(1)}x faster than ali-oss V4 (goal >= 15x) and ${vsHand.toFixed(1)}x faster than node:crypto by hand (goal >= 2x)`)
console.log(`(with form.fields read: ${(medians[1] / medians[3]).toFixed(1)}x and ${(medians[2] / medians[3]).toFixed(1)}x)`)
if (sink === 0) console.log('')
