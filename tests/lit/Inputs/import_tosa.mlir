// TOSA (MLIR 19, pre-1.0 operands) for tests/lit/import_mlir.test: one function per case.
// A conv 3x3 with relu6 (tosa.clamp 0..6), named by its location.
func.func @stem(%x: tensor<1x16x16x3xf32>) -> tensor<1x8x8x16xf32> {
  %w = "tosa.const"() {value = dense<0.5> : tensor<16x3x3x3xf32>} : () -> tensor<16x3x3x3xf32>
  %b = "tosa.const"() {value = dense<0.1> : tensor<16xf32>} : () -> tensor<16xf32>
  %0 = tosa.conv2d %x, %w, %b {dilation = array<i64: 1, 1>, pad = array<i64: 1, 0, 1, 0>, stride = array<i64: 2, 2>} : (tensor<1x16x16x3xf32>, tensor<16x3x3x3xf32>, tensor<16xf32>) -> tensor<1x8x8x16xf32> loc("stem")
  %1 = tosa.clamp %0 {min_fp = 0.0 : f32, max_fp = 6.0 : f32, min_int = 0 : i64, max_int = 6 : i64} : (tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32>
  return %1 : tensor<1x8x8x16xf32>
}

// depthwise 3x3 stride 2 -> relu6 -> 1x1 (linear): one dwsep layer, act relu6:none.
func.func @block(%x: tensor<1x16x16x8xf32>) -> tensor<1x8x8x12xf32> {
  %b = "tosa.const"() {value = dense<0.1> : tensor<8xf32>} : () -> tensor<8xf32>
  %dw = "tosa.const"() {value = dense<0.5> : tensor<3x3x8x1xf32>} : () -> tensor<3x3x8x1xf32>
  %2 = tosa.depthwise_conv2d %x, %dw, %b {dilation = array<i64: 1, 1>, pad = array<i64: 0, 1, 0, 1>, stride = array<i64: 2, 2>} : (tensor<1x16x16x8xf32>, tensor<3x3x8x1xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32> loc("block_dw")
  %3 = tosa.clamp %2 {min_fp = 0.0 : f32, max_fp = 6.0 : f32, min_int = 0 : i64, max_int = 6 : i64} : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  %pw = "tosa.const"() {value = dense<0.5> : tensor<12x1x1x8xf32>} : () -> tensor<12x1x1x8xf32>
  %pb = "tosa.const"() {value = dense<0.0> : tensor<12xf32>} : () -> tensor<12xf32>
  %4 = tosa.conv2d %3, %pw, %pb {dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, stride = array<i64: 1, 1>} : (tensor<1x8x8x8xf32>, tensor<12x1x1x8xf32>, tensor<12xf32>) -> tensor<1x8x8x12xf32> loc("block_pw")
  return %4 : tensor<1x8x8x12xf32>
}

// depthwise with multiplier 2 and dilation 2, then a clamp convgen has no activation for.
func.func @mult(%x: tensor<1x12x12x4xf32>) -> tensor<1x8x8x8xf32> {
  %w = "tosa.const"() {value = dense<0.5> : tensor<3x3x4x2xf32>} : () -> tensor<3x3x4x2xf32>
  %b = "tosa.const"() {value = dense<0.1> : tensor<8xf32>} : () -> tensor<8xf32>
  %0 = tosa.depthwise_conv2d %x, %w, %b {dilation = array<i64: 2, 2>, pad = array<i64: 0, 0, 0, 0>, stride = array<i64: 1, 1>} : (tensor<1x12x12x4xf32>, tensor<3x3x4x2xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32> loc("mult")
  %1 = tosa.clamp %0 {min_fp = -1.0 : f32, max_fp = 1.0 : f32, min_int = -1 : i64, max_int = 1 : i64} : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  return %1 : tensor<1x8x8x8xf32>
}

// A 3-D conv: listed, not imported (unnamed: <op>@<line>).
func.func @volume(%x: tensor<1x4x6x6x2xf32>) -> tensor<1x2x4x4x3xf32> {
  %w = "tosa.const"() {value = dense<0.5> : tensor<3x3x3x3x2xf32>} : () -> tensor<3x3x3x3x2xf32>
  %b = "tosa.const"() {value = dense<0.1> : tensor<3xf32>} : () -> tensor<3xf32>
  %0 = tosa.conv3d %x, %w, %b {dilation = array<i64: 1, 1, 1>, pad = array<i64: 0, 0, 0, 0, 0, 0>, stride = array<i64: 1, 1, 1>} : (tensor<1x4x6x6x2xf32>, tensor<3x3x3x3x2xf32>, tensor<3xf32>) -> tensor<1x2x4x4x3xf32>
  return %0 : tensor<1x2x4x4x3xf32>
}
