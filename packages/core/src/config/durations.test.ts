import { expect, test } from 'vitest';
import { durationToJson, parseDuration, toDurationMessage } from './durations.js';

test('parseDuration accepts seconds and unit strings, refuses the rest', () => {
  const accepted: Array<[unknown, number]> = [
    [3600, 3600],
    ['3600', 3600],
    ['3600s', 3600],
    ['90m', 5400],
    ['2h', 7200],
    ['1h30m', 5400],
    ['1d', 86_400],
    ['1.5s', 1.5],
    [0, 0],
  ];
  for (const [input, seconds] of accepted) expect(parseDuration(input), String(input)).toBe(seconds);
  for (const bad of ['', '2 hours', '1h30', 'm', '-5s', '30m1h', -1, Number.NaN, null, true]) {
    expect(parseDuration(bad), String(bad)).toBeUndefined();
  }
});

test('Duration messages and their proto3 JSON', () => {
  expect(toDurationMessage(3600)).toEqual({ seconds: '3600' });
  expect(toDurationMessage(1.25)).toEqual({ seconds: '1', nanos: 250_000_000 });
  expect(durationToJson({ seconds: '3600' })).toBe('3600s');
  expect(durationToJson({ seconds: '1', nanos: 250_000_000 })).toBe('1.250s');
  expect(durationToJson({ seconds: '0', nanos: 1 })).toBe('0.000000001s');
});
