import type { HookProvider } from '../hooks/hook-registry.ts'

/**
 * What the Agent talks to for persistence. It is a plain hook provider: it restores on
 * `agent-initialized`, persists on `message-added` and `invocation-end`, and the Agent knows nothing
 * else about it. `RepositorySessionManager` implements it on any `SessionRepository`.
 */
export interface SessionManager extends HookProvider {
  readonly sessionId: string
}
