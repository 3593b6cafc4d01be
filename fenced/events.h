/* events.h — the one event model every source uses (lifecycle, network, dns,
 * exec supervisor, syscall monitor, landlock), and its persistent sinks.
 *
 * An event is a JSON object: {"time", "sandbox", "uid", "pid", "comm",
 * "source", "action", ...source-specific fields}. event_log_emit() writes it
 * to journald (structured: FENCE_SANDBOX=, FENCE_SOURCE=, FENCE_ACTION=, one
 * FENCE_<FIELD>= per extra field) and appends it to the JSON-lines log, and
 * returns the JSON text so the caller can stream it to subscribers.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

typedef enum EventFieldType {
        EVENT_FIELD_STRING,
        EVENT_FIELD_INT,
} EventFieldType;

typedef struct EventField {
        const char *key;
        EventFieldType type;
        const char *s;
        int64_t i;
} EventField;

#define EVENT_STR(k, v) ((EventField) { .key = (k), .type = EVENT_FIELD_STRING, .s = (v) })
#define EVENT_INT(k, v) ((EventField) { .key = (k), .type = EVENT_FIELD_INT, .i = (v) })

typedef struct Event {
        const char *sandbox;    /* sandbox id */
        uid_t uid;              /* owner of the sandbox */
        pid_t pid;              /* process concerned (host pid), 0 if none */
        const char *comm;       /* its command name, NULL to look it up */
        const char *source;     /* "lifecycle", "network", "dns", "exec", "syscall", "landlock" */
        const char *action;     /* "started", "exited", "denied", "allowed", ... */
        int priority;           /* syslog priority for journald */
        const EventField *fields;
        size_t n_fields;
} Event;

typedef struct EventLog EventLog;

/* log_dir may be NULL (no JSONL file). The directory is created 0750. */
int event_log_open(EventLog **ret, const char *log_dir);
EventLog *event_log_free(EventLog *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(EventLog *, event_log_free);

/* Serializes e, writes it to the sinks; *ret_json (if non-NULL) gets the
 * JSON object text. Sink failures are logged (rate-limited), not returned. */
int event_log_emit(EventLog *l, const Event *e, char **ret_json);
