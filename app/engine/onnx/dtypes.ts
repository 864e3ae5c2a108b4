/** ONNX TensorProto.DataType codes and their names (onnx.proto, enum DataType). */
const ONNX_DTYPE_NAMES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
  17: 'float8e4m3fn',
  18: 'float8e4m3fnuz',
  19: 'float8e5m2',
  20: 'float8e5m2fnuz',
  21: 'uint4',
  22: 'int4',
  23: 'float4e2m1',
};

export const ONNX_FLOAT32 = 1;
export const ONNX_INT64 = 7;
export const ONNX_BOOL = 9;

export function onnxDTypeName(code: number | undefined): string {
  if (code === undefined || code === 0) return 'unknown';
  return ONNX_DTYPE_NAMES[code] ?? `dtype#${code}`;
}

/** Element types whose tensors are representations we can compare. */
const FLOAT_DTYPES = new Set(['float32', 'float64', 'float16', 'bfloat16']);

export function isFloatDType(name: string): boolean {
  return FLOAT_DTYPES.has(name);
}
