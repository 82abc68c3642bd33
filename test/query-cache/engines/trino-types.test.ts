// Why: pins the exact Trino type names, typeSignatures and JSON value forms clients parse, so a refactor
// cannot silently change what goes on the wire.

import { describe, it, expect } from 'vitest';
import * as t from '../../../src/query-cache/engines/trino-types.ts';

const sig = (rawType: string, args: unknown[] = []) => ({ rawType, arguments: args });
const long = (value: number) => ({ kind: 'LONG', value });

describe('trino type builders', () => {
  it('builds the plain types', () => {
    const cases: Array<[t.TrinoType, string]> = [
      [t.booleanType(), 'boolean'],
      [t.tinyintType(), 'tinyint'],
      [t.smallintType(), 'smallint'],
      [t.integerType(), 'integer'],
      [t.bigintType(), 'bigint'],
      [t.realType(), 'real'],
      [t.doubleType(), 'double'],
      [t.varbinaryType(), 'varbinary'],
      [t.jsonType(), 'json'],
      [t.uuidType(), 'uuid'],
      [t.dateType(), 'date'],
      [t.intervalDayToSecondType(), 'interval day to second'],
      [t.intervalYearToMonthType(), 'interval year to month'],
      [t.unknownType(), 'unknown'],
    ];
    for (const [type, name] of cases) expect(type).toEqual({ type: name, typeSignature: sig(name) });
  });

  it('builds decimal and varchar with LONG arguments', () => {
    expect(t.decimalType(12, 2)).toEqual({ type: 'decimal(12, 2)', typeSignature: sig('decimal', [long(12), long(2)]) });
    expect(t.varcharType()).toEqual({ type: 'varchar', typeSignature: sig('varchar', [long(2147483647)]) });
    expect(t.varcharType(10)).toEqual({ type: 'varchar(10)', typeSignature: sig('varchar', [long(10)]) });
    expect(t.varcharType(t.UNBOUNDED_VARCHAR_LENGTH).type).toBe('varchar');
    expect(t.charType(3)).toEqual({ type: 'char(3)', typeSignature: sig('char', [long(3)]) });
    expect(() => t.decimalType(39, 0)).toThrow(RangeError);
    expect(() => t.decimalType(5, 6)).toThrow(RangeError);
  });

  it('builds temporal types with precision', () => {
    expect(t.timestampType(6)).toEqual({ type: 'timestamp(6)', typeSignature: sig('timestamp', [long(6)]) });
    expect(t.timestampWithTimeZoneType(6)).toEqual({
      type: 'timestamp(6) with time zone',
      typeSignature: sig('timestamp with time zone', [long(6)]),
    });
    expect(t.timeType(6)).toEqual({ type: 'time(6)', typeSignature: sig('time', [long(6)]) });
    expect(t.timeWithTimeZoneType(3)).toEqual({
      type: 'time(3) with time zone',
      typeSignature: sig('time with time zone', [long(3)]),
    });
  });

  it('builds array, map and row with nested signatures', () => {
    const bigint = t.bigintType();
    const varchar = t.varcharType();
    expect(t.arrayType(bigint)).toEqual({
      type: 'array(bigint)',
      typeSignature: sig('array', [{ kind: 'TYPE', value: sig('bigint') }]),
    });
    expect(t.mapType(varchar, bigint)).toEqual({
      type: 'map(varchar, bigint)',
      typeSignature: sig('map', [
        { kind: 'TYPE', value: varchar.typeSignature },
        { kind: 'TYPE', value: sig('bigint') },
      ]),
    });
    expect(t.rowType([{ name: 'a', type: bigint }, { name: 'b', type: varchar }])).toEqual({
      type: 'row(a bigint, b varchar)',
      typeSignature: sig('row', [
        { kind: 'NAMED_TYPE', value: { fieldName: { name: 'a' }, typeSignature: sig('bigint') } },
        { kind: 'NAMED_TYPE', value: { fieldName: { name: 'b' }, typeSignature: varchar.typeSignature } },
      ]),
    });
    expect(t.rowType([{ type: bigint }, { name: '', type: varchar }]).type).toBe('row(bigint, varchar)');
    expect(t.arrayType(t.rowType([{ name: 'x', type: t.decimalType(3, 1) }])).type).toBe('array(row(x decimal(3, 1)))');
  });

  it('makes a column', () => {
    expect(t.column('n', t.integerType())).toEqual({ name: 'n', type: 'integer', typeSignature: sig('integer') });
  });
});

describe('trino value encodings', () => {
  it('encodes floating point and big integers', () => {
    expect(t.encodeDouble(1.5)).toBe(1.5);
    expect(t.encodeDouble(Number.NaN)).toBe('NaN');
    expect(t.encodeDouble(Number.POSITIVE_INFINITY)).toBe('Infinity');
    expect(t.encodeDouble(Number.NEGATIVE_INFINITY)).toBe('-Infinity');
    expect(t.encodeReal(Math.fround(0.1))).toBe(0.1);
    expect(t.encodeReal(Math.fround(3.4028234e38))).toBe(3.4028235e38);
    expect(t.encodeBigint(42n)).toBe(42);
    expect(t.encodeBigint(9007199254740991n)).toBe(9007199254740991);
    expect(t.encodeBigint(9007199254740993n)).toBe(9007199254740993n);
    expect(t.encodeBigint(-9223372036854775808n)).toBe(-9223372036854775808n);
  });

  it('formats decimals exactly', () => {
    expect(t.formatDecimal(1230n, 2)).toBe('12.30');
    expect(t.formatDecimal(-5n, 2)).toBe('-0.05');
    expect(t.formatDecimal(0n, 3)).toBe('0.000');
    expect(t.formatDecimal(42n, 0)).toBe('42');
    expect(t.formatDecimal(12345678901234567890123456789012345678n, 10)).toBe('1234567890123456789012345678.9012345678');
  });

  it('formats dates and timestamps, including years outside 1..9999', () => {
    expect(t.formatDate(0)).toBe('1970-01-01');
    expect(t.formatDate(19753)).toBe('2024-01-31');
    expect(t.formatDate(-719162)).toBe('0001-01-01');
    expect(t.formatDate(-719163)).toBe('0000-12-31');
    expect(t.formatDate(2932896)).toBe('9999-12-31');
    expect(t.formatDate(2932897)).toBe('+10000-01-01');
    expect(t.formatDate(-756052)).toBe('-0100-01-01');
    expect(t.formatTimestamp(1706704496789000n, 6)).toBe('2024-01-31 12:34:56.789000');
    expect(t.formatTimestamp(1706704496789n, 3)).toBe('2024-01-31 12:34:56.789');
    expect(t.formatTimestamp(1706704496n, 0)).toBe('2024-01-31 12:34:56');
    expect(t.formatTimestamp(1706704496789123456n, 9)).toBe('2024-01-31 12:34:56.789123456');
    expect(t.formatTimestamp(-1n, 6)).toBe('1969-12-31 23:59:59.999999');
  });

  it('formats times, offsets and intervals', () => {
    expect(t.formatTimeOfDay(45296789000n, 6)).toBe('12:34:56.789000');
    expect(t.formatTimeOfDay(0n, 0)).toBe('00:00:00');
    expect(t.formatOffset(5400)).toBe('+01:30');
    expect(t.formatOffset(-18000)).toBe('-05:00');
    expect(t.formatIntervalDayToSecond(93_784_000n)).toBe('1 02:03:04.000');
    expect(t.formatIntervalDayToSecond(-7_200_000n)).toBe('-0 02:00:00.000');
  });
});
