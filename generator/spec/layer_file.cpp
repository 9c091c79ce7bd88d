// Layer files: a JSON array of layer objects (the --layer keys, plus "name"), or a TSV in the
// format of layers/suite.tsv (name kind N Cin H W Cout k stride pad dilation, where the
// kinds conv | pw | dw | dws mean conv, pointwise, depthwise, dwsep with act=relu).
// Errors name the file, the entry (index and name) and the field.
#include "generator/spec/layer_spec.h"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <algorithm>
#include <sstream>

namespace convgen {

namespace {

std::string json_scalar(const std::string &where, const std::string &key, const nlohmann::json &v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_boolean()) return v.get<bool>() ? "1" : "0";
    // The number as the user wrote it (near enough): 2^64-1 stays 18446744073709551615, not -1,
    // and a float is its shortest round-trip text, so validation names the value given.
    if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
    if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
    if (v.is_number_float()) {
        char buf[32];
        auto r = std::to_chars(buf, buf + sizeof buf, v.get<double>());
        return std::string(buf, r.ptr);
    }
    throw SpecError(where + ": key '" + key + "' has a " + v.type_name() + " value; expected a number or a string");
}

// A whole decimal number in long long range (atoi's overflow is undefined).
bool whole_number(const std::string &text, long long &out) {
    char *end = nullptr;
    errno = 0;
    out = std::strtoll(text.c_str(), &end, 10);
    return !text.empty() && *end == '\0' && errno == 0;
}

}  // namespace

std::string layers_json_text(const std::vector<LayerSpec> &layers) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const LayerSpec &l : layers) {
        nlohmann::ordered_json obj;
        if (!l.name.empty()) obj["name"] = l.name;
        std::istringstream in(to_text(l));
        for (std::string item; std::getline(in, item, ',');) {
            const size_t eq = item.find('=');
            const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
            long long number = 0;
            if (whole_number(value, number)) obj[key] = number;
            else obj[key] = value;
        }
        out.push_back(obj);
    }
    return out.dump(2) + "\n";
}

std::vector<LayerSpec> parse_layers_json(const std::string &text, const std::string &path) {
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception &e) {  // parse_error, and out_of_range for 1e400
        throw SpecError(path + ": invalid JSON: " + e.what());
    }
    if (!doc.is_array()) throw SpecError(path + ": expected a JSON array of layer objects, got " + doc.type_name());
    std::vector<LayerSpec> layers;
    for (size_t i = 0; i < doc.size(); i++) {
        std::string where = path + ": layer " + std::to_string(i);
        const auto &obj = doc[i];
        if (!obj.is_object()) throw SpecError(where + " is a " + obj.type_name() + ", expected an object");
        if (obj.contains("name") && obj["name"].is_string()) where += " (" + obj["name"].get<std::string>() + ")";
        std::vector<std::pair<std::string, std::string>> kv;
        for (auto it = obj.begin(); it != obj.end(); ++it) kv.emplace_back(it.key(), json_scalar(where, it.key(), it.value()));
        try {
            layers.push_back(layer_from_keyvalues(kv));
        } catch (const SpecError &e) {
            throw SpecError(where + ": " + e.what());
        }
    }
    return layers;
}

std::vector<LayerSpec> parse_layers_tsv(const std::string &text, const std::string &path) {
    static const char *columns[] = {"name", "kind", "n", "c", "h", "w", "cout", "k", "stride", "pad", "dilation"};
    std::vector<LayerSpec> layers;
    std::istringstream in(text);
    std::string line;
    for (int lineno = 1; std::getline(in, line); lineno++) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string> f;
        std::istringstream cells(line);
        for (std::string cell; std::getline(cells, cell, '\t');) f.push_back(cell);
        const std::string where = path + ":" + std::to_string(lineno);
        if (f.size() != 11)
            throw SpecError(where + ": expected 11 tab-separated columns (name kind N Cin H W Cout k stride pad dilation), got " +
                            std::to_string(f.size()));
        std::vector<std::pair<std::string, std::string>> kv;
        for (int col = 0; col < 11; col++) kv.emplace_back(columns[col], f[col]);
        const std::string kind = f[1];
        if (kind == "pw") kv[1].second = "pointwise";
        else if (kind == "dw") {
            kv[1].second = "depthwise";
            // The TSV gives Cout; depthwise derives it as c * multiplier. Fields that are not
            // integers are left to layer_from_keyvalues, which names them.
            long long c = 0, cout = 0;
            if (whole_number(f[3], c) && whole_number(f[6], cout) && c > 0 && cout % c == 0 && cout / c > 1)
                kv.emplace_back("multiplier", std::to_string(cout / c));
        } else if (kind == "dws") {
            kv[1].second = "dwsep";
            kv.emplace_back("act", "relu");
        } else if (kind != "conv") {
            throw SpecError(where + ": kind '" + kind + "' is not one of conv | pw | dw | dws");
        }
        try {
            layers.push_back(layer_from_keyvalues(kv));
        } catch (const SpecError &e) {
            throw SpecError(where + " (" + f[0] + "): " + e.what());
        }
    }
    return layers;
}

std::vector<LayerSpec> parse_layer_file(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw SpecError(path + ": cannot open layer file");
    std::stringstream buf;
    buf << f.rdbuf();
    const std::string text = buf.str();
    size_t first = text.find_first_not_of(" \t\r\n");
    std::vector<LayerSpec> layers = (first != std::string::npos && text[first] == '[') ? parse_layers_json(text, path)
                                                                                        : parse_layers_tsv(text, path);
    if (layers.empty()) throw SpecError(path + ": no layers in file");
    return layers;
}

LayerSpec with_overrides(const LayerSpec &s, const std::vector<std::string> &sets) {
    if (sets.empty()) return s;
    std::vector<std::pair<std::string, std::string>> kv;
    std::istringstream in(to_text(s));
    for (std::string item; std::getline(in, item, ',');) {
        size_t eq = item.find('=');
        kv.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    }
    for (const std::string &set : sets) {
        std::istringstream items(set);
        for (std::string item; std::getline(items, item, ',');) {
            size_t eq = item.find('=');
            if (eq == std::string::npos) throw SpecError("--set: '" + item + "' is not key=value");
            std::string key = item.substr(0, eq), value = item.substr(eq + 1);
            auto it = std::find_if(kv.begin(), kv.end(), [&](const auto &p) { return p.first == key; });
            if (it != kv.end()) it->second = value;
            else kv.emplace_back(key, value);
        }
    }
    LayerSpec out = layer_from_keyvalues(kv);
    out.name = s.name;
    return out;
}

}  // namespace convgen
