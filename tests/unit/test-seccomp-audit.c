/* Unit tests of fenced/seccomp-audit.c: the parsing of AUDIT_SECCOMP
 * records and the sandbox of a pid. */

#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "seccomp-audit.h"

static int parse(const char *text, SeccompAuditRecord *r) {
        return seccomp_audit_parse(text, strlen(text), r);
}

Test(seccomp_audit, parses_a_record) {
        SeccompAuditRecord r;

        cr_assert_eq(parse("audit(1795636988.337:7996): auid=4294967295 uid=1001 gid=1001 ses=4294967295 "
                           "pid=27450 comm=\"try-syscall\" exe=\"/var/tmp/x/try-syscall\" sig=0 arch=c000003e "
                           "syscall=101 compat=0 ip=0x7f56b6e8f829 code=0x50000", &r), 0);
        cr_assert_eq(r.pid, 27450);
        cr_assert_eq(r.arch, 0xc000003eu);
        cr_assert_eq(r.syscall, 101);
        cr_assert_eq(r.code, 0x50000u);
        cr_assert_str_eq(r.comm, "try-syscall");
        cr_assert_eq(r.session, UINT32_MAX);    /* ses=4294967295: none */

        cr_assert_eq(parse("audit(1.2:3): auid=1001 uid=1001 gid=1001 ses=77 pid=5 comm=\"x\" "
                           "arch=c000003e syscall=101 compat=0 code=0x50000", &r), 0);
        cr_assert_eq(r.session, 77u);
}

Test(seccomp_audit, hex_comm_and_field_names_inside_values) {
        SeccompAuditRecord r;

        /* "a b" hex-encoded; an exe path holding "pid=1" must not be read as the pid. */
        cr_assert_eq(parse("audit(1.2:3): auid=1 uid=0 gid=0 ses=1 pid=42 comm=612062 exe=\"/x pid=1\" "
                           "sig=0 arch=40000003 syscall=26 compat=1 ip=0x1 code=0x50000", &r), 0);
        cr_assert_eq(r.pid, 42);
        cr_assert_eq(r.arch, 0x40000003u);
        cr_assert_eq(r.syscall, 26);
        cr_assert_str_eq(r.comm, "a b");
}

Test(seccomp_audit, refuses_incomplete_records) {
        SeccompAuditRecord r;

        cr_assert_eq(parse("", &r), -EINVAL);
        cr_assert_eq(parse("audit(1.2:3): pid=42 comm=\"x\" arch=c000003e code=0x50000", &r), -EINVAL);
        cr_assert_eq(parse("audit(1.2:3): pid=4x2 arch=c000003e syscall=1 code=0x50000", &r), -EINVAL);
        /* cut short in the middle of a quoted comm: no read past the end */
        const char cut[] = "audit(1.2:3): pid=1 arch=c000003e syscall=1 code=0x50000 comm=\"abcdef";
        cr_assert_eq(seccomp_audit_parse(cut, strlen(cut) - 3, &r), 0);
        cr_assert_str_eq(r.comm, "abc");
}

Test(seccomp_audit, sandbox_of_a_process_outside_any_sandbox) {
        char id[64];

        cr_assert_eq(seccomp_audit_sandbox_of(NULL, getpid(), id, sizeof id), -ENOENT);
        cr_assert_eq(seccomp_audit_sandbox_of(NULL, 0x7ffffff0, id, sizeof id), -ENOENT);
}
