/**
 * A real "npz bomb": a few MB of .npz whose one member, deflated, is an .npy of gigabytes of
 * zeros — what numpy would write for np.savez_compressed(path, x=np.zeros((rows, cols), 'f4')),
 * built in milliseconds. Deflate streams compressed with a full flush reference nothing before
 * them, so one compressed MiB of zeros can be repeated as often as needed and the pieces still
 * form one valid stream (RFC 1951 §3.2.3). Sizes over 4 GiB get ZIP64 fields (APPNOTE §4.5.3); the
 * CRC is left 0 (the workbench does not check it, and it is not what is under test).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { constants, deflateRawSync } from 'node:zlib';

const MiB = 2 ** 20;

function npyHeader(shape: number[]): Buffer {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  const unpadded = 10 + dict.length + 1;
  const padded = Math.ceil(unpadded / 64) * 64;
  const header = Buffer.alloc(padded, 0x20);
  header.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  header.writeUInt16LE(padded - 10, 8);
  header.write(dict, 10, 'latin1');
  header[padded - 1] = 0x0a;
  return header;
}

/** Writes `path`: an .npz with member `x.npy` of shape [rows, cols] float32 zeros, rows·cols·4 a multiple of 1 MiB. */
export function writeNpzBomb(path: string, rows: number, cols: number): { compressedBytes: number; size: number } {
  const header = npyHeader([rows, cols]);
  const dataBytes = rows * cols * 4;
  if (dataBytes % MiB !== 0) throw new Error('rows·cols·4 must be a multiple of 1 MiB');
  const flushed = { finishFlush: constants.Z_FULL_FLUSH };
  const head = deflateRawSync(header, flushed);
  const zeros = deflateRawSync(Buffer.alloc(MiB), flushed);
  const tail = deflateRawSync(Buffer.alloc(0));
  const copies = dataBytes / MiB;
  const compressedBytes = head.length + copies * zeros.length + tail.length;
  const size = header.length + dataBytes;
  const name = Buffer.from('x.npy');

  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(45, 4); // version needed: ZIP64
  local.writeUInt16LE(8, 8); // deflate
  local.writeUInt32LE(compressedBytes, 18);
  local.writeUInt32LE(0xffffffff, 22); // size: in the central directory's ZIP64 field
  local.writeUInt16LE(name.length, 26);

  const zip64 = Buffer.alloc(12);
  zip64.writeUInt16LE(1, 0);
  zip64.writeUInt16LE(8, 2);
  zip64.writeBigUInt64LE(BigInt(size), 4);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(45, 4);
  central.writeUInt16LE(45, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(compressedBytes, 20);
  central.writeUInt32LE(0xffffffff, 24);
  central.writeUInt16LE(name.length, 28);
  central.writeUInt16LE(zip64.length, 30);
  central.writeUInt32LE(0, 42); // the local header is at 0

  const directoryOffset = local.length + name.length + compressedBytes;
  const directorySize = central.length + name.length + zip64.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(directorySize, 12);
  end.writeUInt32LE(directoryOffset, 16);

  const fd = openSync(path, 'w');
  try {
    for (const part of [local, name, head]) writeSync(fd, part);
    const run = Buffer.concat(Array.from({ length: 256 }, () => zeros));
    for (let left = copies; left > 0; left -= 256)
      writeSync(fd, left >= 256 ? run : run.subarray(0, left * zeros.length));
    for (const part of [tail, central, name, zip64, end]) writeSync(fd, part);
  } finally {
    closeSync(fd);
  }
  return { compressedBytes, size };
}
