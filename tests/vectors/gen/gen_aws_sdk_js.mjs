// S3 presigned POST vectors from @aws-sdk/s3-presigned-post's createPresignedPost.
//
// Reads cases.json (beside this file), freezes Date.now() at each case's
// `time`, and prints one vector per case as JSON on stdout. Nothing goes over
// the network: credentials and region are given, and the endpoint is resolved
// locally from the SDK's rules.
//
//     node gen_aws_sdk_js.mjs > aws-sdk-js.json   (run where the SDK is installed)

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(join(process.cwd(), 'package.json'))
const { S3Client } = require('@aws-sdk/client-s3')
const { createPresignedPost } = require('@aws-sdk/s3-presigned-post')
const sdkVersion = require('@aws-sdk/s3-presigned-post/package.json').version

const here = dirname(fileURLToPath(import.meta.url))
const { cases } = JSON.parse(readFileSync(join(here, 'cases.json'), 'utf8'))

const realNow = Date.now
const vectors = []
for (const [i, c] of cases.entries()) {
  const client = new S3Client({
    region: c.region,
    credentials: {
      accessKeyId: c.access_key_id,
      secretAccessKey: c.secret_access_key,
      ...(c.session_token ? { sessionToken: c.session_token } : {}),
    },
    ...(c.endpoint_url ? { endpoint: c.endpoint_url, forcePathStyle: true } : {}),
  })
  Date.now = () => Date.parse(c.time)
  let post
  try {
    post = await createPresignedPost(client, {
      Bucket: c.bucket,
      Key: c.key,
      Fields: { ...c.fields },
      Conditions: [...c.conditions],
      Expires: c.expires_in,
    })
  } finally {
    Date.now = realNow
  }
  const policyB64 = post.fields.Policy
  vectors.push({
    id: `s3-aws-sdk-js-${String(i + 1).padStart(2, '0')}-${c.name}`,
    sdk: `@aws-sdk/s3-presigned-post ${sdkVersion}`,
    inputs: {
      access_key_id: c.access_key_id,
      secret_access_key: c.secret_access_key,
      session_token: c.session_token ?? null,
      region: c.region,
      bucket: c.bucket,
      endpoint_url: c.endpoint_url ?? null,
      time: c.time,
      expires_in: c.expires_in,
      key: c.key,
      fields: c.fields,
      conditions: c.conditions,
    },
    policy_json: Buffer.from(policyB64, 'base64').toString('utf8'),
    policy_b64: policyB64,
    scope_date: c.time.slice(0, 10).replaceAll('-', ''),
    outputs: {
      url: post.url,
      fields: post.fields,
      signature: post.fields['X-Amz-Signature'],
    },
  })
}
process.stdout.write(`${JSON.stringify(vectors, null, 2)}\n`)
