// Does not parse (tests/lit/import_mlir.test): tosa.conv2d without its operands and types.
func.func @f(%x: tensor<1x4x4x4xf32>) {
  %0 = tosa.conv2d %x
}
