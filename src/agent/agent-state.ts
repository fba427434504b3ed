import { z } from 'zod'
import { ValidationError } from '../errors/validation-error.ts'
import { type JsonValue, jsonValueSchema } from '../messages/message.ts'

export type JsonObject = { [key: string]: JsonValue }

/**
 * A JSON key-value store with change tracking. Values are copied in and out, so a caller mutating
 * a value it got cannot change the store behind the tracker's back. `revision` grows on every
 * change, which is how a session manager tells whether there is anything new to persist.
 */
export class AgentState {
  #values: Map<string, JsonValue>
  #revision = 0

  constructor(initial: JsonObject = {}) {
    this.#values = new Map(Object.entries(AgentState.#validated(initial, 'initial agent state')))
  }

  get revision(): number {
    return this.#revision
  }

  get<T extends JsonValue = JsonValue>(key: string): T | undefined {
    const value = this.#values.get(key)
    return value === undefined ? undefined : (structuredClone(value) as T)
  }

  set(key: string, value: JsonValue): void {
    const parsed = jsonValueSchema.safeParse(value)
    if (!parsed.success) throw ValidationError.fromZod(`agent state value for "${key}"`, parsed.error)
    this.#values.set(key, structuredClone(parsed.data))
    this.#revision++
  }

  delete(key: string): boolean {
    const existed = this.#values.delete(key)
    if (existed) this.#revision++
    return existed
  }

  has(key: string): boolean {
    return this.#values.has(key)
  }

  keys(): string[] {
    return [...this.#values.keys()]
  }

  toJSON(): JsonObject {
    return structuredClone(Object.fromEntries(this.#values))
  }

  /** Replaces every value (used when a session restores state); counts as one change. */
  replace(values: JsonObject): void {
    this.#values = new Map(Object.entries(AgentState.#validated(values, 'agent state')))
    this.#revision++
  }

  static #validated(values: JsonObject, source: string): JsonObject {
    const parsed = z.record(z.string(), jsonValueSchema).safeParse(values)
    if (!parsed.success) throw ValidationError.fromZod(source, parsed.error)
    return structuredClone(parsed.data)
  }
}
