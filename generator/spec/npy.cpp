// .npy / .npz reading and writing (see npy.h for the accepted formats and the error style).
//
// Map of this file:
//   byte helpers        little-endian loads/stores, message-safe quoting of values
//   .npy header         the Python-literal dict parser ({'descr': ..., 'fortran_order': ...,
//                       'shape': (...)}) and the writer that pads exactly as numpy does
//   .npz (zip)          central directory walk (zip64 aware), STORED/DEFLATE entries, CRC32,
//                       and a STORED-only writer
//   files               read whole file, atomic write (temporary + rename)
//
// Every reader checks sizes before it allocates, so a corrupt header cannot ask for gigabytes.
#include "generator/spec/npy.h"

#include <fmt/core.h>
#include <unistd.h>
#include <unzip.h>
#include <zip.h>
#include <zlib.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <limits>

namespace convgen {

namespace {

// ---------------------------------------------------------------------------------------------
// byte helpers

uint16_t load_u16(const std::string &b, size_t at) {
    return uint16_t(uint8_t(b[at]) | (uint8_t(b[at + 1]) << 8));
}
uint32_t load_u32(const std::string &b, size_t at) {
    return uint32_t(uint8_t(b[at])) | (uint32_t(uint8_t(b[at + 1])) << 8) |
           (uint32_t(uint8_t(b[at + 2])) << 16) | (uint32_t(uint8_t(b[at + 3])) << 24);
}
uint64_t load_u64(const std::string &b, size_t at) {
    return uint64_t(load_u32(b, at)) | (uint64_t(load_u32(b, at + 4)) << 32);
}
void put_u16(std::string &b, uint16_t v) {
    b.push_back(char(v & 0xff));
    b.push_back(char(v >> 8));
}
void put_u32(std::string &b, uint32_t v) {
    for (int i = 0; i < 4; i++) b.push_back(char((v >> (8 * i)) & 0xff));
}

// A value from a file, quoted for a one-line message: bytes outside printable ASCII become
// \xNN, long values are cut (a corrupt header may hold anything).
std::string quoted(const std::string &v) {
    std::string out = "'";
    for (size_t i = 0; i < v.size() && i < 60; i++) {
        unsigned char ch = uint8_t(v[i]);
        if (ch < 0x20 || ch >= 0x7f) {
            out += fmt::format("\\x{:02x}", ch);
        } else {
            out.push_back(char(ch));
        }
    }
    if (v.size() > 60) out += "...";
    return out + "'";
}

[[noreturn]] void fail(const std::string &what, const std::string &msg) {
    throw SpecError(what + ": " + msg);
}

// ---------------------------------------------------------------------------------------------
// .npy header

const char kMagic[] = "\x93NUMPY";
const size_t kMagicLen = 6;

// A minimal parser for the Python literal numpy writes as the header: a dict of string keys
// whose values are strings, True/False or tuples of non-negative integers. numpy itself uses
// ast.literal_eval; anything beyond this subset is not produced by np.save for plain arrays.
struct HeaderParser {
    const std::string &s;
    const std::string &what;
    size_t i = 0;

    [[noreturn]] void bad(const std::string &why) {
        fail(what, "bad header " + quoted(s) + ": " + why);
    }
    void ws() {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    }
    bool eat(char c) {
        ws();
        if (i < s.size() && s[i] == c) {
            i++;
            return true;
        }
        return false;
    }
    void expect(char c) {
        if (!eat(c)) bad(std::string("expected '") + c + "' at offset " + std::to_string(i));
    }
    std::string str() {
        ws();
        if (i >= s.size() || (s[i] != '\'' && s[i] != '"')) bad("expected a string at offset " + std::to_string(i));
        char q = s[i++];
        std::string out;
        while (i < s.size() && s[i] != q) out.push_back(s[i++]);
        if (i >= s.size()) bad("unterminated string");
        i++;
        return out;
    }
    // The raw text of a value that is not a string (True, False, a tuple, a list ...), up to the
    // next top-level ',' or '}'.
    std::string raw_value() {
        ws();
        size_t start = i;
        int depth = 0;
        while (i < s.size()) {
            char c = s[i];
            if (c == '(' || c == '[' || c == '{') depth++;
            if (c == ')' || c == ']' || c == '}') {
                if (depth == 0) break;
                depth--;
            }
            if (c == ',' && depth == 0) break;
            i++;
        }
        std::string v = s.substr(start, i - start);
        while (!v.empty() && v.back() == ' ') v.pop_back();
        return v;
    }
};

struct NpyHeader {
    std::string descr;
    bool fortran = false;
    std::vector<int64_t> shape;
};

// Parses "(2, 3)", "(5,)", "()" (and Python 2's "(5L,)").
std::vector<int64_t> parse_shape(const std::string &text, const std::string &what) {
    std::vector<int64_t> shape;
    size_t i = 0;
    auto bad = [&]() { fail(what, "bad shape " + quoted(text) + " in header (expected a tuple of integers)"); };
    auto ws = [&]() { while (i < text.size() && text[i] == ' ') i++; };
    ws();
    if (i >= text.size() || text[i] != '(') bad();
    i++;
    bool need_comma = false;
    for (;;) {
        ws();
        if (i < text.size() && text[i] == ')') {
            i++;
            break;
        }
        if (need_comma) {
            if (i >= text.size() || text[i] != ',') bad();
            i++;
            ws();
            if (i < text.size() && text[i] == ')') {
                i++;
                break;
            }
        }
        size_t start = i;
        int64_t v = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            int d = text[i] - '0';
            if (v > (std::numeric_limits<int64_t>::max() - d) / 10)
                fail(what, "shape " + quoted(text) + " overflows a 64-bit dimension");
            v = v * 10 + d;
            i++;
        }
        if (i == start) bad();
        if (i < text.size() && text[i] == 'L') i++;
        shape.push_back(v);
        need_comma = true;
    }
    ws();
    if (i != text.size()) bad();
    // A 1-tuple must be written "(5,)"; "(5)" is just the integer 5 in Python.
    if (shape.size() == 1 && text.find(',') == std::string::npos) bad();
    return shape;
}

NpyHeader parse_header_dict(const std::string &text, const std::string &what) {
    HeaderParser p{text, what};
    NpyHeader h;
    bool have_descr = false, have_fortran = false, have_shape = false;
    p.expect('{');
    for (;;) {
        if (p.eat('}')) break;
        std::string key = p.str();
        p.expect(':');
        if (key == "descr") {
            p.ws();
            if (p.i < text.size() && (text[p.i] == '\'' || text[p.i] == '"'))
                h.descr = p.str();
            else if (p.i < text.size() && text[p.i] == '[')  // a structured dtype: a list of fields
                h.descr = p.raw_value();
            else  // numpy's literal_eval would reject a bare <f4 too
                fail(what, "bad header: descr " + quoted(p.raw_value()) + " is not a quoted string");
            have_descr = true;
        } else if (key == "fortran_order") {
            std::string v = p.raw_value();
            if (v == "True")
                h.fortran = true;
            else if (v == "False")
                h.fortran = false;
            else
                fail(what, "bad header: fortran_order is " + quoted(v) + " (expected True or False)");
            have_fortran = true;
        } else if (key == "shape") {
            h.shape = parse_shape(p.raw_value(), what);
            have_shape = true;
        } else {
            fail(what, "bad header: unexpected key " + quoted(key) +
                           " (expected 'descr', 'fortran_order', 'shape')");
        }
        if (p.eat('}')) break;
        p.expect(',');
    }
    p.ws();
    if (p.i != text.size()) p.bad("text after the closing '}'");
    if (!have_descr) fail(what, "bad header: missing key 'descr'");
    if (!have_fortran) fail(what, "bad header: missing key 'fortran_order'");
    if (!have_shape) fail(what, "bad header: missing key 'shape'");
    return h;
}

// Number of elements of `shape`, checking that it and its byte size (itemsize each) fit.
int64_t checked_numel(const std::vector<int64_t> &shape, int64_t itemsize, const std::string &what) {
    int64_t n = 1;
    const int64_t limit = std::numeric_limits<int64_t>::max() / itemsize;
    for (int64_t d : shape) {
        if (d < 0) fail(what, "shape " + shape_str(shape) + " has a negative dimension");
        if (d != 0 && n > limit / d)
            fail(what, "shape " + shape_str(shape) + " overflows (more than 2^63 bytes)");
        n *= d;
    }
    return n;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// .npy

Tensor parse_npy(const std::string &b, const std::string &what) {
    if (b.size() < kMagicLen || b.compare(0, kMagicLen, kMagic, kMagicLen) != 0)
        fail(what, "bad magic " + quoted(b.substr(0, kMagicLen)) + " (not a .npy file; expected '\\x93NUMPY')");
    if (b.size() < kMagicLen + 2) fail(what, "header is truncated");
    int major = uint8_t(b[6]), minor = uint8_t(b[7]);
    size_t len_bytes;
    if (major == 1 && minor == 0)
        len_bytes = 2;
    else if ((major == 2 || major == 3) && minor == 0)
        len_bytes = 4;
    else
        fail(what, "format version " + std::to_string(major) + "." + std::to_string(minor) +
                       " is not supported (expected 1.0, 2.0 or 3.0)");
    size_t prefix = kMagicLen + 2 + len_bytes;
    if (b.size() < prefix) fail(what, "header is truncated");
    uint64_t header_len = len_bytes == 2 ? load_u16(b, 8) : load_u32(b, 8);
    if (b.size() - prefix < header_len)
        fail(what, "header is truncated: " + std::to_string(b.size() - prefix) + " of " +
                       std::to_string(header_len) + " bytes");
    NpyHeader h = parse_header_dict(b.substr(prefix, header_len), what);

    int64_t itemsize;
    if (h.descr == "<f4")
        itemsize = 4;
    else if (h.descr == "<f8")
        itemsize = 8;  // converted to float32 below (documented in npy.h)
    else
        fail(what, "dtype " + quoted(h.descr) + " is not supported (expected float32 '<f4')");
    if (h.fortran)
        fail(what, "fortran_order True is not supported (expected C order; use np.ascontiguousarray)");

    int64_t numel = checked_numel(h.shape, itemsize, what);
    uint64_t want = uint64_t(numel) * uint64_t(itemsize);
    size_t data_at = prefix + size_t(header_len);
    uint64_t have = b.size() - data_at;
    if (have < want)
        fail(what, "data is truncated: " + std::to_string(have) + " of " + std::to_string(want) + " bytes");
    if (have > want)
        fail(what, std::to_string(have - want) + " bytes of trailing data after the array of " +
                       std::to_string(want) + " bytes");

    Tensor t;
    t.shape = h.shape;
    t.data.resize(size_t(numel));
    for (int64_t k = 0; k < numel; k++) {
        if (itemsize == 4) {
            uint32_t u = load_u32(b, data_at + size_t(k) * 4);
            std::memcpy(&t.data[size_t(k)], &u, 4);
        } else {
            uint64_t u = load_u64(b, data_at + size_t(k) * 8);
            double d;
            std::memcpy(&d, &u, 8);
            t.data[size_t(k)] = float(d);
        }
    }
    return t;
}

std::string serialize_npy(const Tensor &t) {
    int64_t numel = checked_numel(t.shape, 4, "tensor");
    if (uint64_t(numel) != t.data.size())
        throw SpecError("tensor: shape " + shape_str(t.shape) + " holds " + std::to_string(numel) +
                        " values but data has " + std::to_string(t.data.size()));
    // The header exactly as numpy's format.write_array writes it (repr of the dict, 64-byte
    // aligned with spaces, ending in '\n'), so our files are byte-identical to np.save's.
    std::string shape = "(";
    for (size_t i = 0; i < t.shape.size(); i++) {
        if (i) shape += ", ";
        shape += std::to_string(t.shape[i]);
    }
    if (t.shape.size() == 1) shape += ",";
    shape += ")";
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
    size_t len_bytes = 2;
    size_t header_len = header.size() + 1;  // + '\n'
    size_t pad = 64 - (kMagicLen + 2 + len_bytes + header_len) % 64;
    if (header_len + pad > 0xffff) {  // version 2.0: 4-byte header length
        len_bytes = 4;
        pad = 64 - (kMagicLen + 2 + len_bytes + header_len) % 64;
    }
    std::string out(kMagic, kMagicLen);
    out.push_back(char(len_bytes == 2 ? 1 : 2));
    out.push_back(0);
    if (len_bytes == 2)
        put_u16(out, uint16_t(header_len + pad));
    else
        put_u32(out, uint32_t(header_len + pad));
    out += header;
    out.append(pad, ' ');
    out.push_back('\n');
    out.reserve(out.size() + t.data.size() * 4);
    for (float f : t.data) {
        uint32_t u;
        std::memcpy(&u, &f, 4);
        put_u32(out, u);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// .npz (zip, through minizip over an in-memory stream)

namespace {

// minizip reads and writes through these callbacks; the stream is a string and a position.
struct MemStream {
    const std::string *in = nullptr;  // reading
    std::string *out = nullptr;       // writing
    uint64_t pos = 0;
    uint64_t size() const { return in ? in->size() : out->size(); }
};

voidpf mem_open(voidpf opaque, const void *, int) { return opaque; }
uLong mem_read(voidpf, voidpf stream, void *buf, uLong n) {
    auto *s = static_cast<MemStream *>(stream);
    const uint64_t have = s->pos < s->size() ? s->size() - s->pos : 0;
    const uLong k = uLong(std::min<uint64_t>(n, have));
    if (k) std::memcpy(buf, (s->in ? s->in->data() : s->out->data()) + s->pos, k);
    s->pos += k;
    return k;
}
uLong mem_write(voidpf, voidpf stream, const void *buf, uLong n) {
    auto *s = static_cast<MemStream *>(stream);
    if (!s->out) return 0;
    if (s->pos > s->out->size()) s->out->resize(size_t(s->pos), '\0');
    const size_t over = std::min<size_t>(n, s->out->size() - size_t(s->pos));
    s->out->replace(size_t(s->pos), over, static_cast<const char *>(buf), n);
    s->pos += n;
    return n;
}
ZPOS64_T mem_tell(voidpf, voidpf stream) { return static_cast<MemStream *>(stream)->pos; }
long mem_seek(voidpf, voidpf stream, ZPOS64_T offset, int origin) {
    auto *s = static_cast<MemStream *>(stream);
    uint64_t base = origin == ZLIB_FILEFUNC_SEEK_SET ? 0 : origin == ZLIB_FILEFUNC_SEEK_CUR ? s->pos : s->size();
    if (offset > s->size() || base > s->size() - offset) return -1;  // never past the end
    s->pos = base + offset;
    return 0;
}
int mem_close(voidpf, voidpf) { return 0; }
int mem_error(voidpf, voidpf) { return 0; }

zlib_filefunc64_def mem_funcs(MemStream *s) {
    zlib_filefunc64_def f{};
    f.zopen64_file = mem_open;
    f.zread_file = mem_read;
    f.zwrite_file = mem_write;
    f.ztell64_file = mem_tell;
    f.zseek64_file = mem_seek;
    f.zclose_file = mem_close;
    f.zerror_file = mem_error;
    f.opaque = s;
    return f;
}

// The largest .npy header accepted in an .npz whose caller gives expectations: version 1.0's
// limit (numpy writes ~128 bytes for float arrays), plus magic, version and length.
constexpr uint64_t kMaxNpyHeader = 12 + 0xffff;
// DEFLATE expands at most 1032:1: a directory claiming more is corrupt, not a reason to allocate.
constexpr uint64_t kMaxDeflateRatio = 1032;

struct Unzip {
    unzFile z;
    explicit Unzip(unzFile f) : z(f) {}
    ~Unzip() {
        if (z) unzClose(z);
    }
};

// The bytes of the entry minizip is positioned on, after every check that needs no inflating:
// method, encryption, sizes against the directory, the caller's bound and the file's size. At
// most min(bound, the directory's size) bytes are ever produced; minizip checks the CRC.
std::string entry_bytes(unzFile z, const unz_file_info64 &fi, uint64_t file_size, uint64_t bound,
                        const std::string &ewhat) {
    if (fi.flag & 0x1) fail(ewhat, "is encrypted");
    if (fi.compression_method != 0 && fi.compression_method != Z_DEFLATED)
        fail(ewhat, "compression method " + std::to_string(fi.compression_method) +
                        " is not supported (expected 0 STORED or 8 DEFLATE)");
    if (fi.compression_method == 0 && fi.compressed_size != fi.uncompressed_size)
        fail(ewhat, "STORED entry has compressed size " + std::to_string(fi.compressed_size) + " but size " +
                        std::to_string(fi.uncompressed_size));
    if (fi.compressed_size > file_size)
        fail(ewhat, "compressed size " + std::to_string(fi.compressed_size) + " exceeds the " +
                        std::to_string(file_size) + "-byte file");
    if (fi.compression_method != 0 && fi.uncompressed_size > fi.compressed_size * kMaxDeflateRatio + 1024)
        fail(ewhat, "uncompressed size " + std::to_string(fi.uncompressed_size) + " is impossible for " +
                        std::to_string(fi.compressed_size) + " compressed bytes");
    if (fi.uncompressed_size > bound)
        fail(ewhat, "holds " + std::to_string(fi.uncompressed_size) + " bytes, more than the " + std::to_string(bound) +
                        " its array can take as .npy (header included)");
    if (fi.uncompressed_size > std::numeric_limits<size_t>::max() / 2) fail(ewhat, "is too large for this machine");
    if (unzOpenCurrentFile(z) != UNZ_OK)
        fail(ewhat, "bad local header (the directory points outside the file or at no matching local header)");
    const uint64_t data_at = unzGetCurrentFileZStreamPos64(z);
    if (data_at > file_size || file_size - data_at < fi.compressed_size) {
        unzCloseCurrentFile(z);
        fail(ewhat, "data is truncated: " + std::to_string(data_at < file_size ? file_size - data_at : 0) + " of " +
                        std::to_string(fi.compressed_size) + " bytes");
    }
    std::string data(size_t(fi.uncompressed_size), '\0');
    size_t got = 0;
    while (got < data.size()) {
        const unsigned chunk = unsigned(std::min<size_t>(data.size() - got, 1u << 30));
        const int n = unzReadCurrentFile(z, &data[got], chunk);
        if (n <= 0) {
            unzCloseCurrentFile(z);
            fail(ewhat, (n == Z_DATA_ERROR ? std::string("corrupt DEFLATE data") : "data is truncated") + " after " +
                            std::to_string(got) + " of " + std::to_string(data.size()) + " bytes");
        }
        got += size_t(n);
    }
    if (unzCloseCurrentFile(z) == UNZ_CRCERROR)
        fail(ewhat, fmt::format("CRC32 mismatch (stored 0x{:08x})", fi.crc));
    return data;
}

}  // namespace

NamedTensors parse_npz(const std::string &b, const std::string &what, const NpzExpect &expect) {
    if (b.size() >= kMagicLen && b.compare(0, kMagicLen, kMagic, kMagicLen) == 0)
        fail(what, "is a .npy file, not an .npz archive");
    // minizip 1.1 takes an end record at offset 0 for "not found": that is the empty archive
    // (numpy writes it for np.savez(f)), whose record says 0 entries.
    if (b.size() >= 22 && load_u32(b, 0) == 0x06054b50 && 22 + size_t(load_u16(b, 20)) == b.size() &&
        load_u16(b, 8) == 0 && load_u16(b, 10) == 0)
        return {};
    MemStream stream{&b, nullptr, 0};
    zlib_filefunc64_def funcs = mem_funcs(&stream);
    Unzip zip(unzOpen2_64(what.c_str(), &funcs));
    if (!zip.z)
        fail(what, "not a zip archive (" + std::to_string(b.size()) +
                       " bytes, no readable end of central directory record)");
    std::string names;  // what the caller takes, for messages
    for (const auto &kv : expect.numel) names += (names.empty() ? "" : ", ") + kv.first;
    NamedTensors out;
    std::vector<char> name_buf(0x10000);  // a zip name has at most 65535 bytes
    int rc = unzGoToFirstFile(zip.z);
    for (uint64_t index = 0; rc == UNZ_OK; rc = unzGoToNextFile(zip.z), index++) {
        unz_file_info64 fi{};
        if (unzGetCurrentFileInfo64(zip.z, &fi, name_buf.data(), uLong(name_buf.size()), nullptr, 0, nullptr, 0) !=
            UNZ_OK)
            fail(what, "bad central directory entry " + std::to_string(index));
        const std::string name(name_buf.data(), std::min<size_t>(fi.size_filename, name_buf.size()));
        const std::string ewhat = what + ": entry " + quoted(name);
        const std::string suffix = ".npy";
        if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
            fail(ewhat, "is not a .npy file (an .npz holds only 'name.npy' entries)");
        const std::string key = name.substr(0, name.size() - suffix.size());
        if (out.count(key)) fail(ewhat, "appears twice");
        if (expect.skip && expect.skip(key)) continue;
        uint64_t bound = std::numeric_limits<uint64_t>::max();
        if (!expect.numel.empty()) {
            auto it = expect.numel.find(key);
            if (it == expect.numel.end()) fail(ewhat, "is not a parameter of this layer (it takes " + names + ")");
            bound = kMaxNpyHeader + uint64_t(it->second) * 8;  // float64 is accepted and converted
        }
        out[key] = parse_npy(entry_bytes(zip.z, fi, b.size(), bound, ewhat), ewhat);
    }
    if (rc != UNZ_END_OF_LIST_OF_FILE) fail(what, "bad central directory (minizip error " + std::to_string(rc) + ")");
    return out;
}

NamedTensors parse_npz(const std::string &b, const std::string &what,
                       const std::function<bool(const std::string &)> &skip) {
    return parse_npz(b, what, NpzExpect{skip, {}});
}

std::string serialize_npz(const NamedTensors &tensors) {
    // STORED entries, no zip64: the plainest zip that numpy (and unzip) read. Time 00:00, date
    // 1980-01-01 so that equal inputs give identical files.
    if (tensors.size() >= 0xffff)
        throw SpecError("npz: " + std::to_string(tensors.size()) + " tensors are too many for one archive");
    std::string out;
    MemStream stream{nullptr, &out, 0};
    zlib_filefunc64_def funcs = mem_funcs(&stream);
    zipFile zf = zipOpen2_64("<memory>", APPEND_STATUS_CREATE, nullptr, &funcs);
    if (!zf) throw SpecError("npz: minizip cannot start an archive");
    uint64_t total = 0;
    try {
        for (const auto &kv : tensors) {
            if (kv.first.empty()) throw SpecError("npz: a tensor has an empty name");
            const std::string name = kv.first + ".npy";
            if (name.size() > 0xffff) throw SpecError("npz: tensor name " + quoted(kv.first) + " is too long");
            if (name.find('\0') != std::string::npos)  // a zip name is a C string to minizip
                throw SpecError("npz: tensor name " + quoted(kv.first) + " holds a NUL byte");
            std::string data;
            try {
                data = serialize_npy(kv.second);
            } catch (const SpecError &err) {
                throw SpecError("npz: tensor " + quoted(kv.first) + ": " + err.what());
            }
            total += data.size() + 2 * name.size() + 30 + 46;
            if (data.size() >= 0xffffffffu || total >= 0xffffffffu)
                throw SpecError("npz: tensor " + quoted(kv.first) +
                                " makes the archive larger than 4 GiB (zip64 is not written)");
            zip_fileinfo info{};
            info.tmz_date.tm_year = 1980;
            info.tmz_date.tm_mday = 1;
            info.external_fa = 0100644u << 16;  // regular file rw-r--r-- (made by Unix, below)
            if (zipOpenNewFileInZip4_64(zf, name.c_str(), &info, nullptr, 0, nullptr, 0, nullptr, 0, 0, 0, -MAX_WBITS,
                                        DEF_MEM_LEVEL, Z_DEFAULT_STRATEGY, nullptr, 0, 0x0314, 0, 0) != ZIP_OK ||
                zipWriteInFileInZip(zf, data.data(), unsigned(data.size())) != ZIP_OK ||
                zipCloseFileInZip(zf) != ZIP_OK)
                throw SpecError("npz: minizip cannot write tensor " + quoted(kv.first));
        }
    } catch (...) {
        zipClose(zf, nullptr);
        throw;
    }
    if (zipClose(zf, nullptr) != ZIP_OK) throw SpecError("npz: minizip cannot finish the archive");
    return out;
}

// ---------------------------------------------------------------------------------------------
// files

std::string read_file_bytes(const std::string &path) {
    FILE *f = std::fopen(path.c_str(), "rb");
    if (!f) fail(path, std::string("cannot open: ") + std::strerror(errno));
    std::string out;
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    int err = std::ferror(f) ? errno : 0;
    std::fclose(f);
    if (err) fail(path, std::string("cannot read: ") + std::strerror(err));
    return out;
}

void write_file_atomic(const std::string &path, const std::string &bytes) {
    const std::string tmp = path + ".tmp." + std::to_string(long(getpid()));
    FILE *f = std::fopen(tmp.c_str(), "wb");
    if (!f) fail(path, "cannot create " + quoted(tmp) + ": " + std::strerror(errno));
    bool ok = bytes.empty() || std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    int err = ok ? 0 : errno;
    if (std::fflush(f) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (std::fclose(f) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (ok && std::rename(tmp.c_str(), path.c_str()) != 0) {
        ok = false;
        err = errno;
    }
    if (!ok) {
        std::remove(tmp.c_str());
        fail(path, std::string("cannot write: ") + std::strerror(err));
    }
}

Tensor read_npy(const std::string &path) { return parse_npy(read_file_bytes(path), path); }

NamedTensors read_npz(const std::string &path, const std::function<bool(const std::string &)> &skip) {
    return parse_npz(read_file_bytes(path), path, skip);
}

NamedTensors read_npz(const std::string &path, const NpzExpect &expect) {
    return parse_npz(read_file_bytes(path), path, expect);
}

void write_npy(const std::string &path, const Tensor &t) {
    std::string bytes;
    try {
        bytes = serialize_npy(t);
    } catch (const SpecError &e) {
        fail(path, e.what());
    }
    write_file_atomic(path, bytes);
}

void write_npz(const std::string &path, const NamedTensors &tensors) {
    std::string bytes;
    try {
        bytes = serialize_npz(tensors);
    } catch (const SpecError &e) {
        fail(path, e.what());
    }
    write_file_atomic(path, bytes);
}

}  // namespace convgen
