/**
 * The zoo's manifest (`models/zoo.json`): the normalisation its models were trained with and where
 * the built-in Fashion-MNIST probe's images are. Read by the probe itself and by the modules that
 * only need to know which files it reads.
 */
import { resolve, join } from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { FILE_SIZE_LIMITS, readRegularText } from '../io/regular-file.js';

export interface ZooNormalization {
  scale: number;
  mean: number;
  std: number;
}

interface ZooManifest {
  normalization?: Partial<ZooNormalization>;
  probe?: { images?: string; n?: number };
}

export async function readZooManifest(
  modelsDir: string,
): Promise<{ normalization: ZooNormalization; images: string; n: number }> {
  const path = join(modelsDir, 'zoo.json');
  let zoo: ZooManifest;
  try {
    zoo = JSON.parse(await readRegularText(path, { maxBytes: FILE_SIZE_LIMITS.json })) as ZooManifest;
  } catch {
    throw new WorkbenchError(
      'NOT_FOUND',
      `the built-in Fashion-MNIST probe is not installed (${path} is missing or unreadable)`,
    );
  }
  const norm = zoo.normalization;
  const images = zoo.probe?.images;
  if (
    !norm ||
    typeof norm.scale !== 'number' ||
    typeof norm.mean !== 'number' ||
    typeof norm.std !== 'number' ||
    norm.std <= 0 ||
    typeof images !== 'string'
  ) {
    throw new WorkbenchError(
      'BAD_PROBE',
      `${path}: no usable 'normalization' {scale, mean, std} and 'probe.images' entries`,
    );
  }
  return {
    normalization: { scale: norm.scale, mean: norm.mean, std: norm.std },
    images: resolve(modelsDir, images),
    n: zoo.probe?.n ?? 0,
  };
}
