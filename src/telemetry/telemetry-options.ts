/** An attribute value OpenTelemetry accepts. */
export type SpanAttributeValue = string | number | boolean | string[] | number[]

/** The part of an OpenTelemetry `Span` Tether uses; a span from `@opentelemetry/api` is one. */
export interface SpanLike {
  setAttributes(attributes: Record<string, SpanAttributeValue>): unknown
  setStatus(status: { code: number; message?: string }): unknown
  recordException(exception: Error | string): void
  isRecording(): boolean
  end(): void
}

/**
 * The part of an OpenTelemetry `Tracer` Tether uses; `trace.getTracer('my-app')` from
 * `@opentelemetry/api` is one. Declared here so Tether's typings need no `@opentelemetry/api`.
 */
export interface TracerLike {
  startSpan(
    name: string,
    options?: { kind?: number; attributes?: Record<string, SpanAttributeValue> },
    context?: unknown,
  ): SpanLike
}

/**
 * OpenTelemetry tracing. Tether traces through `@opentelemetry/api`, an optional peer dependency:
 * installed, it is loaded once, on the first invocation, and spans go to whatever tracer provider
 * the application registered (none registered: OpenTelemetry's own no-op). Not installed: nothing
 * is loaded and nothing is traced.
 */
export interface TelemetryOptions {
  /** `false` never loads `@opentelemetry/api`, even when it is installed. Default `true`. */
  enabled?: boolean
  /** The tracer to use. Default: the global tracer provider's `tether-agents` tracer. */
  tracer?: TracerLike
}
