/**
 * The records of the log's segment files. Each is framed as
 * `[u32 length][u32 crc32 of the payload][payload]` (little-endian), so a
 * reader finds where a torn write at the end of a file begins: the first frame
 * whose length runs past the end of the file, whose checksum does not match, or
 * that is all zeros (space the file system allocated but never wrote).
 *
 * Payloads start with their type:
 * - `entry`: a log entry; one whose index is at or below the log's end replaces
 *   the log from that index on (a truncation is the next entry written);
 * - `hard`: the hard state (epoch, promise);
 * - `start`: opens every segment: where the log stood when it began (the entry
 *   before it, the configuration there, the hard state), or, with `reset`, where
 *   an installed snapshot put the log's base.
 */
import { crc32 as zlibCrc32 } from 'node:zlib';
import { normalizeConfig, type StoredConfig } from '../replication/membership.js';
import type { Config, Entry, EntryKind, HardState } from '../replication/types.js';

export interface SegmentStart {
  prevIndex: number;
  prevEpoch: number;
  /** The configuration in force at `prevIndex`. */
  config: Config;
  hard: HardState;
  /** A snapshot was installed: the log starts over at `prevIndex`, whatever the segments before held. */
  reset: boolean;
}

export type LogRecord =
  { type: 'entry'; entry: Entry } | { type: 'hard'; hard: HardState } | { type: 'start'; start: SegmentStart };

const FRAME_HEADER = 8;
/** No record is larger (an entry carries at most a chat op or a configuration); a bigger length is a torn frame. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

const TYPE_ENTRY = 1;
const TYPE_HARD = 2;
const TYPE_START = 3;
const KINDS: readonly EntryKind[] = ['op', 'config'];
/** Indexes and epochs take six bytes: 2^48 is far beyond any log. */
const U48 = 6;

const crc32: (data: Uint8Array) => number = typeof zlibCrc32 === 'function' ? (data) => zlibCrc32(data) : tableCrc32;

/** One frame per record, ready to be appended. */
export function encodeRecord(record: LogRecord): Buffer {
  let payload: Buffer;
  if (record.type === 'entry') {
    const { index, epoch, kind, data } = record.entry;
    if (!KINDS.includes(kind)) throw new Error(`no record format for entries of kind ${kind}`);
    payload = Buffer.allocUnsafe(2 + 2 * U48 + data.byteLength);
    payload[0] = TYPE_ENTRY;
    payload[1] = KINDS.indexOf(kind);
    payload.writeUIntLE(index, 2, U48);
    payload.writeUIntLE(epoch, 2 + U48, U48);
    payload.set(data, 2 + 2 * U48);
  } else if (record.type === 'hard') {
    const promisedTo = Buffer.from(record.hard.promisedTo, 'utf8');
    payload = Buffer.allocUnsafe(1 + U48 + promisedTo.length);
    payload[0] = TYPE_HARD;
    payload.writeUIntLE(record.hard.epoch, 1, U48);
    promisedTo.copy(payload, 1 + U48);
  } else {
    payload = Buffer.concat([Buffer.of(TYPE_START), Buffer.from(JSON.stringify(record.start), 'utf8')]);
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  payload.copy(frame, FRAME_HEADER);
  return frame;
}

export interface DecodedFile {
  records: LogRecord[];
  /** Bytes of whole, intact frames from the start of the file: where a torn tail begins. */
  validBytes: number;
}

/** The intact records at the start of a segment file, up to the first torn or damaged frame. */
export function decodeRecords(file: Buffer): DecodedFile {
  const records: LogRecord[] = [];
  let offset = 0;
  while (offset + FRAME_HEADER <= file.length) {
    const length = file.readUInt32LE(offset);
    const sum = file.readUInt32LE(offset + 4);
    if (length === 0 || length > MAX_RECORD_BYTES || offset + FRAME_HEADER + length > file.length) break;
    const payload = file.subarray(offset + FRAME_HEADER, offset + FRAME_HEADER + length);
    if (crc32(payload) !== sum) break;
    const record = decodePayload(payload);
    if (!record) break;
    records.push(record);
    offset += FRAME_HEADER + length;
  }
  return { records, validBytes: offset };
}

function decodePayload(payload: Buffer): LogRecord | undefined {
  switch (payload[0]) {
    case TYPE_ENTRY: {
      const kind = KINDS[payload[1]!];
      if (!kind || payload.length < 2 + 2 * U48) return undefined;
      const index = payload.readUIntLE(2, U48);
      const epoch = payload.readUIntLE(2 + U48, U48);
      // A copy: the entry outlives the file's buffer.
      return { type: 'entry', entry: { index, epoch, kind, data: new Uint8Array(payload.subarray(2 + 2 * U48)) } };
    }
    case TYPE_HARD:
      if (payload.length < 1 + U48) return undefined;
      return {
        type: 'hard',
        hard: { epoch: payload.readUIntLE(1, U48), promisedTo: payload.toString('utf8', 1 + U48) },
      };
    case TYPE_START: {
      const start = JSON.parse(payload.toString('utf8', 1)) as Omit<SegmentStart, 'config'> & { config: StoredConfig };
      // Segments written before lineages and incarnations: a missing force is 0, a missing incarnation ''.
      return { type: 'start', start: { ...start, config: normalizeConfig(start.config) } };
    }
    default:
      return undefined;
  }
}

let table: Uint32Array | undefined;

/** CRC-32 (the zlib polynomial) for Node versions before zlib.crc32 (20.15). */
function tableCrc32(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
