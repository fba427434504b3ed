import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  Agent,
  ConfigurationError,
  DecryptionError,
  EncryptedSessionRepository,
  type EncryptionKey,
  FileSessionRepository,
  MemorySessionRepository,
  type Message,
  RepositorySessionManager,
  type SessionRepository,
  ValidationError,
} from '../../src/index.ts'
import { ScriptedModel, sessionListingContract, sessionRepositoryContract } from '../../src/testing/index.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

const key = (id: string): EncryptionKey => ({ id, key: randomBytes(32) })
const SECRET = 'my passport number is X1234567'

async function filesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true })
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name))
}

async function chat(repository: SessionRepository, prompt: string) {
  const agent = new Agent({
    model: new ScriptedModel({ fallback: { text: `Noted: ${prompt}` } }),
    sessionManager: new RepositorySessionManager({ sessionId: 'vault', repository }),
  })
  await agent.initialize()
  agent.state.set('profile', { nationality: 'Freedonian' })
  await agent.run(prompt)
  return agent
}

const contract = (fresh: Parameters<typeof sessionRepositoryContract>[0]) => [
  ...sessionRepositoryContract(fresh),
  ...sessionListingContract(fresh),
]

describe('EncryptedSessionRepository passes the SessionRepository contract', () => {
  const tempDirectory = useTempDirectories()
  const keys = [key('k1')]
  for (const contractCase of contract(() => {
    const inner = new MemorySessionRepository()
    return () => new EncryptedSessionRepository({ repository: inner, keys })
  })) {
    it(`over memory: ${contractCase.name}`, contractCase.run)
  }
  for (const contractCase of contract(async () => {
    const directory = await tempDirectory()
    return () =>
      new EncryptedSessionRepository({ repository: new FileSessionRepository({ directory }), keys })
  })) {
    it(`over files: ${contractCase.name}`, contractCase.run)
  }
})

describe('encryption at rest', () => {
  const tempDirectory = useTempDirectories()

  it('leaves no message text or state readable in any stored file, and restores with the key', async () => {
    const directory = await tempDirectory()
    const keys = [key('2026-11')]
    const open = () =>
      new EncryptedSessionRepository({ repository: new FileSessionRepository({ directory }), keys })
    await chat(open(), SECRET)
    for (const file of await filesUnder(directory)) {
      const text = await readFile(file, 'utf8')
      expect(text, file).not.toContain('passport')
      expect(text, file).not.toContain('Freedonian')
    }
    const restored = new Agent({
      model: new ScriptedModel(),
      sessionManager: new RepositorySessionManager({ sessionId: 'vault', repository: open() }),
    })
    await restored.initialize()
    expect(JSON.stringify(restored.messages)).toContain(SECRET)
    expect(restored.state.get('profile')).toEqual({ nationality: 'Freedonian' })
  })

  it('seals a session title and metadata too, and lists them readable with the key', async () => {
    const directory = await tempDirectory()
    const keys = [key('2026-11')]
    const open = () =>
      new EncryptedSessionRepository({ repository: new FileSessionRepository({ directory }), keys })
    await open().createSession({ sessionId: 'vault' })
    await open().updateSession({
      sessionId: 'vault',
      title: 'Passport renewal',
      metadata: { owner: 'Freedonian' },
    })
    for (const file of await filesUnder(directory)) {
      const text = await readFile(file, 'utf8')
      expect(text, file).not.toContain('Passport')
      expect(text, file).not.toContain('Freedonian')
    }
    const [listed] = (await open().listSessions()).sessions
    expect([listed?.title, listed?.metadata]).toEqual(['Passport renewal', { owner: 'Freedonian' }])
    const withoutKey = await new FileSessionRepository({ directory }).readSession({ sessionId: 'vault' })
    expect(withoutKey?.title).toMatch(/^tether-sealed:v2:2026-11:/)
  })

  it('rotates keys: the new key writes, the old one still reads', async () => {
    const inner = new MemorySessionRepository()
    const old = key('old')
    await chat(new EncryptedSessionRepository({ repository: inner, keys: [old] }), 'first')
    const rotated = new EncryptedSessionRepository({ repository: inner, keys: [key('new'), old] })
    await chat(rotated, 'second')
    const messages = await rotated.readMessages({ sessionId: 'vault', agentId: 'default' })
    expect(messages.map((record) => record.message.content[0])).toEqual([
      { type: 'text', text: 'first' },
      { type: 'text', text: 'Noted: first' },
      { type: 'text', text: 'second' },
      { type: 'text', text: 'Noted: second' },
    ])
    const raw = await inner.readMessages({ sessionId: 'vault', agentId: 'default' })
    expect(raw.map((record) => (record.message.content[0] as { text: string }).text.split(':')[2])).toEqual([
      'old',
      'old',
      'new',
      'new',
    ])
  })

  it('refuses with DecryptionError, changing nothing, when a key is missing or wrong or data was moved', async () => {
    const inner = new MemorySessionRepository()
    const right = key('k')
    await chat(new EncryptedSessionRepository({ repository: inner, keys: [right] }), SECRET)
    const ref = { sessionId: 'vault', agentId: 'default' }
    const before = await inner.readMessages(ref)

    const missing = new EncryptedSessionRepository({ repository: inner, keys: [key('other')] })
    await expect(missing.readMessages(ref)).rejects.toThrow(/encrypted with key "k", which was not given/)
    const wrong = new EncryptedSessionRepository({ repository: inner, keys: [key('k')] })
    await expect(wrong.readMessages(ref)).rejects.toBeInstanceOf(DecryptionError)
    // A restore with the wrong key fails loudly instead of "repairing" the ciphertext away.
    const agent = new Agent({
      model: new ScriptedModel(),
      sessionManager: new RepositorySessionManager({ sessionId: 'vault', repository: wrong }),
    })
    await expect(agent.initialize()).rejects.toBeInstanceOf(DecryptionError)
    expect(await inner.readMessages(ref)).toEqual(before)

    // A sealed record copied into another session does not decrypt there.
    const [first] = before
    await inner.appendMessage({
      sessionId: 'elsewhere',
      agentId: 'default',
      message: first?.message ?? { role: 'user', content: [] },
    })
    const reader = new EncryptedSessionRepository({ repository: inner, keys: [right] })
    await expect(reader.readMessages({ sessionId: 'elsewhere', agentId: 'default' })).rejects.toThrow(
      /authentication failed/,
    )
  })

  it('validates content before sealing it, which the inner repository can no longer do', async () => {
    const inner = new MemorySessionRepository()
    const repository = new EncryptedSessionRepository({ repository: inner, keys: [key('k')] })
    const bad = { role: 'user', content: [{ type: 'toolUse', name: 'x' }] } as unknown as Message
    await expect(
      repository.appendMessage({ sessionId: 's', agentId: 'a', message: bad }),
    ).rejects.toBeInstanceOf(ValidationError)
    expect(await inner.countMessages({ sessionId: 's', agentId: 'a' })).toBe(0)
  })

  it('rejects keys that are not 32 bytes', () => {
    const repository = new MemorySessionRepository()
    expect(
      () => new EncryptedSessionRepository({ repository, keys: [{ id: 'k', key: randomBytes(16) }] }),
    ).toThrow(ConfigurationError)
    expect(() => new EncryptedSessionRepository({ repository, keys: [] })).toThrow(ConfigurationError)
  })
})
