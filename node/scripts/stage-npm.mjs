// Stages the npm release as tarballs ready for `npm publish`: one package per
// platform holding its prebuilt addon (`postpolicy-<platform>`, generated here
// by `napi create-npm-dirs`, as STYLE.md asks: no committed npm/ folders), and
// the main `postpolicy` package, whose `optionalDependencies` name them (set by
// `napi pre-publish`), so that npm installs only the one for the user's
// platform and nothing is compiled.
//
// The release workflow runs it with every target's addon; scripts/test-packages.sh
// runs it with this machine's only (`--target`) and installs what it packs.
//
// Usage: node node/scripts/stage-npm.mjs --artifacts DIR --out DIR [--target TRIPLE]...
//   --artifacts DIR  the built addons, named as `napi build --platform` names them
//                    (postpolicy.linux-x64-gnu.node, postpolicy.darwin-arm64.node, …)
//   --out DIR        where the tarballs go: DIR/platforms/*.tgz, then DIR/main/*.tgz
//                    (publish the platform packages first); created, must not exist
//   --target TRIPLE  stage only these targets of package.json's `napi.targets`
//                    (repeatable; default: all of them). Each needs its addon.
// Needs node/node_modules (npm ci) for @napi-rs/cli; prints what it packed as JSON.

import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const nodeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

function fail(message) {
  console.error(`stage-npm: ${message}`)
  process.exit(1)
}

const { values } = parseArgs({
  options: {
    artifacts: { type: 'string' },
    out: { type: 'string' },
    target: { type: 'string', multiple: true },
  },
})
if (!values.artifacts || !values.out) fail('usage: stage-npm.mjs --artifacts DIR --out DIR [--target TRIPLE]...')
const artifacts = path.resolve(values.artifacts)
const out = path.resolve(values.out)
if (!existsSync(artifacts)) fail(`no artifacts folder ${artifacts}`)
if (existsSync(out)) fail(`${out} exists; give a new folder`)

const require = createRequire(path.join(nodeDir, 'package.json'))
let napiBin
try {
  const cliPackage = require.resolve('@napi-rs/cli/package.json')
  const { bin } = JSON.parse(readFileSync(cliPackage, 'utf8'))
  napiBin = path.resolve(path.dirname(cliPackage), typeof bin === 'string' ? bin : bin.napi)
} catch {
  fail(`@napi-rs/cli is not installed in ${nodeDir}/node_modules: run \`npm ci\` there first`)
}

// Runs a command; its output is returned, or shown whole when it fails.
function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', shell: process.platform === 'win32', maxBuffer: 64 << 20 })
  if (result.status !== 0) {
    fail(
      `\`${path.basename(command)} ${args.join(' ')}\` failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stdout ?? ''}${result.stderr ?? ''}`,
    )
  }
  process.stderr.write(result.stderr)
  return result.stdout
}
const napi = (args, cwd) => run(process.execPath, [napiBin, ...args], cwd)
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'))
const writeJson = (file, value) => writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`)
// `npm pack` into `destination`; returns the tarball's path.
function pack(dir, destination) {
  mkdirSync(destination, { recursive: true })
  const [report] = JSON.parse(run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', destination], dir))
  return path.join(destination, report.filename)
}

const work = mkdtempSync(path.join(tmpdir(), 'postpolicy-stage-'))
process.on('exit', () => rmSync(work, { recursive: true, force: true })) // fail() exits too

// The main package is exactly what `npm pack` takes from node/ (its `files`).
const mainTarball = pack(nodeDir, work)
run('tar', ['-xzf', mainTarball, '-C', work], work)
const stage = path.join(work, 'package')

const manifest = readJson(path.join(stage, 'package.json'))
// `prepare` builds the addon in a checkout; npm never runs it for a registry
// install, but would list it among the dependency scripts to approve.
// `overrides` only steers the checkout's own devDependencies.
delete manifest.scripts.prepare
delete manifest.overrides
const configured = manifest.napi.targets
if (values.target) {
  const unknown = values.target.filter((t) => !configured.includes(t))
  if (unknown.length) fail(`not in package.json's napi.targets: ${unknown.join(', ')}`)
  manifest.napi.targets = values.target
}
writeJson(path.join(stage, 'package.json'), manifest)

napi(['create-npm-dirs', '--npm-dir', 'npm'], stage)
napi(['artifacts', '--output-dir', artifacts, '--npm-dir', 'npm'], stage)
const platformDirs = readdirSync(path.join(stage, 'npm')).sort()
if (platformDirs.length !== manifest.napi.targets.length) {
  fail(`napi made ${platformDirs.length} platform packages for ${manifest.napi.targets.length} targets`)
}
for (const dir of platformDirs) {
  const platform = readJson(path.join(stage, 'npm', dir, 'package.json'))
  if (!existsSync(path.join(stage, 'npm', dir, platform.main))) {
    fail(`no addon for ${platform.name}: expected ${path.join(artifacts, platform.main)}`)
  }
}
// Sets the main package's optionalDependencies to the platform packages
// (publishing them and GitHub releases are left to the caller).
napi(['pre-publish', '--npm-dir', 'npm', '--tag-style', 'npm', '--no-gh-release', '--skip-optional-publish'], stage)
const staged = readJson(path.join(stage, 'package.json'))
const platformPackages = []
for (const dir of platformDirs) {
  const platform = readJson(path.join(stage, 'npm', dir, 'package.json'))
  if (platform.version !== staged.version || staged.optionalDependencies?.[platform.name] !== staged.version) {
    fail(`${platform.name}@${platform.version} is not the main package's optional dependency at ${staged.version}`)
  }
  platformPackages.push(pack(path.join(stage, 'npm', dir), path.join(out, 'platforms')))
}
const main = pack(stage, path.join(out, 'main'))
console.log(JSON.stringify({ version: staged.version, main, platforms: platformPackages }, null, 2))
