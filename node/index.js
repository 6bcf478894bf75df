'use strict'
// postpolicy: signed browser form uploads to Alibaba Cloud OSS and S3.
//
// The classes and functions are the native addon's (bindings/node, napi-rs;
// their types are native.d.ts). This file adds only what must be JavaScript:
// fetching a callback's public key over HTTP and awaiting a key source, the
// Express middleware (express.js), and one measured fast path, the signed
// form's object. Every rule lives in the Rust core.

const native = require('./native.js')

// Read once: the addon's exports object is in V8's dictionary mode, where
// each read of a property is a hash lookup.
const signPlanned = native.signPlanned

// ---- signing: the signed form's object ---------------------------------------
//
// Node-API builds an object one property at a time through V8's slow path:
// about 3.5 µs of CPU for a signed form, more than the signing. V8 builds an
// object in JavaScript about ten times faster. So each signer's `sign` takes
// the form packed into one string (`signPlanned`, or `signPacked` with a
// callback: bindings/node/src/sign.rs) and builds the object here; when a
// name or value holds a separator, the addon's own `sign` builds it.
// node/bench/sign.mjs measures the difference.

class OssSigner extends native.OssSigner {
  #plans = new Plans()

  sign(policy, options) {
    const form = #plans in this ? signFast(this, this.#plans, policy, options) : null
    return form ?? super.sign(policy, options)
  }
}

class S3Signer extends native.S3Signer {
  #plans = new Plans()

  sign(policy, options) {
    const form = #plans in this ? signFast(this, this.#plans, policy, options) : null
    return form ?? super.sign(policy, options)
  }
}

/**
 * The fast path of `signer.sign`, or `null`: then the addon's own `sign`
 * words the error (a bad `now`, `key` or `policy`) or builds the form that
 * cannot be packed.
 */
function signFast(signer, plans, policy, options) {
  const millis = nowMillis(options?.now)
  if (millis === null) return null
  if (options?.callback != null || options?.pinCallback !== undefined) return signUnplanned(signer, null, policy, options, millis)
  const key = options?.key ?? null
  if (key !== null && typeof key !== 'string') return null
  const plan = plans.of(policy, key)
  if (plan === null) return null
  if (plan.handle === null) {
    // A plan costs about 1.3 µs to make and pays off from its second form:
    // the first form of a policy and key (a key made per request is never
    // signed twice) is packed by `signPacked`, the second makes the plan.
    if (!plan.seen) {
      plan.seen = true
      return signUnplanned(signer, plan, policy, options, millis)
    }
    try {
      plan.handle = signer.signPlan(policy, key)
    } catch {
      return null // not a Policy: `sign` says so
    }
  }
  const packed = signPlanned(plan.handle, millis)
  if (packed === null) return null
  if (plan.rules === null) plan.rules = rulesNow(signer, policy, options, millis)
  return unpack(packed, plan, plan.rules)
}

/**
 * A form packed by `signPacked`, which unwraps every argument: the first
 * form of a plan, whose rules are then kept with it, or (`plan` null) a form
 * with a callback or `pinCallback`, whose rules are asked every time.
 */
function signUnplanned(signer, plan, policy, options, millis) {
  let packed
  try {
    packed = signer.signPacked(policy, millis, options?.key, options?.callback, options?.pinCallback)
  } catch {
    return null // a bad argument: `sign` words it
  }
  if (packed === null) return null
  const rules = plan?.rules ?? rulesNow(signer, policy, options, millis)
  if (plan !== null) plan.rules = rules
  return unpack(packed, null, rules)
}

/** `now` as milliseconds, `undefined` for the clock, `null` for anything else. */
function nowMillis(now) {
  if (now === undefined || now === null) return undefined
  if (now instanceof Date) return now.getTime()
  return typeof now === 'number' ? now : null
}

/**
 * A service account given as its parsed key file (an object) reaches the
 * addon as JSON text; a string is a key file's path.
 */
function accountOptions(options) {
  const account = options?.serviceAccount
  if (account === null || typeof account !== 'object') return options
  const { serviceAccount, ...rest } = options
  return { ...rest, serviceAccountJson: JSON.stringify(serviceAccount) }
}

class GcsSigner extends native.GcsSigner {
  constructor(options) {
    super(accountOptions(options))
  }
}

class GcsVerifier extends native.GcsVerifier {
  constructor(options) {
    const accounts = options?.serviceAccounts ?? []
    super(
      options && {
        ...options,
        serviceAccounts: accounts.filter((a) => typeof a === 'string'),
        serviceAccountsJson: accounts.filter((a) => typeof a !== 'string').map((a) => JSON.stringify(a)),
      },
    )
  }
}

/** Ends the shape in a packed form; every item before and after it ends with NUL. */
const SHAPE_END = '\x01'
const SHAPE_END_CODE = 1

/**
 * `url, fill count, ...fieldsToFill, ...names` then `expiresAt, ...values`.
 * The first part, the shape, is the same on every call with one signer,
 * policy and options: `signPlanned` sends it once per plan (then only
 * `\x01` and the values), `signPacked` every time, and it is parsed once and
 * kept by its text. Each call then only slices out the values and sets them
 * under names V8 has seen. `null` when a plan's shape is missing (never).
 */
function unpack(text, plan, rules) {
  let shape
  let ends
  if (text.charCodeAt(0) === SHAPE_END_CODE) {
    shape = plan?.shape ?? null
    if (shape === null) return null
    // The values usually keep their lengths from one call to the next (dates
    // and digests have fixed widths): then the NULs are where they were.
    ends = plan.ends
    if (ends === null || !separatorsAt(text, ends)) {
      ends = separators(text, 0)
      plan.ends = ends
    }
  } else {
    const end = text.indexOf(SHAPE_END)
    shape = shapeOf(text.slice(0, end))
    if (plan !== null) plan.shape = shape
    ends = separators(text, end)
  }
  return {
    url: shape.url,
    fields: shape.hasProto ? fieldsWithProto(shape.names, text, ends) : fieldsOf(shape.names, text, ends),
    expiresAt: text.slice(ends[0] + 1, ends[1]),
    fieldsToFill: copyOf(shape.fieldsToFill),
    rules,
  }
}

/**
 * A form's own copy of its shape's `fieldsToFill`: an array literal for the
 * usual lengths, which V8 allocates inline, where `slice` calls a builtin.
 */
function copyOf(items) {
  switch (items.length) {
    case 0:
      return []
    case 1:
      return [items[0]]
    case 2:
      return [items[0], items[1]]
    default:
      return items.slice()
  }
}

/** Where `\x01` (at `start`) and each NUL after it are. */
function separators(text, start) {
  const ends = [start]
  for (let at = text.indexOf('\0', start + 1); at !== -1; at = text.indexOf('\0', at + 1)) ends.push(at)
  return ends
}

/**
 * Whether `text` has a NUL at each of `ends` after the first: then those are
 * its separators, as the addon sends exactly as many NULs as items.
 */
function separatorsAt(text, ends) {
  for (let i = 1; i < ends.length; i++) if (text.charCodeAt(ends[i]) !== 0) return false
  return true
}

/** Value `i` of a packed form whose separators are at `ends`. */
function valueAt(text, ends, i) {
  return text.slice(ends[i + 1] + 1, ends[i + 2])
}

/**
 * `{ [names[i]]: value i }` in order. One store per position, so that each
 * sees one name (while one shape is in use): V8 then stores as into an
 * object literal. A loop's one store sees every name and goes through V8's
 * generic path, about 10 ns a field more.
 */
function fieldsOf(names, text, ends) {
  const n = names.length
  const fields = {}
  if (n > 0) fields[names[0]] = valueAt(text, ends, 0)
  if (n > 1) fields[names[1]] = valueAt(text, ends, 1)
  if (n > 2) fields[names[2]] = valueAt(text, ends, 2)
  if (n > 3) fields[names[3]] = valueAt(text, ends, 3)
  if (n > 4) fields[names[4]] = valueAt(text, ends, 4)
  if (n > 5) fields[names[5]] = valueAt(text, ends, 5)
  if (n > 6) fields[names[6]] = valueAt(text, ends, 6)
  if (n > 7) fields[names[7]] = valueAt(text, ends, 7)
  if (n > 8) fields[names[8]] = valueAt(text, ends, 8)
  if (n > 9) fields[names[9]] = valueAt(text, ends, 9)
  for (let i = 10; i < n; i++) fields[names[i]] = valueAt(text, ends, i)
  return fields
}

/** `fieldsOf` where a field is named `__proto__`: a field like any other, not the object's prototype. */
function fieldsWithProto(names, text, ends) {
  const fields = {}
  for (let i = 0; i < names.length; i++) {
    const value = valueAt(text, ends, i)
    if (names[i] === '__proto__') Object.defineProperty(fields, '__proto__', { value, enumerable: true, writable: true, configurable: true })
    else fields[names[i]] = value
  }
  return fields
}

/**
 * One signer's signing plans (`signPlan`: the signer, policy and key fixed
 * in the addon, so that `signPlanned` takes only the time), with the shape
 * of their forms, where the separators of the last one were, and their
 * browser rules. Writing the rules costs about as much as the signing
 * (node/bench/sign.mjs), and they do not depend on the time: so they are
 * kept with the plan (both classes are immutable), frozen and shared by the
 * forms. Kept per policy (weakly) and key, and the last one used at hand:
 * most servers sign one policy over and over (the signer keeps that policy
 * alive until it signs another). A plan's handle is made with its second
 * form (see `signFast`). Forms with a callback have no plan.
 */
class Plans {
  #byPolicy = new WeakMap()
  #lastPolicy = null
  #lastKey = null
  #last = null

  /**
   * The plan of `policy` and `key` (its `handle` made by the caller, on its
   * second form), or `null` for anything but an object.
   */
  of(policy, key) {
    if (this.#lastPolicy === policy && this.#lastKey === key && this.#last !== null) return this.#last
    if (policy === null || typeof policy !== 'object') return null
    let byKey = this.#byPolicy.get(policy)
    if (byKey === undefined) {
      byKey = new Map()
      this.#byPolicy.set(policy, byKey)
    }
    let plan = byKey.get(key)
    if (plan === undefined) {
      if (byKey.size >= MAX_KEYS_PER_POLICY) byKey.clear()
      plan = { handle: null, seen: false, shape: null, ends: null, rules: null }
      byKey.set(key, plan)
    }
    this.#lastPolicy = policy
    this.#lastKey = key
    this.#last = plan
    return plan
  }
}

const MAX_KEYS_PER_POLICY = 64

/** The rules of a form, frozen; it signs again, so only once per plan. */
function rulesNow(signer, policy, options, millis) {
  return deepFreeze(JSON.parse(signer.rulesJson(policy, millis, options?.key, options?.callback, options?.pinCallback)))
}

function deepFreeze(value) {
  if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) deepFreeze(item)
    Object.freeze(value)
  }
  return value
}

/**
 * `name` as V8's one copy of that property name: a store keyed by it then
 * takes the fast path (an IC compares names by identity), where a name cut
 * from the packed text would be looked up in V8's string table every time.
 */
function internalized(name) {
  return Object.keys({ [name]: 0 })[0]
}

/** Shapes by their text: one per signer, policy and options in use, so few. */
const shapes = new Map()
const MAX_SHAPES = 64
// Most servers sign one policy over and over: one string compare finds it.
let lastShape = null

function shapeOf(key) {
  if (lastShape !== null && lastShape.key === key) return lastShape
  let shape = shapes.get(key)
  if (shape === undefined) {
    if (shapes.size >= MAX_SHAPES) shapes.clear()
    // A copy, and items cut from it: a slice would keep the whole signed text alive.
    const copy = key.split('\0').join('\0')
    const items = copy.split('\0')
    items.pop() // after the last NUL
    const fill = +items[1]
    const names = items.slice(2 + fill).map(internalized)
    shape = { key: copy, url: items[0], fieldsToFill: items.slice(2, 2 + fill), names, hasProto: names.includes('__proto__') }
    shapes.set(copy, shape)
  }
  lastShape = shape
  return shape
}

/** The largest public key PEM `fetchPublicKeyPem` reads. */
const MAX_KEY_BYTES = 64 * 1024

/**
 * GETs the PEM at `url` (http or https) with node's http client: status 200
 * only, no redirects followed, at most 64 KiB, `timeoutMs` (default 5000)
 * for the whole exchange. Only ever called for URLs the core trusts.
 */
function fetchPublicKeyPem(url, options) {
  const timeoutMs = options?.timeoutMs ?? 5000
  return new Promise((resolve, reject) => {
    let parsed
    try {
      parsed = new URL(url)
    } catch {
      reject(new Error(`not a URL: ${url}`))
      return
    }
    const client = parsed.protocol === 'https:' ? require('node:https') : parsed.protocol === 'http:' ? require('node:http') : null
    if (client === null) {
      reject(new Error(`unsupported scheme ${parsed.protocol}`))
      return
    }
    let timer
    const request = client.get(parsed, { agent: false, headers: { accept: 'application/x-pem-file, text/plain, */*' } }, (response) => {
      if (response.statusCode !== 200) {
        response.resume()
        request.destroy(new Error(`HTTP ${response.statusCode}`))
        return
      }
      const chunks = []
      let size = 0
      response.on('data', (chunk) => {
        size += chunk.length
        if (size > MAX_KEY_BYTES) {
          request.destroy(new Error(`the answer is larger than ${MAX_KEY_BYTES} bytes`))
        } else {
          chunks.push(chunk)
        }
      })
      response.on('end', () => {
        clearTimeout(timer)
        resolve(Buffer.concat(chunks).toString('utf8'))
      })
      response.on('error', (error) => request.destroy(error))
    })
    request.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    timer = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
  })
}

/** The native key cache, whose source defaults to `fetchPublicKeyPem`. */
class CachedKeySource extends native.CachedKeySource {
  constructor(source) {
    super(source ?? fetchPublicKeyPem)
  }
}

/** The key source `verifyCallback` uses when none is given. */
const defaultKeySource = new CachedKeySource()

/**
 * Verifies that a callback request was signed by OSS: resolves to
 * `{ publicKeyUrl }`, or rejects with the core's `CALLBACK_*` error. The core
 * checks the headers and that the key URL is trusted before anything is
 * fetched; the key comes from `options.keySource` (default: an in-process
 * cache over `fetchPublicKeyPem`), asked for the canonical URL the core gave.
 */
async function verifyCallback(request, options) {
  const keySource = options?.keySource ?? defaultKeySource
  const check = native.checkCallback(request, options?.trustedKeyUrls, keySource)
  let key
  let fetchError
  try {
    key = await (typeof keySource === 'function' ? keySource(check.keyUrl) : keySource.publicKeyPem(check.keyUrl))
  } catch (error) {
    fetchError = error instanceof Error ? error.message : String(error)
  }
  try {
    return check.verify(key, fetchError)
  } catch (error) {
    // A cached key the core refuses is dropped, so that the next call fetches it again.
    if (error?.code === 'CALLBACK_INVALID_PUBLIC_KEY' && typeof keySource.delete === 'function') keySource.delete(check.keyUrl)
    throw error
  }
}

// `exports.X =` lines (not one object literal) so that Node's ESM loader sees
// every name: `import { Policy } from 'postpolicy'` works as well as `require`.
exports.Policy = native.Policy
exports.PolicyBuilder = native.PolicyBuilder
exports.Credentials = native.Credentials
exports.OssSigner = OssSigner
exports.Verifier = native.Verifier
exports.S3Signer = S3Signer
exports.S3Verifier = native.S3Verifier
exports.GcsSigner = GcsSigner
exports.GcsVerifier = GcsVerifier
exports.explain = native.explain
exports.signV1 = native.signV1
exports.signV4 = native.signV4
exports.signS3V4 = native.signS3V4
exports.CallbackSpec = native.CallbackSpec
exports.CallbackSigner = native.CallbackSigner
exports.CachedKeySource = CachedKeySource
exports.KeyUrlPolicy = native.KeyUrlPolicy
exports.defaultKeySource = defaultKeySource
exports.fetchPublicKeyPem = fetchPublicKeyPem
exports.verifyCallback = verifyCallback
exports.callbackStringToSign = native.callbackStringToSign
// The addon itself, for the test suite's proof that a panic is thrown as
// `code: 'Internal'` (tests/security/node, with an addon built with the
// `test-hooks` feature); never set in production. The name is computed so
// that Node's static scan of CommonJS exports (what `import { … } from
// 'postpolicy'` offers) does not list it.
const TEST_HOOK_EXPORT = ['__', 'native'].join('')
if (process.env.POSTPOLICY_TEST_HOOKS === '1') exports[TEST_HOOK_EXPORT] = native
exports.uploadToken = function uploadToken(options) {
  return require('./express.js').uploadToken(options)
}
