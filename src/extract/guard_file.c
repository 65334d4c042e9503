/* guard_file.c — PLACEHOLDER: the parent side of the file guard. */
#include "cordon/guard_file.h"

#include <stdio.h>

static guard_err nyi(guard_error *err)
{
    err->code = GUARD_EINVAL;
    snprintf(err->message, sizeof err->message, "file inspection is not implemented yet");
    return GUARD_EINVAL;
}

guard_err guard_file_scan(guard_scanner *s, guard_ruleset *rs, const char *path,
                          const guard_file_options *opt, guard_result **out, guard_file_info *info,
                          guard_error *err)
{
    (void)s;
    (void)rs;
    (void)path;
    (void)opt;
    (void)out;
    (void)info;
    return nyi(err);
}

guard_err guard_file_scan_fd(guard_scanner *s, guard_ruleset *rs, int fd,
                             const guard_file_options *opt, guard_result **out,
                             guard_file_info *info, guard_error *err)
{
    (void)s;
    (void)rs;
    (void)fd;
    (void)opt;
    (void)out;
    (void)info;
    return nyi(err);
}

guard_err guard_file_scan_mem(guard_scanner *s, guard_ruleset *rs, const void *data, size_t len,
                              const guard_file_options *opt, guard_result **out,
                              guard_file_info *info, guard_error *err)
{
    (void)s;
    (void)rs;
    (void)data;
    (void)len;
    (void)opt;
    (void)out;
    (void)info;
    return nyi(err);
}

guard_err guard_file_strip(const char *in, const char *out, const char *worker_path,
                           guard_error *err)
{
    (void)in;
    (void)out;
    (void)worker_path;
    return nyi(err);
}
