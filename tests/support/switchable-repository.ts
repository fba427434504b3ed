import type { SessionRepository } from '../../src/index.ts'
import { StorageError } from '../../src/index.ts'

/**
 * A remote for in-process sync tests: `online = false` makes every call fail as an unreachable
 * network does; `loseNextAppendReply` lets the next append land and then fails it, as a
 * connection dropped after the store applied the write (the caller cannot know it landed).
 */
export interface SwitchableRepository extends SessionRepository {
  online: boolean
  loseNextAppendReply: boolean
  /** Calls made while online, by method name. */
  calls: Map<string, number>
}

export function switchable(inner: SessionRepository): SwitchableRepository {
  const control = { online: true, loseNextAppendReply: false, calls: new Map<string, number>() }
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property in control) return control[property as keyof typeof control]
      const value = Reflect.get(target, property, receiver)
      if (typeof value !== 'function') return value
      return async (...args: unknown[]) => {
        if (!control.online) throw new StorageError(String(property), 'the remote (offline)')
        control.calls.set(String(property), (control.calls.get(String(property)) ?? 0) + 1)
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)
        if (property === 'appendMessage' && control.loseNextAppendReply) {
          control.loseNextAppendReply = false
          throw new StorageError('append message', 'the remote (reply lost)')
        }
        return result
      }
    },
    set(target, property, value) {
      if (property in control) {
        ;(control as Record<string, unknown>)[property as string] = value
        return true
      }
      return Reflect.set(target, property, value)
    },
  }) as SwitchableRepository
}
