import { afterEach, describe, expect, it, vi } from 'vitest'
import { ConfigurationError, TetherError } from '../../src/index.ts'
import { AnthropicModel } from '../../src/models/anthropic/index.ts'
import { OpenAIModel } from '../../src/models/openai/index.ts'

describe('a provider model created without credentials', () => {
  afterEach(() => {
    vi.unstubAllEnvs()
  })

  it('OpenAIModel throws a ConfigurationError naming the model and the fix', () => {
    vi.stubEnv('OPENAI_API_KEY', '')
    const create = () => new OpenAIModel({ model: 'gpt-4.1' })
    expect(create).toThrow(ConfigurationError)
    expect(create).toThrow(/OpenAIModel "gpt-4\.1" has no API key: pass `apiKey`, set OPENAI_API_KEY/)
    try {
      create()
    } catch (error) {
      expect(TetherError.isInstance(error) && error.code).toBe('configuration')
    }
  })

  it('OpenAIModel needs no key for a compatible server at a baseURL, and takes one from the environment', () => {
    vi.stubEnv('OPENAI_API_KEY', '')
    expect(new OpenAIModel({ model: 'llama3.2', baseURL: 'http://127.0.0.1:1/v1' }).modelId).toBe('llama3.2')
    vi.stubEnv('OPENAI_API_KEY', 'sk-test')
    expect(new OpenAIModel({ model: 'gpt-4.1' }).client.apiKey).toBe('sk-test')
  })

  it('AnthropicModel throws a ConfigurationError rather than failing at the first request', () => {
    vi.stubEnv('ANTHROPIC_API_KEY', '')
    vi.stubEnv('ANTHROPIC_AUTH_TOKEN', '')
    expect(() => new AnthropicModel({ model: 'claude-sonnet-4-6' })).toThrow(ConfigurationError)
    expect(new AnthropicModel({ model: 'claude-sonnet-4-6', apiKey: 'sk-ant' }).client.apiKey).toBe('sk-ant')
  })
})
