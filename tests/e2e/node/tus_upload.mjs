// Uploads one file to assetd's tus endpoint with tus-js-client (its Node build), for the Rust e2e
// tests. Configured by environment variables; prints one JSON object per line on stdout:
//
//   {"event":"created","url":U,"resumed":B}     the upload URL is known (onUploadUrlAvailable:
//                                                after the POST; again, with resumed=true, after
//                                                each HEAD of a resume or retry; not emitted in
//                                                parallel mode)
//   {"event":"progress","sent":N,"total":M}     bytes sent (onProgress), at most one line per
//                                                64 KiB of change, plus the last one
//   {"event":"chunk","accepted":N,"total":M,"size":S}  a PATCH (or creation-with-data POST) was
//                                                acknowledged: N is the server's Upload-Offset
//   {"event":"success","url":U,"status":S,"lastResponseHeaders":{...}}  exit 0
//   {"event":"error","message":M,"status":S|null,"body":B|null,"lastResponseHeaders":{...}}
//                                                exit 1
//
// Environment:
//   TUS_ENDPOINT    creation URL, e.g. http://127.0.0.1:PORT/v1/uploads (may be empty when
//                   TUS_UPLOAD_URL is set: a failing HEAD is then an error instead of a new upload)
//   TUS_KEY         sent as `x-api-key` on every request
//   TUS_FILE        path of the file to upload
//   TUS_PROTOCOL    tus-v1 (default) | ietf-draft-03 | ietf-draft-05
//   TUS_CHUNK_SIZE  bytes per PATCH (default: Infinity, i.e. one request)
//   TUS_UPLOAD_URL  resume this upload URL (tus-js-client's `uploadUrl`: HEAD, then PATCH)
//   TUS_FILENAME    metadata `filename` (default: the file's base name)
//   TUS_PROJECT_ID  metadata `projectId` (optional)
//   TUS_PARALLEL    parallelUploads (tus-v1 only: partial uploads + a final Upload-Concat POST)
//   TUS_THROTTLE_BYTES_PER_SEC  read the file through a throttled Readable (passed with
//                   `uploadSize`), so that a test can kill the process mid-upload; needs a finite
//                   chunk size, so TUS_CHUNK_SIZE defaults to the file size then
//   TUS_DATA_DURING_CREATION=1  uploadDataDuringCreation (the first chunk goes in the POST)
//   TUS_DEFER_LENGTH=1          uploadLengthDeferred (tus-v1: Upload-Defer-Length: 1)
//   TUS_SOURCE      buffer (default: the whole file read into a Buffer) | fs (an fs.ReadStream,
//                   which tus-js-client slices by path; note its last-chunk `done` quirk in ietf
//                   modes, see target/ietf-notes.md)
//   TUS_RETRY_DELAYS  JSON array overriding retryDelays (default [0,200,500,1000]; "null" = none)
//   TUS_DEBUG=1     tus-js-client's own debug log (stderr)
//
// tus-js-client is loaded with require() from this file's location, so NODE_PATH works
// (ESM `import` would ignore it): run as
//   NODE_PATH=target/node-tus/node_modules node tests/e2e/node/tus_upload.mjs

import { createRequire } from 'node:module'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { Readable } from 'node:stream'

const require = createRequire(import.meta.url)
const tus = require('tus-js-client')

const env = process.env
let lastHeaders = {}
let lastStatus = null
let finished = false

function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`)
}

function fail(message, status = null, body = null) {
  if (finished) return
  finished = true
  emit({ event: 'error', message, status, body, lastResponseHeaders: lastHeaders })
  process.exitCode = 1
  // Let stdout drain, then leave even if a retry timer or socket is still pending.
  setTimeout(() => process.exit(1), 50)
}

function intVar(name) {
  const raw = env[name]
  if (raw == null || raw === '') return null
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) {
    fail(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`)
    return undefined
  }
  return n
}

// A Readable that serves `buffer` at about `rate` bytes per second, in slices of at most 16 KiB.
class ThrottledReadable extends Readable {
  constructor(buffer, rate) {
    super({ highWaterMark: 16 * 1024 })
    this._buf = buffer
    this._pos = 0
    this._rate = rate
    this._started = Date.now()
    this._timer = null
  }

  _read() {
    if (this._timer) return
    if (this._pos >= this._buf.length) {
      this.push(null)
      return
    }
    // Time at which the bytes up to _pos may have been sent.
    const due = this._started + (this._pos / this._rate) * 1000
    const wait = Math.max(0, due - Date.now())
    this._timer = setTimeout(() => {
      this._timer = null
      const n = Math.min(16 * 1024, Math.max(1, Math.floor(this._rate / 10)), this._buf.length - this._pos)
      const slice = this._buf.subarray(this._pos, this._pos + n)
      this._pos += n
      if (this.push(slice) && this._pos < this._buf.length) this._read()
      else if (this._pos >= this._buf.length) this.push(null)
    }, wait)
  }

  _destroy(err, cb) {
    if (this._timer) clearTimeout(this._timer)
    cb(err)
  }
}

function headersOf(res) {
  try {
    const raw = res.getUnderlyingObject()?.headers
    if (raw && typeof raw === 'object') return { ...raw }
  } catch {
    // fall through
  }
  const out = {}
  for (const name of ['upload-offset', 'upload-length', 'upload-complete', 'location', 'x-asset-id']) {
    const v = res.getHeader(name)
    if (v != null) out[name] = v
  }
  return out
}

function main() {
  const endpoint = env.TUS_ENDPOINT || null
  const uploadUrl = env.TUS_UPLOAD_URL || null
  const file = env.TUS_FILE
  const protocol = env.TUS_PROTOCOL || 'tus-v1'
  if (!file) return fail('TUS_FILE is not set')
  if (!endpoint && !uploadUrl) return fail('set TUS_ENDPOINT (and/or TUS_UPLOAD_URL)')

  const chunkSizeVar = intVar('TUS_CHUNK_SIZE')
  const parallel = intVar('TUS_PARALLEL')
  const throttle = intVar('TUS_THROTTLE_BYTES_PER_SEC')
  if ([chunkSizeVar, parallel, throttle].includes(undefined)) return

  let data
  try {
    data = fs.readFileSync(file)
  } catch (err) {
    return fail(`cannot read TUS_FILE: ${err.message}`)
  }

  let retryDelays = [0, 200, 500, 1000]
  if (env.TUS_RETRY_DELAYS) {
    try {
      retryDelays = JSON.parse(env.TUS_RETRY_DELAYS)
    } catch (err) {
      return fail(`TUS_RETRY_DELAYS is not JSON: ${err.message}`)
    }
  }

  const metadata = { filename: env.TUS_FILENAME || path.basename(file) }
  if (env.TUS_PROJECT_ID) metadata.projectId = env.TUS_PROJECT_ID

  let source
  let chunkSize = chunkSizeVar ?? Number.POSITIVE_INFINITY
  const options = {}
  if (throttle) {
    source = new ThrottledReadable(data, throttle)
    options.uploadSize = data.length
    // A stream source needs a finite chunk size (tus-js-client buffers one chunk in memory).
    if (!Number.isFinite(chunkSize)) chunkSize = Math.max(1, data.length)
  } else if (env.TUS_SOURCE === 'fs') {
    source = fs.createReadStream(file)
  } else {
    source = data
  }

  if (env.TUS_DEBUG === '1') tus.enableDebugLog()

  let lastProgress = -1
  let createdCount = 0
  let lastTotal = null
  let upload = null
  upload = new tus.Upload(source, {
    endpoint,
    uploadUrl,
    protocol,
    chunkSize,
    retryDelays,
    metadata,
    headers: { 'x-api-key': env.TUS_KEY || '' },
    storeFingerprintForResuming: false,
    removeFingerprintOnSuccess: false,
    parallelUploads: parallel && parallel > 1 ? parallel : 1,
    uploadDataDuringCreation: env.TUS_DATA_DURING_CREATION === '1',
    uploadLengthDeferred: env.TUS_DEFER_LENGTH === '1',
    ...options,
    onAfterResponse(_req, res) {
      lastStatus = res.getStatus()
      lastHeaders = headersOf(res)
    },
    onUploadUrlAvailable() {
      emit({ event: 'created', url: upload.url, resumed: createdCount++ > 0 || (uploadUrl != null && upload.url === uploadUrl) })
    },
    onProgress(sent, total) {
      lastTotal = total
      if (lastProgress < 0 || Math.abs(sent - lastProgress) >= 64 * 1024 || sent === total) {
        if (sent !== lastProgress) emit({ event: 'progress', sent, total })
        lastProgress = sent
      }
    },
    onChunkComplete(size, accepted, total) {
      emit({ event: 'chunk', accepted, total, size })
    },
    onSuccess(payload) {
      if (finished) return
      finished = true
      const res = payload?.lastResponse
      const headers = res ? headersOf(res) : lastHeaders
      const status = res ? res.getStatus() : lastStatus
      emit({ event: 'success', url: upload.url, status, total: lastTotal ?? data.length, lastResponseHeaders: headers })
      process.exitCode = 0
      setTimeout(() => process.exit(0), 50)
    },
    onError(err) {
      const res = err?.originalResponse
      let status = null
      let body = null
      if (res) {
        status = res.getStatus()
        body = res.getBody() ?? null
        lastHeaders = headersOf(res)
      }
      fail(String(err?.message ?? err), status, body)
    },
  })
  upload.start()
}

main()
