#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "events.h"
#include "json.h"
#include "log.h"

#define FENCE_EVENT_MESSAGE_ID "MESSAGE_ID=5b2f5c3e6a8f4d6e9c1a7b3d2e4f6a8b"

struct EventLog {
        int fd;                 /* events.jsonl, O_APPEND */
        char *path;
        bool warned;
};

int event_log_open(EventLog **ret, const char *log_dir) {
        _cleanup_free_ EventLog *l = NULL;

        l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        l->fd = -1;
        if (log_dir) {
                if (mkdir(log_dir, 0750) < 0 && errno != EEXIST)
                        return log_error_errno(errno, "Failed to create the log directory %s: %m", log_dir);
                if (asprintf(&l->path, "%s/events.jsonl", log_dir) < 0)
                        return -ENOMEM;
                l->fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
                if (l->fd < 0) {
                        int r = log_error_errno(errno, "Failed to open the event log %s: %m", l->path);
                        free(l->path);
                        return r;
                }
        }
        *ret = TAKE_PTR(l);
        return 0;
}

EventLog *event_log_free(EventLog *l) {
        if (!l)
                return NULL;
        safe_close(l->fd);
        free(l->path);
        free(l);
        return NULL;
}

static void read_comm(pid_t pid, char *buf, size_t size) {
        char path[64];
        _cleanup_close_ int fd = -1;
        ssize_t n;

        buf[0] = 0;
        if (pid <= 0)
                return;
        snprintf(path, sizeof path, "/proc/%d/comm", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        n = read(fd, buf, size - 1);
        if (n <= 0) {
                buf[0] = 0;
                return;
        }
        buf[n] = 0;
        buf[strcspn(buf, "\n")] = 0;
}

static void format_time(char *buf, size_t size) {
        struct timespec ts;
        struct tm tm;
        char base[32];

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, size, "%s.%06ldZ", base, ts.tv_nsec / 1000);
}

static void send_journal(const Event *e, const char *comm, const char *json) {
        /* Fixed fields plus one per extra field. */
        size_t n = 0, max = 9 + e->n_fields;
        struct iovec *iov = calloc(max, sizeof *iov);
        char **strs = calloc(max, sizeof(char *));

        if (!iov || !strs)
                goto out;

#define ADD(...)                                                        \
        do {                                                            \
                if (asprintf(&strs[n], __VA_ARGS__) >= 0) {             \
                        iov[n].iov_base = strs[n];                      \
                        iov[n].iov_len = strlen(strs[n]);               \
                        n++;                                            \
                }                                                       \
        } while (0)

        ADD("MESSAGE=sandbox %s: %s %s%s%s", e->sandbox, e->source, e->action, comm[0] ? " by " : "", comm);
        ADD("PRIORITY=%i", e->priority);
        ADD("%s", FENCE_EVENT_MESSAGE_ID);
        ADD("FENCE_SANDBOX=%s", e->sandbox);
        ADD("FENCE_SOURCE=%s", e->source);
        ADD("FENCE_ACTION=%s", e->action);
        ADD("FENCE_UID=%u", (unsigned) e->uid);
        ADD("FENCE_EVENT=%s", json);
        for (size_t i = 0; i < e->n_fields; i++) {
                char key[64];
                size_t k = 0;

                for (const char *p = e->fields[i].key; *p && k < sizeof key - 1; p++)
                        key[k++] = (*p >= 'a' && *p <= 'z') ? (char) (*p - 32) :
                                   ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) ? *p : '_';
                key[k] = 0;
                if (e->fields[i].type == EVENT_FIELD_STRING)
                        ADD("FENCE_%s=%s", key, e->fields[i].s ? e->fields[i].s : "");
                else
                        ADD("FENCE_%s=%lld", key, (long long) e->fields[i].i);
        }
#undef ADD
        /* Without a running journald this fails; the JSONL log still has it. */
        (void) sd_journal_sendv(iov, (int) n);
out:
        if (strs)
                for (size_t i = 0; i < n; i++)
                        free(strs[i]);
        free(strs);
        free(iov);
}

int event_log_emit(EventLog *l, const Event *e, char **ret_json) {
        _cleanup_json_gen_ yajl_gen g = json_gen_new();
        _cleanup_free_ char *json = NULL;
        char now[64], comm[64];
        int r;

        if (!g)
                return -ENOMEM;
        format_time(now, sizeof now);
        if (e->comm)
                snprintf(comm, sizeof comm, "%s", e->comm);
        else
                read_comm(e->pid, comm, sizeof comm);

        json_gen_open(g);
        json_gen_kv_string(g, "time", now);
        json_gen_kv_string(g, "sandbox", e->sandbox);
        json_gen_kv_int(g, "uid", e->uid);
        json_gen_kv_int(g, "pid", e->pid);
        json_gen_kv_string(g, "comm", comm);
        json_gen_kv_string(g, "source", e->source);
        json_gen_kv_string(g, "action", e->action);
        for (size_t i = 0; i < e->n_fields; i++) {
                if (e->fields[i].type == EVENT_FIELD_STRING)
                        json_gen_kv_string(g, e->fields[i].key, e->fields[i].s);
                else
                        json_gen_kv_int(g, e->fields[i].key, e->fields[i].i);
        }
        json_gen_close(g);
        r = json_gen_take(g, &json);
        if (r < 0)
                return r;

        send_journal(e, comm, json);

        if (l && l->fd >= 0) {
                _cleanup_free_ char *line = NULL;
                int n = asprintf(&line, "%s\n", json);

                /* One write() with O_APPEND: lines never interleave. */
                if (n < 0 || write(l->fd, line, (size_t) n) != n) {
                        if (!l->warned)
                                log_warning_errno(errno ? errno : EIO, "Failed to append to %s: %m", l->path);
                        l->warned = true;
                }
        }

        if (ret_json)
                *ret_json = TAKE_PTR(json);
        return 0;
}
