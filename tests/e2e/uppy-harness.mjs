// Added by the browser test to the demo page (so it runs on the demo
// application's origin): Uppy's @uppy/aws-s3 in POST mode, with postpolicy's
// adapter fetching the token, and `window.uppyUpload` to drive it.
import { AwsS3, Uppy } from '/__e2e/uppy.min.mjs'
import { uppyUploadParameters } from '/browser.js'

const uppy = new Uppy()
uppy.use(AwsS3, {
  shouldUseMultipart: false,
  getUploadParameters: uppyUploadParameters(() => fetch('/upload-token').then((r) => r.json())),
})

/** The test's byte pattern (the same generator as upload.test.mjs). */
function pattern(size, seed) {
  const bytes = new Uint8Array(size)
  let x = seed >>> 0
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    bytes[i] = x >>> 24
  }
  return bytes
}

/** Uploads one generated file with Uppy; resolves with what Uppy reported. */
window.uppyUpload = async (name, type, size, seed) => {
  for (const file of uppy.getFiles()) uppy.removeFile(file.id)
  const events = []
  const onSuccess = (file, response) =>
    events.push({
      event: 'upload-success',
      name: file.name,
      etag: response.body.ETag,
      location: response.uploadURL,
    })
  const onError = (file, error) =>
    events.push({
      event: 'upload-error',
      name: file?.name,
      code: error.code,
      message: error.message,
      reason: error.reason,
    })
  uppy.on('upload-success', onSuccess)
  uppy.on('upload-error', onError)
  try {
    uppy.addFile({ name, type, data: new Blob([pattern(size, seed)], { type }), source: 'e2e' })
    await uppy.upload()
  } finally {
    uppy.off('upload-success', onSuccess)
    uppy.off('upload-error', onError)
  }
  return events
}
document.body.dataset.uppy = 'ready'
