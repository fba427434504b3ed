import { type AgentRef, MemorySessionRepository, SyncedSessionRepository } from '../../src/index.ts'
import { type SwitchableRepository, switchable } from './switchable-repository.ts'

/** A device for in-process sync tests: its own memory store, synced only when the test says. */
export function memoryDevice(
  remote: MemorySessionRepository | SwitchableRepository,
): SyncedSessionRepository {
  return new SyncedSessionRepository({ local: new MemorySessionRepository(), remote, autoSync: false })
}

/** Two devices sharing one remote that the test can take offline. */
export function twoDevices() {
  const remote = switchable(new MemorySessionRepository())
  return { remote, phone: memoryDevice(remote), laptop: memoryDevice(remote) }
}

/** An empty agent record: agents are found by their record, which RepositorySessionManager writes on attach. */
export const emptyAgentRecord = (ref: AgentRef) => ({
  ...ref,
  state: {},
  conversationManagerState: null,
  windowStart: 0,
})
