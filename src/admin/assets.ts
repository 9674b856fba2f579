import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { SCRIPT } from './assets/script.ts'
import { STYLES } from './assets/styles.ts'
import { securityHeaders } from './responses.ts'

/**
 * The dashboard's static files. Its own stylesheet and script live in modules as strings, so
 * that `tsc` ships them in `dist/` with nothing to copy; uPlot's files are read from the
 * installed `uplot` package (a dependency) the first time they are asked for, then kept.
 */
export type AssetName = 'admin.css' | 'admin.js' | 'uplot.css' | 'uplot.js'

interface Asset {
  body: Buffer
  type: string
  /** A hash of the content: pages link `?v=<version>`, which may be cached for good. */
  version: string
}

const UPLOT_FILES: Record<'uplot.css' | 'uplot.js', string> = {
  'uplot.css': 'uplot/dist/uPlot.min.css',
  'uplot.js': 'uplot/dist/uPlot.iife.min.js',
}

const loaded = new Map<AssetName, Asset>()

function asset(body: string | Buffer, type: string): Asset {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  const version = createHash('sha256').update(bytes).digest('base64url').slice(0, 16)
  return { body: bytes, type, version }
}

function load(name: AssetName): Asset {
  const cached = loaded.get(name)
  if (cached) return cached
  let made: Asset
  if (name === 'admin.css') made = asset(STYLES, 'text/css; charset=utf-8')
  else if (name === 'admin.js') made = asset(SCRIPT, 'text/javascript; charset=utf-8')
  else {
    const path = createRequire(import.meta.url).resolve(UPLOT_FILES[name])
    const type = name === 'uplot.css' ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8'
    made = asset(readFileSync(path), type)
  }
  loaded.set(name, made)
  return made
}

/** Whether `name` is one of the dashboard's files. */
export function isAssetName(name: string): name is AssetName {
  return name === 'admin.css' || name === 'admin.js' || name === 'uplot.css' || name === 'uplot.js'
}

/** The URL of a file, with its version so that browsers may keep it. */
export function assetUrl(base: string, name: AssetName): string {
  return `${base}/assets/${name}?v=${load(name).version}`
}

/**
 * Serves a file: cached for a year when the request names its current version, otherwise
 * revalidated; `304` when the browser has it.
 */
export function serveAsset(name: AssetName, request: Request): Response {
  const { body, type, version } = load(name)
  const etag = `"${version}"`
  const current = new URL(request.url).searchParams.get('v') === version
  const headers = {
    ...securityHeaders(),
    'content-type': type,
    etag,
    'cache-control': current ? 'public, max-age=31536000, immutable' : 'no-cache',
  }
  if (request.headers.get('if-none-match') === etag) {
    return new Response(null, { status: 304, headers })
  }
  return new Response(new Uint8Array(body), { headers })
}
