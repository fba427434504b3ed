import type { HookCallback, HookEventName, HookEvents } from './hook-events.ts'

/** Anything that plugs into an Agent's lifecycle as a bundle of callbacks, e.g. a session manager. */
export interface HookProvider {
  registerHooks(hooks: HookRegistry): void
}

/**
 * Typed callbacks per event. `*-end` events run callbacks in reverse registration order, so a
 * provider registered first wraps the others (its end callback sees their effects).
 */
export class HookRegistry {
  readonly #callbacks = new Map<HookEventName, HookCallback<HookEventName>[]>()

  on<Name extends HookEventName>(name: Name, callback: HookCallback<Name>): () => void {
    const list = this.#callbacks.get(name) ?? []
    list.push(callback as HookCallback<HookEventName>)
    this.#callbacks.set(name, list)
    return () => {
      const index = list.indexOf(callback as HookCallback<HookEventName>)
      if (index >= 0) list.splice(index, 1)
    }
  }

  add(provider: HookProvider): void {
    provider.registerHooks(this)
  }

  /** Awaits each callback in turn. A throwing callback stops the chain and the error propagates. */
  async emit<Name extends HookEventName>(name: Name, event: HookEvents[Name]): Promise<void> {
    const list = [...(this.#callbacks.get(name) ?? [])]
    if (name.endsWith('-end')) list.reverse()
    for (const callback of list) await callback(event)
  }
}
