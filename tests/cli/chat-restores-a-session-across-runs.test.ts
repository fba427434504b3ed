import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runTether, startTether, waitForOutput } from '../support/cli-run.ts'
import { openAIError, openAIStream } from '../support/openai-wire-format.ts'
import { useTempDirectories } from '../support/temp-directory.ts'
import { WireServer } from '../support/wire-server.ts'

describe('tether chat over piped stdin', () => {
  const tempDirectory = useTempDirectories()
  let server: WireServer
  beforeEach(async () => {
    server = await WireServer.start()
  })
  afterEach(() => server.close())

  const chatArgs = (store: string, ...more: string[]) => [
    'chat',
    '--session',
    'user-123',
    '--store',
    `file:${store}`,
    '--provider',
    'openai',
    '--base-url',
    `${server.url}/v1`,
    '--model',
    'llama3.2',
    ...more,
  ]

  it('restores the first run in the second, says so, and sends the first turn to the model', async () => {
    const store = await tempDirectory()
    server.reply(openAIStream({ text: 'Nice to meet you, Alex.' }))
    const first = await runTether(chatArgs(store), { input: 'My name is Alex.\n' })
    expect(first.stderr).toBe(`new session user-123 in file:${store}\n`)
    expect(first.stdout).toBe('Nice to meet you, Alex.\n')
    expect(first.code).toBe(0)

    server.reply(openAIStream({ text: 'Your name is Alex.' }))
    const second = await runTether(chatArgs(store), { input: "What's my name?\n" })
    expect(second.stderr).toBe('restored 2 messages from user-123\n')
    expect(second.stdout).toBe('Your name is Alex.\n')
    expect(second.code).toBe(0)
    expect(server.body(1).model).toBe('llama3.2')
    expect(server.body(1).messages).toEqual([
      { role: 'user', content: 'My name is Alex.' },
      { role: 'assistant', content: 'Nice to meet you, Alex.' },
      { role: 'user', content: "What's my name?" },
    ])
  })

  it('takes one prompt per line, skips blank lines, and stops reading at /exit', async () => {
    const store = await tempDirectory()
    server.reply(openAIStream({ text: 'One.' }), openAIStream({ text: 'Two.' }))
    const run = await runTether(chatArgs(store, '--system', 'Answer in one word.'), {
      input: 'first\n\nsecond\n/exit\nnever sent\n',
    })
    expect(run.stdout).toBe('One.\nTwo.\n')
    expect(run.code).toBe(0)
    expect(server.requests).toHaveLength(2)
    expect(server.body(1).messages).toEqual([
      { role: 'system', content: 'Answer in one word.' },
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'One.' },
      { role: 'user', content: 'second' },
    ])
  })

  it('keeps only the last --window messages in context and says how many were restored in all', async () => {
    const store = await tempDirectory()
    server.reply(...['A1', 'A2', 'A3'].map((text) => openAIStream({ text })))
    await runTether(chatArgs(store, '--window', '3'), { input: 'Q1\nQ2\nQ3\n' })
    server.reply(openAIStream({ text: 'A4' }))
    const run = await runTether(chatArgs(store, '--window', '3'), { input: 'Q4\n' })
    expect(run.stderr).toBe('restored 6 messages from user-123 (the last 2 in context)\n')
    expect(server.body(3).messages).toEqual([
      { role: 'user', content: 'Q3' },
      { role: 'assistant', content: 'A3' },
      { role: 'user', content: 'Q4' },
    ])
  })

  it('takes an OpenAI-compatible server from OPENAI_BASE_URL', async () => {
    const store = await tempDirectory()
    server.reply(openAIStream({ text: 'Hello.' }))
    const run = await runTether(['chat', '--session', 's', '--store', store, '--model', 'qwen3:8b'], {
      input: 'Hi\n',
      env: { OPENAI_BASE_URL: `${server.url}/v1` },
    })
    expect(run.stdout).toBe('Hello.\n')
    expect(server.body(0).model).toBe('qwen3:8b')
  })

  it('fails the command with one line and exit 1 when the provider refuses, keeping the prompt stored', async () => {
    const store = await tempDirectory()
    server.reply(
      openAIError(401, {
        message: 'Incorrect API key provided.',
        type: 'invalid_request_error',
        code: 'invalid_api_key',
      }),
    )
    const run = await runTether(chatArgs(store), { input: 'Hello?\nNever sent.\n' })
    expect(run.code).toBe(1)
    expect(run.stderr.trim().split('\n').at(-1)).toMatch(/^tether: .*Incorrect API key provided/)
    expect(run.stderr).not.toMatch(/\n\s+at /)
    expect(server.requests).toHaveLength(1)
  })

  it('exits 2 listing the ways to configure a model when none is configured, before touching the store', async () => {
    const store = await tempDirectory()
    const run = await runTether(['chat', '--session', 's', '--store', `${store}/never-created`], {
      input: 'Hi\n',
    })
    expect(run.code).toBe(2)
    expect(run.stdout).toBe('')
    expect(run.stderr).toContain('tether: No model is configured.')
    expect(run.stderr).toContain('OPENAI_API_KEY')
    expect(run.stderr).toContain('ANTHROPIC_API_KEY')
    expect(run.stderr).toContain('--provider bedrock')
    expect(run.stderr).toContain('--provider openai --base-url http://localhost:11434/v1 --model llama3.2')
    const listing = await runTether(['sessions', 'list', '--store', store, '--json'])
    expect(JSON.parse(listing.stdout).sessions).toEqual([])
  })

  it('SIGINT during a reply cancels that reply and the next line is still answered', async () => {
    const store = await tempDirectory()
    server.reply(
      { ...openAIStream({ text: 'A long answer that will not be finished today.' }), chunkDelayMs: 100 },
      openAIStream({ text: 'Short.' }),
    )
    const running = startTether(chatArgs(store))
    running.child.stdin?.write('Tell me everything.\n')
    await waitForOutput(running, ({ stdout }) => stdout.includes('A long'))
    running.child.kill('SIGINT')
    await waitForOutput(running, ({ stderr }) => stderr.includes('[cancelled]'))
    running.child.stdin?.end('Then be brief.\n')
    const run = await running.finished
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^A long[^\n]*\nShort\.\n$/)
    expect(run.stdout).not.toContain('today.')
    expect(server.body(1).messages).toEqual([
      { role: 'user', content: 'Tell me everything.\nThen be brief.' },
    ])
  })

  it('SIGINT while waiting for the next line ends the chat with exit 130', async () => {
    const store = await tempDirectory()
    server.reply(openAIStream({ text: 'Hi.' }))
    const running = startTether(chatArgs(store))
    running.child.stdin?.write('Hello\n')
    await waitForOutput(running, ({ stdout }) => stdout === 'Hi.\n')
    running.child.kill('SIGINT')
    const run = await running.finished
    expect(run.code).toBe(130)
    expect(
      await runTether(['sessions', 'list', '--store', store, '--json']).then(
        (list) => JSON.parse(list.stdout).sessions[0].sessionId,
      ),
    ).toBe('user-123')
  })
})
