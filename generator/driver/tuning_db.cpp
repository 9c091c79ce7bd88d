// Tuning records (see tuning_db.h).
#include "generator/driver/tuning_db.h"

#include "generator/driver/manifest.h"
#include "generator/spec/npy.h"
#include "schedules/choice.h"
#include "schedules/target_facts.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/file.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace convgen {

namespace {

CpuIdentity read_host_cpu() {
    CpuIdentity c;
    std::ifstream info("/proc/cpuinfo");
    for (std::string line; std::getline(info, line);) {
        const size_t colon = line.find(':');
        if (colon == std::string::npos) {
            if (!c.vendor.empty()) break;  // the first processor's block is enough
            continue;
        }
        std::string key = line.substr(0, colon), value = line.substr(colon + 1);
        key.erase(key.find_last_not_of(" \t") + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        if (key == "vendor_id") c.vendor = value;
        else if (key == "model name") c.name = value;
        else if (key == "cpu family") c.family = std::atoi(value.c_str());
        else if (key == "model") c.model = std::atoi(value.c_str());
        else if (key == "CPU implementer" && c.vendor.empty()) c.vendor = value;  // AArch64
        else if (key == "CPU part") c.model = int(std::strtol(value.c_str(), nullptr, 0));
    }
    const TargetFacts f = host_facts(Halide::get_host_target());
    c.l1_bytes = f.l1_bytes, c.l2_bytes = f.l2_bytes, c.l3_bytes = f.l3_bytes;
    return c;
}

}  // namespace

CpuIdentity host_cpu(int threads) {
    static const CpuIdentity machine = read_host_cpu();  // specialize() asks once per kernel
    CpuIdentity c = machine;
    c.threads = threads;
    return c;
}

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string record_layer(const LayerSpec &specialized) {
    LayerSpec s = specialized;
    s.name.clear();
    s.pw_block = 0;
    return to_text(s);
}

namespace {

nlohmann::json timing_json(const Timing &t) { return {{"median_us", t.median_us}, {"spread", t.spread}}; }

template <typename T>
T field(const nlohmann::json &j, const char *name, const std::string &where) {
    if (!j.contains(name)) throw SpecError(where + ": the record has no field '" + name + "'");
    try {
        return j.at(name).get<T>();
    } catch (const nlohmann::json::exception &) {
        throw SpecError(where + ": field '" + name + "' has the wrong type (" + j.at(name).dump() + ")");
    }
}

Timing timing_from(const nlohmann::json &j, const char *name, const std::string &where) {
    const auto t = field<nlohmann::json>(j, name, where);
    if (!t.is_object()) throw SpecError(where + ": field '" + std::string(name) + "' is not an object");
    return {field<double>(t, "median_us", where), field<double>(t, "spread", where)};
}

// Parses the records of `text` (the contents of `path`).
std::vector<TuningRecord> parse_records(const std::string &text, const std::string &path) {
    std::vector<TuningRecord> out;
    std::istringstream in(text);
    int n = 0;
    for (std::string line; std::getline(in, line);) {
        n++;
        const std::string where = path + ":" + std::to_string(n);
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (j.is_discarded() || !j.is_object()) throw SpecError(where + ": not a JSON object (a corrupt tuning database?)");
        out.push_back(record_from_json(j, where));
    }
    if (!text.empty() && text.back() != '\n')
        throw SpecError(path + ":" + std::to_string(n) + ": the last line is cut off (no newline)");
    return out;
}

std::string read_all(int fd) {
    std::string s;
    char buf[1 << 16];
    for (ssize_t r; (r = read(fd, buf, sizeof buf)) != 0;) {
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) throw SpecError(std::string("tuning database: read failed: ") + std::strerror(errno));
        s.append(buf, size_t(r));
    }
    return s;
}

int closeness(const CpuIdentity &a, const CpuIdentity &b) {
    return 16 * (a.vendor == b.vendor) + 8 * (a.family == b.family && a.model == b.model) +
           4 * (a.threads == b.threads) + 2 * (a.l2_bytes == b.l2_bytes) + (a.l1_bytes == b.l1_bytes);
}

}  // namespace

nlohmann::json to_json(const TuningRecord &r) {
    return {{"format", kTuningFormat},
            {"layer", r.layer},
            {"target", r.target},
            {"halide", r.halide},
            {"space", r.space},
            {"cpu",
             {{"vendor", r.cpu.vendor},
              {"name", r.cpu.name},
              {"family", r.cpu.family},
              {"model", r.cpu.model},
              {"l1", r.cpu.l1_bytes},
              {"l2", r.cpu.l2_bytes},
              {"l3", r.cpu.l3_bytes},
              {"threads", r.cpu.threads}}},
            {"choice", r.choice},
            {"default_choice", r.default_choice},
            {"tuned", timing_json(r.tuned)},
            {"default", timing_json(r.fallback)},
            {"wins", r.wins},
            {"rounds", r.rounds},
            {"candidates", r.candidates},
            {"search_s", r.search_seconds},
            {"load", r.load},
            {"steal", r.steal},
            {"date", r.date}};
}

TuningRecord record_from_json(const nlohmann::json &j, const std::string &where) {
    const int format = field<int>(j, "format", where);
    if (format > kTuningFormat)
        throw SpecError(where + ": record format " + std::to_string(format) + " is newer than this convgen reads (" +
                        std::to_string(kTuningFormat) + ")");
    if (format < 1) throw SpecError(where + ": record format " + std::to_string(format) + " is not valid");
    TuningRecord r;
    r.layer = field<std::string>(j, "layer", where);
    try {
        parse_layer(r.layer);
    } catch (const SpecError &e) {
        throw SpecError(where + ": " + e.what());
    }
    r.target = field<std::string>(j, "target", where);
    r.halide = field<std::string>(j, "halide", where);
    r.space = field<int>(j, "space", where);
    const auto cpu = field<nlohmann::json>(j, "cpu", where);
    if (!cpu.is_object()) throw SpecError(where + ": field 'cpu' is not an object");
    r.cpu.vendor = field<std::string>(cpu, "vendor", where);
    r.cpu.name = field<std::string>(cpu, "name", where);
    r.cpu.family = field<int>(cpu, "family", where);
    r.cpu.model = field<int>(cpu, "model", where);
    r.cpu.l1_bytes = field<int>(cpu, "l1", where);
    r.cpu.l2_bytes = field<int>(cpu, "l2", where);
    r.cpu.l3_bytes = field<int>(cpu, "l3", where);
    r.cpu.threads = field<int>(cpu, "threads", where);
    r.choice = field<std::string>(j, "choice", where);
    r.default_choice = field<std::string>(j, "default_choice", where);
    r.tuned = timing_from(j, "tuned", where);
    r.fallback = timing_from(j, "default", where);
    r.wins = field<int>(j, "wins", where);
    r.rounds = field<int>(j, "rounds", where);
    r.candidates = field<int>(j, "candidates", where);
    r.search_seconds = field<double>(j, "search_s", where);
    r.load = field<double>(j, "load", where);
    r.steal = field<double>(j, "steal", where);
    r.date = field<std::string>(j, "date", where);
    r.where = where;
    return r;
}

TuningDb TuningDb::open(const std::string &path, bool missing_ok) {
    TuningDb db;
    db.path_ = path;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT && missing_ok) return db;
        throw SpecError("tuning database: cannot read '" + path + "': " + std::strerror(errno));
    }
    flock(fd, LOCK_SH);  // a reader never sees half of an append
    std::string text;
    try {
        text = read_all(fd);
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
    db.records_ = parse_records(text, path);
    return db;
}

std::optional<TuningDb> TuningDb::from_option(const std::string &db_option) {
    std::string path = db_option;
    if (path.empty())
        if (const char *e = std::getenv(kTuningDbEnv)) path = e;
    if (path.empty()) return std::nullopt;
    return open(path);
}

const TuningRecord *TuningDb::find(const std::string &layer, const std::string &target, const CpuIdentity &cpu) const {
    const TuningRecord *best = nullptr;
    int best_score = -1;
    for (const TuningRecord &r : records_) {
        if (r.layer != layer || r.target != target || r.space != kChoiceSpaceVersion) continue;
        if (r.halide != halide_version()) continue;
        const int score = closeness(r.cpu, cpu);
        if (score >= best_score) best = &r, best_score = score;  // >=: the newest of equals
    }
    return best;
}

void TuningDb::append(const std::string &path, const TuningRecord &r) {
    const fs::path parent = fs::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) fs::create_directories(parent, ec);
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) throw SpecError("tuning database: cannot open '" + path + "' to append: " + std::strerror(errno));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    if (flock(fd, LOCK_EX) != 0) throw SpecError("tuning database: cannot lock '" + path + "': " + std::strerror(errno));
    parse_records(read_all(fd), path);  // refuse to add to a corrupt or newer file
    const std::string line = to_json(r).dump() + "\n";
    const ssize_t n = write(fd, line.data(), line.size());
    if (n != ssize_t(line.size()))
        throw SpecError("tuning database: writing '" + path + "' failed: " + std::strerror(errno));
}

size_t merge_tuning_dbs(const std::vector<std::string> &inputs, const std::string &output) {
    std::set<std::string> seen;
    std::string text;
    for (const std::string &in : inputs) {
        const TuningDb db = TuningDb::open(in);
        for (const TuningRecord &r : db.records()) {
            const std::string line = to_json(r).dump();
            if (seen.insert(line).second) text += line + "\n";
        }
    }
    write_file_atomic(output, text);
    return seen.size();
}

}  // namespace convgen
