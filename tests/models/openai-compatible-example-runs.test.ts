import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { openAIStream } from '../support/openai-wire-format.ts'
import { WireServer } from '../support/wire-server.ts'

const run = promisify(execFile)
const root = join(import.meta.dirname, '..', '..')

let server: WireServer
beforeEach(async () => {
  server = await WireServer.start()
})
afterEach(() => server.close())

it('`npm run example -- openai-compatible-tool` runs the example against an OpenAI-compatible server', async () => {
  server.reply(
    openAIStream({ toolCalls: [{ id: 'call_7', name: 'add', arguments: '{"a":1234,"b":5678}' }] }),
    openAIStream({ text: '1234 + 5678 = 6912.' }),
  )
  const { OPENAI_API_KEY: _key, ...environment } = process.env
  // The README's command, through npm, which puts the pinned Node 24 (it strips the types) first on PATH.
  const { stdout } = await run('npm', ['run', '--silent', 'example', '--', 'openai-compatible-tool'], {
    cwd: root,
    env: { ...environment, OPENAI_BASE_URL: `${server.url}/v1`, MODEL: 'qwen3:8b' },
    timeout: 20_000,
  })

  expect(stdout).toContain('> What is 1234 + 5678?')
  expect(stdout).toContain('[tool] add({"a":1234,"b":5678}) -> [{"type":"json","json":{"sum":6912}}]')
  expect(stdout).toContain('1234 + 5678 = 6912.')
  expect(stdout).toContain('[done] stop: endTurn, tokens in/out: 50/24')
  expect(server.body(0).model).toBe('qwen3:8b')
  // No key configured for a local server: the example still runs, with a placeholder key.
  expect(server.requests[0]?.headers.authorization).toBe('Bearer no-api-key')
  expect(server.body(1).messages).toContainEqual({
    role: 'tool',
    tool_call_id: 'call_7',
    content: '{"sum":6912}',
  })
})
