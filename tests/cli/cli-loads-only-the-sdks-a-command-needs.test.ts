import { describe, expect, it } from 'vitest'
import { runTether } from '../support/cli-run.ts'
import { fileStore, seedChat } from '../support/cli-seed-sessions.ts'
import { openAIStream } from '../support/openai-wire-format.ts'
import { useTempDirectories } from '../support/temp-directory.ts'
import { WireServer } from '../support/wire-server.ts'

const ALL_SDKS = ['@aws-sdk', 'openai', '@anthropic-ai']

describe('tether loads an optional SDK only for the command that needs it', () => {
  const tempDirectory = useTempDirectories()

  it('runs help and every file-store sessions command with no provider SDK and no AWS SDK installed', async () => {
    const directory = await tempDirectory()
    await seedChat(fileStore(directory), 'user-7', 2)
    const store = ['--store', `file:${directory}`]
    for (const args of [
      ['--help'],
      ['sessions', 'list', ...store],
      ['sessions', 'show', 'user-7', ...store],
      ['sessions', 'verify', ...store],
      ['sessions', 'export', 'user-7', ...store],
    ]) {
      const run = await runTether(args, { hidePackages: ALL_SDKS })
      expect(run.stderr, args.join(' ')).toBe('')
      expect(run.code, args.join(' ')).toBe(0)
    }
  })

  it('chats through OpenAI with neither the Anthropic SDK nor the AWS SDK installed', async () => {
    const server = await WireServer.start()
    try {
      server.reply(openAIStream({ text: 'Hello.' }))
      const run = await runTether(
        [
          'chat',
          '--session',
          's',
          '--store',
          await tempDirectory(),
          '--base-url',
          `${server.url}/v1`,
          '--model',
          'm',
        ],
        { input: 'Hi\n', hidePackages: ['@aws-sdk', '@anthropic-ai'] },
      )
      expect(run.stdout).toBe('Hello.\n')
      expect(run.code).toBe(0)
    } finally {
      await server.close()
    }
  })

  it('names the package to install when an s3:// store or a provider needs one that is missing (exit 2)', async () => {
    const s3 = await runTether(['sessions', 'list', '--store', 's3://bucket/prefix'], {
      hidePackages: ['@aws-sdk'],
    })
    expect(s3.stderr).toBe('tether: s3:// stores need the AWS SDK for S3: npm install @aws-sdk/client-s3\n')
    expect(s3.code).toBe(2)
    const anthropic = await runTether(['chat', '--session', 's', '--store', await tempDirectory()], {
      env: { ANTHROPIC_API_KEY: 'sk-ant-test' },
      hidePackages: ['@anthropic-ai'],
      input: 'Hi\n',
    })
    expect(anthropic.stderr).toBe(
      'tether: The anthropic provider needs the @anthropic-ai/sdk package: npm install @anthropic-ai/sdk\n',
    )
    expect(anthropic.code).toBe(2)
  })
})
