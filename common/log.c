#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static int max_level = LOG_INFO;
static bool kernel_style = false;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

void log_set_kernel_style_prefix(bool b) {
        kernel_style = b;
}

int log_internal(int level, int error, const char *fmt, ...) {
        char buf[2048];
        va_list ap;

        if (error < 0)
                error = -error;

        /* %m must print the error we were given, not whatever errno is now. */
        errno = error;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);

        if (kernel_style)
                fprintf(stderr, "<%i>%s\n", level, buf);
        else
                fprintf(stderr, "%s: %s\n", program_invocation_short_name, buf);

        return -error;
}
