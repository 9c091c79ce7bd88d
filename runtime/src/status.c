/* Status names and the per-thread error message.
 *
 * Entry points: convgen_status_string, convgen_last_error, and the internal set_error() that
 * every failing path goes through, so each failure leaves exactly one message naming the value.
 */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

/* One buffer per thread: concurrent runs on different threads never clobber each other's text. */
static _Thread_local char g_error[1024];

const char *convgen_status_string(convgen_status status) {
    switch (status) {
    case CONVGEN_OK: return "CONVGEN_OK";
    case CONVGEN_ERROR_INVALID_ARGUMENT: return "CONVGEN_ERROR_INVALID_ARGUMENT";
    case CONVGEN_ERROR_NOT_FOUND: return "CONVGEN_ERROR_NOT_FOUND";
    case CONVGEN_ERROR_SHAPE: return "CONVGEN_ERROR_SHAPE";
    case CONVGEN_ERROR_DTYPE: return "CONVGEN_ERROR_DTYPE";
    case CONVGEN_ERROR_LAYOUT: return "CONVGEN_ERROR_LAYOUT";
    case CONVGEN_ERROR_PARAMS_MISMATCH: return "CONVGEN_ERROR_PARAMS_MISMATCH";
    case CONVGEN_ERROR_OUT_OF_MEMORY: return "CONVGEN_ERROR_OUT_OF_MEMORY";
    case CONVGEN_ERROR_KERNEL: return "CONVGEN_ERROR_KERNEL";
    case CONVGEN_ERROR_NO_DEVICE: return "CONVGEN_ERROR_NO_DEVICE";
    case CONVGEN_ERROR_UNSUPPORTED_CPU: return "CONVGEN_ERROR_UNSUPPORTED_CPU";
    }
    return "CONVGEN_ERROR_UNKNOWN_STATUS";
}

const char *convgen_last_error(void) { return g_error; }

/* Messages echo caller text (tensor and parameter names, kernel keys): control characters in it
 * are written as \xNN so that a message is always one printable line. */
convgen_status set_error(convgen_status status, const char *fmt, ...) {
    char raw[sizeof g_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)raw; *c; ++c) {
        const int control = *c < 0x20 || *c == 0x7f;
        if (n + (control ? 4 : 1) >= sizeof g_error) break;
        if (control)
            n += (size_t)snprintf(g_error + n, 5, "\\x%02x", *c);
        else
            g_error[n++] = (char)*c;
    }
    g_error[n] = '\0';
    return status;
}

const char *layout_name(convgen_layout layout) {
    switch (layout) {
    case CONVGEN_LAYOUT_NCHW: return "NCHW";
    case CONVGEN_LAYOUT_NHWC: return "NHWC";
    case CONVGEN_LAYOUT_OIHW: return "OIHW";
    case CONVGEN_LAYOUT_HWIO: return "HWIO";
    case CONVGEN_LAYOUT_X: return "X";
    }
    return "(not a convgen_layout)";
}
