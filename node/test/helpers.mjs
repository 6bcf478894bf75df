// Shared by the test files: the repository's tests/ folder and DISPUTED.md.
import { readFileSync } from 'node:fs'

const root = new URL('../../', import.meta.url)

export function readJson(relative) {
  return JSON.parse(readFileSync(new URL(relative, root), 'utf8'))
}

/** Ids listed in tests/DISPUTED.md as "- `id`" lines (the Rust tests' skip rule). */
export function disputed() {
  let text = ''
  try {
    text = readFileSync(new URL('tests/DISPUTED.md', root), 'utf8')
  } catch {
    return []
  }
  return text
    .split('\n')
    .filter((line) => line.startsWith('- `'))
    .map((line) => line.slice(3).split('`')[0])
}
