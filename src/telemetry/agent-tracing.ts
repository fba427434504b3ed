import { loadOpenTelemetry, type OpenTelemetryApi } from './load-open-telemetry.ts'
import type { SpanAttributeValue, SpanLike, TelemetryOptions, TracerLike } from './telemetry-options.ts'

/** A span in progress, or nothing at all when tracing is off. */
export interface TraceSpan {
  /** False when nothing records the span: skip computing costly attributes. */
  readonly recording: boolean
  set(attributes: Record<string, SpanAttributeValue | undefined>): void
  /** Ends the span; with an error, records it and marks the span failed. */
  end(error?: unknown): void
  /** Runs `work` with this span active, so spans it starts (an HTTP client's, a tool's own) nest inside. */
  activate<T>(work: () => T): T
}

const NO_SPAN: TraceSpan = { recording: false, set() {}, end() {}, activate: (work) => work() }
const SPAN_KIND_INTERNAL = 0
const SPAN_KIND_CLIENT = 2
const STATUS_ERROR = 2

interface Tracing {
  api: OpenTelemetryApi
  tracer: TracerLike
}

/** Per agent: how it traces (undefined: not at all) and its invocation span, the parent of the rest. */
const agents = new WeakMap<object, { tracing: Tracing | undefined; invocation: TraceSpan | undefined }>()

/** Resolves how `agent` traces, once (loading `@opentelemetry/api` if installed and enabled). */
export async function prepareTracing(agent: object, options: TelemetryOptions = {}): Promise<void> {
  if (agents.has(agent)) return
  let tracing: Tracing | undefined
  if (options.enabled !== false) {
    const api = await loadOpenTelemetry()
    if (api) tracing = { api, tracer: options.tracer ?? api.trace.getTracer('tether-agents') }
  }
  if (!agents.has(agent)) agents.set(agent, { tracing, invocation: undefined })
}

/**
 * Starts a span for work done for `agent`: a child of its current invocation span, if any, else of
 * whatever span is active. `kind: 'client'` for calls leaving the process (model, store).
 */
export function startSpan(
  agent: object,
  name: string,
  attributes: Record<string, SpanAttributeValue | undefined>,
  kind: 'client' | 'internal' = 'internal',
): TraceSpan {
  const entry = agents.get(agent)
  const tracing = entry?.tracing
  if (!tracing) return NO_SPAN
  const { api, tracer } = tracing
  const parent = (entry.invocation as OpenSpan | undefined)?.context ?? api.context.active()
  const span = tracer.startSpan(
    name,
    { kind: kind === 'client' ? SPAN_KIND_CLIENT : SPAN_KIND_INTERNAL, attributes: defined(attributes) },
    parent,
  )
  return new OpenSpan(api, span, api.trace.setSpan(parent, span))
}

/** Starts the invocation span; until it ends, every span started for `agent` is its child. */
export function startInvocationSpan(
  agent: object,
  name: string,
  attributes: Record<string, SpanAttributeValue | undefined>,
): TraceSpan {
  const entry = agents.get(agent)
  if (!entry?.tracing) return NO_SPAN
  entry.invocation = undefined
  const span = startSpan(agent, name, attributes)
  entry.invocation = span
  const end = span.end.bind(span)
  span.end = (error?: unknown) => {
    if (entry.invocation === span) entry.invocation = undefined
    end(error)
  }
  return span
}

/** Runs `work` inside a span for `agent`, ending it with the outcome. */
export async function traced<T>(
  agent: object,
  name: string,
  attributes: Record<string, SpanAttributeValue | undefined>,
  work: (span: TraceSpan) => Promise<T>,
  kind: 'client' | 'internal' = 'internal',
): Promise<T> {
  const span = startSpan(agent, name, attributes, kind)
  try {
    const result = await span.activate(() => work(span))
    span.end()
    return result
  } catch (error) {
    span.end(error)
    throw error
  }
}

class OpenSpan implements TraceSpan {
  readonly #api: OpenTelemetryApi
  readonly #span: SpanLike
  readonly context: unknown

  constructor(api: OpenTelemetryApi, span: SpanLike, context: unknown) {
    this.#api = api
    this.#span = span
    this.context = context
  }

  get recording(): boolean {
    return this.#span.isRecording()
  }

  set(attributes: Record<string, SpanAttributeValue | undefined>): void {
    this.#span.setAttributes(defined(attributes))
  }

  end(error?: unknown): void {
    if (error !== undefined) {
      this.#span.recordException(error instanceof Error ? error : String(error))
      const message = error instanceof Error ? error.message : String(error)
      this.#span.setStatus({ code: STATUS_ERROR, message })
      this.#span.setAttributes({ 'error.type': errorType(error) })
    }
    this.#span.end()
  }

  activate<T>(work: () => T): T {
    return this.#api.context.with(this.context, work)
  }
}

/** `error.type` per the OpenTelemetry conventions: a Tether error's stable code, else the class name. */
function errorType(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string') return code
  return error instanceof Error ? error.constructor.name : typeof error
}

function defined(
  attributes: Record<string, SpanAttributeValue | undefined>,
): Record<string, SpanAttributeValue> {
  const result: Record<string, SpanAttributeValue> = {}
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined) result[key] = value
  return result
}
