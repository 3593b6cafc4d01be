#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include "netns-exec.h"

typedef struct Call {
        int netns_fd;
        netns_func_t func;
        void *userdata;
        int result;
} Call;

static void *call_thread(void *p) {
        Call *c = p;

        if (setns(c->netns_fd, CLONE_NEWNET) < 0)
                c->result = -errno;
        else
                c->result = c->func(c->userdata);
        return NULL;
}

int netns_exec(int netns_fd, netns_func_t func, void *userdata) {
        Call c = { .netns_fd = netns_fd, .func = func, .userdata = userdata, .result = -EIO };
        sigset_t all, saved;
        pthread_t t;
        int r;

        if (netns_fd < 0 || !func)
                return -EINVAL;

        /* The helper thread must not take signals meant for the event loop. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        r = pthread_create(&t, NULL, call_thread, &c);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (r != 0)
                return -r;

        r = pthread_join(t, NULL);
        if (r != 0)
                return -r;
        return c.result;
}
