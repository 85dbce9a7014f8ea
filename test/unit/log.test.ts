import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failureLine } from '../../src/cli/run-main';
import { createLogger, formatFields, redactFields, scrub } from '../../src/log';

describe('log redaction', () => {
  it('never prints a field that can hold a raw value, at any depth', () => {
    const line = formatFields({
      ip: '198.51.100.7',
      device_id: '555-44-3333',
      batch: { rows: [{ device_id: '555-44-3333' }], size: 1 },
      body: '{"device_id":"555-44-3333"}',
      count: 3,
    });
    assert.ok(!line.includes('555-44-3333') && !line.includes('198.51.100.7'), line);
    assert.match(line, /ip=\[redacted\]/);
    assert.match(line, /count=3/);
  });

  it('replaces IP addresses in free text, but not the local endpoints, versions or tokens', () => {
    assert.equal(scrub('from 198.51.100.7 and ::ffff:10.0.0.1 and 2001:DB8::1%eth0'), 'from [ip] and [ip] and [ip]');
    const kept = 'Temporal at 127.0.0.1:7233, app 1.2.3, token v1:9f86d081884c7d659a2feaa0c55ad015, at 12:30:45';
    assert.equal(scrub(kept), kept);
  });

  it('replaces an address at the end of a sentence, after an underscore or a letter, or zero-padded', () => {
    assert.equal(scrub('refused 198.51.100.7.'), 'refused [ip].');
    assert.equal(scrub('key ip_198.51.100.7 and x10.0.0.1'), 'key ip_[ip] and x[ip]');
    assert.equal(scrub('padded 010.001.002.003 and 198.051.100.007'), 'padded [ip] and [ip]');
    assert.equal(scrub('field_2001:db8::7 ended.'), 'field_[ip] ended.');
    assert.equal(scrub('not an address: 1.2.3.4.5 or 300.1.1.1'), 'not an address: 1.2.3.4.5 or 300.1.1.1');
  });

  it("redacts a failed command's reason, down its cause chain", () => {
    const error = new Error('load failed', { cause: new Error('connect ECONNREFUSED 198.51.100.7:5432') });
    assert.equal(failureLine(error), 'login-etl: load failed: connect ECONNREFUSED [ip]:5432');
  });

  it('keeps a database error code but not the value it quotes', () => {
    const error = Object.assign(new Error('invalid input syntax for type inet: "555-44-3333"'), { code: '22P02' });
    assert.deepEqual(redactFields({ error }), {
      error: { name: 'Error', code: '22P02', message: 'invalid input syntax for type inet: "[redacted]"' },
    });
  });

  it('writes one line per event, as text by default', () => {
    const lines: string[] = [];
    const log = createLogger('test', (line) => lines.push(line));
    log.warn('refused 198.51.100.7', { device_id: 'x', batch: 3 });
    assert.deepEqual(lines, ['[test] WARN refused [ip] device_id=[redacted] batch=3\n']);
  });
});
