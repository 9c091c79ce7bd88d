#include "schedules/target_facts.h"

#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace convgen {

TargetFacts default_facts(const Halide::Target &t) {
    using Halide::Target;
    TargetFacts f;
    if (t.arch == Target::ARM) {
        f.vector_registers = 32;  // v0-v31, 4 fp32 lanes each
        f.l1_bytes = 64 << 10;
        f.l1_ways = 4;
        f.l2_bytes = 1 << 20;
    } else if (t.has_feature(Target::AVX512) || t.has_feature(Target::AVX512_Skylake) ||
               t.has_feature(Target::AVX512_Cannonlake) || t.has_feature(Target::AVX512_Zen4) ||
               t.has_feature(Target::AVX512_SapphireRapids)) {
        f.vector_bits = 512;
        f.vector_registers = 32;  // zmm0-zmm31
        f.l2_bytes = 1 << 20;
    } else if (t.has_feature(Target::AVX2) || t.has_feature(Target::AVX)) {
        f.vector_bits = 256;  // ymm0-ymm15
    }
    f.fma_bits = f.vector_bits;
    return f;
}

namespace {

// "48K", "2048K", "260M" as sysfs prints cache sizes; 0 when unreadable.
long read_size(const std::string &path) {
    std::ifstream in(path);
    long v = 0;
    char unit = 0;
    if (!(in >> v) || v <= 0) return 0;
    if (in >> unit) v *= unit == 'K' ? 1024L : unit == 'M' ? 1024L * 1024 : unit == 'G' ? 1024L * 1024 * 1024 : 1;
    return v;
}

std::string read_word(const std::string &path) {
    std::ifstream in(path);
    std::string w;
    in >> w;
    return w;
}

// The first `field : value` line of each field of /proc/cpuinfo (Linux x86), read in one pass;
// an absent field is empty.
std::vector<std::string> cpuinfo_fields(const std::vector<std::string> &fields) {
    std::vector<std::string> values(fields.size());
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);) {
        const size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string key = line.substr(0, colon);
        key.erase(key.find_last_not_of(" \t") + 1);
        for (size_t i = 0; i < fields.size(); i++)
            if (key == fields[i] && values[i].empty()) {
                const size_t v = line.find_first_not_of(" \t", colon + 1);
                values[i] = v == std::string::npos ? "" : line.substr(v);
            }
    }
    return values;
}

}  // namespace

TargetFacts host_facts(const Halide::Target &t) {
    TargetFacts f = default_facts(t);
    f.source = "host";
    for (int i = 0; i < 8; i++) {
        const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
        const std::string level = read_word(dir + "level"), type = read_word(dir + "type");
        if (level.empty()) break;
        const long size = read_size(dir + "size");
        if (size <= 0 || size > (1L << 30)) continue;
        if (level == "1" && type == "Data") {
            f.l1_bytes = int(size);
            const long ways = read_size(dir + "ways_of_associativity"), line = read_size(dir + "coherency_line_size");
            if (ways > 0 && ways <= 64) f.l1_ways = int(ways);
            if (line >= 16 && line <= 1024) f.line_bytes = int(line);
        } else if (level == "2" && type != "Instruction") f.l2_bytes = int(size);
        else if (level == "3" && type != "Instruction") f.l3_bytes = int(size);
    }
    if (unsigned n = std::thread::hardware_concurrency()) f.cores = int(n);
    // AMD family 19h (Zen 3, Zen 4) has 256-bit FMA units; Zen 4 runs a 512-bit FMA as two halves.
    if (t.arch == Halide::Target::X86 &&
        cpuinfo_fields({"vendor_id", "cpu family"}) == std::vector<std::string>{"AuthenticAMD", "25"})
        f.fma_bits = std::min(f.vector_bits, 256);
    return f;
}

std::string to_text(const TargetFacts &f) {
    std::ostringstream o;
    o << "source=" << f.source << " vector_bits=" << f.vector_bits << " vector_registers=" << f.vector_registers
      << " fma_latency=" << f.fma_latency << " fma_units=" << f.fma_units << " fma_bits=" << f.fma_bits << " l1=" << f.l1_bytes
      << " l1_ways=" << f.l1_ways << " line=" << f.line_bytes
      << " l2=" << f.l2_bytes << " l3=" << f.l3_bytes << " cores=" << f.cores;
    return o.str();
}

}  // namespace convgen
