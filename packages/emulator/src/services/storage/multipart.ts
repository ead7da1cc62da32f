/**
 * Streaming reader for `multipart/related` upload bodies (`uploadType=multipart`): part 1 is the object's JSON
 * metadata (kept in memory, small), part 2 the media, which is handed to `sink` chunk by chunk and never
 * buffered whole.
 */
import { StorageHttpError } from './http.js';

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
const MAX_METADATA = 1024 * 1024;
const MAX_HEADERS = 16 * 1024;

/** The boundary parameter of a `multipart/related; boundary=...` Content-Type, or undefined. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/related\b/i.test(contentType.trim())) return undefined;
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

/** Result of reading a multipart upload: the metadata part and the media part's Content-Type. */
export interface MultipartResult {
  metadata: Buffer;
  mediaContentType: string | undefined;
}

function bad(message: string): StorageHttpError {
  return new StorageHttpError(400, 'invalid', `Malformed multipart/related upload body: ${message}`);
}

/** Reads `body` as multipart/related with `boundary`, streaming the media part into `sink`. */
export async function readMultipartRelated(
  body: AsyncIterable<Buffer>,
  boundary: string,
  sink: (chunk: Buffer) => Promise<void>,
): Promise<MultipartResult> {
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const keep = delimiter.length - 1;
  // A virtual CRLF lets the first boundary (which has none before it) match the same delimiter.
  let buf: Buffer = Buffer.from(CRLF);
  let state: 'preamble' | 'afterDelimiter' | 'headers' | 'body' | 'done' = 'preamble';
  let part = 0;
  const metadataChunks: Buffer[] = [];
  let metadataSize = 0;
  let mediaContentType: string | undefined;
  let partContentType: string | undefined;

  const emit = async (chunk: Buffer): Promise<void> => {
    if (chunk.length === 0) return;
    if (part === 1) {
      metadataSize += chunk.length;
      if (metadataSize > MAX_METADATA) throw bad(`the metadata part is larger than ${MAX_METADATA} bytes`);
      metadataChunks.push(Buffer.from(chunk));
    } else if (part === 2) {
      await sink(chunk);
    }
  };

  const step = async (final: boolean): Promise<boolean> => {
    switch (state) {
      case 'preamble': {
        const i = buf.indexOf(delimiter);
        if (i < 0) {
          if (buf.length > keep) buf = buf.subarray(buf.length - keep);
          return false;
        }
        buf = buf.subarray(i + delimiter.length);
        state = 'afterDelimiter';
        return true;
      }
      case 'afterDelimiter': {
        // Transport padding (spaces/tabs) may follow a delimiter.
        let j = 0;
        while (j < buf.length && (buf[j] === 0x20 || buf[j] === 0x09)) j++;
        if (buf.length - j < 2) return false;
        if (buf[j] === 0x2d && buf[j + 1] === 0x2d) {
          state = 'done';
          return false;
        }
        if (buf[j] !== 0x0d || buf[j + 1] !== 0x0a) throw bad('expected CRLF after a boundary');
        buf = buf.subarray(j + 2);
        state = 'headers';
        return true;
      }
      case 'headers': {
        let headerText: string;
        if (buf.length >= 2 && buf[0] === 0x0d && buf[1] === 0x0a) {
          headerText = '';
          buf = buf.subarray(2);
        } else {
          const i = buf.indexOf(HEADER_END);
          if (i < 0) {
            if (buf.length > MAX_HEADERS) throw bad('part headers are too long');
            return false;
          }
          headerText = buf.subarray(0, i).toString('latin1');
          buf = buf.subarray(i + HEADER_END.length);
        }
        part++;
        if (part > 2) throw bad('expected exactly two parts (JSON metadata, then media)');
        partContentType = undefined;
        for (const line of headerText.split('\r\n')) {
          const m = /^content-type:\s*(.*)$/i.exec(line);
          if (m) partContentType = m[1]?.trim();
        }
        if (part === 2) mediaContentType = partContentType;
        state = 'body';
        return true;
      }
      case 'body': {
        const i = buf.indexOf(delimiter);
        if (i < 0) {
          if (buf.length > keep) {
            await emit(buf.subarray(0, buf.length - keep));
            buf = buf.subarray(buf.length - keep);
          }
          if (final) throw bad('the body ended before the closing boundary');
          return false;
        }
        await emit(buf.subarray(0, i));
        buf = buf.subarray(i + delimiter.length);
        state = 'afterDelimiter';
        return true;
      }
      case 'done':
        return false;
    }
  };

  for await (const chunk of body) {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (await step(false)) {
      /* keep consuming */
    }
  }
  while (await step(true)) {
    /* drain */
  }
  if ((state as string) !== 'done') throw bad('the body ended before the closing boundary');
  if (part < 2) throw bad('expected two parts (JSON metadata, then media), found fewer');
  return { metadata: Buffer.concat(metadataChunks), mediaContentType };
}
