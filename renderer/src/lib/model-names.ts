/** How views and exports name the models of a result: A, B, C… by their index in the result. */

/** Model 0 is "A", 1 is "B", …; past Z, "M27" — as the engine's exports name them (export-result.ts). */
export function modelLetter(index: number): string {
  return index >= 0 && index < 26 ? String.fromCharCode(65 + index) : `M${index + 1}`;
}

/** The axis title that says which model an axis shows: "model A: resnet18.onnx". */
export function modelTitle(index: number, label: string): string {
  return `model ${modelLetter(index)}: ${label}`;
}
