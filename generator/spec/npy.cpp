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

#include <unistd.h>
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
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", ch);
            out += buf;
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
// .npz (zip)

namespace {

const uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
const uint32_t kZip64EndSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;

struct ZipEntry {
    std::string name;
    uint16_t flags = 0, method = 0;
    uint32_t crc = 0;
    uint64_t csize = 0, usize = 0, offset = 0;
};

std::string inflate_raw(const std::string &in, uint64_t usize, const std::string &what) {
    std::string out(size_t(usize), '\0');
    z_stream zs{};
    if (inflateInit2(&zs, -15) != Z_OK) fail(what, "cannot initialize zlib");
    zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.data()));
    zs.avail_in = uInt(in.size());
    zs.next_out = reinterpret_cast<Bytef *>(out.empty() ? nullptr : &out[0]);
    zs.avail_out = uInt(out.size());
    int rc = inflate(&zs, Z_FINISH);
    uint64_t produced = zs.total_out;
    std::string msg = zs.msg ? zs.msg : "";
    inflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        if (rc == Z_BUF_ERROR && produced == usize)
            fail(what, "inflated data is larger than the " + std::to_string(usize) + " bytes the directory records");
        fail(what, "corrupt DEFLATE data" + (msg.empty() ? std::string() : " (zlib: " + msg + ")") +
                       " after " + std::to_string(produced) + " of " + std::to_string(usize) + " bytes");
    }
    if (produced != usize)
        fail(what, "inflated to " + std::to_string(produced) + " bytes, the directory records " +
                       std::to_string(usize));
    return out;
}

// Fills the fields that are 0xFFFFFFFF in the 32-bit record from a zip64 extra field (id 1):
// the 64-bit values appear in the order usize, csize, offset, only for fields that overflowed.
void apply_zip64_extra(const std::string &extra, ZipEntry &e, bool u_ovf, bool c_ovf, bool o_ovf,
                       const std::string &what) {
    size_t i = 0;
    while (i + 4 <= extra.size()) {
        uint16_t id = load_u16(extra, i), len = load_u16(extra, i + 2);
        if (i + 4 + len > extra.size()) break;  // a malformed tail; the sizes are checked later
        if (id == 0x0001) {
            size_t j = i + 4, end = i + 4 + len;
            auto next = [&](uint64_t &field) {
                if (j + 8 > end) fail(what, "zip64 extra field is too short");
                field = load_u64(extra, j);
                j += 8;
            };
            if (u_ovf) next(e.usize);
            if (c_ovf) next(e.csize);
            if (o_ovf) next(e.offset);
            return;
        }
        i += 4 + len;
    }
    if (u_ovf || c_ovf || o_ovf) fail(what, "sizes are 0xFFFFFFFF but there is no zip64 extra field");
}

// The entries, and in *cd_start where the central directory begins (entries' data ends there).
std::vector<ZipEntry> read_central_directory(const std::string &b, const std::string &what, uint64_t *cd_start) {
    // The end-of-central-directory record is the last 22 bytes plus a comment of up to 64 KiB.
    if (b.size() < 22) {
        if (b.compare(0, kMagicLen, kMagic, std::min(b.size(), kMagicLen)) == 0 && b.size() >= kMagicLen)
            fail(what, "is a .npy file, not an .npz archive");
        fail(what, "not a zip archive (" + std::to_string(b.size()) + " bytes, no end of central directory)");
    }
    size_t eocd = std::string::npos;
    size_t lowest = b.size() >= 22 + 0xffff ? b.size() - 22 - 0xffff : 0;
    for (size_t i = b.size() - 22 + 1; i-- > lowest;) {
        if (load_u32(b, i) == kEndSig && i + 22 + load_u16(b, i + 20) == b.size()) {
            eocd = i;
            break;
        }
    }
    if (eocd == std::string::npos) {
        if (b.compare(0, kMagicLen, kMagic, kMagicLen) == 0) fail(what, "is a .npy file, not an .npz archive");
        fail(what, "not a zip archive (no end of central directory record)");
    }
    uint64_t disk = load_u16(b, eocd + 4), cd_disk = load_u16(b, eocd + 6);
    uint64_t count = load_u16(b, eocd + 10);
    uint64_t cd_size = load_u32(b, eocd + 12), cd_off = load_u32(b, eocd + 16);
    if (count == 0xffff || cd_size == 0xffffffff || cd_off == 0xffffffff) {
        if (eocd >= 20 && load_u32(b, eocd - 20) == kZip64LocatorSig) {
            uint64_t z = load_u64(b, eocd - 20 + 8);
            if (z > b.size() || b.size() - z < 56 || load_u32(b, size_t(z)) != kZip64EndSig)
                fail(what, "bad zip64 end of central directory record");
            disk = load_u32(b, size_t(z) + 16);
            cd_disk = load_u32(b, size_t(z) + 20);
            count = load_u64(b, size_t(z) + 32);
            cd_size = load_u64(b, size_t(z) + 40);
            cd_off = load_u64(b, size_t(z) + 48);
        }
    }
    if (disk != 0 || cd_disk != 0) fail(what, "multi-disk zip archives are not supported");
    if (cd_off > b.size() || cd_size > b.size() - cd_off)
        fail(what, "central directory at offset " + std::to_string(cd_off) + " (" + std::to_string(cd_size) +
                       " bytes) lies outside the " + std::to_string(b.size()) + "-byte file (truncated?)");

    *cd_start = cd_off;
    std::vector<ZipEntry> entries;
    size_t p = size_t(cd_off), end = size_t(cd_off + cd_size);
    for (uint64_t k = 0; k < count; k++) {
        if (p + 46 > end || load_u32(b, p) != kCentralSig)
            fail(what, "bad central directory entry " + std::to_string(k) + " at offset " + std::to_string(p));
        ZipEntry e;
        e.flags = load_u16(b, p + 8);
        e.method = load_u16(b, p + 10);
        e.crc = load_u32(b, p + 16);
        e.csize = load_u32(b, p + 20);
        e.usize = load_u32(b, p + 24);
        size_t nlen = load_u16(b, p + 28), xlen = load_u16(b, p + 30), clen = load_u16(b, p + 32);
        e.offset = load_u32(b, p + 42);
        if (p + 46 + nlen + xlen + clen > end)
            fail(what, "central directory entry " + std::to_string(k) + " runs past the directory");
        e.name = b.substr(p + 46, nlen);
        std::string ewhat = what + ": entry " + quoted(e.name);
        apply_zip64_extra(b.substr(p + 46 + nlen, xlen), e, e.usize == 0xffffffff, e.csize == 0xffffffff,
                          e.offset == 0xffffffff, ewhat);
        entries.push_back(e);
        p += 46 + nlen + xlen + clen;
    }
    return entries;
}

// The uncompressed bytes of one entry, CRC-checked. An entry stored before the central
// directory (always, for the archives numpy and we write) must end before it.
std::string entry_bytes(const std::string &b, const ZipEntry &e, uint64_t cd_start, const std::string &ewhat) {
    if (e.flags & 0x1) fail(ewhat, "is encrypted");
    if (e.method != 0 && e.method != 8)
        fail(ewhat, "compression method " + std::to_string(e.method) +
                        " is not supported (expected 0 STORED or 8 DEFLATE)");
    if (e.offset > b.size() || b.size() - e.offset < 30 || load_u32(b, size_t(e.offset)) != kLocalSig)
        fail(ewhat, "bad local header at offset " + std::to_string(e.offset));
    // The local header's name/extra lengths may differ from the central directory's (numpy's
    // zip64 extra appears only here); its sizes may be 0xFFFFFFFF, so we use the central ones.
    size_t lo = size_t(e.offset);
    uint64_t data_at = uint64_t(lo) + 30 + load_u16(b, lo + 26) + load_u16(b, lo + 28);
    const uint64_t limit = e.offset < cd_start ? cd_start : b.size();
    uint64_t have = data_at <= limit ? limit - data_at : 0;
    if (have < e.csize)
        fail(ewhat, "data is truncated: " + std::to_string(have) + " of " + std::to_string(e.csize) + " bytes");
    std::string raw = b.substr(size_t(data_at), size_t(e.csize));
    std::string data;
    if (e.method == 0) {
        if (e.csize != e.usize)
            fail(ewhat, "STORED entry has compressed size " + std::to_string(e.csize) + " but size " +
                            std::to_string(e.usize));
        data = std::move(raw);
    } else {
        // DEFLATE expands at most ~1032:1; a larger claim is a corrupt directory, not a reason
        // to allocate.
        if (e.usize > e.csize * 1100 + 1024)
            fail(ewhat, "uncompressed size " + std::to_string(e.usize) + " is impossible for " +
                            std::to_string(e.csize) + " compressed bytes");
        if (e.csize > UINT_MAX || e.usize > UINT_MAX)
            fail(ewhat, "DEFLATE entries over 4 GiB are not supported");
        data = inflate_raw(raw, e.usize, ewhat);
    }
    uint32_t crc = uint32_t(crc32(0L, Z_NULL, 0));
    for (size_t at = 0; at < data.size(); at += (1u << 30)) {
        size_t n = std::min<size_t>(data.size() - at, 1u << 30);
        crc = uint32_t(crc32(crc, reinterpret_cast<const Bytef *>(data.data() + at), uInt(n)));
    }
    if (crc != e.crc) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "CRC32 mismatch (stored 0x%08x, computed 0x%08x)", e.crc, crc);
        fail(ewhat, buf);
    }
    return data;
}

}  // namespace

NamedTensors parse_npz(const std::string &b, const std::string &what,
                       const std::function<bool(const std::string &)> &skip) {
    NamedTensors out;
    uint64_t cd_start = 0;
    for (const ZipEntry &e : read_central_directory(b, what, &cd_start)) {
        std::string ewhat = what + ": entry " + quoted(e.name);
        const std::string suffix = ".npy";
        if (e.name.size() <= suffix.size() || e.name.compare(e.name.size() - suffix.size(), suffix.size(), suffix) != 0)
            fail(ewhat, "is not a .npy file (an .npz holds only 'name.npy' entries)");
        std::string key = e.name.substr(0, e.name.size() - suffix.size());
        if (out.count(key)) fail(ewhat, "appears twice");
        if (skip && skip(key)) continue;
        out[key] = parse_npy(entry_bytes(b, e, cd_start, ewhat), ewhat);
    }
    return out;
}

std::string serialize_npz(const NamedTensors &tensors) {
    // STORED entries, no data descriptors, no zip64: the plainest zip that numpy (and unzip)
    // read. Time 00:00, date 1980-01-01 so that equal inputs give identical files.
    const uint16_t kTime = 0, kDate = (0 << 9) | (1 << 5) | 1;
    if (tensors.size() >= 0xffff)
        throw SpecError("npz: " + std::to_string(tensors.size()) + " tensors are too many for one archive");
    std::string out, central;
    for (const auto &kv : tensors) {
        if (kv.first.empty()) throw SpecError("npz: a tensor has an empty name");
        std::string name = kv.first + ".npy";
        if (name.size() > 0xffff) throw SpecError("npz: tensor name " + quoted(kv.first) + " is too long");
        std::string data;
        try {
            data = serialize_npy(kv.second);
        } catch (const SpecError &err) {
            throw SpecError("npz: tensor " + quoted(kv.first) + ": " + err.what());
        }
        if (data.size() >= 0xffffffffu || out.size() + data.size() + 30 + name.size() >= 0xffffffffu)
            throw SpecError("npz: tensor " + quoted(kv.first) +
                            " makes the archive larger than 4 GiB (zip64 is not written)");
        uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef *>(data.data()), uInt(data.size())));
        uint32_t offset = uint32_t(out.size());
        put_u32(out, kLocalSig);
        put_u16(out, 20);  // version needed: 2.0
        put_u16(out, 0);   // flags
        put_u16(out, 0);   // method: STORED
        put_u16(out, kTime);
        put_u16(out, kDate);
        put_u32(out, crc);
        put_u32(out, uint32_t(data.size()));
        put_u32(out, uint32_t(data.size()));
        put_u16(out, uint16_t(name.size()));
        put_u16(out, 0);  // extra length
        out += name;
        out += data;

        put_u32(central, kCentralSig);
        put_u16(central, 0x0314);  // made by: Unix, spec 2.0 (so the mode below is honoured)
        put_u16(central, 20);
        put_u16(central, 0);
        put_u16(central, 0);
        put_u16(central, kTime);
        put_u16(central, kDate);
        put_u32(central, crc);
        put_u32(central, uint32_t(data.size()));
        put_u32(central, uint32_t(data.size()));
        put_u16(central, uint16_t(name.size()));
        put_u16(central, 0);  // extra
        put_u16(central, 0);  // comment
        put_u16(central, 0);  // disk
        put_u16(central, 0);  // internal attributes
        put_u32(central, 0100644u << 16);  // external attributes: regular file rw-r--r--
        put_u32(central, offset);
        central += name;
    }
    if (out.size() + central.size() >= 0xffffffffu)
        throw SpecError("npz: archive larger than 4 GiB (zip64 is not written)");
    uint32_t cd_off = uint32_t(out.size());
    out += central;
    put_u32(out, kEndSig);
    put_u16(out, 0);
    put_u16(out, 0);
    put_u16(out, uint16_t(tensors.size()));
    put_u16(out, uint16_t(tensors.size()));
    put_u32(out, uint32_t(central.size()));
    put_u32(out, cd_off);
    put_u16(out, 0);  // comment length
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
