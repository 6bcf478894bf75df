// Policy.parse(dsl, params) and Policy.builder(): request data goes into a
// policy as values, never as policy text.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { Policy, PolicyBuilder } from '../index.js'

const now = new Date('2026-11-21T12:00:00Z')
const template = 'expires in 10m\nkey starts-with "user/{user}/"\ncontent-length 1..10MiB'
const expected = Policy.parse('expires in 10m\nkey starts-with "user/42/"\ncontent-length 1..10MiB')

describe('Policy.parse with params', () => {
  test('a plain object, a null-prototype object or a Map of strings', () => {
    const bare = Object.create(null)
    bare.user = '42'
    for (const params of [{ user: '42' }, bare, new Map([['user', '42']])]) {
      assert.ok(Policy.parse(template, params).equals(expected))
    }
  })

  test('the issue payloads stay values', () => {
    assert.equal(Policy.parse(template, { user: '"#' }).toDsl().split('\n')[1], 'key starts-with "user/\\"#/"')
    const payload = '42/"; expires at 2099-01-01T00:00:00Z #'
    const document = JSON.parse(Policy.parse(template, { user: payload }).toJson({ now }))
    assert.equal(document.expiration, '2026-11-21T12:10:00.000Z')
    assert.deepEqual(document.conditions[0], ['starts-with', '$key', `user/${payload}/`])
  })

  test('no params: a placeholder is a syntax error; {{ }} are literal braces', () => {
    for (const params of [undefined, null, {}, new Map()]) {
      assert.throws(() => Policy.parse(template, params), {
        code: 'POLICY_SYNTAX',
        line: 2,
        column: 23,
        message: 'line 2, column 23: expected a parameter for {user}, found no parameters (a literal brace is written {{ or }})',
      })
    }
    assert.equal(Policy.parse('key = "{{x}}"').toJson({ now }), '{"expiration":"2026-11-21T13:00:00.000Z","conditions":[{"key":"{x}"}]}')
  })

  test('missing and unused parameters, and placeholders where no value goes, name the parameter', () => {
    assert.throws(() => Policy.parse(template, { usr: '42' }), {
      code: 'POLICY_SYNTAX',
      message: 'line 2, column 23: expected a parameter for {user}, found none among the parameters given (usr)',
    })
    assert.throws(
      () => Policy.parse(template, { user: '42', extra: '' }),
      (error) => {
        assert.equal(error.errors[0].reason, 'expected placeholder {extra} (the parameter is given but not used), found end of input')
        assert.equal(error.line, 3)
        return true
      },
    )
    assert.throws(() => Policy.parse('expires in {ttl}', { ttl: '1h' }), {
      code: 'POLICY_SYNTAX',
      message: 'line 1, column 12: expected duration (e.g. 1h30m), found placeholder {ttl}',
    })
  })

  test('anything but strings throws InvalidArg, naming the culprit', () => {
    const cases = [
      [{ user: 42 }, 'params["user"] must be a string, not a number'],
      [{ user: null }, 'params["user"] must be a string, not null'],
      [{ user: ['42'] }, 'params["user"] must be a string, not an array'],
      [new Map([[1, '42']]), 'params: parameter names must be strings, not a number'],
      [{ [Symbol('user')]: '42' }, 'params: parameter names must be strings, not a symbol'],
      [[['user', '42']], 'params must be a plain object or a Map of strings, not an array'],
      ['user=42', 'params must be a plain object or a Map of strings, not a string'],
      [new Date(), 'params must be a plain object or a Map of strings, not a Date'],
    ]
    for (const [params, message] of cases) {
      assert.throws(
        () => Policy.parse(template, params),
        (error) => {
          assert.ok(error instanceof TypeError)
          assert.equal(error.code, 'InvalidArg')
          assert.ok(error.message.startsWith(message), error.message)
          return true
        },
      )
    }
  })
})

describe('Policy.builder', () => {
  test('equals the DSL it stands for', () => {
    const builder = Policy.builder()
    assert.ok(builder instanceof PolicyBuilder)
    const policy = builder
      .expiresIn(600)
      .keyPrefix('user/42/')
      .contentTypes(['image/png', 'image/jpeg'])
      .size(1, 10 * 1024 * 1024)
      .field('success_action_status', '201')
      .metadata('x-oss-meta-owner', '42')
      .build()
    const dsl = `expires in 10m
key starts-with "user/42/"
content-type in [image/png, image/jpeg]
content-length 1..10MiB
success_action_status = 201
x-oss-meta-owner = "42"`
    assert.ok(policy.equals(Policy.parse(dsl)))
    assert.equal(policy.toJson({ now }), Policy.parse(dsl).toJson({ now }))
    assert.ok(builder.build().equals(policy), 'build() leaves the builder usable')
    const at = new Date('2026-12-01T00:00:00Z')
    assert.ok(
      Policy.builder()
        .expiresAt(at)
        .key('a.png')
        .contentType('image/png')
        .contentTypePrefix('image/')
        .contentTypes(new Set(['image/png']))
        .build()
        .equals(
          Policy.parse('expires at 2026-12-01T00:00:00Z\nkey = a.png\ncontent-type = image/png\ncontent-type starts-with image/\ncontent-type in [image/png]'),
        ),
    )
  })

  test('input that makes no sensible policy is POLICY_INVALID at build()', () => {
    const cases = [
      [(b) => b.size(10, 1), 'size: the minimum 10 is above the maximum 1'],
      [(b) => b.field('', 'x'), 'field: the field name is empty'],
      [(b) => b.metadata('owner', 'x'), 'metadata: `owner` is not a metadata field name: expected x-oss-meta-NAME or x-amz-meta-NAME'],
      [(b) => b.contentTypes([]), 'content_types needs at least one type: `content-type in []` allows no upload'],
      [(b) => b.expiresIn(1.5), 'expires_in takes whole seconds, got 1.5s'],
      [(b) => b.expiresIn(60).expiresAt(now), 'the expiration is set twice: call expires_in or expires_at once'],
    ]
    for (const [build, reason] of cases) {
      const builder = build(Policy.builder())
      assert.throws(() => builder.build(), { code: 'POLICY_INVALID', reason })
    }
  })

  test('arguments of the wrong type throw InvalidArg at once', () => {
    const cases = [
      [(b) => b.keyPrefix(42), 'PolicyBuilder#keyPrefix: `prefix` must be a string, not a number'],
      [(b) => b.contentTypes('image/png'), 'PolicyBuilder#contentTypes: `types` must be an array of strings, not a string'],
      [(b) => b.contentTypes(['image/png', 1]), 'PolicyBuilder#contentTypes: `types[]` must be a string, not a number'],
      [(b) => b.size('1', 2), 'PolicyBuilder#size: `min` must be a number, not a string'],
      [(b) => b.expiresAt('2026-12-01'), 'PolicyBuilder#expiresAt: `at` must be a Date, not a string'],
      [(b) => b.field('a'), 'PolicyBuilder#field: `value` must be a string, not undefined'],
    ]
    for (const [call, message] of cases) {
      assert.throws(() => call(Policy.builder()), { code: 'InvalidArg', message })
    }
    // Numbers the core cannot take: refused when the builder replays them.
    for (const call of [
      (b) => b.size(-1, 2),
      (b) => b.size(0, 2 ** 60),
      (b) => b.size(0.5, 2),
      (b) => b.expiresIn(-1),
      (b) => b.expiresIn(Number.NaN),
      (b) => b.expiresAt(new Date(Number.NaN)),
    ]) {
      assert.throws(() => call(Policy.builder()).build(), { code: 'InvalidArg' })
    }
  })
})
