// Why: every engine must describe columns and encode values exactly as Trino does (type name, typeSignature,
// JSON value forms), so clients see the same thing whichever engine answered.

import type { Column, TypeArgument, TypeSignature } from './engine.ts';

/** A Trino type: its display name (`decimal(12, 2)`) and its structured signature. */
export interface TrinoType {
  type: string;
  typeSignature: TypeSignature;
}

/** Trino's length for an unbounded varchar (Integer.MAX_VALUE). */
export const UNBOUNDED_VARCHAR_LENGTH = 2147483647;

function long(value: number): TypeArgument {
  return { kind: 'LONG', value };
}

function nested(t: TrinoType): TypeArgument {
  return { kind: 'TYPE', value: t.typeSignature };
}

function plain(rawType: string): TrinoType {
  return { type: rawType, typeSignature: { rawType, arguments: [] } };
}

function checkPrecision(name: string, precision: number, max: number): void {
  if (!Number.isInteger(precision) || precision < 0 || precision > max) {
    throw new RangeError(`${name} precision must be an integer in 0..${max}, got ${precision}`);
  }
}

export const booleanType = (): TrinoType => plain('boolean');
export const tinyintType = (): TrinoType => plain('tinyint');
export const smallintType = (): TrinoType => plain('smallint');
export const integerType = (): TrinoType => plain('integer');
export const bigintType = (): TrinoType => plain('bigint');
export const realType = (): TrinoType => plain('real');
export const doubleType = (): TrinoType => plain('double');
export const varbinaryType = (): TrinoType => plain('varbinary');
export const jsonType = (): TrinoType => plain('json');
export const uuidType = (): TrinoType => plain('uuid');
export const dateType = (): TrinoType => plain('date');
export const intervalDayToSecondType = (): TrinoType => plain('interval day to second');
export const intervalYearToMonthType = (): TrinoType => plain('interval year to month');
/** The type of a bare NULL literal in Trino. */
export const unknownType = (): TrinoType => plain('unknown');

export function decimalType(precision: number, scale: number): TrinoType {
  checkPrecision('decimal', precision, 38);
  if (precision < 1 || !Number.isInteger(scale) || scale < 0 || scale > precision) {
    throw new RangeError(`invalid decimal(${precision},${scale})`);
  }
  return {
    type: `decimal(${precision}, ${scale})`, // Trino's spelling on the wire (a signature's arguments joined by ", ")
    typeSignature: { rawType: 'decimal', arguments: [long(precision), long(scale)] },
  };
}

/** `varchar` when `length` is omitted (unbounded), else `varchar(length)`. */
export function varcharType(length?: number): TrinoType {
  const bounded = length !== undefined && length !== UNBOUNDED_VARCHAR_LENGTH;
  return {
    type: bounded ? `varchar(${length})` : 'varchar',
    typeSignature: { rawType: 'varchar', arguments: [long(length ?? UNBOUNDED_VARCHAR_LENGTH)] },
  };
}

export function charType(length: number): TrinoType {
  return { type: `char(${length})`, typeSignature: { rawType: 'char', arguments: [long(length)] } };
}

function temporal(base: string, precision: number, withTimeZone: boolean, maxPrecision: number): TrinoType {
  checkPrecision(base, precision, maxPrecision);
  const suffix = withTimeZone ? ' with time zone' : '';
  return {
    type: `${base}(${precision})${suffix}`,
    typeSignature: { rawType: `${base}${suffix}`, arguments: [long(precision)] },
  };
}

export const timeType = (precision: number): TrinoType => temporal('time', precision, false, 12);
export const timeWithTimeZoneType = (precision: number): TrinoType => temporal('time', precision, true, 12);
export const timestampType = (precision: number): TrinoType => temporal('timestamp', precision, false, 12);
export const timestampWithTimeZoneType = (precision: number): TrinoType =>
  temporal('timestamp', precision, true, 12);

export function arrayType(element: TrinoType): TrinoType {
  return {
    type: `array(${element.type})`,
    typeSignature: { rawType: 'array', arguments: [nested(element)] },
  };
}

export function mapType(key: TrinoType, value: TrinoType): TrinoType {
  return {
    type: `map(${key.type}, ${value.type})`,
    typeSignature: { rawType: 'map', arguments: [nested(key), nested(value)] },
  };
}

/** A row field; an absent or empty name makes an anonymous field, as in Trino's `row(integer, varchar)`. */
export interface RowField {
  name?: string;
  type: TrinoType;
}

export function rowType(fields: readonly RowField[]): TrinoType {
  const display = fields.map((f) => (f.name ? `${f.name} ${f.type.type}` : f.type.type));
  const args: TypeArgument[] = fields.map((f) => ({
    kind: 'NAMED_TYPE',
    value: f.name
      ? { fieldName: { name: f.name }, typeSignature: f.type.typeSignature }
      : { typeSignature: f.type.typeSignature },
  }));
  return { type: `row(${display.join(', ')})`, typeSignature: { rawType: 'row', arguments: args } };
}

/** A result column of the given Trino type. */
export function column(name: string, t: TrinoType): Column {
  return { name, type: t.type, typeSignature: t.typeSignature };
}

// ---- Value encodings (Trino's JSON wire form), engine independent ----

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function nonFinite(x: number): string {
  return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
}

/** double: a JSON number, or "NaN" / "Infinity" / "-Infinity". */
export function encodeDouble(x: number): number | string {
  return Number.isFinite(x) ? x : nonFinite(x);
}

/** real: the shortest decimal that rounds back to the same float32 (as Java's Float.toString does). */
export function encodeReal(x: number): number | string {
  if (!Number.isFinite(x)) return nonFinite(x);
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(x.toPrecision(digits));
    if (Math.fround(candidate) === x) return candidate;
  }
  return x;
}

/** bigint: a JS number while exact, else the JS bigint (the serialiser writes its digits). */
export function encodeBigint(x: bigint): number | bigint {
  return x <= MAX_SAFE && x >= -MAX_SAFE ? Number(x) : x;
}

/** decimal: the unscaled integer rendered with exactly `scale` fraction digits, e.g. (1230n, 2) -> "12.30". */
export function formatDecimal(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString();
  if (scale <= 0) return (negative ? '-' : '') + digits;
  const padded = digits.padStart(scale + 1, '0');
  const cut = padded.length - scale;
  return `${negative ? '-' : ''}${padded.slice(0, cut)}.${padded.slice(cut)}`;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Year as java.time prints it: at least 4 digits, '+' past 9999, '-' before year 0. */
function formatYear(year: number): string {
  if (year > 9999) return `+${year}`;
  if (year < 0) return `-${String(-year).padStart(4, '0')}`;
  return String(year).padStart(4, '0');
}

/** date: proleptic Gregorian ISO date of a day count since 1970-01-01 (Hinnant's civil_from_days). */
export function formatDate(epochDay: number): string {
  const z = epochDay + 719468;
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return `${formatYear(year)}-${pad2(month)}-${pad2(day)}`;
}

/** `HH:MM:SS[.fff…]` from a count of 10^-precision second units since midnight. */
export function formatTimeOfDay(unitsOfDay: bigint, precision: number): string {
  const unitsPerSecond = 10n ** BigInt(precision);
  const seconds = Number(unitsOfDay / unitsPerSecond);
  const fraction = unitsOfDay % unitsPerSecond;
  const hms = `${pad2(Math.floor(seconds / 3600))}:${pad2(Math.floor(seconds / 60) % 60)}:${pad2(seconds % 60)}`;
  return precision > 0 ? `${hms}.${fraction.toString().padStart(precision, '0')}` : hms;
}

/** timestamp(p): `2024-01-31 12:34:56.789000` from a count of 10^-p second units since the epoch. */
export function formatTimestamp(epochUnits: bigint, precision: number): string {
  const unitsPerDay = 86400n * 10n ** BigInt(precision);
  let days = epochUnits / unitsPerDay;
  let rest = epochUnits % unitsPerDay;
  if (rest < 0n) {
    days -= 1n;
    rest += unitsPerDay;
  }
  return `${formatDate(Number(days))} ${formatTimeOfDay(rest, precision)}`;
}

/** A zone offset in seconds as `+01:30` / `-05:00`. */
export function formatOffset(offsetSeconds: number): string {
  const sign = offsetSeconds < 0 ? '-' : '+';
  const minutes = Math.floor(Math.abs(offsetSeconds) / 60);
  return `${sign}${pad2(Math.floor(minutes / 60))}:${pad2(minutes % 60)}`;
}

/** interval day to second: `1 02:03:04.000` (Trino prints milliseconds), `-1 02:00:00.000` when negative. */
export function formatIntervalDayToSecond(totalMillis: bigint): string {
  const sign = totalMillis < 0n ? '-' : '';
  const abs = totalMillis < 0n ? -totalMillis : totalMillis;
  const days = abs / 86_400_000n;
  return `${sign}${days} ${formatTimeOfDay(abs % 86_400_000n, 3)}`;
}
