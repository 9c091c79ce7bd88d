// linalg named convolutions (as written by hand or by a frontend) for tests/lit/import_mlir.test.
// conv_2d_nhwc_hwcf with its zero tensor.pad (top 1, bottom 2, left 0, right 1) and stride 2:1.
func.func @hwcf(%x: tensor<1x9x10x4xf32>, %w: tensor<3x3x4x6xf32>) -> tensor<1x5x9x6xf32> {
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %x low[0, 1, 0, 0] high[0, 2, 1, 0] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x9x10x4xf32> to tensor<1x12x11x4xf32>
  %init = tensor.empty() : tensor<1x5x9x6xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%init : tensor<1x5x9x6xf32>) -> tensor<1x5x9x6xf32>
  %0 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<[2, 1]> : tensor<2xi64>}
         ins(%p, %w : tensor<1x12x11x4xf32>, tensor<3x3x4x6xf32>) outs(%fill : tensor<1x5x9x6xf32>) -> tensor<1x5x9x6xf32> loc("hwcf")
  return %0 : tensor<1x5x9x6xf32>
}

// conv_2d_nchw_fchw, dilation 2, no padding.
func.func @nchw(%x: tensor<2x4x9x9xf32>, %w: tensor<8x4x3x3xf32>, %o: tensor<2x8x5x5xf32>) -> tensor<2x8x5x5xf32> {
  %0 = linalg.conv_2d_nchw_fchw {dilations = dense<2> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<2x4x9x9xf32>, tensor<8x4x3x3xf32>) outs(%o : tensor<2x8x5x5xf32>) -> tensor<2x8x5x5xf32> loc("nchw")
  return %0 : tensor<2x8x5x5xf32>
}

// depthwise_conv_2d_nhwc_hwc, stride 2.
func.func @dw(%x: tensor<1x8x8x16xf32>, %w: tensor<3x3x16xf32>, %o: tensor<1x3x3x16xf32>) -> tensor<1x3x3x16xf32> {
  %0 = linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
         ins(%x, %w : tensor<1x8x8x16xf32>, tensor<3x3x16xf32>) outs(%o : tensor<1x3x3x16xf32>) -> tensor<1x3x3x16xf32> loc("dw")
  return %0 : tensor<1x3x3x16xf32>
}

// depthwise_conv_2d_nhwc_hwcm, multiplier 3, collapsed to NHWC.
func.func @dwm(%x: tensor<1x6x6x2xf32>, %w: tensor<3x3x2x3xf32>, %o: tensor<1x4x4x2x3xf32>) -> tensor<1x4x4x6xf32> {
  %0 = linalg.depthwise_conv_2d_nhwc_hwcm {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x6x6x2xf32>, tensor<3x3x2x3xf32>) outs(%o : tensor<1x4x4x2x3xf32>) -> tensor<1x4x4x2x3xf32> loc("dwm")
  %1 = tensor.collapse_shape %0 [[0], [1], [2], [3, 4]] : tensor<1x4x4x2x3xf32> into tensor<1x4x4x6xf32>
  return %1 : tensor<1x4x4x6xf32>
}

// A dynamic batch: imported only with --batch.
func.func @dyn(%x: tensor<?x8x8x4xf32>, %w: tensor<3x3x4x4xf32>, %o: tensor<?x6x6x4xf32>) -> tensor<?x6x6x4xf32> {
  %0 = linalg.conv_2d_nhwc_hwcf ins(%x, %w : tensor<?x8x8x4xf32>, tensor<3x3x4x4xf32>) outs(%o : tensor<?x6x6x4xf32>) -> tensor<?x6x6x4xf32> loc("dyn")
  return %0 : tensor<?x6x6x4xf32>
}
