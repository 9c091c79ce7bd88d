// Loads the kernels of an output folder into this process, for `convgen run` and `convgen check`:
// links the folder's bundle library into a shared object with the system C compiler ($CC, else
// cc), dlopens it, and describes each kernel as the runtime's convgen_kernel (the same table the
// generated registry source gives programs that link the bundle statically).
#pragma once

#include "convgen/convgen.h"

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace convgen {

class LoadedBundle {
public:
    // Throws SpecError naming the folder, the command or the symbol that failed.
    explicit LoadedBundle(const std::string &dir);
    ~LoadedBundle();
    LoadedBundle(const LoadedBundle &) = delete;
    LoadedBundle &operator=(const LoadedBundle &) = delete;

    // NULL when the folder has no kernel with that key.
    const convgen_kernel *find(const std::string &key) const;
    const nlohmann::json &manifest() const { return manifest_; }
    // The dlopen handle of the bundle's shared object (e.g. to dlsym halide_set_num_threads).
    void *handle() const { return handle_; }

private:
    struct Entry;
    void *handle_ = nullptr;
    nlohmann::json manifest_;
    std::vector<std::unique_ptr<Entry>> entries_;
};

}  // namespace convgen
