// The regular 3x3 stride-1 convolution (dilation 1, groups 1) as Winograd F(m, 3) (Lavin & Gray,
// "Fast Algorithms for Convolutional Neural Networks", 2015), for specs with algo=winograd.
//
// Outputs are cut into tiles of m x m; tile (tx, ty) reads the alpha x alpha input patch d
// (alpha = m + 2) at (tx*m - pad_l, ty*m - pad_t). Per tile:
//   V = B^T d B                       (wino_in, per input channel; wino_in_x is its x half)
//   M(e) = sum_ci U(co, ci, e) V(ci, e)  (wino_prod: alpha^2 independent GEMMs, ci -> co)
//   Y = A^T M A                       (wino_out; wino_out_x is its x half)
//   out(co, x, y) = act(bias[co] + Y(co, x % m, y % m, x / m, y / m))
// U = G g G^T arrives packed by the runtime (kernel_args: "WINO<m>x3", [alpha][alpha][c][cout],
// Halide dims (co, ci, ex, ey)); ex/ox index the x direction, ey/oy the y direction.
//
// Tiles that overhang the output (Ho or Wo not a multiple of m) are computed in full from the
// zero-padded input, and `conv` reads only the valid part, so nothing is written outside the
// fixed-shape output. The transforms are written as mux() over the unrolled transform index, so a
// schedule that unrolls ex/ey/ox/oy gets straight-line adds with constant coefficients.
#include "generator/algorithms/algorithm.h"

namespace convgen {

using namespace Halide;

namespace {

// B^T (alpha x alpha), A^T (m x alpha) and G (alpha x 3) by output tile m. G reaches the runtime
// through the generated registry (winograd_weight_transform), which packs U = G g G^T with it.
// F(2,3) uses the points 0, 1, -1 (and infinity); F(4,3) uses 0, -1, 1, 1/2, -2: with
// f32 products and sequential f32 accumulation over the input channels, Lavin's 0, +-1, +-2
// reached 0.8-1.3x tolerance() on c = 16..128 (numpy simulation of this exact order), these
// points 0.3-0.45x (and F(2,3) under 0.1x).
const float kBT2[4 * 4] = {1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1};
const float kAT2[2 * 4] = {1, 1, 1, 0, 0, 1, -1, -1};
const float kBT4[6 * 6] = {1, -1.5f, -2,    1.5f,  1,    0,  //
                           0, 1,     -2.5f, 0.5f,  1,    0,  //
                           0, -1,    0.5f,  2.5f,  1,    0,  //
                           0, -2,    -1,    2,     1,    0,  //
                           0, 0.5f,  -1,    -0.5f, 1,    0,  //
                           0, 1,     -1.5f, -2,    1.5f, 1};
const float kAT4[4 * 6] = {1, 1,  1, 1,      1,  0,  //
                           0, -1, 1, 0.5f,   -2, 0,  //
                           0, 1,  1, 0.25f,  4,  0,  //
                           0, -1, 1, 0.125f, -8, 1};
// In double: the runtime transforms the weights in double and rounds U once to f32.
const double kG2[4 * 3] = {1, 0, 0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0, 0, 1};
const double kG4[6 * 3] = {1,           0,          0,           //
                           -1.0 / 3,    1.0 / 3,    -1.0 / 3,    //
                           1.0 / 3,     1.0 / 3,    1.0 / 3,     //
                           -16.0 / 15,  -8.0 / 15,  -4.0 / 15,   //
                           1.0 / 15,    -2.0 / 15,  4.0 / 15,    //
                           0,           0,          1};

// sum_k row[k] * term(k), skipping zero coefficients.
template <typename F>
Expr combine(const float *row, int n, F term) {
    Expr e;
    for (int k = 0; k < n; k++) {
        if (row[k] == 0) continue;
        Expr t = term(k);
        if (row[k] == -1) t = -t;
        else if (row[k] != 1) t = row[k] * t;
        e = e.defined() ? e + t : t;
    }
    return e.defined() ? e : Expr(0.0f);
}

// One 1-D side of a transform: row `sel` of M (rows x cols, row-major) times the points
// term(0..cols-1), as a mux over the rows (unrolled by the schedules into straight-line adds).
template <typename F>
Expr transform(const Var &sel, const float *M, int rows, int cols, F term) {
    std::vector<Expr> out;
    for (int r = 0; r < rows; r++) out.push_back(combine(M + r * cols, cols, term));
    return mux(sel, out);
}

}  // namespace

std::vector<double> winograd_weight_transform(int m) {
    if (m == 2) return std::vector<double>(kG2, kG2 + 4 * 3);
    if (m == 4) return std::vector<double>(kG4, kG4 + 6 * 3);
    throw SpecError("algorithm: Winograd F(" + std::to_string(m) + ",3) is not implemented");
}

Algorithm build_winograd(const LayerSpec &spec) {
    Algorithm a;
    a.spec = spec;
    a.params = make_params(spec);
    // Arguments: input, weight U [alpha][alpha][C][Cout] (Halide dims co, ci, ex, ey), bias [Cout]?
    const ImageParam &in = a.params[0], &U = a.params[1];
    const int m = winograd_tile(spec), alpha = m + 2;
    if (m != 2 && m != 4) throw SpecError("algorithm: Winograd F(" + std::to_string(m) + ",3) is not implemented");
    const float *BT = m == 2 ? kBT2 : kBT4, *AT = m == 2 ? kAT2 : kAT4;
    a.wino_m = m;
    const Var &c = a.c, &x = a.x, &y = a.y, &n = a.n;
    const Var &ex = a.ex, &ey = a.ey, &tx = a.tx, &ty = a.ty, &ox = a.ox, &oy = a.oy;

    // Whole tiles read up to tiles*m + 2 - pad: pad the spec's bottom/right by the overhang so
    // define_input's bound check covers those reads too (the padding itself stays zero).
    LayerSpec tiled = spec;
    tiled.pad_b += (spec.out_h() + m - 1) / m * m - spec.out_h();
    tiled.pad_r += (spec.out_w() + m - 1) / m * m - spec.out_w();
    define_input(a, tiled, in);

    Var j("j");  // the y position inside the input patch
    a.wino_in_x = Func("wino_in_x");
    a.wino_in_x(c, ex, j, tx, ty, n) = transform(ex, BT, alpha, alpha, [&](int i) {
        return a.input(c, tx * m + i - spec.pad_l, ty * m + j - spec.pad_t, n);
    });
    a.wino_in = Func("wino_in");
    a.wino_in(c, ex, ey, tx, ty, n) =
        transform(ey, BT, alpha, alpha, [&](int k) { return a.wino_in_x(c, ex, k, tx, ty, n); });

    a.r = RDom(0, spec.c, "r");
    a.wino_prod = Func("wino_prod");
    a.wino_prod(c, ex, ey, tx, ty, n) = 0.0f;
    a.wino_prod(c, ex, ey, tx, ty, n) += U(c, a.r, ex, ey) * a.wino_in(a.r, ex, ey, tx, ty, n);

    a.wino_out_x = Func("wino_out_x");
    a.wino_out_x(c, ox, ey, tx, ty, n) =
        transform(ox, AT, m, alpha, [&](int e) { return a.wino_prod(c, e, ey, tx, ty, n); });
    a.wino_out = Func("wino_out");
    a.wino_out(c, ox, oy, tx, ty, n) =
        transform(oy, AT, m, alpha, [&](int e) { return a.wino_out_x(c, ox, e, tx, ty, n); });

    a.conv = Func("conv");
    const Expr bias = spec.bias ? a.params[2](c) : Expr(0.0f);
    a.conv(c, x, y, n) = bias + a.wino_out(c, x % m, y % m, x / m, y / m, n);
    define_output(a);
    return a;
}

}  // namespace convgen
