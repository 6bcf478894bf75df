// The browser helper as a typed page uses it (checked by `tsc`, never run).

import type { Refusal, UploadError, UploadToken } from 'postpolicy/browser.js'
import { checkFile, parseUploadResponse, uploadFile, uppyUploadParameters } from 'postpolicy/browser.js'

export async function upload(input: HTMLInputElement, bar: HTMLProgressElement): Promise<string> {
  const token: UploadToken = await (await fetch('/upload-token')).json()
  const file = input.files?.[0]
  if (!file) return 'no file'
  const refused: Refusal | null = checkFile(token, file, { contentType: file.type })
  if (refused) return `${refused.code}: ${refused.reason ?? refused.message}`
  try {
    const { key, etag } = await uploadFile(token, file, { onProgress: ({ percent }) => (bar.value = percent) })
    return `${key} ${etag}`
  } catch (e) {
    const error = e as UploadError
    return `${error.code}: ${error.reason ?? error.message}`
  }
}

export const getUploadParameters = uppyUploadParameters(() => fetch('/upload-token').then((r) => r.json()))

export function answer(xhr: XMLHttpRequest): string | undefined {
  return parseUploadResponse(xhr).etag
}
