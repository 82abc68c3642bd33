// Why: DuckDB's result types and value objects differ from Trino's; this maps each DuckDB column to the Trino
// type a Trino client expects and converts its values to Trino's JSON encoding exactly (no float detours).

import { EngineError } from './engine.ts';
import {
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBIntervalValue,
  DuckDBListValue,
  DuckDBArrayValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBStructVector,
  DuckDBTimeNSValue,
  DuckDBTimeTZValue,
  DuckDBTimeValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
} from '@duckdb/node-api';
import type { DuckDBType, DuckDBValue, DuckDBVector } from '@duckdb/node-api';
import type { Cell } from './engine.ts';
import * as t from './trino-types.ts';
import type { TrinoType } from './trino-types.ts';

/** Converts one non-null DuckDB value to a Trino JSON cell. */
type Convert = (value: DuckDBValue) => Cell;

/** How one DuckDB column (or nested field) appears to a Trino client. */
export interface TrinoMapping {
  trino: TrinoType;
  /** Converts a DuckDB value (null included) to its Trino JSON cell. */
  convert: (value: DuckDBValue) => Cell;
}

// DuckDB stores ±infinity as the extreme values of each temporal type.
const INFINITE_DAYS = 2147483647;
const INFINITE_TICKS = 9223372036854775807n;

function infinity(sign: number): string {
  return sign > 0 ? 'infinity' : '-infinity';
}

function dateCell(days: number): string {
  return Math.abs(days) === INFINITE_DAYS ? infinity(days) : t.formatDate(days);
}

function timestampCell(ticks: bigint, precision: number, suffix = ''): string {
  if (ticks === INFINITE_TICKS || ticks === -INFINITE_TICKS) return infinity(ticks > 0n ? 1 : -1);
  return t.formatTimestamp(ticks, precision) + suffix;
}

function stringify(value: DuckDBValue): string {
  return String(value);
}

/** Map keys are JSON object keys in Trino: always strings. */
function keyString(cell: Cell): string {
  if (typeof cell === 'string') return cell;
  if (cell === null || typeof cell !== 'object') return String(cell);
  return JSON.stringify(cell, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

function nullable(convert: Convert): (value: DuckDBValue) => Cell {
  return (value) => (value === null || value === undefined ? null : convert(value));
}

function mapping(trino: TrinoType, convert: Convert): TrinoMapping {
  return { trino, convert: nullable(convert) };
}

const asNumber: Convert = (v) => Number(v);
const asString: Convert = (v) => String(v);
const varchar = (): TrinoMapping => mapping(t.varcharType(), stringify);

const BIGINT_MIN = -(2n ** 63n);
const BIGINT_MAX = 2n ** 63n - 1n;
function inBigintRange(v: bigint): bigint {
  if (v < BIGINT_MIN || v > BIGINT_MAX) throw new EngineError('user', 'NUMERIC_VALUE_OUT_OF_RANGE', `bigint overflow: ${v} is out of the range of bigint`);
  return v;
}

/** Trino type and value converter for a DuckDB type; unknown types fall back to varchar via String(value). */
export function mapDuckDbType(type: DuckDBType): TrinoMapping {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return mapping(t.booleanType(), (v) => v === true);
    case DuckDBTypeId.TINYINT:
      return mapping(t.tinyintType(), asNumber);
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.UTINYINT:
      return mapping(t.smallintType(), asNumber);
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.USMALLINT:
      return mapping(t.integerType(), asNumber);
    case DuckDBTypeId.UINTEGER:
      return mapping(t.bigintType(), asNumber);
    case DuckDBTypeId.BIGINT:
      return mapping(t.bigintType(), (v) => t.encodeBigint(BigInt(v as bigint)));
    case DuckDBTypeId.UBIGINT:
      return mapping(t.decimalType(20, 0), asString);
    // DuckDB widens sum() and count_if() of integers to HUGEINT; Trino answers bigint and fails past its range.
    case DuckDBTypeId.HUGEINT:
      return mapping(t.bigintType(), (v) => t.encodeBigint(inBigintRange(BigInt(v as bigint))));
    case DuckDBTypeId.UHUGEINT:
      return mapping(t.decimalType(38, 0), asString);
    case DuckDBTypeId.FLOAT:
      return mapping(t.realType(), (v) => t.encodeReal(v as number));
    case DuckDBTypeId.DOUBLE:
      return mapping(t.doubleType(), (v) => t.encodeDouble(v as number));
    case DuckDBTypeId.DECIMAL:
      return mapping(t.decimalType(type.width, type.scale), (v) =>
        v instanceof DuckDBDecimalValue ? t.formatDecimal(v.value, v.scale) : String(v),
      );
    case DuckDBTypeId.VARCHAR:
      return type.alias?.toUpperCase() === 'JSON' ? mapping(t.jsonType(), asString) : varchar();
    case DuckDBTypeId.ENUM:
      return varchar();
    case DuckDBTypeId.BLOB:
      return mapping(t.varbinaryType(), (v) =>
        v instanceof DuckDBBlobValue ? Buffer.from(v.bytes).toString('base64') : String(v),
      );
    case DuckDBTypeId.UUID:
      return mapping(t.uuidType(), asString);
    case DuckDBTypeId.DATE:
      return mapping(t.dateType(), (v) => (v instanceof DuckDBDateValue ? dateCell(v.days) : String(v)));
    case DuckDBTypeId.TIME:
      return mapping(t.timeType(6), (v) =>
        v instanceof DuckDBTimeValue ? t.formatTimeOfDay(v.micros, 6) : String(v),
      );
    case DuckDBTypeId.TIME_NS:
      return mapping(t.timeType(9), (v) =>
        v instanceof DuckDBTimeNSValue ? t.formatTimeOfDay(v.nanos, 9) : String(v),
      );
    case DuckDBTypeId.TIME_TZ:
      return mapping(t.timeWithTimeZoneType(6), (v) =>
        v instanceof DuckDBTimeTZValue ? t.formatTimeOfDay(v.micros, 6) + t.formatOffset(v.offset) : String(v),
      );
    case DuckDBTypeId.TIMESTAMP:
      return mapping(t.timestampType(6), (v) =>
        v instanceof DuckDBTimestampValue ? timestampCell(v.micros, 6) : String(v),
      );
    case DuckDBTypeId.TIMESTAMP_S:
      return mapping(t.timestampType(0), (v) =>
        v instanceof DuckDBTimestampSecondsValue ? timestampCell(v.seconds, 0) : String(v),
      );
    case DuckDBTypeId.TIMESTAMP_MS:
      return mapping(t.timestampType(3), (v) =>
        v instanceof DuckDBTimestampMillisecondsValue ? timestampCell(v.millis, 3) : String(v),
      );
    case DuckDBTypeId.TIMESTAMP_NS:
      return mapping(t.timestampType(9), (v) =>
        v instanceof DuckDBTimestampNanosecondsValue ? timestampCell(v.nanos, 9) : String(v),
      );
    case DuckDBTypeId.TIMESTAMP_TZ:
      // DuckDB keeps an instant; without the ICU extension there is no zone to render it in but UTC.
      return mapping(t.timestampWithTimeZoneType(6), (v) =>
        v instanceof DuckDBTimestampTZValue ? timestampCell(v.micros, 6, ' UTC') : String(v),
      );
    case DuckDBTypeId.INTERVAL:
      // Trino has no mixed interval: months count as 30 days, sub-millisecond digits are dropped.
      return mapping(t.intervalDayToSecondType(), (v) => {
        if (!(v instanceof DuckDBIntervalValue)) return String(v);
        const days = BigInt(v.months) * 30n + BigInt(v.days);
        return t.formatIntervalDayToSecond(days * 86_400_000n + v.micros / 1000n);
      });
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY: {
      const element = mapDuckDbType(type.valueType);
      return mapping(t.arrayType(element.trino), (v) =>
        v instanceof DuckDBListValue || v instanceof DuckDBArrayValue ? v.items.map(element.convert) : String(v),
      );
    }
    case DuckDBTypeId.MAP: {
      const key = mapDuckDbType(type.keyType);
      const value = mapDuckDbType(type.valueType);
      return mapping(t.mapType(key.trino, value.trino), (v) => {
        if (!(v instanceof DuckDBMapValue)) return String(v);
        const out: { [key: string]: Cell } = {};
        for (const entry of v.entries) out[keyString(key.convert(entry.key))] = value.convert(entry.value);
        return out;
      });
    }
    case DuckDBTypeId.STRUCT: {
      const names = type.entryNames;
      const fields = type.entryTypes.map(mapDuckDbType);
      const trino = t.rowType(fields.map((f, i) => ({ name: names[i] ?? '', type: f.trino })));
      return mapping(trino, (v) => {
        if (!(v instanceof DuckDBStructValue)) return String(v);
        return fields.map((f, i) => f.convert(v.entries[names[i] ?? ''] ?? null));
      });
    }
    case DuckDBTypeId.SQLNULL:
      return { trino: t.unknownType(), convert: () => null };
    default:
      return varchar();
  }
}

/** Reads one column of a result chunk: the Trino type plus a per-row reader over the column's vector. */
export interface ColumnReader {
  trino: TrinoType;
  read(vector: DuckDBVector, rowIndex: number): Cell;
}

/**
 * A reader for a top-level result column. Struct values are keyed by field name in the node-api, which loses
 * fields of anonymous rows (`SELECT (1, 2)`, every name ""): top-level structs are read field by field instead.
 */
export function columnReader(type: DuckDBType): ColumnReader {
  const whole = mapDuckDbType(type);
  if (type.typeId !== DuckDBTypeId.STRUCT) {
    return { trino: whole.trino, read: (vector, rowIndex) => whole.convert(vector.getItem(rowIndex)) };
  }
  const fields = type.entryTypes.map(mapDuckDbType);
  return {
    trino: whole.trino,
    read(vector, rowIndex) {
      if (!(vector instanceof DuckDBStructVector)) return whole.convert(vector.getItem(rowIndex));
      if (!vector.isItemValid(rowIndex)) return null;
      return fields.map((f, i) => f.convert(vector.getItemValue(rowIndex, i)));
    },
  };
}
