import { ConfigurationError } from '../errors/configuration-error.ts'
import type { SpanLike, TracerLike } from './telemetry-options.ts'

/** The functions of `@opentelemetry/api` Tether calls, typed here so the package needs it only at run time. */
export interface OpenTelemetryApi {
  trace: {
    getTracer(name: string, version?: string): TracerLike
    setSpan(context: unknown, span: SpanLike): unknown
  }
  context: {
    active(): unknown
    with<T>(context: unknown, work: () => T): T
  }
}

let loading: Promise<OpenTelemetryApi | undefined> | undefined

/**
 * `@opentelemetry/api` if the application installed it, else undefined; imported once per process
 * (a dynamic import, so an app without it never pays for it and never fails on it). Any failure
 * other than "not installed" reaches the caller: a broken install is not silently untraced.
 */
export function loadOpenTelemetry(): Promise<OpenTelemetryApi | undefined> {
  loading ??= import('@opentelemetry/api').then(
    (api) => api as unknown as OpenTelemetryApi,
    (error: unknown) => {
      const code = (error as { code?: unknown } | null)?.code
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return undefined
      loading = undefined
      throw new ConfigurationError(
        '@opentelemetry/api is installed but could not be loaded; reinstall it, or pass `telemetry: { enabled: false }`.',
        { cause: error },
      )
    },
  )
  return loading
}
