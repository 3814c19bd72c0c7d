/**
 * Where chat-ops takes the operators' admin token from: --admin-token-file,
 * else CHAT_ADMIN_TOKEN, else the local cluster's own file, but only for the
 * local cluster's addresses (the token of the local cluster is never sent to
 * other servers).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminTokenFromOptions, DEFAULT_SERVERS, UsageError } from '../../src/ops/options.js';

let dir: string;
let given: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'chat-ops-token-'));
  writeFileSync(join(dir, 'admin-token'), 'local-cluster-token\n');
  given = join(dir, 'given');
  writeFileSync(given, '  given-token \n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the admin token', () => {
  it("is the local cluster's own file for the local cluster's addresses", () => {
    expect(adminTokenFromOptions({}, { CHAT_LOCAL_DATA: dir })).toBe('local-cluster-token');
    expect(adminTokenFromOptions({ servers: DEFAULT_SERVERS }, { CHAT_LOCAL_DATA: dir })).toBe('local-cluster-token');
  });

  it("is never the local cluster's for other servers", () => {
    expect(adminTokenFromOptions({ servers: '10.0.0.1:50051' }, { CHAT_LOCAL_DATA: dir })).toBeUndefined();
  });

  it('comes from --admin-token-file first, then CHAT_ADMIN_TOKEN', () => {
    expect(
      adminTokenFromOptions({ adminTokenFile: given }, { CHAT_LOCAL_DATA: dir, CHAT_ADMIN_TOKEN: 'env-token' }),
    ).toBe('given-token');
    expect(
      adminTokenFromOptions({ servers: '10.0.0.1:50051' }, { CHAT_LOCAL_DATA: dir, CHAT_ADMIN_TOKEN: 'env-token' }),
    ).toBe('env-token');
  });

  it('is a usage error when the file given cannot be read', () => {
    expect(() => adminTokenFromOptions({ adminTokenFile: join(dir, 'missing') }, {})).toThrow(UsageError);
  });
});
