// postpolicy browser helper: upload a file with a signed form token.
//
//   import { uploadFile } from 'postpolicy/browser.js';
//   const token = await (await fetch('/upload-token')).json();
//   const { key, etag } = await uploadFile(token, input.files[0], {
//     onProgress: ({ percent }) => (bar.value = percent),
//   });
//
// The token is the JSON a postpolicy signer produces (`SignedForm` serialised):
// { url, fields: { name: value, ... }, expires_at, fields_to_fill: [names],
//   rules: [...] }. The rules are the signed policy's conditions a page can
// check on its own (key, size, content type), each with the verifier's own
// wording as templates: `checkFile` fills them in, and `uploadFile` refuses a
// file that would be rejected before a byte is sent. The service still checks
// everything; this only saves the user the wait.
// No dependencies; runs in any browser with XMLHttpRequest and FormData.

/** Content types for common extensions, used when the browser gives none. */
export const CONTENT_TYPES = {
  avif: 'image/avif',
  bmp: 'image/bmp',
  gif: 'image/gif',
  heic: 'image/heic',
  ico: 'image/vnd.microsoft.icon',
  jpeg: 'image/jpeg',
  jpg: 'image/jpeg',
  png: 'image/png',
  svg: 'image/svg+xml',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  webp: 'image/webp',
  aac: 'audio/aac',
  flac: 'audio/flac',
  m4a: 'audio/mp4',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  opus: 'audio/opus',
  wav: 'audio/wav',
  weba: 'audio/webm',
  avi: 'video/x-msvideo',
  m4v: 'video/mp4',
  mkv: 'video/x-matroska',
  mov: 'video/quicktime',
  mp4: 'video/mp4',
  mpeg: 'video/mpeg',
  webm: 'video/webm',
  csv: 'text/csv',
  htm: 'text/html',
  html: 'text/html',
  md: 'text/markdown',
  txt: 'text/plain',
  xml: 'application/xml',
  json: 'application/json',
  pdf: 'application/pdf',
  rtf: 'application/rtf',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  ppt: 'application/vnd.ms-powerpoint',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odt: 'application/vnd.oasis.opendocument.text',
  epub: 'application/epub+zip',
  '7z': 'application/x-7z-compressed',
  bz2: 'application/x-bzip2',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  zip: 'application/zip',
  wasm: 'application/wasm',
  js: 'text/javascript',
  mjs: 'text/javascript',
  css: 'text/css',
  woff: 'font/woff',
  woff2: 'font/woff2',
  ttf: 'font/ttf',
  otf: 'font/otf',
}

/** The content type for `name` from its extension, or undefined. */
export function contentTypeFor(name) {
  const dot = String(name || '').lastIndexOf('.')
  if (dot < 0) return undefined
  return CONTENT_TYPES[name.slice(dot + 1).toLowerCase()]
}

/** Reads one element's text from an XML document (namespace-agnostic). */
function xmlText(doc, tag) {
  if (!doc) return undefined
  const el = doc.getElementsByTagName(tag)[0]
  return el ? el.textContent : undefined
}

function parseXml(text) {
  if (!text || typeof DOMParser === 'undefined') return null
  try {
    const doc = new DOMParser().parseFromString(text, 'application/xml')
    return doc.getElementsByTagName('parsererror').length ? null : doc
  } catch {
    return null
  }
}

function parseJson(text) {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function decodeHeader(value) {
  if (!value) return undefined
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

/** The object key from an object URL (`…/<bucket>/<key>` or `…/<key>`). */
function keyFromLocation(location, url) {
  if (!location) return undefined
  try {
    const base = new URL(url).pathname.replace(/\/?$/, '/')
    const path = new URL(location).pathname
    return decodeURIComponent(path.startsWith(base) ? path.slice(base.length) : path.slice(1))
  } catch {
    return undefined
  }
}

/** The error a rejected upload rejects with. */
function uploadError(code, message, extra) {
  const error = new Error(message)
  error.name = 'UploadError'
  error.code = code
  return Object.assign(error, extra)
}

/** The token as an object, or an `UploadError` saying what is wrong with it. */
function readToken(token) {
  let form
  try {
    form = typeof token === 'string' ? JSON.parse(token) : token
  } catch (e) {
    return uploadError('InvalidToken', `the upload token is not JSON: ${e.message}`)
  }
  if (!form || typeof form.url !== 'string' || !form.fields || typeof form.fields !== 'object') {
    return uploadError('InvalidToken', 'the upload token has no url or fields')
  }
  return form
}

/** ASCII-only lower case, as services compare field names. */
function asciiLower(text) {
  return String(text).replace(/[A-Z]/g, (c) => c.toLowerCase())
}

/**
 * The form a file is posted with: the token's fields in order (the `key`
 * option replacing the token's key), `options.fields` for the fields the
 * page fills, and the file's type in the type fields the policy restricts.
 */
function planForm(form, file, options) {
  const filename = options.filename || file?.name || 'blob'
  const contentType = options.contentType || file?.type || contentTypeFor(filename) || 'application/octet-stream'
  const fields = []
  const sent = new Set()
  const add = (name, value) => {
    const lower = asciiLower(name)
    if (!sent.has(lower)) {
      fields.push([name, String(value)])
      sent.add(lower)
    }
  }
  if (options.key != null) add('key', options.key)
  for (const [name, value] of Object.entries(form.fields)) add(name, value)
  for (const [name, value] of Object.entries(options.fields || {})) add(name, value)
  // The type fields a policy restricts carry the file's type; OSS stores
  // `x-oss-content-type` ahead of the others.
  const toFill = Array.isArray(form.fields_to_fill) ? form.fields_to_fill.map(asciiLower) : []
  for (const typeField of ['Content-Type', 'x-oss-content-type']) {
    if (toFill.includes(asciiLower(typeField))) add(typeField, contentType)
  }
  return { fields, filename, contentType }
}

/** Fills a rule template: `{name}` slots from `slots`; `{{` and `}}` are braces. */
function fill(template, slots) {
  return String(template).replace(/\{\{|\}\}|\{([a-z_]+)\}/g, (match, name) => {
    if (match === '{{') return '{'
    if (match === '}}') return '}'
    return Object.hasOwn(slots, name) ? String(slots[name]) : match
  })
}

/** A failed rule, as `checkFile` returns it. */
function failed(failure, reason, rule) {
  return { code: failure.service_code, message: failure.message, reason, condition: rule.condition, index: rule.index }
}

/** Whether `value` passes a field rule's test. */
function passes(rule, value) {
  switch (rule.op) {
    case 'eq':
      return value === rule.value
    case 'starts-with':
      return value.startsWith(rule.prefix)
    case 'in':
      return rule.values.includes(value)
    case 'not-in':
      return !rule.values.includes(value)
    default:
      return true // a kind this helper does not know: the service judges it
  }
}

/** The first rule the form fails, in the order the service checks them. */
function judge(rules, fields, filename, size) {
  const get = (name) => {
    const lower = asciiLower(name)
    const found = fields.find(([n]) => asciiLower(n) === lower)
    return found ? found[1] : undefined
  }
  for (const rule of rules) {
    if (!rule || typeof rule !== 'object') continue
    if (rule.op === 'required') {
      if (get(rule.field) === undefined) return failed(rule.failure, fill(rule.failure.reason, {}), rule)
    } else if (rule.op === 'content-length-range') {
      if (typeof size !== 'number') continue
      const failure = size < rule.min ? rule.too_small : size > rule.max ? rule.too_large : null
      if (failure) return failed(failure, fill(failure.reason, { size }), rule)
    } else if (typeof rule.field === 'string' && rule.failure) {
      const raw = get(rule.field)
      if (raw === undefined) return failed(rule.failure, rule.missing, rule)
      const value = rule.expand_filename && filename ? raw.split('${filename}').join(filename) : raw
      if (rule.item_reason && rule.op === 'starts-with') {
        const bad = value.split(',').find((item) => !passes(rule, item))
        if (bad === undefined) continue
        if (bad !== value) return failed(rule.failure, fill(rule.item_reason, { value, item: bad }), rule)
      } else if (passes(rule, value)) {
        continue
      }
      const hints = rule.hints || {}
      let hint = ''
      if (rule.op === 'eq' && asciiLower(value) === asciiLower(rule.value)) hint = hints.case || ''
      else if (rule.expand_filename && raw !== value) hint = hints.expanded || ''
      return failed(rule.failure, fill(rule.failure.reason, { value, hint }), rule)
    }
  }
  return null
}

/**
 * Whether the service would refuse `file` (a File, a Blob or any
 * `{ name, size, type }`) posted with `token`, judged from the token's
 * `rules` alone: `null` when nothing the page can check fails, else
 * `{ code, message, reason, condition, index }` — the service's error code
 * (the rule's `service_code`, named `code` as the service's XML and the
 * errors of `uploadFile` name it) and message and the plain reason, exactly
 * as the verifier words them (the
 * token carries its templates), with the failing condition as the service
 * echoes it and its index in the signed policy.
 *
 * Options (as `uploadFile` takes them): `key` (the object key, replacing the
 * token's), `contentType`, `fields` (values for `fields_to_fill`),
 * `filename`. A token without rules (an older server) checks nothing.
 */
export function checkFile(token, file, options = {}) {
  const form = readToken(token)
  if (form instanceof Error) return { code: form.code, message: form.message }
  if (!file) return { code: 'NoFile', message: 'no file to upload' }
  if (!Array.isArray(form.rules)) return null
  const plan = planForm(form, file, options)
  return judge(form.rules, plan.fields, plan.filename, file.size)
}

/**
 * What a form upload's answer says, from the XMLHttpRequest that sent it
 * (for uploaders other than `uploadFile`): `{ status, key, etag, location,
 * callback, requestId }`. `key` comes from the `<PostResponse>` XML
 * (`success_action_status` 201) or the Location; `callback` is the
 * application's JSON answer to an OSS upload callback, relayed by OSS. The
 * ETag and Location headers are readable only when the bucket's CORS rule
 * exposes them (`postpolicy cors`).
 */
export function parseUploadResponse(xhr) {
  const status = xhr.status
  const text = xhr.responseText || ''
  const xml = parseXml(text)
  const header = (name) => {
    try {
      return xhr.getResponseHeader(name) || undefined
    } catch {
      return undefined
    }
  }
  const location = xmlText(xml, 'Location') || header('Location')
  const key = xmlText(xml, 'Key') || keyFromLocation(location, xhr.responseURL)
  const etag = xmlText(xml, 'ETag') || header('ETag')
  const ok = status >= 200 && status < 300 && status !== 203
  const callback = ok && text && !xml ? parseJson(text) : undefined
  return { status, key, etag, location, callback, requestId: header('x-oss-request-id') || header('x-amz-request-id') }
}

/**
 * Uploads `file` (a File or Blob) with a signed form `token` (object or JSON
 * text). Resolves with `{ status, key, etag, location, callback, requestId }`;
 * rejects with an Error carrying `{ code, message }` (plus `status`,
 * `requestId` and, from a postpolicy dev server, `reason`). A file the
 * token's rules refuse (see `checkFile`) is rejected at once, with the
 * service's `code` and `message`, the `reason`, the `condition` and its
 * `index`, and no connection is opened.
 *
 * Options: `onProgress({ loaded, total, percent })`, `signal` (AbortSignal),
 * `key` (the object key, when the token leaves it to the page),
 * `contentType` (overrides the file's), `fields` (values for the token's
 * `fields_to_fill`, e.g. `x-oss-meta-*`), `filename` (for Blobs).
 */
export function uploadFile(token, file, options = {}) {
  const { onProgress, signal } = options
  return new Promise((resolve, reject) => {
    const form = readToken(token)
    if (form instanceof Error) {
      reject(form)
      return
    }
    if (!file) {
      reject(uploadError('NoFile', 'no file to upload'))
      return
    }
    if (signal?.aborted) {
      reject(uploadError('Aborted', 'the upload was aborted'))
      return
    }
    const { fields, filename, contentType } = planForm(form, file, options)
    const refused = Array.isArray(form.rules) ? judge(form.rules, fields, filename, file.size) : null
    if (refused) {
      const { code, message, ...rest } = refused
      reject(uploadError(code, message, rest))
      return
    }
    const body = new FormData()
    for (const [name, value] of fields) body.append(name, value)
    // The file goes last: the service ignores every field after it.
    const part = file.type === contentType ? file : new Blob([file], { type: contentType })
    body.append('file', part, filename)

    const xhr = new XMLHttpRequest()
    xhr.open('POST', form.url)
    const onAbort = () => xhr.abort()
    if (signal) signal.addEventListener('abort', onAbort, { once: true })
    const done = () => {
      if (signal) signal.removeEventListener('abort', onAbort)
    }
    if (onProgress) {
      xhr.upload.addEventListener('progress', (e) => {
        const total = e.lengthComputable ? e.total : file.size
        const percent = total ? Math.min(100, Math.round((e.loaded / total) * 100)) : 0
        onProgress({ loaded: e.loaded, total, percent })
      })
    }
    xhr.addEventListener('abort', () => {
      done()
      reject(uploadError('Aborted', 'the upload was aborted'))
    })
    xhr.addEventListener('error', () => {
      done()
      reject(uploadError('NetworkError', `the upload to ${form.url} failed: network error or CORS refusal`))
    })
    xhr.addEventListener('load', () => {
      done()
      const answer = parseUploadResponse(xhr)
      const sentKey = fields.find(([n]) => asciiLower(n) === 'key')
      const key = answer.key || (sentKey ? sentKey[1].split('${filename}').join(filename) : undefined)
      const { status, etag, location, callback, requestId } = answer
      if (status >= 200 && status < 300 && status !== 203) {
        if (onProgress) onProgress({ loaded: file.size, total: file.size, percent: 100 })
        resolve({ status, key, etag, location, callback, requestId })
        return
      }
      const xml = parseXml(xhr.responseText || '')
      const code = xmlText(xml, 'Code') || `HTTP${status}`
      const message = xmlText(xml, 'Message') || xhr.responseText || `the upload failed with HTTP ${status}`
      const reason = decodeHeader(xhr.getResponseHeader('x-postpolicy-reason'))
      // 203 CallbackFailed: the object is stored, but the application's callback failed.
      const stored = status === 203 ? { key, etag, location } : {}
      reject(uploadError(code, message, { status, requestId, reason, ...stored }))
    })
    xhr.send(body)
  })
}

/**
 * An Uppy `@uppy/aws-s3` (versions up to 5, POST mode) `getUploadParameters`
 * that posts each file with a postpolicy token:
 *
 *   uppy.use(AwsS3, {
 *     shouldUseMultipart: false,
 *     getUploadParameters: uppyUploadParameters(() => fetch('/upload-token').then((r) => r.json())),
 *   });
 *
 * `fetchToken(file, options)` returns the token (object or JSON text, or a
 * promise of one). A file the token's rules refuse fails with the same error
 * `uploadFile` gives, before Uppy sends a byte. Uppy posts the file part
 * without its name, so `${filename}` in the key is filled in here. Uppy reads
 * the ETag from the answer's headers: the bucket must expose it
 * (`postpolicy cors`).
 */
export function uppyUploadParameters(fetchToken) {
  return async function getUploadParameters(file, options) {
    const form = readToken(await fetchToken(file, options))
    if (form instanceof Error) throw form
    const data = file.data || file
    const filename = file.name || data?.name || 'blob'
    const contentType = file.type || data?.type || undefined
    const plan = planForm(form, data, { filename, contentType })
    const fields = plan.fields.map(([name, value]) => (asciiLower(name) === 'key' ? [name, value.split('${filename}').join(filename)] : [name, value]))
    const size = typeof file.size === 'number' ? file.size : data?.size
    const refused = Array.isArray(form.rules) ? judge(form.rules, fields, filename, size) : null
    if (refused) {
      const { code, message, ...rest } = refused
      throw uploadError(code, message, rest)
    }
    return { method: 'POST', url: form.url, fields: Object.fromEntries(fields), headers: {} }
  }
}
