/** Durations as people write and read them (src/duration.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatCalendar, formatInterval, parseDuration } from '../src/duration';

test('an interval prints back the way --every takes it, never as seconds', () => {
  const cases: Array<[string, string]> = [['90d', '90d'], ['7d', '7d'], ['36h', '36h'], ['1h30m', '90m'], ['30s', '30s'], ['1500ms', '1500ms'], ['24h', '1d']];
  for (const [given, shown] of cases) {
    assert.equal(formatInterval(parseDuration(given)), shown, given);
    assert.equal(parseDuration(formatInterval(parseDuration(given))), parseDuration(given), `${given} round-trips`);
  }
});

test('a time prints as a calendar date in UTC', () => {
  assert.equal(formatCalendar(new Date('2027-02-19T09:00:00.000Z')), '2027-02-19 09:00 UTC');
  assert.equal(formatCalendar(new Date('2027-02-19T09:00:07.250Z')), '2027-02-19 09:00:07 UTC');
});
