#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "exec-file-cache.h"
#include "exec-supervisor.h"
#include "log.h"
#include "seccomp-util.h"
#include "strv.h"

/* A report of a denied exec, helper → fenced, one SOCK_SEQPACKET message:
 * the header, then NUL-terminated strings: path, rule, command, detail and
 * n_argv arguments (cut short to fit REPORT_MAX). */
#define REPORT_MAX (64 * 1024)
#define REPORT_MAGIC 0x63786566u

enum {
        REPORT_HAS_RULE = 1 << 0,
        REPORT_HAS_DETAIL = 1 << 1,
        REPORT_ARGV_TRUNCATED = 1 << 2,
};

typedef struct ReportHeader {
        uint32_t magic;
        int32_t pid;
        uint32_t source;
        uint32_t flags;
        uint32_t n_argv;
        uint32_t dropped;       /* reports lost (socket full) before this one */
} ReportHeader;

/* ---- Child side --------------------------------------------------------------- */

int exec_supervisor_compile_filter(struct sock_fprog *ret) {
        _cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
        int r;

        r = seccomp_ctx_new(&ctx);
        if (r < 0)
                return r;
        r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(execve), 0);
        if (r < 0)
                return r;
        r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(execveat), 0);
        if (r < 0)
                return r;
        return seccomp_prog_compile(ctx, ret);
}

int exec_supervisor_load_filter(const struct sock_fprog *prog) {
        /* WAIT_KILLABLE_RECV (5.19): once the helper has the notification,
         * only a fatal signal interrupts the exec, so a SIGCHLD does not make
         * it start over with a new notification. */
        int fd = seccomp_load_prog(prog, SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
        if (fd == -EINVAL)
                fd = seccomp_load_prog(prog, SECCOMP_FILTER_FLAG_NEW_LISTENER);
        return fd;
}

int exec_supervisor_install_filter(int *ret_listener) {
        _cleanup_(seccomp_prog_done) struct sock_fprog prog = {};
        int r;

        r = exec_supervisor_compile_filter(&prog);
        if (r < 0)
                return r;
        r = exec_supervisor_load_filter(&prog);
        if (r < 0)
                return r;
        *ret_listener = r;
        return 0;
}

/* ---- Helper: reading the exec request ----------------------------------------- */

#define CACHE_PAGES 8

/* Reads another process's memory a page at a time (a page is either wholly
 * readable or not, so a string that ends before an unmapped page is still
 * read), with a small cache: argv arrays and strings usually share pages. */
typedef struct MemReader {
        pid_t pid;
        size_t page_size;
        size_t budget;                  /* pages left to read for this exec */
        char *pages;                    /* CACHE_PAGES pages */
        uintptr_t addr[CACHE_PAGES];
        bool valid[CACHE_PAGES];
        unsigned next;
} MemReader;

static int mem_page(MemReader *m, uintptr_t addr, const char **ret) {
        uintptr_t base = addr & ~(uintptr_t) (m->page_size - 1);
        struct iovec local, remote;
        unsigned k;
        ssize_t n;

        for (k = 0; k < CACHE_PAGES; k++)
                if (m->valid[k] && m->addr[k] == base) {
                        *ret = m->pages + k * m->page_size;
                        return 0;
                }
        if (m->budget == 0)
                return -E2BIG;
        m->budget--;

        k = m->next++ % CACHE_PAGES;
        m->valid[k] = false;
        local = (struct iovec) { m->pages + k * m->page_size, m->page_size };
        remote = (struct iovec) { (void *) base, m->page_size };
        n = process_vm_readv(m->pid, &local, 1, &remote, 1, 0);
        if (n < 0)
                return -errno;
        if ((size_t) n != m->page_size)
                return -EFAULT;
        m->addr[k] = base;
        m->valid[k] = true;
        *ret = m->pages + k * m->page_size;
        return 0;
}

static bool mem_cached(const MemReader *m, uintptr_t base) {
        for (unsigned k = 0; k < CACHE_PAGES; k++)
                if (m->valid[k] && m->addr[k] == base)
                        return true;
        return false;
}

/* Reads the pages holding addrs (0: none) that are not cached yet, in one
 * call (each call costs more than the copying), keeping keep's page. Best
 * effort: a page that could not be read is left to mem_page, which says
 * why when it is needed. */
#define PREFETCH_MAX (CACHE_PAGES - 2)
static void mem_prefetch(MemReader *m, const uintptr_t *addrs, size_t n, uintptr_t keep) {
        struct iovec local[PREFETCH_MAX], remote[PREFETCH_MAX];
        unsigned slot[PREFETCH_MAX];
        uintptr_t mask = ~(uintptr_t) (m->page_size - 1);
        size_t k = 0;
        ssize_t got;

        for (size_t i = 0; i < n && k < PREFETCH_MAX && m->budget > 0; i++) {
                uintptr_t base = addrs[i] & mask;
                unsigned s;
                bool dup = false;

                if (addrs[i] == 0 || mem_cached(m, base))
                        continue;
                for (size_t j = 0; j < k; j++)
                        dup = dup || (uintptr_t) remote[j].iov_base == base;
                if (dup)
                        continue;
                s = m->next++ % CACHE_PAGES;
                if (m->valid[s] && m->addr[s] == (keep & mask))
                        s = m->next++ % CACHE_PAGES;
                m->valid[s] = false;
                m->budget--;
                slot[k] = s;
                local[k] = (struct iovec) { m->pages + s * m->page_size, m->page_size };
                remote[k] = (struct iovec) { (void *) base, m->page_size };
                k++;
        }
        if (k == 0)
                return;
        got = process_vm_readv(m->pid, local, k, remote, k, 0);
        /* A partial read stops at the first page that failed. */
        for (size_t j = 0; got > 0 && j < k && (size_t) got >= (j + 1) * m->page_size; j++) {
                m->addr[slot[j]] = (uintptr_t) remote[j].iov_base;
                m->valid[slot[j]] = true;
        }
}

static int mem_read(MemReader *m, uintptr_t addr, void *buf, size_t len) {
        char *out = buf;

        while (len > 0) {
                size_t off = addr & (m->page_size - 1), chunk = m->page_size - off;
                const char *page;
                int r;

                if (chunk > len)
                        chunk = len;
                r = mem_page(m, addr, &page);
                if (r < 0)
                        return r;
                memcpy(out, page + off, chunk);
                out += chunk;
                addr += chunk;
                len -= chunk;
        }
        return 0;
}

/* A NUL-terminated string of at most max bytes (-E2BIG beyond). */
static int mem_read_string(MemReader *m, uintptr_t addr, size_t max, char **ret) {
        _cleanup_free_ char *s = NULL;
        size_t len = 0;

        if (addr == 0)
                return -EFAULT;
        for (;;) {
                size_t off = addr & (m->page_size - 1), avail = m->page_size - off, take;
                const char *page, *nul;
                char *t;
                int r;

                r = mem_page(m, addr, &page);
                if (r < 0)
                        return r;
                nul = memchr(page + off, 0, avail);
                take = nul ? (size_t) (nul - (page + off)) : avail;
                if (len + take > max)
                        return -E2BIG;
                t = realloc(s, len + take + 1);
                if (!t)
                        return -ENOMEM;
                s = t;
                memcpy(s + len, page + off, take);
                len += take;
                s[len] = 0;
                if (nul)
                        break;
                addr += avail;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

static int mem_read_argv(MemReader *m, uintptr_t addr, size_t ptr_size, char ***ret) {
        _cleanup_strv_free_ char **argv = NULL;
        size_t n = 0, cap = 0, bytes = 0;

        argv = calloc(1, sizeof(char *));
        if (!argv)
                return -ENOMEM;
        if (addr == 0) {                /* execve(path, NULL, ...): an empty argv */
                *ret = TAKE_PTR(argv);
                return 0;
        }

        /* The first arguments' pages, in one read. */
        {
                uintptr_t first[PREFETCH_MAX * 2];
                size_t off = addr & (m->page_size - 1), k;
                const char *page;

                if (mem_page(m, addr, &page) >= 0) {
                        for (k = 0; k < ELEMENTSOF(first) && off + (k + 1) * ptr_size <= m->page_size; k++) {
                                uint64_t p = 0;
                                memcpy(&p, page + off + k * ptr_size, ptr_size);
                                if (p == 0)
                                        break;
                                first[k] = (uintptr_t) p;
                        }
                        mem_prefetch(m, first, k, addr);
                }
        }

        for (;;) {
                uint64_t p = 0;         /* little-endian: a 4-byte pointer fills the low half */
                char *s;
                int r;

                if (n >= EXEC_SUPERVISOR_MAX_ARGS)
                        return -E2BIG;
                r = mem_read(m, addr + n * ptr_size, &p, ptr_size);
                if (r < 0)
                        return r;
                if (p == 0)
                        break;
                r = mem_read_string(m, (uintptr_t) p, EXEC_SUPERVISOR_MAX_ARG_BYTES - bytes, &s);
                if (r < 0)
                        return r;
                bytes += strlen(s) + 1;
                if (n + 2 > cap) {
                        size_t c = cap ? cap * 2 : 16;
                        char **t = realloc(argv, c * sizeof(char *));
                        if (!t) {
                                free(s);
                                return -ENOMEM;
                        }
                        argv = t;
                        cap = c;
                }
                argv[n++] = s;
                argv[n] = NULL;
        }
        *ret = TAKE_PTR(argv);
        return 0;
}

/* A /proc link's target, without the " (deleted)" of an unlinked file. */
static char *readlinkat_dup(int dir, const char *name) {
        char buf[PATH_MAX + 1];
        ssize_t n = readlinkat(dir, name, buf, sizeof buf - 1);

        if (n < 0)
                return NULL;
        buf[n] = 0;
        if (n > 10 && streq(buf + n - 10, " (deleted)"))
                buf[n - 10] = 0;
        return strdup(buf);
}

/* The filesystem uid and gid in /proc/PID/status ("Uid: r e s fs"). */
static int task_fs_ids(int proc_dir, uid_t *ret_uid, gid_t *ret_gid) {
        _cleanup_close_ int fd = openat(proc_dir, "status", O_RDONLY | O_CLOEXEC);
        char buf[4096], *l;
        unsigned long u[4], g[4];
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof buf - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        l = strstr(buf, "\nUid:");
        if (!l || sscanf(l + 5, "%lu %lu %lu %lu", &u[0], &u[1], &u[2], &u[3]) != 4)
                return -EBADMSG;
        l = strstr(buf, "\nGid:");
        if (!l || sscanf(l + 5, "%lu %lu %lu %lu", &g[0], &g[1], &g[2], &g[3]) != 4)
                return -EBADMSG;
        *ret_uid = (uid_t) u[3];
        *ret_gid = (gid_t) g[3];
        return 0;
}

/* The filesystem ids files are looked at with. Fixed: the sandbox's
 * processes all have them and cannot change them, so the helper took them
 * for good at start; else they are read from each process and taken for the
 * look only (the helper's own are euid/egid). */
typedef struct FsIds {
        bool fixed;
        uid_t fsuid;    /* fixed: the processes' */
        uid_t euid;
        gid_t egid;
        int root;       /* fixed: the processes' root too (no chroot, no new mount namespace) */
} FsIds;

static int become_task(const FsIds *ids, int proc_dir) {
        uid_t uid;
        gid_t gid;
        int r;

        if (ids->fixed)
                return 0;
        r = task_fs_ids(proc_dir, &uid, &gid);
        if (r < 0)
                return r;
        (void) setfsgid(gid);
        (void) setfsuid(uid);
        return 0;
}

static void unbecome_task(const FsIds *ids) {
        if (ids->fixed)
                return;
        (void) setfsuid(ids->euid);
        (void) setfsgid(ids->egid);
}

/* Which file the exec will run, as the target resolves it: in its root,
 * from its cwd (or dirfd), with its filesystem uid and gid, so fenced's
 * rights reveal nothing (supplementary groups are not applied: a path only
 * they can reach stays unresolved). Best effort: NULL when it cannot say,
 * and the check goes by the path as written. For execveat(fd, "",
 * AT_EMPTY_PATH) *ret_path gets the file's path. With ret_fd, the file
 * stays open (O_PATH) for a look at its first line. With cache (fixed ids
 * only), a file remembered there is not named again through /proc: *ret_plain
 * says whether it is known not to be a script, and *ret_key is set (its path
 * *ret_abs, to free) when the file may be remembered after the look. */
static char *resolve_exec(FsIds *ids, pid_t pid, bool at, int dirfd, const char *path, int flags,
                          char **ret_path, int *ret_fd,
                          const ExecFileCache *cache, bool *ret_plain, ExecFileKey *ret_key, char **ret_abs) {
        _cleanup_close_ int dir = -EBADF, own_root = -EBADF, fd = -EBADF;
        int root;
        _cleanup_free_ char *abs = NULL, *base = NULL;
        char name[64];
        struct open_how how = {
                .flags = O_PATH | O_CLOEXEC | ((flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };

        /* An absolute path in a sandbox whose root is known needs nothing
         * from /proc/PID. */
        if (!(ids->fixed && ids->root >= 0 && path[0] == '/' && (!at || dirfd == AT_FDCWD))) {
                snprintf(name, sizeof name, "/proc/%d", (int) pid);
                dir = open(name, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (dir < 0)
                        return NULL;
        }

        if (at && dirfd != AT_FDCWD) {
                snprintf(name, sizeof name, "fd/%d", dirfd);
                base = readlinkat_dup(dir, name);
                if (!base)
                        return NULL;
                if (path[0] == 0 && (flags & AT_EMPTY_PATH)) {
                        *ret_path = strdup(base);
                        return strdup(base);
                }
        } else if (path[0] != '/')
                base = readlinkat_dup(dir, "cwd");

        if (path[0] == '/')
                abs = strdup(path);
        else if (base && base[0] == '/')        /* not "anon_inode:..." or "pipe:[...]" */
                (void) asprintf(&abs, "%s/%s", base, path);
        if (!abs)
                return NULL;

        if (ids->fixed && ids->root >= 0)
                root = ids->root;
        else {
                root = own_root = openat(dir, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (root < 0)
                        return NULL;
                if (ids->fixed)
                        ids->root = TAKE_FD(own_root);
        }
        if (become_task(ids, dir) < 0)
                return NULL;
        fd = (int) syscall(SYS_openat2, root, abs, &how, sizeof how);
        unbecome_task(ids);
        if (fd < 0)
                return NULL;

        if (cache && ids->fixed && exec_file_key(fd, abs, ids->fsuid, ret_key)) {
                const ExecFileEntry *e = exec_file_cache_get(cache, ret_key);
                char *r;

                if (e) {
                        ret_key->path = NULL;   /* nothing to remember */
                        r = strdup(e->resolved);
                        if (r) {
                                *ret_plain = e->plain;
                                if (ret_fd)
                                        *ret_fd = TAKE_FD(fd);
                                return r;
                        }
                } else
                        *ret_abs = TAKE_PTR(abs);
        }

        snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
        if (ret_fd)
                *ret_fd = TAKE_FD(fd);
        return readlinkat_dup(AT_FDCWD, name);
}

/* The interpreter line of a script as the kernel reads it (binfmt_script):
 * "#!", blanks, the interpreter, blanks, one optional argument running to
 * the end of the line, at most SHEBANG_MAX bytes. The file is read as the
 * process's filesystem ids. 1 with *ret_interp (and *ret_arg, possibly
 * NULL) for a script, 0 for anything else; *ret_plain true when that is
 * for sure, from the file's first bytes or its permissions. */
#define SHEBANG_MAX 256
#define SHEBANG_DEPTH 4         /* the kernel's BINPRM_MAX_RECURSION */

static int read_shebang(const FsIds *ids, pid_t pid, int fd, char **ret_interp, char **ret_arg, bool *ret_plain) {
        _cleanup_close_ int proc = -EBADF, rfd = -EBADF;
        char name[64], buf[SHEBANG_MAX + 1], *p, *end, *interp, *arg = NULL;
        struct stat st;
        ssize_t n;

        /* Only regular files run; opening anything else (a device) could do
         * something by itself. */
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return 0;
        if (!ids->fixed) {
                snprintf(name, sizeof name, "/proc/%d", (int) pid);
                proc = open(name, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (proc < 0)
                        return 0;
        }
        snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
        if (become_task(ids, proc) < 0)
                return 0;
        rfd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        unbecome_task(ids);
        if (rfd < 0) {
                /* Execute-only (mode 0111): the kernel still runs the
                 * interpreter of a script the process cannot read, so an
                 * unreadable first line cannot be judged. */
                if (errno == EACCES || errno == EPERM)
                        return -EACCES;
                return 0;
        }
        n = pread(rfd, buf, SHEBANG_MAX, 0);
        if (n < 3 || buf[0] != '#' || buf[1] != '!') {
                *ret_plain = n >= 0;
                return 0;
        }
        buf[n] = 0;
        end = memchr(buf, '\n', (size_t) n);
        if (end)
                *end = 0;
        else
                end = buf + n;
        p = buf + 2;
        while (*p == ' ' || *p == '\t')
                p++;
        interp = p;
        while (*p && *p != ' ' && *p != '\t')
                p++;
        if (*p) {
                *p++ = 0;
                while (*p == ' ' || *p == '\t')
                        p++;
                if (*p) {
                        char *e = p + strlen(p);
                        while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
                                *--e = 0;
                        arg = p;
                }
        }
        if (!*interp)
                return 0;
        *ret_interp = strdup(interp);
        *ret_arg = arg ? strdup(arg) : NULL;
        if (!*ret_interp || (arg && !*ret_arg)) {
                free(*ret_interp);
                free(*ret_arg);
                return -ENOMEM;
        }
        return 1;
}

/* A script runs its interpreter without another execve(): judge the command
 * the kernel builds, [interpreter, optional argument, script, argv[1]...],
 * for each level of interpreter. *ret_plain: the file is for sure no
 * script. */
static int check_interpreters(FsIds *ids, const CommandPolicy *policy, pid_t pid, int fd, const char *script,
                              char * const *argv, CommandMatch *match, bool *ret_plain) {
        _cleanup_free_ char *path = strdup(script);
        _cleanup_strv_free_ char **args = strv_copy(argv && argv[0] ? argv + 1 : (char *[]) { NULL });
        _cleanup_close_ int cur = fd;

        if (!path || !args)
                return -ENOMEM;
        for (int depth = 0; depth < SHEBANG_DEPTH && cur >= 0; depth++) {
                _cleanup_free_ char *interp = NULL, *arg = NULL, *resolved = NULL;
                _cleanup_strv_free_ char **v = NULL;
                int next = -EBADF, r;
                bool plain = false;

                r = read_shebang(ids, pid, cur, &interp, &arg, &plain);
                if (depth == 0)
                        *ret_plain = r == 0 && plain;
                if (r <= 0)
                        return r;
                v = calloc(strv_length(args) + 4, sizeof(char *));
                if (!v)
                        return -ENOMEM;
                size_t k = 0;
                if (!(v[k++] = strdup(interp)) || (arg && !(v[k++] = strdup(arg))) || !(v[k++] = strdup(path)))
                        return -ENOMEM;
                for (char **a = args; *a; a++)
                        if (!(v[k++] = strdup(*a)))
                                return -ENOMEM;

                resolved = resolve_exec(ids, pid, false, AT_FDCWD, interp, 0, NULL, &next, NULL, NULL, NULL, NULL);
                r = command_policy_check_exec(policy, interp, resolved, v, match);
                if (r != 0) {
                        safe_close(next);
                        return r;
                }
                /* The next level: the interpreter may be a script itself. */
                strv_free(args);
                args = TAKE_PTR(v);
                free(args[0]);
                memmove(args, args + 1, strv_length(args) * sizeof(char *));
                free(path);
                path = TAKE_PTR(interp);
                safe_close(cur);
                cur = next;
        }
        return 0;
}

/* Threads of a process: /proc/PID/task has 2 + that many links. -1 when unknown. */
static int task_threads(pid_t pid) {
        char name[64];
        struct stat st;

        snprintf(name, sizeof name, "/proc/%d/task", (int) pid);
        if (stat(name, &st) < 0 || st.st_nlink < 3)
                return -1;
        return (int) st.st_nlink - 2;
}

/* ---- Helper: judging and answering ----------------------------------------------- */

typedef struct ExecAbi {
        uint32_t arch;
        int nr_execve, nr_execveat;
        size_t ptr_size;
} ExecAbi;

typedef struct Helper {
        FsIds ids;
        int listener, report;
        const CommandPolicy *policy;
        struct seccomp_notif *req;
        struct seccomp_notif_resp *resp;
        size_t req_size, resp_size;
        size_t page_size;
        char *pages;
        char *msg;
        ExecFileCache files;
        uint32_t dropped;
        ExecAbi abi[2];
        size_t n_abi;
} Helper;

typedef struct Verdict {
        int error;              /* 0: let the exec continue; else its errno */
        bool report;
        CommandMatch match;
        char *path;
        char **argv;
        /* What the judging opened and built, released after the answer
         * (the process waits for the answer, not for the tidying). */
        int file_fd;
        char *resolved, *abs;
} Verdict;

#define VERDICT_INIT { .file_fd = -EBADF }

static void verdict_done(Verdict *v) {
        command_match_done(&v->match);
        free(v->path);
        strv_free(v->argv);
        safe_close(v->file_fd);
        free(v->resolved);
        free(v->abs);
}

static int verdict_uncheckable(Verdict *v, const char *why, int error) {
        char *d = NULL;

        if (error != 0 ? asprintf(&d, "%s: %s", why, strerror(abs(error))) < 0 : !(d = strdup(why)))
                return -ENOMEM;
        command_match_done(&v->match);
        v->match = (CommandMatch) { .source = COMMAND_RULE_UNCHECKABLE, .detail = d };
        if (v->path && !(v->match.command = strdup(v->path)))
                return -ENOMEM;
        v->error = EACCES;
        v->report = true;
        return 0;
}

static const ExecAbi *helper_abi(const Helper *h, uint32_t arch) {
        for (size_t k = 0; k < h->n_abi; k++)
                if (h->abi[k].arch == arch)
                        return &h->abi[k];
        return NULL;
}

/* Fills *v; -ESTALE when the notification went away (the process died or
 * was interrupted): nobody is left to answer. */
static int helper_judge(Helper *h, const struct seccomp_notif *req, Verdict *v) {
        const ExecAbi *abi = helper_abi(h, req->data.arch);
        uintptr_t path_addr, argv_addr;
        _cleanup_free_ char *fd_path = NULL;
        ExecFileKey key = {};
        bool at, plain = false;
        int dirfd = AT_FDCWD, flags = 0, r;
        uint64_t id = req->id;
        MemReader m = {
                .pid = (pid_t) req->pid,
                .page_size = h->page_size,
                /* argv strings, the pointer array and the path, with slack */
                .budget = 2 * (EXEC_SUPERVISOR_MAX_ARG_BYTES + EXEC_SUPERVISOR_MAX_ARGS * 8) / h->page_size + 8,
                .pages = h->pages,
        };

        if (!abi || (req->data.nr != abi->nr_execve && req->data.nr != abi->nr_execveat))
                return verdict_uncheckable(v, "unexpected system call", 0);
        if (req->pid == 0)
                return verdict_uncheckable(v, "the process is not visible to fenced", 0);

        at = req->data.nr == abi->nr_execveat;
        if (at) {
                dirfd = (int) req->data.args[0];
                path_addr = (uintptr_t) req->data.args[1];
                argv_addr = (uintptr_t) req->data.args[2];
                flags = (int) req->data.args[4];
        } else {
                path_addr = (uintptr_t) req->data.args[0];
                argv_addr = (uintptr_t) req->data.args[1];
        }

        /* The path's page and argv's, in one read. */
        mem_prefetch(&m, (uintptr_t[]) { path_addr, argv_addr }, 2, 0);
        r = mem_read_string(&m, path_addr, PATH_MAX - 1, &v->path);
        if (r >= 0)
                r = mem_read_argv(&m, argv_addr, abi->ptr_size, &v->argv);
        if (r == -EFAULT)
                v->error = EFAULT;      /* a bad pointer: the exec fails the same way without us */
        else if (r == -E2BIG && !v->argv && !v->path)
                v->error = ENAMETOOLONG;
        else if (r == -E2BIG) {
                char why[128];
                snprintf(why, sizeof why, "argv has more than %d entries or %d bytes",
                         EXEC_SUPERVISOR_MAX_ARGS, EXEC_SUPERVISOR_MAX_ARG_BYTES);
                r = verdict_uncheckable(v, why, 0);
        } else if (r < 0 && r != -ESRCH)
                r = verdict_uncheckable(v, "cannot read the exec's arguments", r);
        else if (r >= 0) {
                v->resolved = resolve_exec(&h->ids, m.pid, at, dirfd, v->path, flags, &fd_path, &v->file_fd,
                                           &h->files, &plain, &key, &v->abs);
                if (fd_path) {
                        free(v->path);
                        v->path = TAKE_PTR(fd_path);
                }
        }
        if (r == -ENOMEM)
                return r;
        if (r >= 0 && v->error == 0 && !v->report && v->path && v->path[0] == 0) {
                if (at && (flags & AT_EMPTY_PATH))      /* a file descriptor we cannot name */
                        r = verdict_uncheckable(v, "cannot tell which file the exec runs", 0);
                else
                        v->error = ENOENT;              /* as the kernel answers "" */
        }
        if (r == -ENOMEM)
                return r;

        /* All reads are done: only if the notification is still pending did
         * they read the process that made the call (and not a process that
         * since got its pid). */
        if (ioctl(h->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0)
                return -ESTALE;
        if (v->error != 0 || v->report)
                return 0;

        r = command_policy_check_exec(h->policy, v->path, v->resolved, v->argv, &v->match);
        /* A file remembered as no script needs no second look. */
        if (r == 0 && v->file_fd >= 0 && !plain) {
                r = check_interpreters(&h->ids, h->policy, m.pid, TAKE_FD(v->file_fd), v->path, v->argv,
                                       &v->match, &plain);
                /* Remembered after a full look only (resolved, first line read). */
                if (r >= 0 && key.path && v->resolved &&
                    exec_file_cache_put(&h->files, &key, v->resolved, plain) < 0)
                        r = -ENOMEM;
        }
        if (r == -EACCES)
                return verdict_uncheckable(v, "the file is execute-only: whether it is a script, and what "
                                           "its #! line runs, cannot be read", 0);
        if (r < 0)
                return verdict_uncheckable(v, "cannot judge the command", r);
        /* The kernel reads the path and argv again when the exec goes on:
         * another thread of the process could rewrite them in between. So
         * an exec that would be allowed must come from a single-threaded
         * process (as fence requires); see docs/security.md for what is
         * left (memory shared by vfork()/CLONE_VM). */
        if (r == 0 && task_threads(m.pid) != 1)
                return verdict_uncheckable(v, "a multithreaded process's exec cannot be checked safely "
                                           "(another thread could change its arguments after the check)", 0);
        if (r > 0) {
                v->error = EACCES;
                v->report = true;
        }
        return 0;
}

static void msg_put(char *msg, size_t *len, const char *s, bool *fits) {
        size_t l = strlen(s) + 1;

        if (!*fits || *len + l > REPORT_MAX) {
                *fits = false;
                return;
        }
        memcpy(msg + *len, s, l);
        *len += l;
}

static void helper_report(Helper *h, pid_t pid, const Verdict *v) {
        ReportHeader hdr = {
                .magic = REPORT_MAGIC,
                .pid = pid,
                .source = (uint32_t) v->match.source,
                .flags = (v->match.rule ? REPORT_HAS_RULE : 0) | (v->match.detail ? REPORT_HAS_DETAIL : 0),
                .dropped = h->dropped,
        };
        size_t len = sizeof hdr;
        bool fits = true;

        msg_put(h->msg, &len, v->path ?: "", &fits);
        msg_put(h->msg, &len, v->match.rule ?: "", &fits);
        msg_put(h->msg, &len, v->match.command ?: "", &fits);
        msg_put(h->msg, &len, v->match.detail ?: "", &fits);
        for (char **a = v->argv; fits && a && *a; a++) {
                size_t before = len;
                msg_put(h->msg, &len, *a, &fits);
                if (fits)
                        hdr.n_argv++;
                else
                        len = before;
        }
        if (!fits)
                hdr.flags |= REPORT_ARGV_TRUNCATED;
        memcpy(h->msg, &hdr, sizeof hdr);

        /* Never wait for fenced: an exec must not hang on a full socket. */
        if (send(h->report, h->msg, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
                h->dropped++;
        else
                h->dropped = 0;
}

static int helper_handle(Helper *h) {
        _cleanup_(verdict_done) Verdict v = VERDICT_INIT;
        int r;

        memset(h->req, 0, h->req_size);
        if (ioctl(h->listener, SECCOMP_IOCTL_NOTIF_RECV, h->req) < 0)
                /* ENOENT: the process went away between poll and receive. */
                return errno == EINTR || errno == ENOENT ? 0 : -errno;

        /* A read that never returns must not hold the exec for ever. The
         * default action of SIGALRM ends the helper: the one signal kind a
         * killable wait in process_vm_readv() or on FUSE gives way to. */
        alarm(EXEC_SUPERVISOR_JUDGE_TIMEOUT_S);
        r = helper_judge(h, h->req, &v);
        alarm(0);
        if (r == -ESTALE)
                return 0;
        if (r < 0) {
                /* Out of memory: refuse the exec rather than guess. */
                v.error = EACCES;
                v.report = false;
        }

        memset(h->resp, 0, h->resp_size);
        h->resp->id = h->req->id;
        if (v.error == 0)
                h->resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        else
                h->resp->error = -v.error;
        if (ioctl(h->listener, SECCOMP_IOCTL_NOTIF_SEND, h->resp) < 0 && errno != ENOENT)
                return -errno;

        if (v.report)
                helper_report(h, (pid_t) h->req->pid, &v);
        return 0;
}

static int helper_init(Helper *h) {
        struct seccomp_notif_sizes sizes = {};
        uint32_t arches[2] = { seccomp_arch_native() };
        size_t n = 1;

        if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
                return -errno;
        /* The exec'ing process sleeps while the helper works: wake each side
         * on the CPU of the other, as a direct hand-off, instead of through
         * the scheduler's queues. Older kernels: EINVAL, a slower wake-up. */
        (void) ioctl(h->listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
        /* The kernel's structures may have grown past our headers'. */
        h->req_size = sizes.seccomp_notif > sizeof(struct seccomp_notif) ? sizes.seccomp_notif : sizeof(struct seccomp_notif);
        h->resp_size = sizes.seccomp_notif_resp > sizeof(struct seccomp_notif_resp) ?
                sizes.seccomp_notif_resp : sizeof(struct seccomp_notif_resp);
        h->req = calloc(1, h->req_size);
        h->resp = calloc(1, h->resp_size);
        h->page_size = (size_t) sysconf(_SC_PAGESIZE);
        h->pages = malloc(CACHE_PAGES * h->page_size);
        h->msg = malloc(REPORT_MAX);
        if (!h->req || !h->resp || !h->pages || !h->msg)
                return -ENOMEM;

        if (arches[0] == SCMP_ARCH_X86_64)
                arches[n++] = SCMP_ARCH_X86;
        for (size_t k = 0; k < n; k++) {
                ExecAbi *a = &h->abi[h->n_abi];

                a->arch = arches[k];
                a->nr_execve = seccomp_syscall_resolve_name_arch(arches[k], "execve");
                a->nr_execveat = seccomp_syscall_resolve_name_arch(arches[k], "execveat");
                a->ptr_size = arches[k] == SCMP_ARCH_X86 ? 4 : sizeof(void *);
                if (a->nr_execve >= 0 && a->nr_execveat >= 0)
                        h->n_abi++;
        }
        return 0;
}

static void helper_drop_privileges(void) {
        /* Reading memory and /proc links of another user's process needs
         * CAP_SYS_PTRACE; switching the filesystem ids for path resolution
         * needs CAP_SETUID and CAP_SETGID. Nothing else. */
        static const cap_value_t keep[] = { CAP_SYS_PTRACE, CAP_SETUID, CAP_SETGID };
        cap_t caps = cap_init();

        if (caps) {
                if (cap_set_flag(caps, CAP_PERMITTED, ELEMENTSOF(keep), keep, CAP_SET) == 0 &&
                    cap_set_flag(caps, CAP_EFFECTIVE, ELEMENTSOF(keep), keep, CAP_SET) == 0 &&
                    cap_set_proc(caps) < 0)
                        log_debug_errno(errno, "exec supervisor: cannot drop capabilities (unprivileged?): %m");
                cap_free(caps);
        }
        (void) prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

_noreturn_ static void helper_main(int listener, int report, const CommandPolicy *policy,
                                   const ExecSupervisorIds *ids, pid_t parent) {
        Helper h = { .policy = policy, .ids.root = -EBADF };
        sigset_t none;
        int r;

        /* fenced going away must take the listener with it: then every exec
         * in the sandbox fails with ENOSYS. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                _exit(ECHILD);
        (void) prctl(PR_SET_NAME, "fenced-execsup");

        /* Only the listener (3) and the report socket (4) stay open. */
        listener = fcntl(listener, F_DUPFD, 10);
        report = fcntl(report, F_DUPFD, 10);
        if (listener < 0 || report < 0 || dup2(listener, 3) < 0 || dup2(report, 4) < 0 ||
            close_range(5, ~0U, 0) < 0)
                _exit(EBADF);
        h.listener = 3;
        h.report = 4;

        for (int sig = 1; sig < _NSIG; sig++)
                (void) signal(sig, SIG_DFL);
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);

        /* Files are looked at with the processes' fs ids and groups (never
         * root's: they must not widen the view). */
        if (setgroups(ids ? ids->n_groups : 0, ids ? ids->groups : NULL) < 0) {
                if (ids && ids->n_groups > 0)
                        _exit(EPERM);   /* fail closed: the helper could not see as they do */
                log_debug_errno(errno, "exec supervisor: cannot drop supplementary groups: %m");
        }
        if (ids) {
                (void) setfsgid(ids->gid);
                (void) setfsuid(ids->uid);
                if ((uid_t) setfsuid((uid_t) -1) != ids->uid || (gid_t) setfsgid((gid_t) -1) != ids->gid)
                        _exit(EPERM);
                h.ids.fixed = true;
                h.ids.fsuid = ids->uid;
        }
        h.ids.euid = geteuid();
        h.ids.egid = getegid();
        helper_drop_privileges();
        r = helper_init(&h);
        if (r < 0)
                _exit(-r);

        for (;;) {
                struct pollfd p[2] = {
                        { .fd = h.listener, .events = POLLIN },
                        { .fd = h.report, .events = 0 },
                };

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        _exit(errno);
                }
                if (p[1].revents & (POLLHUP | POLLERR))
                        _exit(0);       /* fenced let go of this sandbox */
                if (p[0].revents & POLLIN) {
                        r = helper_handle(&h);
                        if (r < 0)
                                _exit(-r);
                        continue;
                }
                if (p[0].revents & (POLLHUP | POLLERR))
                        _exit(0);       /* no process is left that could exec */
        }
}

/* ---- Daemon side ----------------------------------------------------------------- */

struct ExecSupervisor {
        unsigned n_ref;
        bool freed;
        sd_event *event;
        sd_event_source *report_source, *exit_source;
        int report_fd, pidfd;
        pid_t pid;
        bool reaped;
        ExecDecisionFn cb;
        ExecSupervisorDoneFn done;
        void *userdata;
        char *buf;
};

static void supervisor_unref(ExecSupervisor *s) {
        if (--s->n_ref > 0)
                return;
        free(s->buf);
        sd_event_unref(s->event);
        free(s);
}

static int reap_helper(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        siginfo_t si = {};

        (void) waitid(P_PIDFD, (id_t) fd, &si, WEXITED | WNOHANG);
        /* The loop holds the only reference of this floating source: take
         * one, hand the loop's back, drop ours. sd-event frees the source
         * (and closes the pidfd it owns) once this callback returns. */
        sd_event_source_ref(src);
        (void) sd_event_source_set_floating(src, false);
        sd_event_source_unref(src);
        return 0;
}

static void supervisor_stop(ExecSupervisor *s) {
        s->report_source = sd_event_source_disable_unref(s->report_source);
        s->exit_source = sd_event_source_disable_unref(s->exit_source);
        s->report_fd = safe_close(s->report_fd);

        if (s->pidfd >= 0 && !s->reaped) {
                sd_event_source *reaper = NULL;
                siginfo_t si = {};

                (void) syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
                if (waitid(P_PIDFD, (id_t) s->pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid != 0)
                        s->reaped = true;
                /* Not dead yet (it may be finishing a read): reap it from the
                 * loop later rather than wait here. */
                else if (sd_event_add_io(s->event, &reaper, s->pidfd, EPOLLIN, reap_helper, NULL) >= 0) {
                        (void) sd_event_source_set_io_fd_own(reaper, true);
                        (void) sd_event_source_set_floating(reaper, true);
                        sd_event_source_unref(reaper);
                        s->pidfd = -EBADF;
                } else
                        (void) waitid(P_PIDFD, (id_t) s->pidfd, &si, WEXITED);
        }
        s->pidfd = safe_close(s->pidfd);
}

ExecSupervisor *exec_supervisor_free(ExecSupervisor *s) {
        if (!s || s->freed)
                return NULL;
        s->freed = true;
        supervisor_stop(s);
        supervisor_unref(s);
        return NULL;
}

void exec_supervisor_set_done_callback(ExecSupervisor *s, ExecSupervisorDoneFn done) {
        s->done = done;
}

pid_t exec_supervisor_get_pid(const ExecSupervisor *s) {
        return s->pid;
}

/* Splits one report into its strings; 0 or -EBADMSG. */
static int report_parse(char *buf, size_t len, ReportHeader *hdr, const char *strings[4], char ***ret_argv) {
        _cleanup_free_ char **argv = NULL;
        char *p = buf + sizeof *hdr, *end = buf + len;

        if (len < sizeof *hdr)
                return -EBADMSG;
        memcpy(hdr, buf, sizeof *hdr);
        if (hdr->magic != REPORT_MAGIC || hdr->source >= _COMMAND_RULE_SOURCE_MAX ||
            hdr->n_argv > EXEC_SUPERVISOR_MAX_ARGS)
                return -EBADMSG;
        argv = calloc(hdr->n_argv + 1, sizeof(char *));
        if (!argv)
                return -ENOMEM;
        for (size_t k = 0; k < 4 + hdr->n_argv; k++) {
                char *nul = memchr(p, 0, (size_t) (end - p));
                if (!nul)
                        return -EBADMSG;
                if (k < 4)
                        strings[k] = p;
                else
                        argv[k - 4] = p;
                p = nul + 1;
        }
        *ret_argv = TAKE_PTR(argv);
        return 0;
}

static int on_report(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        ExecSupervisor *s = userdata;

        s->n_ref++;
        while (!s->freed) {
                _cleanup_free_ char **argv = NULL;
                const char *strings[4];
                ReportHeader hdr;
                CommandMatch m;
                ssize_t n;

                n = recv(fd, s->buf, REPORT_MAX, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                log_warning_errno(errno, "exec supervisor %d: cannot receive reports: %m", (int) s->pid);
                        break;
                }
                if (n == 0) {           /* the helper ended */
                        (void) sd_event_source_set_enabled(s->report_source, SD_EVENT_OFF);
                        break;
                }
                if (report_parse(s->buf, (size_t) n, &hdr, strings, &argv) < 0) {
                        log_warning("exec supervisor %d: malformed report, ignored.", (int) s->pid);
                        continue;
                }
                if (hdr.dropped > 0)
                        log_warning("exec supervisor %d: %u exec denials were not reported (fenced was too slow).",
                                    (int) s->pid, hdr.dropped);

                m = (CommandMatch) {
                        .source = (CommandRuleSource) hdr.source,
                        .rule = (hdr.flags & REPORT_HAS_RULE) ? (char *) strings[1] : NULL,
                        .command = (char *) strings[2],
                        .detail = (hdr.flags & REPORT_HAS_DETAIL) ? (char *) strings[3] : NULL,
                };
                if (s->cb)
                        s->cb(s, (pid_t) hdr.pid, strings[0], argv, &m, s->userdata);
        }
        supervisor_unref(s);
        return 0;
}

static int on_helper_exit(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        ExecSupervisor *s = userdata;
        siginfo_t si = {};
        int error;

        s->n_ref++;
        /* What it reported before it ended comes first. */
        if (s->report_source)
                (void) on_report(s->report_source, s->report_fd, EPOLLIN, s);
        if (s->freed)
                goto finish;

        if (waitid(P_PIDFD, (id_t) fd, &si, WEXITED | WNOHANG) < 0)
                error = -errno;         /* ECHILD: someone reaped it for us */
        else if (si.si_pid == 0)
                goto finish;            /* not yet */
        else if (si.si_code == CLD_EXITED)
                error = -si.si_status;
        else if (si.si_status == SIGALRM)
                error = -ETIMEDOUT;     /* an exec it could not judge in time */
        else
                error = -ECONNRESET;    /* killed */
        s->reaped = true;
        s->exit_source = sd_event_source_disable_unref(s->exit_source);
        if (error == -ETIMEDOUT)
                log_warning("exec supervisor %d could not judge an exec within %u s; the sandbox cannot exec any more.",
                            (int) s->pid, EXEC_SUPERVISOR_JUDGE_TIMEOUT_S);
        else if (error == -ECONNRESET)
                log_warning("exec supervisor %d was killed by signal %d; the sandbox cannot exec any more.",
                            (int) s->pid, si.si_status);
        else if (error < 0)
                log_warning_errno(error, "exec supervisor %d failed: %m; the sandbox cannot exec any more.", (int) s->pid);
        if (s->done)
                s->done(s, error, s->userdata);
finish:
        supervisor_unref(s);
        return 0;
}

int exec_supervisor_attach(sd_event *e, int listener_fd, const CommandPolicy *policy,
                           ExecDecisionFn cb, void *userdata, ExecSupervisor **ret) {
        return exec_supervisor_attach_with_ids(e, listener_fd, policy, NULL, cb, userdata, ret);
}

int exec_supervisor_attach_with_ids(sd_event *e, int listener_fd, const CommandPolicy *policy,
                                    const ExecSupervisorIds *ids, ExecDecisionFn cb, void *userdata,
                                    ExecSupervisor **ret) {
        _cleanup_close_ int listener = listener_fd, helper_end = -EBADF;
        _cleanup_(exec_supervisor_freep) ExecSupervisor *s = NULL;
        int pair[2], r;
        pid_t parent = getpid();

        if (!e || listener < 0 || !policy || !ret)
                return -EINVAL;

        s = calloc(1, sizeof(ExecSupervisor));
        if (!s)
                return -ENOMEM;
        *s = (ExecSupervisor) {
                .n_ref = 1,
                .event = sd_event_ref(e),
                .report_fd = -EBADF,
                .pidfd = -EBADF,
                .cb = cb,
                .userdata = userdata,
                .buf = malloc(REPORT_MAX),
        };
        if (!s->buf)
                return -ENOMEM;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        s->report_fd = pair[0];
        helper_end = pair[1];

        s->pid = fork();
        if (s->pid < 0)
                return log_error_errno(errno, "Cannot fork the exec supervisor: %m");
        if (s->pid == 0)
                helper_main(listener, helper_end, policy, ids, parent);

        s->pidfd = (int) syscall(SYS_pidfd_open, s->pid, 0);
        if (s->pidfd < 0) {
                r = -errno;
                (void) kill(s->pid, SIGKILL);
                (void) waitpid(s->pid, NULL, 0);
                s->reaped = true;
                return log_error_errno(r, "Cannot watch the exec supervisor: %m");
        }

        r = sd_event_add_io(e, &s->report_source, s->report_fd, EPOLLIN, on_report, s);
        if (r < 0)
                return r;
        r = sd_event_add_io(e, &s->exit_source, s->pidfd, EPOLLIN, on_helper_exit, s);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}
