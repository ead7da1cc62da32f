/**
 * A minimal deterministic tar (POSIX ustar + pax) header writer: mtime 0, uid/gid 0, empty user/group names, no
 * device numbers. Names longer than 100 bytes or not ASCII, long link targets and sizes of 8 GiB or more are written
 * as pax extended headers, which GNU tar, BSD tar, Docker and BuildKit read.
 */

/** Size of a tar block. */
export const BLOCK = 512;

/** The kinds of entries written. */
export type TarEntryType = 'file' | 'directory' | 'symlink';

const TYPEFLAG: Record<TarEntryType | 'pax', string> = { file: '0', symlink: '2', directory: '5', pax: 'x' };
const MAX_OCTAL_SIZE = 0o77777777777;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

function writeString(block: Buffer, offset: number, length: number, value: string): void {
  block.write(value, offset, length, 'utf8');
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  writeString(block, offset, length - 1, value.toString(8).padStart(length - 1, '0'));
}

function header(name: string, type: TarEntryType | 'pax', mode: number, size: number, linkname: string): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeString(block, 0, 100, name);
  writeOctal(block, 100, 8, mode);
  writeOctal(block, 108, 8, 0); // uid
  writeOctal(block, 116, 8, 0); // gid
  writeOctal(block, 124, 12, size > MAX_OCTAL_SIZE ? 0 : size);
  writeOctal(block, 136, 12, 0); // mtime
  block.fill(0x20, 148, 156); // checksum placeholder
  writeString(block, 156, 1, TYPEFLAG[type]);
  writeString(block, 157, 100, linkname);
  writeString(block, 257, 6, 'ustar');
  writeString(block, 263, 2, '00');
  writeOctal(block, 329, 8, 0); // devmajor
  writeOctal(block, 337, 8, 0); // devminor
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i]!;
  writeString(block, 148, 7, `${sum.toString(8).padStart(6, '0')}\0`);
  return block;
}

function paxRecord(key: string, value: string): string {
  // "<length> <key>=<value>\n", where <length> counts the whole record including its own digits.
  const bodyLength = Buffer.byteLength(` ${key}=${value}\n`);
  let length = bodyLength + String(bodyLength).length;
  if (String(length).length > String(bodyLength).length) length++;
  return `${length} ${key}=${value}\n`;
}

/** A deterministic stand-in for a name that does not fit a ustar field: ASCII only, at most `max` bytes. */
function fallbackName(name: string, max: number): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_');
  return ascii.length <= max ? ascii : ascii.slice(ascii.length - max);
}

/** Number of zero bytes that pad `size` bytes of content to a whole block. */
export function padding(size: number): number {
  const rest = size % BLOCK;
  return rest === 0 ? 0 : BLOCK - rest;
}

/**
 * The header block(s) of one entry. `path` is relative, `/`-separated, without a trailing slash (added for
 * directories). The entry's content (files) follows, padded with {@link padding}.
 */
export function entryHeader(path: string, type: TarEntryType, mode: number, size: number, linkname = ''): Buffer {
  const name = type === 'directory' ? `${path}/` : path;
  const records: string[] = [];
  let ustarName = name;
  let ustarLink = linkname;
  if (Buffer.byteLength(name) > 100 || !PRINTABLE_ASCII.test(name)) {
    records.push(paxRecord('path', name));
    ustarName = fallbackName(name, 100);
  }
  if (Buffer.byteLength(linkname) > 100 || !PRINTABLE_ASCII.test(linkname)) {
    records.push(paxRecord('linkpath', linkname));
    ustarLink = fallbackName(linkname, 100);
  }
  if (size > MAX_OCTAL_SIZE) records.push(paxRecord('size', String(size)));
  const main = header(ustarName, type, mode, size, ustarLink);
  if (records.length === 0) return main;
  const pax = Buffer.from(records.join(''));
  return Buffer.concat([
    header('PaxHeader', 'pax', 0o644, pax.length, ''),
    pax,
    Buffer.alloc(padding(pax.length)),
    main,
  ]);
}

/** The end-of-archive marker: two zero blocks. */
export function endOfArchive(): Buffer {
  return Buffer.alloc(BLOCK * 2);
}
