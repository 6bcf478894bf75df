// postpolicy browser helper: upload a file with a signed form token.
//
//   import { uploadFile } from 'postpolicy/browser.js';
//   const token = await (await fetch('/upload-token')).json();
//   const { key, etag } = await uploadFile(token, input.files[0], {
//     onProgress: ({ percent }) => (bar.value = percent),
//   });
//
// The token is the JSON a postpolicy signer produces (`SignedForm` serialised):
// { url, fields: { name: value, ... }, expires_at, fields_to_fill: [names] }.
// No dependencies; runs in any browser with XMLHttpRequest and FormData.

/** Content types for common extensions, used when the browser gives none. */
export const CONTENT_TYPES = {
  avif: 'image/avif', bmp: 'image/bmp', gif: 'image/gif', heic: 'image/heic',
  ico: 'image/vnd.microsoft.icon', jpeg: 'image/jpeg', jpg: 'image/jpeg',
  png: 'image/png', svg: 'image/svg+xml', tif: 'image/tiff', tiff: 'image/tiff',
  webp: 'image/webp',
  aac: 'audio/aac', flac: 'audio/flac', m4a: 'audio/mp4', mp3: 'audio/mpeg',
  ogg: 'audio/ogg', opus: 'audio/opus', wav: 'audio/wav', weba: 'audio/webm',
  avi: 'video/x-msvideo', m4v: 'video/mp4', mkv: 'video/x-matroska',
  mov: 'video/quicktime', mp4: 'video/mp4', mpeg: 'video/mpeg', webm: 'video/webm',
  csv: 'text/csv', htm: 'text/html', html: 'text/html', md: 'text/markdown',
  txt: 'text/plain', xml: 'application/xml',
  json: 'application/json', pdf: 'application/pdf', rtf: 'application/rtf',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  ppt: 'application/vnd.ms-powerpoint',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odt: 'application/vnd.oasis.opendocument.text', epub: 'application/epub+zip',
  '7z': 'application/x-7z-compressed', bz2: 'application/x-bzip2',
  gz: 'application/gzip', tar: 'application/x-tar', zip: 'application/zip',
  wasm: 'application/wasm', js: 'text/javascript', mjs: 'text/javascript',
  css: 'text/css', woff: 'font/woff', woff2: 'font/woff2', ttf: 'font/ttf',
  otf: 'font/otf',
};

/** The content type for `name` from its extension, or undefined. */
export function contentTypeFor(name) {
  const dot = String(name || '').lastIndexOf('.');
  if (dot < 0) return undefined;
  return CONTENT_TYPES[name.slice(dot + 1).toLowerCase()];
}

/** Reads one element's text from an XML document (namespace-agnostic). */
function xmlText(doc, tag) {
  if (!doc) return undefined;
  const el = doc.getElementsByTagName(tag)[0];
  return el ? el.textContent : undefined;
}

function parseXml(text) {
  if (!text || typeof DOMParser === 'undefined') return null;
  try {
    const doc = new DOMParser().parseFromString(text, 'application/xml');
    return doc.getElementsByTagName('parsererror').length ? null : doc;
  } catch {
    return null;
  }
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function decodeHeader(value) {
  if (!value) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The object key from an object URL (`…/<bucket>/<key>` or `…/<key>`). */
function keyFromLocation(location, url) {
  if (!location) return undefined;
  try {
    const base = new URL(url).pathname.replace(/\/?$/, '/');
    const path = new URL(location).pathname;
    return decodeURIComponent(path.startsWith(base) ? path.slice(base.length) : path.slice(1));
  } catch {
    return undefined;
  }
}

/** The error a rejected upload rejects with. */
function uploadError(code, message, extra) {
  const error = new Error(message);
  error.name = 'UploadError';
  error.code = code;
  return Object.assign(error, extra);
}

/**
 * Uploads `file` (a File or Blob) with a signed form `token` (object or JSON
 * text). Resolves with `{ status, key, etag, location, callback }`; rejects
 * with an Error carrying `{ code, message }` (plus `status`, `requestId` and,
 * from a postpolicy dev server, `reason`).
 *
 * Options: `onProgress({ loaded, total, percent })`, `signal` (AbortSignal),
 * `contentType` (overrides the file's), `fields` (values for the token's
 * `fields_to_fill`, e.g. `x-oss-meta-*`), `filename` (for Blobs).
 */
export function uploadFile(token, file, options = {}) {
  const { onProgress, signal, fields: extra = {} } = options;
  return new Promise((resolve, reject) => {
    let form;
    try {
      form = typeof token === 'string' ? JSON.parse(token) : token;
    } catch (e) {
      reject(uploadError('InvalidToken', `the upload token is not JSON: ${e.message}`));
      return;
    }
    if (!form || typeof form.url !== 'string' || typeof form.fields !== 'object') {
      reject(uploadError('InvalidToken', 'the upload token has no url or fields'));
      return;
    }
    if (!file) {
      reject(uploadError('NoFile', 'no file to upload'));
      return;
    }
    if (signal && signal.aborted) {
      reject(uploadError('Aborted', 'the upload was aborted'));
      return;
    }
    const filename = options.filename || file.name || 'blob';
    const contentType = options.contentType || file.type || contentTypeFor(filename) || 'application/octet-stream';
    const body = new FormData();
    const sent = new Set();
    for (const [name, value] of Object.entries(form.fields)) {
      body.append(name, value);
      sent.add(name.toLowerCase());
    }
    const toFill = Array.isArray(form.fields_to_fill) ? form.fields_to_fill : [];
    for (const [name, value] of Object.entries(extra)) {
      if (!sent.has(name.toLowerCase())) {
        body.append(name, value);
        sent.add(name.toLowerCase());
      }
    }
    // The type fields a policy restricts carry the file's type; OSS stores
    // `x-oss-content-type` ahead of the others.
    for (const typeField of ['Content-Type', 'x-oss-content-type']) {
      const lower = typeField.toLowerCase();
      if (toFill.some((n) => n.toLowerCase() === lower) && !sent.has(lower)) {
        body.append(typeField, contentType);
        sent.add(lower);
      }
    }
    // The file goes last: the service ignores every field after it.
    const part = file.type === contentType ? file : new Blob([file], { type: contentType });
    body.append('file', part, filename);

    const xhr = new XMLHttpRequest();
    xhr.open('POST', form.url);
    const onAbort = () => xhr.abort();
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      if (signal) signal.removeEventListener('abort', onAbort);
    };
    if (onProgress) {
      xhr.upload.addEventListener('progress', (e) => {
        const total = e.lengthComputable ? e.total : file.size;
        const percent = total ? Math.min(100, Math.round((e.loaded / total) * 100)) : 0;
        onProgress({ loaded: e.loaded, total, percent });
      });
    }
    xhr.addEventListener('abort', () => {
      done();
      reject(uploadError('Aborted', 'the upload was aborted'));
    });
    xhr.addEventListener('error', () => {
      done();
      reject(uploadError('NetworkError', `the upload to ${form.url} failed: network error or CORS refusal`));
    });
    xhr.addEventListener('load', () => {
      done();
      const status = xhr.status;
      const text = xhr.responseText || '';
      const requestId = xhr.getResponseHeader('x-oss-request-id') || undefined;
      const etag = xhr.getResponseHeader('ETag') || undefined;
      const xml = parseXml(text);
      const location = xmlText(xml, 'Location') || xhr.getResponseHeader('Location') || undefined;
      const key = xmlText(xml, 'Key') || keyFromLocation(location, form.url)
        || (typeof form.fields.key === 'string' ? form.fields.key.split('${filename}').join(filename) : undefined);
      if (status >= 200 && status < 300 && status !== 203) {
        if (onProgress) onProgress({ loaded: file.size, total: file.size, percent: 100 });
        const callback = text && !xml ? parseJson(text) : undefined;
        resolve({ status, key, etag: xmlText(xml, 'ETag') || etag, location, callback, requestId });
        return;
      }
      const code = xmlText(xml, 'Code') || `HTTP${status}`;
      const message = xmlText(xml, 'Message') || text || `the upload failed with HTTP ${status}`;
      const reason = decodeHeader(xhr.getResponseHeader('x-postpolicy-reason'));
      // 203 CallbackFailed: the object is stored, but the application's callback failed.
      const stored = status === 203 ? { key, etag, location } : {};
      reject(uploadError(code, message, { status, requestId, reason, ...stored }));
    });
    xhr.send(body);
  });
}
