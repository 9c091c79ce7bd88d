// .npy and .npz files: the tensors (inputs, PyTorch state_dict parameters, outputs) that the
// CLI, the numerical tests and the benchmark exchange with numpy/PyTorch.
//
// Entry points:
//   read_npy(path) / write_npy(path, t)      one array, numpy format versions 1.0, 2.0, 3.0
//   read_npz(path) / write_npz(path, ts)     a zip of "name.npy" entries (np.savez/_compressed)
//   parse_npy(bytes) / serialize_npy(t)      the same without files
//   parse_npz(bytes) / serialize_npz(ts)
//
// What is accepted on reading: dtype float32 '<f4'; float64 '<f8' is converted to float32
// (rounded to nearest) because np.random and torch.double produce it easily and every kernel
// here is f32; C order only (fortran_order True is an error: we never silently transpose).
// .npz archives are read and written with minizip (Debian libminizip-dev). Entries may be STORED
// (np.savez) or DEFLATE (np.savez_compressed), may carry zip64 extra fields (np.savez writes
// them with force_zip64), and are found through the central directory; every entry's CRC32 is
// checked. Before an entry is inflated its name, method and sizes in the directory are checked:
// against the file (DEFLATE cannot expand more than 1032:1) and, given an NpzExpect, against the
// array the caller takes (at most 8 bytes an element, float64 being converted, plus a 64 KiB
// header), so an archive claiming huge entries fails before anything is allocated, and no entry
// is ever inflated past the size its directory records. Any problem throws SpecError with one
// line that names the file (and the entry) and the bad value, e.g.
//   "x.npy: dtype '<i8' is not supported (expected float32 '<f4')"
//   "x.npy: data is truncated: 24 of 96 bytes"
//   "w.npz: entry 'bias.npy': CRC32 mismatch (stored 0x1234abcd, computed 0x89abcdef)"
//
// Writing: float32 little-endian, version 1.0 header (2.0 only if the header would not fit),
// padded to 64 bytes exactly as numpy writes it. write_npz writes STORED entries (no zip64:
// entries and archive must stay under 4 GiB). Writes are atomic: the bytes go to
// "<path>.tmp.<pid>" which is renamed over <path>; on any failure the temporary is removed and
// <path> is left as it was.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "generator/spec/layer_spec.h"  // SpecError

namespace convgen {

// A dense float32 array in row-major (C) order. shape {} is a 0-d array holding one value.
struct Tensor {
    std::vector<int64_t> shape;
    std::vector<float> data;

    // Product of shape (1 for 0-d). Does not check data.size().
    int64_t numel() const {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        return n;
    }
};

// Named arrays; the names are the .npz entry names without ".npy" (e.g. "weight", "bn1.bias").
using NamedTensors = std::map<std::string, Tensor>;

// "(2, 3)" style text of a shape, as used in error messages: "(4,3,3,3)", "()", "(5,)".
// Inline (like numel) so programs that cannot link zlib, such as the cross-compiled ARM test, can
// use Tensor and the reference without npy.cpp.
inline std::string shape_str(const std::vector<int64_t> &shape) {
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); i++) s += (i ? "," : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
}

// What the reader of an .npz takes, checked against the zip directory before inflating.
struct NpzExpect {
    // true: the entry is left unread (e.g. PyTorch's int64 "bn1.num_batches_tracked").
    std::function<bool(const std::string &)> skip;
    // Entry names (without ".npy") and their element counts; when not empty, any other entry is
    // an error and an entry may hold no more bytes than its array as .npy.
    std::map<std::string, int64_t> numel;
};

// --- files ---
Tensor read_npy(const std::string &path);
NamedTensors read_npz(const std::string &path, const NpzExpect &expect);
// Any names, each entry bounded by the file only; `skip` as in NpzExpect.
NamedTensors read_npz(const std::string &path, const std::function<bool(const std::string &)> &skip = nullptr);
void write_npy(const std::string &path, const Tensor &t);
void write_npz(const std::string &path, const NamedTensors &tensors);

// --- in memory; `what` names the source in error messages (a file name, "<memory>") ---
Tensor parse_npy(const std::string &bytes, const std::string &what = "<memory>");
NamedTensors parse_npz(const std::string &bytes, const std::string &what, const NpzExpect &expect);
NamedTensors parse_npz(const std::string &bytes, const std::string &what = "<memory>",
                       const std::function<bool(const std::string &)> &skip = nullptr);
std::string serialize_npy(const Tensor &t);
std::string serialize_npz(const NamedTensors &tensors);

// Reads a whole file (SpecError "path: cannot open: <reason>" if it cannot) and writes one
// atomically (temporary + rename, as above). Shared by the npy/npz functions.
std::string read_file_bytes(const std::string &path);
void write_file_atomic(const std::string &path, const std::string &bytes);

}  // namespace convgen
