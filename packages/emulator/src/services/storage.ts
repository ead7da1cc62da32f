/** Cloud Storage JSON API surface of the emulator (implementation in `./storage/`). */

export { crc32cBase64, crc32cUpdate } from './storage/crc32c.js';
export { storageService } from './storage/service.js';
