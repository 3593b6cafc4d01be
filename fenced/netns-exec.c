#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include "netns-exec.h"

typedef struct Call {
        int netns_fd;           /* -1: stay in the daemon's namespace */
        netns_func_t func;
        void *userdata;
        int result;
} Call;

static void *call_thread(void *p) {
        Call *c = p;

        if (c->netns_fd >= 0 && setns(c->netns_fd, CLONE_NEWNET) < 0)
                c->result = -errno;
        else
                c->result = c->func(c->userdata);
        return NULL;
}

/* Runs c on a thread of its own and waits for it. */
static int call_on_thread(Call *c) {
        sigset_t all, saved;
        pthread_t t;
        int r;

        /* The helper thread must not take signals meant for the event loop. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        r = pthread_create(&t, NULL, call_thread, c);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (r != 0)
                return -r;

        r = pthread_join(t, NULL);
        if (r != 0)
                return -r;
        return c->result;
}

int netns_exec(int netns_fd, netns_func_t func, void *userdata) {
        if (netns_fd < 0 || !func)
                return -EINVAL;
        return call_on_thread(&(Call) { .netns_fd = netns_fd, .func = func, .userdata = userdata, .result = -EIO });
}

static int new_cb(void *userdata) {
        int *fd = userdata;

        /* This thread's namespace only; the thread ends right after. */
        if (unshare(CLONE_NEWNET) < 0)
                return -errno;
        *fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        return *fd < 0 ? -errno : 0;
}

int netns_new(int *ret_fd) {
        int fd = -1, r;

        if (!ret_fd)
                return -EINVAL;
        r = call_on_thread(&(Call) { .netns_fd = -1, .func = new_cb, .userdata = &fd, .result = -EIO });
        if (r < 0)
                return r;
        *ret_fd = fd;
        return 0;
}
