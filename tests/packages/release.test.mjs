// What a release publishes, checked from the sources (scripts/test-packages.sh
// runs it first; `node --test tests/packages/release.test.mjs` alone works too,
// with cargo and node/node_modules present):
// - one version for the crates, the Python package and the npm packages;
// - the npm package's `files`: `npm pack --dry-run` packs exactly them, and
//   they hold everything the package's entry points load;
// - the copies that packaging needs (licences, browser.js) equal their source;
// - the changelog and the release workflow cover the version and every target.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const read = (rel) => readFileSync(path.join(root, rel), 'utf8')
const readJson = (rel) => JSON.parse(read(rel))

const metadata = JSON.parse(
  execFileSync('cargo', ['metadata', '--no-deps', '--format-version', '1', '--locked'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 }),
)
const core = metadata.packages.find((p) => p.name === 'postpolicy')
const version = core.version

test('every workspace crate has the one version', () => {
  const names = metadata.packages.map((p) => p.name).sort()
  for (const name of ['postpolicy', 'postpolicy-cli', 'postpolicy-node', 'postpolicy-python', 'postpolicy-server']) {
    assert.ok(names.includes(name), `${name} is a workspace member`)
  }
  for (const p of metadata.packages) assert.equal(p.version, version, `${p.name}'s version`)
})

test('path dependencies between crates require the one version (publishable)', () => {
  const members = new Set(metadata.packages.map((p) => p.name))
  let seen = 0
  for (const p of metadata.packages) {
    for (const dep of p.dependencies) {
      if (!members.has(dep.name)) continue
      seen += 1
      assert.equal(dep.req, `^${version}`, `${p.name} -> ${dep.name} (${dep.kind ?? 'normal'})`)
    }
  }
  assert.ok(seen >= 3, 'the CLI, the server and the bindings depend on workspace crates')
})

test('the published crates are publishable; the bindings are not', () => {
  const publish = Object.fromEntries(metadata.packages.map((p) => [p.name, p.publish]))
  for (const name of ['postpolicy', 'postpolicy-server', 'postpolicy-cli']) assert.equal(publish[name], null, `${name} publishes`)
  for (const name of ['postpolicy-node', 'postpolicy-python']) assert.deepEqual(publish[name], [], `${name} is not on crates.io`)
})

test('the Python package takes its version from the binding crate', () => {
  const pyproject = read('python/pyproject.toml')
  const project = pyproject.split(/^\[project\]$/m)[1].split(/^\[/m)[0]
  assert.match(project, /^dynamic = \[[^\]]*"version"[^\]]*\]$/m)
  assert.doesNotMatch(project, /^version\s*=/m, 'no static version in [project]')
  assert.match(pyproject, /^manifest-path = "\.\.\/bindings\/python\/Cargo\.toml"$/m)
})

test('the npm package, its lockfile and the generated loader carry the version', () => {
  assert.equal(readJson('node/package.json').version, version)
  const lock = readJson('node/package-lock.json')
  assert.equal(lock.version, version)
  assert.equal(lock.packages[''].version, version)
  const loader = read('node/native.js')
  const expected = [...loader.matchAll(/bindingPackageVersion !== '([^']+)'/g)].map((m) => m[1])
  assert.ok(expected.length > 10, 'native.js checks the platform packages’ versions')
  assert.deepEqual([...new Set(expected)], [version], 'native.js expects the platform packages at this version')
  assert.equal(readJson('node/package.json').optionalDependencies, undefined, 'platform packages are added at publish time')
})

test('the changelog has an Unreleased section and one for the version', () => {
  const changelog = read('CHANGELOG.md')
  const headings = [...changelog.matchAll(/^## \[([^\]]+)\]/gm)].map((m) => m[1])
  assert.equal(headings[0], 'Unreleased')
  assert.ok(headings.includes(version), `CHANGELOG.md has a ## [${version}] section`)
  for (const h of headings) assert.match(changelog, new RegExp(`^\\[${h.replace(/\./g, '\\.')}\\]: https://`, 'm'), `link for [${h}]`)
})

test('npm pack packs exactly the files the package lists, and they are all it needs', () => {
  const pkg = readJson('node/package.json')
  const [report] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: path.join(root, 'node'), encoding: 'utf8' }))
  const packed = report.files.map((f) => f.path).sort()
  assert.deepEqual(packed, [
    'LICENSE-APACHE',
    'LICENSE-MIT',
    'README.md',
    'browser.d.ts',
    'browser.js',
    'express.d.ts',
    'express.js',
    'fastify.d.ts',
    'fastify.js',
    'index.d.ts',
    'index.js',
    'lib/upload.js',
    'native.d.ts',
    'native.js',
    'package.json',
    'web.d.ts',
    'web.js',
  ])
  assert.deepEqual(
    [...pkg.files].sort(),
    packed.filter((f) => f !== 'package.json' && f !== 'README.md'),
    '`files` names each packed file, no globs',
  )

  // Everything the manifest points at, and every relative require/import of
  // the packed code, is packed.
  const targets = [pkg.main, pkg.types]
  const walk = (value) => (typeof value === 'string' ? targets.push(value) : Object.values(value).forEach(walk))
  walk(pkg.exports)
  for (const file of packed.filter((f) => /\.(js|d\.ts)$/.test(f))) {
    for (const m of read(`node/${file}`).matchAll(/(?:require\(|from |import\()\s*'(\.\/[^']+)'/g)) targets.push(m[1])
  }
  // native.js (generated) also tries optional local candidates first: an addon
  // beside it (a checkout's build) and a WASI build, neither of which ships.
  const optional = /^\.\/postpolicy\.([a-z0-9-]+\.node|wasi\.cjs)$/
  for (const target of targets.filter((t) => !optional.test(t))) {
    const rel = path.posix.normalize(target)
    const candidates = [rel, `${rel}.js`, `${rel}.d.ts`, rel.replace(/\.js$/, '.d.ts')]
    assert.ok(
      candidates.some((c) => packed.includes(c)),
      `${target} is packed`,
    )
  }
})

test('copies made for packaging equal their source', () => {
  const same = (copy, source) => assert.equal(read(copy), read(source), `${copy} differs from ${source}`)
  for (const licence of ['LICENSE-MIT', 'LICENSE-APACHE']) {
    for (const dir of ['node', 'python', 'crates/postpolicy', 'crates/postpolicy-server', 'crates/postpolicy-cli']) {
      same(`${dir}/${licence}`, licence)
    }
  }
  same('crates/postpolicy-server/assets/browser.js', 'node/browser.js')
})

test('the release workflow builds a wheel and an addon for every npm target', () => {
  const workflow = read('.github/workflows/release.yml')
  const built = [...workflow.matchAll(/\btarget: ([a-z0-9_]+-[a-z0-9_-]+)[, }]/g)].map((m) => m[1])
  for (const target of readJson('node/package.json').napi.targets) {
    assert.equal(built.filter((t) => t === target).length, 2, `release.yml builds a wheel and an addon for ${target}`)
  }
  assert.equal(built.length, 2 * readJson('node/package.json').napi.targets.length, "no target beyond package.json's")
  assert.match(workflow, /tags: \["v\*"\]/)
})
