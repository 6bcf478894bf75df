'use strict'
// npm `prepare` script of a checkout: make sure the native addon exists for
// this platform, building it from source when it does not.
//
// npm runs `prepare` for `npm install` / `npm ci` inside node/ and for
// `npm install ./node` from elsewhere (a linked folder), never for a package
// installed from the registry or a tarball: the published package gets its
// addon from the platform package (`postpolicy-<platform>`, an optional
// dependency), so installing it never compiles anything.
//
// An addon that already loads (built before, or a platform package installed)
// is kept. Otherwise it is built from the Rust crate beside this folder
// (../bindings/node) with `napi build` from @napi-rs/cli: the copy in
// node_modules when devDependencies are installed, else the same version from
// the npm registry through npx. Needs a Rust toolchain (cargo) on the PATH.
// POSTPOLICY_SKIP_BUILD=1 skips it (scripts/test-node.sh builds on its own).

const { spawnSync } = require('node:child_process')
const { existsSync, readFileSync } = require('node:fs')
const path = require('node:path')

const here = path.resolve(__dirname, '..')
const manifest = path.resolve(here, '..', 'bindings', 'node', 'Cargo.toml')

function loads() {
  const probe = spawnSync(process.execPath, ['-e', "require('./native.js')"], { cwd: here, stdio: 'ignore' })
  return probe.status === 0
}

function napiCli() {
  try {
    const pkg = require.resolve('@napi-rs/cli/package.json', { paths: [here] })
    const bin = require(pkg).bin
    return [process.execPath, path.resolve(path.dirname(pkg), typeof bin === 'string' ? bin : bin.napi)]
  } catch {
    const lock = JSON.parse(readFileSync(path.join(here, 'package-lock.json'), 'utf8'))
    const version = lock.packages?.['node_modules/@napi-rs/cli']?.version ?? '3'
    const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx'
    return [npx, '--yes', '--package', `@napi-rs/cli@${version}`, 'napi']
  }
}

if (process.env.POSTPOLICY_SKIP_BUILD === '1') process.exit(0)
// npm also runs `prepare` before `npm pack` and `npm publish`; the main package
// ships no addon (the platform packages do), so there is nothing to build then.
if (process.env.npm_command === 'pack' || process.env.npm_command === 'publish') process.exit(0)
if (loads()) process.exit(0)
if (!existsSync(manifest)) {
  console.error(`postpolicy: the addon does not load for ${process.platform}-${process.arch}, and there is no Rust source at ${manifest} to build it from`)
  process.exit(1)
}
const [command, ...prefix] = napiCli()
const args = [
  ...prefix,
  'build',
  '--platform',
  '--release',
  '--manifest-path',
  path.relative(here, manifest),
  '--output-dir',
  '.',
  '--js',
  'native.js',
  '--dts',
  'native.d.ts',
]
console.error(`postpolicy: building the native addon: ${path.basename(command)} ${args.join(' ')}`)
const result = spawnSync(command, args, { cwd: here, stdio: 'inherit', shell: process.platform === 'win32' })
if (result.status !== 0 || !loads()) {
  console.error('postpolicy: building the native addon failed (is a Rust toolchain installed?)')
  process.exit(result.status || 1)
}
