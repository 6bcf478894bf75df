# Shortcuts; each recipe calls a command that also works without just.
default:
    @just --list -u

build:
    cargo build --workspace

test:
    bash scripts/test.sh

test-rust:
    cargo test --workspace

test-python:
    bash scripts/test-python.sh

test-node:
    bash scripts/test-node.sh

test-browser:
    bash scripts/test-browser.sh

# Fuzz every parser SECONDS per target (see scripts/fuzz.sh).
fuzz SECONDS="60":
    bash scripts/fuzz.sh {{SECONDS}}

test-packages:
    bash scripts/test-packages.sh

bench:
    cargo bench -p postpolicy --bench core

# rustfmt, clippy, ruff and Biome (JavaScript, TypeScript), all as checks.
lint:
    bash scripts/lint.sh

fmt:
    cargo fmt --all
    node/node_modules/.bin/biome check --write

ready:
    bash .ci/run
