import { spawn } from 'node:child_process'
import { open, readdir, truncate, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cleanEnvironment, runTether, TETHER_BIN } from '../support/cli-run.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

/** A loopback port nothing listens on: the OS picks a free one, and it is closed again. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

describe('operator mistakes get the usage exit code and say what to fix', () => {
  const tempDirectory = useTempDirectories()

  it('a mistyped store path: verify, list and show exit 2 saying the store does not exist (never "0 ok")', async () => {
    const cwd = await tempDirectory()
    for (const args of [
      ['verify'],
      ['list'],
      ['show', 'some-id'],
      ['delete', 'some-id'],
      ['repair', 'some-id'],
    ]) {
      const run = await runTether(['sessions', ...args, '--store', 'file:./does-not-exist'], { cwd })
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.stdout).toBe('')
      expect(run.stderr).toContain(
        `No store at file:${join(cwd, 'does-not-exist')}: the directory does not exist`,
      )
      expect(run.stderr).toContain('Check --store')
    }
  })

  it('a store that is a file (--store /etc/passwd) exits 2 for readers and writers alike', async () => {
    for (const args of [
      ['sessions', 'list'],
      ['sessions', 'import'],
    ]) {
      const run = await runTether([...args, '--store', '/etc/passwd'], { input: '{}' })
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.stderr).toContain('The store file:/etc/passwd is a file, not a sessions directory')
    }
  })

  it('a URL without a scheme is refused before anything runs', async () => {
    const chat = await runTether(
      ['chat', '--session', 's', '--provider', 'openai', '--model', 'm', '--base-url', 'localhost:18080'],
      { env: { OPENAI_API_KEY: 'test' } },
    )
    expect(chat.code).toBe(2)
    expect(chat.stderr).toContain(
      '--base-url: expected an http:// or https:// URL such as http://localhost:11434/v1',
    )
    const list = await runTether([
      'sessions',
      'list',
      '--store',
      's3://bucket',
      '--endpoint',
      '127.0.0.1:9000',
    ])
    expect(list.code).toBe(2)
    expect(list.stderr).toContain('--endpoint: expected an http:// or https:// URL')
  })

  it('a connection error names the URL it tried', async () => {
    const store = await tempDirectory()
    const url = `http://127.0.0.1:${await closedPort()}/v1`
    const run = await runTether(
      [
        'chat',
        '--session',
        's',
        '--store',
        `file:${store}`,
        '--provider',
        'openai',
        '--model',
        'm',
        '--base-url',
        url,
      ],
      { env: { OPENAI_API_KEY: 'test' }, input: 'hello\n', timeoutMs: 60_000 },
    )
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`(calling ${url}; check --base-url and that the server is running)`)
  }, 70_000)

  it('an export too large to hold is refused with what to do instead, from a file or a pipe, writing nothing', async () => {
    const store = await tempDirectory()
    const huge = join(await tempDirectory(), 'huge.json')
    await writeFile(huge, '')
    await truncate(huge, 300 * 1024 * 1024) // sparse: no disk is used
    const fromFile = await runTether(['sessions', 'import', huge, '--store', `file:${store}`])
    expect(fromFile.code).toBe(2)
    expect(fromFile.stderr).toContain(`The export from ${huge} is 300 MiB; 256 MiB, the most import reads`)
    expect(fromFile.stderr).toContain('tether sessions copy ID --to STORE')

    const input = await open(huge, 'r')
    try {
      const child = spawn(process.execPath, [TETHER_BIN, 'sessions', 'import', '--store', `file:${store}`], {
        env: cleanEnvironment(),
        stdio: [input.fd, 'ignore', 'pipe'],
      })
      let stderr = ''
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk
      })
      const code = await new Promise((resolve) => child.on('close', resolve))
      expect(code).toBe(2)
      expect(stderr).toContain('The export from stdin is more than 256 MiB')
    } finally {
      await input.close()
    }
    expect(await readdir(store)).toEqual([])
  }, 60_000)
})
